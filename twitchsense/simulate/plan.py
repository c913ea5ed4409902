"""The session plan: everything that happens in a session and when, decided before any signal.

:func:`plan_session` draws the placement, the sensor, activity bouts with the
posture changes around them, point look-alikes, twitch times and their
parameters, micro-movements and the background's parameters. Everything random
comes from ``numpy.random.SeedSequence(seed)`` children, one per concern
(:func:`rng_for`), so the same seed gives the same session, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import waveforms as W
from .profiles import BOUT_ACTIVITIES, PLACEMENTS, POINT_LOOKALIKES, Profile, get_profile
from .sensor import SensorModel, draw_sensor, true_times

#: Twitch bout process: mean bout length and mean pause (s), rate between bouts relative to inside.
BOUT_MEAN_S, PAUSE_MEAN_S, PAUSE_RATE_FACTOR = 90.0, 180.0, 0.15
#: Minimum time from one twitch's onset to the next (s).
TWITCH_REFRACTORY_S = 1.2
#: A tic starts a short run of repeats with this probability; 1-3 repeats (mean 2).
TIC_RUN_P, TIC_RUN_MEAN_EXTRA = 0.4, 2.0


@dataclass
class PlannedEvent:
    """One thing that happens: ``label`` (``twitch`` or a look-alike), start (true s), params."""

    label: str
    start: float
    duration: float
    kind: str = ""
    params: dict = field(default_factory=dict)


@dataclass
class Rotation:
    """Gravity direction turns to ``up_to`` over ``[start, start + duration]`` (minimum jerk)."""

    start: float
    duration: float
    up_to: np.ndarray


@dataclass
class SessionPlan:
    """Everything decided before rendering."""

    profile: Profile
    minutes: float
    seed: int
    rate_hz: float
    placement: str
    sensor: SensorModel
    up0: np.ndarray
    events: list[PlannedEvent]
    rotations: list[Rotation]
    background: dict

    @property
    def twitches(self) -> list[PlannedEvent]:
        return [e for e in self.events if e.label == "twitch"]


def rng_for(seed: int, name: str) -> np.random.Generator:
    """A generator per concern, stable whatever the other concerns draw."""
    key = [int(b) for b in name.encode()]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def _random_up(rng: np.random.Generator, lying: bool) -> np.ndarray:
    if lying:
        base = np.array([[0, 0, 1], [0, 0, -1], [0, 1, 0], [0, -1, 0]], dtype=float)[rng.integers(4)]
        return W.direction_at_angle(base, float(rng.uniform(0, 25)), rng)
    return W.random_direction(rng)


#: Orientation of the forearm (gravity reaction in the sensor frame, x along the limb) per activity:
#: hanging (walking), palm down on a desk or table (typing, mouse, tapping, eating), raised to
#: look at a phone, raised to the mouth (brushing); others keep the posture they start in.
ACTIVITY_UP = {"walk": (1.0, 0, 0), "run": (1.0, 0, 0), "typing": (0, 0, 1.0), "mouse": (0, 0, 1.0),
               "tapping": (0, 0, 1.0), "eating": (0, 0, 1.0), "phone": (-0.7, 0, 0.7), "brushing": (-1.0, 0, 0)}
#: Activities that end with the forearm moved elsewhere (a posture change out of the bout).
LEAVE_POSTURE = ("walk", "run", "typing", "brushing", "mouse", "phone", "eating")


def _activity_up(activity: str, rng: np.random.Generator, current: np.ndarray) -> np.ndarray:
    """Orientation (gravity reaction in the sensor frame) for an activity (:data:`ACTIVITY_UP`)."""
    axis = ACTIVITY_UP.get(activity)
    if axis is None:
        return current
    return W.direction_at_angle(np.array(axis), float(rng.uniform(0, 25)), rng)


def _log_uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(*np.log(lo_hi))))


def _reach_peak(distance_m: float, leg_s: float, lo_hi: tuple[float, float]) -> float:
    """Peak acceleration (g) of a minimum-jerk reach over ``distance_m`` in ``leg_s``, kept in ``lo_hi``."""
    return float(np.clip(10 / np.sqrt(3) * distance_m / leg_s ** 2 / 9.80665, *lo_hi))


def bout_params(activity: str, rng: np.random.Generator, profile: Profile) -> tuple[float, str, dict]:
    """Duration, kind (the tremor type) and waveform parameters of one bout of ``activity``."""
    r = W.RANGES[activity]
    duration = float(rng.uniform(*r["duration_s"]))
    seed = int(rng.integers(2 ** 31))
    if activity in ("walk", "run"):
        return duration, "", {"cadence_hz": float(rng.uniform(*r["cadence_hz"])),
                              "step_g": float(rng.uniform(*r["step_g"])), "heel_g": float(rng.uniform(*r["heel_g"])),
                              "heel_hz": float(rng.uniform(*r["heel_hz"])), "swing_deg": float(rng.uniform(*r["swing_deg"])),
                              "seed": seed}
    if activity == "fidget":
        return duration, "", {"rate_hz": float(rng.uniform(*r["rate_hz"])), "peak_g": _log_uniform(rng, r["peak_g"]),
                              "freq_hz": float(rng.uniform(*r["freq_hz"])), "seed": seed}
    if activity == "typing":
        return duration, "", {"rate_hz": float(rng.uniform(*r["rate_hz"])), "peak_g": _log_uniform(rng, r["peak_g"]),
                              "decay_s": float(rng.uniform(*r["decay_s"])),
                              "spread_deg": float(rng.uniform(*r["spread_deg"])), "seed": seed}
    if activity == "tapping":
        return duration, "", {"rate_hz": float(rng.uniform(*r["rate_hz"])), "peak_g": _log_uniform(rng, r["peak_g"]),
                              "jitter": float(rng.uniform(*r["jitter"])), "decay_s": float(rng.uniform(*r["decay_s"])),
                              "seed": seed}
    if activity == "fidget-spikes":
        return duration, "", {"peak_g": _log_uniform(rng, r["peak_g"]), "decay_s": float(rng.uniform(*r["decay_s"])),
                              "axis": tuple(W.random_direction(rng)), "seed": seed}
    if activity == "mouse":
        return duration, "", {"peak_g": _log_uniform(rng, (0.05, r["peak_g"][1])), "seed": seed}
    if activity == "phone":
        return duration, "", {"tap_rate_hz": float(rng.uniform(*r["tap_rate_hz"])),
                              "tap_g": _log_uniform(rng, r["tap_g"]), "swipe_g": float(rng.uniform(*r["swipe_g"])),
                              "tremor_g": float(rng.uniform(*r["hold_tremor_g"])), "seed": seed}
    if activity in ("eating", "gesturing"):  # the bites and strokes are planned with the bout (bout_parts)
        return duration, "", {"seed": seed}
    if activity == "brushing":
        return duration, "", {"rate_hz": float(rng.uniform(3.0, 6.0)), "peak_g": float(rng.uniform(0.03, 0.1)),
                              "seed": seed}
    if activity == "tremor":
        kind = str(rng.choice(list(profile.tremor_kinds)))
        lo, hi = W.TREMOR_BANDS[kind]
        return duration, kind, {"freq_hz": float(rng.uniform(lo + 0.3, hi - 0.3)),
                                "peak_g": float(np.exp(rng.uniform(*np.log(r["peak_g"])))), "seed": seed}
    raise ValueError(activity)


def bout_parts(ev: PlannedEvent, up: np.ndarray) -> tuple[list[PlannedEvent], list[Rotation]]:
    """The unlabelled parts of an eating or gesturing bout and the forearm's rotations they bring.

    Eating: a bite every 8-40 s: 1-5 s at the plate (cutlery clinks of 0.05-0.3 g,
    Poisson, mean 1.5), the lift to the mouth (the forearm turns 50-110 degrees in
    0.6-1.5 s, a 0.15-0.4 m minimum-jerk move), 0.5-3 s at the mouth, the way back.
    Gesturing: strokes of 0.3-1.2 s (out and back, 0.05-0.5 g, the forearm turning
    5-30 degrees) with 0-1.5 s between them.
    """
    rng = np.random.default_rng(ev.params["seed"] + 7)
    r = W.RANGES.get(ev.label, {})
    parts: list[PlannedEvent] = []
    rots: list[Rotation] = []
    end = ev.start + ev.duration
    if ev.label == "eating":
        t = ev.start + float(rng.uniform(1.0, 8.0))
        while True:
            manip, lift, hold, lower = (float(rng.uniform(1.0, 5.0)), float(rng.uniform(*r["lift_s"])),
                                        float(rng.uniform(*r["hold_s"])), float(rng.uniform(*r["lift_s"])))
            total = manip + lift + hold + lower
            if t + total > end - 0.5:
                break
            peak = _reach_peak(float(rng.uniform(0.15, 0.4)), lift, r["peak_g"])
            k = int(rng.poisson(1.5))
            mouth = W.direction_at_angle(up, float(rng.uniform(*r["lift_deg"])), rng)
            parts.append(PlannedEvent("bite", t, total, "", {
                "manipulate_s": manip, "lift_s": lift, "hold_s": hold, "lower_s": lower, "peak_g": peak,
                "direction": tuple(W.direction_at_angle(up, float(rng.uniform(0, 45)), rng)),
                "clink_times": tuple(np.sort(rng.uniform(0.1, manip - 0.1, k))),
                "clink_g": tuple(np.exp(rng.uniform(*np.log(r["clink_g"]), k))),
                "clink_dirs": tuple(tuple(-W.direction_at_angle(up, float(a), rng)) for a in rng.uniform(0, 30, k))}))
            rots.append(Rotation(t + manip, lift, mouth))
            rots.append(Rotation(t + manip + lift + hold, lower, np.asarray(up, dtype=float)))
            t += max(total + 1.0, float(rng.uniform(*r["bite_interval_s"])))
    elif ev.label == "gesturing":
        t = ev.start + float(rng.uniform(0.0, 1.0))
        while True:
            d = float(rng.uniform(*r["stroke_s"]))
            if t + d > end - 0.2:
                break
            half = d / 2
            peak = _reach_peak(float(rng.uniform(0.05, 0.3)), half, r["peak_g"])
            parts.append(PlannedEvent("stroke", t, d, "", {"peak_g": peak,
                                                           "direction": tuple(W.random_direction(rng))}))
            turned = W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng)
            rots.append(Rotation(t, half, turned))
            rots.append(Rotation(t + half, half, np.asarray(up, dtype=float)))
            t += d + float(rng.uniform(*r["pause_s"]))
    return parts, rots


def _mean_bout_s(activity: str) -> float:
    lo, hi = W.RANGES[activity]["duration_s"]
    return (lo + hi) / 2


def _plan_bouts(profile: Profile, total_s: float, rng: np.random.Generator, up0: np.ndarray
                ) -> tuple[list[PlannedEvent], list[Rotation]]:
    """Activity bouts separated by rest; a posture change into and out of each bout."""
    shares = {a: s for a, s in profile.activities.items() if s > 0}
    events: list[PlannedEvent] = []
    rotations: list[Rotation] = []
    if not shares:
        return events, rotations
    names = sorted(shares)
    share_total = sum(shares.values())
    # pick activity a with probability share_a / mean_a (normalised) so time shares come out right
    w = np.array([shares[a] / _mean_bout_s(a) for a in names])
    p = w / w.sum()
    mean_bout = float(np.sum(p * np.array([_mean_bout_s(a) for a in names])))
    mean_rest = mean_bout * (1 - share_total) / share_total if share_total < 1 else 5.0
    # start in the stationary state: inside a bout with probability share_total
    in_bout = bool(rng.uniform() < share_total)
    t = 0.0 if in_bout else float(rng.exponential(mean_rest)) if mean_rest > 0 else 0.0
    current = up0
    prev_end = 0.0
    while t < total_s:
        act = str(names[rng.choice(len(names), p=p)])
        duration, kind, params = bout_params(act, rng, profile)
        target = _activity_up(act, rng, current)
        move = float(rng.uniform(1.0, 2.0))
        if in_bout:  # already under way at the start: the remaining part of a bout
            duration *= float(rng.uniform(0.2, 1.0))
            up0[:] = current = target
            in_bout = False
        elif not np.allclose(target, current):
            ev = _posture_event(t, move, rng, current, target, earliest=prev_end + 0.3)
            rotations.append(Rotation(t, move, target))
            events.append(ev)
            t += move + 0.3
            current = target
        duration = min(duration, total_s - t)
        if duration < 3:
            break
        params["up"] = tuple(current)
        bout = PlannedEvent(act, t, duration, kind, params)
        events.append(bout)
        parts, rots = bout_parts(bout, current)
        events.extend(parts)
        rotations.extend(rots)
        t += duration + 0.3
        if act in LEAVE_POSTURE:
            target = W.direction_at_angle(current, float(rng.uniform(30, 90)), rng)
            move = float(rng.uniform(1.0, 2.5))
            rotations.append(Rotation(t, move, target))
            events.append(_posture_event(t, move, rng, current, target, flick=False))
            t += move
            current = target
        prev_end = t
        t += float(rng.exponential(mean_rest)) if mean_rest > 0 else 1.0
    return events, rotations


def _posture_event(move_start: float, duration: float, rng: np.random.Generator, up_from: np.ndarray,
                   up_to: np.ndarray, label: str = "posture", flick: bool = True,
                   earliest: float = -np.inf, lead: float | None = None) -> PlannedEvent:
    """A smooth movement from ``move_start``: the peak acceleration follows from a 0.1-0.6 m minimum-jerk reach.

    With ``flick`` (from rest), most movements (:data:`W.RANGES` ``flick``
    ``share``) start with an onset flick 0.5-2 s earlier (not before
    ``earliest``; ``lead`` fixes the time): a 0.05-0.3 g transient of twitch
    shape in the direction the movement starts in. The event (and its label)
    then starts at the flick; ``params["lead_s"]`` is the time from it to the movement.
    """
    r = W.RANGES[label]
    leg = duration / 2 if label == "gesture" else duration  # a gesture goes out and back
    peak = _reach_peak(float(rng.uniform(0.1, 0.6)), leg, r["peak_g"])
    direction = W.unit(np.cross(up_from, up_to)) if not np.allclose(up_from, up_to) else W.random_direction(rng)
    direction = W.unit(direction + 0.5 * W.random_direction(rng))
    params = {"peak_g": peak, "direction": tuple(direction), "up_to": tuple(up_to), "up_from": tuple(up_from),
              "move_start": move_start, "lead_s": 0.0}
    fr = W.RANGES["flick"]
    if flick and rng.uniform() < fr["share"][0]:
        lead = float(rng.uniform(*fr["lead_s"])) if lead is None else lead
        if move_start - lead >= max(earliest, 0.0):
            towards = W.direction_at_angle(direction, float(rng.uniform(0, 30)), rng)
            params["flick"] = W.draw_burst("flick", fr, rng, towards, sign=1.0)
            params["lead_s"] = lead
    return PlannedEvent(label, move_start - params["lead_s"], duration + params["lead_s"], "", params)


def _free_windows(blocked: list[tuple[float, float]], total_s: float) -> np.ndarray:
    """Complement of ``blocked`` windows in [0, total_s] as (k, 2)."""
    out, t = [], 0.0
    for a, b in sorted(blocked):
        if a > t:
            out.append((t, min(a, total_s)))
        t = max(t, b)
    if t < total_s:
        out.append((t, total_s))
    return np.array([w for w in out if w[1] > w[0]] or [(0.0, 0.0)], dtype=float)


def _map_free_time(x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Map times on the concatenated free axis back to session time."""
    lengths = free[:, 1] - free[:, 0]
    cum = np.concatenate([[0.0], np.cumsum(lengths)])
    i = np.clip(np.searchsorted(cum, x, side="right") - 1, 0, len(free) - 1)
    return free[i, 0] + (x - cum[i])


