"""Labels of a simulated session: which samples each event's label covers, and its ``peak_g``.

A twitch label spans the samples where its envelope is at or above 10 % of its
peak and its ``peak_g`` is the largest norm of its sampled 3-axis waveform; a
look-alike's spans its rendered extent and its ``peak_g`` is the largest norm there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


def label_table(rendered: list[RenderedEvent], t_rec: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """Label rows from rendered spans, moved onto kept samples (lost frames)."""
    kept_idx = np.flatnonzero(keep)
    rows = []
    for r in rendered:
        if r.event.label in UNLABELLED:
            continue
        a, b = r.span
        ia = int(np.searchsorted(kept_idx, a, side="left"))
        ib = int(np.searchsorted(kept_idx, b, side="right")) - 1
        if ia > ib or ia >= kept_idx.size:
            continue  # a look-alike lost entirely in a gap
        a2, b2 = int(kept_idx[ia]), int(kept_idx[ib])
        rows.append((float(t_rec[a2]), float(t_rec[b2] - t_rec[a2]), r.event.label, r.event.kind,
                     round(r.peak_g, 6)))
    df = pd.DataFrame(rows, columns=["onset", "duration", "label", "kind", "peak_g"])
    return df.sort_values(["onset", "label"], kind="mergesort").reset_index(drop=True)
