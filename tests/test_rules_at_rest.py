"""Rules with ``context = "rest"``: the AASM anchors (periodic limb movements, excessive fragmentary myoclonus)
count only twitches at rest, per hour of rest time; daytime twitches in light activity do not make them."""

from __future__ import annotations

import json

import pytest

from twitchsense.alerts import AlertEngine, RuleError, alerts_for_events, load_rules, parse_rules
from twitchsense.types import ContextSpan, TwitchEvent

from handmade import rule_file, tick_live

PERIODIC = {"name": "periodic-series", "kind": "periodic", "level": "warning", "min_count": 4,
            "min_interval_s": 5, "max_interval_s": 90, "index_per_hour": 15, "window_minutes": 60}


def every(gap_s: float, start: float, end: float, context: str) -> list[TwitchEvent]:
    return [TwitchEvent(start + gap_s * i, 0.1, 0.1, 0.9, context=context) for i in range(int((end - start) // gap_s))]


def raised(alerts, name: str) -> list:
    return [a for a in alerts if a.rule == name]


def test_the_shipped_aasm_rules_count_at_rest_only():
    rules = load_rules()
    assert rules.by_name("periodic-series").context == "rest"
    assert rules.by_name("very-frequent-sustained").context == "rest"
    assert rules.by_name("frequent").context == ""  # the healthy-range rule counts all judged time


@pytest.mark.parametrize("state, fires", [("light", False), ("rest", True)])
def test_periodic_series_in_daytime_activity_is_no_plm_series(state, fires):
    rules = load_rules()
    events = every(20.0, 10.0, 3600.0, state)  # a series 20 s apart for an hour: index 179/h
    spans = [ContextSpan(0.0, 3700.0, state, 0.01)]
    alerts = raised(alerts_for_events(events, 0.0, 3700.0, rules, context=spans, placement="waist"), "periodic-series")
    assert bool(alerts) == fires
    if fires:
        assert "/rest h (threshold above 15/rest h)" in alerts[0].detail


def test_a_rule_file_without_context_counts_every_twitch_as_before():
    rules = parse_rules(rule_file(PERIODIC))
    events = every(20.0, 10.0, 3600.0, "light")
    spans = [ContextSpan(0.0, 3700.0, "light", 0.01)]
    alerts = alerts_for_events(events, 0.0, 3700.0, rules, context=spans)
    assert [a.rule for a in alerts] == ["periodic-series"] and "index" in alerts[0].detail


def test_the_periodic_index_is_per_hour_of_rest_time():
    """10 min at rest then 50 min of daytime activity, six times: a twitch a minute at rest is 10 per hour of
    stream time (below 15) but 60 per hour of rest time."""
    spans, events = [], []
    for h in range(6):
        t0 = 3600.0 * h
        spans += [ContextSpan(t0, t0 + 600.0, "rest", 0.0), ContextSpan(t0 + 600.0, t0 + 3600.0, "light", 0.03)]
        events += every(60.0, t0 + 30.0, t0 + 600.0, "rest")
    old = parse_rules(rule_file(PERIODIC))
    new = parse_rules(rule_file({**PERIODIC, "context": "rest"}))
    assert alerts_for_events(events, 0.0, 21600.0, old, context=spans) == []
    fired = alerts_for_events(events, 0.0, 21600.0, new, context=spans)
    assert fired and fired[0].start < 3600.0 + 600.0  # within the second stretch at rest
    assert "in the last 60 rest min" in fired[0].detail
    # live, with the context handed in as it is decided, it rises at the same time
    live = tick_live(AlertEngine(new, keep_episodes=True), events, 21600.0, spans)
    assert [(a.rule, a.level) for a in live] == [(a.rule, a.level) for a in fired]
    assert all(abs(a.start - b.start) <= 0.5 for a, b in zip(live, fired))


@pytest.mark.parametrize("state, fires", [("light", False), ("rest", True)])
def test_excessive_fragmentary_myoclonus_is_counted_at_rest(state, fires):
    rules = load_rules()
    events = every(10.0, 5.0, 2400.0, state)  # 6 a minute for 40 min
    spans = [ContextSpan(0.0, 2500.0, state, 0.01)]
    alerts = raised(alerts_for_events(events, 0.0, 2500.0, rules, context=spans, placement="waist"),
                    "very-frequent-sustained")
    assert bool(alerts) == fires
    if fires:
        assert "rest min" in alerts[0].detail


def test_without_the_detectors_context_a_rest_rule_does_not_judge_and_says_so():
    rules = parse_rules(rule_file({**PERIODIC, "context": "rest"},
                                  {"name": "efm", "kind": "persistence", "level": "alert", "per_minute": 5,
                                   "window_minutes": 5, "minutes": 20, "context": "rest"}))
    eng = AlertEngine(rules)
    events = every(10.0, 5.0, 2400.0, "rest")
    assert eng.on_events(events, 2400.0) == []
    details = {n: s.detail for n, s in eng.state.items()}
    assert "not judged: the rule counts only at rest" in details["efm"]
    assert "not judged: the rule counts only at rest" in details["periodic-series"]


@pytest.mark.parametrize("extra, message", [
    ({"context": "sleep"}, r"r\.toml: rule 'p': context must be 'rest' \(count only events at rest, per hour of rest "
                           r"time\), got 'sleep'"),
    ({"context": 1}, r"rule 'p': context must be 'rest'.*got 1"),
])
def test_a_bad_context_is_named_in_one_line(extra, message):
    with pytest.raises(RuleError, match=message) as err:
        parse_rules(rule_file({**PERIODIC, "name": "p", **extra}), "r.toml")
    assert "\n" not in str(err.value)


def test_a_strength_rule_has_no_context():
    with pytest.raises(RuleError, match=r"rule 's': unknown key 'context' for a strength rule"):
        parse_rules(rule_file({"name": "s", "kind": "strength", "level": "warning", "context": "rest"}), "r.toml")


def test_a_state_saved_before_events_kept_their_context_still_loads(tmp_path):
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"version": 1, "events": [[1000.0, 0.2], [1010.0, 0.3]], "rules": {},
                                 "days_met": {}}))
    eng = AlertEngine(load_rules(), state_path=state, start_time="1970-01-01T00:00:00+00:00")
    eng.tick(1020.0)
    assert eng._onsets.tolist() == [1000.0, 1010.0] and eng._at_rest.tolist() == [False, False]
    eng.on_context([ContextSpan(1020.0, 1030.0, "rest", 0.0)])
    eng.on_events([TwitchEvent(1025.0, 0.1, 0.1, 0.9, context="rest")], 1030.0)
    eng.save()
    assert json.loads(state.read_text())["events"][-1] == [1025.0, 0.1, 1]