def twitch_onsets(profile: Profile, total_s: float, rng: np.random.Generator,
                  blocked: list[tuple[float, float]] | None = None, rate_per_min: float | None = None
                  ) -> np.ndarray:
    """Onset times of twitches: Poisson with a refractory time, or in bouts (``profile.twitch_bouts``).

    The expected count is ``rate * total_s / 60``; onsets avoid ``blocked`` windows
    (their rate is scaled up over the free time so the per-session rate holds).
    """
    rate = profile.twitch_rate_per_min if rate_per_min is None else rate_per_min
    if rate <= 0 or total_s <= 0:
        return np.zeros(0)
    free = _free_windows(blocked or [], total_s)
    free_s = float(np.sum(free[:, 1] - free[:, 0]))
    if free_s <= 0:
        return np.zeros(0)
    rate_s = rate / 60.0 * total_s / free_s  # per free second

    def poisson(span: float, r: float) -> np.ndarray:
        if r <= 0 or span <= 0:
            return np.zeros(0)
        mean_iv = 1.0 / r
        refr = min(TWITCH_REFRACTORY_S, 0.5 * mean_iv)
        n = int(span / mean_iv * 1.5 + 10)
        x = np.cumsum(refr + rng.exponential(mean_iv - refr, n))
        x -= rng.uniform(0, mean_iv)  # a random phase, so the process starts stationary
        return x[(x >= 0) & (x < span)]

    if not profile.twitch_bouts:
        x = poisson(free_s, rate_s)
    else:
        f_in = BOUT_MEAN_S / (BOUT_MEAN_S + PAUSE_MEAN_S)
        r_in = rate_s / (f_in + PAUSE_RATE_FACTOR * (1 - f_in))
        x = np.concatenate([a + poisson(b - a, r_in if inside else r_in * PAUSE_RATE_FACTOR)
                            for a, b, inside in bout_spans(free_s, rng)] or [np.zeros(0)])
    return np.sort(_map_free_time(x, free))


