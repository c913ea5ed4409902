"""History: every session, event and alert in one SQLite file, and the per-day summary of it.

The file lives under the user's data directory
(``$XDG_DATA_HOME/twitchsense/history.sqlite``, by default
``~/.local/share/twitchsense/history.sqlite``); ``--db`` moves it. It runs in WAL
mode and :class:`HistorySink` commits at least every ``commit_interval_s`` (0.5 s,
also from a background thread when nothing new arrives), so a crash loses at
most the last second. SQL is always parameterised.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from .errors import TwitchsenseError
from .io.outputs import Alert, TwitchEvent
from .acquisition.protocol.base import SampleBlock
from .io.sessionclock import SessionClock

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    start_time TEXT NOT NULL,          -- ISO 8601 with offset: stream time 0
    start_epoch REAL NOT NULL,         -- the same as Unix time
    utc_offset_s REAL NOT NULL,
    first_t REAL,                      -- first and last stream time seen
    last_t REAL,
    meta TEXT NOT NULL DEFAULT '{}',   -- the session's sidecar fields, JSON
    opened_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    onset REAL NOT NULL, duration REAL NOT NULL, peak_g REAL NOT NULL, confidence REAL NOT NULL,
    kind TEXT NOT NULL DEFAULT '', context TEXT NOT NULL DEFAULT '',
    day TEXT NOT NULL                  -- local calendar date of the onset
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    time REAL NOT NULL,                -- stream time of the change
    start REAL NOT NULL, "end" REAL NOT NULL,
    level TEXT NOT NULL, rule TEXT NOT NULL, change TEXT NOT NULL DEFAULT 'raised',
    detail TEXT NOT NULL, guidance TEXT NOT NULL DEFAULT '', fault INTEGER NOT NULL DEFAULT 0,
    day TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_day ON events(day);
CREATE INDEX IF NOT EXISTS alerts_day ON alerts(day);
"""


