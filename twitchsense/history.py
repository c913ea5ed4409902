"""History: every session, event and alert in one SQLite file, and the per-day summary of it.

The file lives under the user's data directory
(``$XDG_DATA_HOME/twitchsense/history.sqlite``, by default
``~/.local/share/twitchsense/history.sqlite``); ``--db`` moves it. It runs in WAL
mode. The live pipeline writes it through
:class:`~twitchsense.live.sinks.history.HistorySink`; this module opens it and
answers the per-day queries. SQL is always parameterised.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from .errors import TwitchsenseError

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

#: Columns added to ``sessions`` since the first schema (a history written by an older version
#: gains them when opened): the recording's content fingerprint (None for a live board), so a
#: second import of the same file replaces the first instead of counting it twice, and the seconds
#: the detector could judge (None when not known), so rates are per judged hour.
ADDED_SESSION_COLUMNS = {"fingerprint": "TEXT", "judged_s": "REAL"}


def data_dir() -> Path:
    """The user's data directory for twitchsense (``$XDG_DATA_HOME/twitchsense``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "twitchsense"


def default_db_path() -> Path:
    return data_dir() / "history.sqlite"


def default_state_path() -> Path:
    """Where the live alert engine keeps its state between runs."""
    return data_dir() / "alert-state.json"


def connect(path: str | os.PathLike, create: bool = True, timeout_s: float = 10.0) -> sqlite3.Connection:
    """Open (and create) a history database in WAL mode; a write waits up to ``timeout_s`` for a lock."""
    p = Path(path)
    if not create and not p.exists():
        raise TwitchsenseError(f"{p}: no history yet (run 'twitchsense stream' or 'replay' with history "
                               "on, or name the file with --db)")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(p, check_same_thread=False, timeout=timeout_s)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(SCHEMA)
        have = {row[1] for row in con.execute("PRAGMA table_info(sessions)")}
        for column, kind in ADDED_SESSION_COLUMNS.items():  # names from the constant, never user input
            if column not in have:
                con.execute(f"ALTER TABLE sessions ADD COLUMN {column} {kind}")
        con.execute("CREATE INDEX IF NOT EXISTS sessions_fingerprint ON sessions(fingerprint)")
        con.commit()
    except (sqlite3.Error, OSError) as exc:
        raise TwitchsenseError(f"{p}: cannot open the history database ({exc})") from None
    return con


def connect_read_only(path: str | os.PathLike, timeout_s: float = 10.0) -> sqlite3.Connection:
    """A read-only connection to a history. The path goes in as a file URI, percent-encoded: a ``#`` or ``?``
    in a file name is the name's, not the URI's."""
    return sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout_s)


def check_history(path: str | os.PathLike) -> None:
    """One line for a file that is no history to read (not SQLite, or SQLite without sessions), before a
    reader (the web app) starts on it."""
    try:
        con = connect_read_only(path)
        try:
            tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise TwitchsenseError(f"{path}: cannot open the history database ({exc})") from None
    if "sessions" not in tables:
        raise TwitchsenseError(f"{path}: not a twitchsense history (it has no sessions table)")


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
    #: seconds the detector could judge (a session's judged time shared over its days in proportion;
    #: a session stored without judged time counts its monitored time)
    judged_s: float = 0.0

    @property
    def rate_per_hour(self) -> float | None:
        """Twitches per judged hour."""
        return self.twitches / (self.judged_s / 3600.0) if self.judged_s > 0 else None


