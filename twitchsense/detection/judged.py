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


class JudgedClock:
    """Judged seconds up to any time: a clock that runs only while the detector can judge.

    Spans come in time order, all at once (batch: a recording's context) or as they are decided
    (live); a span that overlaps what is known only adds its new part, so a stretch handed in again,
    or grown, counts once. Alert rules count rates in this clock's time (per judged minute), so time
    in which the detector cannot tell is not taken for time without twitches.
    """

    def __init__(self, states: tuple[str, ...] = JUDGED_STATES) -> None:
        #: the context states this clock runs in (``("rest",)``: a clock of rest time)
        self.states = tuple(states)
        # judged span starts and ends (sorted, not overlapping) and the judged seconds before each span
        # (and in all, last): one tuple, replaced whole, so a reader on another thread sees a consistent state
        self._spans: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.empty(0), np.empty(0), np.zeros(1))
        self.known_until = -np.inf  # the end of the newest span handed in (judged or not)

    @property
    def seen(self) -> bool:
        """True once any context was handed in (without it, rates are per hour of stream time)."""
        return bool(np.isfinite(self.known_until))

    def add(self, context: Iterable[ContextSpan]) -> None:
        """New context spans (any state; only the clock's ``states``, by default ``rest``/``light``, count)."""
        new_a, new_b = [], []
        end = float(self._spans[1][-1]) if self._spans[1].size else -np.inf
        for s in context:
            self.known_until = max(self.known_until, s.end)
            if s.state not in self.states:
                continue
            a = max(s.start, end)
            if s.end > a:
                if new_b and abs(new_b[-1] - a) < 1e-9:
                    new_b[-1] = s.end
                else:
                    new_a.append(a)
                    new_b.append(s.end)
                end = s.end
        if not new_a:
            return
        old_a, old_b, before = self._spans
        a, b = np.asarray(new_a), np.asarray(new_b)
        if old_b.size and abs(old_b[-1] - a[0]) < 1e-9:  # the newest span grew
            old_b = np.concatenate([old_b[:-1], b[:1]])
            before = np.concatenate([before[:-1], [before[-2] + old_b[-1] - old_a[-1]]])
            a, b = a[1:], b[1:]
        self._spans = (np.concatenate([old_a, a]), np.concatenate([old_b, b]),
                       np.concatenate([before[:-1], before[-1] + np.concatenate([[0.0], np.cumsum(b - a)])]))

    def at(self, t: np.ndarray | float) -> np.ndarray:
        """Judged seconds from the first span up to each time ``t`` (vectorised)."""
        t = np.asarray(t, dtype=float)
        a, b, before = self._spans
        if not a.size:
            return np.zeros_like(t)
        i = np.maximum(np.searchsorted(a, t, side="right") - 1, 0)
        return before[i] + np.clip(t - a[i], 0.0, b[i] - a[i])

    def forget_before(self, t: float) -> None:
        """Drop spans that end before ``t`` (their judged seconds stay counted)."""
        a, b, before = self._spans
        k = int(np.searchsorted(b, t, side="left"))
        if k > 0:
            self._spans = (a[k:], b[k:], before[k:])
