"""A live session that runs for days must not die or lose data: failing outputs, full disks, locked
files, a broker that goes away, a stalled pipeline. Real files, a real SQLite file, /dev/full, real
subprocesses, a real pty and pyserial, a real mosquitto broker."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from twitchsense.acquisition.sources.replay import ReplaySource
from twitchsense.history import connect
from twitchsense.io.recording import Recording, read_recording, write_recording
from twitchsense.live.pipeline import Pipeline
from twitchsense.live.sinks.history import HistorySink
from twitchsense.live.sinks.jsonl import JsonLinesSink
from twitchsense.live.sinks.record import RecordSink
from twitchsense.types import TwitchEvent

from conftest import ROOT, Subscriber, cli_env, free_port, make_samples, start_mosquitto, stop_mosquitto

START = "2026-03-01T22:00:00+01:00"


def gapped(n: int = 3000, seed: int = 5) -> Recording:
    """30 s at 100 Hz with three gaps (three lost-samples link events)."""
    t, acc = make_samples(n, 100.0, seed=seed)
    t = t.copy()
    for at in (500, 1500, 2500):
        t[at:] += 0.5
    return Recording(t, acc, meta={"sample_rate_hz": 100.0, "start_time": START})


class EverySecond:
    """A detector stage with known output: one event per second of stream."""

    def __init__(self) -> None:
        self.next = 0.0

    def push(self, t, acc):
        out = []
        while t.size and t[-1] >= self.next + 0.2:
            out.append(TwitchEvent(self.next + 0.05, 0.1, 0.2, 0.9))
            self.next += 1.0
        return out

    def flush(self):
        return []


class Collect:
    def __init__(self, on_samples=None) -> None:
        self.samples, self.events, self.links, self.closed = 0, [], [], False
        self._hook = on_samples

    def on_samples(self, block):
        self.samples += len(block)
        if self._hook:
            self._hook(block)

    def on_events(self, events):
        self.events += events

    def on_link(self, event):
        self.links.append(event)

    def close(self):
        self.closed = True


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_failing_sinks_end_nothing_and_each_failure_is_reported_once(tmp_path, capsys):
    """JSON lines on a full disk and a history file another program holds locked: the session runs to
    its end, every other sink gets everything, each failure is one link event and one stderr line,
    and every sink is closed even though a close fails."""
    rec = gapped()
    db = tmp_path / "h.sqlite"
    connect(db).close()
    locker = sqlite3.connect(db)
    locker.execute("BEGIN IMMEDIATE")  # another program writing: the history is locked

    def unlock(block):
        if block.t[-1] >= 20.0 and locker.in_transaction:
            locker.rollback()  # ... until 20 s into the session

    source = ReplaySource(rec, speed=None, max_block_s=0.05)
    full = JsonLinesSink("/dev/full")
    history = HistorySink(db, source.meta, name="locked", busy_timeout_s=0.05)
    collect = Collect(unlock)
    record = RecordSink(tmp_path / "copy.csv", source)
    summary = Pipeline(source, detector=EverySecond(), sinks=[full, history, collect, record]).run()

    assert summary.samples == collect.samples == rec.n_samples
    assert len(collect.events) == int(rec.t[-1] - 0.2) + 1 == 32
    assert [e.kind for e in collect.links].count("lost_samples") == 3
    failures = [e for e in collect.links if e.kind == "sink_error"]
    assert sorted(e.data["sink"] for e in failures) == ["--jsonl /dev/full", f"history {db}"]
    assert any("No space left on device" in e.detail for e in failures)
    assert any("database is locked" in e.detail for e in failures)
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"twitchsense: {e.detail}" for e in failures)  # once each, nothing else
    assert summary.sink_errors["--jsonl /dev/full"] >= 5 and summary.sink_errors[f"history {db}"] >= 1
    # the others closed, the one closing after the full disk's failed close too
    assert collect.closed
    copy = read_recording(tmp_path / "copy.csv")
    assert np.array_equal(copy.t, np.round(rec.t, 6)) and copy.meta["sample_rate_hz"] == 100.0
    # the history recovered once the lock went: every event, the session closed
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 32
    assert con.execute("SELECT name, closed_at IS NOT NULL FROM sessions").fetchall() == [("locked", 1)]


def test_a_sink_that_fails_to_close_does_not_keep_the_others_open(tmp_path, capsys):
    class BadClose(Collect):
        label = "bad"

        def close(self):
            raise RuntimeError("cannot close")

    rec = gapped(300)
    source = ReplaySource(rec, speed=None)
    first, last = Collect(), Collect()
    record = RecordSink(tmp_path / "r.csv", source)
    Pipeline(source, sinks=[first, BadClose(), record, last]).run()
    assert first.closed and last.closed and read_recording(tmp_path / "r.csv").n_samples == 300
    assert capsys.readouterr().err == "twitchsense: bad failed (RuntimeError: cannot close); the other outputs go on\n"


FULL_DISK_REPLAY = """
import resource, runpy, sys
limit = int(sys.argv.pop(1))
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))  # the disk fills up at `limit` bytes a file
sys.argv[0] = "twitchsense"
runpy.run_module("twitchsense", run_name="__main__")
"""


def test_replay_with_record_on_a_full_disk(tmp_path):
    """`--record` on a disk that fills up: the session goes on, the failure is told once (a link event
    and a line on stderr), the summary counts what could not be recorded, and the file loads."""
    pytest.importorskip("resource")
    src = tmp_path / "in.csv"
    rec = gapped(6000)
    write_recording(src, rec)
    out = tmp_path / "out.csv"
    limit = 50_021
    r = subprocess.run([sys.executable, "-c", FULL_DISK_REPLAY, str(limit), "replay", src, "--record", out,
                        "--jsonl", tmp_path / "log.jsonl"], capture_output=True, text=True, env=cli_env(), cwd=ROOT,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    failure = r.stderr.removeprefix("twitchsense: ").removesuffix("\n")
    assert failure.startswith(f"--record {out}: cannot write (File too large)") and "\n" not in failure
    links = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines() if '"sink_error"' in x]
    assert [x["detail"] for x in links] == [failure]
    assert f"link: sink_error: {failure}" in r.stdout
    summary = r.stdout.splitlines()[-1]
    got = read_recording(out)
    assert out.stat().st_size <= limit and np.array_equal(got.t, np.round(rec.t[:got.n_samples], 6))
    assert summary.startswith(f"replay {src}: 6000 samples") and \
        summary.endswith(f"; {rec.n_samples - got.n_samples} samples could not be recorded"), summary


# ---- MQTT: a real mosquitto broker -------------------------------------------------------------
def mqtt_event(i: float) -> TwitchEvent:
    return TwitchEvent(float(i), 0.1, 0.2, 0.9)


def test_two_streams_with_the_default_session_on_one_broker_keep_their_connections(broker):
    """Same session name, same broker: each has its own client id, so neither throws the other off
    (the broker would publish the one thrown off's last will, 'offline', and it would reconnect)."""
    from twitchsense.live.sinks.mqtt import MqttSink
    sub = Subscriber(broker, "twitchsense/#")
    a = MqttSink("127.0.0.1", broker, session="live")
    b = MqttSink("127.0.0.1", broker, session="live")
    try:
        for i in range(20):
            a.on_events([mqtt_event(i)])
            b.on_events([mqtt_event(100 + i)])
        got = sub.wait_for(lambda m: m[0] == "twitchsense/live/events" and '"onset": 119.0' in m[1])
        assert got and sub.wait_for(lambda m: '"onset": 19.0' in m[1])
        onsets = [json.loads(p)["onset"] for t, p, _ in sub.messages if t.endswith("/events")]
        assert sorted(set(onsets)) == [float(i) for i in range(20)] + [100.0 + i for i in range(20)]
        # a client thrown off comes back after its reconnect delay (1 s) and throws the other off
        assert sub.wait_for(lambda m: m[0] == "twitchsense/live/status" and m[1] == "offline", timeout=3) == []
    finally:
        a.close()
        b.close()
        sub.close()


def test_mqtt_reconnects_on_its_own_and_restores_its_retained_state(tmp_path):
    """The broker restarts (its retained messages gone): the sink reconnects by itself, says 'online'
    again and republishes each rule's retained state; what it published meanwhile arrives."""
    from twitchsense.live.sinks.mqtt import MqttSink
    from twitchsense.types import Alert
    port = free_port()
    proc = start_mosquitto(port, tmp_path)
    sink = MqttSink("127.0.0.1", port, session="night")
    try:
        sink.on_alerts([Alert(0.0, 5.0, "warning", "busy", "3 twitches")])
        sink.on_events([mqtt_event(1)])
        assert sink.wait_published(10)
        stop_mosquitto(proc)
        sink.on_events([mqtt_event(2)])  # while the broker is away: queued (QoS 1)
        proc = start_mosquitto(port, tmp_path)
        late = Subscriber(port, "twitchsense/night/#")  # connects after the restart
        sink.on_events([mqtt_event(3)])
        assert late.wait_for(lambda m: m[0].endswith("/events") and '"onset": 3.0' in m[1])
        assert late.wait_for(lambda m: m[0].endswith("/events") and '"onset": 2.0' in m[1])
        status = late.wait_for(lambda m: m[0] == "twitchsense/night/status")
        state = late.wait_for(lambda m: m[0] == "twitchsense/night/alert/busy")
        late.close()
        assert status[-1][1] == "online" and json.loads(state[-1][1])["level"] == "warning"
    finally:
        sink.close()
        stop_mosquitto(proc)


def test_mqtt_connect_gives_up_after_its_timeout():
    """A port that accepts the connection but never answers (no CONNACK): one clear line, in time."""
    from twitchsense.errors import TwitchsenseError
    from twitchsense.live.sinks.mqtt import MqttSink
    pytest.importorskip("paho.mqtt.client")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the TCP handshake; nobody ever answers
        port = silent.getsockname()[1]
        with pytest.raises(TwitchsenseError, match=rf"--mqtt: the broker at 127.0.0.1:{port} did not answer "
                                                   r"within 0.5 s"):
            MqttSink("127.0.0.1", port, timeout_s=0.5)


# ---- the serial reader's queue: a real pty, pyserial and the board emulator -------------------------
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")
def test_a_stalled_pipeline_loses_counted_samples_not_memory(tmp_path, monkeypatch):
    """The pipeline stops taking samples for a while: the reader holds at most its bound, drops the
    rest, and the hole comes out as an overflow link event, lost samples counted and a gap of the
    right length in t; no sample is spliced together from both sides of the hole."""
    from twitchsense.acquisition.emulator import BoardEmulator
    from twitchsense.acquisition.sources.serial_board import SerialSource
    from test_serial_live import coded_recording, positions, sent_positions
    monkeypatch.setenv("TWITCHSENSE_RUNTIME_DIR", str(tmp_path / "rt"))
    rate, bound = 1000.0, 4096
    scale = round(4 * 2 / 65536 * 1e9) * 1e-9  # the emulated board's counts: every sample traceable
    emu = BoardEmulator(coded_recording(rate, 60.0, scale), rate_hz=rate, keep_log=True)
    with emu.start():
        src = SerialSource(emu.device, max_queued_bytes=bound)
        items, held = [], []
        stream = iter(src)

        def take(seconds: float) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                items.append(next(stream))

        take(1.0)
        time.sleep(2.0)  # the pipeline stalls; the board goes on sending
        held.append((src._link.reader.queued_bytes, src._link.reader.bytes_dropped))
        take(1.0)
        src.close()
    queued, dropped = held[0]
    assert queued <= bound and dropped > 0  # memory held to the bound; the rest dropped
    events = [e for i in items for e in i.events]
    overflow = [e for e in events if e.kind == "overflow"]
    assert len(overflow) == 1 and overflow[0].data["host_bytes"] >= dropped - 100
    lost = [e for e in events if e.kind == "lost_samples"]
    samples = [i.samples for i in items if len(i.samples)]
    t = np.concatenate([b.t for b in samples])
    got = positions(Recording(t, np.concatenate([b.acc for b in samples])), scale)
    assert np.all(np.isin(got, sent_positions(emu)))  # every sample as the board sent it
    assert np.all(np.diff(got) > 0) and np.all(np.diff(t) > 0)
    hole = int(np.argmax(np.diff(got)))
    missing = int(got[hole + 1] - got[hole] - 1)
    assert missing > rate * 0.5  # about a second and a half of stream fell into the hole...
    assert sum(e.count for e in lost) == pytest.approx(missing, rel=0.1, abs=20)  # ...counted as lost,
    assert t[hole + 1] - t[hole] == pytest.approx((missing + 1) / rate, rel=0.1, abs=0.02)  # a gap of its length
    assert np.allclose(np.delete(np.diff(t), hole), 1 / rate, atol=1.5e-6)  # elsewhere, the board's clock


# ---- --on-alert commands: real subprocesses ----------------------------------------------------------
def alert(rule: str = "busy"):
    from twitchsense.types import Alert
    return Alert(0.0, 5.0, "warning", rule, "3 twitches")  # announced


def test_alert_commands_do_not_write_into_the_live_view(capfd):
    """A command's output would land in the middle of the terminal's live view: it goes nowhere."""
    from twitchsense.live.sinks.command import CommandSink
    sink = CommandSink([sys.executable, "-c", "print('CHILD-STDOUT')"])
    sink.on_alerts([alert()])
    sink.close()
    assert sink.started == 1 and sink.failed == 0
    assert "CHILD-STDOUT" not in capfd.readouterr().out


def test_closing_waits_for_all_alert_commands_together_not_one_after_another(capsys):
    """Four commands that hang: close waits one deadline for all of them (not 4 x 2 s), then ends them."""
    from twitchsense.live.sinks.command import CommandSink
    sink = CommandSink([sys.executable, "-c", "import time; time.sleep(60)"], timeout_s=2.0)
    sink.on_alerts([alert(f"r{i}") for i in range(4)])
    procs = [p for p, _ in sink.running]
    start = time.monotonic()
    sink.close()
    took = time.monotonic() - start
    assert took < 6.0  # one deadline of 2 s (one after another: 8 s)
    assert all(p.poll() is not None for p in procs) and sink.running == []
    err = capsys.readouterr().err
    assert err.count("did not finish within 2 s and was ended") == 4, err


# ---- two live streams on one history database --------------------------------------------------------
def test_alert_states_saved_at_once_by_two_engines_never_trip_over_each_other(tmp_path):
    """Each save writes a temporary file of its own name: two writers of one state file never fail."""
    import threading

    from twitchsense.alerts import AlertEngine
    path = tmp_path / "h.alert-state.json"
    errors = []

    def save_often(engine):
        try:
            for _ in range(300):
                engine.save()
        except Exception as exc:  # noqa: BLE001 - the test reports what failed
            errors.append(exc)

    threads = [threading.Thread(target=save_often, args=(AlertEngine(state_path=path, start_time=START),))
               for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert "rules" in json.loads(path.read_text()) and os.listdir(tmp_path) == [path.name]


def test_two_live_streams_on_one_history_keep_an_alert_state_each(tmp_path):
    db = tmp_path / "h.sqlite"
    procs = [subprocess.Popen([sys.executable, "-m", "twitchsense", "stream", "--simulate", "--duration", "1",
                               "--db", db, "--session", name, "--quiet"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT)
             for name in ("left arm", "right")]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert sorted(x.name for x in tmp_path.iterdir() if "alert-state" in x.name) == \
        ["h.alert-state.left_arm.json", "h.alert-state.right.json"]
    con = sqlite3.connect(db)
    assert sorted(r[0] for r in con.execute("SELECT name FROM sessions")) == ["left arm", "right"]


def test_an_alert_state_that_cannot_be_saved_does_not_end_the_session(tmp_path):
    """The state's folder cannot be written (here: a file stands where the folder should be; in life a
    full disk): the session goes on, alerts and all, and says so once."""
    from twitchsense.alerts import AlertEngine
    from twitchsense.errors import TwitchsenseWarning
    (tmp_path / "taken").write_text("a file, not a folder")
    engine = AlertEngine(state_path=tmp_path / "taken" / "state.json", start_time=START, save_interval_s=0)
    collect = Collect()
    with pytest.warns(TwitchsenseWarning) as told:
        summary = Pipeline(ReplaySource(gapped(), speed=None, max_block_s=0.05), detector=EverySecond(),
                           alerts=engine, sinks=[collect]).run()
    assert summary.samples == 3000 and len(collect.events) == 32
    assert len(told) == 1 and f"{tmp_path / 'taken' / 'state.json'}: the alert state cannot be saved" in \
        str(told[0].message)
