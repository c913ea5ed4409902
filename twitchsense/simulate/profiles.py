"""Session profiles (what a kind of session holds) and the names of the simulator's event classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..errors import TwitchsenseError
from . import waveforms as W

TWITCH_KINDS = W.TWITCH_KINDS

#: Activities that come in bouts (seconds to minutes long).
BOUT_ACTIVITIES = ("walk", "run", "typing", "fidget", "brushing", "tremor", "tapping", "fidget-spikes", "mouse",
                   "phone", "eating", "gesturing")
#: Point look-alikes (short, placed in still stretches, away from twitches).
POINT_LOOKALIKES = ("posture", "gesture", "knock", "clap", "jump", "sit-hard")
#: Events rendered into the background but not labelled: micro-movements, isolated transients on a
#: still limb, and the parts of eating and gesturing bouts (the bout carries the label).
UNLABELLED = ("micro", "transient", "bite", "stroke")

#: Placement effects: breathing/heartbeat scale (1 = wrist), arm/leg swing while walking (deg), and the
#: size of whole-body impacts (jump landings, sitting down hard) relative to the waist.
PLACEMENTS: dict[str, dict[str, float]] = {
    "wrist": {"breath": 1.0, "heart": 1.0, "swing": 1.0, "impact": 0.6},
    "forearm": {"breath": 1.0, "heart": 0.8, "swing": 0.8, "impact": 0.6},
    "ankle": {"breath": 0.5, "heart": 0.5, "swing": 1.2, "impact": 1.6},
    "calf": {"breath": 0.5, "heart": 0.6, "swing": 1.0, "impact": 1.4},
    "chest": {"breath": 1.0, "heart": 1.0, "swing": 0.2, "impact": 0.9},
    "waist": {"breath": 0.8, "heart": 0.8, "swing": 0.2, "impact": 1.0},
}


@dataclass(frozen=True)
class Profile:
    """A kind of session: how often twitches come, and what else happens.

    ``twitch_rate_per_min`` is the documented mean rate over the session;
    ``twitch_bouts`` makes twitches come in bouts (a two-state process: bouts of
    ~90 s at a high rate, ~180 s between them at 15 % of it); ``activities`` maps
    bout activities to their share of session time; ``events_per_min`` gives
    point look-alike rates; ``fidget_g`` the range of the RMS of background
    fidget motion; ``lying``: the wearer lies down (sleep onset);
    ``transients_per_still_hour``: the range (drawn per session) of the rate of
    isolated small transients on a still limb, per hour outside activity bouts.
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
    transients_per_still_hour: tuple[float, float] = (10.0, 40.0)


_EVERYDAY_KINDS = {"myoclonic": 0.4, "fasciculation": 0.4, "tic": 0.2}

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("rest", "sitting quietly: small fidgets, a few posture changes, phone, occasional twitches",
            0.6, _EVERYDAY_KINDS, activities={"phone": 0.08, "fidget-spikes": 0.03},
            events_per_min={"posture": 0.3, "gesture": 0.3, "knock": 0.02},
            fidget_g=(0.003, 0.012), placements=("wrist", "forearm", "calf")),
    Profile("desk-work", "typing, mouse, fidgeting and tapping at a desk, reaching, posture changes, "
            "occasional twitches",
            0.4, _EVERYDAY_KINDS, activities={"typing": 0.3, "mouse": 0.2, "fidget": 0.05, "fidget-spikes": 0.05,
                                              "tapping": 0.02, "phone": 0.05},
            events_per_min={"posture": 0.5, "gesture": 0.8, "knock": 0.1},
            fidget_g=(0.005, 0.025), placements=("wrist", "forearm")),
    Profile("walking", "walking bouts with standing and sitting between them, occasional twitches",
            0.3, {"myoclonic": 0.5, "tic": 0.3, "fasciculation": 0.2}, activities={"walk": 0.6},
            events_per_min={"posture": 0.4, "gesture": 0.3, "knock": 0.05, "sit-hard": 0.1, "jump": 0.02},
            fidget_g=(0.005, 0.02), placements=("wrist", "ankle", "calf", "waist")),
    Profile("sleep-onset", "lying down and falling asleep: hypnic jerks and fragmentary myoclonus",
            1.0, {"hypnic": 0.3, "myoclonic": 0.6, "fasciculation": 0.1},
            events_per_min={"posture": 0.1}, fidget_g=(0.001, 0.004),
            placements=("wrist", "ankle", "chest"), lying=True, start_hour=23, transients_per_still_hour=(5.0, 20.0)),
    Profile("tremor", "rest with long tremor bouts (physiological, essential, parkinsonian)",
            0.4, {"myoclonic": 0.6, "tic": 0.2, "fasciculation": 0.2}, activities={"tremor": 0.5},
            events_per_min={"posture": 0.3, "gesture": 0.2}, fidget_g=(0.003, 0.012),
            placements=("wrist", "forearm")),
    Profile("frequent-twitching", "frequent twitching in bouts (mean 6 per minute) at rest and light activity",
            6.0, {"myoclonic": 0.4, "fasciculation": 0.3, "tic": 0.3}, twitch_bouts=True,
            activities={"typing": 0.1, "walk": 0.05, "mouse": 0.05, "phone": 0.05},
            events_per_min={"posture": 0.4, "gesture": 0.4, "knock": 0.03},
            fidget_g=(0.003, 0.015), placements=("forearm", "calf", "wrist")),
    Profile("healthy-day", "ordinary life: desk work, phone, a meal, talking, walking, brushing, rest, "
            "occasional twitches",
            0.3, _EVERYDAY_KINDS, activities={"typing": 0.12, "mouse": 0.08, "phone": 0.07, "eating": 0.05,
                                              "gesturing": 0.04, "walk": 0.12, "run": 0.02, "fidget": 0.04,
                                              "fidget-spikes": 0.03, "tapping": 0.01, "brushing": 0.01},
            events_per_min={"posture": 0.5, "gesture": 0.5, "knock": 0.05, "clap": 0.01, "sit-hard": 0.05,
                            "jump": 0.01},
            fidget_g=(0.004, 0.03), placements=("wrist", "forearm", "ankle", "waist"), start_hour=8),
    Profile("no-twitch", "ordinary life with no twitches at all: a false-alarm check",
            0.0, _EVERYDAY_KINDS, activities={"typing": 0.12, "mouse": 0.08, "phone": 0.08, "eating": 0.05,
                                              "gesturing": 0.05, "walk": 0.15, "run": 0.03, "fidget": 0.05,
                                              "fidget-spikes": 0.04, "tapping": 0.02, "brushing": 0.02},
            events_per_min={"posture": 0.6, "gesture": 0.6, "knock": 0.1, "clap": 0.02, "sit-hard": 0.05,
                            "jump": 0.02},
            fidget_g=(0.004, 0.03), placements=("wrist", "forearm", "ankle", "waist"), start_hour=8),
    Profile("free-living", "a free-living day on the wrist: typing, mouse, phone, a meal, talking, walking, "
            "fidgeting, still stretches with their small transients; occasional twitches",
            0.2, _EVERYDAY_KINDS, activities={"typing": 0.12, "mouse": 0.1, "phone": 0.1, "eating": 0.08,
                                              "gesturing": 0.05, "walk": 0.1, "fidget": 0.03, "fidget-spikes": 0.05,
                                              "tapping": 0.02, "brushing": 0.01},
            events_per_min={"posture": 0.5, "gesture": 0.4, "knock": 0.05, "clap": 0.005, "sit-hard": 0.03,
                            "jump": 0.005},
            fidget_g=(0.004, 0.025), placements=("wrist",), start_hour=10),
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
