"""Real-background mode: add simulated twitches to a real recording, only where the wearer is still
(still as the detector's context defines it, :mod:`twitchsense.detection.context`).

Detectors trained only on simulated movement fire constantly on real people;
injecting twitches into the still stretches of real recordings gives positives
on real backgrounds (real sensor noise, real micro-movement) next to real
negatives. The twitch waveforms are the simulator's (:mod:`.waveforms`),
evaluated at the recording's own time stamps (no resampling, any rate), and
put back on the recording's own quantisation grid, found from the data
(:func:`~twitchsense.simulate.sensor.reading_grid`): a sample that no sensor
could have written would tell a detector "injected" by itself.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..detection.context import STILL_LABELS, ContextConfig, activity_levels, is_still
from ..detection.preprocess import moving_mean
from ..errors import TwitchsenseError
from ..io.recording import Recording, empty_labels
from . import waveforms as W
from .sensor import reading_grid, snap_to_grid

#: Quiet time kept free before and after each injected twitch (s).
MARGIN_S = 0.25
#: Samples this close (s) to a gap or to either end of the recording are not still.
EDGE_S = 0.2


def still_mask(rec: Recording, still_g: float = ContextConfig.light_g) -> np.ndarray:
    """Boolean per sample: the wearer is still there, as the detector's context sees it.

    Signal: the smoothed activity level of the sample's block is under ``still_g``
    (:func:`twitchsense.detection.context.is_still`; by default the context's ``rest``).
    Labels: samples inside a labelled segment whose label is not one of
    :data:`~twitchsense.detection.context.STILL_LABELS` (walking, a twitch...) are not
    still. Samples within ``EDGE_S`` of a gap or of either end are not still.
    """
    cfg = ContextConfig()
    rate = rec.sample_rate_hz
    block = cfg.block_samples(rate)
    edge = max(1, int(round(EDGE_S * rate)))
    mask = np.zeros(rec.n_samples, dtype=bool)
    for seg in rec.segments():
        a = rec.acc[seg]
        if a.shape[0] < 2 * edge + block:
            continue
        _, level = activity_levels(a, rate, cfg)
        ok = np.zeros(a.shape[0], dtype=bool)
        ok[:level.size * block] = np.repeat(is_still(level, still_g), block)
        ok[:edge] = False
        ok[-edge:] = False
        mask[seg] = ok
    labels = rec.labels
    if labels is not None and len(labels):
        for onset, dur, lab in zip(labels["onset"], labels["duration"], labels["label"]):
            if str(lab).strip().lower() in STILL_LABELS:
                continue
            a, b = np.searchsorted(rec.t, [onset - EDGE_S, onset + dur + EDGE_S])
            mask[a:b] = False
    return mask


def still_around(rec: Recording, around_s: float = 2.0, still_g: float = 0.03) -> np.ndarray:
    """Boolean per sample: every activity block (:func:`~twitchsense.detection.context.activity_levels`,
    0.25 s) within ``around_s`` on either side is under ``still_g``: "still for 2 s on either side"
    (issue 17's definition of where the detector must judge). Near a gap or an end: not still."""
    cfg = ContextConfig()
    rate = rec.sample_rate_hz
    block = cfg.block_samples(rate)
    reach = int(np.ceil(around_s / cfg.block_s))
    mask = np.zeros(rec.n_samples, dtype=bool)
    for seg in rec.segments():
        level, _ = activity_levels(rec.acc[seg], rate, cfg)
        if level.size <= 2 * reach:
            continue
        quiet = np.lib.stride_tricks.sliding_window_view(level < still_g, 2 * reach + 1).all(axis=1)
        ok = np.zeros(level.size, dtype=bool)
        ok[reach:level.size - reach] = quiet
        part = np.zeros(rec.acc[seg].shape[0], dtype=bool)
        part[:level.size * block] = np.repeat(ok, block)
        mask[seg] = part
    return mask


def _runs(mask: np.ndarray) -> np.ndarray:
    """(k, 2) start, stop (exclusive) indices of runs of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.column_stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)])


def inject_twitches(rec: Recording, seed: int, rate_per_min: float = 2.0,
                    kinds: Sequence[str] | None = None, *, still_g: float = ContextConfig.light_g,
                    where: np.ndarray | None = None, min_gap_s: float = 0.5) -> Recording:
    """Add simulated twitches to ``rec`` where the wearer is still; a new Recording.

    The expected number of twitches is ``rate_per_min`` x minutes of still time
    (:func:`still_mask`), Poisson-distributed; each fits with a quiet margin of
    ``MARGIN_S`` inside one still stretch, away from other twitches. ``kinds``
    (default: all of ``TWITCH_KINDS``, hypnic jerks only if asked for) are drawn
    with equal weight. Old labels are kept; each injected twitch adds a
    ``twitch`` label (``kind``, ``peak_g``, ``note = injected``, and ``still_before_s``:
    how long the still stretch had lasted at its onset) with the same definition
    as the simulator's (envelope >= 10 % span, peak of the norm).
    ``still_g`` is the stillness threshold (:func:`still_mask`); ``where`` (a boolean per sample,
    e.g. :func:`still_around`) replaces that mask. Twitches (with their margins) are at least
    ``min_gap_s`` apart.
    """
    kinds = tuple(kinds) if kinds is not None else ("myoclonic", "fasciculation", "tic")
    bad = [k for k in kinds if k not in W.TWITCH_KINDS]
    if bad:
        raise TwitchsenseError(f"unknown twitch kind {bad[0]!r}; choose from {', '.join(W.TWITCH_KINDS)}")
    if rate_per_min < 0:
        raise TwitchsenseError(f"rate_per_min must be >= 0, got {rate_per_min}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, 0x1A7EC7]))
    mask = still_mask(rec, still_g) if where is None else np.asarray(where, dtype=bool)
    runs = _runs(mask)
    t = rec.t
    acc = rec.acc.copy()
    still_s = float(np.sum(t[runs[:, 1] - 1] - t[runs[:, 0]])) if len(runs) else 0.0
    n_target = int(rng.poisson(rate_per_min * still_s / 60.0)) if still_s > 0 else 0
    taken: list[tuple[float, float]] = []
    rows = []
    gravity = moving_mean(rec.acc, max(3, int(round(rec.sample_rate_hz)))) if n_target else None
    lengths = (t[runs[:, 1] - 1] - t[runs[:, 0]]) if len(runs) else np.zeros(0)
    cum = np.cumsum(lengths)
    grid = reading_grid(rec.acc) if n_target else None
    rng_g = rec.meta.get("range_g")
    for _ in range(n_target * 20):
        if len(rows) >= n_target:
            break
        kind = str(kinds[int(rng.integers(len(kinds)))])
        # a random place on the concatenated still time
        x = rng.uniform(0, cum[-1])
        j = min(int(np.searchsorted(cum, x, side="right")), len(runs) - 1)
        a, b = runs[j]
        onset = t[a] + (x - (cum[j] - lengths[j]))
        i_on = int(np.searchsorted(t, onset))
        p = W.draw_twitch(kind, rng, up=W.unit(gravity[min(i_on, len(t) - 1)]))
        lo, hi = W.envelope_support(p.duration_s)
        start, end = onset + lo - MARGIN_S, onset + max(hi, p.duration_s) + MARGIN_S
        if start < t[a] or end > t[b - 1]:
            continue
        if any(s < end + min_gap_s and start - min_gap_s < e for s, e in taken):
            continue
        i0, i1 = np.searchsorted(t, [onset + lo, onset + hi], side="left")
        wave, env = W.twitch(t[i0:i1] - onset, p, rec.sample_rate_hz)
        on = np.flatnonzero(env >= 0.1)
        if on.size == 0:
            continue
        part = acc[i0:i1]  # a view: clipped and snapped in place
        part += wave
        if rng_g:
            np.clip(part, -float(rng_g), float(rng_g), out=part)
        if grid is not None:
            snap_to_grid(part, grid)
        taken.append((start, end))
        first, last = i0 + int(on[0]), i0 + int(on[-1])
        rows.append({"onset": float(t[first]), "duration": float(t[last] - t[first]), "label": "twitch",
                     "kind": kind, "peak_g": round(float(np.linalg.norm(wave, axis=1).max()), 6),
                     "note": "injected", "still_before_s": round(float(t[first] - t[a]), 3)})
    longest = float(lengths.max()) if lengths.size else 0.0
    info = {"injected": len(rows), "still_s": still_s, "longest_still_s": longest,
            "grid_g": [round(g[0], 9) for g in grid] if grid is not None else None}
    if not rows:
        info["reason"] = _why_none(still_s, longest, n_target, rate_per_min, still_g)
    old = rec.labels if rec.labels is not None else empty_labels()
    new = pd.DataFrame(rows, columns=["onset", "duration", "label", "kind", "peak_g", "note", "still_before_s"])
    if not len(new):
        labels = old.copy()
    elif not len(old):
        labels = new
    else:
        labels = pd.concat([old, new], ignore_index=True)
    if len(labels):
        labels = labels.sort_values(["onset", "label"], kind="mergesort").reset_index(drop=True)
    meta = dict(rec.meta)
    note = (f"{len(rows)} simulated twitches injected into still stretches ({still_s:.1f} s still; seed {seed}, "
            f"{rate_per_min:g} per still minute, kinds {', '.join(kinds)})")
    meta["notes"] = f"{meta['notes']}; {note}" if meta.get("notes") else note
    return Recording(t=t.copy(), acc=acc, meta=meta, labels=labels, path=None, gap_s=rec.gap_s, info=info)


def _why_none(still_s: float, longest_s: float, n_target: int, rate_per_min: float, still_g: float) -> str:
    """Why no twitch was injected, in one phrase."""
    if still_s <= 0:
        return (f"no still time (activity level under {still_g:g} g, {EDGE_S:g} s from gaps and ends, "
                "outside labelled movement)")
    if longest_s < 1.0:
        return (f"no still stretch of 1 s (the longest is {longest_s:.2f} s; a twitch and its {MARGIN_S:g} s "
                "margins need about 1 s)")
    if n_target == 0:
        return (f"none drawn: {still_s:.1f} s of still time at {rate_per_min:g} per still minute gives "
                f"{rate_per_min * still_s / 60:.2f} on average")
    return f"none of the {n_target} drawn fitted into the still stretches (the longest is {longest_s:.1f} s)"