def bout_spans(span_s: float, rng: np.random.Generator) -> list[tuple[float, float, bool]]:
    """The twitch bout process over ``[0, span_s)``: alternating ``(start, end, in_bout)`` spans.

    Bouts and pauses last exponentially long (means :data:`BOUT_MEAN_S` and
    :data:`PAUSE_MEAN_S`); the process starts in a bout with the stationary
    probability (the share of time in bouts), so every moment is alike.
    """
    f_in = BOUT_MEAN_S / (BOUT_MEAN_S + PAUSE_MEAN_S)
    out, t = [], 0.0
    inside = bool(rng.uniform() < f_in)
    while t < span_s:
        end = min(t + float(rng.exponential(BOUT_MEAN_S if inside else PAUSE_MEAN_S)), span_s)
        out.append((t, end, inside))
        t = end
        inside = not inside
    return out


class _Occupancy:
    """Which parts of the session are taken, on a 0.05 s grid (fast overlap tests for many events)."""

    STEP = 0.05

    def __init__(self, total_s: float) -> None:
        self.taken = np.zeros(int(total_s / self.STEP) + 2, dtype=bool)

    def _slice(self, a: float, b: float) -> slice:
        n = self.taken.size
        return slice(int(np.clip(np.floor(a / self.STEP), 0, n)), int(np.clip(np.ceil(b / self.STEP), 0, n)))

    def mark(self, a: float, b: float) -> None:
        self.taken[self._slice(a, b)] = True

    def any(self, a: float, b: float) -> bool:
        return bool(self.taken[self._slice(a, b)].any())


