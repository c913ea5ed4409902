"""Labels of a simulated session: which samples each event's label covers, and its ``peak_g``.

A twitch label spans the samples where its envelope is at or above 10 % of its
peak and its ``peak_g`` is the largest norm of its sampled 3-axis waveform; a
look-alike's spans its rendered extent and its ``peak_g`` is the largest norm there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import waveforms as W
from .plan import PlannedEvent
from .profiles import UNLABELLED


@dataclass
class RenderedEvent:
    """An event's sampled dynamic waveform: samples ``[i0, i0 + len(acc))`` of the session."""

    event: PlannedEvent
    i0: int
    acc: np.ndarray
    envelope: np.ndarray | None
    span: tuple[int, int]  # first and last sample index the label covers (inclusive)
    peak_g: float = 0.0  # largest norm of the waveform (twitch: whole; look-alike: label span)


def label_peak(r: RenderedEvent) -> float:
    """``peak_g`` of a label: largest norm of the whole twitch waveform, or of a look-alike's span."""
    a, b = r.span
    acc = r.acc if r.event.label == "twitch" else r.acc[a - r.i0:b - r.i0 + 1]
    return float(np.linalg.norm(acc, axis=1).max())


def recorded_span(a: int, b: int, t_rec: np.ndarray, kept_idx: np.ndarray) -> tuple[float, float] | None:
    """``(onset, duration)`` on the recording's time base of samples ``a..b`` (inclusive) of the
    rendered session, moved onto the kept samples (lost frames); ``None`` when all of it was lost."""
    ia = int(np.searchsorted(kept_idx, a, side="left"))
    ib = int(np.searchsorted(kept_idx, b, side="right")) - 1
    if ia > ib or ia >= kept_idx.size:
        return None
    a2, b2 = int(kept_idx[ia]), int(kept_idx[ib])
    return float(t_rec[a2]), float(t_rec[b2] - t_rec[a2])


def label_table(rendered: list[RenderedEvent], t_rec: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """Label rows from rendered spans, moved onto kept samples (lost frames)."""
    kept_idx = np.flatnonzero(keep)
    rows = []
    for r in rendered:
        if r.event.label in UNLABELLED:
            continue
        span = recorded_span(*r.span, t_rec, kept_idx)
        if span is None:
            continue  # a look-alike lost entirely in a gap
        rows.append((*span, r.event.label, r.event.kind, round(r.peak_g, 6)))
    df = pd.DataFrame(rows, columns=["onset", "duration", "label", "kind", "peak_g"])
    return df.sort_values(["onset", "label"], kind="mergesort").reset_index(drop=True)


def twitch_shaped_spans(rendered: list[RenderedEvent], tt: np.ndarray, t_rec: np.ndarray,
                        keep: np.ndarray) -> list[list]:
    """``[onset, duration, what]`` of every transient the session renders with a twitch's own shape
    but no twitch label, on the recording's time base: the unlabelled single jolts on a still limb
    (``what`` = ``jolt``) and the onset flicks of posture changes and gestures (``flick``, inside
    their look-alike's label). Nothing in the signal of the flick itself, or of the jolt and the
    seconds around it, tells them from a twitch, so training leaves their windows out (neither
    twitch nor negative; :func:`twitchsense.detection.training.window_labels`); a detection on them
    still counts as a false alarm in scoring.
    """
    kept_idx = np.flatnonzero(keep)
    out = []
    for r in rendered:
        e = r.event
        if e.label == "transient" and e.kind == "jolt":
            a, b, what = r.span[0], r.span[1], "jolt"
        elif "flick" in e.params:
            f = e.params["flick"]
            lo, hi = W.envelope_support(f.duration_s, f.sharpness)
            a = int(np.searchsorted(tt, e.start))
            b = int(np.searchsorted(tt, e.start + hi - lo, side="right")) - 1
            what = "flick"
        else:
            continue
        span = recorded_span(a, b, t_rec, kept_idx)
        if span is not None:
            out.append([round(span[0], 6), round(span[1], 6), what])
    return sorted(out)