def _split_by_day(start_epoch: float, offset_s: float, t0: float, t1: float) -> dict[str, float]:
    """Seconds of ``[t0, t1)`` (stream time) falling on each local calendar day."""
    out: dict[str, float] = {}
    a = start_epoch + offset_s + t0
    b = start_epoch + offset_s + t1
    while a < b:
        day_end = (a // 86400 + 1) * 86400
        seg = min(b, day_end) - a
        d = _local_day(0.0, 0.0, a)
        out[d] = out.get(d, 0.0) + seg
        a += seg
    return out


def _local_day(start_epoch: float, offset_s: float, t: float) -> str:
    """The local calendar day (ISO date) of stream time ``t``."""
    return (date(1970, 1, 1) + timedelta(days=int((start_epoch + offset_s + t) // 86400))).isoformat()


def latest_day(con: sqlite3.Connection) -> date:
    """The latest local calendar day with a session or an event (today when the history is empty)."""
    found = [date.fromisoformat(d) for (d,) in con.execute("SELECT MAX(day) FROM events") if d]
    row = con.execute("SELECT start_epoch, utc_offset_s, COALESCE(last_t, 0) FROM sessions "
                      "ORDER BY start_epoch + COALESCE(last_t, 0) DESC LIMIT 1").fetchone()
    if row:
        found.append(date.fromisoformat(_local_day(row[0], row[1], row[2])))
    return max(found) if found else date.today()


def daily_summary(con: sqlite3.Connection, days: int = 14, until: str | None = None) -> list[DayRow]:
    """Per-day counts, monitored and judged time, rates per judged hour, strengths and alert raises for the
    last ``days`` days.

    The range ends at ``until`` (ISO date), by default the latest day with data
    (or today when the history is empty).
    """
    end = date.fromisoformat(until) if until else latest_day(con)
    first = end - timedelta(days=days - 1)
    rows = {(first + timedelta(days=i)).isoformat(): DayRow((first + timedelta(days=i)).isoformat(),
                                                              alerts={})
            for i in range(days)}
    for start_epoch, off, t0, t1, judged in con.execute(
            "SELECT start_epoch, utc_offset_s, first_t, last_t, judged_s FROM sessions WHERE last_t IS NOT NULL"):
        t0 = t0 if t0 is not None else t1
        share = 1.0 if judged is None else (judged / (t1 - t0) if t1 > t0 else 0.0)
        for d, secs in _split_by_day(start_epoch, off, t0, t1).items():
            if d in rows:
                rows[d].monitored_s += secs
                rows[d].judged_s += secs * share
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


def _days_on(start_epoch: float, offset_s: float, t0: float, t1: float) -> set[str]:
    """Local calendar days of the stretch ``[t0, t1)`` (stream time): the day of ``t0`` always (a stretch
    may last no time), a day beginning at ``t1`` never (a rule cleared at midnight was not on that day)."""
    return set(_split_by_day(start_epoch, offset_s, t0, t1)) | {_local_day(start_epoch, offset_s, t0)}


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
            out |= _days_on(ep, off, on.pop(sid), t)
    for sid, t0 in on.items():  # still on when the session ended
        ep, off, last = sessions[sid]
        out |= _days_on(ep, off, t0, max(last or t0, t0))
    return out


def fingerprint(path: str | os.PathLike) -> str:
    """The content fingerprint of a recording file (SHA-256 of its bytes, read in 1 MiB chunks): the same
    samples under another name or path are the same recording."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


@dataclass
class Replaced:
    """An earlier session of the same recording, removed from the history for the new one."""

    session_id: int
    name: str
    opened_at: str
    twitches: int

    def describe(self, path: str | os.PathLike) -> str:
        return (f"history {path}: this recording was already there (session {self.session_id} '{self.name}', "
                f"stored {self.opened_at}, {self.twitches} twitches): replaced, not counted twice")


def replace_earlier(con: sqlite3.Connection, fp: str, new_id: int) -> list[Replaced]:
    """Remove the earlier sessions with fingerprint ``fp`` (their events and alert changes) for session
    ``new_id``; the wearer's markers on them move to the new session (nothing a user recorded is lost).
    The caller commits."""
    old = con.execute("SELECT id, name, opened_at FROM sessions WHERE fingerprint = ? AND id != ? ORDER BY id",
                      (fp, new_id)).fetchall()
    has_markers = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'markers'").fetchone()
    out = []
    for sid, name, opened in old:
        (n,) = con.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (sid,)).fetchone()
        out.append(Replaced(sid, name, opened, n))
        con.execute("DELETE FROM events WHERE session_id = ?", (sid,))
        con.execute("DELETE FROM alerts WHERE session_id = ?", (sid,))
        if has_markers:
            con.execute("UPDATE markers SET session_id = ? WHERE session_id = ?", (new_id, sid))
        con.execute("DELETE FROM sessions WHERE id = ?", (sid,))
    return out


def known_days(con: sqlite3.Connection, rule_names: list[str]) -> dict[str, set[int]]:
    """Per rule name, the calendar day ordinals on which it was raised (:func:`days_met`): what an
    :class:`~twitchsense.alerts.AlertEngine` counts for its days rules (``known_days``)."""
    return {r: {date.fromisoformat(d).toordinal() for d in days_met(con, r)} for r in rule_names}


EXPORT_COLUMNS = ("day", "sessions", "monitored_h", "judged_h", "twitches", "rate_per_judged_h",
                  "mean_peak_g", "max_peak_g", "alerts_raised")


def export_days(con: sqlite3.Connection, path: str | os.PathLike, days: int, until: str | None = None) -> int:
    """Write the per-day summary (:func:`daily_summary`) to a CSV file; returns the rows written.
    Rates are per judged hour (``judged_h``; per monitored hour for sessions stored without judged time)."""
    rows = daily_summary(con, days, until)

    def num(x: float | None, digits: int) -> str:
        return "" if x is None else f"{x:.{digits}f}"

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(EXPORT_COLUMNS)
        for r in rows:
            w.writerow([r.day, r.sessions, num(r.monitored_s / 3600, 3), num(r.judged_s / 3600, 3), r.twitches,
                        num(r.rate_per_hour, 2), num(r.mean_peak_g, 3), num(r.max_peak_g, 3),
                        " ".join(f"{lvl}:{n}" for lvl, n in sorted((r.alerts or {}).items()))])
    return len(rows)
