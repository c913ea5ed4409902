"""Alert rules on hand-made event sequences: every boundary (at threshold, just below, dips, days)."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.alerts import load_rules, parse_rules, RuleError, default_rules_path
from twitchsense.alerts.rules import (DaysRule, FaultStatus, FrequencyRule, NoDataRule, NotWornRule,
                                      PeriodicRule, PersistenceRule, SaturationRule, StrengthRule,
                                      condition_intervals, periodic_series)

NO_PEAKS = np.empty(0)


def peaks_for(onsets):
    return np.full(len(onsets), 0.2)


# ---- frequency --------------------------------------------------------------------------------
@pytest.mark.parametrize("n, met", [(20, True), (19, False), (21, True)])
def test_frequency_exactly_at_threshold_and_just_below(n, met):
    rule = FrequencyRule("frequent", "warning", per_minute=2, window_s=600)
    onsets = np.linspace(1000 - 599, 1000, n)  # all inside (400, 1000]
    f = rule.evaluate(onsets, peaks_for(onsets), now=1000)
    assert f.met is met
    assert f.detail.startswith(f"{n} twitches in the last 10 min, {n / 10:g}/min (threshold 2/min)")


def test_frequency_window_is_half_open():
    rule = FrequencyRule("f", "info", per_minute=1, window_s=60)
    # one event exactly at now - W is outside; one exactly at now is inside
    assert not rule.evaluate(np.array([40.0]), NO_PEAKS, now=100.0).met
    assert rule.evaluate(np.array([40.0001]), NO_PEAKS, now=100.0).met
    assert rule.evaluate(np.array([100.0]), NO_PEAKS, now=100.0).met
    assert not rule.evaluate(np.array([100.5]), NO_PEAKS, now=100.0).met  # the future does not count


def test_fractional_rates_round_up_the_required_count():
    # 2.5/min over 10 min needs 25 events; 1.05/min over 10 min needs 11 (10.5 rounded up)
    assert FrequencyRule("a", "info", per_minute=2.5, window_s=600).required == 25
    assert FrequencyRule("a", "info", per_minute=1.05, window_s=600).required == 11


# ---- persistence ------------------------------------------------------------------------------
def every(step, start, stop):
    return np.arange(start, stop + 1e-9, step)


def test_condition_intervals_are_exact():
    # one event needed in the last 60 s: each event makes [e, e + 60) true
    iv = condition_intervals(np.array([10.0, 50.0, 200.0]), 60.0, 1, 0.0, 300.0)
    np.testing.assert_allclose(iv, [[10, 110], [200, 260]])


PERSIST = PersistenceRule("p", "alert", per_minute=1, window_s=60, sustained_s=600, tolerance_s=120)


def test_persistence_exactly_at_p_minutes_and_just_below():
    onsets = every(60, 0, 3000)  # condition true from t=0 on
    assert PERSIST.evaluate(onsets, NO_PEAKS, now=600.0).met
    f = PERSIST.evaluate(onsets, NO_PEAKS, now=599.9)
    assert not f.met and "sustained 9.9 min so far (threshold 1/min for 10 min)" in f.detail
    f = PERSIST.evaluate(onsets, NO_PEAKS, now=1440.0)
    assert f.met and "sustained 24 min (threshold 1/min for 10 min)" in f.detail


@pytest.mark.parametrize("dip, met", [(120.0, True), (119.0, True), (120.5, False)])
def test_persistence_forgives_dips_up_to_the_tolerance(dip, met):
    # events every 60 s up to 300: true on [0, 360); the next event after a dip of `dip` s
    onsets = np.concatenate([every(60, 0, 300), every(60, 360 + dip, 3000)])
    f = PERSIST.evaluate(onsets, NO_PEAKS, now=700.0)
    assert f.met is met  # the run started at 0 only when the dip is forgiven


def test_persistence_during_a_dip():
    onsets = every(60, 0, 900)  # true on [0, 960)
    assert PERSIST.evaluate(onsets, NO_PEAKS, now=960.0 + 120.0).met       # dip of 120 s going on
    assert not PERSIST.evaluate(onsets, NO_PEAKS, now=960.0 + 120.5).met   # dip longer than the tolerance


def test_persistence_reports_runs_longer_than_its_history_as_at_least():
    onsets = every(30, 0, 20000)
    f = PERSIST.evaluate(onsets[onsets > 20000 - PERSIST.horizon_s], NO_PEAKS, now=20000.0)
    assert f.met and "sustained at least 72 min" in f.detail


# ---- strength ---------------------------------------------------------------------------------
@pytest.mark.parametrize("peaks, met", [([0.5, 0.5, 0.5], True), ([0.5, 0.5, 0.4999], False),
                                        ([1.2, 0.1, 0.7, 0.9], True)])
def test_strength_counts_events_at_or_above_s(peaks, met):
    rule = StrengthRule("strong", "warning", min_g=0.5, count=3, window_s=600)
    onsets = np.linspace(500, 590, len(peaks))
    f = rule.evaluate(onsets, np.array(peaks), now=600.0)
    assert f.met is met
    if met:
        assert f"strongest {max(peaks):g} g" in f.detail


def test_strength_window_drops_old_events():
    rule = StrengthRule("strong", "warning", min_g=0.5, count=2, window_s=60)
    onsets, peaks = np.array([0.0, 30.0]), np.array([0.9, 0.9])
    assert rule.evaluate(onsets, peaks, now=59.0).met
    assert not rule.evaluate(onsets, peaks, now=60.0).met


# ---- periodic series --------------------------------------------------------------------------
def test_periodic_series_boundaries():
    assert periodic_series(np.array([0, 5, 10, 15.0]), 5, 90, 4).all()          # intervals exactly 5 s
    assert not periodic_series(np.array([0, 5, 10, 14.9]), 5, 90, 4).any()      # one just below
    assert periodic_series(np.array([0, 90, 180, 270.0]), 5, 90, 4).all()       # exactly 90 s
    assert not periodic_series(np.array([0, 90, 180, 270.1]), 5, 90, 4).any()   # just above
    assert not periodic_series(np.array([0, 10, 20.0]), 5, 90, 4).any()         # only 3
    m = periodic_series(np.array([0, 1, 11, 21, 31, 41, 200, 210.0]), 5, 90, 4)
    assert m.tolist() == [False, True, True, True, True, True, False, False]


@pytest.mark.parametrize("n, met", [(16, True), (15, False)])
def test_periodic_index_must_be_above_the_threshold(n, met):
    rule = PeriodicRule("plm", "warning", min_count=4, min_interval_s=5, max_interval_s=90,
                        index_per_hour=15, window_s=3600)
    onsets = 1000 + 20.0 * np.arange(n)  # one series, 20 s apart
    f = rule.evaluate(onsets, NO_PEAKS, now=3000.0)
    assert f.met is met
    assert f"{n} twitches in 1 periodic series" in f.detail and f"index {n}/h" in f.detail


def test_periodic_counts_only_series_members_inside_the_window():
    rule = PeriodicRule("plm", "warning", index_per_hour=3, window_s=600)
    onsets = np.array([100, 120, 140, 160, 180.0])  # a series of 5
    f = rule.evaluate(onsets, NO_PEAKS, now=745.0)  # window (145, 745]: members 160 and 180
    assert "2 twitches in 1 periodic series" in f.detail


def test_back_to_back_periodic_series_are_counted_as_two():
    rule = PeriodicRule("plm", "warning", index_per_hour=3, window_s=3600)
    first = 100 + 20.0 * np.arange(12)
    onsets = np.concatenate([first, first[-1] + 140 + 20.0 * np.arange(4)])  # 140 s apart: a new series
    f = rule.evaluate(onsets, NO_PEAKS, now=1000.0)
    assert "16 twitches in 2 periodic series" in f.detail


# ---- days -------------------------------------------------------------------------------------
@pytest.mark.parametrize("days, met", [({94, 97, 100}, True), ({93, 97, 100}, False),
                                       ({100, 99, 98, 101}, True)])
def test_days_rule_counts_the_last_k_days(days, met):
    rule = DaysRule("many-days", "alert", rule="frequent", min_days=3, of_days=7)
    f = rule.evaluate_days(days, today=100)
    assert f.met is met
    assert "'frequent' met on" in f.detail and "of the last 7 days (threshold 3)" in f.detail


# ---- faults -----------------------------------------------------------------------------------
def test_fault_rules():
    nd = NoDataRule("no-data", "warning", seconds=30)
    assert nd.evaluate_status(FaultStatus(last_sample_t=100.0), 130.0).met
    assert not nd.evaluate_status(FaultStatus(last_sample_t=100.0), 129.9).met
    assert nd.evaluate_status(FaultStatus(last_sample_t=100.0, link_down_since=100.0), 101.0).met
    nw = NotWornRule("not-worn", "info", minutes_s=600)
    assert nw.evaluate_status(FaultStatus(first_sample_t=0.0, last_movement_t=100.0), 700.0).met
    assert not nw.evaluate_status(FaultStatus(first_sample_t=0.0, last_movement_t=100.0), 699.0).met
    sat = SaturationRule("saturation", "warning", count=2, window_s=10)
    st = FaultStatus(saturated_t=np.array([5.0, 9.0]), range_g=2.0)
    assert sat.evaluate_status(st, 10.0).met and not sat.evaluate_status(st, 15.0).met
    assert "range unknown" in sat.evaluate_status(FaultStatus(saturated_t=np.array([5.0, 9.0])), 10).detail


# ---- rule files -------------------------------------------------------------------------------
def test_default_rules_load_and_cover_every_kind():
    rs = load_rules()
    assert rs.source == "default" and default_rules_path().name == "default_rules.toml"
    assert {r.kind for r in rs.rules} == {"frequency", "persistence", "strength", "periodic", "days",
                                           "no-data", "not-worn", "saturation"}
    fs = rs.by_name("frequent-sustained")
    assert (fs.per_minute, fs.window_s, fs.sustained_s, fs.tolerance_s) == (2, 600, 1200, 120)
    assert rs.hold_s == 120 and rs.cooldown_s == 1800


GOOD = """
[[rule]]
name = "f"
kind = "frequency"
level = "info"
per_minute = 1
window_minutes = 5
"""


@pytest.mark.parametrize("text, message", [
    ("[[rule]\nname=", r"r\.toml: not valid TOML"),
    (GOOD.replace("per_minute = 1", "per_minute = 'x'"), r"r\.toml: rule 'f': per_minute must be a number above 0, got 'x'"),
    (GOOD.replace("per_minute = 1", "per_minute = 0"), r"rule 'f': per_minute must be a number above 0, got 0"),
    (GOOD.replace('kind = "frequency"', 'kind = "often"'), r"rule 'f': kind must be one of frequency, persistence"),
    (GOOD.replace('level = "info"', 'level = "alarm"'), r"rule 'f': level must be one of info, warning, alert, got 'alarm'"),
    (GOOD + "minutes = 3\n", r"rule 'f': unknown key 'minutes' for a frequency rule \(known: per_minute, window_minutes, above, context\)"),
    (GOOD + "above = 'p95'\n", r"rule 'f': above must be one of 'reference:p50', 'reference:p90', 'reference:p95', got 'p95'"),
    (GOOD + GOOD, r"rule 'f': the name is used by more than one rule"),
    (GOOD.replace('name = "f"', 'name = "F x"'), r"rule 1: name must be lower-case"),
    ("[settings]\nhold_minutes = -1\n" + GOOD, r"\[settings\]: hold_minutes must be a number of 0 or more"),
    ("[settings]\nhold = 1\n" + GOOD, r"\[settings\]: unknown key 'hold'"),
    ("", r"r\.toml: no rules"),
    (GOOD + '[[rule]]\nname = "d"\nkind = "days"\nlevel = "alert"\nrule = "g"\n', r"rule 'd': rule = 'g' names no rule"),
    (GOOD + '[[rule]]\nname = "d"\nkind = "days"\nlevel = "alert"\nrule = "f"\nmin_days = 8\n',
     r"rule 'd': min_days \(8\) is more than of_days \(7\)"),
    (GOOD + '[[rule]]\nname = "d"\nkind = "days"\nlevel = "alert"\n', r"rule 'd': a days rule needs rule = 'NAME'"),
    (GOOD + '[[rule]]\nname = "s"\nkind = "strength"\nlevel = "alert"\ncount = 1.5\n',
     r"rule 's': count must be a whole number of at least 1, got 1.5"),
])
def test_rule_file_errors_name_the_file_the_rule_and_the_problem(tmp_path, text, message):
    p = tmp_path / "r.toml"
    p.write_text(text)
    with pytest.raises(RuleError, match=message):
        load_rules(p)


def test_missing_rule_file(tmp_path):
    with pytest.raises(RuleError, match=r"nope\.toml: cannot read the rule file"):
        load_rules(tmp_path / "nope.toml")


def test_a_rule_file_can_override_guidance_and_settings():
    rs = parse_rules("[settings]\nhold_minutes = 0\ncooldown_minutes = 5\n"
                     + GOOD.replace('level = "info"', 'level = "info"\nguidance = "Tell the nurse."'))
    assert rs.hold_s == 0 and rs.cooldown_s == 300
    assert rs.rules[0].advice == "Tell the nurse."
