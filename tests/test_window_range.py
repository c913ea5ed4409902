"""The `frequent` rule's healthy threshold is the range of healthy units' highest rate over the rule's own
window, not of their whole-recording rates: a rule that fires if any window of a day is above the threshold
must meet the statistic it computes. Built by ``benchmarks.reference_range``, held out by subject."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.alerts import alerts_for_events, parse_rules
from twitchsense.alerts import reference as reference_mod
from twitchsense.types import ContextSpan, TwitchEvent

from handmade import rule_file

FREQUENT = {"name": "frequent", "kind": "frequency", "level": "warning", "above": "reference:p95",
            "window_minutes": 10}


def row(unit: str, recording: str, judged: list[float], judged_s: float, rest: list[float] | None = None,
        rest_s: float = 0.0, folder: str = "real-x") -> dict:
    return {"folder": folder, "recording": recording, "unit": unit, "placement": "waist", "thin": False,
            "judged_s": judged_s, "rest_s": rest_s,
            "clock": {"judged": np.array(judged, dtype=float), "rest": np.array(rest or [], dtype=float)}}


def test_a_units_highest_window_counts_across_its_recordings_joined_on_the_judged_clock():
    from benchmarks.reference_range import unit_window_max

    # two recordings of 400 judged s: 3 detections at the end of the first, 2 at the start of the second:
    # joined, they are 5 within 10 judged minutes; name order is time order
    rows = [row("s1", "b", [10.0, 20.0], 400.0), row("s1", "a", [300.0, 350.0, 390.0], 400.0)]
    assert unit_window_max(rows, "judged", 600.0) == (5, 800.0)
    assert unit_window_max(rows, "judged", 60.0) == (3, 800.0)  # 300, 350, 390 within a minute
    assert unit_window_max([row("s2", "a", [], 100.0)], "judged", 600.0) == (0, 100.0)


def test_a_subject_is_warned_only_above_the_percentile_of_the_other_subjects():
    from benchmarks.reference_range import leave_one_subject_out

    rates = np.array([6.0, 12.0, 12.0, 18.0, 90.0])
    subjects = np.array(["a", "b", "c", "d", "e"])
    out = leave_one_subject_out(rates, subjects)
    # e (90) is above the p95 of a-d (17.1); d (18) is not above that of a, b, c and e (78.4)
    assert out == {"subjects": 5, "warned": {"p50": 2, "p90": 1, "p95": 1}}
    one = leave_one_subject_out(rates, np.array(["a"] * 5))
    assert one["warned"] is None and "one subject" in one["why_not"]


def test_window_ranges_publish_percentiles_of_the_units_highest_rates():
    from benchmarks.reference_range import window_ranges

    rows = [row(f"s{i}", "a", list(np.arange(i + 1) * 30.0), 1200.0) for i in range(6)]
    rows.append(row("s9", "a", [1.0], 60.0))  # under 2 minutes of judged time: no unit
    rows.append(row("t1", "a", [1.0] * 50, 1200.0, folder="real-trained"))  # a training folder: left out
    w = window_ranges(rows, 600.0, trained={"real-trained"})["waist"]["judged"]
    assert w["n_units"] == 6 and w["units_with_a_full_window"] == 6 and w["subjects"] == 6
    rates = np.arange(1, 7) * 6.0  # 1..6 detections in a 10-min window: 6..36 per hour
    assert w["p95"] == pytest.approx(round(float(np.percentile(rates, 95)), 1))
    assert w["max"] == 36.0 and w["held_out"]["warned"]["p95"] == 1
    # a unit with less time than the window: its rate over its own time (3 in 5 min: 36/h, not 18/h)
    short = window_ranges([row("s1", "a", [10.0, 20.0, 30.0], 300.0)], 600.0)["waist"]["judged"]
    assert short["max"] == 36.0 and short["units_with_a_full_window"] == 0


@pytest.fixture
def published(monkeypatch):
    """A shipped range with a whole-recording p95 of 30/judged h and a highest-10-min p95 of 60/judged h."""
    entry = {"published": True, "thin": False,
             "judged": {"p50": 10.0, "p90": 25.0, "p95": 30.0, "n_units": 20, "hours": 5.0},
             "window_max": {"10": {"judged": {"p50": 24.0, "p90": 48.0, "p95": 60.0, "n_units": 20}}}}
    monkeypatch.setattr(reference_mod, "reference_data", lambda: {"measured": "x", "ranges": {"waist": entry}})


def events_every(gap_s: float, start: float, end: float) -> list[TwitchEvent]:
    return [TwitchEvent(float(t), 0.1, 0.1, 0.9, context="rest") for t in np.arange(start, end, gap_s)]


def test_frequent_compares_the_10_minute_rate_with_the_healthy_highest_10_minute_rates(published):
    rules = parse_rules(rule_file(FREQUENT))
    rest = [ContextSpan(0.0, 3600.0, "rest", 0.0)]
    # 45 per judged hour for the whole hour: above the whole-recording p95 (30), below the highest-window p95 (60)
    assert alerts_for_events(events_every(80.0, 1.0, 3600.0), 0.0, 3600.0, rules, context=rest,
                             placement="waist") == []
    fired = alerts_for_events(events_every(45.0, 1.0, 3600.0), 0.0, 3600.0, rules, context=rest, placement="waist")
    assert [a.rule for a in fired] == ["frequent"]
    assert "healthy waist p95 of the highest 10-min rates 60/judged h" in fired[0].detail


def test_a_window_without_a_published_highest_rate_range_uses_the_whole_recording_range(published):
    rules = parse_rules(rule_file({**FREQUENT, "window_minutes": 15}))
    rest = [ContextSpan(0.0, 3600.0, "rest", 0.0)]
    fired = alerts_for_events(events_every(80.0, 1.0, 3600.0), 0.0, 3600.0, rules, context=rest, placement="waist")
    assert [a.rule for a in fired] == ["frequent"] and "healthy waist p95 30/judged h" in fired[0].detail
