"""The healthy reference range and the rules on judged time: a healthy rate raises no warning, a rate
clearly above the healthy p95 held for the rule's window does, and time the detector cannot judge is
not taken for time without twitches."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.alerts import AlertEngine, alerts_for_events, load_rules, parse_rules
from twitchsense.alerts.reference import compare, placement_key, reference_data, reference_range, window_range
from twitchsense.detection.judged import JudgedClock, judged_seconds
from twitchsense.types import ContextSpan, TwitchEvent

from handmade import frequency_rule, rule_file, tick_live

RATE_RULES = ("frequency", "persistence", "strength")


def events_at(per_hour: float, start: float, end: float, seed: int = 0, peak: float = 0.1) -> list[TwitchEvent]:
    """Poisson events at ``per_hour`` in ``[start, end)`` (seeded), small and at rest."""
    rng = np.random.default_rng(seed)
    t, out = start, []
    while True:
        t += rng.exponential(3600.0 / per_hour)
        if t >= end:
            return out
        out.append(TwitchEvent(float(t), 0.1, peak, 0.9, context="rest"))


def warnings_of(alerts, rules) -> list:
    """Frequency, persistence and strength alerts at warning or above."""
    kinds = {r.name: r.kind for r in rules.rules}
    return [a for a in alerts if kinds[a.rule] in RATE_RULES and a.level in ("warning", "alert")]


def test_the_judged_clock_counts_rest_and_light_once_however_the_spans_come():
    clock = JudgedClock()
    clock.add([ContextSpan(0, 10, "rest", 0.0), ContextSpan(10, 20, "active", 0.1), ContextSpan(20, 25, "light", 0.02)])
    assert clock.at([5.0, 15.0, 22.0, 99.0]).tolist() == [5.0, 10.0, 12.0, 15.0]
    clock.add([ContextSpan(20, 30, "light", 0.02)])  # the newest span grew: its new part counts, once
    clock.add([ContextSpan(30, 40, "rest", 0.0)])
    assert float(clock.at(40.0)) == 30.0
    spans = [ContextSpan(0, 10, "rest", 0.0), ContextSpan(10, 20, "active", 0.1), ContextSpan(20, 40, "light", 0.02)]
    assert judged_seconds(spans) == float(clock.at(1e9))


def test_the_shipped_range_names_its_placements_and_invents_none():
    doc = reference_data()
    assert doc["model_sha256"] and doc["measured"] and doc["folders"]
    waist = reference_range("waist (device fixed to the belt at the front of the waist)")
    assert waist is not None and 0 < waist.p50 <= waist.p90 <= waist.p95 and waist.units >= 5
    assert placement_key("wrist (side not recorded)") == "wrist"
    assert placement_key("trouser pocket (smartphone)") == "pocket"
    assert reference_range("left ankle") is None and reference_range(None) is None
    assert "no healthy range" in compare(10.0, "left ankle")
    assert f"above the healthy waist p95 ({waist.p95:.0f}; p50 {waist.p50:.0f})" in compare(waist.p95 + 5, "waist")


def waist():
    r = reference_range("waist")
    assert r is not None
    return r


def test_a_healthy_rate_raises_no_warning_and_one_above_the_p95_held_does():
    rules, r = load_rules(), waist()
    rest = [ContextSpan(0.0, 7200.0, "rest", 0.0)]
    healthy = events_at(r.p50, 0.0, 7200.0, seed=1)
    alerts = alerts_for_events(healthy, 0.0, 7200.0, rules, context=rest, placement="waist")
    assert warnings_of(alerts, rules) == []
    # twice the healthy p95 for 30 minutes: 'frequent' within the first 10 judged minutes of it
    busy = sorted(healthy + events_at(2 * r.p95, 3600.0, 5400.0, seed=2), key=lambda e: e.onset)
    alerts = alerts_for_events(busy, 0.0, 7200.0, rules, context=rest, placement="waist")
    frequent = [a for a in warnings_of(alerts, rules) if a.rule == "frequent"]
    assert frequent and 3600.0 < frequent[0].start < 3600.0 + 600.0
    # against the healthy units' highest 10-judged-minute rates: the statistic the rule computes
    w = window_range("waist", "judged", 600.0)
    assert w is not None and w.window_min == 10
    assert f"/judged h, healthy waist p95 of the highest 10-min rates {w.p95:.0f}/judged h" in frequent[0].detail
    # a rate is compared with healthy people's only once measured over the whole window: a busy first
    # 5 minutes of a session warn of nothing
    first = events_at(2 * r.p95, 0.0, 300.0, seed=5)
    assert warnings_of(alerts_for_events(first, 0.0, 400.0, rules, context=[ContextSpan(0.0, 400.0, "rest", 0.0)],
                                         placement="waist"), rules) == []


def test_rates_count_judged_time_only():
    """The same events with the time between them 'cannot tell': per judged hour they are above the p95."""
    r = waist()
    rules = parse_rules(rule_file({"name": "frequent", "kind": "frequency", "level": "warning",
                                   "above": "reference:p95", "window_minutes": 10}))
    # 1.5 x p95 per judged hour, but the wearer is active every other minute: 0.75 x p95 per hour of time
    spans = [ContextSpan(60.0 * m, 60.0 * (m + 1), "rest" if m % 2 == 0 else "active", 0.0) for m in range(60)]
    judged = [s for s in spans if s.state == "rest"]
    gap = 3600.0 / (1.5 * r.p95)  # evenly spaced within the judged minutes
    events = [TwitchEvent(float(o), 0.1, 0.1, 0.9, context="rest")
              for s in judged for o in np.arange(s.start + gap / 2, s.end, gap)]
    fired = alerts_for_events(events, 0.0, 3600.0, rules, context=spans, placement="waist")
    assert [a.rule for a in fired] == ["frequent"] and "judged h, healthy waist p95" in fired[0].detail
    assert alerts_for_events(events, 0.0, 3600.0, rules, placement="waist") == []  # per hour of time: below


def test_a_placement_without_a_range_says_so_and_uses_the_rule_files_own_threshold():
    rules = load_rules()
    events = events_at(240.0, 0.0, 1800.0, seed=3)  # 4 per minute: above the fallback 2/min
    rest = [ContextSpan(0.0, 1800.0, "rest", 0.0)]
    alerts = alerts_for_events(events, 0.0, 1800.0, rules, context=rest, placement="left ankle")
    frequent = [a for a in alerts if a.rule == "frequent"]
    assert frequent and "no healthy range for the ankle" in frequent[0].detail
    assert "threshold 120/judged h of the rule file" in frequent[0].detail
    # a reference rule without a per_minute fallback does not judge where there is no range
    no_fallback = parse_rules(rule_file({"name": "f", "kind": "frequency", "level": "warning",
                                         "above": "reference:p95", "window_minutes": 10}))
    assert alerts_for_events(events, 0.0, 1800.0, no_fallback, context=rest, placement="left ankle") == []


def test_live_context_in_pieces_gives_the_batch_alerts():
    """Context handed to the engine as it is decided (pieces, the last growing) gives the batch's alerts."""
    rules, r = load_rules(), waist()
    spans = [ContextSpan(30.0 * m, 30.0 * (m + 1), "rest" if m % 3 else "active", 0.0) for m in range(240)]
    events = [e for e in events_at(2.5 * r.p95, 0.0, 7200.0, seed=4)
              if any(s.start <= e.onset < s.end and s.state == "rest" for s in spans)]
    batch = alerts_for_events(events, 0.0, 7200.0, rules, context=spans, placement="waist")
    ticked = tick_live(AlertEngine(rules, keep_episodes=True, placement="waist"), events, 7200.0, spans)
    assert len(batch) == len(ticked) and {a.rule for a in batch} >= {"frequent"}
    for a, b in zip(batch, ticked):
        assert (a.rule, a.level) == (b.rule, b.level)
        assert abs(a.start - b.start) <= 0.5 and abs(a.end - b.end) <= 0.5


