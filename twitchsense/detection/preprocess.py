"""Pre-processing: any rate onto the model's uniform grid, gaps split (never bridged), quality flags.

The :class:`Resampler` is stateful and *chunk-invariant*: feeding a recording in
one piece or in any number of chunks gives bit-identical output, so the live
path and batch ``detect`` see exactly the same samples. It

- splits the stream into segments wherever a step in ``t`` exceeds ``gap_s``
  (absolute time, because phone and watch clocks jitter);
- low-passes input faster than the model rate with a causal Butterworth filter
  (anti-aliasing; state carried between chunks; its group delay is compensated);
- interpolates linearly onto the grid ``t0 + k / out_rate`` of each segment
  (this also removes timestamp jitter).

Gravity and slow movement are removed later, where they are used: by a causal
high-pass in the candidate gate and by a zero-phase high-pass inside each
feature row (:mod:`twitchsense.detection.features`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from ..io.recording import DEFAULT_GAP_S

#: Input rates the pipeline accepts (Hz).
MIN_RATE_HZ, MAX_RATE_HZ = 25.0, 1000.0


def highpass_sos(rate_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth high-pass in second-order sections."""
    return signal.butter(order, cutoff_hz, btype="highpass", fs=rate_hz, output="sos")


def lowpass_sos(rate_hz: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass in second-order sections."""
    return signal.butter(order, cutoff_hz, btype="lowpass", fs=rate_hz, output="sos")


def moving_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Centred moving mean along axis 0 over ``w`` samples, shrinking at the ends."""
    n = x.shape[0]
    c = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(x, axis=0)])
    i = np.arange(n)
    lo = np.clip(i - w // 2, 0, n)
    hi = np.clip(i + w - w // 2, 0, n)
    return (c[hi] - c[lo]) / (hi - lo).reshape((-1,) + (1,) * (x.ndim - 1))


def check_rate(rate_hz: float, where: str = "input") -> float:
    """Refuse sample rates outside 25..1000 Hz with a clear message."""
    from ..errors import TwitchsenseError

    if not np.isfinite(rate_hz) or not MIN_RATE_HZ * 0.9 <= rate_hz <= MAX_RATE_HZ * 1.1:
        raise TwitchsenseError(f"{where}: sample rate {rate_hz:.4g} Hz is outside the supported "
                               f"{MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz")
    return float(rate_hz)


@dataclass
class ResampledPiece:
    """Uniform samples of one segment: sample ``k`` is at ``t0 + k / rate``."""

    segment: int
    t0: float
    k0: int
    x: np.ndarray  # (m, 3)


class Resampler:
    """Stateful, chunk-invariant resampler from ``in_rate_hz`` onto ``out_rate_hz``, split at gaps.

    ``push(t, acc)`` returns the pieces of uniform samples now complete;
    ``segment_ended`` tells the caller which segments were closed by a gap.
    """

    def __init__(self, in_rate_hz: float, out_rate_hz: float = 100.0, gap_s: float = DEFAULT_GAP_S) -> None:
        self.in_rate_hz = float(in_rate_hz)
        self.out_rate_hz = float(out_rate_hz)
        self.gap_s = float(gap_s)
        self.antialias = self.in_rate_hz > 1.05 * self.out_rate_hz
        if self.antialias:
            # Pass band up to ~0.4 x out rate (fasciculations reach 30 Hz at 100 Hz out).
            self._sos = lowpass_sos(self.in_rate_hz, 0.42 * self.out_rate_hz, order=6)
            w, gd = signal.group_delay(signal.sos2tf(self._sos), w=[0.5], fs=self.in_rate_hz)
            self.delay_s = float(gd[0]) / self.in_rate_hz
        else:
            self._sos = None
            self.delay_s = 0.0
        self.segment = -1
        self._zi: np.ndarray | None = None
        self._t_last = np.nan
        self._y_last = np.zeros(3)
        self._t0 = 0.0
        self._k_next = 0

    def _start_segment(self, t0: float, x0: np.ndarray) -> None:
        self.segment += 1
        self._t0 = float(t0)
        self._k_next = 0
        self._t_last = np.nan
        if self._sos is not None:
            zi = signal.sosfilt_zi(self._sos)  # (n_sections, 2): steady state for a unit step
            self._zi = zi[:, :, None] * x0[None, None, :]  # (n_sections, 2, 3)

    def push(self, t: np.ndarray, acc: np.ndarray) -> tuple[list[ResampledPiece], list[int]]:
        """Feed samples; returns (uniform pieces now complete, segments closed by a gap)."""
        t = np.asarray(t, dtype=np.float64)
        acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        pieces: list[ResampledPiece] = []
        closed: list[int] = []
        if t.size == 0:
            return pieces, closed
        if self.segment < 0:
            starts = [0] + list(np.flatnonzero(np.diff(t) > self.gap_s) + 1)
        else:
            steps = np.diff(np.concatenate([[self._t_last], t]))
            starts = list(np.flatnonzero(steps > self.gap_s))
        bounds = sorted(set([0] + starts + [t.size]))
        starts_set = set(starts)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if a in starts_set:
                if self.segment >= 0:
                    closed.append(self.segment)
                self._start_segment(t[a], acc[a])
            piece = self._push_segment(t[a:b], acc[a:b])
            if piece is not None:
                pieces.append(piece)
        return pieces, closed

    def _push_segment(self, t: np.ndarray, acc: np.ndarray) -> ResampledPiece | None:
        if self._sos is not None:
            y, self._zi = signal.sosfilt(self._sos, acc, axis=0, zi=self._zi)
        else:
            y = acc
        if np.isnan(self._t_last):
            tx, yx = t, y
        else:
            tx = np.concatenate([[self._t_last], t])
            yx = np.vstack([self._y_last[None, :], y])
        self._t_last = float(t[-1])
        self._y_last = y[-1].copy()
        # Output sample k is the (delay-compensated) signal at t0 + k / rate. Only targets
        # strictly before the last input time are made now, so each target always falls in
        # the same input interval whatever the chunking (bit-identical results).
        k_end = int(np.ceil((tx[-1] - self.delay_s - self._t0) * self.out_rate_hz)) + 1
        while k_end >= self._k_next and self._t0 + k_end / self.out_rate_hz + self.delay_s >= tx[-1]:
            k_end -= 1
        if k_end < self._k_next or tx.size < 2:
            return None
        k = np.arange(self._k_next, k_end + 1)
        tq = self._t0 + k / self.out_rate_hz + self.delay_s
        j = np.clip(np.searchsorted(tx, tq, side="right") - 1, 0, tx.size - 2)
        t0, t1 = tx.take(j), tx.take(j + 1)
        y0, y1 = yx.take(j, axis=0), yx.take(j + 1, axis=0)
        frac = ((tq - t0) / (t1 - t0))[:, None]
        x = y0 + frac * (y1 - y0)
        piece = ResampledPiece(self.segment, self._t0, self._k_next, x)
        self._k_next = k_end + 1
        return piece


def resample_recording(t: np.ndarray, acc: np.ndarray, in_rate_hz: float,
                       out_rate_hz: float = 100.0, gap_s: float = DEFAULT_GAP_S) -> list[tuple[float, np.ndarray]]:
    """Whole-recording convenience: a list of ``(t0, x)`` uniform segments at ``out_rate_hz``."""
    r = Resampler(in_rate_hz, out_rate_hz, gap_s)
    pieces, _ = r.push(t, acc)
    out: dict[int, tuple[float, list[np.ndarray]]] = {}
    for p in pieces:
        out.setdefault(p.segment, (p.t0, []))[1].append(p.x)
    return [(t0, np.vstack(xs)) for t0, xs in (out[s] for s in sorted(out))]


# --------------------------------------------------------------------------- quality flags


@dataclass
class QualityFlag:
    """A stretch of signal that cannot be trusted: ``saturated`` or ``stuck-axis``."""

    start: float
    end: float
    flag: str
    detail: str = ""


def _runs(mask: np.ndarray) -> np.ndarray:
    """``(k, 2)`` start/stop (exclusive) index pairs of the True runs of ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.column_stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)])


def sensor_step_g(meta: dict | None) -> float:
    """The sensor's step (g per count) from a sidecar: ``2 * range_g / 2**bits`` (``bits`` at the top or in
    the simulator's ``simulation.sensor``); 0 when either is unknown."""
    meta = meta or {}
    bits = meta.get("bits") or ((meta.get("simulation") or {}).get("sensor") or {}).get("bits")
    try:
        rng, bits = float(meta.get("range_g") or 0), int(bits or 0)
    except (TypeError, ValueError):
        return 0.0
    return 2.0 * rng / 2 ** bits if rng > 0 and 0 < bits <= 32 else 0.0


def axis_steps(acc: np.ndarray) -> np.ndarray:
    """Each axis's smallest non-zero change between samples (its step when the sensor's is unknown)."""
    steps = np.zeros(acc.shape[1])
    for i in range(acc.shape[1]):  # an axis at a time, in place: a day's differences are large
        d = np.diff(acc[:, i])
        np.abs(d, out=d)
        d[d <= 1e-9] = np.inf
        low = d.min() if d.size else np.inf
        steps[i] = low if np.isfinite(low) else 0.0
    return steps


def quality_flags(t: np.ndarray, acc: np.ndarray, range_g: float | None = None, step_g: float = 0.0,
                  stuck_s: float = 1.0, min_clip_run: int = 3, stuck_steps: float = 4.0,
                  stuck_move_g: float = 0.05) -> list[QualityFlag]:
    """Saturation (values at full scale) and stuck axes (an axis that does not change while the others move).

    With ``range_g`` known, samples within 1 % of full scale are saturated; without
    it, runs of ``min_clip_run`` or more equal samples at an axis's extreme above
    1.5 g count as clipping. An axis whose value repeats exactly for ``stuck_s`` or
    longer is stuck only if another axis spans at least ``max(stuck_steps`` steps, ``stuck_move_g)``
    over the run: a still quantised sensor repeats its reading on every axis (its noise is under
    a step), while a moving sensor changes gravity's projection on every axis, so one frozen axis
    amid movement is a fault. The step is ``step_g`` (the sidecar's,
    :func:`sensor_step_g`) or, unknown, each axis's smallest change (:func:`axis_steps`).
    """
    flags: list[QualityFlag] = []
    if t.size < 2:
        return flags
    moved = None  # the span on an axis that proves movement (the steps found only when a run needs them)
    for i, axis in enumerate("xyz"):
        a = acc[:, i]
        same = np.concatenate([[False], a[1:] == a[:-1]])
        if range_g:
            sat = np.abs(a) >= 0.99 * float(range_g)
            runs = _runs(sat)
        else:
            extreme = (np.abs(a) >= 1.5) & ((a == a.max()) | (a == a.min()))
            runs = _runs(same & extreme)
            runs = runs[runs[:, 1] - runs[:, 0] >= min_clip_run - 1]
            runs[:, 0] = np.maximum(runs[:, 0] - 1, 0)
        for s, e in runs:
            flags.append(QualityFlag(float(t[s]), float(t[e - 1]), "saturated",
                                     f"axis {axis} at {a[s]:+.3g} g for {e - s} samples"))
        runs = _runs(same)
        if runs.size:  # only runs lasting stuck_s or longer (quantised noise repeats a value often)
            runs[:, 0] = np.maximum(runs[:, 0] - 1, 0)
            runs = runs[t[runs[:, 1] - 1] - t[runs[:, 0]] >= stuck_s]
        if runs.size:  # ... while another axis moves
            if moved is None:
                steps = np.full(3, float(step_g)) if step_g else axis_steps(acc)
                moved = np.maximum(stuck_steps * steps, stuck_move_g)
            bounds = runs.ravel()  # starts and ends interleaved: reduceat's even slices are the runs
            if bounds[-1] == len(a):
                bounds = bounds[:-1]  # the last run goes to the end
            others = [j for j in range(3) if j != i]
            span = np.column_stack([(np.maximum.reduceat(acc[:, j], bounds) - np.minimum.reduceat(acc[:, j], bounds))[0::2]
                                    for j in others])
            runs = runs[(span >= moved[others]).any(axis=1)]
        for s0, e in runs:
            flags.append(QualityFlag(float(t[s0]), float(t[e - 1]), "stuck-axis",
                                     f"axis {axis} constant at {a[s0]:+.4g} g for {t[e - 1] - t[s0]:.1f} s "
                                     "while the others moved"))
    flags.sort(key=lambda f: f.start)
    return flags
