"""The crash-safe writer: a real subprocess killed with SIGKILL mid-write loses only unflushed rows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

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


def wait_for(condition, timeout_s: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passes (False): no fixed sleep."""
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def test_kill_9_mid_write_leaves_a_readable_file(tmp_path):
    out = tmp_path / "crash.csv"
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(out)], stdout=subprocess.PIPE,
                            text=True, env=cli_env())
    sent = 0
    while sent < 1500:
        sent = int(proc.stdout.readline())
    # the flush thread puts them on disk by itself (no close): wait for it, then kill while it writes on
    assert wait_for(lambda: out.read_bytes().count(b"\n") > sent), "the rows never reached the file"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    rec = read_recording(out)
    assert rec.n_samples >= sent  # everything flushed survived, and the file loads
    np.testing.assert_allclose(rec.t, np.arange(rec.n_samples) / 100.0, atol=1e-6)
    np.testing.assert_allclose(rec.acc[:, 0], np.sin(rec.t), atol=1e-6)
    assert rec.meta["sample_rate_hz"] == 100.0


def test_flushes_without_new_samples_and_close_is_idempotent(tmp_path):
    t, acc = make_samples(50)
    w = RecordingWriter(tmp_path / "w.csv", flush_interval_s=0.1)
    w.append(t, acc)
    # no more appends, no close: the flush thread must still write the rows
    assert wait_for(lambda: (tmp_path / "w.csv").read_text().count("\n") == 51)
    w.close()
    w.close()
    assert read_recording(tmp_path / "w.csv").n_samples == 50


def test_samples_not_after_the_last_are_dropped(tmp_path):
    with RecordingWriter(tmp_path / "d.csv") as w:
        w.append([0.0, 0.01, 0.02], np.zeros((3, 3)))
        w.append([0.02, 0.03], np.ones((2, 3)))
        assert w.n_written == 4
    assert read_recording(tmp_path / "d.csv").t.tolist() == [0.0, 0.01, 0.02, 0.03]


FULL_DISK_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from twitchsense.io.writer import RecordingWriter

    def block(i):
        t = (i + np.arange(37)) / 100.0
        return t, np.column_stack([np.sin(t), np.cos(t), np.full(37, 1.0)])

    limit = int(sys.argv[2])
    # a disk that fills up: writes past `limit` bytes fail (EFBIG), part-way through a row
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    w = RecordingWriter(sys.argv[1], flush_interval_s=3600)  # flushed when asked only
    appended = errors = 0
    for i in range(0, 2000 * 37, 37):
        w.append(*block(i))
        appended += 37
        try:
            w.flush()
        except OSError:
            errors += 1
        if i == 1000 * 37:  # space freed: the disk has room again
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    try:
        w.close()
    except OSError:
        errors += 1
    print(json.dumps({"appended": appended, "written": w.n_written, "errors": errors,
                      "dropped": getattr(w, "rows_dropped", None), "failure": getattr(w, "failure", None)}))
""")


def test_a_full_disk_cuts_back_to_the_last_whole_row_and_the_file_stays_loadable(tmp_path):
    """A write that fails part-way (disk full: a file-size limit stands in for it) leaves no half row;
    the rows that could not be written are dropped and counted, never written twice, never kept."""
    out = tmp_path / "full.csv"
    limit = 20_011  # not on a row boundary: the failing write stops inside a row
    r = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, str(out), str(limit)], capture_output=True,
                       text=True, env=cli_env(), timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["errors"] == 0  # a failed write is reported through `failure`, never raised at the caller
    rec = read_recording(out)  # loadable: no half row, no row twice
    assert rec.n_samples == res["written"] and res["written"] + res["dropped"] == res["appended"]
    np.testing.assert_allclose(rec.acc[:, 0], np.sin(rec.t), atol=1e-6)  # every row as appended
    k = np.round(rec.t * 100).astype(int)
    np.testing.assert_allclose(rec.t, k / 100.0, atol=1e-6)
    gap = int(np.flatnonzero(np.diff(k) > 1)[0]) + 1  # the first row after the disk had room again
    assert np.array_equal(k[:gap], np.arange(gap))  # every row from the first until the disk was full,
    lines = out.read_bytes().split(b"\n")
    assert limit - 60 < sum(len(x) + 1 for x in lines[:gap + 1]) <= limit  # up to the last whole row that fit
    assert np.array_equal(k[gap:], np.arange(k[gap], res["appended"]))  # and every row once it had room
    assert str(out) in res["failure"] and "File too large" in res["failure"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names open files through /proc")
def test_the_sidecar_is_fsynced_before_the_rename_and_its_folder_after(tmp_path, monkeypatch):
    """A power loss right after the sidecar is replaced keeps the new sidecar, whole: the temporary file
    reaches the disk before the rename, and the folder (the rename itself) after it."""
    log = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        log.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        log.append(("replace", str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with RecordingWriter(tmp_path / "s.csv", {"sample_rate_hz": 100.0}, fsync=False) as w:
        w.update_meta(board="b1")
    renames = [i for i, e in enumerate(log) if e[0] == "replace" and e[2] == str(tmp_path / "s.json")]
    assert len(renames) == 3  # at the start, the update, the close
    for i in renames:
        assert ("fsync", log[i][1]) in log[:i]                   # the new content on disk, then
        assert log[i + 1:i + 2] == [("fsync", str(tmp_path))]   # the rename
    assert json.loads((tmp_path / "s.json").read_text()) == {"sample_rate_hz": 100.0, "board": "b1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.json"]  # no temporary file left
