"""A history that counts once, and multi-day answers (issue 18): real SQLite files, the real CLI in-process
(the shipped model), no mocks."""

from __future__ import annotations

import csv
import shutil
import sqlite3

import numpy as np
import pytest

from conftest import ROOT
from handmade import days_rule, frequency_rule, handmade, rule_file
from twitchsense.detection.engine import detect_recording
from twitchsense.detection.judged import judged_seconds
from twitchsense.detection.model import default_model_path, load_model
from twitchsense.history import connect, daily_summary, days_met
from twitchsense.io.recording import read_recording, write_recording

DEMO = ROOT / "recordings" / "demo" / "frequent-twitching.csv"
#: 'busy' at 2 twitches a minute (hold 0), 'busy-days' when it was raised on 2 of the last 7 days
DAY_RULES = rule_file(frequency_rule("warning", 2, 1), days_rule("alert", 2, 7), hold_minutes=0)


def sessions(db) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT id, name, fingerprint, judged_s, first_t, last_t FROM sessions ORDER BY id").fetchall()
    finally:
        con.close()


def count(db, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # table: a literal of this file
    finally:
        con.close()


def night(folder, name: str, seed: int, start_time: str):
    """A 3-minute recording with 12 twitches (4 a minute), started at ``start_time``."""
    rec = handmade(seed, tremor=False)
    rec.meta["start_time"] = start_time
    rec.labels = rec.labels.iloc[:0]
    path = folder / f"{name}.csv"
    write_recording(path, rec)
    return path


def test_the_same_recording_replayed_or_detected_again_is_replaced_and_said(tmp_path, run_main):
    db = tmp_path / "h.sqlite"
    rc, out, _ = run_main("replay", DEMO, "--db", db)
    assert rc == 0 and "replaced" not in out
    first = sessions(db)
    n_events = count(db, "events")
    assert len(first) == 1 and first[0][2].startswith("sha256:") and n_events > 10
    # a marker the wearer set on the first session
    con = connect(db)
    con.execute("CREATE TABLE IF NOT EXISTS markers (id INTEGER PRIMARY KEY, session_id INTEGER, t REAL)")
    con.execute("INSERT INTO markers (session_id, t) VALUES (?, ?)", (first[0][0], 12.5))
    con.commit()
    con.close()
    # the same file under another name and folder: the same content
    copy = tmp_path / "again" / "copy.csv"
    copy.parent.mkdir()
    shutil.copy(DEMO, copy)
    shutil.copy(DEMO.with_suffix(".json"), copy.with_suffix(".json"))
    rc, out, _ = run_main("replay", copy, "--db", db)
    assert rc == 0 and f"this recording was already there (session {first[0][0]}" in out
    assert "replaced, not counted twice" in out
    rc, out, _ = run_main("detect", copy, "-o", tmp_path / "out", "--db", db)
    assert rc == 0 and "replaced, not counted twice" in out
    now = sessions(db)
    assert len(now) == 1 and now[0][2] == first[0][2] and count(db, "events") == n_events
    con = sqlite3.connect(db)
    assert con.execute("SELECT session_id FROM markers").fetchall() == [(now[0][0],)]  # the marker moved
    con.close()
    rows = [r for r in daily_summary(connect(db), days=1) if r.sessions]
    assert len(rows) == 1 and rows[0].twitches == n_events and rows[0].sessions == 1


def test_detect_db_feeds_the_history_with_judged_time(tmp_path, run_main):
    nights = tmp_path / "nights"
    nights.mkdir()
    a = night(nights, "n1", 1, "2026-03-01T22:00:00+01:00")
    night(nights, "n2", 2, "2026-03-02T22:00:00+01:00")
    db = tmp_path / "h.sqlite"
    rc, out, err = run_main("detect", nights, "-o", tmp_path / "out", "--db", db)
    assert rc == 0, err
    rows = sessions(db)
    assert [r[1] for r in rows] == ["n1", "n2"]
    # judged time stored: the detector's judged seconds of each recording
    rec = read_recording(a)
    res = detect_recording(rec, load_model(default_model_path()))
    assert rows[0][3] == pytest.approx(judged_seconds(res.context))
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (rows[0][0],)).fetchone()[0] \
        == len(res.events)
    con.close()
    # the export: one row per day, rates per judged hour
    rc, out, err = run_main("history", "--db", db, "--days", "3", "--until", "2026-03-02",
                            "--export", tmp_path / "history.csv")
    assert rc == 0, err
    assert "history: 3 days written to" in out
    table = list(csv.DictReader(open(tmp_path / "history.csv")))
    assert [r["day"] for r in table] == ["2026-02-28", "2026-03-01", "2026-03-02"]
    day1 = table[1]
    assert int(day1["twitches"]) == len(res.events) and day1["sessions"] == "1"
    assert float(day1["judged_h"]) == pytest.approx(judged_seconds(res.context) / 3600, abs=1e-3)
    assert float(day1["rate_per_judged_h"]) == pytest.approx(len(res.events) / (judged_seconds(res.context) / 3600),
                                                             abs=0.01)
    assert table[0]["twitches"] == "0" and table[0]["rate_per_judged_h"] == ""


