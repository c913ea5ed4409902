"""Signal models: one function per twitch class and look-alike.

Every function evaluates a waveform at arbitrary times ``t`` (seconds since the
event's reference time, any spacing, so clock drift and jittery real time stamps
need no resampling) from physically meaningful parameters, and returns the
*dynamic* acceleration in g as an ``(n, 3)`` array in the sensor frame (gravity
is added by the session model, which also rotates it for posture changes).
Nothing here draws random numbers except the train models, which take a seed.

Transient shape (twitches, heel strikes, keystrokes): a gamma envelope
``e(x) = x**k * exp(k * (1 - x))`` (peak 1 at ``x = 1``, fast rise, slower
decay: a damped transient) times a carrier. The envelope is placed so that it
crosses 10 % of its peak at ``t = 0`` and again at ``t = duration_s``: the
duration of docs/physiology.md ("envelope above 10 % of peak") is exactly the
``duration_s`` parameter, and a twitch label is the sampled span where the
envelope is at or above 0.1.

``RANGES`` holds the documented ranges (from docs/physiology.md) that the
session model samples; ``draw_twitch`` / ``draw_lookalike`` draw parameters
within them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

TWITCH_KINDS = ("myoclonic", "hypnic", "fasciculation", "tic")

#: Documented parameter ranges per class (peak in g at the skin, dominant frequency
#: in Hz, duration of the envelope above 10 % of peak in s, cycles of the carrier
#: inside that duration).
RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "myoclonic": {"peak_g": (0.05, 1.0), "freq_hz": (5.0, 15.0), "duration_s": (0.05, 0.4), "cycles": (1.0, 3.0)},
    "hypnic": {"peak_g": (0.3, 1.5), "freq_hz": (3.0, 8.0), "duration_s": (0.1, 0.5), "cycles": (1.0, 3.0)},
    "fasciculation": {"peak_g": (0.01, 0.06), "freq_hz": (12.0, 30.0), "duration_s": (0.02, 0.1), "cycles": (1.0, 3.0)},
    "tic": {"peak_g": (0.1, 1.0), "freq_hz": (3.0, 10.0), "duration_s": (0.1, 1.0), "cycles": (1.0, 4.0)},
    # look-alikes (labelled negatives)
    "posture": {"peak_g": (0.05, 0.5), "freq_hz": (0.3, 2.0), "duration_s": (0.6, 2.5), "angle_deg": (15.0, 90.0)},
    "gesture": {"peak_g": (0.05, 0.5), "freq_hz": (0.3, 2.0), "duration_s": (1.0, 3.0), "angle_deg": (10.0, 45.0)},
    # running: not in the table of docs/physiology.md; figures from running studies at the wrist and shank
    "run": {"cadence_hz": (2.5, 3.2), "step_g": (0.6, 1.5), "heel_g": (1.0, 3.0), "heel_hz": (15.0, 25.0),
            "swing_deg": (20.0, 45.0), "duration_s": (60.0, 600.0)},
    "walk": {"cadence_hz": (1.6, 2.2), "step_g": (0.2, 0.6), "heel_g": (0.3, 1.0), "heel_hz": (15.0, 25.0),
             "swing_deg": (10.0, 35.0), "duration_s": (20.0, 300.0)},
    "typing": {"peak_g": (0.01, 0.1), "rate_hz": (3.0, 10.0), "freq_hz": (12.0, 30.0), "duration_s": (10.0, 120.0)},
    "fidget": {"peak_g": (0.01, 0.1), "rate_hz": (3.0, 10.0), "freq_hz": (3.0, 10.0), "duration_s": (5.0, 40.0)},
    "brushing": {"peak_g": (0.01, 0.1), "rate_hz": (3.0, 10.0), "duration_s": (60.0, 150.0)},
    "tremor": {"peak_g": (0.02, 0.3), "freq_hz": (3.0, 12.0), "duration_s": (20.0, 180.0)},
    "knock": {"peak_g": (0.5, 4.0), "freq_hz": (100.0, 300.0), "duration_s": (0.003, 0.015)},
    "clap": {"peak_g": (1.0, 6.0), "rate_hz": (2.0, 4.0), "count": (3, 10), "duration_s": (1.0, 5.0)},
    # continuous background (not labelled)
    "breathing": {"peak_g": (0.001, 0.005), "freq_hz": (0.2, 0.3)},
    "heartbeat": {"peak_g": (0.001, 0.003), "freq_hz": (1.0, 1.5)},
}

#: Tremor types and their frequency bands (Hz).
TREMOR_BANDS = {"physiological": (8.0, 12.0), "essential": (4.0, 12.0), "parkinsonian": (3.0, 8.0)}

#: Look-alikes the session model labels (negatives), in gallery order.
LOOKALIKES = ("posture", "gesture", "walk", "run", "typing", "fidget", "brushing", "tremor", "knock", "clap")

#: Sharpness ``k`` of the gamma envelope (2: fast rise, slow decay).
SHARPNESS = 2.0
#: The envelope is evaluated until it falls below this fraction of its peak.
ENVELOPE_FLOOR = 1e-3


# --------------------------------------------------------------------------- geometry


def unit(v: np.ndarray) -> np.ndarray:
    """Normalise vectors along the last axis."""
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def random_direction(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random unit vector."""
    return unit(rng.normal(size=3))


