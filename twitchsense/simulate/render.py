"""Rendering: a session plan onto the board's sample grid, and one event on its own.

:func:`render_session` adds up the gravity track (posture rotations, arm swing,
slow wander), every event's dynamic waveform and the background (fidget motion,
breathing, heartbeat), then applies the sensor model; the labels come from the
rendered waveforms (:mod:`.labels`). :func:`simulate_session` plans and renders
in one call; :func:`example_event` renders one event exactly as in a session.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TwitchsenseError
from ..io.recording import Recording
from . import waveforms as W
from .labels import RenderedEvent, label_peak, label_table, twitch_shaped_spans
from .plan import (PlannedEvent, Rotation, SessionPlan, bout_params, bout_parts, n_samples, plan_session,
                   point_event, rng_for)
from .profiles import BOUT_ACTIVITIES, EVENT_CLASSES, PLACEMENTS, POINT_LOOKALIKES, PROFILES, TWITCH_KINDS, Profile
from .sensor import SensorModel, apply_sensor, draw_faults, draw_lost_frames, recorded_times, true_times


def _window(tt: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    return int(np.searchsorted(tt, lo, side="left")), int(np.searchsorted(tt, hi, side="right"))


def _burst_event(e: PlannedEvent, tt: np.ndarray, rate_hz: float) -> RenderedEvent | None:
    """A burst-shaped transient (a twitch, a jolt) whose 10 % onset is ``e.start``; the span is its 10 % span."""
    p: W.TwitchParams = e.params["twitch"]
    lo, hi = W.envelope_support(p.duration_s, p.sharpness)
    i0, i1 = _window(tt, e.start + lo, e.start + hi)
    if i1 <= i0:
        return None
    acc, env = W.twitch(tt[i0:i1] - e.start, p, rate_hz)
    on = np.flatnonzero(env >= 0.1)
    if on.size == 0:  # shorter than a sample: the sample nearest the peak carries it
        on = np.array([int(np.argmax(env))])
    return RenderedEvent(e, i0, acc, env, (i0 + int(on[0]), i0 + int(on[-1])))


def render_event(e: PlannedEvent, tt: np.ndarray, rate_hz: float) -> RenderedEvent | None:
    """Sample one planned event's waveform on the true-time grid ``tt`` (increasing)."""
    pr = e.params
    if "twitch" in pr:  # twitches and single jolts
        return _burst_event(e, tt, rate_hz)
    if e.label == "knock":
        k = int(np.searchsorted(tt, e.start))
        if k >= tt.size:
            return None
        i1 = min(tt.size, k + max(3, int(np.ceil(0.03 * rate_hz))))
        acc, env = W.knock(tt[k:i1] - tt[k], pr["peak_g"], e.duration, pr["freq_hz"], rate_hz, pr["direction"])
        on = np.flatnonzero(env >= 0.1)
        return RenderedEvent(e, k, acc, env, (k + int(on[0]), k + int(on[-1])))
    if e.label == "transient":  # a small impact, as the sensor reports it
        i0, i1 = _window(tt, e.start, e.start + W.impact_support(pr["decay_s"], rate_hz))
        if i1 <= i0:
            return None
        acc = W.impact_train(tt[i0:i1] - e.start, np.zeros(1), np.array([pr["peak_g"]]),
                             np.array([pr["direction"]]), pr["decay_s"], rate_hz)
        return RenderedEvent(e, i0, acc, None, (i0, i1 - 1))
    i0, i1 = _window(tt, e.start, e.start + e.duration)
    if i1 <= i0:
        return None
    rel = tt[i0:i1] - e.start
    up = np.asarray(pr.get("up", (0.0, 0.0, 1.0)), dtype=float)
    if e.label in ("posture", "gesture"):
        lead = pr.get("lead_s", 0.0)
        move = W.posture_change if e.label == "posture" else W.gesture
        acc = move(rel - lead, e.duration - lead, pr["peak_g"], pr["direction"])
        if "flick" in pr:  # the onset flick: its envelope starts with the event
            f: W.TwitchParams = pr["flick"]
            acc += W.twitch(rel + W.envelope_support(f.duration_s, f.sharpness)[0], f, rate_hz)[0]
    elif e.label in ("micro", "stroke"):
        acc = W.gesture(rel, e.duration, pr["peak_g"], pr["direction"])
    elif e.label in ("walk", "run"):
        acc = W.walking(rel, pr["cadence_hz"], pr["step_g"], pr["heel_g"], pr["heel_hz"], e.duration,
                        _walk_direction(pr), pr["seed"])
    elif e.label == "typing":
        acc = W.keystrokes(rel, pr["rate_hz"], pr["peak_g"], pr["decay_s"], e.duration, up, pr["spread_deg"], rate_hz,
                           pr["seed"])
    elif e.label == "fidget":
        acc = W.fidget_train(rel, pr["rate_hz"], pr["peak_g"], pr["freq_hz"], e.duration, pr["seed"])
    elif e.label == "tapping":
        axis = W.direction_at_angle(up, 20.0, np.random.default_rng(pr["seed"]))
        acc = W.tapping(rel, pr["rate_hz"], pr["peak_g"], pr["jitter"], pr["decay_s"], e.duration, axis, rate_hz,
                        pr["seed"])
    elif e.label == "fidget-spikes":
        acc = W.fidget_spikes(rel, pr["peak_g"], pr["decay_s"], e.duration, pr["axis"], rate_hz, pr["seed"])
    elif e.label == "mouse":
        acc = W.mouse(rel, pr["peak_g"], e.duration, up, rate_hz, pr["seed"])
    elif e.label == "phone":
        acc = W.phone(rel, pr["tap_rate_hz"], pr["tap_g"], pr["swipe_g"], pr["tremor_g"], e.duration, up, rate_hz,
                      pr["seed"])
    elif e.label in ("eating", "gesturing"):  # their bites and strokes are events of their own
        acc = np.zeros((rel.size, 3))
    elif e.label == "bite":
        acc = W.bite(rel, pr["manipulate_s"], pr["lift_s"], pr["hold_s"], pr["lower_s"], pr["peak_g"],
                     pr["direction"], np.array(pr["clink_times"]), np.array(pr["clink_g"]),
                     np.array(pr["clink_dirs"]).reshape(-1, 3), rate_hz)
    elif e.label == "jump":
        acc = W.jump(rel, pr["starts"], pr["push_g"], pr["push_s"], pr["flight_s"], pr["impact_g"], pr["freq_hz"],
                     pr["impact_s"], up)
    elif e.label == "sit-hard":
        acc = W.sit_hard(rel, pr["descent_s"], pr["unload_g"], pr["impact_g"], pr["freq_hz"], pr["impact_s"], up)
    elif e.label == "brushing":
        acc = W.brushing(rel, pr["rate_hz"], pr["peak_g"], e.duration, W.perpendicular(up,
                         np.random.default_rng(pr["seed"])), pr["seed"])
    elif e.label == "tremor":
        acc = W.tremor(rel, pr["freq_hz"], pr["peak_g"], e.duration,
                       W.perpendicular(up, np.random.default_rng(pr["seed"])), pr["seed"])
    elif e.label == "clap":
        acc = W.clapping(rel, pr["count"], pr["rate_hz"], pr["peak_g"], rate_hz, pr["direction"], pr["seed"],
                         grid_phase_s=float(rel[0]))
    else:
        raise ValueError(f"no renderer for {e.label!r}")
    return RenderedEvent(e, i0, acc, None, (i0, i1 - 1))


