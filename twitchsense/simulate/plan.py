"""The session model: profiles, a plan of what happens when, and its rendering to a Recording.

A session is planned first (:func:`plan_session`: placement, sensor, activity
bouts with the posture changes around them, point look-alikes, twitch times and
their parameters, lost frames), then rendered (:func:`render_session`) on the
board's sample grid: gravity track (posture rotations, arm swing, slow wander),
plus every event's dynamic waveform, plus background (fidget motion, breathing,
heartbeat), then the sensor model. Labels come from the rendered waveforms:
a twitch label spans the samples where its envelope is at or above 10 % of its
peak and its ``peak_g`` is the largest norm of its sampled 3-axis waveform.

Everything random comes from ``numpy.random.SeedSequence(seed)`` children, one
per concern, so the same seed gives the same session, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ..io.recording import Recording
from . import waveforms as W
from .sensor import (IDEAL_SENSOR, SensorModel, apply_sensor, draw_faults, draw_lost_frames, draw_sensor,
                     true_times)

TWITCH_KINDS = W.TWITCH_KINDS

#: Mean duration (s) of each bout activity and its range.
BOUT_ACTIVITIES = ("walk", "run", "typing", "fidget", "brushing", "tremor")
#: Point look-alikes (short, placed in still stretches, away from twitches).
POINT_LOOKALIKES = ("posture", "gesture", "knock", "clap")
#: Events rendered into the background but not labelled (micro-movements).
UNLABELLED = ("micro",)

#: Placement effects: breathing/heartbeat scale (1 = wrist), arm/leg swing while walking (deg).
PLACEMENTS: dict[str, dict[str, float]] = {
    "wrist": {"breath": 1.0, "heart": 1.0, "swing": 1.0},
    "forearm": {"breath": 1.0, "heart": 0.8, "swing": 0.8},
    "ankle": {"breath": 0.5, "heart": 0.5, "swing": 1.2},
    "calf": {"breath": 0.5, "heart": 0.6, "swing": 1.0},
    "chest": {"breath": 1.0, "heart": 1.0, "swing": 0.2},
}


@dataclass(frozen=True)
class Profile:
    """A kind of session: how often twitches come, and what else happens.

    ``twitch_rate_per_min`` is the documented mean rate over the session;
    ``twitch_bouts`` makes twitches come in bouts (a two-state process: bouts of
    ~90 s at a high rate, ~180 s between them at 15 % of it); ``activities`` maps
    bout activities to their share of session time; ``events_per_min`` gives
    point look-alike rates; ``fidget_g`` the range of the RMS of background
    fidget motion; ``lying``: the wearer lies down (sleep onset).
    """

    name: str
    description: str
    twitch_rate_per_min: float
    twitch_kinds: Mapping[str, float] = field(default_factory=lambda: {"myoclonic": 1.0})
    twitch_bouts: bool = False
    activities: Mapping[str, float] = field(default_factory=dict)
    events_per_min: Mapping[str, float] = field(default_factory=dict)
    fidget_g: tuple[float, float] = (0.004, 0.02)
    placements: tuple[str, ...] = ("wrist",)
    lying: bool = False
    tremor_kinds: tuple[str, ...] = ("physiological", "essential", "parkinsonian")
    start_hour: int = 9
    micro_per_min: float = 2.0


_EVERYDAY_KINDS = {"myoclonic": 0.4, "fasciculation": 0.4, "tic": 0.2}

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("rest", "sitting quietly: small fidgets, a few posture changes, occasional twitches",
            0.6, _EVERYDAY_KINDS, events_per_min={"posture": 0.3, "gesture": 0.3, "knock": 0.02},
            fidget_g=(0.003, 0.012), placements=("wrist", "forearm", "calf")),
    Profile("desk-work", "typing and fidgeting at a desk, reaching, posture changes, occasional twitches",
            0.4, _EVERYDAY_KINDS, activities={"typing": 0.45, "fidget": 0.1},
            events_per_min={"posture": 0.5, "gesture": 0.8, "knock": 0.1},
            fidget_g=(0.005, 0.025), placements=("wrist", "forearm")),
    Profile("walking", "walking bouts with standing and sitting between them, occasional twitches",
            0.3, {"myoclonic": 0.5, "tic": 0.3, "fasciculation": 0.2}, activities={"walk": 0.6},
            events_per_min={"posture": 0.4, "gesture": 0.3, "knock": 0.05},
            fidget_g=(0.005, 0.02), placements=("wrist", "ankle", "calf")),
    Profile("sleep-onset", "lying down and falling asleep: hypnic jerks and fragmentary myoclonus",
            1.0, {"hypnic": 0.3, "myoclonic": 0.6, "fasciculation": 0.1},
            events_per_min={"posture": 0.1}, fidget_g=(0.001, 0.004),
            placements=("wrist", "ankle", "chest"), lying=True, start_hour=23),
    Profile("tremor", "rest with long tremor bouts (physiological, essential, parkinsonian)",
            0.4, {"myoclonic": 0.6, "tic": 0.2, "fasciculation": 0.2}, activities={"tremor": 0.5},
            events_per_min={"posture": 0.3, "gesture": 0.2}, fidget_g=(0.003, 0.012),
            placements=("wrist", "forearm")),
    Profile("frequent-twitching", "frequent twitching in bouts (mean 6 per minute) at rest and light activity",
            6.0, {"myoclonic": 0.4, "fasciculation": 0.3, "tic": 0.3}, twitch_bouts=True,
            activities={"typing": 0.1, "walk": 0.05}, events_per_min={"posture": 0.4, "gesture": 0.4, "knock": 0.03},
            fidget_g=(0.003, 0.015), placements=("forearm", "calf", "wrist")),
    Profile("healthy-day", "ordinary life: desk work, walking, brushing, rest, gestures, occasional twitches",
            0.3, _EVERYDAY_KINDS, activities={"typing": 0.25, "walk": 0.12, "run": 0.02, "fidget": 0.05,
                                              "brushing": 0.01},
            events_per_min={"posture": 0.5, "gesture": 0.5, "knock": 0.05, "clap": 0.01},
            fidget_g=(0.004, 0.03), placements=("wrist", "forearm", "ankle"), start_hour=8),
    Profile("no-twitch", "ordinary life with no twitches at all: a false-alarm check",
            0.0, _EVERYDAY_KINDS, activities={"typing": 0.25, "walk": 0.15, "run": 0.03, "fidget": 0.08,
                                              "brushing": 0.02},
            events_per_min={"posture": 0.6, "gesture": 0.6, "knock": 0.1, "clap": 0.02},
            fidget_g=(0.004, 0.03), placements=("wrist", "forearm", "ankle"), start_hour=8),
)}

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


# --------------------------------------------------------------------------- planning


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator per concern, stable whatever the other concerns draw."""
    key = [int(b) for b in name.encode()]
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, *key]))


