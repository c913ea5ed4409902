"""Foreign CSVs come in through an explicit mapping, never by guessing."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.io.recording import read_recording

G = 9.80665


def test_import_ms_and_ms2_semicolon_decimal_comma(tmp_path, cli):
    src = tmp_path / "phone.csv"
    src.write_text("timestamp;X;Y;Z\n1000;0,0;0,0;9,80665\n1010;0,980665;0,0;9,80665\n1020;0;0;9,80665\n")
    out = tmp_path / "rec.csv"
    res = cli("import", src, "--time-col", "timestamp", "--time-unit", "ms", "--units", "m/s2",
              "--sep", ";", "--decimal", ",", "--axes", "X,Y,Z", "-o", out)
    assert res.returncode == 0, res.stderr
    rec = read_recording(out)
    np.testing.assert_allclose(rec.t, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(rec.acc[:, 2], 1.0)
    np.testing.assert_allclose(rec.acc[1, 0], 0.1)


def test_import_untimed_milli_g_with_rate(tmp_path, cli):
    src = tmp_path / "microbit.csv"
    src.write_text("x,y,z\n0,0,-1024\n16,0,-1000\n")
    out = tmp_path / "mb.csv"
    res = cli("import", src, "--no-time", "--rate", "50", "--axes", "x,y,z", "--units", "mg", "-o", out)
    assert res.returncode == 0, res.stderr
    rec = read_recording(out)
    np.testing.assert_allclose(rec.t, [0.0, 0.02])
    assert rec.acc[0, 2] == pytest.approx(-1.024)
    assert rec.sample_rate_hz == 50.0


def test_import_errors_name_the_place(tmp_path, cli):
    src = tmp_path / "f.csv"
    src.write_text("timestamp,X,Y,Z\n1000,0,0,1\n1010,0,oops,1\n")
    res = cli("import", src, "--time-col", "timestamp", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert res.returncode == 1
    assert "line 3" in res.stderr and "'oops'" in res.stderr
    res = cli("import", src, "--time-col", "time", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert res.returncode == 1 and "missing column 'time'" in res.stderr
    res = cli("import", src, "--no-time", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert res.returncode == 1 and "--rate" in res.stderr
