"""The alert options of ``replay``: terminal, JSON lines, history, command and rule file, in real processes."""

from __future__ import annotations

import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import time

import numpy as np

from twitchsense.io.recording import Recording, write_recording

from conftest import ROOT, cli_env, run_cli


def faulty_recording(path):
    """100 Hz, 20 s, a 40 s gap, 20 s with six samples at the +/-2 g full scale at 65 s."""
    rng = np.random.default_rng(0)
    t = np.concatenate([np.arange(0, 20, 0.01), np.arange(60, 80, 0.01)])
    acc = rng.normal(0, 0.01, (t.size, 3)) + [0, 0, 1.0]
    acc[np.searchsorted(t, 65.0):np.searchsorted(t, 65.0) + 6, 0] = 2.0
    write_recording(path, Recording(t, acc, meta={"sample_rate_hz": 100.0, "range_g": 2.0,
                                                  "start_time": "2026-03-01T22:00:00+01:00"}))


def test_replay_alerts_reach_terminal_jsonl_history_and_command(tmp_path):
    rec = tmp_path / "night.csv"
    faulty_recording(rec)
    log = tmp_path / "cmd.log"
    cmd = f"{sys.executable} -c \"import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')\" {log} {{rule}}:{{level}}"
    r = run_cli("replay", rec, "--jsonl", tmp_path / "out.jsonl", "--db", tmp_path / "h.sqlite",
                "--on-alert", cmd)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert ("00:01:00.0 (22:01:00)  FAULT WARNING: no data from the sensor for 40 s (threshold 30 s); "
            "rule: no-data") in out
    # judged per replayed block (1 s of stream at full speed)
    assert "00:01:05.9 (22:01:05)  FAULT WARNING: 6 samples at the sensor's full scale (2 g) in the last " \
           "10 s (threshold 5); rule: saturation" in out
    assert "00:01:00.9 (22:01:00)  cleared warning: data flowing again after 40 s without data; " \
           "rule: no-data" in out
    assert ", 4 alert changes" in out
    alerts = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()
              if json.loads(x)["type"] == "alert"]
    assert [(a["rule"], a["change"]) for a in alerts] == [("no-data", "raised"), ("no-data", "cleared"),
                                                          ("saturation", "raised"), ("saturation", "cleared")]
    assert alerts[0]["time"] == "2026-03-01T22:01:00.000+01:00" and alerts[0]["session"] == "night"
    con = sqlite3.connect(tmp_path / "h.sqlite")
    assert con.execute("SELECT rule, change, day FROM alerts ORDER BY id").fetchall()[0] == \
        ("no-data", "raised", "2026-03-01")
    assert con.execute("SELECT name, start_time, last_t FROM sessions").fetchone() == \
        ("night", "2026-03-01T22:00:00+01:00", 79.99)
    assert sorted(log.read_text().split()) == ["no-data:warning", "saturation:warning"]


def test_piped_replay_prints_each_twitch_once_its_verdict_and_the_json_lines_keep_every_step(tmp_path):
    """Piped, the text names each twitch once (its verdict: confirmed, or retracted with the reason);
    --provisional adds the possible twitch before it; the JSON lines carry all three steps either way."""
    demo = ROOT / "recordings" / "demo" / "frequent-twitching.csv"
    steps = {}
    for extra in ((), ("--provisional",)):
        r = run_cli("replay", demo, "--jsonl", tmp_path / f"{len(extra)}.jsonl", *extra)
        assert r.returncode == 0, r.stderr
        words = [x.split("  ", 2)[1] for x in r.stdout.splitlines() if "  peak " in x]
        events = [json.loads(x) for x in (tmp_path / f"{len(extra)}.jsonl").read_text().splitlines()
                  if json.loads(x)["type"] == "event"]
        text = [e["status"] if e["status"] != "retracted" else f"retracted ({e['reason']})" for e in events
                if extra or e["status"] != "provisional"]
        assert [{"twitch": "confirmed", "possible twitch": "provisional"}.get(w, w) for w in words] == text
        steps[extra] = [(e["id"], e["status"], e.get("reason")) for e in events]
    confirmed = sum(s == "confirmed" for _, s, _ in steps[()])
    assert f", {confirmed} twitches, " in r.stdout and confirmed > 0
    assert steps[()] == steps[("--provisional",)]  # the machine interface is the same with or without it
    verdicts = {i: s for i, s, _ in steps[()] if s != "provisional"}
    assert sorted(i for i, s, _ in steps[()] if s == "provisional") == sorted(verdicts)
    assert set(verdicts.values()) == {"confirmed", "retracted"}


def test_replay_keeps_no_history_unless_asked_and_bad_rules_are_one_line(tmp_path):
    rec = tmp_path / "night.csv"
    faulty_recording(rec)
    r = run_cli("replay", rec, "--quiet")
    assert r.returncode == 0 and "FAULT WARNING" in r.stdout
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "x"\nkind = "frequency"\nlevel = "loud"\n')
    r = run_cli("replay", rec, "--rules", bad)
    assert r.returncode == 1
    assert r.stderr.strip() == (f"twitchsense replay: error: {bad}: rule 'x': level must be one of info, "
                                "warning, alert, got 'loud'")
    r = run_cli("replay", rec, "--on-alert", "no-such-tool-xyz {rule}")
    assert r.returncode == 1 and "--on-alert: command 'no-such-tool-xyz' not found" in r.stderr


def test_replay_jsonl_to_stdout_moves_the_terminal_to_stderr(tmp_path):
    rec = tmp_path / "night.csv"
    faulty_recording(rec)
    r = run_cli("replay", rec, "--jsonl", "-")
    assert r.returncode == 0, r.stderr
    records = [json.loads(x) for x in r.stdout.splitlines()]  # nothing but JSON on stdout
    assert sum(1 for x in records if x["type"] == "alert") == 4
    assert "FAULT WARNING" in r.stderr and "replay" in r.stderr


def test_replay_live_view_in_a_real_terminal(tmp_path):
    rec = tmp_path / "night.csv"
    faulty_recording(rec)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "twitchsense", "replay", str(rec), "--speed", "40"],
                            stdin=slave, stdout=slave, stderr=slave, env={**cli_env(), "COLUMNS": "120",
                                                                           "LINES": "40"}, cwd=ROOT)
    os.close(slave)
    out = b""
    end = time.monotonic() + 60
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-500:]
    assert text.count("\x1b[H\x1b[2J") >= 2                 # redrawn in place, not scrolled
    last = text.rsplit("\x1b[H\x1b[2J", 1)[-1]
    assert "twitchsense live - night" in last and "alert state: nothing raised" in last
    assert "last alert changes:" in last
    assert "  saturation: cleared warning: 0 samples at the sensor's full scale" in last
    assert "t=" not in last                                   # the status line gave way to the view