@pytest.mark.parametrize("value", ["reference:p99", "p95", 95])
def test_above_must_name_a_percentile_of_the_range_in_one_line(value):
    from twitchsense.alerts import RuleError
    with pytest.raises(RuleError) as err:
        parse_rules(rule_file(frequency_rule("warning", 2, 10, above=value)), "r.toml")
    assert "\n" not in str(err.value) and "r.toml: rule 'busy': above must be one of 'reference:p50'" in str(err.value)


def test_a_live_replay_counts_the_judged_time_batch_detect_counts_and_shows_the_rate_against_the_range():
    """The pipeline hands the detector's context to the alert engine as it is decided (the live detector
    keeps none itself): the engine's judged time is batch detect's, and the terminal shows one line of
    the rate against the healthy range of the placement."""
    import io

    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.detection.engine import StreamingDetector, detect_recording
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.live.pipeline import Pipeline
    from twitchsense.live.sinks.terminal import TerminalSink

    from handmade import handmade

    rec = handmade(5, minutes=3.0)
    rec.meta["placement"] = "waist"
    model = load_model(default_model_path())
    engine = AlertEngine(meta=rec.meta)
    view = TerminalSink(io.StringIO(), tty=False)
    view.rate = engine.rate_against_range
    Pipeline(ReplaySource(rec, speed=None, max_block_s=0.05), detector=StreamingDetector(model, rec.sample_rate_hz,
             keep_context=False), alerts=engine, sinks=[view]).run()
    batch = judged_seconds(detect_recording(rec, model).context)
    assert batch > 60 and float(engine.judged.at(np.inf)) == pytest.approx(batch, abs=1e-6)
    line = next(x for x in view.screen() if x.startswith("against healthy people: "))
    assert "/judged h" in line and "healthy waist p" in line and "p50" in line and "judged min" in line


