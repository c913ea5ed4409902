"""Sensor realism: what a real accelerometer board does to the true acceleration.

Applied in this order to the true acceleration (gravity included, in g):
per-axis gain error (up to +/-3 %), per-axis offset (up to +/-0.05 g) plus a
slow offset drift, white noise (1.5-5 mg RMS per axis), saturation at full
scale, quantisation to the ADC step (``2 * range_g / 2**bits``: 61-488 ug per
count for 16-bit at +/-2..16 g, ~4 mg for a cheap 10-bit part at +/-2 g).
Timing: the board's clock runs ``clock_ppm`` off nominal (samples are time
stamped by the board's counter, so the recording's ``t`` is ``i / rate`` while
the true time is ``i * (1 + ppm 1e-6) / rate``), and whole frames get lost
(gaps of 0.1-2 s in ``t``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Full-scale ranges (g) and their draw weights.
RANGES_G = (2.0, 4.0, 8.0, 16.0)
RANGE_WEIGHTS = (0.15, 0.35, 0.35, 0.15)


@dataclass(frozen=True)
class SensorModel:
    """One simulated sensor board. All figures are per axis."""

    range_g: float = 8.0
    bits: int = 16
    noise_g: float = 0.003
    offset_g: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    drift_g_per_h: float = 0.002
    clock_ppm: float = 0.0
    gaps_per_hour: float = 2.0
    gap_s: tuple[float, float] = (0.1, 2.0)
    faults_per_hour: float = 0.0

    @property
    def lsb_g(self) -> float:
        """One ADC count, in g."""
        return 2.0 * self.range_g / 2 ** self.bits

    def describe(self) -> str:
        """One line for the sidecar's ``sensor`` field."""
        return (f"simulated {self.bits}-bit +/-{self.range_g:g} g accelerometer, "
                f"{self.lsb_g * 1e6:.0f} ug/count, {self.noise_g * 1e3:.1f} mg RMS noise, "
                f"clock {self.clock_ppm:+.0f} ppm")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["offset_g"] = [round(x, 6) for x in self.offset_g]
        d["gain"] = [round(x, 6) for x in self.gain]
        for k in ("noise_g", "drift_g_per_h", "clock_ppm", "gaps_per_hour", "faults_per_hour"):
            d[k] = round(d[k], 6)
        d["gap_s"] = list(self.gap_s)
        return d


IDEAL_SENSOR = SensorModel(range_g=1e6, bits=0, noise_g=0.0, drift_g_per_h=0.0, gaps_per_hour=0.0,
                           faults_per_hour=0.0)

#: Sensor faults the simulator makes (labelled negatives): an axis's offset jumps and stays
#: (0.02-0.2 g), or an axis sticks at its last reading for 0.5-20 s.
FAULT_KINDS = ("offset_jump", "stuck_axis")


@dataclass(frozen=True)
class Fault:
    """One sensor fault on ``axis`` from sample ``i0`` to ``i1`` (inclusive; a jump has ``i1 == i0``)."""

    kind: str
    i0: int
    i1: int
    axis: int
    value_g: float = 0.0


def draw_faults(n: int, rate_hz: float, sensor: SensorModel, rng: np.random.Generator,
                protect: np.ndarray | None = None) -> list[Fault]:
    """Faults at ``sensor.faults_per_hour``, never within 1 s of a ``protect`` (k, 2) index span."""
    k = int(rng.poisson(sensor.faults_per_hour * n / rate_hz / 3600.0))
    out: list[Fault] = []
    margin = int(rate_hz)
    for _ in range(k):
        kind = FAULT_KINDS[int(rng.integers(2))]
        i0 = int(rng.integers(1, max(2, n - 1)))
        axis = int(rng.integers(3))
        if kind == "offset_jump":
            i1, value = i0, float(rng.choice([-1.0, 1.0]) * rng.uniform(0.02, 0.2))
        else:
            i1, value = min(n - 1, i0 + int(rng.uniform(0.5, 20.0) * rate_hz)), 0.0
        if protect is not None and len(protect) and np.any((protect[:, 0] <= i1 + margin) &
                                                             (protect[:, 1] >= i0 - margin)):
            continue
        out.append(Fault(kind, i0, i1, axis, value))
    return out