class _UpLookup:
    """Gravity direction after the rotations that started before a time (bisect on start times)."""

    def __init__(self, up0: np.ndarray, rotations: list[Rotation]) -> None:
        rot = sorted(rotations, key=lambda r: r.start)
        self.starts = np.array([r.start for r in rot])
        self.ups = [np.asarray(up0, dtype=float)] + [np.asarray(r.up_to, dtype=float) for r in rot]

    def __call__(self, time: float) -> np.ndarray:
        return self.ups[int(np.searchsorted(self.starts, time, side="right"))]


def plan_session(profile: str | Profile, minutes: float, seed: int, rate_hz: float = 100.0,
                 sensor: SensorModel | None = None) -> SessionPlan:
    """Decide everything that happens in a session (no signal yet)."""
    prof = get_profile(profile)
    rng = rng_for(seed, "session")
    placement = str(rng.choice(list(prof.placements)))
    up0 = _random_up(rng, prof.lying)  # _plan_bouts may turn it to the first activity's orientation
    sens = draw_sensor(rng_for(seed, "sensor")) if sensor is None else sensor
    n = n_samples(minutes, rate_hz)
    total_s = float(true_times(n + 1, rate_hz, sens.clock_ppm)[-1]) if n else 0.0  # the board's clock is off
    events, rotations = _plan_bouts(prof, total_s, rng_for(seed, "bouts"), up0)
    bout_spans = [(e.start, e.start + e.duration) for e in events if e.label in BOUT_ACTIVITIES]
    moves = [(e.start - 0.2, e.start + e.duration + 0.2) for e in events if e.label == "posture"]
    turning = moves + [(r.start - 0.2, r.start + r.duration + 0.2) for r in rotations]

    # twitches: anywhere except during the posture changes around bouts; tics often come in
    # short runs (1-3 repeats 0.3-1.5 s apart), so the base rate is lowered to keep the profile's mean
    trng = rng_for(seed, "twitches")
    kinds = list(prof.twitch_kinds)
    kw = np.array([prof.twitch_kinds[k] for k in kinds], dtype=float)
    kw /= kw.sum()
    tic_share = float(kw[kinds.index("tic")]) if "tic" in kinds else 0.0
    base_rate = prof.twitch_rate_per_min / (1.0 + tic_share * TIC_RUN_P * TIC_RUN_MEAN_EXTRA)
    onsets = twitch_onsets(prof, total_s, trng, blocked=moves, rate_per_min=base_rate)
    candidates: list[PlannedEvent] = []
    bout_up = _UpLookup(up0, rotations)
    for onset in onsets:
        kind = kinds[int(trng.choice(len(kinds), p=kw))]
        p = W.draw_twitch(kind, trng, bout_up(onset))
        candidates.append(PlannedEvent("twitch", float(onset), p.duration_s, kind, {"twitch": p}))
        if kind == "tic" and trng.uniform() < TIC_RUN_P:
            t_next = onset + p.duration_s
            for _ in range(int(trng.integers(1, 4))):
                t_next += float(trng.uniform(0.3, 1.5))
                q = W.draw_twitch("tic", trng, bout_up(t_next))
                candidates.append(PlannedEvent("twitch", t_next, q.duration_s, "tic", {"twitch": q, "run": True}))
                t_next += q.duration_s
    twitches: list[PlannedEvent] = []
    last_end = -np.inf
    move_arr = np.array(moves).reshape(-1, 2)
    for e in sorted(candidates, key=lambda e: e.start):
        moved = e.start < last_end + 0.2
        if moved:  # a tic run ran into the next twitch: it comes a little later rather than not at all
            e.start = last_end + 0.2 + float(trng.uniform(0.0, 0.3))
        end = e.start + e.duration
        if e.start < 0.2 or end > total_s - 0.2:
            continue
        if (moved or e.params.get("run")) and np.any((move_arr[:, 0] < end) & (move_arr[:, 1] > e.start)):
            continue
        twitches.append(e)
        last_end = end
    twitch_spans = [(e.start - 1.0, e.start + e.duration + 1.0) for e in twitches]

    # hypnic jerks (and some myoclonic jerks) are followed by a small posture shift
    extra_rot: list[Rotation] = []
    for e in twitches:
        if e.kind in ("hypnic", "myoclonic") and trng.uniform() < (0.6 if e.kind == "hypnic" else 0.2):
            s = e.start + e.duration + float(trng.uniform(0.05, 0.3))
            d = float(trng.uniform(0.5, 2.0))
            if any(a < s + d and s < b for a, b in turning):
                continue
            up = bout_up(s)
            extra_rot.append(Rotation(s, d, W.direction_at_angle(up, float(trng.uniform(3, 20)), trng)))
    all_rot = sorted(rotations + extra_rot, key=lambda r: r.start)
    # after-shifts change the orientation that later rotations start from: keep targets absolute

    # point look-alikes: in still stretches (outside bouts), away from twitches and moves
    prng = rng_for(seed, "lookalikes")
    point: list[PlannedEvent] = []
    busy = _Occupancy(total_s)
    for a, b in bout_spans + twitch_spans + moves + [(r.start - 0.5, r.start + r.duration + 0.5) for r in extra_rot]:
        busy.mark(a, b)
    up_at = _UpLookup(up0, all_rot)
    for name in POINT_LOOKALIKES:
        rate = prof.events_per_min.get(name, 0.0)
        if rate <= 0:
            continue
        n = int(prng.poisson(rate * minutes))
        for start in np.sort(prng.uniform(0, total_s, n)):
            ev = point_event(name, float(start), prng, up_at(float(start)), rate_hz, prof, placement)
            end = ev.start + ev.duration
            if ev.start < 0.2 or end > total_s - 0.5 or busy.any(ev.start - 0.5, end + 0.5):
                continue
            busy.mark(ev.start, end)
            point.append(ev)
            all_rot.extend(point_rotations(ev))
    all_rot.sort(key=lambda r: r.start)

    # unlabelled micro-movements (adjusting, scratching): small smooth bumps, part of the background
    mrng = rng_for(seed, "micro")
    n = int(mrng.poisson(prof.micro_per_min * minutes))
    for start in np.sort(mrng.uniform(0, total_s, n)):
        duration = float(mrng.uniform(0.4, 2.0))
        if start + duration > total_s - 0.2 or busy.any(start - 0.3, start + duration + 0.3):
            continue
        point.append(PlannedEvent("micro", float(start), duration, "", {
            "peak_g": float(np.exp(mrng.uniform(np.log(0.005), np.log(0.08)))),
            "direction": tuple(W.random_direction(mrng))}))
    transients, transients_per_h = _plan_transients(prof, total_s, bout_spans, busy, rng_for(seed, "transients"))
    point.extend(transients)

    brng = rng_for(seed, "background")
    pl = PLACEMENTS[placement]
    background = {
        "fidget_g": float(np.exp(brng.uniform(*np.log(prof.fidget_g)))),
        "breath_hz": float(brng.uniform(*W.RANGES["breathing"]["freq_hz"])),
        "breath_g": float(min(brng.uniform(*W.RANGES["breathing"]["peak_g"]) * pl["breath"] * (2 if prof.lying else 1),
                              W.RANGES["breathing"]["peak_g"][1])),
        "heart_hz": float(brng.uniform(*W.RANGES["heartbeat"]["freq_hz"])),
        "heart_g": float(brng.uniform(*W.RANGES["heartbeat"]["peak_g"]) * pl["heart"]),
        "breath_dir": tuple(W.random_direction(brng)), "heart_dir": tuple(W.random_direction(brng)),
        "phases": tuple(float(x) for x in brng.uniform(0, 2 * np.pi, 2)),
        "wander_deg": float(brng.uniform(0.5, 3.0)) * (0.5 if prof.lying else 1.0),
        "transients_per_still_hour": transients_per_h,
    }
    events = sorted(events + twitches + point, key=lambda e: (e.start, e.label))
    return SessionPlan(prof, float(minutes), int(seed), float(rate_hz), placement, sens, up0, events, all_rot,
                       background)