def _random_up(rng: np.random.Generator, lying: bool) -> np.ndarray:
    if lying:
        base = np.array([[0, 0, 1], [0, 0, -1], [0, 1, 0], [0, -1, 0]], dtype=float)[rng.integers(4)]
        return W.direction_at_angle(base, float(rng.uniform(0, 25)), rng)
    return W.random_direction(rng)


def _activity_up(activity: str, rng: np.random.Generator, current: np.ndarray) -> np.ndarray:
    """Orientation (gravity reaction in the sensor frame) for an activity; x runs along the limb."""
    axis = {"walk": (1.0, 0, 0), "run": (1.0, 0, 0), "typing": (0, 0, 1.0), "brushing": (-1.0, 0, 0)}.get(activity)
    if axis is None:
        return current
    return W.direction_at_angle(np.array(axis), float(rng.uniform(0, 25)), rng)


def _bout_params(activity: str, rng: np.random.Generator, profile: Profile) -> tuple[float, str, dict]:
    r = W.RANGES[activity]
    duration = float(rng.uniform(*r["duration_s"]))
    seed = int(rng.integers(2 ** 31))
    if activity in ("walk", "run"):
        return duration, "", {"cadence_hz": float(rng.uniform(*r["cadence_hz"])),
                              "step_g": float(rng.uniform(*r["step_g"])), "heel_g": float(rng.uniform(*r["heel_g"])),
                              "heel_hz": float(rng.uniform(*r["heel_hz"])), "swing_deg": float(rng.uniform(*r["swing_deg"])),
                              "seed": seed}
    if activity in ("typing", "fidget"):
        return duration, "", {"rate_hz": float(rng.uniform(*r["rate_hz"])),
                              "peak_g": float(np.exp(rng.uniform(*np.log(r["peak_g"])))),
                              "freq_hz": float(rng.uniform(*r["freq_hz"])), "seed": seed}
    if activity == "brushing":
        return duration, "", {"rate_hz": float(rng.uniform(3.0, 6.0)), "peak_g": float(rng.uniform(0.03, 0.1)),
                              "seed": seed}
    if activity == "tremor":
        kind = str(rng.choice(list(profile.tremor_kinds)))
        lo, hi = W.TREMOR_BANDS[kind]
        return duration, kind, {"freq_hz": float(rng.uniform(lo + 0.3, hi - 0.3)),
                                "peak_g": float(np.exp(rng.uniform(*np.log(r["peak_g"])))), "seed": seed}
    raise ValueError(activity)


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
    while t < total_s:
        act = str(names[rng.choice(len(names), p=p)])
        duration, kind, params = _bout_params(act, rng, profile)
        target = _activity_up(act, rng, current)
        move = float(rng.uniform(1.0, 2.0))
        if in_bout:  # already under way at the start: the remaining part of a bout
            duration *= float(rng.uniform(0.2, 1.0))
            up0[:] = current = target
            in_bout = False
        elif not np.allclose(target, current):
            rotations.append(Rotation(t, move, target))
            events.append(_posture_event(t, move, rng, current, target))
            t += move + 0.3
            current = target
        duration = min(duration, total_s - t)
        if duration < 3:
            break
        params["up"] = tuple(current)
        events.append(PlannedEvent(act, t, duration, kind, params))
        t += duration + 0.3
        if act in ("walk", "run", "typing", "brushing"):
            target = W.direction_at_angle(current, float(rng.uniform(30, 90)), rng)
            move = float(rng.uniform(1.0, 2.5))
            rotations.append(Rotation(t, move, target))
            events.append(_posture_event(t, move, rng, current, target))
            t += move
            current = target
        t += float(rng.exponential(mean_rest)) if mean_rest > 0 else 1.0
    return events, rotations


