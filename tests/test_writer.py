"""The crash-safe writer: a real subprocess killed with SIGKILL mid-write loses only unflushed rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from twitchsense.io.recording import read_recording
from twitchsense.io.writer import RecordingWriter

from conftest import cli_env, make_samples

WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    from twitchsense.io.writer import RecordingWriter
    w = RecordingWriter(sys.argv[1], {"sample_rate_hz": 100.0}, flush_interval_s=0.2)
    i = 0
    while True:                      # 100 Hz in blocks of 10, forever, until killed
        t = (i + np.arange(10)) / 100.0
        acc = np.column_stack([np.sin(t), np.cos(t), np.full(10, 1.0)])
        w.append(t, acc)
        i += 10
        print(i, flush=True)
        time.sleep(0.01)
""")


def test_kill_9_mid_write_leaves_a_readable_file(tmp_path):
    out = tmp_path / "crash.csv"
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(out)], stdout=subprocess.PIPE,
                            text=True, env=cli_env())
    sent = 0
    deadline = time.monotonic() + 30
    while sent < 1500 and time.monotonic() < deadline:
        sent = int(proc.stdout.readline())
    time.sleep(0.5)  # longer than the flush interval: the rows appended before now are on disk
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    rec = read_recording(out)
    assert rec.n_samples >= sent  # everything appended more than a flush interval ago survived
    np.testing.assert_allclose(rec.t, np.arange(rec.n_samples) / 100.0, atol=1e-6)
    np.testing.assert_allclose(rec.acc[:, 0], np.sin(rec.t), atol=1e-6)
    assert rec.meta["sample_rate_hz"] == 100.0


def test_flushes_without_new_samples_and_close_is_idempotent(tmp_path):
    t, acc = make_samples(50)
    w = RecordingWriter(tmp_path / "w.csv", flush_interval_s=0.1)
    w.append(t, acc)
    time.sleep(0.4)  # no more appends: the flush thread must still write the rows
    assert (tmp_path / "w.csv").read_text().count("\n") == 51
    w.close()
    w.close()
    assert read_recording(tmp_path / "w.csv").n_samples == 50


def test_samples_not_after_the_last_are_dropped(tmp_path):
    with RecordingWriter(tmp_path / "d.csv") as w:
        w.append([0.0, 0.01, 0.02], np.zeros((3, 3)))
        w.append([0.02, 0.03], np.ones((2, 3)))
        assert w.n_written == 4
    assert read_recording(tmp_path / "d.csv").t.tolist() == [0.0, 0.01, 0.02, 0.03]
