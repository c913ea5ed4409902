"""What the Home and Session pages show, read from the history database (parameterised SQL only).

Rates are per *judged* hour when the history records judged time (a ``judged_s``
column of ``sessions``, see the real-life issue), else per hour with data; every
figure says which (:attr:`HomeData.basis`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import numpy as np

from ..history import _split_by_day, days_met

JUDGED_COLUMNS = ("judged_s",)
BASIS_JUDGED = "per judged hour"
BASIS_DATA = "per hour with data (this history records no judged time)"


def local_time(epoch: float, offset_s: float, t: float = 0.0, seconds: bool = True) -> str:
    """``2026-03-01 14:05:09 +01:00``: local time of stream time ``t`` with its UTC offset."""
    dt = datetime.fromtimestamp(epoch + t, timezone(timedelta(seconds=offset_s)))
    text = dt.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    sign = "+" if offset_s >= 0 else "-"
    h, m = divmod(int(abs(offset_s)) // 60, 60)
    return f"{text} {sign}{h:02d}:{m:02d}"


def judged_column(con: sqlite3.Connection) -> str | None:
    """The sessions column holding judged seconds, when this history has one with any judged time in it
    (every history has the column since judged time is stored; sessions stored without it hold NULL)."""
    cols = {row[1] for row in con.execute("PRAGMA table_info(sessions)")}
    col = next((c for c in JUDGED_COLUMNS if c in cols), None)
    if col is None or con.execute(f"SELECT 1 FROM sessions WHERE {col} IS NOT NULL LIMIT 1").fetchone() is None:
        return None  # col: a name from JUDGED_COLUMNS, never user input
    return col


@dataclass
class SessionRow:
    id: int
    name: str
    source: str
    start: str
    duration_s: float
    hours: float  # judged hours, or hours with data
    twitches: int
    alerts: dict[str, int]
    epoch: float
    offset_s: float

    @property
    def rate_per_hour(self) -> float | None:
        return self.twitches / self.hours if self.hours > 0 else None


@dataclass
class DayCell:
    day: str
    hours: float = 0.0
    twitches: int = 0
    alerts: int = 0
    level: int = -1  # colour: -1 no data, 0 no twitches, 1-4 up to each bound of HomeData.scale

    @property
    def rate_per_hour(self) -> float | None:
        return self.twitches / self.hours if self.hours > 0 else None


@dataclass
class HomeData:
    basis: str
    judged: bool
    sessions: list[SessionRow]
    days: list[DayCell]
    weeks: list[dict]
    since: list[dict]
    totals: dict = field(default_factory=dict)
    scale: list[float] = field(default_factory=list)  # upper rate bounds of colour levels 1-4 (/h)
    months: list[str] = field(default_factory=list)   # month label above each calendar week, or ""


def _sessions(con: sqlite3.Connection, judged: str | None) -> list[tuple]:
    col = f", {judged}" if judged else ", NULL"  # a column name from JUDGED_COLUMNS, never user input
    return con.execute("SELECT id, name, source, start_epoch, utc_offset_s, first_t, last_t" + col +
                       " FROM sessions ORDER BY start_epoch + COALESCE(first_t, 0), id").fetchall()


def home_data(con: sqlite3.Connection, rule_names: list[str] | None = None) -> HomeData:
    """Sessions, calendar days, weekly trend and "since when" of the whole history."""
    judged = judged_column(con)
    counts = dict(con.execute("SELECT session_id, COUNT(*) FROM events GROUP BY session_id").fetchall())
    raised: dict[int, dict[str, int]] = defaultdict(dict)
    for sid, level, n in con.execute("SELECT session_id, level, COUNT(*) FROM alerts WHERE change = 'raised' "
                                     "AND fault = 0 GROUP BY session_id, level"):
        raised[sid][level] = n
    sessions: list[SessionRow] = []
    days: dict[str, DayCell] = {}
    for sid, name, source, epoch, off, t0, t1, judged_s in _sessions(con, judged):
        t0 = t0 if t0 is not None else (t1 or 0.0)
        t1 = t1 if t1 is not None else t0
        span = max(t1 - t0, 0.0)
        hours_s = float(judged_s) if judged_s is not None else span
        sessions.append(SessionRow(sid, name, source, local_time(epoch, off, t0, seconds=False), span,
                                   hours_s / 3600.0, counts.get(sid, 0), raised.get(sid, {}), epoch, off))
        share = hours_s / span if span > 0 else 0.0
        for d, secs in _split_by_day(epoch, off, t0, t1).items():
            days.setdefault(d, DayCell(d)).hours += secs * share / 3600.0
    for d, n in con.execute("SELECT day, COUNT(*) FROM events GROUP BY day"):
        days.setdefault(d, DayCell(d)).twitches = n
    for d, n in con.execute("SELECT day, COUNT(*) FROM alerts WHERE change = 'raised' AND fault = 0 GROUP BY day"):
        days.setdefault(d, DayCell(d)).alerts = n
    dated = sorted(d for d in days if _is_date(d))
    cells = _calendar(days, dated)
    scale = colour_scale(cells)
    weeks = _weeks(cells)
    since = []
    names = rule_names if rule_names is not None else \
        [r for (r,) in con.execute("SELECT DISTINCT rule FROM alerts WHERE fault = 0 ORDER BY rule")]
    for rule in names:
        met = sorted(days_met(con, rule))
        if met:
            since.append({"rule": rule, "first": met[0], "last": met[-1], "days": len(met)})
    totals = {"sessions": len(sessions), "hours": sum(s.hours for s in sessions),
              "twitches": sum(s.twitches for s in sessions)}
    months = [date.fromisoformat(cells[i].day).strftime("%b") if i == 0 or
              date.fromisoformat(cells[i].day).month != date.fromisoformat(cells[i - 7].day).month else ""
              for i in range(0, len(cells), 7)]
    return HomeData(BASIS_JUDGED if judged else BASIS_DATA, judged is not None, sessions, cells, weeks, since,
                    totals, scale, months)


#: Days with less data than this (h) are coloured but do not set the colour scale.
SCALE_MIN_HOURS = 1.0


def colour_scale(cells: list[DayCell]) -> list[float]:
    """Four rate bounds (/h) up to the 95th percentile of the days with at least an hour of data.

    A short session's extreme rate would otherwise leave every other day pale. Sets each
    cell's ``level``: -1 no data, 0 no twitches, 1-4 by bound (above the last bound: 4).
    """
    rates = [c.rate_per_hour for c in cells if c.hours >= SCALE_MIN_HOURS] or \
        [c.rate_per_hour for c in cells if c.hours > 0]
    top = float(np.percentile([r for r in rates if r is not None], 95)) if rates else 0.0
    bounds = [top * k / 4 for k in (1, 2, 3, 4)] if top > 0 else [1.0, 2.0, 3.0, 4.0]
    for c in cells:
        r = c.rate_per_hour
        c.level = -1 if r is None else 0 if c.twitches == 0 else min(1 + int(np.searchsorted(bounds, r)), 4)
    return bounds


def _is_date(d: str) -> bool:
    try:
        date.fromisoformat(d)
    except ValueError:
        return False
    return True


def _calendar(days: dict[str, DayCell], dated: list[str]) -> list[DayCell]:
    """Every day from the Monday before the first day with data to the latest one (at most 2 years)."""
    if not dated:
        return []
    last = date.fromisoformat(dated[-1])
    first = max(date.fromisoformat(dated[0]), last - timedelta(days=730))
    first -= timedelta(days=first.weekday())
    n = (last - first).days + 1
    return [days.get(d, DayCell(d)) for d in ((first + timedelta(days=i)).isoformat() for i in range(n))]


def _weeks(cells: list[DayCell]) -> list[dict]:
    """Per ISO week (Monday first): hours, twitches, rate per hour."""
    out: list[dict] = []
    for i in range(0, len(cells), 7):
        week = cells[i:i + 7]
        h = sum(c.hours for c in week)
        n = sum(c.twitches for c in week)
        out.append({"week": week[0].day, "hours": h, "twitches": n, "rate": n / h if h > 0 else None})
    return out


def session_data(con: sqlite3.Connection, sid: int) -> dict | None:
    """One session: its row, events, alert changes and markers (None when there is no such session)."""
    judged = judged_column(con)
    row = con.execute("SELECT id, name, source, start_time, start_epoch, utc_offset_s, first_t, last_t, meta"
                      + (f", {judged}" if judged else ", NULL") + " FROM sessions WHERE id = ?", (sid,)).fetchone()
    if row is None:
        return None
    _, name, source, start_time, epoch, off, t0, t1, meta, judged_s = row
    events = con.execute("SELECT onset, duration, peak_g, confidence, kind, context FROM events "
                         "WHERE session_id = ? ORDER BY onset", (sid,)).fetchall()
    alerts = con.execute('SELECT time, start, "end", level, rule, change, detail, guidance, fault FROM alerts '
                         "WHERE session_id = ? ORDER BY time, id", (sid,)).fetchall()
    has_markers = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'markers'").fetchone()
    markers = con.execute("SELECT t, source FROM markers WHERE session_id = ? ORDER BY t", (sid,)).fetchall() \
        if has_markers else []
    t0 = t0 if t0 is not None else 0.0
    t1 = t1 if t1 is not None else t0
    span = max(t1 - t0, 0.0)
    try:
        meta = json.loads(meta or "{}")
    except json.JSONDecodeError:
        meta = {}
    return {
        "id": sid, "name": name, "source": source, "start_time": start_time, "epoch": epoch, "offset_s": off,
        "first_t": t0, "last_t": t1, "duration_s": span, "meta": meta if isinstance(meta, dict) else {},
        "judged": judged_s is not None, "hours": (float(judged_s) if judged_s is not None else span) / 3600.0,
        "start": local_time(epoch, off, t0),
        "events": [dict(zip(("onset", "duration", "peak_g", "confidence", "kind", "context"), e)) for e in events],
        "alerts": [dict(zip(("time", "start", "end", "level", "rule", "change", "detail", "guidance", "fault"), a),
                        when=local_time(epoch, off, a[0])) for a in alerts],
        "markers": [{"t": t, "source": s, "when": local_time(epoch, off, t)} for t, s in markers],
    }
