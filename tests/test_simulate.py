"""The simulator's public API: labelled sessions, determinism, real-background injection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twitchsense.errors import TwitchsenseError
from twitchsense.io.recording import Recording, read_recording, write_recording
from twitchsense.simulate import (IDEAL_SENSOR, PROFILES, TWITCH_KINDS, SensorModel, inject_twitches, plan_session,
                                  render_session, simulate_session, still_mask)

from tests.conftest import ROOT

REAL_WRIST = sorted((ROOT / "recordings" / "real-wrist").glob("*_sw.csv"))


def test_session_is_a_labelled_recording_that_survives_the_file_format(tmp_path):
    rec = simulate_session("frequent-twitching", 2, seed=2)
    assert rec.acc.shape == (rec.t.size, 3) and rec.t.size > 0.95 * 2 * 60 * 100
    assert np.all(np.diff(rec.t) > 0)
    assert rec.meta["sample_rate_hz"] == 100.0 and rec.meta["placement"] and rec.meta["sensor"]
    lab = rec.labels
    tw = lab[lab.label == "twitch"]
    assert len(tw) >= 3
    assert set(tw.kind) <= set(TWITCH_KINDS)
    assert (tw.peak_g > 0).all() and (tw.duration > 0).all()
    assert {"onset", "duration", "label", "kind", "peak_g"} <= set(lab.columns)
    path = tmp_path / "s.csv"
    write_recording(path, rec)
    back = read_recording(path)
    assert back.n_samples == rec.n_samples
    np.testing.assert_allclose(back.acc, rec.acc, atol=1e-6)
    assert len(back.labels) == len(lab)
    np.testing.assert_allclose(back.labels.onset, lab.onset, atol=1e-6)
    assert list(back.labels.label) == list(lab.label)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_runs_at_any_rate(profile):
    rec = simulate_session(profile, 0.5, seed=1, rate_hz=50.0)
    assert abs(rec.sample_rate_hz - 50.0) < 1e-9
    assert rec.n_samples > 0.9 * 30 * 50
    g = np.linalg.norm(np.median(rec.acc, axis=0))
    assert 0.8 < g < 1.2  # gravity is there


def test_same_seed_gives_byte_identical_files(tmp_path):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
        write_recording(tmp_path / run / "x.csv", simulate_session("healthy-day", 1.5, seed=11))
    for name in ("x.csv", "x.json", "x.events.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = simulate_session("healthy-day", 1.5, seed=12)
    assert not np.array_equal(other.acc[:1000], read_recording(tmp_path / "a" / "x.csv").acc[:1000])


def test_bad_arguments_are_clear_errors():
    with pytest.raises(TwitchsenseError, match="unknown profile 'nap'"):
        simulate_session("nap", 1, 0)
    with pytest.raises(TwitchsenseError, match="minutes must be positive"):
        simulate_session("rest", 0, 0)
    with pytest.raises(TwitchsenseError, match="unknown twitch kind 'sneeze'"):
        inject_twitches(simulate_session("rest", 0.2, 0), 0, kinds=["sneeze"])


@pytest.mark.parametrize("sensor", [IDEAL_SENSOR, None, SensorModel(clock_ppm=280.0, gaps_per_hour=400.0)],
                         ids=["ideal-sensor", "drawn-sensor", "gappy-sensor"])
def test_twitch_labels_line_up_with_the_injected_waveform_within_one_sample(sensor):
    # the drawn sensor has a clock 300 ppm off, noise, offsets and lost frames: labels stay on t
    plan = plan_session("frequent-twitching", 3, seed=5, rate_hz=100.0, sensor=sensor)
    rec, trace = render_session(plan, keep_trace=True)
    # each rendered twitch's own sampled waveform and envelope, on the session's sample index
    events = {r.i0: r for r in trace.events if r.event.label == "twitch"}
    tw = rec.labels[rec.labels.label == "twitch"]
    assert len(tw) == len(events) >= 10
    if sensor is not None and sensor.gaps_per_hour > 100:
        assert len(rec.gaps) >= 5  # lost frames around, but never over, the twitches
    dt = 1 / 100.0
    starts = np.array(sorted(events))
    kept = np.flatnonzero(trace.keep)  # session sample index of each recorded sample
    for onset, dur, peak in zip(tw.onset, tw.duration, tw.peak_g):
        i0, i1 = kept[np.searchsorted(rec.t, [onset - 1e-7, onset + dur - 1e-7])]
        r = events[int(starts[np.searchsorted(starts, i0, side="right") - 1])]
        env = np.concatenate([np.zeros(r.i0), r.envelope, np.zeros(5)])
        # envelope at or above 10 % inside the label, below it one sample outside (within one sample)
        assert env[i0:i1 + 1].min() >= 0.1
        assert env[max(i0 - 2, 0)] < 0.1 and env[i1 + 2] < 0.1
        assert peak == pytest.approx(np.linalg.norm(r.acc, axis=1).max(), abs=2e-6)
        assert trace.keep[i0:i1 + 1].all()  # never inside lost frames
        assert np.isin(np.round([onset, onset + dur], 6), np.round(rec.t, 6)).all()
    if sensor is IDEAL_SENSOR:
        k = int(round(tw.onset.iloc[0] / dt))  # no lost frames, no jitter: t = i / rate
        moved = np.linalg.norm(rec.acc[k:k + 10] - trace.gravity[k:k + 10], axis=1).max()
        assert moved > 0.5 * tw.peak_g.iloc[0]


def _check_injection(rec: Recording, out: Recording) -> int:
    """Everything injected lies where the wearer is still; old labels are kept. Returns the count."""
    mask = still_mask(rec)
    old = out.labels[out.labels.get("note", pd.Series("", index=out.labels.index)) != "injected"]
    pd.testing.assert_frame_equal(old[["onset", "duration", "label"]].reset_index(drop=True),
                                  rec.labels[["onset", "duration", "label"]].reset_index(drop=True))
    changed = np.linalg.norm(out.acc - rec.acc, axis=1) > 1e-12
    assert np.all(mask[changed])  # nothing added where the wearer moves
    new = out.labels[out.labels.get("note", pd.Series("", index=out.labels.index)) == "injected"]
    moving = rec.labels[~rec.labels.label.isin(["seated"])]
    step = max(out.info["grid_g"] or [0.0])
    for onset, dur, peak in zip(new.onset, new.duration, new.get("peak_g", [])):
        a, b = np.searchsorted(rec.t, [onset, onset + dur])
        # a twitch changes the readings unless the sensor's grid is too coarse for it
        assert mask[a:b + 1].all() and (changed[a:b + 1].any() or peak < step)
        assert not ((moving.onset < onset + dur) & (moving.onset + moving.duration > onset)).any()
    assert (new.label == "twitch").all()
    for onset, lead in zip(new.onset, new.get("still_before_s", [])):  # still for that long before the onset
        a, b = np.searchsorted(rec.t, [onset - lead - 0.002, onset])  # lead is rounded to 1 ms
        assert lead > 0 and mask[a:b + 1].all() and (a == 0 or not mask[a - 1])
    return len(new)


def test_injection_adds_twitches_only_where_the_wearer_is_still():
    rec = simulate_session("healthy-day", 8, seed=3)
    assert 0.05 < still_mask(rec).mean() < 0.95  # a mixed session: some still, some moving
    before = rec.acc.copy()
    out = inject_twitches(rec, seed=1, rate_per_min=10.0)
    assert _check_injection(rec, out) >= 10
    np.testing.assert_array_equal(rec.acc, before)  # the input is not modified
    again = inject_twitches(rec, seed=1, rate_per_min=10.0)
    np.testing.assert_array_equal(again.acc, out.acc)


@pytest.mark.skipif(not REAL_WRIST, reason="recordings/real-wrist not present")
def test_injection_into_real_wrist_sessions():
    total = 0
    for path in REAL_WRIST:
        rec = read_recording(path)
        out = inject_twitches(rec, seed=1, rate_per_min=600.0)
        total += _check_injection(rec, out)
    assert total >= 1  # these short sit-walk-sit sessions have under 1 s of still time each


def test_injection_on_a_quiet_simulated_session_hits_the_requested_rate():
    rec = simulate_session("sleep-onset", 10, seed=2)
    still_min = still_mask(rec).mean() * 10
    base = (rec.labels.label == "twitch").sum()
    out = inject_twitches(rec, seed=4, rate_per_min=6.0, kinds=["myoclonic", "hypnic"])
    added = (out.labels.label == "twitch").sum() - base
    assert set(out.labels[out.labels.note == "injected"].kind) <= {"myoclonic", "hypnic"}
    expected = 6.0 * still_min
    assert abs(added - expected) < 4 * np.sqrt(expected) + 3
    assert out.labels.onset.is_monotonic_increasing


def test_sensor_faults_are_in_the_data_and_labelled():
    plan = plan_session("rest", 10, seed=1, sensor=SensorModel(faults_per_hour=60.0))
    rec, _ = render_session(plan)
    stuck = rec.labels[rec.labels.label == "stuck_axis"]
    jumps = rec.labels[rec.labels.label == "offset_jump"]
    assert len(stuck) >= 1 and len(jumps) >= 1
    for onset, dur in zip(stuck.onset, stuck.duration):
        m = (rec.t >= onset - 1e-9) & (rec.t <= onset + dur + 1e-9)
        assert (np.ptp(rec.acc[m], axis=0) == 0).sum() >= 1  # one axis holds its reading
    tw = rec.labels[rec.labels.label == "twitch"]
    for onset in jumps.onset:  # faults keep clear of twitches
        assert np.all(np.abs(tw.onset.to_numpy() - onset) > 0.5)
    assert "offset_jump" not in set(simulate_session("rest", 10, seed=1, sensor=IDEAL_SENSOR).labels.label)


def test_quiet_is_never_perfectly_quiet():
    plan = plan_session("rest", 10, seed=3)
    assert sum(e.label == "micro" for e in plan.events) >= 5  # unlabelled micro-movements
    rec, _ = render_session(plan)
    assert "micro" not in set(rec.labels.label)
    # movement above the 1 s mean in still stretches: a few mg or more, never the bare noise floor
    from twitchsense.detection.preprocess import moving_mean

    dyn = np.linalg.norm(rec.acc - moving_mean(rec.acc, 100), axis=1)
    assert 0.004 < np.median(dyn) < 0.03


@pytest.mark.parametrize("rate", [25.0, 104.0, 1000.0])
def test_any_rate_from_25_to_1000_hz(rate):
    rec = simulate_session("frequent-twitching", 0.5, seed=1, rate_hz=rate)
    step = np.diff(rec.t)
    assert np.median(step) == pytest.approx(1 / rate, rel=1e-9)
    tw = rec.labels[rec.labels.label == "twitch"]
    assert len(tw) >= 1
    # every label edge is a sample time of the recording
    assert np.isin(np.round(tw.onset, 6), np.round(rec.t, 6)).all()
