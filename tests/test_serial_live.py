"""The live serial path for real: board emulator on a pseudo-terminal, pyserial, reader thread,
protocol decoder, supervisor, ``record`` in a subprocess (or the same path in this process, where a test
needs the host arrival stamps the stream time was measured on). No mocks of the serial layer."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from twitchsense.acquisition.emulator import BoardEmulator, FaultPlan
from twitchsense.io.recording import Recording, read_recording

from conftest import run_cli

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


def stream_in_process(device, out: Path, seconds: float, during=None, **source_options):
    """The live path in this process (source, pipeline, the ``record`` sink into ``out``), for ``seconds``:
    the recording, the source's figures, and the host arrival stamp (``host_ns``) of every sample, i.e.
    the clock the stream time was measured on. ``during(elapsed_s)`` is called as it runs."""
    from twitchsense.acquisition.sources.serial_board import SerialSource
    from twitchsense.live.pipeline import Pipeline
    from twitchsense.live.sinks.record import RecordSink

    class Stamps:
        def __init__(self):
            self.host_ns, self.start = [], time.monotonic()

        def on_samples(self, block):
            self.host_ns.append(block.host_ns)

        def on_tick(self, now):
            if during is not None:
                during(time.monotonic() - self.start)

    src = SerialSource(str(device), **source_options)
    stamps = Stamps()
    summary = Pipeline(src, sinks=[stamps, RecordSink(out, src)]).run(duration_s=seconds)
    return read_recording(out), src.stats, summary, np.concatenate(stamps.host_ns)


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
    held = []

    def hold_until_unplugged(elapsed_s: float) -> None:
        # the pipeline takes nothing from the first tick until the board is unplugged: the reader queues
        # the last second of frames and then the port's failure, and one poll meets both. The frames must
        # be handed on before the failure is: the decoder has seen them, and its time line continues
        # from them after the reconnect (if they were dropped, the gap would be off by the jitter of
        # their arrival, and the wait would count as a no-data fault)
        if not held:
            held.append(emu.unplugged.wait(5.0))

    with start_emulator(tmp_path, rate, faults) as emu:
        rec, stats, summary, host_ns = stream_in_process(tmp_path / "board", tmp_path / "s.csv", 9.0,
                                                           during=hold_until_unplugged, no_data_s=0.5)
    assert held == [True]
    scale = emu.scale_g
    got = positions(rec, scale)
    st = emu.stats
    assert st["unplugs"] == 1 and st["reboots"] == 1 and st["stalls"] == 1
    assert st["dropped"] > 3 and st["corrupted"] > 3 and st["garbage"] > 3

    # nothing arrives that was not sent whole; nothing sent whole is lost: every frame sent before
    # the last one received of the same boot arrived (a pty delivers in order; what was still in it
    # when the board was unplugged, or when the session ended, is all that may be missing)
    sent = sent_positions(emu)
    assert np.all(np.isin(got, sent))
    assert not np.any(np.isin(got, sent_positions(emu, "dropped")))
    assert not np.any(np.isin(got, sent_positions(emu, "corrupted")))
    frame_of = {}
    for f in emu.sent:
        for p in range(f.data_pos, f.data_pos + f.n):
            frame_of[p] = f
    last_of_boot = {}
    for p in got:
        last_of_boot[frame_of[p].boot] = frame_of[p].wall_ns
    must = [f for f in emu.sent if f.fate == "sent" and f.wall_ns <= last_of_boot.get(f.boot, -1)]
    must_pos = np.concatenate([f.data_pos + np.arange(f.n) for f in must])
    missing = np.setdiff1d(must_pos, got)
    assert missing.size == 0, f"{missing.size} samples sent but not recorded: {missing[:10]}"
    assert np.all(np.diff(got) > 0)

    # gaps: inside one stretch of streaming, dropped and corrupted frames leave gaps of exactly the
    # missing samples (board clock); across an unplug, a reboot or a handshake redone (after the
    # stall) the board's clock says nothing, and the gap is the silence the host saw: the arrival
    # times of the bytes either side (the stamps the stream time was measured on), less where the
    # last sample sat in its frame (the frame's first sample is the one its bytes date), exactly
    # (to the CSV's microsecond)
    epochs = np.array([frame_of[p].epoch for p in got])
    dt = np.diff(rec.t)
    same = epochs[1:] == epochs[:-1]
    index = np.array([frame_of[p].first_index + (p - frame_of[p].data_pos) for p in got])
    short = same & (np.diff(index) < 20)
    off = np.flatnonzero(short & (np.abs(dt - np.diff(index) / rate) > 1.5e-6))
    assert off.size == 0, str([(i, rec.t[i], dt[i], index[i], index[i + 1]) for i in off[:3]])
    assert np.any(np.diff(index)[same] > 1)  # there were drops inside a stretch
    restarts = np.flatnonzero(~short)
    assert restarts.size == 4  # unplug, reboot, the stall, the handshake redone after it
    for i in restarts:
        within = (got[i] - frame_of[got[i]].data_pos) / rate
        host_gap = (host_ns[i + 1] - host_ns[i]) / 1e9 - within
        assert dt[i] == pytest.approx(max(host_gap, 1 / rate), abs=1.5e-6), (i, dt[i], host_gap)
    assert len(rec.gaps) >= 3  # unplug, reboot, stall (and drops longer than 0.1 s, if any)
    assert max(rec.gaps[:, 1] - rec.gaps[:, 0]) > 2.0  # the 2 s unplug
    assert stats["reconnects"] == 1 and stats["reboots"] == 1 and stats["no_data_faults"] == 1, stats
    assert summary.lost_samples >= st["dropped"] + st["corrupted"]


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
    with start_emulator(tmp_path, 100.0, FaultPlan(unplug=[(0.8, 120.0)])) as emu:
        start = time.monotonic()
        r, rec = record(tmp_path, 2.5)
        took = time.monotonic() - start
        assert emu.unplugged.is_set()
    assert took < 2.5 + 30  # start-up and handshake (slow on a loaded machine), never the 120 s outage
    got, sent = positions(rec, emu.scale_g), sent_positions(emu)
    assert 0 < got.size and np.array_equal(got, sent[:got.size])  # what came before the board went away
    assert f"record {tmp_path / 'session.csv'}: {got.size} samples" in r.stdout and "reconnects 0" in r.stdout
    assert "link: disconnected" in r.stdout


def test_an_untimed_text_board_unplugged_leaves_a_gap_of_the_outage(tmp_path, runtime_dir):
    """A text board says nothing about time: the outage's gap is the silence the host saw, measured on
    the arrival stamps of the lines either side (those the stream time was made of)."""
    scale = 1e-4
    emu = BoardEmulator(coded_recording(100.0, 60.0, scale), protocol="text", rate_hz=100.0,
                        link=tmp_path / "board", keep_log=True)
    unplugged = []

    def unplug_once(elapsed_s: float) -> None:
        if elapsed_s >= 0.5 and not unplugged:  # a text board streams from power-on: unplug it once it is being recorded
            unplugged.append(elapsed_s)
            emu.unplug_now(1.5)

    with emu:
        rec, stats, _, host_ns = stream_in_process(tmp_path / "board", tmp_path / "s.csv", 4.0, during=unplug_once,
                                                   protocol="text", rate_hz=100.0, separator="tab")
    got = positions(rec, scale)
    first_after = next(f for f in emu.sent if f.boot == 1).data_pos
    i = int(np.flatnonzero(got[1:] >= first_after)[0])
    host_gap = (host_ns[i + 1] - host_ns[i]) / 1e9
    assert host_gap > 1.5 and rec.t[i + 1] - rec.t[i] == pytest.approx(host_gap, abs=2e-6)
    assert np.allclose(np.delete(np.diff(rec.t), i), 0.01, atol=1.5e-6)  # elsewhere: counted at the rate
    assert stats["reconnects"] == 1


def test_what_arrives_during_a_handshake_that_fails_is_recorded(tmp_path, runtime_dir):
    """A board restarts (INFO unprompted) and stops listening, but streams on for a while: the samples it
    sends while the host handshakes again (they arrive after the host's STOP) are recorded, though that
    handshake fails (no answer to GET_INFO) and the link is dropped. The board is played by hand on a
    real pty, since it misbehaves in a way the emulator does not."""
    import select
    import threading
    import tty

    from twitchsense.acquisition.protocol import frames as f
    from twitchsense.acquisition.protocol.base import BoardInfo

    rate, scale, before, after = 100.0, 1e-4, 80, 25  # frames of one sample: before and after the restart
    info = BoardInfo(sensor="MPU6050", range_g=4.0, samples_per_frame=1, sample_rate_hz=rate,
                     scale_g_per_lsb=scale, firmware="1.0.0", name="hand-played", protocol_minor=1)
    master, slave = os.openpty()
    tty.setraw(slave)
    stop, sent = threading.Event(), []

    def board() -> None:
        reader, start_ns, deaf, heard_stop = f.FrameReader(), None, False, False
        while not stop.is_set() and len(sent) < before + after:
            if select.select([master], [], [], 0.002)[0]:
                for msg_type, _ in reader.feed(os.read(master, 4096)):
                    if deaf:  # answers nothing, but the host's STOP sets off the rest of its stream
                        heard_stop |= msg_type == f.CMD_STOP
                    elif msg_type == f.CMD_GET_INFO:
                        os.write(master, f.build_info(info))
                    elif msg_type in (f.CMD_START, f.CMD_STOP):
                        os.write(master, f.build_ack(msg_type))
                        start_ns = time.monotonic_ns() if msg_type == f.CMD_START else None
            k = len(sent)
            if deaf:  # the rest at once when the host has sent STOP: all of it lands inside the handshake
                if heard_stop:  # that fails, however late a loaded machine runs this thread (it was flaky)
                    for j in range(k, before + after):
                        os.write(master, f.build_samples(j, int(j * 1e6 / rate), np.array([[j, 0, 8192]], np.int16)))
                        sent.append(j)
            elif start_ns is not None and time.monotonic_ns() >= start_ns + k * 1e9 / rate:
                if k == before:  # "restarted": says INFO unprompted, hears nothing more, streams on
                    os.write(master, f.build_info(info))
                    deaf = True
                    continue
                os.write(master, f.build_samples(k, int(k * 1e6 / rate), np.array([[k, 0, 8192]], np.int16)))
                sent.append(k)

    thread = threading.Thread(target=board, daemon=True)
    thread.start()
    try:
        rec, stats, _, _ = stream_in_process(os.ttyname(slave), tmp_path / "s.csv", 6.0)
    finally:
        stop.set()
        thread.join(5)
        os.close(master)
        os.close(slave)
    got = np.round(rec.acc[:, 0] / scale).astype(int)
    assert len(sent) == before + after
    assert stats["reboots"] == 1 and stats["handshakes"] == 1 and stats["disconnects"] == 1, stats
    assert np.array_equal(got, np.arange(before + after))  # every sample, those of the failed handshake too
    assert np.allclose(np.diff(rec.t), 1 / rate, atol=1.5e-6)  # on the board's clock: no restart was seen
