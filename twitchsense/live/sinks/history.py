"""The history sink: the session, its events and alert changes into the SQLite history
(:mod:`twitchsense.history`).

It commits at least every ``commit_interval_s`` (0.5 s, also from a background
thread when nothing new arrives), so a crash loses at most the last second.
Link events are not history. SQL is always parameterised.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path

from ...history import connect, default_db_path
from ...io.sessionclock import SessionClock
from ...types import Alert, SampleBlock, TwitchEvent
from . import SinkBase


class HistorySink(SinkBase):
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
