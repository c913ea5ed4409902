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
    # keystrokes: impacts at the skin (falling to 10 % in 5-30 ms) in bursts of 5-40 keys at 3-10 keys/s
    "typing": {"peak_g": (0.02, 0.2), "rate_hz": (3.0, 10.0), "decay_s": (0.005, 0.03),
               "keys": (5, 40), "pause_s": (0.3, 5.0), "spread_deg": (0.0, 30.0), "duration_s": (10.0, 120.0)},
    "fidget": {"peak_g": (0.01, 0.1), "rate_hz": (3.0, 10.0), "freq_hz": (3.0, 10.0), "duration_s": (5.0, 40.0)},
    "brushing": {"peak_g": (0.01, 0.1), "rate_hz": (3.0, 10.0), "duration_s": (60.0, 150.0)},
    # free-living hand activity (our own figures, see docs/simulator.md)
    "tapping": {"peak_g": (0.03, 0.3), "rate_hz": (2.0, 8.0), "jitter": (0.05, 0.15), "decay_s": (0.01, 0.04),
                "duration_s": (3.0, 30.0)},
    "fidget-spikes": {"peak_g": (0.05, 0.3), "interval_s": (0.5, 2.0), "decay_s": (0.01, 0.05),
                      "duration_s": (10.0, 120.0)},
    "mouse": {"peak_g": (0.01, 0.3), "move_s": (0.15, 0.6), "pause_s": (0.3, 1.5), "click_g": (0.01, 0.08),
              "duration_s": (10.0, 180.0)},
    "phone": {"peak_g": (0.005, 0.1), "tap_g": (0.01, 0.08), "tap_rate_hz": (0.3, 3.0), "swipe_g": (0.01, 0.08),
              "hold_tremor_g": (0.002, 0.01), "duration_s": (30.0, 300.0)},
    "eating": {"peak_g": (0.05, 0.5), "bite_interval_s": (8.0, 40.0), "lift_deg": (50.0, 110.0), "lift_s": (0.6, 1.5),
               "hold_s": (0.5, 3.0), "clink_g": (0.05, 0.3), "duration_s": (120.0, 900.0)},
    "gesturing": {"peak_g": (0.05, 0.5), "stroke_s": (0.3, 1.2), "pause_s": (0.0, 1.5), "angle_deg": (5.0, 30.0),
                  "duration_s": (10.0, 120.0)},
    "tremor": {"peak_g": (0.02, 0.3), "freq_hz": (3.0, 12.0), "duration_s": (20.0, 180.0)},
    "knock": {"peak_g": (0.5, 4.0), "freq_hz": (100.0, 300.0), "duration_s": (0.003, 0.015)},
    "clap": {"peak_g": (1.0, 6.0), "rate_hz": (2.0, 4.0), "count": (3, 10), "duration_s": (1.0, 5.0)},
    # impacts of the whole body, peak of the dynamic acceleration at the waist (other placements: PLACEMENTS)
    "jump": {"peak_g": (1.0, 3.0), "count": (1, 4), "push_g": (0.5, 1.2), "flight_s": (0.15, 0.35),
             "freq_hz": (8.0, 25.0), "impact_s": (0.06, 0.2), "duration_s": (0.7, 6.0)},
    "sit-hard": {"peak_g": (1.0, 3.0), "descent_s": (0.4, 0.8), "unload_g": (0.2, 0.5), "freq_hz": (5.0, 15.0),
                 "impact_s": (0.08, 0.25), "angle_deg": (10.0, 40.0), "duration_s": (1.0, 3.0)},
    # voluntary movement onset: a flick 0.5-2 s before most posture changes and gestures
    "flick": {"peak_g": (0.05, 0.3), "freq_hz": (4.0, 15.0), "duration_s": (0.04, 0.2), "cycles": (1.0, 1.5),
              "lead_s": (0.5, 2.0), "share": (0.7, 0.7)},
    # isolated small transients on a still limb (unlabelled background): impacts or single jolts
    "transient": {"peak_g": (0.03, 0.3), "per_still_hour": (10.0, 40.0), "impact_share": (0.6, 0.6),
                  "decay_s": (0.01, 0.06), "freq_hz": (4.0, 20.0),
                  "duration_s": (0.04, 0.15), "cycles": (1.0, 1.5)},
    # continuous background (not labelled)
    "breathing": {"peak_g": (0.001, 0.005), "freq_hz": (0.2, 0.3)},
    "heartbeat": {"peak_g": (0.001, 0.003), "freq_hz": (1.0, 1.5)},
}