def test_still_time_and_detections_in_still_time_leave_the_events_own_blocks_out():
    from benchmarks.reference_range import still_measures

    levels = np.full(80, 0.005)  # 20 s of 0.25 s blocks, still
    levels[40] = 0.2             # a detection's own block: it moves, its surroundings do not
    levels[70] = 0.1             # movement near the end
    ev = [TwitchEvent(10.0, 0.1, 0.2, 0.9), TwitchEvent(16.5, 0.1, 0.2, 0.9)]
    still_s, n = still_measures([(0.0, 0.25, levels)], ev)
    assert n == 1  # the second is within 2 s of the movement at 17.5 s
    # still blocks: +-8 blocks all quiet, inside the stretch: 8..31 and 49..61
    assert still_s == pytest.approx((24 + 13) * 0.25)


def test_the_measurement_runs_on_any_folder_of_healthy_recordings_and_says_when_there_is_too_little(tmp_path):
    import json

    from benchmarks.reference_range import main
    from twitchsense.io.recording import write_recording

    from handmade import handmade

    folder = tmp_path / "real-test"
    folder.mkdir()
    for i in range(2):
        rec = handmade(20 + i, minutes=2.5, n_twitch=4)
        rec.meta.update({"placement": "waist (belt)", "subject": f"s{i}"})
        write_recording(folder / f"rec{i}.csv", rec)
    (tmp_path / "real-parkinson-wrist").mkdir()  # never part of a healthy range
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--data", str(tmp_path), "--json"]) == 0
    doc = json.loads(buf.getvalue())
    assert [f["folder"] for f in doc["folders"]] == ["real-test"] and doc["model_sha256"]
    waist = doc["ranges"]["waist"]
    assert waist["units"] == 2 and not waist["published"] and "needs 5" in waist["why_not"]
    assert waist["pooled"]["judged"]["detections"] >= 1 and waist["judged"]["n_units"] == 2


def test_the_live_rate_line_shows_the_rate_and_why_it_is_not_compared_in_the_report_s_words():
    """Without context (judged time not known) and for a placement without a range the live line still
    gives the rate, and says there is no healthy range: the words of reference.against_range."""
    import io

    from twitchsense.alerts.reference import against_range
    from twitchsense.live.sinks.terminal import TerminalSink

    for placement, says in (("left ankle", "no healthy range for the ankle"),
                            ("waist", "not compared with the healthy waist range")):
        engine = AlertEngine(meta={"placement": placement})
        t = np.arange(0.0, 600.0, 1.0)
        engine.on_samples(t, np.zeros((t.size, 3)))
        engine.on_events(events_at(120.0, 0.0, 599.0, seed=3), 599.0)
        view = TerminalSink(io.StringIO(), tty=False)
        view.rate = engine.rate_against_range
        line = next(x for x in view.screen() if x.startswith("against healthy people: "))
        rate = engine.rate_against_range()["per_hour"]
        assert rate > 0 and f"{rate:.0f}/h with data" in line and says in line
        assert against_range(rate, placement, judged=False) in line


@pytest.mark.parametrize("block_s", [1.0, 30.0])
def test_the_first_block_s_context_counts_in_the_live_judged_time_however_large_the_block(block_s):
    """The detector keeps no spans live: the pipeline opens its tap before the first block, so the
    context decided in a large first block (a piped file) reaches the alert engine too."""
    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.detection.engine import StreamingDetector, detect_recording
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.live.pipeline import Pipeline

    from handmade import handmade

    rec = handmade(5, minutes=3.0)
    model = load_model(default_model_path())
    engine = AlertEngine(meta=rec.meta)
    det = StreamingDetector(model, rec.sample_rate_hz, keep_context=False)
    Pipeline(ReplaySource(rec, speed=None, max_block_s=block_s), detector=det, alerts=engine, sinks=[]).run()
    batch = judged_seconds(detect_recording(rec, model).context)
    assert batch > 60 and float(engine.judged.at(np.inf)) == pytest.approx(batch, abs=1e-6)
    assert det.judged_seconds() == pytest.approx(batch, abs=1e-6)
