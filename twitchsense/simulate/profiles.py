"""Session profiles (what a kind of session holds) and the names of the simulator's event classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..errors import TwitchsenseError
from . import waveforms as W

TWITCH_KINDS = W.TWITCH_KINDS

#: Activities that come in bouts (seconds to minutes long).
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

#: Every labelled class the simulator makes: twitch kinds, then look-alikes.
EVENT_CLASSES = TWITCH_KINDS + W.LOOKALIKES


def get_profile(profile: str | Profile) -> Profile:
    """Look a profile up by name (or pass a :class:`Profile` through)."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise TwitchsenseError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}") from None
