"""Foreign CSVs come in through an explicit mapping: nothing guessed, nothing lost (issue 18)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import twitchsense.io.recording as recording_module
from twitchsense.errors import RecordingError
from twitchsense.io.foreign import import_foreign
from twitchsense.io.recording import read_recording, write_recording

G = 9.80665
#: 2026-01-05 21:00:00 UTC in milliseconds
START_MS = 1_767_646_800_000


@pytest.fixture
def run(run_main):
    return run_main


def phone_csv(path, n: int = 400, step_ms: int = 10, start_ms: int = START_MS, scale: float = G,
              repeats: tuple[int, ...] = ()) -> np.ndarray:
    """A phone export: ms epoch stamps, acceleration times ``scale`` (m/s^2); rows in ``repeats`` take
    the stamp of the row before. Returns the acceleration in g."""
    rng = np.random.default_rng(3)
    acc = rng.normal(0, 0.01, (n, 3)) + [0.0, 0.6, 0.8]
    stamps = start_ms + step_ms * np.arange(n)
    for i in repeats:
        stamps[i] = stamps[i - 1]
    rows = "".join(f"{s},{a[0] * scale:.6f},{a[1] * scale:.6f},{a[2] * scale:.6f}\n" for s, a in zip(stamps, acc))
    path.write_text("timestamp,x,y,z\n" + rows)
    return acc


def test_import_ms_and_ms2_semicolon_decimal_comma(tmp_path, run):
    src = tmp_path / "phone.csv"
    src.write_text("timestamp;X;Y;Z\n1000;0,0;0,0;9,80665\n1010;0,980665;0,0;9,80665\n1020;0;0;9,80665\n")
    out = tmp_path / "rec.csv"
    rc, _, err = run("import", src, "--time-col", "timestamp", "--time-unit", "ms", "--units", "m/s2",
                     "--sep", ";", "--decimal", ",", "--axes", "X,Y,Z", "-o", out)
    assert rc == 0, err
    rec = read_recording(out)
    np.testing.assert_allclose(rec.t, [0.0, 0.01, 0.02])
    np.testing.assert_allclose(rec.acc[:, 2], 1.0)
    np.testing.assert_allclose(rec.acc[1, 0], 0.1)


def test_import_untimed_milli_g_with_rate(tmp_path, run):
    src = tmp_path / "microbit.csv"
    src.write_text("x,y,z\n0,0,-1024\n16,0,-1000\n")
    out = tmp_path / "mb.csv"
    rc, _, err = run("import", src, "--no-time", "--rate", "50", "--axes", "x,y,z", "--units", "mg", "-o", out)
    assert rc == 0, err
    rec = read_recording(out)
    np.testing.assert_allclose(rec.t, [0.0, 0.02])
    assert rec.acc[0, 2] == pytest.approx(-1.024)
    assert rec.sample_rate_hz == 50.0


def test_import_errors_name_the_place(tmp_path, run):
    src = tmp_path / "f.csv"
    src.write_text("timestamp,X,Y,Z\n1000,0,0,1\n1010,0,oops,1\n")
    rc, _, err = run("import", src, "--time-col", "timestamp", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert rc == 1
    assert "line 3" in err and "'oops'" in err
    rc, _, err = run("import", src, "--time-col", "time", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert rc == 1 and "missing column 'time'" in err
    rc, _, err = run("import", src, "--no-time", "--axes", "X,Y,Z", "-o", tmp_path / "o.csv")
    assert rc == 1 and "--rate" in err


def test_ms_epoch_and_m_per_s2_are_inferred_said_in_one_line_and_the_start_kept(tmp_path, run):
    src = tmp_path / "phone.csv"
    acc = phone_csv(src)
    out = tmp_path / "rec.csv"
    rc, stdout, err = run("import", src, "--time-col", "timestamp", "--axes", "x,y,z",
                          "--timezone", "Europe/Berlin", "-o", out)
    assert rc == 0, err
    inferred = [line for line in stdout.splitlines() if "inferred" in line]
    assert len(inferred) == 1
    assert "time in ms" in inferred[0] and "100 Hz" in inferred[0] and "axes in m/s^2" in inferred[0]
    assert "warning" not in err
    rec = read_recording(out)
    assert rec.sample_rate_hz == pytest.approx(100.0)
    np.testing.assert_allclose(rec.t[:3], [0.0, 0.01, 0.02])
    np.testing.assert_allclose(rec.acc, acc, atol=1e-6)
    # the absolute start: 21:00 UTC is 22:00 in Berlin in January
    assert json.loads((tmp_path / "rec.json").read_text())["start_time"] == "2026-01-05T22:00:00.000+01:00"
    assert "starting 2026-01-05T22:00:00.000+01:00" in stdout


def test_without_evidence_beyond_doubt_the_units_are_required(tmp_path):
    rel = tmp_path / "relative.csv"  # time from 0: seconds or milliseconds? not said
    rel.write_text("t,ax,ay,az\n" + "".join(f"{i * 10},0,0,1\n" for i in range(50)))
    with pytest.raises(RecordingError, match=r"name the unit of the time column \(--time-unit.*ms the median "
                                             r"step of 10 would be 100 Hz"):
        import_foreign(rel, units="g")
    assert import_foreign(rel, units="g", time_unit="ms").sample_rate_hz == pytest.approx(100.0)
    linear = tmp_path / "linear.csv"  # gravity removed: no unit puts rest near 1 g
    phone_csv(linear, scale=G)
    text = linear.read_text().splitlines()
    linear.write_text("\n".join([text[0]] + [f"{r.split(',')[0]},0.01,0.02,-0.01" for r in text[1:]]) + "\n")
    with pytest.raises(RecordingError, match=r"name the unit of the axes \(--units.*gravity"):
        import_foreign(linear, time_col="timestamp", axes=("x", "y", "z"))


def test_a_wrong_unit_is_refused_or_warned_about(tmp_path, run):
    src = tmp_path / "phone.csv"
    phone_csv(src)
    out = tmp_path / "rec.csv"
    # the time unit given contradicts the stamps: seconds would make 0.1 Hz
    rc, _, err = run("import", src, "--time-col", "timestamp", "--time-unit", "s", "--axes", "x,y,z", "-o", out)
    assert rc == 1 and "--time-unit ms would give 100 Hz" in err and str(src) in err
    # the axes' unit given makes rest 9.8 g: imported as asked, with a warning
    rc, _, err = run("import", src, "--time-col", "timestamp", "--units", "g", "--axes", "x,y,z", "-o", out)
    assert rc == 0
    assert "warning: the resting magnitude is 9.8" in err and "g, not near 1 g: are the units right? (--units m/s2 " \
        "would make it 1 g)" in err


def test_start_time_for_untimed_files_in_the_time_zone_given(tmp_path):
    src = tmp_path / "log.csv"
    src.write_text("x,y,z\n" + "0,0,1000\n" * 10)
    rec = import_foreign(src, time_col=None, rate_hz=50, axes="xyz", units="mg",
                         start_time="2026-07-01T23:30:00", timezone="Europe/Berlin")
    assert rec.meta["start_time"] == "2026-07-01T23:30:00.000+02:00"
    rec = import_foreign(src, time_col=None, rate_hz=50, axes="xyz", units="mg", start_time="2026-07-01T23:30:00Z")
    assert rec.meta["start_time"] == "2026-07-01T23:30:00.000+00:00"
    with pytest.raises(RecordingError, match="not an ISO 8601"):
        import_foreign(src, time_col=None, rate_hz=50, axes="xyz", units="mg", start_time="yesterday")
    phone = tmp_path / "phone.csv"
    phone_csv(phone)
    with pytest.raises(RecordingError, match="the time stamps are clock times"):
        import_foreign(phone, time_col="timestamp", axes="xyz", start_time="2026-07-01T23:30:00")


def test_repeated_time_stamps_error_drop_or_mean_with_the_rows_counted(tmp_path, run):
    src = tmp_path / "phone.csv"
    acc = phone_csv(src, n=100, repeats=(10, 11, 50))  # rows 9-11 share a stamp, rows 49-50 another
    out = tmp_path / "rec.csv"
    base = ("import", src, "--time-col", "timestamp", "--axes", "x,y,z", "-o", out)
    rc, _, err = run(*base)
    assert rc == 1
    assert "line 12 (data row 11): time stamp 1767646800090 repeats (3 repeated rows" in err
    assert "--on-duplicate drop" in err and not out.exists()
    rc, stdout, err = run(*base, "--on-duplicate", "drop")
    assert rc == 0, err
    assert "5 rows share 2 time stamps; kept the first row of each (3 rows fewer)" in stdout
    rec = read_recording(out)
    assert rec.n_samples == 97
    np.testing.assert_allclose(rec.acc[9], acc[9], atol=1e-6)
    rc, stdout, err = run(*base, "--on-duplicate", "mean")
    assert rc == 0, err
    assert "averaged the rows of each (3 rows fewer)" in stdout
    rec = read_recording(out)
    np.testing.assert_allclose(rec.acc[9], acc[9:12].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(rec.acc[47], acc[49:51].mean(axis=0), atol=1e-6)
    assert np.all(np.diff(rec.t) > 0)


def test_import_never_writes_over_its_source(tmp_path, run):
    src = tmp_path / "phone.csv"
    phone_csv(src)
    before = src.read_text()
    rc, _, err = run("import", src, "--time-col", "timestamp", "--axes", "x,y,z", "-o", src)
    assert rc == 1 and "-o names the file being imported" in err and src.read_text() == before


def test_no_header_names_columns_by_position(tmp_path, run):
    src = tmp_path / "serial.log"
    src.write_text("".join(f"{i * 10},0,{i},1000\n" for i in range(60)))
    out = tmp_path / "rec.csv"
    rc, _, err = run("import", src, "--time-unit", "ms", "--units", "mg", "-o", out)
    assert rc == 1 and "no header row" in err and "--no-header" in err
    rc, _, err = run("import", src, "--no-header", "--time-unit", "ms", "--units", "mg", "-o", out)
    assert rc == 0, err
    rec = read_recording(out)
    assert rec.n_samples == 60 and rec.acc[5, 1] == pytest.approx(0.005) and rec.acc[0, 2] == pytest.approx(1.0)
    rc, _, err = run("import", src, "--no-header", "--time-col", "1", "--axes", "3,2,4", "--time-unit", "ms",
                     "--units", "mg", "-o", out)
    assert rc == 0 and read_recording(out).acc[5, 0] == pytest.approx(0.005)
    src.write_text("0,0,0,1000\n10,0,x,1000\n")
    rc, _, err = run("import", src, "--no-header", "--time-unit", "ms", "--units", "mg", "-o", out)
    assert rc == 1 and f"{src}, line 2: column '3' is 'x', not a number" in err
    rc, _, err = run("import", src, "--no-header", "--no-time", "--rate", "50", "--units", "mg", "-o", out)
    assert rc == 1 and "4 fields" not in err  # --no-time: columns 1,2,3 are the axes
    assert "line 2" in err


def test_tab_and_decimal_comma_files_get_the_hint_semicolon_files_get(tmp_path, run):
    out = tmp_path / "rec.csv"
    tab = tmp_path / "tab.csv"
    tab.write_text("t\tax\tay\taz\n0\t0\t0\t1\n0.01\t0\t0\t1\n")
    rc, _, err = run("import", tab, "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 1 and f"looks tab-separated; bring it in with 'twitchsense import {tab} --sep tab" in err
    rc, _, err = run("import", tab, "--sep", "tab", "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 0, err
    comma = tmp_path / "comma.csv"
    comma.write_text("t;ax;ay;az\n0;0,5;0;0,9\n0,01;0,5;0;0,9\n")
    rc, _, err = run("import", comma, "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 1 and "looks semicolon-separated, with decimal commas" in err and "--sep ';' --decimal ," in err
    rc, _, err = run("import", comma, "--sep", ";", "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 1 and "has decimal commas" in err and "--decimal ," in err
    rc, _, err = run("import", comma, "--sep", ";", "--decimal", ",", "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 0, err
    tabcomma = tmp_path / "tabcomma.csv"
    tabcomma.write_text("0\t0,5\t0\t0,9\n0,01\t0,5\t0\t0,9\n")
    rc, _, err = run("import", tabcomma, "--no-header", "--time-unit", "s", "--units", "g", "-o", out)
    assert rc == 1 and "looks tab-separated, with decimal commas" in err


def test_large_files_are_read_in_chunks_with_progress(tmp_path, monkeypatch, capsys):
    src = tmp_path / "phone.csv"
    acc = phone_csv(src, n=2500, repeats=(700, 1999))
    whole = import_foreign(src, time_col="timestamp", axes="xyz", on_duplicate="mean")
    monkeypatch.setattr(recording_module, "READ_CHUNK_ROWS", 300)
    capsys.readouterr()
    chunked = import_foreign(src, time_col="timestamp", axes="xyz", on_duplicate="mean", progress=True)
    np.testing.assert_array_equal(chunked.t, whole.t)
    np.testing.assert_array_equal(chunked.acc, whole.acc)
    assert chunked.info["import"].removed_rows == 2 and chunked.n_samples == 2498
    np.testing.assert_allclose(chunked.acc[:699], acc[:699], atol=1e-6)
    assert "reading phone.csv" in capsys.readouterr().err
    write_recording(tmp_path / "rec.csv", chunked, chunk=500, progress=True)
    assert "writing rec.csv" in capsys.readouterr().err
    np.testing.assert_allclose(read_recording(tmp_path / "rec.csv").acc, chunked.acc, atol=1e-6)
    # a bad cell in a later chunk is named by its line in the file
    lines = src.read_text().splitlines()
    lines[2000] = lines[2000].rsplit(",", 1)[0] + ",nan"
    src.write_text("\n".join(lines) + "\n")
    with pytest.raises(RecordingError, match=r"line 2001 \(data row 2000\): column 'z' is 'nan'"):
        import_foreign(src, time_col="timestamp", axes="xyz", on_duplicate="mean")
