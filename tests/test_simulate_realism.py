"""Simulator realism (issue 17): sensors as they are, free-living look-alikes, injection on the sensor's grid.

Each test checks a documented figure of docs/simulator.md on seeded draws;
counts are allowed 4 standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.io.recording import Recording
from twitchsense.simulate import IDEAL_SENSOR, inject_twitches, plan_session, render_session, simulate_session
from twitchsense.simulate import waveforms as W
from twitchsense.simulate.sensor import (COARSE_GRIDS, FAMILY_WEIGHTS, LOGGER_GRIDS, SensorModel, draw_sensor,
                                         reading_grid, snap_to_grid)


def _on_grid(x: np.ndarray, grid) -> bool:
    return bool(np.allclose(snap_to_grid(x.copy(), grid), x, rtol=0, atol=1e-9))


# ---------------------------------------------------------------------------------------------- sensors


def test_sensor_families_are_drawn_in_their_shares_with_their_steps():
    draws = [draw_sensor(np.random.default_rng(s)) for s in range(600)]
    for fam, w in FAMILY_WEIGHTS.items():
        share = np.mean([d.family == fam for d in draws])
        assert abs(share - w) < 4 * np.sqrt(w * (1 - w) / len(draws)), fam
    steps = {fam: {round(d.lsb_g * 1e3, 2) for d in draws if d.family == fam} for fam in FAMILY_WEIGHTS}
    assert steps["coarse"] == {round(2 * r / 2 ** b * 1e3, 2) for b, r in COARSE_GRIDS} == {3.91, 7.81, 15.62}
    assert steps["logger"] == {round(1e3 / 256, 2), round(1e3 / 64, 2)} == {round(2 * r / 2 ** b * 1e3, 2)
                                                                            for b, r in LOGGER_GRIDS}
    assert max(steps["board16"]) < 0.5 and max(steps["app"]) < 0.5  # 16-bit parts stay in the mix
    loggers = [d for d in draws if d.family == "logger"]
    assert all(d.gaps_per_hour == 0 and d.jitter_s == 0 for d in loggers)  # a crystal and its own memory
    assert all(0.0005 <= d.jitter_s <= 0.003 and d.stamp_res_s == 0.001 for d in draws if d.family == "app")
    for d in draws:
        assert 0.0015 <= d.noise_g <= 0.005 and abs(d.clock_ppm) <= 300


def test_a_still_coarse_sensor_repeats_its_reading():
    # a 1/64 g logger on a wearer falling asleep: each axis repeats its reading for seconds while its
    # value sits inside a step (no stuck axis: no fault label)
    sensor = SensorModel(range_g=8.0, bits=10, noise_g=0.002, family="logger", gaps_per_hour=0.0)
    rec = simulate_session("sleep-onset", 5, seed=2, sensor=sensor)
    grid = reading_grid(rec.acc)
    assert grid is not None and all(s == pytest.approx(1 / 64, rel=1e-6) for s, _ in grid)
    longest = []
    for k in range(3):
        d = np.diff(np.concatenate([[0], (np.diff(rec.acc[:, k]) == 0).astype(np.int8), [0]]))
        longest.append((np.flatnonzero(d == -1) - np.flatnonzero(d == 1)).max() / rec.sample_rate_hz)
    assert max(longest) >= 5.0
    assert not ({"stuck_axis", "offset_jump"} & set(rec.labels.label))


def test_host_time_stamps_jitter_on_a_millisecond_grid():
    sensor = SensorModel(jitter_s=0.002, stamp_res_s=0.001, family="app", gaps_per_hour=0.0)
    rec = simulate_session("rest", 2, seed=1, rate_hz=100.0, sensor=sensor)
    step = np.diff(rec.t)
    assert np.all(step > 0) and np.allclose(rec.t * 1000, np.round(rec.t * 1000), atol=1e-6)
    assert np.median(step) == pytest.approx(0.01, abs=0.0011)
    # differences of two independent errors of sd 2 ms (rounded to 1 ms): sd about 2.8 ms
    assert 0.0022 < step.std() < 0.0034
    tw = rec.labels[rec.labels.label == "twitch"]
    assert np.isin(np.round(tw.onset, 6), np.round(rec.t, 6)).all()  # labels sit on the recorded stamps
    board = simulate_session("rest", 2, seed=1, rate_hz=100.0, sensor=SensorModel(gaps_per_hour=0.0))
    assert np.allclose(np.diff(board.t), 0.01)  # a board's counter does not jitter


@pytest.mark.parametrize("family", sorted(FAMILY_WEIGHTS))
def test_the_grid_of_a_simulated_sensor_is_found_from_its_readings(family):
    plan = plan_session("rest", 1, seed=4, sensor=draw_sensor(np.random.default_rng(9), family))
    rec, _ = render_session(plan)
    grid = reading_grid(rec.acc)
    assert grid is not None
    assert all(s == pytest.approx(plan.sensor.lsb_g, rel=1e-3) for s, _ in grid)
    assert _on_grid(rec.acc, grid)


def test_reading_grid_handles_calibrated_loggers_and_refuses_floats():
    rng = np.random.default_rng(0)
    counts = np.round(rng.normal(0, 60, (3000, 3)))
    # a calibrated logger: counts x 1/256 g x a per-axis gain, plus an offset, written with 4 decimals
    gain, offset = np.array([1.011, 0.993, 1.004]), np.array([0.0123, -0.004, 0.031])
    x = np.round(counts / 256 * gain + offset, 4)
    grid = reading_grid(x)
    assert grid is not None
    for (step, origin), g, o in zip(grid, gain, offset):
        assert step == pytest.approx(g / 256, rel=2e-3)
        assert (origin - o) / step == pytest.approx(round((origin - o) / step), abs=0.05)
    assert reading_grid(rng.normal(0, 0.3, (3000, 3))) is None  # no grid at all
    assert reading_grid(np.round(rng.normal(0, 0.3, (3000, 3)), 6)) is None  # only the file's decimals


# ---------------------------------------------------------------------------------------------- injection


def _logger_session(minutes: float = 6, seed: int = 3) -> Recording:
    sensor = SensorModel(range_g=8.0, bits=10, noise_g=0.002, family="logger", gaps_per_hour=0.0)
    return simulate_session("sleep-onset", minutes, seed, sensor=sensor)


def test_injected_twitches_land_on_the_sensors_own_grid():
    rec = _logger_session()
    grid = reading_grid(rec.acc)
    out = inject_twitches(rec, seed=2, rate_per_min=6.0)
    assert out.info["injected"] >= 10 and out.info["grid_g"] == pytest.approx([1 / 64] * 3)
    changed = np.any(out.acc != rec.acc, axis=1)
    assert changed.sum() > 20
    assert _on_grid(out.acc, grid)
    # every change is a whole number of steps: off-grid samples would say "injected" by themselves
    steps = (out.acc - rec.acc)[changed] * 64
    assert np.allclose(steps, np.round(steps), atol=1e-6)
    # the same twitches added without the grid would be off it (so this test can fail)
    raw = rec.acc.copy()
    raw[changed] += (out.acc - rec.acc)[changed] + 0.3 / 64
    assert not _on_grid(raw, grid)


def test_injection_into_a_recording_without_a_grid_adds_the_waveform_as_it_is():
    rec = simulate_session("sleep-onset", 4, seed=1, sensor=IDEAL_SENSOR)
    assert reading_grid(rec.acc) is None
    out = inject_twitches(rec, seed=1, rate_per_min=6.0)
    assert out.info["grid_g"] is None and out.info["injected"] >= 5


def test_injection_says_why_it_injected_nothing():
    t = np.arange(3000) / 100.0
    moving = np.column_stack([0.3 * np.sin(2 * np.pi * 1.5 * t), np.zeros_like(t), np.ones_like(t)])
    rec = Recording(t=t, acc=moving, meta={"sample_rate_hz": 100.0})
    assert "no still time" in inject_twitches(rec, 0).info["reason"]
    # still, but in 1.2 s pieces between gaps: 0.8 s of each is away from the gaps
    still = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    pieces = t + 2.0 * (np.arange(t.size) // 120)
    info = inject_twitches(Recording(t=pieces, acc=still, meta={"sample_rate_hz": 100.0}), 0).info
    assert info["injected"] == 0 and "no still stretch of 1 s (the longest is 0.79 s" in info["reason"]
    info = inject_twitches(Recording(t=t, acc=still, meta={"sample_rate_hz": 100.0}), 0, rate_per_min=0.001).info
    assert info["injected"] == 0 and info["reason"].startswith("none drawn")


# ---------------------------------------------------------------------------------------------- look-alikes


def test_most_movements_from_rest_start_with_an_onset_flick():
    from twitchsense.simulate.plan import point_event
    from twitchsense.simulate.profiles import PROFILES

    rng = np.random.default_rng(7)
    up = np.array([0.0, 0.0, 1.0])
    moves = [point_event(name, 100.0, rng, up, 100.0, PROFILES["rest"]) for name in ("posture", "gesture")
             for _ in range(300)]
    flicked = [e for e in moves if "flick" in e.params]
    share = W.RANGES["flick"]["share"][0]
    assert abs(len(flicked) / len(moves) - share) < 4 * np.sqrt(share * (1 - share) / len(moves))
    lo, hi = W.RANGES["flick"]["lead_s"]
    for e in flicked:
        f = e.params["flick"]
        assert e.start == 100.0 and lo <= e.params["lead_s"] <= hi
        assert e.params["move_start"] - e.start == pytest.approx(e.params["lead_s"])
        assert 0.05 <= f.peak_g <= 0.3 and 0.04 <= f.duration_s <= 0.2 and f.sign == 1.0
        # in the direction the movement starts in (within 30 degrees)
        assert np.degrees(np.arccos(np.clip(np.dot(f.direction, e.params["direction"]), -1, 1))) <= 30 + 1e-6
    # the flick's shape is drawn like a twitch's: nothing but what follows tells them apart
    for key, (a, b) in W.SHAPE_RANGES.items():
        got = np.array([getattr(e.params["flick"], key) for e in flicked])
        assert a - 1e-9 <= got.min() and got.max() <= b + 1e-9 and np.ptp(got) > 0.6 * (b - a)
    # in a session, movements into a bout have flicks too, and the flicks are in the plan
    plan = plan_session("healthy-day", 120, seed=11)
    assert sum("flick" in e.params for e in plan.events if e.label in ("posture", "gesture")) > 20


def test_a_flick_is_in_the_signal_before_the_movement_and_inside_its_label():
    plan = plan_session("rest", 20, seed=5, sensor=IDEAL_SENSOR)
    rec, trace = render_session(plan, keep_trace=True)
    ev = next(r for r in trace.events if r.event.label == "posture" and "flick" in r.event.params)
    lead = ev.event.params["lead_s"]
    flick_part = ev.acc[: int(0.4 * lead * 100)]
    assert np.linalg.norm(flick_part, axis=1).max() > 0.5 * ev.event.params["flick"].peak_g
    row = rec.labels[(rec.labels.label == "posture") & (abs(rec.labels.onset - ev.event.start) < 0.02)]
    assert len(row) == 1 and row.duration.iloc[0] >= lead


@pytest.mark.parametrize("name", ["jump", "sit-hard"])
def test_impacts_at_the_waist_reach_2_to_4_g(name):
    # with gravity, as the sensor sees it: "jump landings and sitting down hard: 2-4 g at the waist"
    tops = []
    for seed in range(15):
        t, acc, row = W_example(name, seed)
        total = np.linalg.norm(acc + np.array([0.0, 0.0, 1.0]), axis=1)
        tops.append(total.max())
    assert 2.0 - 1e-6 <= min(tops) and max(tops) <= 4.0 + 1e-6
    assert np.ptp(tops) > 0.8


def W_example(name: str, seed: int):
    from twitchsense.simulate.render import example_event

    return example_event(name, seed, 200.0)


def test_a_wrist_sees_smaller_impacts_than_the_waist():
    from twitchsense.simulate.plan import point_event
    from twitchsense.simulate.profiles import PLACEMENTS, PROFILES

    up = np.array([0.0, 0.0, 1.0])
    ev = {p: point_event("jump", 0.0, np.random.default_rng(1), up, 100.0, PROFILES["walking"], p)
          for p in ("waist", "wrist", "ankle")}
    for p in ("wrist", "ankle"):
        assert ev[p].params["impact_g"] == pytest.approx(ev["waist"].params["impact_g"] * PLACEMENTS[p]["impact"])


def test_isolated_transients_on_a_still_limb_come_at_the_healthy_rate():
    lo, hi = W.RANGES["transient"]["per_still_hour"]
    for profile, seed in (("no-twitch", 1), ("rest", 2), ("free-living", 3), ("desk-work", 4)):
        plan = plan_session(profile, 300, seed)
        per_h = plan.background["transients_per_still_hour"]
        assert lo <= per_h <= hi
        bouts = [(e.start, e.start + e.duration) for e in plan.events if e.label in PROFILE_BOUTS]
        free_h = (plan.minutes * 60 - sum(b - a for a, b in bouts)) / 3600
        got = [e for e in plan.events if e.label == "transient"]
        expected = per_h * free_h
        assert abs(len(got) - expected) < 4 * np.sqrt(expected)
        assert all(not any(a < e.start < b for a, b in bouts) for e in got)  # on a still limb
        assert {e.kind for e in got} == {"impact", "jolt"}
        rec, _ = render_session(plan_session(profile, 3, seed))
        assert "transient" not in set(rec.labels.label)  # unlabelled: part of a normal day


PROFILE_BOUTS = ("walk", "run", "typing", "fidget", "brushing", "tremor", "tapping", "fidget-spikes", "mouse",
                 "phone", "eating", "gesturing")


@pytest.mark.parametrize("activity", ["typing", "mouse", "tapping"])
def test_the_hand_keeps_its_posture_at_a_desk(activity):
    plan = plan_session("desk-work", 60, seed=2, sensor=IDEAL_SENSOR)
    rec, trace = render_session(plan, keep_trace=True)
    bouts = [e for e in plan.events if e.label == activity and e.duration > 10]
    assert bouts
    for e in bouts[:3]:
        m = (trace.t_true > e.start + 1) & (trace.t_true < e.start + e.duration - 1)
        up = trace.gravity[m]
        spread = np.degrees(np.arccos(np.clip(up @ (up.mean(axis=0) / np.linalg.norm(up.mean(axis=0))), -1, 1)))
        # only the slow wander of orientation (a few degrees) and twitches' after-shifts: no gesturing
        assert np.percentile(spread, 95) < 6.0


def test_eating_turns_the_forearm_to_the_mouth_and_back():
    plan = plan_session("free-living", 240, seed=6, sensor=IDEAL_SENSOR)
    bites = [e for e in plan.events if e.label == "bite"]
    assert len(bites) >= 20
    lo, hi = W.RANGES["eating"]["lift_deg"]
    rec, trace = render_session(plan, keep_trace=True)
    for b in bites[:10]:
        pr = b.params
        i_table = np.searchsorted(trace.t_true, b.start + 0.5 * pr["manipulate_s"])
        i_mouth = np.searchsorted(trace.t_true, b.start + pr["manipulate_s"] + pr["lift_s"] + 0.5 * pr["hold_s"])
        angle = np.degrees(np.arccos(np.clip(trace.gravity[i_table] @ trace.gravity[i_mouth], -1, 1)))
        assert lo - 8 <= angle <= hi + 8  # the slow orientation wander adds a few degrees
    starts = np.array([b.start for b in bites])
    iv = np.diff(starts)
    lo_i, hi_i = W.RANGES["eating"]["bite_interval_s"]
    within = iv[iv < 60]  # bites of one meal
    assert within.min() >= 5 and np.median(within) <= hi_i and np.median(within) >= lo_i


def test_fidget_spikes_are_sharp_and_0_5_to_2_s_apart():
    from twitchsense.simulate.render import example_event

    for seed in range(5):
        t, acc, row = example_event("fidget-spikes", seed, 30.0, max_duration_s=30.0)
        norm = np.linalg.norm(acc, axis=1)
        peaks = np.flatnonzero((norm[1:-1] > norm[:-2]) & (norm[1:-1] >= norm[2:]) & (norm[1:-1] > 0.3 * norm.max()))
        iv = np.diff(t[peaks + 1])
        assert iv.min() >= 0.5 - 2 / 30 and iv.max() <= 2.0 + 2 / 30
        # at 30 Hz each spike is one or two samples above half its height
        above = norm > 0.5 * norm.max()
        assert np.count_nonzero(above) <= 3 * max(1, peaks.size)


def test_the_free_living_profile_is_a_wrist_day_with_every_hand_activity():
    plan = plan_session("free-living", 480, seed=1)
    labels = {e.label for e in plan.events}
    assert plan.placement == "wrist"
    assert {"typing", "mouse", "phone", "eating", "gesturing", "walk", "fidget-spikes", "tapping", "posture",
            "gesture", "twitch", "transient"} <= labels