def perpendicular(v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector perpendicular to ``v``."""
    w = rng.normal(size=3)
    w -= np.dot(w, v) * v
    return unit(w)


def direction_at_angle(up: np.ndarray, angle_deg: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at ``angle_deg`` from ``up`` (the gravity reaction), random azimuth."""
    a = np.radians(angle_deg)
    return unit(np.cos(a) * unit(up) + np.sin(a) * perpendicular(unit(up), rng))


# --------------------------------------------------------------------------- envelopes


@lru_cache(maxsize=None)
def _gamma_crossings(k: float, level: float) -> tuple[float, float]:
    """The two roots ``x1 < 1 < x2`` of ``x**k exp(k (1 - x)) = level``."""
    from scipy.optimize import brentq

    f = lambda x: k * np.log(x) + k * (1.0 - x) - np.log(level)  # noqa: E731
    return brentq(f, 1e-12, 1.0), brentq(f, 1.0, 1e3)


def envelope(t: np.ndarray, duration_s: float, sharpness: float = SHARPNESS) -> np.ndarray:
    """Gamma envelope, peak 1, equal to 0.1 at ``t = 0`` and at ``t = duration_s``."""
    x1, x2 = _gamma_crossings(sharpness, 0.1)
    tp = duration_s / (x2 - x1)
    x = np.clip(np.asarray(t, dtype=float) / tp + x1, 0.0, None)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, np.exp(sharpness * (np.log(np.maximum(x, 1e-300)) + 1.0 - x)), 0.0)


def envelope_support(duration_s: float, sharpness: float = SHARPNESS) -> tuple[float, float]:
    """Times (relative to the 10 % onset) where the envelope starts and falls below ``ENVELOPE_FLOOR``."""
    x1, x2 = _gamma_crossings(sharpness, 0.1)
    _, x_end = _gamma_crossings(sharpness, ENVELOPE_FLOOR)
    tp = duration_s / (x2 - x1)
    return -x1 * tp, (x_end - x1) * tp


def envelope_peak_time(duration_s: float, sharpness: float = SHARPNESS) -> float:
    """Time of the envelope peak, relative to the 10 % onset."""
    x1, x2 = _gamma_crossings(sharpness, 0.1)
    return (1.0 - x1) * duration_s / (x2 - x1)


@lru_cache(maxsize=None)
def _frequency_shift_table(sharpness: float = SHARPNESS) -> tuple[np.ndarray, np.ndarray]:
    """Dominant frequency / carrier frequency of a gamma-windowed sine, by cycles in the 10 % span.

    A short burst's spectrum peak is not at its carrier (with one cycle it sits
    about 9 % higher); the samplers correct the carrier so that the *dominant*
    frequency is the drawn one.
    """
    cycles = np.linspace(0.5, 5.0, 46)
    ratio = np.empty_like(cycles)
    fs, f = 400.0, 10.0
    nfft = 1 << 17
    for i, c in enumerate(cycles):
        d = c / f
        lo, hi = envelope_support(d, sharpness)
        tt = np.arange(lo, hi, 1.0 / fs)
        s = envelope(tt, d, sharpness) * np.sin(2 * np.pi * f * (tt - envelope_peak_time(d, sharpness)))
        spec = np.abs(np.fft.rfft(s, nfft))
        ratio[i] = np.fft.rfftfreq(nfft, 1.0 / fs)[np.argmax(spec)] / f
    return cycles, ratio


