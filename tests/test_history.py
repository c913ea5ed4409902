"""History: a real SQLite file, a real process killed with SIGKILL, and the ``history`` command."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from twitchsense.alerts import AlertEngine, parse_rules
from twitchsense.history import connect, daily_summary, days_met, default_db_path
from twitchsense.live.sinks.history import HistorySink
from twitchsense.types import SampleBlock, TwitchEvent

from conftest import cli_env, run_cli
from handmade import days_rule, frequency_rule, rule_file

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from twitchsense.live.sinks.history import HistorySink
    from twitchsense.types import SampleBlock, TwitchEvent
    sink = HistorySink(sys.argv[1], {"start_time": "2026-03-01T22:00:00+01:00"}, name="crash")
    i = 0
    while True:                       # one event every 10 ms, forever, until killed
        t = i * 0.01
        sink.on_samples(SampleBlock(np.array([t]), np.zeros((1, 3)), np.array([i]), np.array([-1])))
        sink.on_events([TwitchEvent(t, 0.1, 0.3, 0.9)])
        i += 1
        print(i, flush=True)
        time.sleep(0.01)
""")


def test_kill_9_loses_at_most_the_last_second(tmp_path):
    db = tmp_path / "h.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True,
                            env=cli_env())
    sent = 0
    deadline = time.monotonic() + 30
    while sent < 150 and time.monotonic() < deadline:
        sent = int(proc.stdout.readline())
    time.sleep(1.0)  # everything written more than a second ago must survive
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    con = sqlite3.connect(db)
    n = con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    last_t = con.execute("SELECT last_t FROM sessions").fetchone()[0]
    assert n >= sent
    assert last_t >= (sent - 1) * 0.01
    assert con.execute("SELECT MIN(day), MAX(day) FROM events").fetchone() == ("2026-03-01", "2026-03-01")
    assert con.execute("SELECT closed_at FROM sessions").fetchone()[0] is None  # it never closed


def test_default_path_is_under_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "twitchsense" / "history.sqlite"


def ev(t: float, peak: float = 0.2) -> TwitchEvent:
    return TwitchEvent(t, 0.2, peak, 0.9)


def fill(db, start_time: str, onsets, seconds: float, rules=None, peak: float = 0.2):
    """A session as the pipeline would store it: samples, events and the engine's alerts."""
    sink = HistorySink(db, {"start_time": start_time}, name="s")
    eng = AlertEngine(rules, start_time=start_time)
    k = 0
    for now in np.arange(0.0, seconds + 1e-9, 10.0):
        sink.on_samples(SampleBlock(np.array([now]), np.zeros((1, 3)), np.array([0]), np.array([-1])))
        new = [ev(o, peak) for o in onsets[k:] if o <= now]
        k += len(new)
        sink.on_events(new)
        sink.on_alerts(eng.on_events(new, float(now)))
    sink.close()


DAY_RULES_TEXT = rule_file(frequency_rule("warning", 2, 10), days_rule("alert", 2, 7), hold_minutes=0)
DAY_RULES = parse_rules(DAY_RULES_TEXT)


@pytest.mark.parametrize("offset", ["+01:00", "+02:00", "-05:00"])
def test_a_rule_cleared_at_midnight_was_not_met_on_the_next_day(tmp_path, offset):
    """days_met: a rule on from 23:30 until exactly 00:00:00.000 local was met on that day only; one
    still on 1 ms after midnight, or raised at midnight, on the next; one raised and cleared at once,
    on its day (history time is the session's UTC offset; the DST offsets of a European spring)."""
    from twitchsense.alerts.engine import AlertChange

    db = tmp_path / "h.sqlite"

    def session(start: str, changes: list[tuple[float, str]], last_t: float) -> None:
        sink = HistorySink(db, {"start_time": start}, name=start)
        sink.on_samples(SampleBlock(np.array([0.0, last_t]), np.zeros((2, 3)), np.array([0, 1]), np.array([-1, -1])))
        sink.on_alerts([AlertChange(t, t, "warning", "busy", "x", change=c) for t, c in changes])
        sink.close()

    session(f"2026-03-01T23:00:00{offset}", [(1800.0, "raised"), (3600.0, "cleared")], 3700.0)
    con = connect(db)
    assert days_met(con, "busy") == {"2026-03-01"}
    session(f"2026-03-05T23:00:00{offset}", [(1800.0, "raised"), (3600.001, "cleared")], 3700.0)
    session(f"2026-03-08T23:00:00{offset}", [(3600.0, "raised"), (3600.0, "cleared")], 3700.0)
    session(f"2026-03-10T23:00:00{offset}", [(3599.999, "raised"), (3599.999, "cleared")], 3700.0)
    session(f"2026-03-12T23:00:00{offset}", [(1800.0, "raised")], 3600.0)  # still on when its data ended
    assert days_met(con, "busy") == {"2026-03-01", "2026-03-05", "2026-03-06", "2026-03-09", "2026-03-10",
                                     "2026-03-12"}


def test_daily_summary_splits_sessions_at_midnight(tmp_path):
    db = tmp_path / "h.sqlite"
    # 23:30 local to 00:30: 30 min on each day; 3/min in the first 20 min only
    fill(db, "2026-03-01T23:30:00+01:00", np.arange(0, 1200, 20.0), 3600, DAY_RULES)
    con = connect(db)
    rows = daily_summary(con, days=3)
    assert [r.day for r in rows] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    r = rows[1]
    assert r.twitches == 60 and abs(r.monitored_s - 1800) < 1e-6 and abs(r.rate_per_hour - 120) < 1e-6
    assert rows[2].twitches == 0 and abs(rows[2].monitored_s - 1800) < 1e-6
    assert r.alerts == {"warning": 1}
    assert days_met(con, "busy") == {"2026-03-01"}


def test_history_command_prints_days_and_the_multi_day_rules(tmp_path):
    db = tmp_path / "h.sqlite"
    rules = tmp_path / "rules.toml"
    rules.write_text(DAY_RULES_TEXT)
    fill(db, "2026-03-01T20:00:00+00:00", np.arange(0, 1500, 20.0), 1800, DAY_RULES, peak=0.4)
    fill(db, "2026-03-03T20:00:00+00:00", np.arange(0, 1500, 20.0), 1800, DAY_RULES, peak=0.4)
    out = run_cli("history", "--db", db, "--days", "4", "--rules", rules)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    row = next(x for x in lines if x.startswith("2026-03-01"))
    # stored without judged time (the sink was given none): its time with data counts as judged
    assert row.split()[:9] == ["2026-03-01", "1", "0.5", "h", "0.5", "h", "75", "150.0", "2.50"]
    assert "0.40 g" in row and "1 warning" in row
    assert next(x for x in lines if x.startswith("2026-03-02")).split()[1:5] == ["0", "-", "-", "0"]
    assert "busy-days: 'busy' on 2 of the last 7 days to 2026-03-03 (threshold 2): MET [alert]" in out.stdout
    assert "not a diagnosis" in out.stdout


def test_history_command_errors(tmp_path):
    out = run_cli("history", "--db", tmp_path / "none.sqlite")
    assert out.returncode == 1 and "none.sqlite: no history yet" in out.stderr
    out = run_cli("history", "--db", tmp_path / "none.sqlite", "--until", "yesterday")
    assert out.returncode == 1 and "--until must be a date" in out.stderr

