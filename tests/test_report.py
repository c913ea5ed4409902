"""The session report: its figures are right and the HTML carries the pictures and the guidance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twitchsense.detection.scoring import score_events
from twitchsense.io.outputs import write_alerts, write_context, write_detections
from twitchsense.io.recording import Recording, write_recording
from twitchsense.report import render_report, session_figures
from twitchsense.types import Alert, ContextSpan, TwitchEvent

pytest.importorskip("matplotlib")


@pytest.fixture
def run_cli_here(run_main, tmp_path, monkeypatch):
    """The CLI in this process, in a fresh current folder."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    return run_main


def quiet_recording(minutes: float = 30.0, rate: float = 50.0) -> Recording:
    rng = np.random.default_rng(7)
    n = int(minutes * 60 * rate)
    t = np.arange(n) / rate
    return Recording(t=t, acc=rng.normal(0, 0.003, (n, 3)) + [0, 0, 1.0],
                     meta={"sample_rate_hz": rate, "start_time": "2026-11-20T22:00:00+01:00"})


def test_session_figures_count_rates_and_bands():
    rec = quiet_recording()
    # 40 events in minutes 10-20 (4/min), 5 more spread out
    onsets = list(600 + np.arange(40) * 15.0) + [60, 200, 1300, 1500, 1700]
    peaks = [0.03] * 20 + [0.3] * 20 + [0.01, 0.6, 0.1, 0.1, 0.1]
    events = sorted((TwitchEvent(o, 0.1, p, 0.9, "myoclonic", "rest") for o, p in zip(onsets, peaks)),
                    key=lambda e: e.onset)
    f = session_figures(rec, events)
    assert f.n_events == 45
    assert f.rate_per_min == pytest.approx(45 / 30.0, rel=1e-3)
    assert f.peak_count_10min == 40 and f.peak_basis_s == pytest.approx(600.0, abs=0.05)
    assert f.peak_rate_at == pytest.approx(600.0)
    # the bands of 'evaluate' (scoring's), in their order
    assert f.by_band == [("0-0.02 g", 1), ("0.02-0.05 g", 20), ("0.05-0.1 g", 0), ("0.1-0.3 g", 3),
                         ("0.3-1 g", 21), (">=1 g", 0)]
    ev = [TwitchEvent(0.0, 0.1, p, 0.9) for p in peaks]
    labels = pd.DataFrame({"onset": [0.0] * len(peaks), "duration": 0.1, "label": "twitch", "peak_g": peaks})
    by_strength = score_events(labels, ev, 60.0).figures()["sensitivity_by_strength"]
    assert {k: v["total"] for k, v in by_strength.items()} == {k: n for k, n in f.by_band if n}
    assert f.max_peak_g == pytest.approx(0.6)
    assert f.by_context == {"rest": 45}


def test_report_html_has_pictures_alerts_and_guidance(tmp_path, cli):
    rec = quiet_recording(10)
    write_recording(tmp_path / "s.csv", rec)
    events = [TwitchEvent(30.0 + 20 * i, 0.15, 0.2, 0.8, "tic", "rest") for i in range(25)]
    write_detections(tmp_path / "s.detected.csv", events)
    write_alerts(tmp_path / "s.alerts.csv", [Alert(120, 480, "warning", "frequent", "12 twitches in 10 min")])
    res = cli("report", tmp_path / "s.csv", "--detections", tmp_path, "-o", tmp_path / "r.html")
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64,") == 4  # timeline, strength, examples, time of day
    assert "12 twitches in 10 min" in page and "not a diagnosis" in page
    assert "25 (2.50 per minute with data)" in page  # no NAME.context.csv: said so
    assert "judged time not known" in res.stdout


def test_report_without_events_and_without_detections(tmp_path, cli):
    rec = quiet_recording(5)
    page = render_report(rec, [], [])
    assert "No twitches." in page and "No alert rule fired." in page
    write_recording(tmp_path / "q.csv", rec)
    res = cli("report", tmp_path / "q.csv")
    assert res.returncode == 1 and "no detections for" in res.stderr and "twitchsense detect" in res.stderr


# ---- issue 18: reports that tell the truth ------------------------------------------------------


def walking_then_resting(minutes: float = 10.0) -> tuple[Recording, list[ContextSpan], list[TwitchEvent]]:
    """10 min: 4 min 'cannot tell' (walking), then 6 min at rest with 18 twitches; a gap; a stuck axis."""
    rec = quiet_recording(minutes)
    keep = (rec.t < 300.0) | (rec.t >= 330.0)  # 30 s without data from minute 5
    rec = Recording(t=rec.t[keep], acc=rec.acc[keep].copy(), meta=rec.meta)
    stuck = (rec.t >= 420) & (rec.t < 450)
    rec.acc[stuck, 0] = 0.25  # axis x stuck for 30 s
    rec.acc[stuck, 1] += 0.1 * np.sin(2 * np.pi * 0.5 * rec.t[stuck])  # while the sensor moves
    context = [ContextSpan(0.0, 240.0, "active", 0.3), ContextSpan(240.0, 299.98, "rest", 0.005),
               ContextSpan(330.0, 599.98, "rest", 0.005)]
    events = [TwitchEvent(250.0 + 20 * i, 0.1, 0.05 + 0.01 * i, 0.9, "myoclonic", "rest") for i in range(18)]
    return rec, context, events