def carrier_for_dominant(freq_hz: float, cycles: float) -> float:
    """Carrier frequency whose burst with ``cycles`` cycles has its spectral peak at ``freq_hz``."""
    c, r = _frequency_shift_table()
    return freq_hz / float(np.interp(cycles, c, r))


# --------------------------------------------------------------------------- twitches


@dataclass(frozen=True)
class TwitchParams:
    """Physical parameters of one twitch.

    ``peak_g``: peak of the acceleration norm; ``freq_hz``: dominant frequency;
    ``duration_s``: span of the envelope above 10 % of peak; ``cycles``: carrier
    cycles in that span (1-3 swings); ``direction``: main axis (unit vector, sensor
    frame); ``ellipticity``: size of a component on a perpendicular axis, 45
    degrees out of phase (0 = straight-line jerk); ``sign``: +1/-1 first swing direction.
    """

    kind: str
    peak_g: float
    freq_hz: float
    duration_s: float
    cycles: float
    direction: tuple[float, float, float]
    ellipticity: float = 0.0
    second_axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    sign: float = 1.0


def burst(t: np.ndarray, peak_g: float, freq_hz: float, duration_s: float, cycles: float,
          direction: np.ndarray, ellipticity: float = 0.0,
          second_axis: np.ndarray | None = None, sign: float = 1.0,
          sharpness: float = SHARPNESS) -> tuple[np.ndarray, np.ndarray]:
    """A damped transient: gamma envelope x carrier along ``direction``.

    Returns ``(acc (n, 3) in g, envelope (n,))``; the peak of the acceleration
    norm of the continuous waveform is ``peak_g``; ``t = 0`` is the 10 % onset.
    ``cycles`` fixes the carrier through ``duration_s * carrier = cycles`` after
    the correction that puts the spectral peak at ``freq_hz``.
    """
    carrier = carrier_for_dominant(freq_hz, cycles) if cycles else freq_hz
    tpk = envelope_peak_time(duration_s, sharpness)
    u = unit(np.asarray(direction, dtype=float))
    v = unit(np.asarray(second_axis, dtype=float)) if second_axis is not None else np.zeros(3)

    def shape(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        env = envelope(tt, duration_s, sharpness)
        ph = 2 * np.pi * carrier * (tt - tpk)
        acc = env[:, None] * (sign * np.sin(ph)[:, None] * u + ellipticity * np.sin(ph + np.pi / 4)[:, None] * v)
        return acc, env

    lo, hi = envelope_support(duration_s, sharpness)
    fine = np.linspace(lo, hi, int(max(256, 64 * carrier * (hi - lo))))
    scale = peak_g / np.linalg.norm(shape(fine)[0], axis=1).max()
    acc, env = shape(np.asarray(t, dtype=float))
    return acc * scale, env


def burst_shape(t: np.ndarray, freq_hz: float, duration_s: float, cycles: float) -> np.ndarray:
    """Scalar burst (sine carrier under the gamma envelope) with peak magnitude 1; ``t = 0`` is the 10 % onset."""
    return burst(t, 1.0, freq_hz, duration_s, cycles, np.array([1.0, 0.0, 0.0]))[0][:, 0]


def band_limit_gain(freq_hz: float, rate_hz: float | None) -> float:
    """Gain of a sensor's anti-alias low-pass (4th-order Butterworth at 0.45 x the sample rate).

    Near 1 for every twitch class at 100 Hz and above (0.98 for a 30 Hz
    fasciculation at 100 Hz); a 20 Hz fasciculation sampled at 25 Hz keeps 10 %.
    """
    if not rate_hz:
        return 1.0
    return float(1.0 / np.sqrt(1.0 + (freq_hz / (0.45 * rate_hz)) ** 8))


def twitch(t: np.ndarray, p: TwitchParams, rate_hz: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Waveform of any twitch class from its :class:`TwitchParams`: ``(acc, envelope)``.

    With ``rate_hz`` the amplitude is scaled by the sensor's anti-alias filter
    (:func:`band_limit_gain`), so a sensor too slow for a class barely sees it.
    """
    acc, env = burst(t, p.peak_g, p.freq_hz, p.duration_s, p.cycles, np.array(p.direction), p.ellipticity,
                     np.array(p.second_axis), p.sign)
    g = band_limit_gain(p.freq_hz, rate_hz)
    return (acc * g if g != 1.0 else acc), env


def myoclonic_jerk(t: np.ndarray, peak_g: float = 0.3, freq_hz: float = 8.0, duration_s: float = 0.15,
                   cycles: float = 1.5, direction=(1.0, 0.0, 0.0)) -> np.ndarray:
    """Myoclonic jerk: one damped transient of 1-3 swings, 5-15 Hz, 0.05-1 g, 50-400 ms."""
    return burst(t, peak_g, freq_hz, duration_s, cycles, np.asarray(direction))[0]


def hypnic_jerk(t: np.ndarray, peak_g: float = 0.8, freq_hz: float = 5.0, duration_s: float = 0.3,
                cycles: float = 1.5, direction=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Hypnic jerk: whole-limb jerk, 3-8 Hz, 0.3-1.5 g, 100-500 ms (posture shift added by the session)."""
    return burst(t, peak_g, freq_hz, duration_s, cycles, np.asarray(direction))[0]


def fasciculation(t: np.ndarray, peak_g: float = 0.03, freq_hz: float = 20.0, duration_s: float = 0.06,
                  cycles: float = 2.0, direction=(0.0, 1.0, 0.0)) -> np.ndarray:
    """Visible fasciculation: short high-frequency ripple, 12-30 Hz, 0.01-0.06 g, 20-100 ms."""
    return burst(t, peak_g, freq_hz, duration_s, cycles, np.asarray(direction))[0]


def simple_tic(t: np.ndarray, peak_g: float = 0.4, freq_hz: float = 5.0, duration_s: float = 0.4,
               cycles: float = 2.0, direction=(1.0, 0.0, 0.0)) -> np.ndarray:
    """Simple motor tic: brief movement, 3-10 Hz, 0.1-1 g, 100-1000 ms."""
    return burst(t, peak_g, freq_hz, duration_s, cycles, np.asarray(direction))[0]


def _feasible_cycles(r: dict, freq_hz: float) -> tuple[float, float]:
    """Cycles range such that the resulting duration stays in the documented range."""
    c, ratio = _frequency_shift_table()
    # duration = cycles / carrier = cycles * ratio(cycles) / freq
    dur = c * ratio / freq_hz
    lo_c, hi_c = r["cycles"]
    d_lo, d_hi = r["duration_s"]
    ok = (c >= lo_c) & (c <= hi_c) & (dur >= d_lo) & (dur <= d_hi)
    if not ok.any():  # fall back to the cycles that give the duration nearest to the range
        i = int(np.argmin(np.abs(dur - np.clip(dur, d_lo, d_hi))))
        return float(c[i]), float(c[i])
    return float(c[ok].min()), float(c[ok].max())


def draw_twitch(kind: str, rng: np.random.Generator, up: np.ndarray | None = None) -> TwitchParams:
    """Draw the parameters of a twitch of ``kind`` within its documented ranges.

    Peaks are drawn log-uniformly (small events are more common than large
    ones); the direction is isotropic, or for hypnic jerks within 45 degrees of
    ``up`` (a whole-limb jerk against gravity) when ``up`` is given.
    """
    if kind not in TWITCH_KINDS:
        raise ValueError(f"unknown twitch kind {kind!r}; expected one of {', '.join(TWITCH_KINDS)}")
    r = RANGES[kind]
    peak = float(np.exp(rng.uniform(*np.log(r["peak_g"]))))
    freq = float(rng.uniform(*r["freq_hz"]))
    c_lo, c_hi = _feasible_cycles(r, freq)
    cycles = float(rng.uniform(c_lo, c_hi))
    c, ratio = _frequency_shift_table()
    duration = float(np.clip(cycles * np.interp(cycles, c, ratio) / freq, *r["duration_s"]))
    if kind == "hypnic" and up is not None:
        direction = direction_at_angle(np.asarray(up), float(rng.uniform(0, 45)), rng)
    else:
        direction = random_direction(rng)
    second = perpendicular(direction, rng)
    return TwitchParams(kind=kind, peak_g=peak, freq_hz=freq, duration_s=duration, cycles=cycles,
                        direction=tuple(direction), ellipticity=float(rng.uniform(0.0, 0.25)),
                        second_axis=tuple(second), sign=float(rng.choice([-1.0, 1.0])))


# --------------------------------------------------------------------------- smooth movements


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk position profile 0 -> 1 over ``s`` in [0, 1] (clipped outside)."""
    s = np.clip(s, 0.0, 1.0)
    return s ** 3 * (10 - 15 * s + 6 * s ** 2)


def posture_change(t: np.ndarray, duration_s: float = 1.5, peak_g: float = 0.2,
                   direction=(1.0, 0.0, 0.0)) -> np.ndarray:
    """Linear acceleration of a minimum-jerk reach over ``duration_s`` (biphasic, smooth).

    The rotation of gravity that goes with a posture change is applied by the
    session model (:func:`rotate_towards`); this is the translation part,
    0.05-0.5 g, dominant frequency 0.3-2 Hz.
    """
    s = np.asarray(t, dtype=float) / duration_s
    inside = (s >= 0) & (s <= 1)
    a = np.where(inside, 60 * s - 180 * s ** 2 + 120 * s ** 3, 0.0)  # d2/ds2 of minimum_jerk
    return (peak_g / (10 / np.sqrt(3))) * a[:, None] * unit(np.asarray(direction, dtype=float))


def gesture(t: np.ndarray, duration_s: float = 2.0, peak_g: float = 0.15,
            direction=(1.0, 0.0, 0.0)) -> np.ndarray:
    """Reach and return: two minimum-jerk movements, out then back, over ``duration_s``."""
    half = duration_s / 2
    tt = np.asarray(t, dtype=float)
    return posture_change(tt, half, peak_g, direction) - posture_change(tt - half, half, peak_g, direction)


def rotate_towards(up_from: np.ndarray, up_to: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Spherical interpolation of the gravity direction, ``fraction`` in [0, 1] per sample."""
    a, b = unit(up_from), unit(up_to)
    omega = np.arccos(np.clip(np.dot(a, b), -1.0, 1.0))
    f = np.asarray(fraction, dtype=float)[:, None]
    if omega < 1e-9:
        return np.broadcast_to(a, (f.shape[0], 3)).copy()
    return (np.sin((1 - f) * omega) * a + np.sin(f * omega) * b) / np.sin(omega)


def rotate_about(up: np.ndarray, axis: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rotate ``up`` ((n, 3) or (3,)) about unit ``axis`` by ``angle_rad`` per sample (Rodrigues)."""
    k = unit(np.asarray(axis, dtype=float))
    v = np.broadcast_to(up, (np.size(angle_rad), 3))
    c, s = np.cos(angle_rad)[:, None], np.sin(angle_rad)[:, None]
    return v * c + np.cross(k, v) * s + k * (v @ k)[:, None] * (1 - c)


# --------------------------------------------------------------------------- periodic activities


def tremor(t: np.ndarray, freq_hz: float = 6.0, peak_g: float = 0.1, duration_s: float = 30.0,
           direction=(1.0, 0.0, 0.0), seed: int = 0) -> np.ndarray:
    """Rhythmic, sustained tremor with a slow amplitude and frequency wobble.

    Frequency wanders by up to +/-4 % (drawn from ``seed``), amplitude by +/-25 %
    around ``peak_g``; 1 s fade in and out; a small (20 %) elliptical
    component on a perpendicular axis.
    """
    rng = np.random.default_rng(seed)
    tt = np.asarray(t, dtype=float)
    p1, p2, p3 = rng.uniform(0, 2 * np.pi, 3)
    fw = rng.uniform(0.02, 0.08)
    # phase = integral of f(t) = f0 (1 + 0.04 sin(2 pi fw t + p1)), in closed form (any spacing of t)
    phase = 2 * np.pi * (freq_hz * tt - 0.04 * freq_hz / (2 * np.pi * fw) * (np.cos(2 * np.pi * fw * tt + p1) - np.cos(p1)))
    amp = 0.8 / np.hypot(1.0, 0.2) * peak_g * (1 + 0.25 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * tt + p2))
    fade = np.clip(tt, 0, None).clip(max=1.0) * np.clip(duration_s - tt, 0, 1.0)
    u = unit(np.asarray(direction, dtype=float))
    v = perpendicular(u, rng)
    wave = np.sin(phase)[:, None] * u + 0.2 * np.cos(phase + p3)[:, None] * v
    return (amp * fade)[:, None] * wave


def _train(t: np.ndarray, event_times: np.ndarray, kernel) -> np.ndarray:
    """Sum of ``kernel(dt, i)`` for the two latest events before each t (trains of short transients)."""
    tt = np.asarray(t, dtype=float)
    out = np.zeros((tt.size, 3))
    if event_times.size == 0:
        return out
    last = np.searchsorted(event_times, tt, side="right") - 1
    for back in (0, 1):
        i = last - back
        ok = i >= 0
        if ok.any():
            out[ok] += kernel(tt[ok] - event_times[i[ok]], i[ok])
    return out


def walking(t: np.ndarray, cadence_hz: float = 1.9, step_g: float = 0.35, heel_g: float = 0.6,
            heel_hz: float = 20.0, duration_s: float = 60.0, direction=(1.0, 0.0, 0.0),
            seed: int = 0) -> np.ndarray:
    """Walking (or running): a periodic step oscillation plus a sharp heel-strike transient every step.

    Steps at ``cadence_hz`` (walking 1.6-2.2 Hz, running 2.5-3.2 Hz) with 3 % interval jitter; the step
    oscillation (fundamental + 2nd harmonic) peaks near ``step_g`` along
    ``direction``; each heel strike is a 2-cycle burst at ``heel_hz`` peaking
    at ``heel_g`` (+/-20 % per step). Arm swing (gravity rotation) is added by the
    session model.
    """
    rng = np.random.default_rng(seed)
    tt = np.asarray(t, dtype=float)
    n_steps = int(duration_s * cadence_hz) + 2
    intervals = rng.normal(1.0 / cadence_hz, 0.03 / cadence_hz, n_steps).clip(0.3)
    steps = np.concatenate([[0.0], np.cumsum(intervals)])
    steps = steps[steps < duration_s]
    u = unit(np.asarray(direction, dtype=float))
    v = perpendicular(u, rng)
    # step phase: linear between step times
    ph = np.interp(tt, steps, np.arange(steps.size), left=0.0, right=float(steps.size - 1))
    osc = np.sin(2 * np.pi * ph) + 0.35 * np.sin(4 * np.pi * ph + 0.7)
    osc *= step_g / 1.25
    inside = (tt >= 0) & (tt <= duration_s)
    out = np.where(inside, osc, 0.0)[:, None] * u + np.where(inside, 0.3 * osc, 0.0)[:, None] * v
    heel_amp = heel_g * rng.uniform(0.8, 1.0, steps.size)
    dur = 2.0 / heel_hz
    w = unit(u + 0.3 * v)

    def heel(dt: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (heel_amp[i] * burst_shape(dt, heel_hz, dur, 2.0))[:, None] * w

    return out + _train(tt, steps + 0.05 / cadence_hz, heel)


def _transient_times(rng: np.random.Generator, rate_hz: float, duration_s: float) -> np.ndarray:
    """Times of a train: 40 ms refractory plus an exponential, mean rate ``rate_hz``, random phase."""
    mean_iv = 1.0 / rate_hz
    n = int(max(duration_s, 0) * rate_hz * 1.5) + 10
    times = np.cumsum(0.04 + rng.exponential(mean_iv - 0.04, n)) - rng.uniform(0, mean_iv)
    return times[(times >= 0) & (times < duration_s)]


def transient_times(rate_hz: float, duration_s: float, freq_hz: float, seed: int) -> np.ndarray:
    """The transient times :func:`keystroke_train` uses for these arguments."""
    return _transient_times(np.random.default_rng(seed), rate_hz, duration_s - 1.5 / freq_hz)


def keystroke_train(t: np.ndarray, rate_hz: float = 5.0, peak_g: float = 0.04, freq_hz: float = 20.0,
                    duration_s: float = 30.0, seed: int = 0) -> np.ndarray:
    """Typing or fidgeting: a train of small transients at ``rate_hz`` (3-10 per second).

    Each transient is a 1.5-cycle burst at ``freq_hz`` (typing: 12-30 Hz, sharp;
    fidgeting: 3-10 Hz, smooth) with a random direction and a peak between
    30 % and 100 % of ``peak_g``; intervals are a 40 ms refractory time plus an
    exponential, so the mean rate is ``rate_hz``.
    """
    rng = np.random.default_rng(seed)
    dur = 1.5 / freq_hz
    times = _transient_times(rng, rate_hz, duration_s - dur)
    amps = peak_g * rng.uniform(0.3, 1.0, times.size)
    dirs = unit(rng.normal(size=(times.size, 3)))
    def key(dt: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (amps[i] * burst_shape(dt, freq_hz, dur, 1.5))[:, None] * dirs[i]

    out = _train(np.asarray(t, dtype=float), times, key)
    top = np.linalg.norm(out, axis=1).max() if out.size else 0.0
    return out * (peak_g / top) if top > peak_g else out


def brushing(t: np.ndarray, rate_hz: float = 4.5, peak_g: float = 0.06, duration_s: float = 90.0,
             direction=(1.0, 0.0, 0.0), seed: int = 0) -> np.ndarray:
    """Tooth-brushing or combing: back-and-forth strokes at ``rate_hz`` (3-10 per second).

    A stroke oscillation with a 2nd harmonic (the turn at each end), a 10 %
    wobble of stroke rate and amplitude, 1 s fade in and out; the largest
    sample is ``peak_g``.
    """
    rng = np.random.default_rng(seed)
    tt = np.asarray(t, dtype=float)
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    phase = 2 * np.pi * rate_hz * tt + 0.5 * np.sin(2 * np.pi * 0.3 * tt + p1)
    wave = np.sin(phase) + 0.3 * np.sin(2 * phase + p2)
    amp = 1 + 0.1 * np.sin(2 * np.pi * 0.17 * tt)
    fade = np.clip(tt, 0, 1.0) * np.clip(duration_s - tt, 0, 1.0)
    u = unit(np.asarray(direction, dtype=float))
    out = amp * fade * wave
    top = np.abs(out).max() if out.size else 0.0
    return (out * (peak_g / top if top > 0 else 0.0))[:, None] * u


# --------------------------------------------------------------------------- impacts


def knock(t: np.ndarray, peak_g: float = 2.0, duration_s: float = 0.008, freq_hz: float = 120.0,
          rate_hz: float = 100.0, direction=(0.0, 0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """A knock on the sensor as the sensor reports it: a spike with fast decaying ringing.

    Physically < 20 ms (``duration_s``: decay to 10 %) and broadband (ringing at
    100-300 Hz). A sensor sampling at ``rate_hz`` band-limits it to its Nyquist
    frequency, so the ringing is at ``min(freq_hz, rate_hz / 2)`` and the decay
    lasts at least about one sample. ``t = 0`` should fall on a sample (the
    session model places it there). Returns ``(acc, envelope)``.
    """
    f = min(freq_hz, rate_hz / 2.0)
    tau = max(duration_s / np.log(10.0), 0.45 / rate_hz)
    tt = np.asarray(t, dtype=float)
    env = np.where(tt >= -1e-9, np.exp(-np.clip(tt, 0, None) / tau), 0.0)
    acc = (peak_g * env * np.cos(2 * np.pi * f * np.clip(tt, 0, None)))[:, None] * unit(np.asarray(direction, dtype=float))
    return acc, env


def clapping(t: np.ndarray, count: int = 5, rate_hz: float = 3.0, peak_g: float = 3.0,
             rate_hz_sensor: float = 100.0, direction=(1.0, 0.0, 0.0), seed: int = 0,
             grid_phase_s: float = 0.0) -> np.ndarray:
    """A bout of ``count`` claps at ``rate_hz``: a smooth hand swing between impacts of ~``peak_g``.

    Each impact is a :func:`knock` on the sensor's sample grid (``grid_phase_s +
    k / rate_hz_sensor`` in the time base of ``t``), as the board reports it.
    """
    rng = np.random.default_rng(seed)
    tt = np.asarray(t, dtype=float)
    times = (np.arange(count) + rng.normal(0, 0.03, count)) / rate_hz + 0.5 / rate_hz
    times = grid_phase_s + np.ceil((times - grid_phase_s) * rate_hz_sensor - 1e-9) / rate_hz_sensor
    u = unit(np.asarray(direction, dtype=float))
    amps = peak_g * rng.uniform(0.7, 1.0, count)
    swing_end = times[-1] + 0.5 / rate_hz
    swing = np.where((tt >= 0) & (tt <= swing_end), 0.3 * np.sin(2 * np.pi * rate_hz * tt), 0.0)
    out = swing[:, None] * u

    def impact(dt: np.ndarray, i: np.ndarray) -> np.ndarray:
        acc, _ = knock(dt, 1.0, 0.006, 150.0, rate_hz_sensor, u)
        return acc * amps[i][:, None]

    # impacts land on the nearest sample at or after each clap time
    return out + _train(tt, times, lambda dt, i: impact(dt, i))


# --------------------------------------------------------------------------- background


def _periodic(phase: np.ndarray, shape, table_size: int = 4096) -> np.ndarray:
    """``shape(phase)`` for a 2 pi-periodic ``shape``, by table look-up (fast on a day of samples)."""
    grid = np.arange(table_size + 1) * (2 * np.pi / table_size)
    table = shape(grid)
    x = np.asarray(phase, dtype=float) * (table_size / (2 * np.pi))
    x %= table_size
    i = x.astype(np.int64)
    x -= i
    return table[i] * (1 - x) + table[i + 1] * x


def _breath_shape(p: np.ndarray) -> np.ndarray:
    return np.sin(p) + 0.2 * np.sin(2 * p + 1.0)


def _beat_shape(p: np.ndarray) -> np.ndarray:
    return np.sin(p) + 0.45 * np.sin(2 * p + 1.0) + 0.2 * np.sin(3 * p + 2.0)


def _periodic_wave(t: np.ndarray, freq_hz: float, peak_g: float, phase: float, shape) -> np.ndarray:
    w = _periodic(2 * np.pi * freq_hz * np.asarray(t, dtype=float) + phase, shape)
    w *= peak_g / np.abs(shape(np.linspace(0, 2 * np.pi, 4097))).max()
    return w


def breathing_wave(t: np.ndarray, freq_hz: float = 0.25, peak_g: float = 0.003, phase: float = 0.0) -> np.ndarray:
    """Breathing along one axis, ``(n,)``: 0.2-0.3 Hz, a few mg."""
    return _periodic_wave(t, freq_hz, peak_g, phase, _breath_shape)


def heartbeat_wave(t: np.ndarray, freq_hz: float = 1.2, peak_g: float = 0.002, phase: float = 0.0) -> np.ndarray:
    """Ballistocardiogram along one axis, ``(n,)``: a sharp beat every cycle (1-1.5 Hz), a few mg."""
    return _periodic_wave(t, freq_hz, peak_g, phase, _beat_shape)


def breathing(t: np.ndarray, freq_hz: float = 0.25, peak_g: float = 0.003, direction=(0.0, 0.0, 1.0),
              phase: float = 0.0) -> np.ndarray:
    """Breathing: 0.2-0.3 Hz, a few mg (larger on the chest)."""
    return breathing_wave(t, freq_hz, peak_g, phase)[:, None] * unit(np.asarray(direction, dtype=float))


def heartbeat(t: np.ndarray, freq_hz: float = 1.2, peak_g: float = 0.002, direction=(0.0, 1.0, 0.0),
              phase: float = 0.0) -> np.ndarray:
    """Ballistocardiogram: a sharp beat every cycle (1-1.5 Hz), a few mg; the fundamental dominates."""
    return heartbeat_wave(t, freq_hz, peak_g, phase)[:, None] * unit(np.asarray(direction, dtype=float))
