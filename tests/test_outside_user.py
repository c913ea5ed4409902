"""An outside user's hostile run of the commands: each case failed (a traceback, an internal error, a wrong
message or a silent wrong answer) before its fix."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from twitchsense.io.recording import Recording, write_recording

from conftest import make_samples


def recording(folder, name: str = "rec", n: int = 3000, meta: dict | None = None):
    t, acc = make_samples(n)
    p = folder / f"{name}.csv"
    write_recording(p, Recording(t=t, acc=acc, meta=meta or {}))
    return p


def test_ctrl_c_while_a_recording_is_read_stops_the_command_and_blames_no_file(tmp_path, run_main, monkeypatch):
    # A real SIGINT that lands while pandas' C parser reads came out as "could not be parsed as CSV": a good
    # file named bad, and a batch that went on with the next file, exit 1 instead of 130.
    import tqdm

    first, second = recording(tmp_path, "first"), recording(tmp_path, "second")
    update = tqdm.tqdm.update
    sent = []

    def update_then_ctrl_c(self, n=1):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # handled at the parser's next call into Python
        return update(self, n)

    monkeypatch.setattr(tqdm.tqdm, "update", update_then_ctrl_c)
    rc, out, err = run_main("detect", first, second, "-o", tmp_path / "out")
    assert rc == 130
    assert err.strip() == "twitchsense detect: interrupted"
    assert "second" not in out


STARTUP_CTRL_C = """
import os, signal, sys

class CtrlC:  # Ctrl-C while the command starts: as pandas is imported
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)