def test_rates_are_per_judged_hour_when_the_detector_could_not_judge_all_of_it(tmp_path):
    db = tmp_path / "h.sqlite"
    con = connect(db)
    con.execute("INSERT INTO sessions (name, start_time, start_epoch, utc_offset_s, first_t, last_t, opened_at, "
                "judged_s) VALUES ('s', '2026-03-01T10:00:00+00:00', 1772359200, 0, 0, 3600, 'x', 1800)")
    con.executemany("INSERT INTO events (session_id, onset, duration, peak_g, confidence, day) "
                    "VALUES (1, ?, 0.1, 0.2, 0.9, '2026-03-01')", [(float(i),) for i in range(60)])
    con.commit()
    (row,) = daily_summary(con, days=1)
    assert row.monitored_s == 3600 and row.judged_s == 1800 and row.rate_per_hour == pytest.approx(120)


def test_a_history_written_before_fingerprints_is_opened_and_gains_the_columns(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)  # the first schema, as a history written by an earlier version has it
    con.executescript("""
        CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',
            start_time TEXT NOT NULL, start_epoch REAL NOT NULL, utc_offset_s REAL NOT NULL, first_t REAL,
            last_t REAL, meta TEXT NOT NULL DEFAULT '{}', opened_at TEXT NOT NULL, closed_at TEXT);
        INSERT INTO sessions (name, start_time, start_epoch, utc_offset_s, first_t, last_t, opened_at)
            VALUES ('old', '2026-03-01T10:00:00+00:00', 1772359200, 0, 0, 1800, 'x');
    """)
    con.commit()
    con.close()
    con = connect(db)
    cols = {r[1] for r in con.execute("PRAGMA table_info(sessions)")}
    assert {"fingerprint", "judged_s"} <= cols
    (row,) = daily_summary(con, days=1)
    assert row.judged_s == 1800  # no judged time stored: its monitored time counts


def test_no_history_writes_nothing(tmp_path, run_main, temporary_home):
    data = temporary_home / ".local" / "share" / "twitchsense"
    before = sorted(p.name for p in data.iterdir()) if data.exists() else []
    rc, out, err = run_main("stream", "--simulate", "--duration", "1.5", "--no-history", "--session", "nohist")
    assert rc == 0, err
    after = sorted(p.name for p in data.iterdir()) if data.exists() else []
    assert after == before and not any("nohist" in name for name in after)