def data_dir() -> Path:
    """The user's data directory for twitchsense (``$XDG_DATA_HOME/twitchsense``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "twitchsense"


def default_db_path() -> Path:
    return data_dir() / "history.sqlite"


def default_state_path() -> Path:
    """Where the live alert engine keeps its state between runs."""
    return data_dir() / "alert-state.json"


def connect(path: str | os.PathLike, create: bool = True) -> sqlite3.Connection:
    """Open (and create) a history database in WAL mode."""
    p = Path(path)
    if not create and not p.exists():
        raise TwitchsenseError(f"{p}: no history yet (run 'twitchsense stream' or 'replay' with history "
                               "on, or name the file with --db)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(p, check_same_thread=False, timeout=10)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(SCHEMA)
        con.commit()
    except (sqlite3.Error, OSError) as exc:
        raise TwitchsenseError(f"{p}: cannot open the history database ({exc})") from None
    return con


class HistorySink:
    """A pipeline sink that stores the session, its events and alert changes.

    Parameters
    ----------
    path : the SQLite file.
    meta : the session's sidecar fields, e.g. the source's live ``meta`` dict. The
        session row is written with the first samples or events, so a ``start_time``
        that appears by then anchors the calendar; without one, the wall-clock
        time of that moment is used.
    name, source : how the session is listed (e.g. the recording or the port).
    commit_interval_s : longest time a row waits uncommitted.
    """

    def __init__(self, path: str | os.PathLike | None = None, meta: dict | None = None, name: str = "",
                 source: str = "", commit_interval_s: float = 0.5) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.meta = meta if meta is not None else {}
        self.name, self.source = name, source
        self.clock = SessionClock()
        self.session_id: int | None = None
        self.con = connect(self.path)
        self.commit_interval_s = commit_interval_s
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._dirty = False
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._last_commit = time.monotonic()
        self._thread = threading.Thread(target=self._commit_loop, name="history-commit", daemon=True)
        self._thread.start()

    def _open_session(self) -> int:
        """The session's row, written on first use (caller holds the lock)."""
        if self.session_id is None:
            start = self.meta.get("start_time") or datetime.now().astimezone().isoformat(timespec="milliseconds")
            self.clock.set_start(start)
            cur = self.con.execute(
                "INSERT INTO sessions (name, source, start_time, start_epoch, utc_offset_s, meta, opened_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.name or str(self.meta.get("session") or self.source or "session"), self.source, str(start),
                 self.clock.epoch_offset, self.clock.utc_offset_s, json.dumps(dict(self.meta), default=str),
                 datetime.now().astimezone().isoformat(timespec="seconds")))
            self.session_id = int(cur.lastrowid)  # type: ignore[arg-type]
            self.con.commit()
        return self.session_id

    def _commit_loop(self) -> None:
        while not self._closed.wait(self.commit_interval_s):
            self.commit()

    def commit(self) -> None:
        with self._lock:
            if self._dirty and not self._closed.is_set():
                self._flush_times()
                self.con.commit()
                self._dirty = False
            self._last_commit = time.monotonic()

    def _flush_times(self) -> None:
        if self._last_t is not None and self.session_id is not None:
            self.con.execute("UPDATE sessions SET first_t = ?, last_t = ? WHERE id = ?",
                             (self._first_t, self._last_t, self.session_id))

    def _after_write(self) -> None:
        self._dirty = True
        if time.monotonic() - self._last_commit >= self.commit_interval_s:
            self._flush_times()
            self.con.commit()
            self._dirty = False
            self._last_commit = time.monotonic()

    def _note_t(self, t: float) -> None:
        if self._first_t is None:
            self._first_t = t
        self._last_t = t if self._last_t is None else max(self._last_t, t)

    def on_samples(self, block: SampleBlock) -> None:
        if len(block):
            with self._lock:
                self._open_session()
                if self._first_t is None:
                    self._first_t = float(block.t[0])
                self._note_t(float(block.t[-1]))
                self._after_write()

    def on_events(self, events: list[TwitchEvent]) -> None:
        if not events:
            return
        with self._lock:
            self._open_session()
            self.con.executemany(
                "INSERT INTO events (session_id, onset, duration, peak_g, confidence, kind, context, day)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.session_id, e.onset, e.duration, e.peak_g, e.confidence, e.kind, e.context,
                  self.clock.date(e.onset)) for e in events])
            for e in events:
                self._note_t(e.onset + e.duration)
            self._after_write()

    def on_alerts(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        with self._lock:
            self._open_session()
            self.con.executemany(
                'INSERT INTO alerts (session_id, time, start, "end", level, rule, change, detail, guidance,'
                " fault, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.session_id, a.end, a.start, a.end, a.level, a.rule, getattr(a, "change", "raised"),
                  a.detail, getattr(a, "guidance", ""), int(bool(getattr(a, "fault", False))),
                  self.clock.date(a.end)) for a in alerts])
            self._after_write()

    def on_link(self, event) -> None:  # link events are not history
        pass

    def close(self) -> None:
        if self._closed.is_set():
            return
        with self._lock:
            self._flush_times()
            if self.session_id is not None:
                self.con.execute("UPDATE sessions SET closed_at = ? WHERE id = ?",
                                 (datetime.now().astimezone().isoformat(timespec="seconds"), self.session_id))
            self.con.commit()
            self._closed.set()
        self._thread.join(timeout=2)
        self.con.close()


@dataclass
class DayRow:
    """One calendar day of history."""

    day: str
    sessions: int = 0
    monitored_s: float = 0.0
    twitches: int = 0
    mean_peak_g: float | None = None
    max_peak_g: float | None = None
    alerts: dict | None = None  # level -> number of raises

    @property
    def rate_per_hour(self) -> float | None:
        return self.twitches / (self.monitored_s / 3600.0) if self.monitored_s > 0 else None