def test_rates_are_per_judged_minute(tmp_path):
    rec, context, events = walking_then_resting()
    f = session_figures(rec, events, context)
    judged = 599.98 - 330.0 + 299.98 - 240.0
    assert f.judged_s == pytest.approx(judged)
    assert f.rate_per_min == pytest.approx(18 / (judged / 60))  # not 18 / 10 min
    assert f.cannot_tell_s == pytest.approx(240.0)
    page = render_report(rec, events, [], context)
    assert f"18 ({18 / (judged / 60):.2f} per judged minute)" in page
    assert "5.5 min (rest or light activity); not judged: 4.0 min cannot tell (vigorous movement), 30 s " \
           "without data" in page


def test_unjudged_minutes_are_hatched_and_the_alert_bands_have_a_legend():
    from twitchsense.io.sessionclock import SessionClock
    from twitchsense.report import timeline_figure, unjudged_minutes

    rec, context, events = walking_then_resting()
    judged, unjudged = unjudged_minutes(rec, context)
    assert list(np.flatnonzero(unjudged)) == [0, 1, 2, 3]  # minute 5 has 30 s of data: judged
    assert judged[5] == pytest.approx(0.5, abs=0.01)
    alerts = [Alert(300, 480, "info", "twitching", "x"), Alert(480, 600, "warning", "frequent", "y")]
    fig = timeline_figure(rec, events, alerts, SessionClock(rec.meta["start_time"]), context)
    ax = fig.axes[1]
    assert sum(1 for p in ax.patches if p.get_hatch() == "///") == 4
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "alert band: info" in labels and "alert band: warning" in labels and "alert band: alert" not in labels
    assert "not judged (cannot tell, or no data)" in labels


def test_quality_flags_and_every_twitch_are_listed():
    rec, context, events = walking_then_resting()
    page = render_report(rec, events, [], context)
    assert "1 gap (30 s), 0 saturated stretches (0 s), 1 stuck-axis stretch (30 s)" in page
    assert "<td>22:04:59.9</td><td>30.0 s</td><td>gap</td>" in page
    assert "<td>stuck-axis</td><td>axis x constant at +0.25 g" in page
    table = page.split("<h2>Every twitch</h2>")[1]
    assert table.count("<tr><td>") == 18  # every one, not the six strongest
    assert "<tr><td>18</td><td>22:09:50.0</td><td>0.220</td><td>myoclonic</td><td>rest</td>" in table


def test_report_refuses_the_detections_of_another_recording(tmp_path, run_cli_here):
    rec, context, events = walking_then_resting()
    write_recording(tmp_path / "night.csv", rec)
    out = tmp_path / "out"
    out.mkdir()
    write_detections(out / "night.detected.csv", events)
    write_context(out / "night.context.csv", context)
    short = quiet_recording(2)
    write_recording(tmp_path / "rest.csv", short)
    rc, _, err = run_cli_here("report", tmp_path / "rest.csv", "--detections", out / "night.detected.csv")
    assert rc == 1 and len(err.strip().splitlines()) == 1
    assert "not the detections of" in err and "they are of 'night'" in err
    # the same name, another length: the detections run past the recording's end
    (tmp_path / "other").mkdir()
    write_recording(tmp_path / "other" / "night.csv", short)
    rc, _, err = run_cli_here("report", tmp_path / "other" / "night.csv", "--detections", out)
    assert rc == 1 and "they run to 590.0 s, the recording from 0.0 to 120.0 s" in err
    assert not list(Path.cwd().glob("*.html"))


def test_report_without_o_writes_to_the_current_folder_and_says_where(tmp_path, run_cli_here):
    rec, context, events = walking_then_resting()
    folder = tmp_path / "shared"
    folder.mkdir()
    write_recording(folder / "night.csv", rec)
    write_detections(folder / "night.detected.csv", events)
    write_context(folder / "night.context.csv", context)
    folder.chmod(0o555)  # read-only, as a shared folder may be
    try:
        rc, out, err = run_cli_here("report", folder / "night.csv")
    finally:
        folder.chmod(0o755)
    assert rc == 0, err
    written = Path.cwd() / "night.report.html"
    assert written.exists() and out.startswith(f"{written}: report of night: 18 twitches")
    assert not (folder / "night.report.html").exists()


def test_the_rate_is_shown_against_the_healthy_range_of_the_placement_and_what_cannot_be_told():
    from twitchsense.alerts.reference import reference_range

    rec, context, events = walking_then_resting()
    rec.meta["placement"] = "waist"
    r = reference_range("waist")
    page = render_report(rec, events, [], context)
    f = session_figures(rec, events, context)
    assert f"{f.rate_per_min * 60:.0f}/judged h: above the healthy waist p95 ({r.p95:.0f}; p50 {r.p50:.0f})" in page  # 18 in 5.5 min
    assert "the rate per judged hour against the healthy range" in page
    assert "What the detector can and cannot tell" in page and "detections per still hour" in page
    rec.meta["placement"] = "left ankle"
    page = render_report(rec, events, [], context)
    assert "no healthy range for the ankle" in page and "against the healthy range" not in page
    # without judged time the rate is still shown (per hour with data), and why it is not compared
    page = render_report(rec, events, [])
    rate = session_figures(rec, events).rate_per_min * 60
    assert f"{rate:.0f}/h with data (judged time not known; no healthy range for the ankle" in page
    rec.meta["placement"] = "waist"
    page = render_report(rec, events, [])
    assert f"{rate:.0f}/h with data: not compared with the healthy waist range, which is per judged hour" in page