def test_replay_db_and_history_agree_on_the_multi_day_rules(tmp_path, run_main):
    rules = tmp_path / "rules.toml"
    rules.write_text(DAY_RULES)
    db = tmp_path / "h.sqlite"
    one = night(tmp_path, "n1", 1, "2026-03-01T22:00:00+01:00")
    two = night(tmp_path, "n2", 2, "2026-03-02T22:00:00+01:00")
    for path in (one, two):  # no --state: each replay starts afresh, but the history holds the days
        rc, out, err = run_main("replay", path, "--db", db, "--rules", rules, "--jsonl", tmp_path / f"{path.stem}.jsonl")
        assert rc == 0, err
    con = connect(db)
    assert days_met(con, "busy") == {"2026-03-01", "2026-03-02"}
    raised = con.execute("SELECT s.name, a.level FROM alerts a JOIN sessions s ON s.id = a.session_id "
                         "WHERE a.rule = 'busy-days' AND a.change = 'raised'").fetchall()
    assert raised == [("n2", "alert")]  # the second night, as the history counts it
    rc, out, _ = run_main("history", "--db", db, "--rules", rules, "--until", "2026-03-02")
    assert "busy-days: 'busy' on 2 of the last 7 days to 2026-03-02 (threshold 2): MET [alert]" in out
    # detect --db counts the same days: the second night again (replaced) raises the same rule
    rc, out, err = run_main("detect", two, "-o", tmp_path / "out", "--db", db, "--rules", rules)
    assert rc == 0, err
    alerts = (tmp_path / "out" / "n2.alerts.csv").read_text()
    assert "busy-days" in alerts and ",alert," in alerts
    assert np.array_equal(np.unique([r[1] for r in sessions(db)]), ["n1", "n2"])


def store_session(db, start_time: str, onsets, seconds: float, judged_s: float, raised: str | None = None):
    """A session as the history sink stores it (judged time from the detector, alert changes)."""
    from twitchsense.alerts.engine import AlertChange
    from twitchsense.live.sinks.history import HistorySink
    from twitchsense.types import TwitchEvent
    sink = HistorySink(db, {"start_time": start_time}, name=start_time[:10], judged=lambda: judged_s)
    sink.note_span(0.0, seconds)
    sink.on_events([TwitchEvent(float(o), 0.1, 0.2, 0.9) for o in onsets])
    if raised:
        sink.on_alerts([AlertChange(60.0, 60.0, "warning", raised, "measured", change="raised")])
    sink.flush()
    sink.close()


def test_report_over_many_days_rate_per_judged_hour_trend_and_since_when(tmp_path, run_main):
    db = tmp_path / "h.sqlite"
    # four nights of 2 h, 1 h of it judged, 10, 20, 30, 40 twitches; 'frequent' raised from the second night
    for i, n in enumerate((10, 20, 30, 40)):
        store_session(db, f"2026-03-0{i + 2}T21:00:00+01:00", np.linspace(10, 3500, n), 7200, 3600,
                      "frequent" if i else None)
    rc, out, err = run_main("report", "--days", "7", "--db", db, "--until", "2026-03-06", "-o", tmp_path / "month.html")
    assert rc == 0, err
    assert "month.html: report of the last 7 days" in out
    page = (tmp_path / "month.html").read_text()
    assert "Twitch report: 7 days, 2026-02-28 to 2026-03-06" in page
    days = page.split("<h2>Every day</h2>")[1]
    assert "<tr><td>2026-03-03</td><td>1</td><td>2.0</td><td>1.0</td><td>20</td><td>20.0</td>" in days
    assert "<tr><td>2026-03-01</td><td>0</td><td>-</td><td>-</td><td>0</td><td>-</td>" in days
    assert "rising: +70.0 per judged hour each week over 4 days with data (first half 15.0/h, second half 35.0/h)" \
        in page
    since = page.split("<h2>Since when</h2>")[1].split("<h2>")[0]
    assert "<tr><td>frequent</td><td>2026-03-03</td><td>2026-03-05</td><td>3</td><td>3</td></tr>" in since
    assert "data:image/png;base64," in page.split("<h2>Rate per day</h2>")[1]
    rc, _, err = run_main("report", "--days", "7", "--db", tmp_path / "none.sqlite")
    assert rc == 1 and "no history yet" in err
    rc, _, err = run_main("report", DEMO, "--days", "7", "--db", db)
    assert rc == 1 and "give no recordings" in err