def _posture_event(start: float, duration: float, rng: np.random.Generator, up_from: np.ndarray,
                   up_to: np.ndarray, label: str = "posture") -> PlannedEvent:
    """A smooth movement: the peak acceleration follows from a 0.1-0.6 m minimum-jerk reach."""
    r = W.RANGES[label]
    leg = duration / 2 if label == "gesture" else duration  # a gesture goes out and back
    distance_m = float(rng.uniform(0.1, 0.6))
    peak = float(np.clip(10 / np.sqrt(3) * distance_m / leg ** 2 / 9.80665, *r["peak_g"]))
    direction = W.unit(np.cross(up_from, up_to)) if not np.allclose(up_from, up_to) else W.random_direction(rng)
    direction = W.unit(direction + 0.5 * W.random_direction(rng))
    return PlannedEvent(label, start, duration, "", {"peak_g": peak, "direction": tuple(direction),
                                                     "up_to": tuple(up_to), "up_from": tuple(up_from)})


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
        parts, t = [], 0.0
        in_bout = bool(rng.uniform() < f_in)
        while t < free_s:
            span = float(rng.exponential(BOUT_MEAN_S if in_bout else PAUSE_MEAN_S))
            span = min(span, free_s - t)
            parts.append(t + poisson(span, r_in if in_bout else r_in * PAUSE_RATE_FACTOR))
            t += span
            in_bout = not in_bout
        x = np.concatenate(parts) if parts else np.zeros(0)
    return np.sort(_map_free_time(x, free))


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
    rng = _rng(seed, "session")
    placement = str(rng.choice(list(prof.placements)))
    up0 = _random_up(rng, prof.lying)  # _plan_bouts may turn it to the first activity's orientation
    sens = draw_sensor(_rng(seed, "sensor")) if sensor is None else sensor
    n = n_samples(minutes, rate_hz)
    total_s = float(true_times(n + 1, rate_hz, sens.clock_ppm)[-1]) if n else 0.0  # the board's clock is off
    events, rotations = _plan_bouts(prof, total_s, _rng(seed, "bouts"), up0)
    bout_spans = [(e.start, e.start + e.duration) for e in events if e.label in BOUT_ACTIVITIES]
    moves = [(r.start - 0.2, r.start + r.duration + 0.2) for r in rotations]

    # twitches: anywhere except during the posture changes around bouts; tics often come in
    # short runs (1-3 repeats 0.3-1.5 s apart), so the base rate is lowered to keep the profile's mean
    trng = _rng(seed, "twitches")
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
        end = e.start + e.duration
        if e.start < 0.2 or end > total_s - 0.2 or e.start < last_end + 0.2:
            continue
        if e.params.get("run") and np.any((move_arr[:, 0] < end) & (move_arr[:, 1] > e.start)):
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
            if any(a < s + d and s < b for a, b in moves):
                continue
            up = bout_up(s)
            extra_rot.append(Rotation(s, d, W.direction_at_angle(up, float(trng.uniform(3, 20)), trng)))
    all_rot = sorted(rotations + extra_rot, key=lambda r: r.start)
    # after-shifts change the orientation that later rotations start from: keep targets absolute

    # point look-alikes: in still stretches (outside bouts), away from twitches and moves
    prng = _rng(seed, "lookalikes")
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
            ev = _point_event(name, float(start), prng, up_at(float(start)), rate_hz, prof)
            end = ev.start + ev.duration
            if end > total_s - 0.5 or busy.any(ev.start - 0.5, end + 0.5):
                continue
            busy.mark(ev.start, end)
            point.append(ev)
            if name == "posture":
                all_rot.append(Rotation(ev.start, ev.duration, np.asarray(ev.params["up_to"])))
            elif name == "gesture":  # the forearm turns on the way out and back
                half = ev.duration / 2
                all_rot.append(Rotation(ev.start, half, np.asarray(ev.params["up_to"])))
                all_rot.append(Rotation(ev.start + half, half, np.asarray(ev.params["up_from"])))
    all_rot.sort(key=lambda r: r.start)

    # unlabelled micro-movements (adjusting, scratching): small smooth bumps, part of the background
    mrng = _rng(seed, "micro")
    n = int(mrng.poisson(prof.micro_per_min * minutes))
    for start in np.sort(mrng.uniform(0, total_s, n)):
        duration = float(mrng.uniform(0.4, 2.0))
        if start + duration > total_s - 0.2 or busy.any(start - 0.3, start + duration + 0.3):
            continue
        point.append(PlannedEvent("micro", float(start), duration, "", {
            "peak_g": float(np.exp(mrng.uniform(np.log(0.005), np.log(0.08)))),
            "direction": tuple(W.random_direction(mrng))}))

    brng = _rng(seed, "background")
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
    }
    events = sorted(events + twitches + point, key=lambda e: (e.start, e.label))
    return SessionPlan(prof, float(minutes), int(seed), float(rate_hz), placement, sens, up0, events, all_rot,
                       background)


