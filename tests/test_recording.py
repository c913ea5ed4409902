"""Reading and writing the interchange format, and every bad-input case of the contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from twitchsense.errors import RecordingError
from twitchsense.io.recording import Recording, find_recordings, read_labels, read_recording, write_recording

from conftest import ROOT, make_samples


def write(tmp_path, text: str, name: str = "rec.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_round_trip_keeps_samples_meta_and_labels(tmp_path):
    t, acc = make_samples()
    labels = pd.DataFrame({"onset": [1.0, 2.5], "duration": [0.2, 0.1], "label": ["twitch", "bump"],
                           "kind": ["myoclonic", ""], "peak_g": [0.31, np.nan]})
    rec = Recording(t=t, acc=acc, meta={"sample_rate_hz": 100.0, "placement": "forearm"}, labels=labels)
    write_recording(tmp_path / "a.csv", rec)
    back = read_recording(tmp_path / "a.csv")
    assert back.n_samples == 500
    np.testing.assert_allclose(back.t, t, atol=5e-7)
    np.testing.assert_allclose(back.acc, acc, atol=5e-7)
    assert back.meta["placement"] == "forearm"
    assert list(back.labels["label"]) == ["twitch", "bump"]
    assert back.labels["peak_g"].iloc[0] == pytest.approx(0.31)
    # writing what was read gives the same bytes
    write_recording(tmp_path / "b.csv", back)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_columns_any_order_any_case_extra_columns_ignored(tmp_path):
    p = write(tmp_path, "AZ,gx,T,Ax,aY\n1.0,5,0.00,0.1,0.2\n0.9,5,0.01,0.1,0.3\n")
    rec = read_recording(p)
    np.testing.assert_allclose(rec.t, [0.0, 0.01])
    np.testing.assert_allclose(rec.acc, [[0.1, 0.2, 1.0], [0.1, 0.3, 0.9]])


def test_rate_from_sidecar_or_median_step_and_gaps_reported(tmp_path):
    t = np.concatenate([np.arange(100) / 50.0, 5.0 + np.arange(100) / 50.0])
    rec = Recording(t=t, acc=np.zeros((200, 3)))
    write_recording(tmp_path / "g.csv", rec)
    back = read_recording(tmp_path / "g.csv")
    assert back.sample_rate_hz == pytest.approx(50.0)
    assert back.info["rate_inferred"]
    assert back.gaps.tolist() == [[pytest.approx(1.98), pytest.approx(5.0)]]
    assert [(s.start, s.stop) for s in back.segments()] == [(0, 100), (100, 200)]
    (tmp_path / "g.json").write_text(json.dumps({"sample_rate_hz": 52.0}))
    assert read_recording(tmp_path / "g.csv").sample_rate_hz == 52.0


def test_incomplete_last_line_is_dropped_and_reported(tmp_path):
    p = write(tmp_path, "t,ax,ay,az\n0.0,0,0,1\n0.01,0,0,1\n0.02,0,0.12")
    rec = read_recording(p)
    assert rec.n_samples == 2
    assert rec.info["dropped_incomplete_last_line"]


# Every bad-input case of the contract: (file text, words the message must hold, line named)
BAD = {
    "empty file": ("", "file is empty", None),
    "no header": ("0.0,0.1,0.2,1.0\n0.01,0.1,0.2,1.0\n", "no header row", 1),
    "missing column": ("t,ax,ay\n0,0,0\n", "missing column 'az'", 1),
    "non-numeric cell": ("t,ax,ay,az\n0,0,0,1\n0.01,abc,0,1\n", "column 'ax' is 'abc', not a number", 3),
    "NaN": ("t,ax,ay,az\n0,0,0,1\n0.01,0,nan,1\n", "column 'ay' is 'nan', not a finite number", 3),
    "empty cell": ("t,ax,ay,az\n0,0,0,1\n0.01,0,,1\n", "column 'ay' is empty", 3),
    "t not increasing": ("t,ax,ay,az\n0,0,0,1\n0.02,0,0,1\n0.01,0,0,1\n", "'t' goes backwards", 4),
    "t repeated": ("t,ax,ay,az\n0,0,0,1\n0.01,0,0,1\n0.01,0,0,1\n", "'t' repeats", 4),
    "header only": ("t,ax,ay,az\n", "no samples", None),
    "extra field": ("t,ax,ay,az\n0,0,0,1\n0.01,0,0,1,7\n", "5 fields, the header has 4", 3),
    "semicolons": ("t;ax;ay;az\n0;0;0;1\n", "semicolon-separated", 1),
    "tabs": ("t\tax\tay\taz\n0\t0\t0\t1\n", "looks tab-separated; bring it in with 'twitchsense import", 1),
    "decimal commas": ("t;ax;ay;az\n0;0,5;0;1\n", "semicolon-separated, with decimal commas", 1),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_line_and_problem(tmp_path, case):
    text, words, line = BAD[case]
    p = write(tmp_path, text)
    with pytest.raises(RecordingError) as info:
        read_recording(p)
    msg = str(info.value)
    assert str(p) in msg and words in msg
    assert info.value.line == line
    if line is not None:
        assert f"line {line}" in msg


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_at_the_cli_is_one_line_and_exit_1(tmp_path, cli, case):
    text, words, line = BAD[case]
    p = write(tmp_path, text)
    res = cli("info", p)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and str(p) in lines[0]


def test_missing_file_and_bad_sidecar_and_bad_labels(tmp_path, cli):
    res = cli("info", tmp_path / "nope.csv")
    assert res.returncode == 1 and "no such file" in res.stderr
    t, acc = make_samples(20)
    write_recording(tmp_path / "r.csv", Recording(t=t, acc=acc))
    (tmp_path / "r.json").write_text("{bad json")
    with pytest.raises(RecordingError, match=r"r\.json: not valid JSON"):
        read_recording(tmp_path / "r.csv")
    (tmp_path / "r.json").write_text('{"sample_rate_hz": -3}')
    with pytest.raises(RecordingError, match="'sample_rate_hz' must be a positive number"):
        read_recording(tmp_path / "r.csv")
    (tmp_path / "r.json").unlink()
    (tmp_path / "r.events.csv").write_text("onset,duration,label\n1.0,0.2,twitch\nx,0.1,bump\n")
    with pytest.raises(RecordingError, match=r"r\.events\.csv, line 3 \(data row 2\): column 'onset' is 'x'"):
        read_recording(tmp_path / "r.csv")
    (tmp_path / "r.events.csv").write_text("onset,label\n1.0,twitch\n")
    with pytest.raises(RecordingError, match="missing column 'duration'"):
        read_labels(tmp_path / "r.events.csv")


def test_find_recordings_skips_companion_files():
    found = find_recordings([ROOT / "recordings" / "real-wrist"])
    assert len(found) == 6
    assert not any(p.name.endswith(".events.csv") for p in found)


def test_real_wrist_copies_read_with_labels():
    rec = read_recording(ROOT / "recordings" / "real-wrist" / "s01_01_sw.csv")
    assert rec.sample_rate_hz == 100.0
    assert {"walking", "seated"} <= set(rec.labels["label"])
    assert np.all(np.abs(np.linalg.norm(rec.acc, axis=1).mean() - 1.0) < 0.2)