#: Tremor types and their frequency bands (Hz).
TREMOR_BANDS = {"physiological": (8.0, 12.0), "essential": (4.0, 12.0), "parkinsonian": (3.0, 8.0)}

#: Look-alikes the session model labels (negatives), in gallery order.
LOOKALIKES = ("posture", "gesture", "walk", "run", "typing", "fidget", "brushing", "tremor", "knock", "clap",
              "tapping", "fidget-spikes", "mouse", "phone", "eating", "gesturing", "jump", "sit-hard")
#: The shape of a twitch varies within these ranges, so no single envelope or carrier marks a twitch:
#: envelope sharpness (rise against decay), carrier phase at the envelope's peak (rad), frequency
#: glide over the event (fraction of the carrier per duration), size and phase of the off-axis part.
SHAPE_RANGES = {"sharpness": (1.5, 4.0), "phase": (-np.pi / 4, np.pi / 4), "glide": (-0.25, 0.15),
                "ellipticity": (0.0, 0.4), "quadrature": (0.0, np.pi)}

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


# --------------------------------------------------------------------------- twitches


@dataclass(frozen=True)
class TwitchParams:
    """Physical parameters of one twitch (or of any burst-shaped transient: a flick, a jolt).

    ``peak_g``: peak of the acceleration norm; ``freq_hz``: dominant frequency;
    ``duration_s``: span of the envelope above 10 % of peak; ``cycles``: carrier
    cycles in that span (1-3 swings); ``direction``: main axis (unit vector, sensor
    frame); ``ellipticity``: size of a component on a perpendicular axis,
    ``quadrature`` rad out of phase (0 = straight-line jerk); ``sign``: +1/-1 first
    swing direction. The shape varies within :data:`SHAPE_RANGES`: ``sharpness``
    of the envelope (rise against decay), ``phase`` of the carrier at the
    envelope's peak and a frequency ``glide``. ``carrier_hz`` is the carrier that
    puts the spectral peak at ``freq_hz`` for this shape (0: worked out on use).
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
    sharpness: float = SHARPNESS
    phase: float = 0.0
    glide: float = 0.0
    quadrature: float = np.pi / 4
    carrier_hz: float = 0.0


def _glide_integral(tau: np.ndarray, duration_s: float) -> np.ndarray:
    """Integral of ``clip(tau / D, -1, 1)``: the instantaneous frequency is ``carrier (1 + glide clip(tau / D))``."""
    g = np.clip(tau / duration_s, -1.0, 1.0)
    return np.where(np.abs(tau) <= duration_s, 0.5 * duration_s * g * g, np.abs(tau) - 0.5 * duration_s)


def _burst_parts(tt: np.ndarray, carrier: float, duration_s: float, sharpness: float, phase: float,
                 glide: float, quadrature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Envelope and the on-axis and off-axis carriers of a burst (before scaling)."""
    env = envelope(tt, duration_s, sharpness)
    tau = tt - envelope_peak_time(duration_s, sharpness)
    ph = 2 * np.pi * carrier * (tau + glide * _glide_integral(tau, duration_s)) + phase
    return env, env * np.sin(ph), env * np.sin(ph + quadrature)


