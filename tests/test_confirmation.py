"""The confirmation stage (issue 17): each rule on hand-made signals, then through the engine and ``detect``;
the context's physics (an unjudged clip start, an impact's unjudged second)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from twitchsense.detection.config import DetectorConfig, is_trunk
from twitchsense.detection.confirmation import Confirmer
from twitchsense.detection.engine import DetectionEngine, detect_recording
from twitchsense.detection.model import save_model
from twitchsense.io.recording import write_recording

from handmade import damped, handmade, tiny_model

FS = 100.0
CFG = DetectorConfig()


@pytest.fixture(scope="module")
def model():
    return tiny_model()[0]


def still(seconds: float = 10.0, seed: int = 0, noise_g: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * FS)) / FS
    return t, rng.normal(0, noise_g, (t.size, 3)) + np.array([0.0, 0.0, 1.0])


def judge(t: np.ndarray, x: np.ndarray, at: float, peak_g: float, placement: str = "wrist",
          duration_s: float = 0.15):
    """The judgement of an event at ``at`` (the stretch: 3 s before to 3 s after, as the engine cuts it)."""
    i0, i1 = int(at * FS), int((at + duration_s) * FS) - 1
    a, b = max(0, i0 - 300), i1 + 1 + 300
    return Confirmer(CFG, FS, placement).judge(x[a:b], i0 - a, i1 - a, peak_g)


def twitch(t: np.ndarray, at: float, amp: float, f: float = 10.0, tau: float = 0.04, axis: int = 1) -> np.ndarray:
    out = np.zeros((t.size, 3))
    out[:, axis] = amp * damped(t - at, f, tau)
    return out


def test_an_isolated_twitch_at_rest_is_confirmed():
    t, x = still()
    x += twitch(t, 5.0, 0.2)
    assert judge(t, x, 5.0, 0.2).reason == ""


def test_an_impact_is_retracted_at_the_trunk_above_1_g_and_at_a_limb_above_1_5_g():
    """The largest twitch at the skin is a hypnic jerk, up to 1.5 g at a limb; the trunk's mass makes
    its jerks smaller. A jump landing or sitting down hard is 2-5 g at the waist."""
    t, x = still()
    x += twitch(t, 5.0, 1.2)
    assert judge(t, x, 5.0, 1.2, "waist (belt)").reason == "impact"
    assert judge(t, x, 5.0, 1.2, "trouser pocket").reason == "impact"
    assert judge(t, x, 5.0, 1.2, "wrist").reason == ""
    assert judge(t, x, 5.0, 1.2, "").reason == ""  # unknown: a limb
    assert judge(t, x, 5.0, 1.6, "").reason == "impact"
    assert [is_trunk(p) for p in ("lower back", "hip", "waist (device fixed to the belt)", "left ankle",
                                  "wrist (side not recorded)", "microchip on the forearm", None)] == \
        [True, True, True, False, False, False, False]


def test_a_voluntary_movement_that_follows_retracts_the_event_a_second_twitch_does_not():
    """A reach starts with a flick; the sustained movement proving it voluntary follows 0.5-2 s
    later. The next twitch of a bout (a block or two) is no movement."""
    t, x = still()
    x += twitch(t, 4.0, 0.15)
    reach = (t >= 4.8) & (t < 8.0)
    moving = x.copy()
    moving[reach, 0] += 0.25 * np.sin(2 * np.pi * 2.5 * t[reach])
    j = judge(t, moving, 4.0, 0.15)
    assert j.reason == "movement-follows" and j.active_share >= 0.6
    assert judge(t, x + twitch(t, 5.0, 0.15), 4.0, 0.15).reason == ""


def test_a_posture_change_after_the_event_retracts_it_a_small_settling_shift_does_not():
    """Gravity turned by 30 degrees or more 2-3 s after: the limb moved to a new posture (slowly, so no
    block reaches the active level). The 3-20 degree shift after a hypnic jerk is no movement."""
    t, x = still()
    x += twitch(t, 4.0, 0.15)

    def tilted(deg: float) -> np.ndarray:
        ang = np.radians(deg) * np.clip((t - 4.5) / 1.5, 0, 1)
        y = x.copy()
        y[:, 0] += np.sin(ang)
        y[:, 2] += np.cos(ang) - 1.0
        return y
    j = judge(t, tilted(45), 4.0, 0.15)
    assert j.reason == "movement-follows" and 30 <= j.tilt_deg <= 46 and j.active_share < 0.6
    assert judge(t, tilted(15), 4.0, 0.15).reason == ""


def test_a_twitch_that_moves_the_limb_to_a_new_posture_is_confirmed():
    """A jerk can leave the limb turned (here 45 degrees, within the twitch's 0.15 s) and at rest: the
    turn happened during the event, not after it, so no voluntary movement follows. The same turn
    made slowly after the event (the previous test) is a posture change."""
    t, x = still()
    x += twitch(t, 4.0, 0.3)
    ang = np.radians(45) * np.clip((t - 4.0) / 0.15, 0, 1)
    x[:, 0] += np.sin(ang)
    x[:, 2] += np.cos(ang) - 1.0
    j = judge(t, x, 4.0, 0.3)
    assert j.reason == "" and j.tilt_deg < 10


def tic_run(t: np.ndarray, ats: tuple, amps: tuple, duration_s: float = 0.5) -> np.ndarray:
    """Tics: 5 Hz bursts of ``duration_s`` (a sine under a half-sine envelope), limb at rest between."""
    out = np.zeros((t.size, 3))
    for at, amp in zip(ats, amps):
        u = (t - at) / duration_s
        inside = (u >= 0) & (u < 1)
        out[inside, 1] += amp * np.sin(np.pi * u[inside]) * np.sin(2 * np.pi * 5.0 * (t[inside] - at))
    return out


def test_the_next_tics_of_a_run_are_no_movement_and_no_lasting_unrest():
    """Tics come in runs, seconds or less apart, the limb back to rest between: the following tics
    (brief bursts, each under 1 s) count as rest, so neither movement-follows nor not-at-rest
    retracts the first. Movement that goes on past 1 s still does."""
    t, x = still()
    run = x + tic_run(t, (4.0, 4.9, 5.8, 6.7), (0.4, 0.5, 0.4, 0.5))
    j = judge(t, run, 4.0, 0.4, duration_s=0.5)
    assert j.reason == "" and j.level_after_g < 0.03
    going_on = x + tic_run(t, (4.0,), (0.4,)) + tic_run(t, (4.9,), (0.5,), duration_s=3.0)
    assert judge(t, going_on, 4.0, 0.4, duration_s=0.5).reason in ("movement-follows", "not-at-rest")


def test_a_limb_that_does_not_come_back_to_rest_retracts_the_event():
    """Movement that stays up (here 50 mg, under the active level) after the event is a movement that
    started; the same level before the event too is the background it was found on."""
    t, x = still(seed=1)
    x += twitch(t, 4.0, 0.15)
    rng = np.random.default_rng(2)
    fidget = rng.normal(0, 0.05, t.size)
    after = x.copy()
    after[t >= 4.3, 0] += fidget[t >= 4.3]
    j = judge(t, after, 4.0, 0.15)
    assert j.reason == "not-at-rest" and j.level_after_g >= 0.03 and j.active_share < 0.6
    throughout = x.copy()
    throughout[:, 0] += fidget
    assert judge(t, throughout, 4.0, 0.15).reason != "not-at-rest"


def test_a_small_event_in_a_train_of_transients_is_retracted_a_tic_in_a_run_is_not():
    """Typing and fidgeting are trains of small transients at 3-10/s; tics repeat in runs, but at 0.1-1 g."""
    t, x = still()
    train = x.copy()
    for at in (3.4, 3.9, 4.0, 4.6, 5.1):
        train += twitch(t, at, 0.08, f=15.0, tau=0.02)
    j = judge(t, train, 4.0, 0.08, duration_s=0.1)
    assert j.reason == "train" and j.transients >= 2
    tics = x.copy()
    for at in (3.4, 4.0, 4.6):
        tics += twitch(t, at, 0.3, f=15.0, tau=0.02)
    assert judge(t, tics, 4.0, 0.3, duration_s=0.1).reason == ""
    lone = x + twitch(t, 4.0, 0.08, f=15.0, tau=0.02)
    assert judge(t, lone, 4.0, 0.08, duration_s=0.1).transients == 0


def test_detect_reports_retracted_events_apart_with_their_reason(model, run_main, tmp_path):
    """Through the engine ``detect`` runs: a twitch followed by a reach is retracted; the isolated
    twitches stay confirmed; the two lists hold each event once. ``NAME.detected.csv`` has the
    confirmed one only; ``--retracted`` writes the other with its reason."""
    rec = handmade(120, minutes=1.0, n_twitch=0, tremor=False)
    t = rec.t
    for at in (10.0, 30.0):
        rec.acc += twitch(t, at, 0.2)
    reach = (t >= 30.8) & (t < 34.0)
    rec.acc[reach, 0] += 0.3 * np.sin(2 * np.pi * 2.0 * t[reach])
    res = detect_recording(rec, model)
    assert [round(e.onset) for e in res.events] == [10]
    assert [(round(e.onset), e.reason) for e in res.retracted] == [(30, "movement-follows")]
    assert all(e.status == "confirmed" and e.reason == "" for e in res.events)
    off = dataclasses.replace(model, config=dataclasses.replace(model.config, confirm=False))
    assert [round(e.onset) for e in detect_recording(rec, off).events] == [10, 30]
    write_recording(tmp_path / "r.csv", rec)
    save_model(model, tmp_path / "m.skops")
    rc, out, _ = run_main("detect", tmp_path / "r.csv", "-o", tmp_path / "out", "--model", tmp_path / "m.skops",
                          "--retracted")
    assert rc == 0 and "r: 1 twitch (1 more retracted on confirmation)" in out
    detected = pd.read_csv(tmp_path / "out" / "r.detected.csv")
    retracted = pd.read_csv(tmp_path / "out" / "r.retracted.csv")
    assert list(detected.onset.round()) == [10] and "reason" not in detected
    assert list(retracted.onset.round()) == [30] and list(retracted.reason) == ["movement-follows"]


def test_an_impact_makes_its_block_and_the_next_second_cannot_tell(model):
    """At the waist, a 3 g landing: its block and the second after it are 'active' (the body and the
    sensor ring); a twitch-like bump 0.5 s after it is not judged, the same bump 3 s later is."""
    rec = handmade(121, minutes=0.5, n_twitch=0, tremor=False)
    rec.meta["placement"] = "waist"
    rec.acc += twitch(rec.t, 10.0, 6.0, f=8.0, tau=0.05, axis=2)  # about 3 g at its peak
    for at in (10.6, 14.0):
        rec.acc += twitch(rec.t, at, 0.15)
    eng = DetectionEngine(model.features, dataclasses.replace(model.config, confirm=False), rec.sample_rate_hz,
                          scorer=lambda F: (np.ones(len(F)), np.ones((len(F), 1))), placement="waist")
    events = eng.push(rec.t, rec.acc) + eng.flush()
    assert [round(e.onset) for e in events if e.onset > 11] == [14]
    assert not any(10.3 < e.onset < 11.0 for e in events)
    active = [(s.start, s.end) for s in eng.context_spans() if s.state == "active"]
    assert active[0] == (0.0, 2.25)  # the clip's first 2.25 s: no past to judge from
    (a, b), = [s for s in active[1:] if s[0] <= 10.1 < s[1]]
    assert a == pytest.approx(10.0, abs=0.25) and b - 10.0 >= 1.0


def test_a_check_the_configuration_leaves_out_does_not_retract_but_is_still_measured():
    """``confirm_checks`` (chosen by ``train`` on the trainer's own data) says which reasons apply; a
    model file written before the field applies them all."""
    t, x = still()
    x += twitch(t, 4.0, 0.15)
    reach = (t >= 4.8) & (t < 8.0)
    x[reach, 0] += 0.25 * np.sin(2 * np.pi * 2.5 * t[reach])
    i0, i1 = 400, 414
    stretch = x[100:715]
    every = Confirmer(CFG, FS, "wrist").judge(stretch, i0 - 100, i1 - 100, 0.15)
    assert every.reason == "movement-follows" and "movement-follows" in every.holds
    assert every.holds == ("movement-follows", "not-at-rest")  # a reach also keeps the limb from rest
    no_follow = DetectorConfig(confirm_checks="impact,not-at-rest,train")
    assert Confirmer(no_follow, FS, "wrist").judge(stretch, i0 - 100, i1 - 100, 0.15).reason == "not-at-rest"
    fewer = DetectorConfig(confirm_checks="impact,train")
    j = Confirmer(fewer, FS, "wrist").judge(stretch, i0 - 100, i1 - 100, 0.15)
    assert j.reason == "" and j.holds == every.holds
    old = {k: v for k, v in CFG.to_dict().items() if k != "confirm_checks"}
    assert DetectorConfig.from_dict(old).checks == ("impact", "movement-follows", "not-at-rest", "train")
    with pytest.raises(ValueError, match="unknown confirmation checks wobble"):
        DetectorConfig(confirm_checks="impact,wobble")