def point_event(name: str, start: float, rng: np.random.Generator, up: np.ndarray, rate_hz: float,
                prof: Profile, placement: str = "wrist") -> PlannedEvent:
    """A point look-alike (posture change, gesture, knock, clap, jump, sitting down hard) near ``start``.

    Posture changes and gestures may start with an onset flick at ``start`` (the
    movement follows ``params["lead_s"]`` later); whole-body impacts scale with the
    placement (``PLACEMENTS[placement]["impact"]``, 1 at the waist).
    """
    r = W.RANGES[name]
    if name == "posture":
        target = W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng)
        duration = float(rng.uniform(*r["duration_s"]))
        lead = _flick_lead(rng)
        return _posture_event(start + lead, duration, rng, up, target, earliest=start, lead=lead)
    if name == "gesture":
        duration = float(rng.uniform(*r["duration_s"]))
        target = W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng)
        lead = _flick_lead(rng)
        return _posture_event(start + lead, duration, rng, up, target, "gesture", earliest=start, lead=lead)
    if name == "knock":
        # on the sample grid (the spike must be seen); the session renders it at this start
        return PlannedEvent("knock", start, float(rng.uniform(*r["duration_s"])), "",
                            {"peak_g": float(rng.uniform(*r["peak_g"])), "freq_hz": float(rng.uniform(*r["freq_hz"])),
                             "direction": tuple(W.random_direction(rng))})
    if name == "clap":
        count = int(rng.integers(r["count"][0], r["count"][1] + 1))
        rate = float(rng.uniform(*r["rate_hz"]))
        return PlannedEvent("clap", start, (count + 1) / rate, "",
                            {"count": count, "rate_hz": rate, "peak_g": float(rng.uniform(*r["peak_g"])),
                             "direction": tuple(W.random_direction(rng)), "seed": int(rng.integers(2 ** 31))})
    scale = PLACEMENTS[placement]["impact"]
    if name == "jump":
        count = int(rng.integers(r["count"][0], r["count"][1] + 1))
        pr = {"push_g": float(rng.uniform(*r["push_g"])), "push_s": float(rng.uniform(0.2, 0.35)),
              "flight_s": float(rng.uniform(*r["flight_s"])), "impact_g": float(rng.uniform(*r["peak_g"])) * scale,
              "freq_hz": float(rng.uniform(*r["freq_hz"])), "impact_s": float(rng.uniform(*r["impact_s"])),
              "up": tuple(up)}
        gap = W.jump_spacing(pr["push_s"], pr["flight_s"], pr["impact_s"])
        pr["starts"] = tuple(np.concatenate([[0.0], np.cumsum(gap + rng.uniform(0.2, 0.6, count - 1))]))
        return PlannedEvent("jump", start, pr["starts"][-1] + gap, "", pr)
    if name == "sit-hard":
        pr = {"descent_s": float(rng.uniform(*r["descent_s"])), "unload_g": float(rng.uniform(*r["unload_g"])),
              "impact_g": float(rng.uniform(*r["peak_g"])) * scale, "freq_hz": float(rng.uniform(*r["freq_hz"])),
              "impact_s": float(rng.uniform(*r["impact_s"])), "up": tuple(up), "lean_s": float(rng.uniform(0.5, 1.5)),
              "up_to": tuple(W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng))}
        return PlannedEvent("sit-hard", start, pr["descent_s"] + pr["impact_s"] + pr["lean_s"], "", pr)
    raise ValueError(name)