def dominant_ratio(cycles: float, sharpness: float = SHARPNESS, phase: float = 0.0, glide: float = 0.0,
                   ellipticity: float = 0.0, quadrature: float = np.pi / 4) -> float | None:
    """Spectral peak / carrier of a burst of this shape, or None when its peak is not near the carrier.

    The shape scales with the carrier (``duration = cycles / carrier``), so one
    evaluation at a 1 Hz carrier gives the ratio for every frequency.
    """
    if sharpness == SHARPNESS and phase == 0.0 and glide == 0.0:
        c, r = _frequency_shift_table()
        return float(np.interp(cycles, c, r))
    fs, nfft = 16.0, 1 << 11  # within 0.1 % of a 64-per-cycle, 2**17-point reference
    lo, hi = envelope_support(cycles, sharpness)
    tt = np.arange(lo, hi, 1.0 / fs)
    _, on, off = _burst_parts(tt, 1.0, cycles, sharpness, phase, glide, quadrature)
    power = np.abs(np.fft.rfft(on, nfft)) ** 2 + ellipticity ** 2 * np.abs(np.fft.rfft(off, nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    k = int(np.argmax(power[f <= 2.5]))
    if not 0.5 <= f[k] <= 2.0:
        return None
    a, b, c = power[k - 1], power[k], power[k + 1]  # parabolic refinement of the peak
    return float(f[k] + 0.5 * (a - c) / (a - 2 * b + c) * (f[1] - f[0]))


def burst(t: np.ndarray, peak_g: float, freq_hz: float, duration_s: float, cycles: float,
          direction: np.ndarray, ellipticity: float = 0.0,
          second_axis: np.ndarray | None = None, sign: float = 1.0,
          sharpness: float = SHARPNESS, phase: float = 0.0, glide: float = 0.0,
          quadrature: float = np.pi / 4, carrier_hz: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A damped transient: gamma envelope x carrier along ``direction``.

    Returns ``(acc (n, 3) in g, envelope (n,))``; the peak of the acceleration
    norm of the continuous waveform is ``peak_g``; ``t = 0`` is the 10 % onset.
    ``cycles`` fixes the carrier through ``duration_s * carrier = cycles`` after
    the correction that puts the spectral peak at ``freq_hz`` (unless
    ``carrier_hz`` is given).
    """
    carrier = carrier_hz
    if not carrier:
        ratio = dominant_ratio(cycles, sharpness, phase, glide, ellipticity, quadrature) if cycles else None
        carrier = freq_hz / ratio if ratio else freq_hz
    u = unit(np.asarray(direction, dtype=float))
    v = unit(np.asarray(second_axis, dtype=float)) if second_axis is not None else np.zeros(3)

    def shape(tt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        env, on, off = _burst_parts(tt, carrier, duration_s, sharpness, phase, glide, quadrature)
        return sign * on[:, None] * u + ellipticity * off[:, None] * v, env

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
    """Waveform of any twitch class (or flick, or jolt) from its :class:`TwitchParams`: ``(acc, envelope)``.

    With ``rate_hz`` the amplitude is scaled by the sensor's anti-alias filter
    (:func:`band_limit_gain`), so a sensor too slow for a class barely sees it.
    """
    acc, env = burst(t, p.peak_g, p.freq_hz, p.duration_s, p.cycles, np.array(p.direction), p.ellipticity,
                     np.array(p.second_axis), p.sign, p.sharpness, p.phase, p.glide, p.quadrature, p.carrier_hz)
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


def draw_burst(kind: str, r: dict, rng: np.random.Generator, direction: np.ndarray,
               sign: float | None = None) -> TwitchParams:
    """Draw a burst-shaped transient within the ranges ``r`` (``peak_g``, ``freq_hz``, ``duration_s``,
    ``cycles``) and with a shape drawn from :data:`SHAPE_RANGES`.

    Peaks are log-uniform (small events are more common than large ones). The
    carrier is set so that the spectral peak is the drawn frequency and the
    envelope's 10 % span the drawn duration, whatever the shape.
    """
    peak = float(np.exp(rng.uniform(*np.log(r["peak_g"]))))
    freq = float(rng.uniform(*r["freq_hz"]))
    c_lo, c_hi = _feasible_cycles(r, freq)
    cycles = float(rng.uniform(c_lo, c_hi))
    second = perpendicular(unit(direction), rng)
    sgn = float(rng.choice([-1.0, 1.0])) if sign is None else float(sign)
    shape = {k: float(rng.uniform(*SHAPE_RANGES[k])) for k in ("sharpness", "phase", "glide", "ellipticity",
                                                               "quadrature")}
    shape["sharpness"] = round(shape["sharpness"] * 20) / 20  # steps of 0.05: the envelope's roots are cached
    ratio = dominant_ratio(cycles, **shape)
    if ratio is None:  # a phase that moves the spectral peak off the carrier: the plain sine phase
        shape["phase"] = 0.0
        ratio = dominant_ratio(cycles, **shape) or 1.0
    d_lo, d_hi = r["duration_s"]
    duration = cycles * ratio / freq
    if not d_lo <= duration <= d_hi:  # keep the documented duration: fewer or more cycles
        cycles = float(np.clip(duration, d_lo, d_hi)) * freq / ratio
        ratio = dominant_ratio(cycles, **shape) or ratio
    carrier = freq / ratio
    duration = float(np.clip(cycles / carrier, d_lo, d_hi))
    return TwitchParams(kind=kind, peak_g=peak, freq_hz=freq, duration_s=duration, cycles=cycles,
                        direction=tuple(unit(direction)), second_axis=tuple(second), sign=sgn,
                        carrier_hz=carrier, **shape)


def draw_twitch(kind: str, rng: np.random.Generator, up: np.ndarray | None = None) -> TwitchParams:
    """Draw the parameters of a twitch of ``kind`` within its documented ranges.

    The direction is isotropic, or for hypnic jerks within 45 degrees of ``up``
    (a whole-limb jerk against gravity) when ``up`` is given.
    """
    if kind not in TWITCH_KINDS:
        raise ValueError(f"unknown twitch kind {kind!r}; expected one of {', '.join(TWITCH_KINDS)}")
    if kind == "hypnic" and up is not None:
        direction = direction_at_angle(np.asarray(up), float(rng.uniform(0, 45)), rng)
    else:
        direction = random_direction(rng)
    return draw_burst(kind, RANGES[kind], rng, direction)


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
    """The transient times :func:`fidget_train` uses for these arguments."""
    return _transient_times(np.random.default_rng(seed), rate_hz, duration_s - 1.5 / freq_hz)


def fidget_train(t: np.ndarray, rate_hz: float = 5.0, peak_g: float = 0.04, freq_hz: float = 6.0,
                 duration_s: float = 30.0, seed: int = 0) -> np.ndarray:
    """Fidgeting: a train of small smooth transients at ``rate_hz`` (3-10 per second).

    Each transient is a 1.5-cycle burst at ``freq_hz`` (3-10 Hz) with a random direction and a peak between
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


@lru_cache(maxsize=512)
def _impact_table(decay_s: float, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """An impact of peak 1 at the skin as a sensor sampling at ``rate_hz`` reports it, on a fine grid.

    At the skin: a jolt ``x exp(1 - x)`` (``x = t / tau``: a sharp rise, an
    exponential fall; broadband up to about ``1 / (2 pi tau)``, 30-300 Hz),
    falling to 10 % ``decay_s`` after its start. The sensor's anti-alias
    filter (a causal 4th-order Butterworth at 0.45 x the rate) keeps its area
    (the change of velocity) but not its height at low rates: a 10 ms jolt
    keeps about half its peak at 100 Hz and a fifth at 30 Hz.
    """
    from scipy.signal import butter, sosfilt

    tau = decay_s / _gamma_crossings(1.0, 0.1)[1]
    fs = 20.0 * max(1.0 / tau, rate_hz)
    tt = np.arange(0.0, 3.0 * decay_s + 8.0 / (0.45 * rate_hz), 1.0 / fs)
    x = tt / tau * np.exp(1.0 - tt / tau)
    return tt, sosfilt(butter(4, 0.45 * rate_hz, fs=fs, output="sos"), x)


def impact_support(decay_s: float, rate_hz: float) -> float:
    """How long (s) the sensor's view of an impact lasts: its fall and the filter's ringing."""
    return float(_impact_table(float(decay_s), float(rate_hz))[0][-1])


def impact_shape(dt: np.ndarray, decay_s: float, rate_hz: float) -> np.ndarray:
    """The sensor's view of an impact (peak 1 at the skin) ``dt`` s after its start (0 before)."""
    tt, y = _impact_table(float(decay_s), float(rate_hz))
    return np.interp(dt, tt, y, left=0.0, right=0.0)


def _sum_events(t: np.ndarray, times: np.ndarray, support_s: float, kernel) -> np.ndarray:
    """Sum of ``kernel(dt, i)`` over every event ``i`` with ``0 <= t - times[i] < support_s``."""
    tt = np.asarray(t, dtype=float)
    out = np.zeros((tt.size, 3))
    if times.size == 0 or tt.size == 0:
        return out
    last = np.searchsorted(times, tt, side="right") - 1
    depth = int(np.max(np.searchsorted(times, times + support_s) - np.arange(times.size)))
    for back in range(depth):
        i = last - back
        ok = i >= 0
        ok[ok] = tt[ok] - times[i[ok]] < support_s
        if ok.any():
            out[ok] += kernel(tt[ok] - times[i[ok]], i[ok])
    return out


def impact_train(t: np.ndarray, times: np.ndarray, amps: np.ndarray, dirs: np.ndarray, decay_s: float,
                 rate_hz: float) -> np.ndarray:
    """Impacts at ``times`` (peak ``amps`` at the skin, along unit ``dirs``) as the sensor reports them."""
    support = impact_support(decay_s, rate_hz)

    def kernel(dt: np.ndarray, i: np.ndarray) -> np.ndarray:
        return (amps[i] * impact_shape(dt, decay_s, rate_hz))[:, None] * dirs[i]

    return _sum_events(t, np.asarray(times, dtype=float), support, kernel)


def _train_amplitudes(peak_g: float, low: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` impact amplitudes, ``low``-100 % of ``peak_g``; the strongest is ``peak_g`` itself."""
    amps = peak_g * rng.uniform(low, 1.0, n)
    if n:
        amps[int(np.argmax(amps))] = peak_g
    return amps


def _perpendiculars(axis: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random unit vectors perpendicular to unit ``axis`` (vectorised :func:`perpendicular`)."""
    w = rng.normal(size=(n, 3))
    w -= (w @ axis)[:, None] * axis
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def _directions_near(axis: np.ndarray, spread_deg: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit vectors within ``spread_deg`` of unit ``axis`` (uniform angle, random azimuth)."""
    angle = np.radians(rng.uniform(0, spread_deg, n))[:, None]
    return np.cos(angle) * axis + np.sin(angle) * _perpendiculars(axis, n, rng)


def typing_bursts(rng: np.random.Generator, rate_hz: float, duration_s: float,
                  keys: tuple[int, int] = (5, 40), pause_s: tuple[float, float] = (0.3, 5.0)) -> list[np.ndarray]:
    """Key times in bursts: ``keys`` keystrokes at ``rate_hz`` (log-normal intervals of mean ``1 / rate_hz``,
    CV 0.35, at least 40 ms), then a pause of ``pause_s`` (0.3 s plus an exponential of mean 1 s, at most 5 s)."""
    out, t = [], float(rng.uniform(0, 1.0 / rate_hz))
    sigma = 0.35
    while t < duration_s:
        n = int(rng.integers(keys[0], keys[1] + 1))
        iki = rng.lognormal(np.log(1.0 / rate_hz) - sigma ** 2 / 2, sigma, n - 1)
        burst_t = t + np.concatenate([[0.0], np.cumsum(np.maximum(iki, 0.04))])
        out.append(burst_t[burst_t < duration_s])
        t = float(burst_t[-1]) + float(np.clip(pause_s[0] + rng.exponential(1.0), *pause_s))
    return [b for b in out if b.size]


def typing_times(rng: np.random.Generator, rate_hz: float, duration_s: float) -> np.ndarray:
    """The key times of :func:`typing_bursts`, in one array."""
    bursts = typing_bursts(rng, rate_hz, duration_s)
    return np.concatenate(bursts) if bursts else np.zeros(0)


def keystrokes(t: np.ndarray, rate_hz: float = 5.0, peak_g: float = 0.08, decay_s: float = 0.01,
               duration_s: float = 30.0, normal=(0.0, 0.0, 1.0), spread_deg: float = 20.0,
               rate_sensor: float = 100.0, seed: int = 0) -> np.ndarray:
    """Typing: sharp broadband impacts in rhythmic bursts, the hand's posture held.

    Bursts of 5-40 keys at ``rate_hz`` (3-10 keys/s) with pauses of 0.3-5 s;
    each key strike reaches the wrist as an impact (:func:`impact_shape`,
    falling to 10 % in ``decay_s``, 5-30 ms) of 30-100 % of ``peak_g`` at the
    skin along the hand's ``normal`` (into the desk), within ``spread_deg``.
    The largest sample is at most ``peak_g``.
    """
    rng = np.random.default_rng(seed)
    times = typing_times(rng, rate_hz, duration_s - 0.05)
    amps = _train_amplitudes(peak_g, 0.3, times.size, rng)
    dirs = -_directions_near(unit(np.asarray(normal, dtype=float)), spread_deg, times.size, rng)
    return _at_most(impact_train(t, times, amps, dirs, decay_s, rate_sensor), peak_g)


def _at_most(acc: np.ndarray, peak_g: float) -> np.ndarray:
    """``acc`` scaled down so its largest norm is at most ``peak_g`` (impacts close together add up, and
    the sensor's filter overshoots a little)."""
    top = np.linalg.norm(acc, axis=1).max() if acc.size else 0.0
    return acc * (peak_g / top) if top > peak_g else acc


def tapping(t: np.ndarray, rate_hz: float = 4.0, peak_g: float = 0.1, jitter: float = 0.1, decay_s: float = 0.02,
            duration_s: float = 10.0, axis=(0.0, 0.0, 1.0), rate_sensor: float = 100.0, seed: int = 0) -> np.ndarray:
    """Finger or pen taps, drumming: a regular train of impacts at ``rate_hz`` (2-8/s, intervals
    varying by ``jitter``, 5-15 %), 50-100 % of ``peak_g``, within 10 degrees of one ``axis``."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * rate_hz) + 2
    iv = np.maximum(rng.normal(1.0, jitter, n), 0.5) / rate_hz
    times = np.cumsum(iv) - iv[0] + float(rng.uniform(0, 0.5 / rate_hz))
    times = times[times < duration_s - 0.05]
    amps = _train_amplitudes(peak_g, 0.5, times.size, rng)
    dirs = _directions_near(unit(np.asarray(axis, dtype=float)), 10.0, times.size, rng)
    return _at_most(impact_train(t, times, amps, dirs, decay_s, rate_sensor), peak_g)


def fidget_spikes(t: np.ndarray, peak_g: float = 0.1, decay_s: float = 0.03, duration_s: float = 30.0,
                  axis=(1.0, 0.0, 0.0), rate_sensor: float = 100.0, seed: int = 0) -> np.ndarray:
    """Fidget spike trains: sharp spikes 0.5-2 s apart (uniform), either sign, within 15 degrees of
    one ``axis``, 50-100 % of ``peak_g``: at 30-50 Hz each is one or two samples wide."""
    rng = np.random.default_rng(seed)
    lo, hi = RANGES["fidget-spikes"]["interval_s"]
    n = int(duration_s / lo) + 2
    times = np.cumsum(rng.uniform(lo, hi, n)) - lo * float(rng.uniform(0, 1))
    times = times[(times >= 0) & (times < duration_s - 0.05)]
    amps = _train_amplitudes(peak_g, 0.5, times.size, rng)
    dirs = _directions_near(unit(np.asarray(axis, dtype=float)), 15.0, times.size, rng)
    dirs *= rng.choice([-1.0, 1.0], times.size)[:, None]
    return _at_most(impact_train(t, times, amps, dirs, decay_s, rate_sensor), peak_g)


def _moves(t: np.ndarray, starts: np.ndarray, durations: np.ndarray, peaks: np.ndarray,
           dirs: np.ndarray) -> np.ndarray:
    """Minimum-jerk translations (:func:`posture_change`), each evaluated on its own samples only."""
    tt = np.asarray(t, dtype=float)
    out = np.zeros((tt.size, 3))
    a = np.searchsorted(tt, starts)
    b = np.searchsorted(tt, starts + durations, side="right")
    for k in range(starts.size):
        if b[k] > a[k]:
            out[a[k]:b[k]] += posture_change(tt[a[k]:b[k]] - starts[k], durations[k], peaks[k], dirs[k])
    return out


def mouse(t: np.ndarray, peak_g: float = 0.1, duration_s: float = 60.0, normal=(0.0, 0.0, 1.0),
          rate_sensor: float = 100.0, seed: int = 0) -> np.ndarray:
    """Mouse use, the palm on the mouse: quick planar moves and button clicks, posture held.

    Moves of 0.15-0.6 s (minimum jerk, peak log-uniform 0.01 g to ``peak_g``, in the
    plane of the desk, i.e. perpendicular to ``normal``) with pauses of
    0.3-1.5 s; after half the moves a click (a fifth of them double, 0.1-0.2 s
    apart): an impact of 10-80 mg at the skin into the desk, 5-20 ms.
    """
    rng = np.random.default_rng(seed)
    r = RANGES["mouse"]
    nrm = unit(np.asarray(normal, dtype=float))
    starts, durs, t0 = [], [], float(rng.uniform(0, 0.5))
    while t0 < duration_s - 0.7:
        d = float(rng.uniform(*r["move_s"]))
        starts.append(t0)
        durs.append(d)
        t0 += d + float(rng.uniform(*r["pause_s"]))
    starts_a, durs_a = np.array(starts), np.array(durs)
    peaks = np.exp(rng.uniform(np.log(r["peak_g"][0]), np.log(max(peak_g, r["peak_g"][0] * 1.01)), starts_a.size))
    dirs = _perpendiculars(nrm, starts_a.size, rng)
    out = _moves(t, starts_a, durs_a, peaks, dirs)
    clicks = []
    for s, d in zip(starts_a, durs_a):
        if rng.uniform() < 0.5:
            c = s + d + float(rng.uniform(0.05, 0.3))
            clicks.append(c)
            if rng.uniform() < 0.2:
                clicks.append(c + float(rng.uniform(0.1, 0.2)))
    ct = np.array([c for c in clicks if c < duration_s - 0.05])
    amps = np.exp(rng.uniform(*np.log(r["click_g"]), ct.size))
    cdirs = -_directions_near(nrm, 15.0, ct.size, rng)
    return out + impact_train(t, ct, amps, cdirs, float(rng.uniform(0.005, 0.02)), rate_sensor)


def phone(t: np.ndarray, tap_rate_hz: float = 1.0, tap_g: float = 0.02, swipe_g: float = 0.04,
          tremor_g: float = 0.005, duration_s: float = 60.0, normal=(0.0, 0.0, 1.0), rate_sensor: float = 100.0,
          seed: int = 0) -> np.ndarray:
    """Holding and using a phone: the hand's physiological tremor (8-12 Hz, 2-10 mg), taps on the screen
    (impacts of 10-80 mg at the skin, 5-20 ms, along the screen's ``normal`` at ``tap_rate_hz``, 0.3-3/s,
    Poisson with a 0.15 s refractory time) and swipes (0.2-0.5 s minimum-jerk moves of 10-80 mg in the
    screen's plane, 0.1-0.5/s)."""
    rng = np.random.default_rng(seed)
    nrm = unit(np.asarray(normal, dtype=float))
    out = tremor(t, float(rng.uniform(8.0, 12.0)), tremor_g, duration_s, perpendicular(nrm, rng),
                 int(rng.integers(2 ** 31)))
    iv = 0.15 + rng.exponential(max(1.0 / tap_rate_hz - 0.15, 0.05), int(duration_s * tap_rate_hz * 1.5) + 5)
    taps = np.cumsum(iv)
    taps = taps[taps < duration_s - 0.05]
    amps = tap_g * rng.uniform(0.3, 1.0, taps.size)
    out += impact_train(t, taps, amps, -_directions_near(nrm, 15.0, taps.size, rng),
                        float(rng.uniform(0.005, 0.02)), rate_sensor)
    sw_rate = float(rng.uniform(0.1, 0.5))
    sw = np.cumsum(rng.exponential(1.0 / sw_rate, int(duration_s * sw_rate * 1.5) + 3))
    durs = rng.uniform(0.2, 0.5, sw.size)
    keep = sw + durs < duration_s
    sw, durs = sw[keep], durs[keep]
    peaks = swipe_g * rng.uniform(0.25, 1.0, sw.size)
    dirs = _perpendiculars(nrm, sw.size, rng)
    return out + _moves(t, sw, durs, peaks, dirs)


def bite(t: np.ndarray, manipulate_s: float, lift_s: float, hold_s: float, lower_s: float, peak_g: float,
         direction, clink_times: np.ndarray, clink_g: np.ndarray, clink_dirs: np.ndarray,
         rate_sensor: float = 100.0) -> np.ndarray:
    """One bite of a meal (the forearm's rotation to the mouth and back is the session's): cutlery clinks
    on the plate while ``manipulate_s``, then the lift to the mouth (``lift_s``), a hold (``hold_s``)
    and the return (``lower_s``), minimum-jerk translations of ``peak_g`` along ``direction`` and back."""
    tt = np.asarray(t, dtype=float)
    u = unit(np.asarray(direction, dtype=float))
    out = posture_change(tt - manipulate_s, lift_s, peak_g, u)
    out -= posture_change(tt - manipulate_s - lift_s - hold_s, lower_s, peak_g, u)
    return out + impact_train(tt, clink_times, clink_g, clink_dirs, 0.01, rate_sensor)


def jump(t: np.ndarray, starts, push_g: float, push_s: float, flight_s: float, impact_g: float, freq_hz: float,
         impact_s: float, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Jumps starting at ``starts``: a push-off (a half sine of ``push_g`` over ``push_s``), flight (the
    sensor reads about 0 g: free fall, 30 ms edges) and a landing as the flight ends (a damped cos-phase
    burst of ``impact_g`` at ``freq_hz`` whose envelope lasts ``impact_s`` above 10 %, along ``up``).
    ``starts`` must leave each landing time to ring out (:func:`jump_spacing`)."""
    tt = np.asarray(t, dtype=float)
    u = unit(np.asarray(up, dtype=float))
    a = np.zeros(tt.size)
    for s in np.atleast_1d(starts):
        x = tt - s
        a += np.where((x >= 0) & (x <= push_s), push_g * np.sin(np.pi * np.clip(x / push_s, 0, 1)), 0.0)
        f0, f1 = push_s, push_s + flight_s
        a -= np.clip((x - f0) / 0.03, 0, 1) * np.clip((f1 - x) / 0.03, 0, 1)
        a += burst(x - f1, impact_g, freq_hz, impact_s, 1.0, np.array([1.0, 0, 0]), phase=np.pi / 2,
                   carrier_hz=freq_hz)[0][:, 0]
    return a[:, None] * u


def jump_spacing(push_s: float, flight_s: float, impact_s: float) -> float:
    """The shortest time from one jump's start to the next: push, flight and the landing's ringing."""
    return push_s + flight_s + envelope_support(impact_s)[1] + 0.1


def sit_hard(t: np.ndarray, descent_s: float, unload_g: float, impact_g: float, freq_hz: float, impact_s: float,
             up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Sitting down hard: the descent (the sensor reads less than 1 g: ``unload_g`` as a half sine over
    ``descent_s``) ends in the seat's impact (a damped cos-phase burst of ``impact_g`` at ``freq_hz``)
    along ``up``; the trunk's lean that follows is the session's rotation."""
    tt = np.asarray(t, dtype=float)
    a = -np.where((tt >= 0) & (tt <= descent_s), unload_g * np.sin(np.pi * np.clip(tt / descent_s, 0, 1)), 0.0)
    a += burst(tt - descent_s + 0.3 * impact_s, impact_g, freq_hz, impact_s, 1.0, np.array([1.0, 0, 0]),
               phase=np.pi / 2, carrier_hz=freq_hz)[0][:, 0]
    return a[:, None] * unit(np.asarray(up, dtype=float))


# --------------------------------------------------------------------------- knocks and claps


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