sys.meta_path.insert(0, CtrlC())
from twitchsense.cli import main  # what the console script does
sys.exit(main(["info", "rec.csv"]))
"""


def test_ctrl_c_while_the_command_starts_is_one_line_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from conftest import cli_env

    done = subprocess.run([sys.executable, "-c", STARTUP_CTRL_C], capture_output=True, text=True, timeout=120,
                          env=cli_env(), cwd=tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "twitchsense: interrupted"


def test_an_output_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path, run_main):
    # Was "internal error: NotADirectoryError: [Errno 20] ..." (detect -o) and "internal error:
    # FileNotFoundError" (import -o into a folder that does not exist).
    rec = recording(tmp_path)
    (tmp_path / "afile").write_text("not a folder")
    rc, _, err = run_main("detect", rec, "-o", tmp_path / "afile" / "out")
    assert rc == 1
    assert err.strip() == f"twitchsense detect: error: {tmp_path / 'afile' / 'out'}: not a directory"
    rc, _, err = run_main("import", rec, "--time-col", "t", "--axes", "ax,ay,az", "--time-unit", "s",
                          "--units", "g", "-o", tmp_path / "missing" / "night.csv")
    assert rc == 1
    assert err.strip().endswith(f"error: {tmp_path / 'missing' / 'night.csv'}: no such file or directory")
    assert "internal error" not in err


def test_ctrl_c_in_detect_leaves_each_recordings_outputs_of_one_run(tmp_path, run_main, monkeypatch):
    # Detections were written before the alerts were computed: a Ctrl-C then left the new run's
    # NAME.detected.csv beside the previous run's NAME.alerts.csv, and a file cut mid-write.
    import shutil

    import twitchsense.alerts
    from conftest import ROOT

    rec = tmp_path / "night.csv"
    shutil.copy(ROOT / "recordings/demo/no-twitch.csv", rec)
    out = tmp_path / "out"
    assert run_main("detect", rec, "-o", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    shutil.copy(ROOT / "recordings/demo/frequent-twitching.csv", rec)  # the same name, another night

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(twitchsense.alerts, "recording_alerts", ctrl_c)
    assert run_main("detect", rec, "-o", out)[0] == 130
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_an_output_file_cut_by_an_interruption_keeps_its_old_content(tmp_path):
    from twitchsense.io.outputs import read_detections, write_detections
    from twitchsense.types import TwitchEvent

    path = tmp_path / "night.detected.csv"
    events = [TwitchEvent(onset=float(i), duration=0.1, peak_g=0.2, confidence=0.9) for i in range(3)]
    write_detections(path, events)

    def cut_short():
        yield events[0]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_detections(path, cut_short())
    assert len(read_detections(path)) == 3
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("field,value,problem", [
    ("placement", 5, "'placement' must be text, found 5"),
    ("subject", {"a": 1}, "'subject' must be text or a whole number, found {'a': 1}"),
    ("notes", ["a"], "'notes' must be text, found ['a']"),
])
def test_a_sidecar_field_of_the_wrong_type_is_one_line(tmp_path, run_main, field, value, problem):
    # placement 5 was "internal error: AttributeError: 'int' object has no attribute 'lower'"
    rec = recording(tmp_path, meta={field: value})
    rc, _, err = run_main("detect", rec, "-o", tmp_path / "out")
    assert rc == 1
    assert err.strip() == f"twitchsense detect: error: {rec}: {tmp_path / 'rec.json'}: {problem}"


def test_a_sidecar_start_time_without_an_offset_is_said_not_silently_utc(tmp_path, run_main):
    rec = recording(tmp_path, meta={"start_time": "2026-01-05T23:30:00", "subject": 3})
    rc, _, err = run_main("detect", rec, "-o", tmp_path / "out")
    assert rc == 0
    assert "warning" in err and "'start_time' '2026-01-05T23:30:00' has no UTC offset: taken as UTC" in err


@pytest.mark.parametrize("line,problem", [
    ("per_minute = inf", "rule 'twitching': per_minute must be a number above 0, got inf"),
    ("per_minute = 1e400", "rule 'twitching': per_minute must be a number above 0, got inf"),
])
def test_an_infinite_number_in_a_rule_file_is_refused_by_check(tmp_path, run_main, line, problem):
    # 'rules --check' called it valid and 'detect --rules' then stopped with "internal error: OverflowError"
    rules = tmp_path / "my rules.toml"
    assert run_main("rules", "--copy", rules)[0] == 0
    text = rules.read_text()
    assert "\nper_minute = 1\n" in text
    rules.write_text(text.replace("\nper_minute = 1\n", f"\n{line}\n", 1))
    rc, _, err = run_main("rules", "--check", rules)
    assert rc == 1
    assert err.strip() == f"twitchsense rules: error: {rules}: {problem}"


def test_acceleration_that_cannot_be_in_g_is_refused_by_name(tmp_path, run_main):
    # 1e300 g gave a numpy overflow warning and "0 twitches, cannot tell 54 s"; a recording in m/s^2 (9.8 at
    # rest) gave "0 twitches" and a saturated stretch: silent wrong answers.
    t, acc = make_samples(3000)
    huge = acc.copy()
    huge[100, 1] = 1e300
    write_recording(tmp_path / "huge.csv", Recording(t=t, acc=huge))
    write_recording(tmp_path / "phone.csv", Recording(t=t, acc=acc * 9.80665))
    rc, _, err = run_main("detect", tmp_path / "huge.csv", "-o", tmp_path / "out")
    assert rc == 1
    assert err.strip() == (f"twitchsense detect: error: {tmp_path / 'huge.csv'}, line 102 (data row 101): column "
                           "'ay' is 1e+300 g, beyond what an accelerometer measures (1000 g)")
    rc, _, err = run_main("detect", tmp_path / "phone.csv", "-o", tmp_path / "out")
    assert rc == 1
    assert "the median magnitude is 9.8" in err and "not near 1 g (gravity)" in err and "--units m/s2" in err
    assert len(err.strip().splitlines()) == 1
    # the command it names brings the file in
    rc, _, err = run_main("import", tmp_path / "phone.csv", "--time-unit", "s", "--units", "m/s2",
                          "-o", tmp_path / "in-g.csv")
    assert rc == 0, err
    assert run_main("detect", tmp_path / "in-g.csv", "-o", tmp_path / "out")[0] == 0


def test_a_recording_with_gravity_taken_out_is_said(tmp_path, run_main):
    # a phone's "linear acceleration" export (gravity removed) was read without a word, though the posture
    # and stillness checks read the limb's angle from gravity (qa)
    t, acc = make_samples(3000)
    write_recording(tmp_path / "linear.csv", Recording(t=t, acc=acc - np.median(acc, axis=0)))
    rc, _, err = run_main("detect", tmp_path / "linear.csv", "-o", tmp_path / "out")
    assert rc == 0
    assert "linear.csv: the median magnitude is" in err and "gravity seems taken out" in err


def test_import_of_a_one_sample_file_says_it_is_too_short(tmp_path, run_main):
    # was "... median step nan ..." (qa)
    (tmp_path / "one.csv").write_text("t,ax,ay,az\n0.0,0.1,0.2,0.97\n")
    rc, _, err = run_main("import", tmp_path / "one.csv", "--time-col", "t", "--axes", "ax,ay,az",
                          "--units", "g", "-o", tmp_path / "in.csv")
    assert rc == 1
    assert err.strip() == (f"twitchsense import: error: {tmp_path / 'one.csv'}: 1 sample: too short to have a "
                           "sample rate")


def test_serve_refuses_a_file_that_is_no_history_in_one_line(tmp_path, cli):
    # serve started on it and answered every page with a 500 and a traceback in the terminal (in a subprocess
    # with a timeout: before the fix it served on)
    (tmp_path / "garbage.sqlite").write_bytes(b"garbage, not SQLite" * 10)
    done = cli("serve", "--db", tmp_path / "garbage.sqlite", "--port", "0", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"twitchsense serve: error: {tmp_path / 'garbage.sqlite'}: cannot open the "
                                   "history database (file is not a database)")
    import sqlite3

    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE notes (x)").connection.commit()
    done = cli("serve", "--db", tmp_path / "other.sqlite", "--port", "0", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("not a twitchsense history (it has no sessions table)")


def test_a_byte_that_is_not_utf8_is_named_with_its_line(tmp_path, run_main):
    # was "rec.csv: not UTF-8 text", with no place, in a file of a day's rows
    rows = "".join(f"{i / 100:.2f},0,0,1\n" for i in range(3000))
    (tmp_path / "rec.csv").write_bytes(b"t,ax,ay,az\n" + rows.encode() + b"30.00,\xff\xfe,0,1\n")
    rc, _, err = run_main("detect", tmp_path / "rec.csv", "-o", tmp_path / "out")
    assert rc == 1
    assert err.strip() == (f"twitchsense detect: error: {tmp_path / 'rec.csv'}, line 3002 (data row 3001): not "
                           "UTF-8 text (byte b'\\xff' at column 7)")


def test_an_infinite_setting_in_a_rule_file_is_refused_by_check(tmp_path, run_main):
    rules = tmp_path / "rules.toml"
    assert run_main("rules", "--copy", rules)[0] == 0
    text = rules.read_text()
    assert "\nclock_cap_windows = 2\n" in text
    rules.write_text(text.replace("\nclock_cap_windows = 2\n", "\nclock_cap_windows = inf\n"))
    rc, _, err = run_main("rules", "--check", rules)
    assert rc == 1 and "clock_cap_windows must be a number of 1 or more" in err
