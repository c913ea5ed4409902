"""Judged time: the time in which the detector could tell whether a twitch happened.

Rates of twitching are counts per *judged* minute: time the detector cannot judge ("cannot
tell" during vigorous movement, and gaps without data) would otherwise pass for time
without twitches. This is the one place that decides what counts as judged; ``detect``,
``report`` and anything else that divides by time use it.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ..types import ContextSpan

#: Context states in which the detector judges (``active`` is "cannot tell").
JUDGED_STATES = ("rest", "light")


def judged_spans(context: Iterable[ContextSpan]) -> np.ndarray:
    """``(k, 2)`` start and end (seconds) of the judged stretches, in time order.

    Judged: the context (``NAME.context.csv``, or ``DetectionResult.context``) is ``rest`` or
    ``light``. Not judged: ``active`` ("cannot tell"), and gaps, which have no context at all.
    """
    spans = [(s.start, s.end) for s in context if s.state in JUDGED_STATES and s.end > s.start]
    return np.array(sorted(spans), dtype=float).reshape(-1, 2)


def judged_seconds(context: Iterable[ContextSpan]) -> float:
    """Seconds of judged time (see :func:`judged_spans`)."""
    spans = judged_spans(context)
    return float(np.sum(spans[:, 1] - spans[:, 0]))


def seconds_in_bins(spans: np.ndarray, start: float, width: float, n: int) -> np.ndarray:
    """Seconds of ``spans`` (``(k, 2)`` from :func:`judged_spans`: sorted, not overlapping) in each of ``n``
    bins of ``width`` seconds from ``start`` (judged seconds per minute, per day...)."""
    edges = start + width * np.arange(n + 1)
    if not len(spans):
        return np.zeros(n)
    a, length = spans[:, 0], spans[:, 1] - spans[:, 0]
    before = np.concatenate([[0.0], np.cumsum(length)])  # covered before span i
    i = np.maximum(np.searchsorted(a, edges, side="right") - 1, 0)  # the last span starting at or before each edge
    covered = before[i] + np.clip(edges - a[i], 0.0, length[i])
    return np.diff(covered)