def draw_sensor(rng: np.random.Generator) -> SensorModel:
    """Draw a board within the sensor realism ranges of docs/physiology.md."""
    bits = int(rng.choice([16, 12, 10], p=[0.8, 0.12, 0.08]))
    rng_g = float(rng.choice(RANGES_G, p=RANGE_WEIGHTS)) if bits == 16 else float(rng.choice([2.0, 4.0]))
    return SensorModel(
        range_g=rng_g, bits=bits, noise_g=float(rng.uniform(0.0015, 0.005)),
        offset_g=tuple(float(x) for x in rng.uniform(-0.05, 0.05, 3)),
        gain=tuple(float(x) for x in 1.0 + rng.uniform(-0.03, 0.03, 3)),
        drift_g_per_h=float(rng.uniform(0.0, 0.005)), clock_ppm=float(rng.uniform(-300, 300)),
        gaps_per_hour=float(rng.uniform(0.0, 6.0)), faults_per_hour=float(rng.uniform(0.0, 0.5)),
    )


def true_times(n: int, rate_hz: float, clock_ppm: float) -> np.ndarray:
    """True times of ``n`` samples from a board whose clock is ``clock_ppm`` off nominal."""
    return np.arange(n) * ((1.0 + clock_ppm * 1e-6) / rate_hz)


def draw_lost_frames(n: int, rate_hz: float, sensor: SensorModel, rng: np.random.Generator,
                     protect: np.ndarray | None = None) -> np.ndarray:
    """Boolean keep-mask with lost-frame gaps; ``protect`` (k, 2) index spans are never hit."""
    keep = np.ones(n, dtype=bool)
    hours = n / rate_hz / 3600.0
    k = int(rng.poisson(sensor.gaps_per_hour * hours))
    if k == 0 or n < 10:
        return keep
    starts = rng.integers(1, n - 1, k)
    lengths = np.round(rng.uniform(*sensor.gap_s, k) * rate_hz).astype(int)
    for s, ln in zip(starts, lengths):
        e = min(n - 1, s + ln)
        if protect is not None and len(protect) and np.any((protect[:, 0] <= e) & (protect[:, 1] >= s)):
            continue
        keep[s:e] = False
    return keep


def apply_sensor(acc: np.ndarray, t_true: np.ndarray, sensor: SensorModel,
                 rng: np.random.Generator, faults: list[Fault] | None = None) -> np.ndarray:
    """Gain, offset + drift + offset jumps, noise, saturation, quantisation, stuck axes; in place."""
    out = acc
    for ax in range(3):
        col = out[:, ax]
        col *= sensor.gain[ax]
        col += sensor.offset_g[ax]
    for f in faults or []:
        if f.kind == "offset_jump":
            out[f.i0:, f.axis] += f.value_g
    if sensor.drift_g_per_h > 0 and t_true.size:
        # a slow drift: a random walk through knots every 15 min, ~drift_g_per_h per hour
        hours = max(t_true[-1] / 3600.0, 1e-9)
        knots = max(2, int(np.ceil(hours * 4)) + 1)
        kt = np.linspace(0.0, t_true[-1] if t_true[-1] > 0 else 1.0, knots)
        steps = rng.normal(0.0, sensor.drift_g_per_h / 2.0, (knots, 3))
        walk = np.cumsum(steps, axis=0) - steps[0]
        for ax in range(3):
            out[:, ax] += np.interp(t_true, kt, walk[:, ax])
    if sensor.noise_g > 0:
        for ax in range(3):
            out[:, ax] += rng.normal(0.0, sensor.noise_g, out.shape[0])
    if sensor.bits > 0:
        lsb = sensor.lsb_g
        out /= lsb
        np.rint(out, out=out)
        np.clip(out, -(2 ** (sensor.bits - 1)), 2 ** (sensor.bits - 1) - 1, out=out)
        out *= lsb
    for f in faults or []:
        if f.kind == "stuck_axis":
            out[f.i0:f.i1 + 1, f.axis] = out[f.i0, f.axis]
    return out