def _split_by_day(start_epoch: float, offset_s: float, t0: float, t1: float) -> dict[str, float]:
    """Seconds of ``[t0, t1]`` (stream time) falling on each local calendar day."""
    out: dict[str, float] = {}
    a = start_epoch + offset_s + t0
    b = start_epoch + offset_s + t1
    while a < b:
        day_end = (a // 86400 + 1) * 86400
        seg = min(b, day_end) - a
        d = (date(1970, 1, 1) + timedelta(days=int(a // 86400))).isoformat()
        out[d] = out.get(d, 0.0) + seg
        a += seg
    return out


def latest_day(con: sqlite3.Connection) -> date:
    """The latest local calendar day with a session or an event (today when the history is empty)."""
    found = [date.fromisoformat(d) for (d,) in con.execute("SELECT MAX(day) FROM events") if d]
    row = con.execute("SELECT start_epoch, utc_offset_s, COALESCE(last_t, 0) FROM sessions "
                      "ORDER BY start_epoch + COALESCE(last_t, 0) DESC LIMIT 1").fetchone()
    if row:
        found += [date.fromisoformat(d) for d in _split_by_day(row[0], row[1], row[2], row[2] + 1e-3)]
    return max(found) if found else date.today()


def daily_summary(con: sqlite3.Connection, days: int = 14, until: str | None = None) -> list[DayRow]:
    """Per-day counts, monitored time, rates, strengths and alert raises for the last ``days`` days.

    The range ends at ``until`` (ISO date), by default the latest day with data
    (or today when the history is empty).
    """
    end = date.fromisoformat(until) if until else latest_day(con)
    first = end - timedelta(days=days - 1)
    rows = {(first + timedelta(days=i)).isoformat(): DayRow((first + timedelta(days=i)).isoformat(),
                                                              alerts={})
            for i in range(days)}
    for start_epoch, off, t0, t1 in con.execute(
            "SELECT start_epoch, utc_offset_s, first_t, last_t FROM sessions WHERE last_t IS NOT NULL"):
        for d, secs in _split_by_day(start_epoch, off, t0 if t0 is not None else t1, t1).items():
            if d in rows:
                rows[d].monitored_s += secs
                rows[d].sessions += 1
    lo, hi = first.isoformat(), end.isoformat()
    for d, n, mean, mx in con.execute(
            "SELECT day, COUNT(*), AVG(peak_g), MAX(peak_g) FROM events WHERE day BETWEEN ? AND ? "
            "GROUP BY day", (lo, hi)):
        if d in rows:
            rows[d].twitches, rows[d].mean_peak_g, rows[d].max_peak_g = n, mean, mx
    for d, level, n in con.execute(
            "SELECT day, level, COUNT(*) FROM alerts WHERE change = 'raised' AND fault = 0 "
            "AND day BETWEEN ? AND ? GROUP BY day, level", (lo, hi)):
        if d in rows:
            rows[d].alerts[level] = n  # type: ignore[index]
    return [rows[k] for k in sorted(rows)]


def days_met(con: sqlite3.Connection, rule: str) -> set[str]:
    """ISO dates on which ``rule``'s condition held: from each raise to the next fall-back or clear."""
    out: set[str] = set()
    sessions = {sid: (ep, off, last) for sid, ep, off, last in con.execute(
        "SELECT id, start_epoch, utc_offset_s, last_t FROM sessions")}
    on: dict[int, float] = {}
    for sid, t, change in con.execute(
            "SELECT session_id, time, change FROM alerts WHERE rule = ? ORDER BY session_id, time, id", (rule,)):
        if change == "raised":
            on.setdefault(sid, t)
        elif sid in on:
            ep, off, _ = sessions[sid]
            out |= set(_split_by_day(ep, off, on.pop(sid), t + 1e-3))
    for sid, t0 in on.items():  # still on when the session ended
        ep, off, last = sessions[sid]
        out |= set(_split_by_day(ep, off, t0, max(last or t0, t0) + 1e-3))
    return out
