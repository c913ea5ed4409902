"""Sensor realism: what a real accelerometer board does to the true acceleration.

Applied in this order to the true acceleration (gravity included, in g):
per-axis gain error (up to +/-3 %), per-axis offset (up to +/-0.05 g) plus a
slow offset drift, white noise (1.5-5 mg RMS per axis), saturation at full
scale, quantisation to the ADC step (``2 * range_g / 2**bits``: 61-488 ug per
count for 16-bit at +/-2..16 g; 3.9-15.6 mg for 10/12-bit parts and research
loggers at +/-8/16 g, 1/256 and 1/64 g among them).
Timing: the board's clock runs ``clock_ppm`` off nominal (samples are time
stamped by the board's counter, so the recording's ``t`` is ``i / rate`` while
the true time is ``i * (1 + ppm 1e-6) / rate``), and whole frames get lost
(gaps of 0.1-2 s in ``t``). Loggers that stamp samples with the host's clock
(phone and watch apps, boards streamed to a computer) add time-stamp jitter
(``jitter_s``, stamps rounded to ``stamp_res_s``).

Sensor families drawn per session (:func:`draw_sensor`, :data:`FAMILIES`):
``board16`` (16-bit MEMS board), ``coarse`` (10/12-bit part), ``logger``
(research logger, 1/256 or 1/64 g steps, no lost frames), ``app`` (phone or
watch app: 16-bit, jittered 1 ms time stamps).
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
    family: str = "board16"
    jitter_s: float = 0.0
    stamp_res_s: float = 0.0

    @property
    def lsb_g(self) -> float:
        """One ADC count, in g."""
        return 2.0 * self.range_g / 2 ** self.bits

    def describe(self) -> str:
        """One line for the sidecar's ``sensor`` field."""
        timing = (f", time stamps jitter {self.jitter_s * 1e3:.1f} ms at {self.stamp_res_s * 1e3:g} ms resolution"
                  if self.jitter_s else "")
        return (f"simulated {FAMILIES.get(self.family, self.family)}: {self.bits}-bit +/-{self.range_g:g} g, "
                f"{_step_text(self.lsb_g)}/count, {self.noise_g * 1e3:.1f} mg RMS noise, "
                f"clock {self.clock_ppm:+.0f} ppm{timing}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["offset_g"] = [round(x, 6) for x in self.offset_g]
        d["gain"] = [round(x, 6) for x in self.gain]
        for k in ("noise_g", "drift_g_per_h", "clock_ppm", "gaps_per_hour", "faults_per_hour", "jitter_s"):
            d[k] = round(d[k], 6)
        d["gap_s"] = list(self.gap_s)
        return d


def _step_text(step_g: float) -> str:
    return f"{step_g * 1e6:.0f} ug" if step_g < 1e-3 else f"{step_g * 1e3:.1f} mg"


IDEAL_SENSOR = SensorModel(range_g=1e6, bits=0, noise_g=0.0, drift_g_per_h=0.0, gaps_per_hour=0.0,
                           faults_per_hour=0.0, family="ideal")

#: Sensor families: name -> what it stands for.
FAMILIES = {"board16": "16-bit accelerometer board", "coarse": "10/12-bit accelerometer",
            "logger": "research logger", "app": "phone or watch app", "ideal": "ideal sensor"}
#: Share of each family among drawn sessions.
FAMILY_WEIGHTS = {"board16": 0.45, "coarse": 0.2, "logger": 0.2, "app": 0.15}
#: (bits, range in g) of coarse parts: steps of 3.9, 7.8 and 15.6 mg.
COARSE_GRIDS = ((12, 8.0), (12, 16.0), (10, 8.0))
#: (bits, range in g) of research loggers: steps of 1/256 g and 1/64 g.
LOGGER_GRIDS = ((12, 8.0), (10, 8.0))

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


def draw_sensor(rng: np.random.Generator, family: str | None = None) -> SensorModel:
    """Draw a sensor of ``family`` (by default one drawn with :data:`FAMILY_WEIGHTS`) within the
    sensor realism ranges of docs/physiology.md."""
    names = list(FAMILY_WEIGHTS)
    fam = family or str(rng.choice(names, p=np.array([FAMILY_WEIGHTS[k] for k in names])))
    if fam not in FAMILY_WEIGHTS:
        raise ValueError(f"unknown sensor family {fam!r}; expected one of {', '.join(names)}")
    bits, rng_g = 16, 8.0
    if fam == "board16":
        rng_g = float(rng.choice(RANGES_G, p=RANGE_WEIGHTS))
    elif fam == "app":
        rng_g = float(rng.choice([2.0, 4.0, 8.0]))
    else:
        grids = COARSE_GRIDS if fam == "coarse" else LOGGER_GRIDS
        bits, rng_g = grids[int(rng.integers(len(grids)))]
    common = dict(noise_g=float(rng.uniform(0.0015, 0.005)),
                  offset_g=tuple(float(x) for x in rng.uniform(-0.05, 0.05, 3)),
                  gain=tuple(float(x) for x in 1.0 + rng.uniform(-0.03, 0.03, 3)),
                  drift_g_per_h=float(rng.uniform(0.0, 0.005)), clock_ppm=float(rng.uniform(-300, 300)))
    jitter = float(rng.uniform(0.0005, 0.003))
    if fam == "logger":  # a crystal-timed logger writes every sample to its own memory
        return SensorModel(range_g=rng_g, bits=bits, gaps_per_hour=0.0, family=fam,
                           faults_per_hour=float(rng.uniform(0.0, 0.2)), **common)
    host_stamped = fam == "app" or (fam == "coarse" and rng.uniform() < 0.5)
    return SensorModel(range_g=rng_g, bits=bits, gaps_per_hour=float(rng.uniform(0.0, 6.0)),
                       faults_per_hour=float(rng.uniform(0.0, 0.5)), family=fam,
                       jitter_s=jitter if host_stamped else 0.0, stamp_res_s=0.001 if host_stamped else 0.0,
                       **common)


def true_times(n: int, rate_hz: float, clock_ppm: float) -> np.ndarray:
    """True times of ``n`` samples from a board whose clock is ``clock_ppm`` off nominal."""
    return np.arange(n) * ((1.0 + clock_ppm * 1e-6) / rate_hz)


def recorded_times(n: int, rate_hz: float, sensor: SensorModel, rng: np.random.Generator) -> np.ndarray:
    """The recording's time stamps: the board's counter (``i / rate``), or with ``sensor.jitter_s`` the
    host's stamps: Gaussian jitter, rounded to ``stamp_res_s``, kept strictly increasing."""
    t = np.arange(n) / rate_hz
    if not sensor.jitter_s or n == 0:
        return t
    t = t + rng.normal(0.0, sensor.jitter_s, n)
    res = sensor.stamp_res_s or 1e-6
    t = np.round(t / res) * res
    step = np.arange(n) * res  # strictly increasing: at least one stamp step apart
    t = np.maximum.accumulate(t - step) + step
    return t - t[0]


def reading_grid(acc: np.ndarray, min_step_g: float = 5e-6) -> list[tuple[float, float]] | None:
    """The quantisation grid of a recording's readings, from the data: ``(step, origin)`` per axis, or
    None when the readings are not on a grid.

    The step is the smallest common difference between distinct readings, pooled
    over the axes (one converter), then fitted per axis with the origin (a
    logger's calibration shifts and scales each axis's grid a little). A grid is
    accepted when every axis's distinct readings lie within a fifth of a step of
    it. Readings written with fewer decimals than the step resolves (0.01 mg for
    a 0.24 mg step) still count.
    """
    acc = np.asarray(acc, dtype=float)
    if acc.ndim != 2 or acc.shape[0] < 2:
        return None
    uniq = [np.unique(acc[np.isfinite(acc[:, k]), k]) for k in range(acc.shape[1])]
    diffs = np.concatenate([np.diff(u) for u in uniq])
    diffs = diffs[diffs > min_step_g / 5]
    if diffs.size < 10:
        return None
    small = diffs[diffs < 1.5 * diffs.min()]
    step0 = float(np.median(small))
    if step0 < min_step_g:
        return None
    out = []
    for u in uniq:
        if u.size == 0:
            return None
        # refine the step on ever larger differences (each a whole number of steps), then the origin
        d = np.diff(u)
        step = step0
        for limit in (4.5, 32.5, 256.5, np.inf):
            sel = d[d / step < limit]
            if sel.size:
                step = float(sel.sum() / np.maximum(np.round(sel / step), 1).sum())
        origin = float(u[0])
        res = u - origin - np.round((u - origin) / step) * step
        origin += float(np.median(res))
        origin -= round(origin / step) * step  # the grid point nearest 0
        if step <= 0 or np.max(np.abs(u - origin - np.round((u - origin) / step) * step)) > 0.2 * step:
            return None
        out.append((step, origin))
    return out


def snap_to_grid(x: np.ndarray, grid: list[tuple[float, float]]) -> np.ndarray:
    """Readings ``x`` (n, axes) moved to the nearest point of ``grid`` (from :func:`reading_grid`); in place."""
    for k, (step, origin) in enumerate(grid):
        x[:, k] = origin + np.round((x[:, k] - origin) / step) * step
    return x


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
