"""The live serial path for real: board emulator on a pseudo-terminal, pyserial, reader thread,
protocol decoder, supervisor, ``record`` in a subprocess. No mocks of the serial layer."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from twitchsense.acquisition.emulator import BoardEmulator, FaultPlan
from twitchsense.io.recording import Recording, read_recording

from conftest import ROOT, cli_env, run_cli

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")

CYCLE = 30000  # x counts repeat every CYCLE samples; y counts the cycles


def coded_recording(rate: float, seconds: float, scale: float) -> Recording:
    """Every sample's counts encode its position in the feed, so each one can be traced."""
    k = np.arange(int(rate * seconds))
    acc = np.column_stack([(k % CYCLE - CYCLE // 2) * scale, (k // CYCLE) * scale, np.full(k.size, 8192 * scale)])
    return Recording(k / rate, acc, meta={"sample_rate_hz": rate})


def positions(rec: Recording, scale: float) -> np.ndarray:
    c = np.round(rec.acc / scale).astype(np.int64)
    assert np.all(c[:, 2] == 8192)
    return c[:, 0] + CYCLE // 2 + CYCLE * c[:, 1]


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    d = tmp_path / "rt"
    monkeypatch.setenv("TWITCHSENSE_RUNTIME_DIR", str(d))
    return d


def start_emulator(tmp_path, rate: float, faults: FaultPlan | None = None, **kw) -> BoardEmulator:
    scale = round(4 * 2 / 65536 * 1e9) * 1e-9
    emu = BoardEmulator(coded_recording(rate, 60.0, scale), rate_hz=rate, link=tmp_path / "board",
                        faults=faults, keep_log=True, **kw)
    return emu.start()


def record(tmp_path, seconds: float, *extra: str) -> tuple[subprocess.CompletedProcess, Recording]:
    out = tmp_path / "session.csv"
    r = run_cli("record", "--port", tmp_path / "board", "-o", out, "--duration", seconds, "--quiet", *extra,
                timeout=seconds + 30)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr
    return r, read_recording(out)


def sent_positions(emu: BoardEmulator, fate: str = "sent") -> np.ndarray:
    parts = [f.data_pos + np.arange(f.n) for f in emu.sent if f.fate == fate]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


@pytest.mark.parametrize("rate", [100.0, 1000.0])
def test_record_from_the_emulated_board_receives_every_sample_in_order(tmp_path, runtime_dir, rate):
    with start_emulator(tmp_path, rate) as emu:
        r, rec = record(tmp_path, 2.5)
    scale = emu.scale_g
    got = positions(rec, scale)
    sent = sent_positions(emu)
    assert got.size >= rate * 1.5                      # the handshake takes a fraction of a second
    assert np.array_equal(got, sent[:got.size])        # every sample, in order, right values
    assert sent.size - got.size <= rate * 0.5          # only what was in flight when record stopped
    # times: the board's clock, exactly (the CSV keeps microseconds)
    assert np.allclose(np.diff(rec.t), 1.0 / rate, atol=1.5e-6)
    assert rec.t[0] == pytest.approx(0.0, abs=1e-6)
    meta = rec.meta
    assert meta["board"] == "twitchsense-emulator" and meta["sensor"] == "MPU6050"
    assert meta["range_g"] == 4 and meta["sample_rate_hz"] == rate and meta["firmware"] == "1.0.0"
    assert meta["start_time"][-6] in "+-" or meta["start_time"].endswith("Z")  # ISO 8601 with offset
    assert f"{got.size} samples" in r.stdout and "lost samples 0" in r.stdout and "reconnects 0" in r.stdout


def test_faults_give_gaps_of_the_right_length_and_lose_nothing_received(tmp_path, runtime_dir):
    rate = 200.0
    faults = FaultPlan(drop_frames=0.03, corrupt=0.03, garbage=0.03, unplug=[(1.0, 2.0)], reboot=[4.5],
                       stall=[(6.0, 1.2)], seed=7)
    with start_emulator(tmp_path, rate, faults) as emu:
        r, rec = record(tmp_path, 9.0, "--no-data", "0.5")
    scale = emu.scale_g
    got = positions(rec, scale)
    st = emu.stats
    assert st["unplugs"] == 1 and st["reboots"] == 1 and st["stalls"] == 1
    assert st["dropped"] > 3 and st["corrupted"] > 3 and st["garbage"] > 3

    # nothing arrives that was not sent whole; nothing sent whole is lost (except frames in flight
    # in the pty when it was unplugged, or when record stopped)
    sent = sent_positions(emu)
    assert np.all(np.isin(got, sent))
    assert not np.any(np.isin(got, sent_positions(emu, "dropped")))
    assert not np.any(np.isin(got, sent_positions(emu, "corrupted")))
    last_ns = emu.sent[-1].wall_ns
    before_unplug = [f for f in emu.sent if f.boot == 0]
    cutoff = before_unplug[-1].wall_ns - 100_000_000
    must = [f for f in emu.sent if f.fate == "sent" and (f.boot > 0 or f.wall_ns < cutoff)
            and f.wall_ns < last_ns - 300_000_000]
    must_pos = np.concatenate([f.data_pos + np.arange(f.n) for f in must])
    missing = np.setdiff1d(must_pos, got)
    assert missing.size == 0, f"{missing.size} samples sent but not recorded: {missing[:10]}"
    assert np.all(np.diff(got) > 0)

    # gaps: across an unplug, a reboot or a new START the gap is the time the board really was
    # silent (host arrival clock), within a few ms
    frame_of = {}
    for f in emu.sent:
        for p in range(f.data_pos, f.data_pos + f.n):
            frame_of[p] = f
    epochs = np.array([frame_of[p].epoch for p in got])
    dt = np.diff(rec.t)
    same = epochs[1:] == epochs[:-1]
    # inside one stretch of streaming, dropped and corrupted frames leave gaps of exactly the
    # missing samples (board clock); the stall's gap spans a handshake, so the host measures it
    index = np.array([frame_of[p].first_index + (p - frame_of[p].data_pos) for p in got])
    want = np.diff(index) / rate
    short = same & (np.diff(index) < 20)
    off = np.flatnonzero(short & (np.abs(dt - want) > 1.5e-6))
    assert off.size == 0, str([(i, rec.t[i], dt[i], index[i], index[i + 1]) for i in off[:3]])
    long = same & ~short
    assert long.sum() == 1 and dt[long][0] == pytest.approx(want[long][0], abs=0.06)
    assert np.any(np.diff(index)[same] > 1)  # there were drops inside a stretch
    for i in np.flatnonzero(~same):
        fa, fb = frame_of[got[i]], frame_of[got[i + 1]]
        real = (fb.wall_ns - fa.wall_ns) / 1e9 - (got[i] - fa.data_pos) / rate
        assert dt[i] == pytest.approx(real, abs=0.06), (i, dt[i], real)
    assert (~same).sum() == 3  # unplug, reboot, and the handshake redone after the stall
    assert len(rec.gaps) >= 3  # unplug, reboot, stall (and drops longer than 0.1 s, if any)
    assert max(rec.gaps[:, 1] - rec.gaps[:, 0]) > 2.0  # the 2 s unplug

    out = r.stdout
    assert "reconnects 1" in out and "reboots 1" in out and "no-data faults 1" in out, out
    lost = int(out.split("lost samples ")[1].split(",")[0])
    assert lost >= st["dropped"] + st["corrupted"]


@pytest.mark.parametrize("protocol, rate, feed_rate, scale, extra", [
    ("text", 100.0, 100.0, 1e-4, ("--rate", "100", "--separator", "tab")),
    ("cyton", 250.0, 25.0, 0.002 / 16, ()),
])
def test_text_and_cyton_boards_stream_through_the_same_path(tmp_path, runtime_dir, protocol, rate, feed_rate,
                                                            scale, extra):
    emu = BoardEmulator(coded_recording(feed_rate, 60.0, scale), protocol=protocol, rate_hz=rate,
                        link=tmp_path / "board", keep_log=True)
    with emu:
        r, rec = record(tmp_path, 2.0, "--protocol", protocol, *extra)
    got = positions(rec, scale)
    assert got.size >= feed_rate * 1.5
    assert np.all(np.diff(got) == 1) and np.all(np.isin(got, sent_positions(emu)))  # contiguous, as sent
    assert np.allclose(np.diff(rec.t), 1.0 / feed_rate, atol=1.5e-6)
    assert rec.meta["sample_rate_hz"] == feed_rate
    assert "lost samples 0" in r.stdout


def test_record_keeps_trying_until_its_duration_when_the_board_stays_away(tmp_path, runtime_dir):
    with start_emulator(tmp_path, 100.0, FaultPlan(unplug=[(0.8, 30.0)])) as emu:
        start = time.monotonic()
        r, rec = record(tmp_path, 2.5)
        took = time.monotonic() - start
        assert emu.unplugged.is_set()
    assert took < 2.5 + 8  # start-up and handshake, not the 30 s outage
    assert 60 <= rec.n_samples <= 100 and "reconnects 0" in r.stdout
    assert "link: disconnected" in r.stdout


def test_an_untimed_text_board_unplugged_leaves_a_gap_of_the_outage(tmp_path, runtime_dir):
    scale = 1e-4
    emu = BoardEmulator(coded_recording(100.0, 60.0, scale), protocol="text", rate_hz=100.0,
                        link=tmp_path / "board", keep_log=True)
    out = tmp_path / "session.csv"
    with emu:
        proc = subprocess.Popen([sys.executable, "-m", "twitchsense", "record", "--port", tmp_path / "board",
                                 "-o", out, "--duration", "4", "--quiet", "--protocol", "text", "--rate", "100",
                                 "--separator", "tab"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=cli_env(), cwd=ROOT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (out.exists() and out.stat().st_size > 500):
            time.sleep(0.02)
        emu.unplug_now(1.5)  # a text board streams from power-on: unplug it once it is being recorded
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    rec = read_recording(out)
    got = positions(rec, scale)
    first_after = next(f for f in emu.sent if f.boot == 1).data_pos
    i = int(np.flatnonzero(got[1:] >= first_after)[0])
    fa = next(f for f in emu.sent if f.data_pos <= got[i] < f.data_pos + f.n)
    fb = next(f for f in emu.sent if f.data_pos <= got[i + 1] < f.data_pos + f.n)
    real = (fb.wall_ns - fa.wall_ns) / 1e9 - (got[i] - fa.data_pos) / 100.0 + (got[i + 1] - fb.data_pos) / 100.0
    assert real > 1.5 and rec.t[i + 1] - rec.t[i] == pytest.approx(real, abs=0.06)
    assert "reconnects 1" in stdout
