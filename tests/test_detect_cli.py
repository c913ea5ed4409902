"""``detect``, ``evaluate`` and ``train`` on the command line (real subprocesses, real files)."""

from __future__ import annotations

import csv
import json

import pytest

from twitchsense.detection.model import save_model
from twitchsense.io.recording import write_recording

from handmade import handmade, tiny_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.skops"
    save_model(tiny_model()[0], path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    for rate in (50.0, 100.0, 200.0):
        write_recording(d / f"hand_{rate:g}hz.csv", handmade(400 + int(rate), minutes=1.0, rate=rate))
    return d


def test_detect_writes_contract_files_at_50_100_200_hz(cli, model_path, data, tmp_path):
    res = cli("detect", data, "-o", tmp_path / "out", "--model", model_path)
    assert res.returncode == 0, res.stderr
    for rate in ("50", "100", "200"):
        name = f"hand_{rate}hz"
        assert f"{name}: " in res.stdout and f"at {rate} Hz" in res.stdout
        with open(tmp_path / "out" / f"{name}.detected.csv") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0])[:5] == ["onset", "duration", "label", "peak_g", "confidence"]
        assert len(rows) >= 5 and all(r["label"] == "twitch" and 0 <= float(r["confidence"]) <= 1 for r in rows)
        header = (tmp_path / "out" / f"{name}.alerts.csv").read_text().splitlines()[0]
        assert header == "start,end,level,rule,detail"
        assert (tmp_path / "out" / f"{name}.context.csv").read_text().startswith("start,end,state,level_g\n")


def test_evaluate_prints_model_and_baseline_figures(cli, model_path, data):
    res = cli("evaluate", data, "--model", model_path, "--json", "--by-folder")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["recordings"] == 3
    assert out["model"]["sensitivity"] >= 0.6 and out["model"]["true_twitches"] >= 30
    assert out["baseline"]["true_twitches"] == out["model"]["true_twitches"]
    # text table; every labelled twitch here is myoclonic, so with that class optional none is required
    res = cli("evaluate", data, "--model", model_path, "--optional-kind", "myoclonic")
    assert res.returncode == 0 and "baseline" in res.stdout and "false alarms / h" in res.stdout
    assert "optional classes: myoclonic" in res.stdout
    row = next(line for line in res.stdout.splitlines() if line.startswith("true twitches"))
    assert row.split()[-3:] == ["0", "0", "0"]


def test_bad_model_and_bad_input_give_one_line_errors(cli, data, model_path, tmp_path):
    bogus = tmp_path / "bogus.skops"
    bogus.write_text("not a model")
    res = cli("detect", data, "-o", tmp_path / "o", "--model", bogus)
    assert res.returncode == 1 and "not a skops model file" in res.stderr and "Traceback" not in res.stderr
    # with a good model, so that the recordings are read: a bad cell, and a file that is not there
    bad = tmp_path / "bad.csv"
    bad.write_text("t,ax,ay,az\n0.00,0,0,1\n0.01,0,abc,1\n0.02,0,0,1\n")
    res = cli("detect", bad, "-o", tmp_path / "o", "--model", model_path)
    assert res.returncode == 1 and res.stderr.strip().splitlines() == [
        f"twitchsense detect: error: {bad}, line 3 (data row 2): column 'ay' is 'abc', not a number"]
    assert not (tmp_path / "o" / "bad.detected.csv").exists()
    res = cli("detect", tmp_path / "nope.csv", "-o", tmp_path / "o", "--model", model_path)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1 and "nope.csv" in res.stderr


def test_train_writes_a_model_and_card(cli, tmp_path):
    d = tmp_path / "train"
    d.mkdir()
    for s in range(3):
        write_recording(d / f"h{s}.csv", handmade(500 + s, minutes=1.5))
    res = cli("train", d, "-o", tmp_path / "m.skops", "--folds", "3", "--trees", "20", "--no-progress", timeout=300)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "m.skops").is_file() and (tmp_path / "m.card.md").is_file()
    card_md = (tmp_path / "m.card.md").read_text()
    assert "twitchsense train" in card_md and "fasciculations optional" in card_md
    assert "| train |" in res.stdout  # held-out figures per folder
    card = json.loads((tmp_path / "m.card.json").read_text())
    every, core = card["held_out_figures"]["train"], card["held_out_figures_fasciculations_optional"]["train"]
    assert every["true_twitches"] == core["true_twitches"] > 0  # these twitches are all myoclonic


def test_shipped_model_runs_on_a_real_recording_at_50_100_200_hz(cli, tmp_path):
    import numpy as np

    from twitchsense.io.recording import Recording, read_recording

    real = read_recording(__import__("pathlib").Path(__file__).resolve().parents[1]
                          / "recordings" / "real-wrist" / "s01_01_sw.csv")
    for rate in (50.0, 100.0, 200.0):
        t = np.arange(real.t[0], real.t[-1], 1.0 / rate)
        acc = np.column_stack([np.interp(t, real.t, real.acc[:, i]) for i in range(3)])
        write_recording(tmp_path / f"wrist_{rate:g}.csv", Recording(t=t, acc=acc, meta={"sample_rate_hz": rate}))
    res = cli("detect", tmp_path, "-o", tmp_path / "out")  # no --model: the shipped one
    assert res.returncode == 0, res.stderr
    for rate in ("50", "100", "200"):
        assert (tmp_path / "out" / f"wrist_{rate}.detected.csv").read_text().startswith(
            "onset,duration,label,peak_g,confidence")
        assert f"wrist_{rate}: " in res.stdout


def test_a_folder_holding_detect_outputs_is_read_as_its_recordings_only(cli, model_path, tmp_path):
    """``detect DIR -o DIR`` then ``detect DIR -o OUT2``: the outputs beside the recordings are not recordings."""
    from twitchsense.io.recording import COMPANION_SUFFIXES, find_recordings

    d = tmp_path / "rec"
    d.mkdir()
    write_recording(d / "rest.csv", handmade(7, minutes=0.5))
    first = cli("detect", d, "-o", d, "--model", model_path)
    assert first.returncode == 0, first.stderr
    written = sorted(p.name for p in d.iterdir())
    assert {"rest.detected.csv", "rest.alerts.csv", "rest.context.csv"} <= set(written)
    assert all(n.endswith(COMPANION_SUFFIXES) for n in written if n not in ("rest.csv", "rest.json"))
    assert find_recordings([d]) == [d / "rest.csv"]
    second = cli("detect", d, "-o", tmp_path / "out2", "--model", model_path)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in (tmp_path / "out2").iterdir()) == [
        "rest.alerts.csv", "rest.context.csv", "rest.detected.csv"]
