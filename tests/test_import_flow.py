"""The documented flow on a phone export, as a fresh clone runs it: import -> detect -> report, no hand
editing (issue 18). Real subprocesses, the shipped model."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

from benchmarks.import_24h import write_phone_export
from twitchsense.io.outputs import read_detections
from twitchsense.io.recording import read_recording

pytest.importorskip("matplotlib")


def test_a_phone_export_goes_through_import_detect_and_report(tmp_path, cli):
    source = ROOT / "recordings" / "demo" / "frequent-twitching.csv"
    rec = read_recording(source)
    phone = tmp_path / "phone.csv"  # ms epoch stamps from 2026-01-05 21:00 UTC, m/s^2, repeated stamps
    repeats = write_phone_export(phone, rec.t, rec.acc, repeat_every=40, seed=1)
    assert repeats > 100
    # the flow of the README's tour, word for word but for the folders
    res = cli("import", phone, "--time-col", "timestamp", "--axes", "x,y,z", "--on-duplicate", "mean",
              "--timezone", "UTC", "-o", tmp_path / "phone-rec.csv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "inferred: time in ms" in res.stdout and "axes in m/s^2" in res.stdout
    assert "rows share" in res.stdout and f"({repeats} rows fewer)" in res.stdout
    assert json.loads((tmp_path / "phone-rec.json").read_text())["start_time"] == "2026-01-05T21:00:00.000+00:00"
    res = cli("detect", tmp_path / "phone-rec.csv", source, "-o", tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "phone-rec: " in res.stdout and "judged" in res.stdout
    imported = read_detections(tmp_path / "out" / "phone-rec.detected.csv")
    original = read_detections(tmp_path / "out" / "frequent-twitching.detected.csv")
    assert len(original) >= 10 and abs(len(imported) - len(original)) <= 1  # the same twitches found
    assert (tmp_path / "out" / "phone-rec.detected.csv").read_text().splitlines()[1].endswith("+00:00")
    res = cli("report", tmp_path / "phone-rec.csv", "--detections", tmp_path / "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "phone-rec.report.html").read_text()
    assert "2026-01-05T21:00:00.000+00:00" in page and "per judged minute" in page
    assert page.split("<h2>Every twitch</h2>")[1].count("<tr><td>") == len(imported)