def _part_peaks(rendered: list[RenderedEvent]) -> None:
    """An eating or gesturing label's ``peak_g``: the largest of its bites' or strokes' (they carry the signal)."""
    parts = [(r.event.start, r.peak_g) for r in rendered if r.event.label in ("bite", "stroke")]
    if not parts:
        return
    starts = np.array([a for a, _ in parts])
    peaks = np.array([b for _, b in parts])
    for r in rendered:
        if r.event.label in ("eating", "gesturing"):
            inside = (starts >= r.event.start) & (starts < r.event.start + r.event.duration)
            r.peak_g = float(peaks[inside].max()) if inside.any() else 0.0


def _walk_direction(pr: dict) -> np.ndarray:
    return np.asarray(pr["up"], dtype=float)  # vertical bounce runs along gravity


def gravity_track(tt: np.ndarray, up0: np.ndarray, rotations: list[Rotation]) -> np.ndarray:
    """Unit gravity-reaction direction per sample from the planned rotations."""
    n = tt.size
    up = np.empty((n, 3))
    current = W.unit(up0)
    pos = 0
    for r in sorted(rotations, key=lambda r: r.start):
        a, b = _window(tt, r.start, r.start + r.duration)
        a = max(a, pos)
        up[pos:a] = current
        if b > a:
            frac = W.minimum_jerk((tt[a:b] - r.start) / r.duration)
            up[a:b] = W.rotate_towards(current, np.asarray(r.up_to), frac)
        current = W.unit(np.asarray(r.up_to))
        pos = max(pos, b)
    up[pos:] = current
    return up


