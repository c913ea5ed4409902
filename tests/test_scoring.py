"""Event-level scoring per the contract, on hand-made cases with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twitchsense.detection.baseline import BandEnergyDetector
from twitchsense.detection.scoring import Tally, format_table, score_events
from twitchsense.types import TwitchEvent

from handmade import handmade


def ev(onset, duration, peak=0.1):
    return TwitchEvent(onset=onset, duration=duration, peak_g=peak, confidence=0.9)


def labels(rows):
    return pd.DataFrame(rows, columns=["onset", "duration", "label", "peak_g", "kind"])


def test_collar_any_overlap_optional_events_and_false_alarms():
    lab = labels([
        (10.0, 0.2, "twitch", 0.10, "myoclonic"),    # found: detection starts 0.15 s after its end (< 2 x 0.1 s collar)
        (20.0, 0.2, "twitch", 0.50, "hypnic"),       # missed: nearest detection 0.25 s away
        (30.0, 0.1, "twitch", 0.01, "fasciculation"),  # optional (< 0.02 g): its detection is no false alarm
        (40.0, 0.3, "twitch", 0.04, "tic"),          # found by two detections
        (100.0, 60.0, "walking", np.nan, ""),        # activity
        (0.0, 100.0, "seated", np.nan, ""),          # rest label: not activity
    ])
    dets = [ev(10.35, 0.1, 0.12), ev(20.45, 0.1), ev(30.0, 0.05), ev(40.1, 0.05, 0.05), ev(40.2, 0.05, 0.03),
            ev(120.0, 0.2), ev(150.0, 0.1), ev(300.0, 0.1)]
    t = score_events(lab, dets, duration_s=3600.0)
    assert (t.n_true, t.n_found, t.n_optional) == (3, 2, 1)
    assert t.n_true_detections == 3 and t.n_optional_detections == 1
    assert (t.fa_activity, t.fa_rest) == (2, 2)  # 120 and 150 in walking; 20.45 and 300 at rest
    assert t.sensitivity == pytest.approx(2 / 3)
    assert t.precision == pytest.approx(3 / 7)
    assert t.f1 == pytest.approx(2 * (2 / 3) * (3 / 7) / (2 / 3 + 3 / 7))
    assert t.hours_activity == pytest.approx(60 / 3600) and t.hours_rest == pytest.approx(1 - 60 / 3600)
    assert t.fa_per_hour("activity") == pytest.approx(2 / (60 / 3600))
    fig = t.figures()
    assert fig["sensitivity_by_class"]["hypnic"]["found"] == 0
    assert fig["sensitivity_by_class"]["tic"] == {"found": 1, "total": 1, "sensitivity": 1.0}
    assert "fasciculation" not in fig["sensitivity_by_class"]  # optional events are not scored
    assert fig["sensitivity_by_strength"]["0-0.02 g"] == {"found": 1, "total": 1, "sensitivity": 1.0}
    assert list(fig["sensitivity_by_strength"]) == ["0-0.02 g", "0.02-0.05 g", "0.1-0.3 g", "0.3-1 g"]
    # peak_g errors: |0.12-0.10|/0.10 = 0.2 and, for the tic, the detection overlapping most (0.05 vs 0.04)
    assert sorted(t.peak_rel_errors) == pytest.approx([0.2, 0.25])
    assert t.peak_g_median_rel_error == pytest.approx(0.225)


def test_sensitivity_by_stillness_before_the_twitch_when_labels_say_it():
    lab = labels([(10.0, 0.1, "twitch", 0.1, "myoclonic"), (20.0, 0.1, "twitch", 0.1, "tic"),
                  (30.0, 0.1, "twitch", 0.1, "tic"), (40.0, 0.1, "twitch", 0.01, "tic")])
    lab["still_before_s"] = [0.4, 1.5, 7.0, 9.0]  # the last is optional (< 0.02 g): not counted
    t = score_events(lab, [ev(10.0, 0.1), ev(30.0, 0.1)], 600.0)
    t = t + score_events(labels([(5.0, 0.1, "twitch", 0.1, "tic")]), [], 600.0)  # no stillness column
    assert t.figures()["sensitivity_by_still_before"] == {
        "still 0-1 s before": {"found": 1, "total": 1, "sensitivity": 1.0},
        "still 1-2 s before": {"found": 0, "total": 1, "sensitivity": 0.0},
        "still >=2 s before": {"found": 1, "total": 1, "sensitivity": 1.0}}
    assert "still 1-2 s before" in format_table({"model": t.figures()})


def test_optional_kinds_score_a_class_like_twitches_under_the_floor():
    lab = labels([(10.0, 0.1, "twitch", 0.10, "myoclonic"),       # found
                  (20.0, 0.1, "twitch", 0.04, "fasciculation"),   # found, but optional on request
                  (30.0, 0.1, "twitch", 0.03, "fasciculation"),   # missed: no longer a miss
                  (40.0, 0.1, "twitch", 0.20, "tic")])            # missed
    dets = [ev(10.0, 0.1), ev(20.0, 0.05), ev(50.0, 0.1)]
    every = score_events(lab, dets, 600.0)
    assert (every.n_true, every.n_found, every.n_optional, every.fa_rest) == (4, 2, 0, 1)
    core = score_events(lab, dets, 600.0, optional_kinds=("fasciculation",))
    assert (core.n_true, core.n_found, core.n_optional) == (2, 1, 2)
    assert (core.n_true_detections, core.n_optional_detections, core.fa_rest) == (1, 1, 1)  # 50.0 stays a false alarm
    assert core.sensitivity == pytest.approx(1 / 2) and core.precision == pytest.approx(1 / 2)  # the optional one aside
    assert "fasciculation" not in core.figures()["sensitivity_by_class"]
    assert core.figures()["sensitivity_by_strength"]["0.02-0.05 g"] == {"found": 1, "total": 2, "sensitivity": 0.5}


def test_tallies_add_up_and_empty_cases_are_nan_not_errors():
    empty = score_events(labels([]), [], 1800.0)
    assert np.isnan(empty.sensitivity) and np.isnan(empty.precision) and empty.fa_per_hour() == 0
    only_fa = score_events(labels([]), [ev(1, 0.1), ev(5, 0.1)], 1800.0)
    both = empty + only_fa
    assert both.false_alarms == 2 and both.fa_per_hour() == pytest.approx(2.0)
    assert both.detections_per_hour() == pytest.approx(2.0)
    assert "false alarms / h" in format_table({"model": both.figures(), "baseline": Tally().figures()})


def test_baseline_finds_clear_twitches_and_is_fooled_by_tremor():
    rec = handmade(301, minutes=2.0)
    t = score_events(rec.labels, BandEnergyDetector().detect(rec), rec.duration_s)
    assert t.sensitivity >= 0.8
    assert t.fa_activity >= 1  # the 6 Hz tremor stretch passes its band-energy rule


def test_excluded_cannot_tell_time_drops_its_twitches_detections_and_hours():
    lab = labels([(10.0, 0.2, "twitch", 0.1, "tic"), (50.0, 0.2, "twitch", 0.1, "tic"),
                  (40.0, 30.0, "walking", np.nan, "")])
    dets = [ev(10.0, 0.1), ev(45.0, 0.1), ev(100.0, 0.1)]
    t = score_events(lab, dets, 3600.0, exclude=[(40.0, 70.0)])
    assert (t.n_true, t.n_found, t.n_detections, t.fa_rest) == (1, 1, 2, 1)
    assert t.hours_activity == 0.0 and t.hours_rest == pytest.approx(1 - 30 / 3600)
