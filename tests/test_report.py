"""The session report: its figures are right and the HTML carries the pictures and the guidance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twitchsense.detection.scoring import score_events
from twitchsense.io.outputs import write_alerts, write_detections
from twitchsense.io.recording import Recording, write_recording
from twitchsense.report import render_report, session_figures
from twitchsense.types import Alert, TwitchEvent

pytest.importorskip("matplotlib")


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
    assert f.peak_rate_10min == pytest.approx(4.0)
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
    assert "25 (2.50 per minute on average)" in page


def test_report_without_events_and_without_detections(tmp_path, cli):
    rec = quiet_recording(5)
    page = render_report(rec, [], [])
    assert "No twitches." in page and "No alert rule fired." in page
    write_recording(tmp_path / "q.csv", rec)
    res = cli("report", tmp_path / "q.csv")
    assert res.returncode == 1 and "no detections for" in res.stderr and "twitchsense detect" in res.stderr
