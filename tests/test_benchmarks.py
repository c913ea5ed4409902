"""The benchmark runner: one quick run writes every section (parts not built say so)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, SHARED, cli_env

from benchmarks.report import markdown_table
from benchmarks.run import SECTIONS, scaling_exponent

TITLES = ["Throughput and scaling", "Decoder throughput", "Latency", "Live-path memory",
          "Peers: feature extraction and window classification", "Detection quality"]


def test_scaling_exponent_tells_linear_from_quadratic():
    assert scaling_exponent([1, 6, 24], [0.5, 3.0, 12.0]) == 1.0
    assert scaling_exponent([1, 2, 4], [1, 4, 16]) == 2.0
    assert scaling_exponent([1], [1.0]) is None


def test_markdown_table_shows_missing_values_as_dash():
    table = markdown_table([("a", "A"), ("b", "B")], [{"a": 1.23456, "b": None}, {"a": "x|y"}])
    assert table.splitlines() == ["| A | B |", "|---|---|", "| 1.23 | - |", "| x/y | - |"]


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="needs ../shared/data")
def test_quick_run_writes_every_section(tmp_path):
    out = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--without-peers", "--out", str(out)],
                          capture_output=True, text=True, timeout=1200, cwd=ROOT, env=cli_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert "reproduce: `pip install '.[bench]' && python -m benchmarks --smoke --without-peers`" in text
    assert "cores" in text and "Python 3." in text
    for title in TITLES:
        assert f"## {title}" in text
    doc = json.loads(out.with_suffix(".json").read_text())
    assert list(doc["sections"]) == list(SECTIONS)
    for name, sec in doc["sections"].items():
        assert sec["rows"], name
        assert sec["status"] in ("ok", "partial", "missing"), (name, sec["rows"])
        for row in sec["rows"]:
            status = row.get("status", "ok")
            assert status == "ok" or status.startswith(("not available yet (issue #", "skipped", "peer not")), row
    load = [r for r in doc["sections"]["throughput"]["rows"] if r["stage"] == "load"]
    assert [r["hours"] for r in load] == [0.02, 0.05]
    assert all(r["seconds"] > 0 and r["peak_rss_mb"] > 0 for r in load)
    peers = {r["method"]: r["status"] for r in doc["sections"]["peers"]["rows"]}
    assert peers["TSFEL (all default features)"] == "skipped (--without-peers)"
    assert (out.parent / "plots" / "throughput.png").stat().st_size > 1000


def test_real_data_measures_model_and_baseline_with_twitches_added_where_still(tmp_path, monkeypatch):
    """benchmarks.real_data on a tiny folder: figures for both detectors, twitches added only where
    still, held out by construction outside the training folders; the same figures twice."""
    from benchmarks import real_data
    from twitchsense.detection.model import default_model_path
    from twitchsense.io.recording import write_recording

    from handmade import handmade

    for i in range(2):
        rec = handmade(900 + i, minutes=1.5, n_twitch=0, tremor=True)
        rec.labels = rec.labels.iloc[0:0]
        (tmp_path / "real-waist-hapt").mkdir(exist_ok=True)
        write_recording(tmp_path / "real-waist-hapt" / f"r{i}.csv", rec)
    monkeypatch.setattr(real_data, "SHARED_DATA", tmp_path)
    doc = real_data.run(default_model_path(), None, ["real-waist-hapt", "real-wrist"], seeds=1, progress=False)
    assert doc["missing"] == ["real-wrist"] and len(doc["folders"]) == 1
    row = doc["folders"][0]
    assert row["held_out"] == "by construction" and row["recordings"] == 2 and row["subjects"] == 2
    assert 0.04 < row["hours"] < 0.06 and 0 < row["still_hours"] < row["hours"]
    for who in ("model", "baseline"):
        assert row[who]["injected"]["twitches"] > 5 and row[who]["subject_per_h"] is not None
    assert row["model"]["injected"]["sensitivity"] > 0.5
    assert real_data.run(default_model_path(), None, ["real-waist-hapt"], seeds=1, progress=False)["folders"] == \
        doc["folders"]
    assert "real-waist-hapt (never trained on)" in real_data.short_table(doc)


def test_a_partial_run_updates_its_sections_of_the_last_run_and_says_so(tmp_path):
    import json

    from benchmarks.run import rerun_of

    machine = {"date_utc": "2026-12-03 15:00 UTC", "commit": "abc1234", "load_avg_1min": 0.5}
    last = {"mode": "full", "machine": {**machine, "date_utc": "2026-12-02", "commit": "old"},
            "sections": {"throughput": {"rows": [1]}, "quality": {"rows": ["old"]}}}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(last))
    part = {"mode": "full", "machine": machine, "sections": {"quality": {"rows": ["new"]}}}
    merged = rerun_of(path, part)
    assert merged["sections"] == {"throughput": {"rows": [1]}, "quality": {"rows": ["new"]}}
    assert merged["machine"]["commit"] == "old" and merged["reruns"] == [
        {"sections": ["quality"], "date_utc": "2026-12-03 15:00 UTC", "commit": "abc1234", "load_avg_1min": 0.5}]
    assert rerun_of(path, {**part, "mode": "quick"})["sections"] == part["sections"]  # another mode: its own run
    path.write_text(json.dumps({**merged, "reruns": [{**merged["reruns"][0], "sections": ["quality", "latency"]}]}))
    again = rerun_of(path, {**part, "machine": {**machine, "commit": "def5678"}})  # quality run once more
    assert [(r["sections"], r["commit"]) for r in again["reruns"]] == [(["latency"], "abc1234"), (["quality"], "def5678")]


def test_joined_day_places_each_segment_at_its_start_and_runs_the_alert_engine_over_the_day(tmp_path):
    """benchmarks.joined_day on three tiny segments around midnight: each at its sidecar's start (the
    logger's sleep a gap), detection and the shipped rules over the one run; overlapping segments refused."""
    from benchmarks import joined_day
    from twitchsense.io.recording import write_recording

    from handmade import handmade

    starts = ["2019-05-06 23:58:00", "2019-05-07 00:01:30", "2019-05-06 23:55:00"]  # not in name order
    for i, start in enumerate(starts):
        rec = handmade(910 + i, minutes=1.0, n_twitch=3, tremor=False)
        rec.meta.update(placement="wrist", session=f"free-living day, segment {i + 1}, starts {start} local "
                                                   "(TZ -05:00:00), 60 s")
        write_recording(tmp_path / f"seg{i}.csv", rec)
    day, n = joined_day.joined_day(tmp_path)
    assert n == 3 and day.meta["start_time"] == "2019-05-06T23:55:00-05:00"
    assert [round(float(day.t[s][0])) for s in day.segments()] == [0, 180, 390]
    res = joined_day.run(tmp_path)
    assert res["segments"] == 3 and res["with_data_h"] == pytest.approx(3 / 60, abs=1e-3)
    assert res["span_h"] == pytest.approx((390 + 60) / 3600, abs=1e-3) and 0 < res["judged_h"] <= res["with_data_h"]
    assert res["healthy_p95_per_judged_h"] is not None and isinstance(res["warning_or_above"], dict)
    rec = handmade(913, minutes=1.0, n_twitch=0, tremor=False)
    rec.meta["session"] = "starts 2019-05-06 23:58:30 local (TZ -05:00:00)"  # inside the second segment
    write_recording(tmp_path / "seg3.csv", rec)
    with pytest.raises(SystemExit, match="seg3.csv: starts at 2019-05-06 23:58:30-05:00, before the segment"):
        joined_day.joined_day(tmp_path)