def _lowpass_noise(n: int, rate_hz: float, cutoff_hz: float, rng: np.random.Generator, dims: int = 3,
                   band: tuple[float, float] | None = None) -> np.ndarray:
    """Unit-RMS filtered Gaussian noise (Butterworth, order 2), vectorised with sosfilt."""
    from scipy.signal import butter, sosfilt

    x = rng.normal(size=(n, dims))
    nyq = rate_hz / 2
    if band is not None:
        sos = butter(2, [band[0] / nyq, min(band[1], 0.45 * rate_hz) / nyq], btype="band", output="sos")
    else:
        sos = butter(2, cutoff_hz / nyq, output="sos")
    y = sosfilt(sos, x, axis=0)
    rms = np.sqrt(np.mean(y ** 2)) if n else 1.0
    return y / (rms if rms > 0 else 1.0)


def _slow_noise(n: int, tt: np.ndarray, corr_s: float, rng: np.random.Generator, dims: int = 1) -> np.ndarray:
    """Smooth unit-RMS noise with correlation time ~``corr_s`` (cubic-free: linear interpolation of knots)."""
    if n == 0:
        return np.zeros((0, dims))
    span = tt[-1] - tt[0] if n > 1 else 1.0
    k = max(2, int(span / corr_s) + 2)
    kt = np.linspace(tt[0], tt[0] + span + 1e-9, k)
    kv = rng.normal(size=(k, dims))
    out = np.empty((n, dims))
    for d in range(dims):
        out[:, d] = np.interp(tt, kt, kv[:, d])
    return out


@dataclass
class SessionTrace:
    """The rendered parts of a session, for tests and pictures (true time, before the sensor)."""

    t_true: np.ndarray
    gravity: np.ndarray
    events: list[RenderedEvent]
    keep: np.ndarray


