"""Sinks with real components: files, a real pty, real subprocesses and a real mosquitto broker."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from twitchsense.alerts import AlertEngine, parse_rules
from twitchsense.errors import TwitchsenseError
from twitchsense.io.sessionclock import SessionClock
from twitchsense.live.sinks.command import CommandSink
from twitchsense.live.sinks.jsonl import JsonLinesSink
from twitchsense.live.sinks.terminal import TerminalSink
from twitchsense.types import LinkEvent, SampleBlock, TwitchEvent

from conftest import Subscriber, free_port
from handmade import frequency_rule, rule_file

RULES = parse_rules(rule_file(
    frequency_rule("warning", 2, 1, guidance="Regular twitching is worth having checked by a doctor."),
    hold_minutes=0))
CLOCK = SessionClock("2026-03-01T22:00:00+01:00")


def session_changes():
    """A short session: two events raise 'busy', silence clears it (after falling back)."""
    eng = AlertEngine(RULES, start_time=CLOCK.start)
    events = [TwitchEvent(10.0, 0.15, 0.31, 0.9, context="rest"), TwitchEvent(20.0, 0.1, 0.12, 0.8)]
    raised = eng.on_events(events, 20.2)
    later = eng.tick(80.0) + eng.tick(81.0)
    return events, raised, later


def block(t0: float, n: int = 10) -> SampleBlock:
    t = t0 + np.arange(n) / 100
    return SampleBlock(t, np.tile([0.0, 0.0, 1.0], (n, 1)), np.arange(n), np.full(n, -1))


def test_jsonl_file_gets_every_event_alert_and_link_event_flushed(tmp_path):
    events, raised, later = session_changes()
    path = tmp_path / "out.jsonl"
    sink = JsonLinesSink(path, CLOCK, session="night1")
    sink.on_samples(block(0))
    sink.on_events(events)
    sink.on_alerts(raised)
    # flushed at once: readable before close
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["event", "event", "alert"]
    assert lines[0] == {"type": "event", "onset": 10.0, "duration": 0.15, "peak_g": 0.31, "confidence": 0.9,
                        "label": "twitch", "kind": "", "context": "rest", "status": "confirmed", "id": -1,
                        "time": "2026-03-01T22:00:10.000+01:00", "session": "night1"}
    a = lines[2]
    assert (a["rule"], a["level"], a["change"], a["notify"]) == ("busy", "warning", "raised", True)
    assert a["detail"] == "2 twitches in the last 1 min, 2/min (threshold 2/min)"
    assert a["guidance"].startswith("Regular twitching")
    sink.on_alerts(later)
    sink.on_link(LinkEvent("crc_error", "frame dropped", 2, t=50.0))
    sink.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(x.get("change"), x.get("level")) for x in lines[3:5]] == [("lowered", "info"), ("cleared", "info")]
    assert lines[5] == {"type": "link", "kind": "crc_error", "detail": "frame dropped", "count": 2, "t": 50.0,
                        "time": "2026-03-01T22:00:50.000+01:00", "session": "night1"}


def test_command_runs_per_announced_alert_with_fields_in_env_and_arguments(tmp_path):
    events, raised, later = session_changes()
    out = tmp_path / "cmd.txt"
    script = ("import os, sys; open(sys.argv[1], 'a').write("
              "'|'.join(sys.argv[2:] + [os.environ['TWITCHSENSE_RULE'], os.environ['TWITCHSENSE_DETAIL'],"
              " os.environ['TWITCHSENSE_TIME'], os.environ['TWITCHSENSE_GUIDANCE']]) + '\\n')")
    sink = CommandSink([sys.executable, "-c", script, str(out), "{level}", "rule={rule}", "$(touch pwned) {detail}"],
                       CLOCK, session="s")
    sink.on_alerts(raised + later)   # lowered/cleared are not announced
    sink.close()
    fields = out.read_text().splitlines()
    assert len(fields) == 1 and sink.started == 1 and sink.failed == 0
    assert fields[0].split("|") == ["warning", "rule=busy",
                                    "$(touch pwned) 2 twitches in the last 1 min, 2/min (threshold 2/min)",
                                    "busy", "2 twitches in the last 1 min, 2/min (threshold 2/min)",
                                    "2026-03-01T22:00:20.200+01:00",
                                    "Regular twitching is worth having checked by a doctor."]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()  # no shell ever ran


def test_command_errors(capsys):
    with pytest.raises(TwitchsenseError, match="--on-alert: command 'no-such-tool-xyz' not found"):
        CommandSink(["no-such-tool-xyz"])
    events, raised, _ = session_changes()
    sink = CommandSink([sys.executable, "-c", "import sys; sys.exit(3)"])
    sink.on_alerts(raised)
    sink.close()
    assert sink.failed == 1
    assert "--on-alert command exited with 3 for alert 'busy'" in capsys.readouterr().err


def test_terminal_plain_lines_when_not_a_tty():
    events, raised, later = session_changes()
    buf = io.StringIO()
    sink = TerminalSink(buf, clock=CLOCK)
    sink.on_samples(block(0))
    sink.on_events(events)
    sink.on_alerts(raised + later)
    sink.on_link(LinkEvent("lost_samples", "3 samples lost", 3, t=30.0))
    sink.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "00:00:10.0 (22:00:10)  twitch  peak 0.310 g  150 ms  confidence 0.90  rest"
    assert lines[2] == ("00:00:20.2 (22:00:20)  WARNING: 2 twitches in the last 1 min, 2/min "
                        "(threshold 2/min); rule: busy")
    assert lines[3] == "    Regular twitching is worth having checked by a doctor."
    assert lines[4].startswith("00:01:20.0 (22:01:20)  info (falling back): falling back from warning")
    assert lines[5].startswith("00:01:21.0 (22:01:21)  cleared info: 0 twitches")
    assert lines[6] == "00:00:30.0 (22:00:30)  link lost_samples: 3 samples lost"
    assert "\x1b" not in buf.getvalue()


def read_pty(fd: int, seconds: float = 1.0) -> str:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")


def test_live_view_rates_divide_by_the_time_elapsed_at_first_and_say_so():
    sink = TerminalSink(io.StringIO(), tty=False, show_events=False)
    sink.on_samples(block(0.0))
    sink.on_events([TwitchEvent(10.0 + 14.0 * i, 0.1, 0.2, 0.9) for i in range(12)])  # 12 by 164 s
    sink.on_samples(block(180.0, 1))
    # 3 minutes with 12 twitches: 4/min, not 1.2/min (12 / 10 min)
    assert sink.screen()[1] == "rate: 4.0/min (last min)   4.0/min (3.0 min so far)   twitches: 12"
    sink.on_samples(block(660.0, 1))
    assert sink.screen()[1] == "rate: 0.0/min (last min)   0.8/min (last 10 min)   twitches: 12"  # 8 since 60 s


def set_pty_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_terminal_live_view_on_a_real_pty():
    master, slave = pty.openpty()
    set_pty_size(slave, 40, 120)  # the view's size is the pty's, not that of the tests' own stdout
    stream = os.fdopen(slave, "w")
    try:
        events, raised, later = session_changes()
        sink = TerminalSink(stream, clock=CLOCK, session="night1", refresh_s=0.0)
        assert sink.tty
        for i in range(5):
            sink.on_samples(block(i * 0.1))
        sink.on_link(LinkEvent("crc_error", "frame dropped", 2))
        sink.on_events(events)
        sink.on_alerts(raised)
        screen = read_pty(master).rsplit("\x1b[H\x1b[2J", 1)[-1]  # the last full redraw
        assert "twitchsense live - night1" in screen
        assert "rate: 5.9/min (20 s so far)   5.9/min (20 s so far)   twitches: 2" in screen  # 2 in 20.2 s
        assert "problems: crc_error 2" in screen
        assert "WARNING" in screen and "busy: 2 twitches in the last 1 min" in screen
        assert "Regular twitching is worth having checked by a doctor." in screen
        assert "peak 0.310 g" in screen and "Measurements, not a diagnosis." in screen
        sink.on_alerts(later)
        screen = read_pty(master).rsplit("\x1b[H\x1b[2J", 1)[-1]
        assert "alert state: nothing raised" in screen
        sink.close()
    finally:
        stream.close()
        os.close(master)


def test_terminal_live_view_fits_the_terminal_it_draws_on(monkeypatch):
    crashes = []
    monkeypatch.setattr(threading, "excepthook", crashes.append)
    master, slave = pty.openpty()
    set_pty_size(slave, 8, 60)
    stream = os.fdopen(slave, "w")
    try:
        events, raised, _ = session_changes()
        sink = TerminalSink(stream, clock=CLOCK, session="night1", refresh_s=0.0)
        sink.on_samples(block(0.0))
        sink.on_events(events)
        sink.on_alerts(raised)
        screen = read_pty(master).rsplit("\x1b[H\x1b[2J", 1)[-1]
        lines = re.sub("\x1b\\[[0-9;]*m", "", screen).rstrip("\r\n").split("\r\n")  # styles off
        assert len(sink.screen()) > 8 and len(lines) == 7  # one line fewer than the pty's 8 rows
        assert max(len(line) for line in lines) <= 59 and lines[0].startswith("twitchsense live - night1")
        stream.close()  # the terminal goes away: the redraw thread stops instead of raising in it
        sink._redraw_thread.join(timeout=5)
        assert not sink._redraw_thread.is_alive() and crashes == []
    finally:
        if not stream.closed:
            stream.close()
        os.close(master)


# ---- MQTT against a real broker (the broker fixture is in conftest) -------------------------------
def test_mqtt_publishes_events_alerts_and_retained_state(broker):
    from twitchsense.live.sinks.mqtt import MqttSink
    sub = Subscriber(broker, "home/twitch/#")
    events, raised, later = session_changes()
    sink = MqttSink("127.0.0.1", broker, prefix="home/twitch", session="night 1", clock=CLOCK)
    sink.on_events(events)
    sink.on_alerts(raised)
    sink.on_link(LinkEvent("no_data", "no samples for 30 s", t=40.0))
    got = sub.wait_for(lambda m: m[0] == "home/twitch/night_1/alerts")
    assert got, sub.messages
    alert = json.loads(got[0][1])
    assert (alert["rule"], alert["level"], alert["change"]) == ("busy", "warning", "raised")
    evs = [json.loads(m[1]) for m in sub.messages if m[0] == "home/twitch/night_1/events"]
    assert [e["peak_g"] for e in evs] == [0.31, 0.12]
    assert sub.wait_for(lambda m: m[0] == "home/twitch/night_1/link" and "no_data" in m[1])
    sink.on_alerts(later)
    sink.close()
    sub.close()
    # a client connecting later reads the retained state: the rule cleared, the session offline
    late = Subscriber(broker, "home/twitch/#")
    state = late.wait_for(lambda m: m[0] == "home/twitch/night_1/alert/busy")
    assert state and state[0][2] and json.loads(state[0][1])["level"] == "clear"
    status = late.wait_for(lambda m: m[0] == "home/twitch/night_1/status")
    assert status and status[0][1] == "offline" and status[0][2]
    late.close()


def test_mqtt_unreachable_broker_is_one_clear_error():
    pytest.importorskip("paho.mqtt.client")
    from twitchsense.live.sinks.mqtt import MqttSink, parse_broker
    with pytest.raises(TwitchsenseError, match=r"--mqtt: cannot reach the MQTT broker at 127.0.0.1:\d+"):
        MqttSink("127.0.0.1", free_port())
    assert parse_broker("mqtt://box:1884") == ("box", 1884) and parse_broker("box") == ("box", 1883)
    with pytest.raises(TwitchsenseError, match="is not HOST, HOST:PORT"):
        parse_broker("a b")


class Recorder:
    """A sink (or alert stage) keeping what it is handed."""

    def __init__(self, provisional: bool = False) -> None:
        self.provisional = provisional
        self.events: list[TwitchEvent] = []

    def on_events(self, events, now=None):
        self.events += events
        return []

    def on_link(self, event, now=None):
        return []

    def tick(self, now):
        return []


def test_the_pipeline_hands_provisional_events_and_verdicts_to_the_views_confirmed_ones_to_the_rest(tmp_path):
    """Live (a replayed recording through the one pipeline): a twitch that a reach follows is shown as
    possible at once and retracted 3 s later; an isolated one, possible and then confirmed. The terminal,
    the JSON lines and any sink saying ``provisional = True`` see both steps (the terminal's plain lines
    print the verdicts alone unless asked for both); the alert engine and every
    other sink (history, MQTT, a command) see the confirmed twitch alone."""
    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.detection.engine import StreamingDetector
    from twitchsense.live.pipeline import Pipeline

    from handmade import damped, handmade, tiny_model

    rec = handmade(122, minutes=0.75, n_twitch=0, tremor=False)
    for at in (10.0, 30.0):
        rec.acc[:, 1] += 0.2 * damped(rec.t - at, 10.0, 0.04)
    reach = (rec.t >= 30.8) & (rec.t < 34.0)
    rec.acc[reach, 0] += 0.3 * np.sin(2 * np.pi * 2.0 * rec.t[reach])
    shows, counts, alerts = Recorder(provisional=True), Recorder(), Recorder()
    buf, all_steps = io.StringIO(), io.StringIO()
    path = tmp_path / "live.jsonl"
    summary = Pipeline(ReplaySource(rec, speed=None, max_block_s=0.05),
                       detector=StreamingDetector(tiny_model()[0], rec.sample_rate_hz), alerts=alerts,
                       sinks=[shows, counts, TerminalSink(buf, tty=False), JsonLinesSink(path),
                              TerminalSink(all_steps, tty=False, show_provisional=True)]).run()
    assert [(round(e.onset), e.status, e.reason) for e in shows.events] == [
        (10, "provisional", ""), (10, "confirmed", ""), (30, "provisional", ""), (30, "retracted", "movement-follows")]
    assert shows.events[0].id == shows.events[1].id != shows.events[2].id == shows.events[3].id
    assert [(round(e.onset), e.status) for e in counts.events] == [(10, "confirmed")] and alerts.events == counts.events
    assert summary.events == 1
    # plain text (piped): one line per twitch, its verdict; with show_provisional (--provisional) both steps
    lines = [x.split("  ", 2)[1] for x in buf.getvalue().splitlines() if "peak" in x]
    assert lines == ["twitch", "retracted (movement-follows)"]
    lines = [x.split("  ", 2)[1] for x in all_steps.getvalue().splitlines() if "peak" in x]
    assert lines == ["possible twitch", "twitch", "possible twitch", "retracted (movement-follows)"]
    records = [json.loads(x) for x in path.read_text().splitlines() if '"event"' in x]
    assert [(r["status"], r["id"], r.get("reason")) for r in records] == \
        [(e.status, e.id, e.reason or None) for e in shows.events]