def _point_event(name: str, start: float, rng: np.random.Generator, up: np.ndarray, rate_hz: float,
                 prof: Profile) -> PlannedEvent:
    r = W.RANGES[name]
    if name == "posture":
        target = W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng)
        return _posture_event(start, float(rng.uniform(*r["duration_s"])), rng, up, target)
    if name == "gesture":
        ev = _posture_event(start, float(rng.uniform(*r["duration_s"])), rng, up,
                            W.direction_at_angle(up, float(rng.uniform(*r["angle_deg"])), rng), "gesture")
        return ev
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
    raise ValueError(name)


# --------------------------------------------------------------------------- rendering


@dataclass
class RenderedEvent:
    """An event's sampled dynamic waveform: samples ``[i0, i0 + len(acc))`` of the session."""

    event: PlannedEvent
    i0: int
    acc: np.ndarray
    envelope: np.ndarray | None
    span: tuple[int, int]  # first and last sample index the label covers (inclusive)
    peak_g: float = 0.0  # largest norm of the waveform (twitch: whole; look-alike: label span)


def _label_peak(r: RenderedEvent) -> float:
    """``peak_g`` of a label: largest norm of the whole twitch waveform, or of a look-alike's span."""
    a, b = r.span
    acc = r.acc if r.event.label == "twitch" else r.acc[a - r.i0:b - r.i0 + 1]
    return float(np.linalg.norm(acc, axis=1).max())