def render_session(plan: SessionPlan, keep_trace: bool = False) -> tuple[Recording, SessionTrace | None]:
    """Render a plan to a labelled :class:`Recording` (and optionally the parts that made it).

    Memory: about five (n, 3) float64 arrays at the peak (a day at 100 Hz: ~1 GB);
    work is in place, axis by axis, where it can be.
    """
    rate = plan.rate_hz
    n = n_samples(plan.minutes, rate)
    tt = true_times(n, rate, plan.sensor.clock_ppm)
    up = gravity_track(tt, plan.up0, plan.rotations)
    bg = plan.background
    brng = rng_for(plan.seed, "background-signal")
    # slow orientation wander (a few degrees), then arm/leg swing while walking
    wander = _slow_noise(n, tt, 20.0, brng, 3)
    wander *= np.radians(bg["wander_deg"])
    along = np.einsum("ij,ij->i", wander, up)
    for k in range(3):
        wander[:, k] -= along * up[:, k]
    up += wander
    del wander, along
    for e in plan.events:
        if e.label in ("walk", "run"):
            a, b = _window(tt, e.start, e.start + e.duration)
            pr = e.params
            swing = np.radians(pr["swing_deg"] * PLACEMENTS[plan.placement]["swing"])
            ramp = np.clip((tt[a:b] - e.start), 0, 1) * np.clip(e.start + e.duration - tt[a:b], 0, 1)
            ang = swing * ramp * np.sin(np.pi * pr["cadence_hz"] * (tt[a:b] - e.start))
            axis = W.perpendicular(np.asarray(pr["up"]), np.random.default_rng(pr["seed"] + 1))
            up[a:b] = W.rotate_about(up[a:b], axis, ang) if b > a else up[a:b]
    norm = np.sqrt(np.einsum("ij,ij->i", up, up))
    for k in range(3):
        up[:, k] /= norm
    del norm
    acc = up.copy() if keep_trace else up  # the trace keeps gravity on its own
    # background: fidget motion with a slowly varying level, breathing, heartbeat. All of it
    # lives below 6 Hz: made at 50 Hz (or the session rate if lower), then interpolated.
    low_rate = min(rate, 50.0)
    if low_rate < rate:
        n_low = int(np.ceil(n * low_rate / rate)) + 2
        t_low = np.arange(n_low) * (tt[1] - tt[0] if n > 1 else 1.0 / rate) * (rate / low_rate)
    else:
        n_low, t_low = n, tt
    level = _slow_noise(n_low, t_low, 30.0, brng, 1)[:, 0]
    level = np.exp(0.6 * level - 0.18) * (bg["fidget_g"] / np.sqrt(3))
    breath = W.breathing_wave(t_low, bg["breath_hz"], bg["breath_g"], bg["phases"][0])
    heart = W.heartbeat_wave(t_low, bg["heart_hz"], bg["heart_g"], bg["phases"][1])
    bdir, hdir = W.unit(np.asarray(bg["breath_dir"])), W.unit(np.asarray(bg["heart_dir"]))
    for k in range(3):
        low = _lowpass_noise(n_low, low_rate, 0.0, brng, 1, band=(0.3, 6.0))[:, 0]
        low *= level
        low += breath * bdir[k] + heart * hdir[k]
        acc[:, k] += np.interp(tt, t_low, low) if low_rate < rate else low[:n]
        del low
    del level, breath, heart
    rendered: list[RenderedEvent] = []
    for e in plan.events:
        r = render_event(e, tt, rate)
        if r is None:
            continue
        acc[r.i0:r.i0 + len(r.acc)] += r.acc
        # label figures now; the waveform itself is kept only for a trace
        r.peak_g = label_peak(r)
        if not keep_trace:
            r.acc = np.zeros((0, 3))
            r.envelope = None
        rendered.append(r)
    _part_peaks(rendered)
    # lost frames never hide a labelled twitch
    protect = np.array([(r.span[0] - 2, r.span[1] + 2) for r in rendered if r.event.label == "twitch"]).reshape(-1, 2)
    keep = draw_lost_frames(n, rate, plan.sensor, rng_for(plan.seed, "lost-frames"), protect)
    faults = draw_faults(n, rate, plan.sensor, rng_for(plan.seed, "sensor-faults"), protect)
    acc = apply_sensor(acc, tt, plan.sensor, rng_for(plan.seed, "sensor-noise"), faults)
    t_rec = recorded_times(n, rate, plan.sensor, rng_for(plan.seed, "time-stamps"))
    for f in faults:  # labelled negatives
        rendered.append(RenderedEvent(PlannedEvent(f.kind, float(tt[f.i0]), float(tt[f.i1] - tt[f.i0])), f.i0,
                                      np.zeros((0, 3)), None, (f.i0, f.i1), abs(f.value_g)))
    labels = label_table(rendered, t_rec, keep)
    meta = session_meta(plan)
    meta["simulation"]["twitch_shaped_unlabelled"] = twitch_shaped_spans(rendered, tt, t_rec, keep)
    if keep.all():
        rec = Recording(t=t_rec, acc=acc, meta=meta, labels=labels)
    else:
        rec = Recording(t=t_rec[keep], acc=acc[keep], meta=meta, labels=labels)
    trace = SessionTrace(tt, up, rendered, keep) if keep_trace else None
    return rec, trace


