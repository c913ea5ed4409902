"""The labelled window set every extractor and classifier in the peer comparison sees.

Rows are cut from real recordings in ``../shared/data`` (wrist, pocket and
other movement; no twitches of their own) after simulated twitches are added
to them: a row centred on an added twitch is a positive; rows centred on
random moments and on the strongest movement peaks (steps, gestures: the hard
negatives a candidate detector meets), at least 3 s from any added twitch,
are negatives. Every row has the geometry of the project's extractor
(``2 * context_s`` seconds at its rate, axis-major), so TSFEL, tsfresh,
MiniRocket and the project see exactly the same samples. Groups are subjects
(data set + subject id) for subject-wise cross-validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = ("real-wrist", "real-other", "real-pocket")
MIN_SEPARATION_S = 3.0


@dataclass
class WindowSet:
    """Rows ``X`` (n, 3, L) in g at ``rate_hz``, labels ``y`` (1 = twitch) and subject ``groups``."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    rate_hz: float
    twitch_source: str

    @property
    def flat(self) -> np.ndarray:
        """Rows laid out axis-major, ``(n, 3 * L)``: the project extractor's input."""
        return self.X.reshape(len(self.X), -1)


def _quiet_onsets(t: np.ndarray, acc: np.ndarray, rate: float, rng: np.random.Generator, margin_s: float) -> np.ndarray:
    """About one moment per 8 s, drawn where the 1 s movement RMS is in the recording's quieter half."""
    from scipy.ndimage import uniform_filter1d

    mag = np.linalg.norm(acc, axis=1)
    w = max(3, int(rate))
    dev = mag - uniform_filter1d(mag, w, mode="nearest")
    rms = np.sqrt(uniform_filter1d(dev ** 2, w, mode="nearest"))
    ok = (rms <= np.median(rms)) & (t > t[0] + margin_s) & (t < t[-1] - margin_s)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return np.zeros(0)
    n = max(1, int((t[-1] - t[0]) // 8))
    onsets = np.sort(t[rng.choice(idx, size=min(n, idx.size), replace=False)])
    return onsets[np.r_[True, np.diff(onsets) > 1.0]]


def add_twitches(rec, rng: np.random.Generator, margin_s: float = 2.7):
    """``rec`` with simulated twitches added at moments in its quieter half; a new Recording.

    Twitch waveforms come from the simulator's physiological model (issue #5):
    myoclonic jerks and tics, and fasciculations where the rate is >= 100 Hz. The
    simulator's own ``inject_twitches`` only uses stretches where the wearer is
    completely still, which these activity recordings hardly have, so the
    moments are drawn here: about one per 8 s where the 1 s movement RMS is at
    most the recording's median, at least ``margin_s`` from either end. Each
    twitch gets a ``twitch`` label (onset and duration where its magnitude is
    >= 10 % of its peak, ``kind``, ``peak_g``); ``info["peaks"]`` holds the times
    of the peaks. Before the simulator landed: damped sinusoids.
    """
    import pandas as pd

    from twitchsense.io.recording import Recording

    t, acc, rate = rec.t, rec.acc.copy(), rec.sample_rate_hz
    try:
        from twitchsense.simulate import waveforms as W
    except ImportError:
        W = None
    kinds = ("myoclonic", "tic") + (("fasciculation",) if rate >= 99 else ())
    peaks, rows = [], []
    for onset in _quiet_onsets(t, acc, rate, rng, margin_s):
        if W is None:
            kind, amp = "damped sinusoid", float(np.exp(rng.uniform(np.log(0.02), np.log(0.8))))
            freq, tau = float(rng.uniform(5.0, min(15.0, 0.3 * rate))), float(rng.uniform(0.03, 0.1))
            direction = rng.normal(size=3)
            i0, i1 = np.searchsorted(t, [onset, onset + 0.5])
            x = t[i0:i1] - onset
            wave = (amp * np.exp(-x / tau) * np.sin(2 * np.pi * freq * x))[:, None] * direction / np.linalg.norm(direction)
        else:
            kind = str(kinds[int(rng.integers(len(kinds)))])
            p = W.draw_twitch(kind, rng)
            lo, hi = W.envelope_support(p.duration_s)
            i0, i1 = np.searchsorted(t, [onset + lo, onset + hi])
            wave, _ = W.twitch(t[i0:i1] - onset, p)
        if i1 - i0 < 2:
            continue
        acc[i0:i1] += wave
        norm = np.linalg.norm(wave, axis=1)
        on = np.flatnonzero(norm >= 0.1 * norm.max())
        peaks.append(t[i0 + int(np.argmax(norm))])
        rows.append({"onset": float(t[i0 + on[0]]), "duration": float(t[i0 + on[-1]] - t[i0 + on[0]]),
                     "label": "twitch", "kind": kind, "peak_g": round(float(norm.max()), 6)})
    labels = pd.concat([x for x in (rec.labels, pd.DataFrame(rows)) if x is not None and len(x)] or
                       [pd.DataFrame(columns=["onset", "duration", "label"])], ignore_index=True)
    labels = labels.sort_values("onset", kind="mergesort").reset_index(drop=True)
    source = "damped sinusoids" if W is None else "the simulator's twitch model (myoclonic, tic, fasciculation)"
    return Recording(t=t.copy(), acc=acc, meta=dict(rec.meta), labels=labels, path=None, gap_s=rec.gap_s,
                     info={"peaks": np.asarray(peaks, float), "source": source})


def _resample(t: np.ndarray, acc: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    grid = np.arange(t[0], t[-1], 1.0 / rate)
    return grid, np.stack([np.interp(grid, t, acc[:, k]) for k in range(3)], axis=1)


def _rows(grid: np.ndarray, acc: np.ndarray, centres: np.ndarray, L: int, before: int) -> np.ndarray:
    idx = np.searchsorted(grid, centres) - before
    ok = (idx >= 0) & (idx + L <= len(grid))
    take = idx[ok][:, None] + np.arange(L)
    return acc[take].transpose(0, 2, 1)  # (n, 3, L)


def _movement_peaks(grid: np.ndarray, acc: np.ndarray, rate: float, k: int) -> np.ndarray:
    """Times of the ``k`` strongest local movement peaks (magnitude minus its 1 s median)."""
    from scipy.ndimage import maximum_filter1d, median_filter

    mag = np.linalg.norm(acc, axis=1)
    w = max(3, int(rate))
    dev = np.abs(mag - median_filter(mag, size=w, mode="nearest"))
    is_peak = dev == maximum_filter1d(dev, size=w, mode="nearest")
    cand = np.flatnonzero(is_peak)
    cand = cand[np.argsort(dev[cand])[::-1][:k]]
    return grid[cand]


def build_window_set(n_windows: int, rate_hz: float = 100.0, row_samples: int = 500, seed: int = 0,
                     data: Path = SHARED_DATA, before_samples: int | None = None) -> WindowSet:
    """About ``n_windows`` rows, half twitches, from the real recordings under ``data``; a row's
    window centre sits ``before_samples`` into it (default: the middle)."""
    from twitchsense.io.recording import find_recordings, read_recording

    rng = np.random.default_rng(seed)
    before = row_samples // 2 if before_samples is None else before_samples
    row_s = 2 * max(before, row_samples - before) / rate_hz  # the margin each side, doubled
    paths = [p for src in SOURCES if (data / src).is_dir() for p in find_recordings([data / src])]
    if not paths:
        raise FileNotFoundError(f"no real recordings under {data}")
    rng.shuffle(paths)
    per_class = max(2, n_windows // 2)
    Xs, ys, gs = [], [], []
    n_pos = n_neg = 0
    source = "damped sinusoids"
    for i, path in enumerate(paths):
        if n_pos >= per_class and n_neg >= per_class:
            break
        rec = read_recording(path)
        span = rec.t[-1] - rec.t[0]
        if span < row_s + 1.0:
            continue
        group = f"{path.parent.name}/{rec.meta.get('subject') or path.stem}"
        lo, hi = rec.t[0] + row_s / 2 + 0.2, rec.t[-1] - row_s / 2 - 0.2
        injected = add_twitches(rec, rng, row_s / 2 + 0.2)
        peaks, source = injected.info["peaks"], injected.info["source"]
        grid, res = _resample(rec.t, injected.acc, rate_hz)
        pos = _rows(grid, res, peaks + rng.uniform(-0.1, 0.1, len(peaks)), row_samples, before)
        cand = np.r_[rng.uniform(lo, hi, 4), _movement_peaks(grid, res, rate_hz, 4)]
        cand = cand[(cand > lo) & (cand < hi)]
        if len(peaks):
            cand = cand[np.min(np.abs(cand[:, None] - peaks[None, :]), axis=1) >= MIN_SEPARATION_S]
        neg = _rows(grid, res, cand, row_samples, before)
        pos, neg = pos[: max(0, per_class - n_pos)], neg[: max(0, per_class - n_neg)]
        n_pos += len(pos)
        n_neg += len(neg)
        Xs += [pos, neg]
        ys += [np.ones(len(pos), int), np.zeros(len(neg), int)]
        gs += [np.full(len(pos) + len(neg), group, dtype=object)]
    return WindowSet(np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs), rate_hz, source)
