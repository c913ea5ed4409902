"""Rules with ``context = "rest"`` count only sleep-like rest (stretches of the detector's rest context that last)
and forget twitches older than a multiple of their window in clock time; live as batch."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handmade import rule_file, tick_live
from twitchsense.alerts import AlertEngine, RuleError, alerts_for_events, load_rules, parse_rules
from twitchsense.alerts.rulefile import default_rules_path
from twitchsense.alerts.sleeplike import SLEEP_LIKE_DELAY_S, SleepLikeRest
from twitchsense.types import ContextSpan, TwitchEvent

PERIODIC = {"name": "periodic", "kind": "periodic", "level": "warning", "context": "rest", "min_count": 4,
            "min_interval_s": 5, "max_interval_s": 90, "index_per_hour": 15, "window_minutes": 60}
# a rest run 1 s short of 5 min (12 twitches 20 s apart: a series, never sleep-like), then 50 min of rest with a
# series, then the wearer is up (light) for 1.4 h
SPANS = [ContextSpan(0, 600, "light", 0.02), ContextSpan(600, 899, "rest", 0.005),
         ContextSpan(899, 960, "light", 0.02), ContextSpan(960, 3960, "rest", 0.005),
         ContextSpan(3960, 9000, "light", 0.02)]
ONSETS = np.concatenate([np.arange(605, 890, 20.0), np.arange(1000, 1560, 20.0)])
EVENTS = [TwitchEvent(float(o), 0.2, 0.3, 0.9, context="rest") for o in ONSETS]
# the long run's series early: its 16th twitch comes before the run is known to be 5 min long
EARLY = [TwitchEvent(float(o), 0.2, 0.3, 0.9, context="rest") for o in np.arange(965, 1560, 15.0)]
END = 9000.0


def rest_alerts(settings: dict, live: bool, events=EVENTS, end: float = END):
    """The warnings of the periodic rule over ``SPANS`` (the fall-back steps through info left out)."""
    rules = parse_rules(rule_file(PERIODIC, hold_minutes=0, **settings))
    if live:
        alerts = tick_live(AlertEngine(rules, keep_episodes=True), events, end, spans=SPANS)
    else:
        alerts = alerts_for_events(events, 0.0, end, rules=rules, context=SPANS)
    return [a for a in alerts if a.level == "warning"]


def stretches(spans, **kw) -> SleepLikeRest:
    clock = SleepLikeRest(**kw)
    clock.add(spans)
    return clock


def test_a_rest_run_counts_from_its_start_once_it_has_lasted_n_minutes():
    clock = stretches([ContextSpan(0, 299, "rest", 0.0), ContextSpan(299, 400, "light", 0.02),
                       ContextSpan(400, 701, "rest", 0.0)], min_s=300.0)
    assert clock.next_qualified(0.0) == 400 + 300 + SLEEP_LIKE_DELAY_S  # the 4:59 run never qualifies
    before, after = clock.sleep_like(704.9), clock.sleep_like(705.0)
    assert not before.covers(np.array([450.0])).any() and float(before.at(700.0)) == 0.0
    assert after.covers(np.array([100.0, 450.0])).tolist() == [False, True]  # backdated to its start
    assert float(after.at(701.0)) == pytest.approx(301.0)


def test_short_breaks_are_tolerated_only_when_asked_and_the_stretch_stays_mostly_rest():
    # 100 s of rest, then a 5-s break, ten times: 95 % rest, breaks of 5 s
    spans = [ContextSpan(105.0 * i, 105.0 * i + 100, "rest", 0.0) for i in range(10)] + \
        [ContextSpan(1045.0, 1200.0, "light", 0.02)]
    assert stretches(spans, min_s=300.0).next_qualified(0.0) == np.inf
    tolerant = stretches(spans, min_s=300.0, gap_s=10.0, fraction=0.9)
    assert tolerant.next_qualified(0.0) == pytest.approx(300.0 + SLEEP_LIKE_DELAY_S)
    assert float(tolerant.sleep_like(1e9).at(1e9)) == pytest.approx(1000.0)  # the breaks are no rest time
    assert stretches(spans, min_s=300.0, gap_s=4.0, fraction=0.9).next_qualified(0.0) == np.inf  # breaks too long
    assert stretches(spans, min_s=300.0, gap_s=10.0, fraction=0.97).next_qualified(0.0) == np.inf  # too little rest


def test_a_healthy_day_of_short_rest_runs_with_a_burst_of_twitches_raises_nothing():
    """Like one healthy person's real wrist day: rest runs of 8-60 s broken by light movement every few seconds to
    a minute, and in them a burst of 17 twitches 10-25 s apart (a periodic series by its intervals). Counted against
    an hour of rest time it was a periodic-series warning, and stayed up all day; no such rest is sleep-like."""
    rng = np.random.default_rng(17)
    spans, onsets, t = [], [], 0.0
    while t < 3600.0:
        rest = float(rng.uniform(8, 60))
        spans.append(ContextSpan(t, t + rest, "rest", 0.005))
        if 600 <= t < 900:
            onsets += list(t + np.arange(2.0, rest - 1.0, 15.0))
        t += rest
        light = float(rng.uniform(2, 20))
        spans.append(ContextSpan(t, t + light, "light", 0.03))
        t += light
    assert 17 <= len(onsets) <= 25
    events = [TwitchEvent(float(o), 0.2, 0.15, 0.95, context="rest") for o in onsets]
    alerts = alerts_for_events(events, 0.0, t, load_rules(), context=spans, placement="wrist")
    assert [a for a in alerts if a.level in ("warning", "alert")] == []
    anyrest = parse_rules(default_rules_path().read_text().replace("sleep_like_minutes = 5", "sleep_like_minutes = 0"))
    before = alerts_for_events(events, 0.0, t, anyrest, context=spans, placement="wrist")
    assert [a.rule for a in before if a.level == "warning"] == ["periodic-series"]  # what any rest made of it


def test_a_run_just_short_of_n_never_counts_and_a_long_one_counts_once_known_long():
    anyrest = rest_alerts({"sleep_like_minutes": 0}, live=False)
    sleep = rest_alerts({}, live=False)  # the default: 5 min
    assert [a.rule for a in anyrest] == [a.rule for a in sleep] == ["periodic"]
    # any rest: the short run's 15 and the long run's first 4 (a series from its 4th) make 19 > 15
    assert anyrest[0].start == pytest.approx(1060.2)
    # sleep-like: the 15 never count; the long run's 16th twitch (onset 1300) comes after it qualified (1265)
    assert 960 + 300 + SLEEP_LIKE_DELAY_S <= sleep[0].start == pytest.approx(1300.2)
    assert sleep[0].detail.startswith("16 twitches in 1 periodic series")
    # twitches from a run's first minutes count once it qualifies, not before (a live monitor cannot know)
    early = rest_alerts({}, live=False, events=EARLY)
    assert early[0].start == pytest.approx(960 + 300 + SLEEP_LIKE_DELAY_S)
    assert early[0].detail.startswith("20 twitches")  # onsets 965-1250: all known by 1265


@pytest.mark.parametrize("settings, events", [({}, EVENTS), ({}, EARLY),
                                              ({"sleep_like_gap_seconds": 90, "sleep_like_fraction": 0.8}, EVENTS)])
def test_sleep_like_rest_batch_matches_a_fine_live_tick(settings, events):
    """Ticked every 0.5 s with the context handed in as it grows; the clock cap at one window, so that the warning
    also falls back within the 1.5 h."""
    settings = {**settings, "clock_cap_windows": 1}
    batch = rest_alerts(settings, live=False, events=events, end=5400.0)
    live = rest_alerts(settings, live=True, events=events, end=5400.0)
    assert len(batch) == len(live) >= 1 and batch[-1].end < 5400.0
    for a, b in zip(batch, live):
        assert (a.rule, a.level, a.detail) == (b.rule, b.level, b.detail)
        assert abs(a.start - b.start) <= 0.5 and abs(a.end - b.end) <= 0.5


def test_a_night_warning_falls_back_in_clock_time_while_the_wearer_is_up():
    """The rest clock stands still while the wearer is up: without a clock-time cap the night's series would
    fill the last 60 rest minutes all day. The window also ends 2 x 60 min back in clock time."""
    capped = rest_alerts({}, live=False)
    last = float(ONSETS[-1])
    assert len(capped) == 1 and capped[0].end == pytest.approx(last - 15 * 20 + 2 * 3600, abs=1.0)
    # as many windows as asked: 10 x 60 min reach past the end of the recording
    assert rest_alerts({"clock_cap_windows": 10}, live=False)[0].end == END


@pytest.mark.parametrize("key, value, message", [
    ("sleep_like_minutes", -1, r"r\.toml: \[settings\]: sleep_like_minutes must be a number of 0 or more, got -1"),
    ("sleep_like_gap_seconds", "10", r"\[settings\]: sleep_like_gap_seconds must be a number of 0 or more"),
    ("sleep_like_fraction", 1.5, r"\[settings\]: sleep_like_fraction must be above 0 and at most 1, got 1.5"),
    ("clock_cap_windows", 0.5, r"\[settings\]: clock_cap_windows must be a number of 1 or more \(times the rule's "
                               r"window\), got 0.5"),
])
def test_bad_sleep_like_settings_are_named_in_one_line(key, value, message):
    with pytest.raises(RuleError, match=message) as err:
        parse_rules(rule_file(PERIODIC, **{key: value}), "r.toml")
    assert "\n" not in str(err.value)


def test_a_rule_file_without_the_settings_gets_the_defaults():
    rules = parse_rules(rule_file(PERIODIC))
    shipped = load_rules()
    assert (rules.sleep_like_s, rules.sleep_like_gap_s, rules.clock_cap_windows) == (300.0, 0.0, 2.0)
    assert (shipped.sleep_like_s, shipped.sleep_like_gap_s, shipped.clock_cap_windows) == (300.0, 0.0, 2.0)


def test_an_engine_without_rest_rules_keeps_no_rest_clock():
    rules = parse_rules(rule_file({k: v for k, v in PERIODIC.items() if k != "context"}))
    eng = AlertEngine(rules)
    eng.on_context(SPANS)
    assert eng.rest is None and eng.on_events(EVENTS, 1600.0)[0].rule == "periodic"


def test_a_restart_mid_night_keeps_the_rest_stretch_and_its_twitches(tmp_path):
    """The saved state keeps the rest runs: after a restart the night's stretch (and the twitches in it) still
    count; a state saved before rest spans were kept still loads."""
    rules = parse_rules(rule_file(PERIODIC, hold_minutes=0))
    start = "2026-03-01T23:00:00+00:00"
    state = tmp_path / "state.json"
    night = [ContextSpan(0, 1500, "rest", 0.005)]
    first = AlertEngine(rules, state_path=state, start_time=start)
    first.on_context(night)
    first.on_events([e for e in EARLY if e.onset < 1400], 1500.0)  # 29 twitches, the stretch qualified at 305
    first.close(1500.0)
    again = AlertEngine(rules, state_path=state, start_time=start)
    again.on_context([ContextSpan(1500, 1600, "rest", 0.005)])
    assert again.on_events([], 1600.0) == [] and again.state["periodic"].level == "warning"
    assert again.state["periodic"].detail.startswith("29 twitches")
    doc = json.loads(state.read_text())
    del doc["rest_spans"]
    state.write_text(json.dumps(doc))
    old = AlertEngine(rules, state_path=state, start_time=start)
    old.on_context([ContextSpan(1500, 1600, "rest", 0.005)])
    assert [c.change for c in old.on_events([], 1600.0)] == ["lowered"]  # its twitches lie in no known stretch