def test_missed_twitches_puts_every_twitch_in_one_stage_and_agrees_with_the_scoring():
    """benchmarks.missed_twitches: one row per true twitch >= 0.02 g; "found" exactly where the
    contract's scoring finds it; a twitch in a recording's first second (no past: the context
    cannot tell) is put there; a breakdown's counts add up."""
    import pandas as pd

    from benchmarks.missed_twitches import STAGES, breakdown, twitch_stages
    from handmade import damped, handmade, tiny_model
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.scoring import score_events

    model, _ = tiny_model()
    rec = handmade(21, minutes=1.0, n_twitch=6, tremor=False)
    rec.acc[:, 0] += 0.3 * damped(rec.t - 1.0, 10.0, 0.05)
    first = pd.DataFrame([(1.0, 0.2, "twitch", 0.3, "myoclonic")], columns=rec.labels.columns)
    rec.labels = pd.concat([rec.labels, first], ignore_index=True)
    rows = twitch_stages(rec, model)
    assert len(rows) == int((rec.labels["peak_g"] >= 0.02).sum())
    assert all(r["stage"].split(":")[0] in STAGES for r in rows)
    tally = score_events(rec.labels, detect_recording(rec, model).events, rec.duration_s)
    assert sum(r["stage"] == "found" for r in rows) == tally.n_found
    assert next(r for r in rows if r["onset"] == 1.0)["stage"] == "cannot tell"
    table = breakdown(rows)
    assert f"| all | {len(rows)} |" in table