def _window(tt: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    return int(np.searchsorted(tt, lo, side="left")), int(np.searchsorted(tt, hi, side="right"))


def render_event(e: PlannedEvent, tt: np.ndarray, rate_hz: float) -> RenderedEvent | None:
    """Sample one planned event's waveform on the true-time grid ``tt`` (uniform)."""
    if e.label == "twitch":
        p: W.TwitchParams = e.params["twitch"]
        lo, hi = W.envelope_support(p.duration_s)
        i0, i1 = _window(tt, e.start + lo, e.start + hi)
        if i1 <= i0:
            return None
        acc, env = W.twitch(tt[i0:i1] - e.start, p, rate_hz)
        on = np.flatnonzero(env >= 0.1)
        if on.size == 0:  # shorter than a sample: the sample nearest the peak carries it
            on = np.array([int(np.argmax(env))])
        return RenderedEvent(e, i0, acc, env, (i0 + int(on[0]), i0 + int(on[-1])))
    if e.label == "knock":
        k = int(np.searchsorted(tt, e.start))
        if k >= tt.size:
            return None
        i1 = min(tt.size, k + max(3, int(np.ceil(0.03 * rate_hz))))
        acc, env = W.knock(tt[k:i1] - tt[k], e.params["peak_g"], e.duration, e.params["freq_hz"], rate_hz,
                           e.params["direction"])
        on = np.flatnonzero(env >= 0.1)
        return RenderedEvent(e, k, acc, env, (k + int(on[0]), k + int(on[-1])))
    i0, i1 = _window(tt, e.start, e.start + e.duration)
    if i1 <= i0:
        return None
    rel = tt[i0:i1] - e.start
    pr = e.params
    if e.label == "posture":
        acc = W.posture_change(rel, e.duration, pr["peak_g"], pr["direction"])
    elif e.label in ("gesture", "micro"):
        acc = W.gesture(rel, e.duration, pr["peak_g"], pr["direction"])
    elif e.label in ("walk", "run"):
        acc = W.walking(rel, pr["cadence_hz"], pr["step_g"], pr["heel_g"], pr["heel_hz"], e.duration,
                        _walk_direction(pr), pr["seed"])
    elif e.label == "typing":
        acc = W.keystroke_train(rel, pr["rate_hz"], pr["peak_g"], pr["freq_hz"], e.duration, pr["seed"])
    elif e.label == "fidget":
        acc = W.keystroke_train(rel, pr["rate_hz"], pr["peak_g"], pr["freq_hz"], e.duration, pr["seed"])
    elif e.label == "brushing":
        acc = W.brushing(rel, pr["rate_hz"], pr["peak_g"], e.duration, W.perpendicular(np.asarray(pr["up"]),
                         np.random.default_rng(pr["seed"])), pr["seed"])
    elif e.label == "tremor":
        acc = W.tremor(rel, pr["freq_hz"], pr["peak_g"], e.duration,
                       W.perpendicular(np.asarray(pr["up"]), np.random.default_rng(pr["seed"])), pr["seed"])
    elif e.label == "clap":
        acc = W.clapping(rel, pr["count"], pr["rate_hz"], pr["peak_g"], rate_hz, pr["direction"], pr["seed"],
                         grid_phase_s=float(rel[0]))
    else:
        raise ValueError(f"no renderer for {e.label!r}")
    return RenderedEvent(e, i0, acc, None, (i0, i1 - 1))


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
    brng = _rng(plan.seed, "background-signal")
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
        r.peak_g = _label_peak(r)
        if not keep_trace:
            r.acc = np.zeros((0, 3))
            r.envelope = None
        rendered.append(r)
    # lost frames never hide a labelled twitch
    protect = np.array([(r.span[0] - 2, r.span[1] + 2) for r in rendered if r.event.label == "twitch"]).reshape(-1, 2)
    keep = draw_lost_frames(n, rate, plan.sensor, _rng(plan.seed, "lost-frames"), protect)
    faults = draw_faults(n, rate, plan.sensor, _rng(plan.seed, "sensor-faults"), protect)
    acc = apply_sensor(acc, tt, plan.sensor, _rng(plan.seed, "sensor-noise"), faults)
    t_rec = np.arange(n) / rate
    for f in faults:  # labelled negatives
        rendered.append(RenderedEvent(PlannedEvent(f.kind, float(tt[f.i0]), float(tt[f.i1] - tt[f.i0])), f.i0,
                                      np.zeros((0, 3)), None, (f.i0, f.i1), abs(f.value_g)))
    labels = _labels(rendered, t_rec, keep)
    meta = _meta(plan)
    if keep.all():
        rec = Recording(t=t_rec, acc=acc, meta=meta, labels=labels)
    else:
        rec = Recording(t=t_rec[keep], acc=acc[keep], meta=meta, labels=labels)
    trace = SessionTrace(tt, up, rendered, keep) if keep_trace else None
    return rec, trace


def _labels(rendered: list[RenderedEvent], t_rec: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
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


def _meta(plan: SessionPlan) -> dict:
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


# --------------------------------------------------------------------------- single events


#: Every labelled class the simulator makes: twitch kinds, then look-alikes.
EVENT_CLASSES = TWITCH_KINDS + W.LOOKALIKES


def example_event(name: str, seed: int, rate_hz: float = 100.0, max_duration_s: float | None = None,
                  pad_s: float = 0.5, kind: str | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """One isolated event of class ``name`` (a twitch kind or a look-alike), drawn and rendered
    exactly as in a session: ``(t, dynamic acc (n, 3) in g, label row)``.

    ``kind`` picks the tremor type; ``max_duration_s`` shortens long bouts (for
    pictures). The label row has ``onset, duration, label, kind, peak_g`` as in
    the session's label table. No gravity, background or sensor effects.
    """
    rng = _rng(seed, "example-" + name)
    up = np.array([0.0, 0.0, 1.0])
    prof = PROFILES["healthy-day"]
    if name in TWITCH_KINDS:
        p = W.draw_twitch(name, rng, up)
        ev = PlannedEvent("twitch", 0.0, p.duration_s, name, {"twitch": p})
        length = W.envelope_support(p.duration_s)[1]
    elif name in BOUT_ACTIVITIES:
        if name == "tremor" and kind:
            prof = Profile("tremor", "", 0.0, tremor_kinds=(kind,))
        duration, k, params = _bout_params(name, rng, prof)
        if max_duration_s:
            duration = min(duration, max_duration_s)
        params["up"] = tuple(up)
        ev = PlannedEvent(name, 0.0, duration, k, params)
        length = duration
    elif name in POINT_LOOKALIKES:
        ev = _point_event(name, 0.0, rng, up, rate_hz, prof)
        length = ev.duration if name != "knock" else 0.05
    else:
        raise ValueError(f"unknown event class {name!r}; expected one of {', '.join(EVENT_CLASSES)}")
    dt = 1.0 / rate_hz
    n0 = int(np.ceil(pad_s * rate_hz))
    tt = (np.arange(-n0, int(np.ceil((length + pad_s) * rate_hz)) + 1)) * dt
    ev.start = float(rng.uniform(0, dt)) if name != "knock" else 0.0  # a random phase to the sample grid
    r = render_event(ev, tt, rate_hz)
    acc = np.zeros((tt.size, 3))
    acc[r.i0:r.i0 + len(r.acc)] = r.acc
    r.peak_g = _label_peak(r)
    row = _labels([r], tt, np.ones(tt.size, dtype=bool)).iloc[0].to_dict()
    return tt, acc, row


# --------------------------------------------------------------------------- public API


def n_samples(minutes: float, rate_hz: float) -> int:
    """Samples in a session of ``minutes`` on the board's clock."""
    return int(round(float(minutes) * 60.0 * float(rate_hz)))


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name (or pass a :class:`Profile` through)."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        from ..errors import TwitchsenseError

        raise TwitchsenseError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None


def simulate_session(profile: str, minutes: float, seed: int, rate_hz: float = 100.0,
                     sensor: SensorModel | None = None) -> Recording:
    """A labelled simulated recording of ``minutes`` of profile ``profile`` at ``rate_hz``.

    Deterministic: the same arguments give the same samples, labels and metadata.
    ``sensor=IDEAL_SENSOR`` turns sensor realism off (no noise, offsets,
    quantisation, drift or lost frames); by default a board is drawn from the seed.
    """
    from ..errors import TwitchsenseError

    if not 1.0 <= rate_hz <= 10_000:
        raise TwitchsenseError(f"rate {rate_hz} Hz is out of range; use 25-1000 Hz")
    if not minutes > 0:
        raise TwitchsenseError(f"minutes must be positive, got {minutes}")
    rec, _ = render_session(plan_session(profile, minutes, seed, rate_hz, sensor))
    return rec


__all__ = ["PROFILES", "Profile", "TWITCH_KINDS", "EVENT_CLASSES", "example_event", "simulate_session", "plan_session", "render_session",
           "IDEAL_SENSOR", "twitch_onsets", "get_profile"]
