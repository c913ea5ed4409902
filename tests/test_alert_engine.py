"""The alert engine: hysteresis, de-duplication, cool-down, faults, calendar days, restart in the middle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twitchsense.alerts import AlertEngine, alerts_for_events, parse_rules
from twitchsense.errors import TwitchsenseError
from twitchsense.io.outputs import write_alerts
from twitchsense.types import LinkEvent, TwitchEvent

from handmade import days_rule, frequency_rule, rule_file, tick_live

RULES = parse_rules(rule_file(frequency_rule("alert", 1, 1), days_rule("warning", 2, 3),
                              hold_minutes=1, cooldown_minutes=10))


def ev(onset: float, peak: float = 0.2) -> TwitchEvent:
    return TwitchEvent(onset=onset, duration=0.2, peak_g=peak, confidence=0.9)


def summary(changes):
    return [(c.time, c.rule, c.change, c.level, c.notify) for c in changes]


def test_hysteresis_falls_back_one_step_per_hold_before_clearing():
    eng = AlertEngine(RULES)
    assert summary(eng.on_events([ev(10.0)], 10.2)) == [(10.2, "busy", "raised", "alert", True)]
    assert eng.tick(60.0) == []          # condition true until 70
    assert eng.tick(70.0) == []          # below since 70: holding
    assert eng.tick(129.9) == []
    assert summary(eng.tick(130.0)) == [(130.0, "busy", "lowered", "warning", False)]
    assert eng.tick(189.9) == []
    assert summary(eng.tick(190.0)) == [(190.0, "busy", "lowered", "info", False)]
    out = eng.tick(250.0)
    assert summary(out) == [(250.0, "busy", "cleared", "info", False)]
    assert out[0].start == 190.0 and out[0].detail.startswith("0 twitches in the last 1 min")


def test_a_condition_back_while_falling_back_raises_again_without_a_second_notification():
    eng = AlertEngine(RULES)
    eng.on_events([ev(10.0)], 10.2)
    eng.tick(70.0)
    assert summary(eng.tick(130.0))[0][2:4] == ("lowered", "warning")
    # back within the cool-down: the level is raised again (the state is true) but not re-announced
    assert summary(eng.on_events([ev(140.0)], 140.2)) == [(140.2, "busy", "raised", "alert", False)]


def test_a_dip_shorter_than_the_hold_changes_nothing_and_repeats_are_de_duplicated():
    eng = AlertEngine(RULES)
    eng.on_events([ev(10.0)], 10.2)
    assert eng.tick(75.0) == []              # below since 70
    assert eng.on_events([ev(100.0)], 100.2) == []  # back before the hold ran out: no change at all
    assert eng.on_events([ev(110.0), ev(120.0)], 120.2) == []  # same level again: nothing repeated
    assert eng.tick(180.0) == []             # below since 180 (the last event left the window)
    assert eng.tick(239.9) == []
    assert summary(eng.tick(240.0))[0][2:4] == ("lowered", "warning")


def test_cool_down_expires():
    eng = AlertEngine(RULES)
    eng.on_events([ev(0.0)], 0.1)
    for t in (60, 120, 180, 240):
        eng.tick(float(t))
    assert not eng.active()
    assert summary(eng.on_events([ev(300.0)], 300.1))[0][4] is False   # 300 s after: within 10 min
    for t in (360, 420, 480, 540):
        eng.tick(float(t))
    assert summary(eng.on_events([ev(700.0)], 700.1))[0][4] is True    # 700 s after the announcement


def test_days_rule_across_a_local_day_boundary():
    # 23:58 local (UTC+1): stream time 120 s is the next calendar day
    eng = AlertEngine(RULES, start_time="2026-03-01T23:58:00+01:00")
    assert eng.day_of(119.9) + 1 == eng.day_of(120.0)
    eng.on_events([ev(100.0)], 100.1)       # busy met on 1 March
    assert "busy-days" not in eng.active()
    eng.on_events([ev(119.0)], 119.5)       # still 1 March: still one day
    assert "busy-days" not in eng.active()
    out = eng.on_events([ev(121.0)], 121.1)  # 2 March: two of the last three days
    assert summary(out) == [(121.1, "busy-days", "raised", "warning", True)]
    assert "'busy' met on 2 of the last 3 days (threshold 2)" in out[0].detail


def test_days_fall_out_of_the_last_k_days():
    eng = AlertEngine(RULES, start_time="2026-03-01T12:00:00+00:00")
    eng.on_events([ev(0.0)], 0.1)
    eng.on_events([ev(86400.0)], 86400.1)
    assert eng.active()["busy-days"][0] == "warning"
    # two days later only one of the last three days had it: falls back one step, then clears
    eng.tick(3 * 86400.0)
    lowered = eng.tick(3 * 86400.0 + 60)
    assert summary(lowered)[-1][1:4] == ("busy-days", "lowered", "info")


def test_restart_in_the_middle_continues_as_if_never_stopped(tmp_path):
    rng = np.random.default_rng(3)
    onsets = np.sort(rng.uniform(0, 1800, 25))
    times = np.arange(0.0, 2400.0, 5.0)

    def run(engine_factory, split=None):
        out = []
        eng = engine_factory()
        k = 0
        for now in times:
            if split is not None and now == split:
                eng.close()                 # the process stops...
                eng = engine_factory()      # ...and a new one starts from the saved state
            new = [ev(o) for o in onsets[k:] if o <= now]
            k += len(new)
            out += summary(eng.on_events(new, float(now)))
        return out

    start = "2026-03-01T23:50:00+00:00"  # midnight at 600 s: the days rule takes part
    whole = run(lambda: AlertEngine(RULES, start_time=start))
    state = tmp_path / "state.json"
    resumed = run(lambda: AlertEngine(RULES, state_path=state, start_time=start), split=900.0)
    assert whole == resumed and len(whole) > 4
    assert json.loads(state.read_text())["version"] == 1


def test_restart_of_a_new_session_maps_absolute_time(tmp_path):
    state = tmp_path / "state.json"
    a = AlertEngine(RULES, state_path=state, start_time="2026-03-01T10:00:00+00:00")
    a.on_events([ev(10.0)], 10.1)
    # no close(): a level change is saved at once, as a crash would leave it
    b = AlertEngine(RULES, state_path=state, start_time="2026-03-01T10:00:30+00:00")  # 30 s later
    assert b.active()["busy"][:2] == ("alert", pytest.approx(10.1 - 30))
    assert b.on_events([ev(5.0)], 5.1) == []   # still alert: not announced again


def test_a_broken_state_file_is_named(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{not json")
    with pytest.raises(TwitchsenseError, match=r"state\.json: the alert state file cannot be read"):
        AlertEngine(RULES, state_path=state)


FAULTS = parse_rules(rule_file(
    {"name": "no-data", "kind": "no-data", "level": "warning", "seconds": 30},
    {"name": "not-worn", "kind": "not-worn", "level": "info", "minutes": 10, "still_g": 0.01},
    {"name": "saturation", "kind": "saturation", "level": "warning", "count": 5, "window_s": 10}))


def block(t0: float, seconds: float, rate: float = 50.0, noise: float = 0.002, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(int(seconds * rate)) / rate
    acc = rng.normal(0, noise, (t.size, 3)) + [0, 0, 1.0]
    return t, acc


def test_no_data_from_a_gap_and_from_the_link():
    eng = AlertEngine(FAULTS)
    eng.on_samples(*block(0, 10))
    out = eng.on_samples(*block(50, 1))      # 40 s gap: the fault opens at 50 and clears at once
    assert summary(out) == [(50.0, "no-data", "raised", "warning", True),
                            (50.98, "no-data", "cleared", "warning", False)]
    assert out[0].fault and "no data from the sensor for 40 s (threshold 30 s)" in out[0].detail
    assert out[1].detail == "data flowing again after 40 s without data"  # not "no data ... for 0 s"
    out = eng.on_link(LinkEvent("no_data", "no samples for 30 s"), 52.0)
    assert summary(out)[0][1:4] == ("no-data", "raised", "warning")
    out = eng.on_samples(*block(60, 1))
    assert summary(out)[-1][1:3] == ("no-data", "cleared")
    assert out[-1].detail == "data flowing again after 9.02 s without data"  # last sample 50.98, back at 60
    assert eng.on_link(LinkEvent("crc_error", "bad frame"), 61.0) == []


def test_not_worn_after_long_stillness_and_saturation_with_a_known_range():
    eng = AlertEngine(FAULTS, range_g=2.0)
    out = []
    for i in range(78):                       # 13 minutes of a sensor lying still, in 10-s blocks
        out += eng.on_samples(*block(10.0 * i, 10, seed=i))
    raised = [c for c in out if c.rule == "not-worn"]
    assert len(raised) == 1 and 600.0 <= raised[0].time <= 610.0  # judged at the end of each block
    assert "no movement at all for 10 min" in raised[0].detail
    t, acc = block(780, 2, noise=0.05)        # it moves again: not-worn clears
    acc[:6, 0] = 2.0                          # and six samples hit the +/-2 g full scale
    out = eng.on_samples(t, acc)
    assert {(c.rule, c.change) for c in out} == {("not-worn", "cleared"), ("saturation", "raised")}
    assert AlertEngine(FAULTS).on_samples(t, acc) == []  # range unknown: saturation not judged


def test_batch_alerts_for_a_recording_match_the_contract(tmp_path):
    rules = parse_rules(RULES_TEXT_SUSTAINED)
    onsets = np.arange(100.0, 1900.0, 20.0)   # 3/min from 100 s to 1900 s
    alerts = alerts_for_events([ev(o) for o in onsets], 0.0, 3000.0, rules)
    kinds = [(a.rule, a.level) for a in alerts]
    assert kinds == [("busy", "warning"), ("sustained", "alert"), ("busy", "info"), ("sustained", "warning"),
                     ("sustained", "info")]
    first = alerts[0]
    assert first.start == pytest.approx(100.0 + 19 * 20 + 0.2)   # the 20th event ends at 480.2
    sus = alerts[1]
    assert sus.start == pytest.approx(480.0 + 600, abs=1.0)
    assert sus.detail.startswith("29 twitches in the last 10 min, 2.9/min, sustained 10 min")
    assert all(a.end <= 3000.0 for a in alerts)
    write_alerts(tmp_path / "x.alerts.csv", alerts)
    assert (tmp_path / "x.alerts.csv").read_text().splitlines()[0] == "start,end,level,rule,detail"
    assert alerts_for_events([], 0.0, 3000.0, rules) == []


RULES_TEXT_SUSTAINED = rule_file(
    frequency_rule("warning", 2, 10),
    {"name": "sustained", "kind": "persistence", "level": "alert", "per_minute": 2, "window_minutes": 10,
     "minutes": 10, "tolerance_minutes": 1},
    hold_minutes=2)


def test_batch_scheduling_matches_a_fine_live_tick(tmp_path):
    """The batch helper ticks only when a rule can change; a live engine ticking every 0.5 s agrees."""
    rng = np.random.default_rng(1)
    onsets, t = [], 0.0
    while t < 5400:
        rate, seg = rng.choice([0.3, 2.5, 6.0, 0.05]), rng.uniform(300, 1500)
        onsets += list(t + np.sort(rng.uniform(0, seg, rng.poisson(rate * seg / 60))))
        t += seg
    events = [TwitchEvent(float(o), 0.2, float(rng.choice([0.2, 0.6])), 0.9) for o in onsets]
    start = "2026-03-01T23:00:00+01:00"  # midnight inside: the days rule counts two days
    batch = alerts_for_events(events, 0.0, 5400.0, start_time=start)
    ticked = tick_live(AlertEngine(start_time=start, keep_episodes=True), events, 5400.0)
    assert len(batch) == len(ticked) > 10
    assert {a.rule for a in batch} >= {"twitching", "frequent", "frequent-sustained", "strong"}
    for a, b in zip(batch, ticked):
        assert (a.rule, a.level) == (b.rule, b.level)
        assert abs(a.start - b.start) <= 0.5 and abs(a.end - b.end) <= 0.5


@pytest.mark.parametrize("start", ["2026-03-01T23:50:00+00:00",   # UTC
                                   "2026-03-29T23:50:00+02:00"])  # summer time (days follow the start's UTC offset)
def test_a_rule_met_by_a_twitch_a_millisecond_before_midnight_counts_that_day(start):
    """The condition holds from the onset that meets it, not from when the event is known (its end, or
    later live): a twitch at 23:59:59.999 that meets the rule makes it met on that day and the next."""
    from datetime import date

    from twitchsense.io.sessionclock import SessionClock

    rules = parse_rules(rule_file(frequency_rule("alert", 1, 1), days_rule("warning", 2, 3), hold_minutes=0))
    clock = SessionClock(start)
    midnight = clock.day_start(clock.day(0.0) + 1)
    assert midnight == pytest.approx(600.0)
    day1, day2 = date.fromisoformat(start[:10]).toordinal(), date.fromisoformat(start[:10]).toordinal() + 1
    eng = AlertEngine(rules, start_time=start)
    eng.on_events([ev(midnight - 0.001)], midnight + 0.2)  # known at its end, after midnight
    assert eng.days_met["busy"] == {day1, day2}
    eng = AlertEngine(rules, start_time=start)
    eng.on_events([ev(midnight)], midnight + 0.2)  # at midnight: the new day alone
    assert eng.days_met["busy"] == {day2}
    # batch: the same days (events fed at their ends); a twitch 1 ms before midnight and its verdict after
    eng = AlertEngine(rules, start_time=start)
    eng.on_events([ev(midnight - 61.0)], midnight - 60.8)   # met until 1 min after its onset, on day 1
    assert eng.days_met["busy"] == {day1}
    eng.on_events([], midnight + 5.0)
    assert eng.days_met["busy"] == {day1}