def _flick_lead(rng: np.random.Generator) -> float:
    """Room before a point movement for its onset flick (the flick itself is drawn with the movement)."""
    return float(rng.uniform(*W.RANGES["flick"]["lead_s"]))


def point_rotations(ev: PlannedEvent) -> list[Rotation]:
    """The gravity rotations a point look-alike brings: a posture change turns the forearm, a gesture
    turns it out and back, sitting down hard leans the trunk."""
    pr = ev.params
    if ev.label == "posture":
        return [Rotation(pr["move_start"], ev.start + ev.duration - pr["move_start"], np.asarray(pr["up_to"]))]
    if ev.label == "gesture":
        half = (ev.start + ev.duration - pr["move_start"]) / 2
        return [Rotation(pr["move_start"], half, np.asarray(pr["up_to"])),
                Rotation(pr["move_start"] + half, half, np.asarray(pr["up_from"]))]
    if ev.label == "sit-hard":
        return [Rotation(ev.start + pr["descent_s"] + 0.5 * pr["impact_s"], pr["lean_s"], np.asarray(pr["up_to"]))]
    return []


def _plan_transients(prof: Profile, total_s: float, activity_spans: list[tuple[float, float]], busy: "_Occupancy",
                     rng: np.random.Generator) -> tuple[list[PlannedEvent], float]:
    """Isolated small transients on a still limb (unlabelled): at a rate drawn per session from
    ``prof.transients_per_still_hour`` over the time outside activity bouts, clear of other events
    (10 tries each for a clear place). Returns the events and the drawn rate.

    Six in ten are small impacts (a knock on the table, a strap or tendon snap:
    0.03-0.3 g at the skin, falling to 10 % in 10-60 ms), four in ten single
    jolts of twitch shape (a startle, a swallow: 0.03-0.2 g, 4-20 Hz, 40-150 ms);
    peaks log-uniform.
    """
    r = W.RANGES["transient"]
    per_hour = float(rng.uniform(*prof.transients_per_still_hour))
    free = _free_windows(activity_spans, total_s)
    free_s = float(np.sum(free[:, 1] - free[:, 0]))
    n = int(rng.poisson(per_hour * free_s / 3600.0))
    out = []
    for _ in range(n):
        direction = W.random_direction(rng)
        if rng.uniform() < r["impact_share"][0]:
            pr = {"peak_g": _log_uniform(rng, r["peak_g"]), "decay_s": float(rng.uniform(*r["decay_s"])),
                  "direction": tuple(direction)}
            ev = PlannedEvent("transient", 0.0, 2 * pr["decay_s"], "impact", pr)
        else:
            p = W.draw_burst("transient", r, rng, direction)
            ev = PlannedEvent("transient", 0.0, p.duration_s, "jolt", {"twitch": p})
        for start in _map_free_time(rng.uniform(0, free_s, 10), free):  # up to 10 tries for a clear place
            if 0.5 <= start and start + ev.duration + 0.5 <= total_s and \
                    not busy.any(start - 0.5, start + ev.duration + 0.5):
                ev.start = float(start)
                busy.mark(ev.start, ev.start + ev.duration)
                out.append(ev)
                break
    return sorted(out, key=lambda e: e.start), per_hour


def n_samples(minutes: float, rate_hz: float) -> int:
    """Samples in a session of ``minutes`` on the board's clock."""
    return int(round(float(minutes) * 60.0 * float(rate_hz)))