def session_meta(plan: SessionPlan) -> dict:
    prof = plan.profile
    start = f"2026-01-05T{prof.start_hour:02d}:00:00+00:00"
    return {
        "sample_rate_hz": plan.rate_hz,
        "board": "twitchsense simulator",
        "sensor": plan.sensor.describe(),
        "range_g": plan.sensor.range_g if plan.sensor.bits else None,
        "placement": plan.placement,
        "subject": f"sim-{plan.seed}",
        "session": f"{prof.name}-seed{plan.seed}",
        "start_time": start,
        "notes": (f"simulated: profile {prof.name} ({prof.description}); mean twitch rate "
                  f"{prof.twitch_rate_per_min:g}/min{' in bouts' if prof.twitch_bouts else ''}; labels: "
                  "twitch (kind, peak_g) = injected twitches, other labels = look-alikes (negatives)"),
        "simulation": {"profile": prof.name, "seed": plan.seed, "minutes": plan.minutes,
                       "twitch_rate_per_min": prof.twitch_rate_per_min,
                       "sensor": plan.sensor.as_dict()},
    }


def example_event(name: str, seed: int, rate_hz: float = 100.0, max_duration_s: float | None = None,
                  pad_s: float = 0.5, kind: str | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """One isolated event of class ``name`` (a twitch kind or a look-alike), drawn and rendered
    exactly as in a session: ``(t, dynamic acc (n, 3) in g, label row)``.

    ``kind`` picks the tremor type; ``max_duration_s`` shortens long bouts (for
    pictures). The label row has ``onset, duration, label, kind, peak_g`` as in
    the session's label table. No gravity, background or sensor effects.
    """
    rng = rng_for(seed, "example-" + name)
    up = np.array([0.0, 0.0, 1.0])
    prof = PROFILES["healthy-day"]
    parts: list[PlannedEvent] = []
    if name in TWITCH_KINDS:
        p = W.draw_twitch(name, rng, up)
        ev = PlannedEvent("twitch", 0.0, p.duration_s, name, {"twitch": p})
        length = W.envelope_support(p.duration_s, p.sharpness)[1]
    elif name in BOUT_ACTIVITIES:
        if name == "tremor" and kind:
            prof = Profile("tremor", "", 0.0, tremor_kinds=(kind,))
        duration, k, params = bout_params(name, rng, prof)
        if max_duration_s:
            duration = min(duration, max_duration_s)
        params["up"] = tuple(up)
        ev = PlannedEvent(name, 0.0, duration, k, params)
        parts = bout_parts(ev, up)[0]
        length = duration
    elif name in POINT_LOOKALIKES:
        ev = point_event(name, 0.0, rng, up, rate_hz, prof, "waist")
        length = ev.start + ev.duration if name != "knock" else 0.05
    else:
        raise ValueError(f"unknown event class {name!r}; expected one of {', '.join(EVENT_CLASSES)}")
    dt = 1.0 / rate_hz
    n0 = int(np.ceil(pad_s * rate_hz))
    tt = (np.arange(-n0, int(np.ceil((length + pad_s) * rate_hz)) + 1)) * dt
    shift = float(rng.uniform(0, dt)) if name != "knock" else 0.0  # a random phase to the sample grid
    for e in [ev] + parts:
        if "move_start" in e.params:
            e.params["move_start"] += shift
        e.start += shift
    acc = np.zeros((tt.size, 3))
    rendered = [r for r in (render_event(e, tt, rate_hz) for e in [ev] + parts) if r is not None]
    for r in rendered:
        acc[r.i0:r.i0 + len(r.acc)] += r.acc
        r.peak_g = label_peak(r)
    _part_peaks(rendered)
    row = label_table(rendered[:1], tt, np.ones(tt.size, dtype=bool)).iloc[0].to_dict()
    return tt, acc, row


def simulate_session(profile: str, minutes: float, seed: int, rate_hz: float = 100.0,
                     sensor: SensorModel | None = None) -> Recording:
    """A labelled simulated recording of ``minutes`` of profile ``profile`` at ``rate_hz``.

    Deterministic: the same arguments give the same samples, labels and metadata.
    ``sensor=IDEAL_SENSOR`` turns sensor realism off (no noise, offsets,
    quantisation, drift or lost frames); by default a board is drawn from the seed.
    """
    if not 1.0 <= rate_hz <= 10_000:
        raise TwitchsenseError(f"rate {rate_hz} Hz is out of range; use 25-1000 Hz")
    if not minutes > 0:
        raise TwitchsenseError(f"minutes must be positive, got {minutes}")
    rec, _ = render_session(plan_session(profile, minutes, seed, rate_hz, sensor))
    return rec
