"""Commands over folders go on past a bad file, name every failure, and exit 1 at the end (issue 18);
the outputs carry clock times when the start is known, and ``detect`` gives the judged time."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from twitchsense.detection.model import save_model
from twitchsense.io.recording import Recording, write_recording

from handmade import handmade, tiny_model

START = "2026-03-01T23:58:00+01:00"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.skops"
    save_model(tiny_model()[0], path)
    return path


@pytest.fixture
def run(run_main, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return run_main


@pytest.fixture
def folder(tmp_path):
    """a.csv and d.csv are good; b.csv has a bad cell; c.csv is sampled at 10 Hz."""
    d = tmp_path / "recs"
    d.mkdir()
    for name, seed in (("a", 1), ("d", 2)):
        rec = handmade(seed, minutes=1.0)
        rec.meta["start_time"] = START
        write_recording(d / f"{name}.csv", rec)
    (d / "b.csv").write_text("t,ax,ay,az\n0,0,0,1\n0.01,0,oops,1\n")
    t = np.arange(100) / 10.0
    write_recording(d / "c.csv", Recording(t=t, acc=np.tile([0.0, 0.0, 1.0], (100, 1))))
    return d


def test_detect_goes_on_past_bad_files_and_fails_at_the_end(folder, run, model_path, tmp_path):
    rc, out, err = run("detect", folder, "-o", tmp_path / "out", "--model", model_path)
    assert rc == 1
    assert {p.name for p in (tmp_path / "out").glob("*.detected.csv")} == {"a.detected.csv", "d.detected.csv"}
    lines = err.strip().splitlines()
    assert lines[0] == f"twitchsense detect: error: {folder / 'b.csv'}, line 3 (data row 2): column 'ay' is " \
                       "'oops', not a number"
    assert lines[1] == f"twitchsense detect: error: {folder / 'c.csv'}: sample rate 10 Hz is outside the " \
                       "supported 25-1000 Hz"
    assert lines[2] == f"twitchsense detect: 2 of 4 failed: {folder / 'b.csv'}, {folder / 'c.csv'}"
    assert "a: " in out and "d: " in out
    # the old behaviour on demand: the first failure stops the run
    rc, out, err = run("detect", folder, "-o", tmp_path / "ff", "--model", model_path, "--fail-fast")
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "b.csv" in err
    assert not (tmp_path / "ff" / "d.detected.csv").exists()


def test_info_evaluate_and_report_go_on_too(folder, run, model_path, tmp_path):
    rc, out, err = run("info", folder, tmp_path / "missing.csv")
    assert rc == 1 and "a.csv: 6000 samples" in out and "d.csv: 6000 samples" in out
    assert "b.csv, line 3" in err and "missing.csv: no such file or directory" in err
    assert "2 of 5 failed" in err  # b.csv's cell and the missing path; c.csv reads fine
    rc, out, err = run("evaluate", folder, "--model", model_path, "--no-baseline")
    assert rc == 1 and out.startswith("2 recordings; model") and "b.csv" in err and "c.csv: sample rate 10 Hz" in err
    run("detect", folder, "-o", tmp_path / "out", "--model", model_path)
    rc, out, err = run("report", folder, "--detections", tmp_path / "out", "-o", tmp_path / "reports")
    assert rc == 1
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["a.report.html", "d.report.html"]
    assert "b.csv, line 3" in err and f"no detections for {folder / 'c.csv'}" in err


def test_numbers_are_printed_plainly(tmp_path, run):
    p = tmp_path / "rep.csv"
    p.write_text("t,ax,ay,az\n0,0,0,1\n0.02,0,0,1\n0.02,0,0,1\n")
    rc, _, err = run("info", p)
    assert rc == 1 and f"{p}, line 4 (data row 3): 't' repeats: 0.02 then 0.02" in err
    assert "np." not in err and "float64" not in err


def test_detect_gives_clock_times_and_the_judged_time(folder, run, model_path, tmp_path):
    rc, out, _ = run("detect", folder / "a.csv", folder / "c.csv", "-o", tmp_path / "out", "--model", model_path)
    line = next(x for x in out.splitlines() if x.startswith("a: "))
    # the first 2.25 s cannot be judged (no past): "2 s"
    assert "; judged 1.0 min (" in line and "per judged minute); cannot tell (active) 2 s, gaps 0 s" in line
    with open(tmp_path / "out" / "a.detected.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["onset", "duration", "label", "peak_g", "confidence", "kind", "context", "time"]
    onset = float(rows[1][0])
    assert rows[1][7] == f"2026-03-01T23:58:{onset:06.3f}+01:00"
    with open(tmp_path / "out" / "a.alerts.csv") as f:
        assert next(csv.reader(f)) == ["start", "end", "level", "rule", "detail", "time"]
    # no start time, no time column: the contract's columns, unchanged
    rec = handmade(3, minutes=0.5)
    write_recording(tmp_path / "untimed.csv", rec)
    run("detect", tmp_path / "untimed.csv", "-o", tmp_path / "out", "--model", model_path)
    header = (tmp_path / "out" / "untimed.detected.csv").read_text().splitlines()[0]
    assert header == "onset,duration,label,peak_g,confidence,kind,context"