@pytest.mark.parametrize("profile, minutes, fires", [("sleep-onset", 20.0, True), ("rest", 15.0, False)])
def test_a_simulated_night_with_periodic_twitches_still_raises_periodic_series(profile, minutes, fires):
    """Through the real detector: twitches every ~20 s added where the wearer is still are detected in rest context.
    Falling asleep (the simulator's sleep-onset: lying, rest runs of 3-17 min) they make a periodic series per hour
    of sleep-like rest; resting awake with a fidget every few minutes (rest runs under 4 min) is no sleep."""
    from twitchsense.alerts import recording_alerts
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.simulate.inject import inject_twitches, still_mask
    from twitchsense.simulate.render import simulate_session

    rec = simulate_session(profile, minutes, 2, rate_hz=50.0)
    slots = ((rec.t - rec.t[0]) % 20.0) < 3.0  # one twitch in each 3 s slot every 20 s, where the wearer is still
    rec = inject_twitches(rec, seed=1, rate_per_min=60.0, kinds=["myoclonic"], where=slots & still_mask(rec),
                          min_gap_s=6.0)
    res = detect_recording(rec, load_model(default_model_path()))
    assert sum(e.context == "rest" for e in res.events) >= 30
    periodic = raised(recording_alerts(res.events, rec, load_rules(), res.context), "periodic-series")
    assert bool(periodic) == fires
    if fires:
        assert periodic[0].level == "warning" and "/rest h" in periodic[0].detail
