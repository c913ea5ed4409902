"""End to end: an emulated board replays simulated sessions into ``stream``; the expected alert
appears at the expected time in the terminal, the JSON lines, the history and MQTT, and a quiet
session raises none. Real processes, a real pty, a real SQLite file and a real mosquitto broker."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import pytest

from twitchsense.alerts import AlertEngine, parse_rules
from twitchsense.detector import StreamingDetector
from twitchsense.model_file import default_model_path, load_model
from twitchsense.pipeline import Pipeline
from twitchsense.recording import write_recording
from twitchsense.simulate.session import simulate_session
from twitchsense.sources.replay import ReplaySource

from conftest import ROOT, Subscriber, cli_env
from handmade import frequency_rule, rule_file

pytestmark = pytest.mark.slow

#: short windows so that a 45-s session shows the whole path (the shipped rules need 10-20 min)
E2E_RULES = rule_file(
    frequency_rule("alert", 8, 0.5, name="frequent-e2e",
                   guidance="Frequent twitching: in real life, have it examined by a doctor."),
    hold_minutes=0.25, cooldown_minutes=5)
SESSION_S = 45.0
RUN_S = 26.0  # margin: the stream may lag behind real time on a loaded machine


class Collect:
    """A sink keeping the events and alert changes."""

    def __init__(self) -> None:
        self.alerts, self.events = [], []

    def on_events(self, events) -> None:
        self.events += events

    def on_alerts(self, alerts) -> None:
        self.alerts += alerts


def start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "twitchsense", *map(str, cmd)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=ROOT)


def test_emulated_board_frequent_and_quiet_sessions(tmp_path, broker):
    model = load_model(default_model_path())  # the shipped model, as `stream` uses by default
    rules_file = tmp_path / "e2e.toml"
    rules_file.write_text(E2E_RULES)
    sessions = {"frequent": simulate_session("frequent-twitching", SESSION_S / 60, 4),
                "quiet": simulate_session("rest", SESSION_S / 60, 0)}
    # the expected alert: the same detector and engine fed the same samples in board-sized
    # blocks at full speed (so the detector's own wait for context after a twitch is included)
    expected, fourth = {}, {}
    for name, rec in sessions.items():
        write_recording(tmp_path / f"{name}.csv", rec)
        src = ReplaySource(rec, speed=None, max_block_s=0.05)
        sink = Collect()
        Pipeline(src, detector=StreamingDetector(model, rec.sample_rate_hz),
                 alerts=AlertEngine(parse_rules(E2E_RULES)), sinks=[sink]).run()
        raised = [a for a in sink.alerts if a.level == "alert" and a.change == "raised" and a.end <= RUN_S]
        expected[name] = raised[0].end if raised else None
        ends = sorted(e.end for e in sink.events)
        fourth[name] = ends[3] if len(ends) >= 4 else None
    # the 4th twitch in 30 s raises it, once the detector has seen enough of what follows it
    assert fourth["frequent"] < expected["frequent"] <= fourth["frequent"] + 4.0, (expected, fourth)
    assert expected["frequent"] is not None and expected["frequent"] < RUN_S - 4
    assert expected["quiet"] is None

    sub = Subscriber(broker, "e2e/#")
    procs = {}
    for name in sessions:
        link = tmp_path / f"{name}-board"
        procs[name, "board"] = start(["emulate-board", "--replay", tmp_path / f"{name}.csv", "--link", link,
                                      "--duration", RUN_S + 15])
    for name in sessions:
        link = tmp_path / f"{name}-board"
        deadline = time.monotonic() + 20
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        procs[name, "stream"] = start(["stream", "--port", link, "--duration", RUN_S, "--rules", rules_file,
                                       "--jsonl", tmp_path / f"{name}.jsonl", "--db", tmp_path / "h.sqlite",
                                       "--mqtt", f"127.0.0.1:{broker}", "--mqtt-prefix", "e2e",
                                       "--session", name])
    outs = {}
    for name in sessions:
        out, err = procs[name, "stream"].communicate(timeout=RUN_S + 60)
        assert procs[name, "stream"].returncode == 0, err
        outs[name] = out
        procs[name, "board"].terminate()
        procs[name, "board"].wait(timeout=20)
    received, received_at = list(sub.messages), list(sub.received_at)
    sub.close()

    # frequent: the alert, at the expected stream time, everywhere
    alerts = [json.loads(x) for x in (tmp_path / "frequent.jsonl").read_text().splitlines()
              if json.loads(x)["type"] == "alert"]
    raised = [a for a in alerts if a["rule"] == "frequent-e2e" and a["change"] == "raised"]
    assert raised, alerts
    assert abs(raised[0]["end"] - expected["frequent"]) <= 3.0, (raised[0], expected)
    assert raised[0]["detail"].endswith("/min (threshold 8/min)") and "twitches in the last 30 s" in raised[0]["detail"]
    line = next(x for x in outs["frequent"].splitlines() if "ALERT: " in x and "rule: frequent-e2e" in x)
    hh, mm, ss = line.split()[0].split(":")  # the terminal line starts with the stream time
    assert abs(int(hh) * 3600 + int(mm) * 60 + float(ss) - expected["frequent"]) <= 3.0, line
    con = sqlite3.connect(tmp_path / "h.sqlite")
    rows = con.execute("SELECT a.time, a.level FROM alerts a JOIN sessions s ON s.id = a.session_id "
                       "WHERE s.name = 'frequent' AND a.rule = 'frequent-e2e' AND a.change = 'raised'").fetchall()
    assert rows and abs(rows[0][0] - expected["frequent"]) <= 3.0 and rows[0][1] == "alert"
    assert con.execute("SELECT COUNT(*) FROM events e JOIN sessions s ON s.id = e.session_id "
                       "WHERE s.name = 'frequent'").fetchone()[0] >= 4
    mqtt_alerts = [json.loads(p) for t, p, _ in received if t == "e2e/frequent/alerts"]
    assert any(a["rule"] == "frequent-e2e" and a["change"] == "raised" for a in mqtt_alerts)
    late = Subscriber(broker, "e2e/frequent/#")  # a home-automation system connecting afterwards
    state = late.wait_for(lambda m: m[0] == "e2e/frequent/alert/frequent-e2e")
    status = late.wait_for(lambda m: m[0] == "e2e/frequent/status")
    late.close()
    assert state and state[0][2] and json.loads(state[0][1])["level"] == "alert"  # retained
    assert status and status[0][1] == "offline"
    # it came out in real time: received over MQTT at the session's start plus the expected time
    # (a little more slack than in stream time: the 2-core CI machine is shared)
    start_wall = datetime.fromisoformat(raised[0]["time"]).timestamp() - raised[0]["end"]
    got_at = next(w for (t, p, _), w in zip(received, received_at)
                  if t == "e2e/frequent/alerts" and '"raised"' in p and "frequent-e2e" in p)
    assert abs(got_at - (start_wall + expected["frequent"])) <= 5.0, \
        (got_at - start_wall, raised[0]["end"], expected["frequent"])

    # quiet: no alert anywhere
    quiet = [json.loads(x) for x in (tmp_path / "quiet.jsonl").read_text().splitlines()]
    assert not [x for x in quiet if x["type"] == "alert" and x["level"] == "alert"]
    assert "ALERT" not in outs["quiet"]
    assert not [t for t, p, _ in received if t == "e2e/quiet/alerts" and '"alert"' in p]
