"""The history sink: the session, its events and alert changes into the SQLite history
(:mod:`twitchsense.history`).

It commits at least every ``commit_interval_s`` (0.5 s, also from a background
thread when nothing new arrives), so a crash loses at most the last second.
Link events are not history. SQL is always parameterised.

The file is created with the session's first samples or events, so a session that
fails before it starts leaves no history. A write that fails (the file locked by
another program for longer than ``busy_timeout_s``, a full disk) raises to the
pipeline, which reports it; what was not committed is committed with a later write.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

from ...errors import TwitchsenseError
from ...history import Replaced, connect, default_db_path, replace_earlier
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
    fingerprint : the recording's content fingerprint (:func:`twitchsense.history.fingerprint`; None for
        a live board): an earlier session of the same recording is replaced, and listed in :attr:`replaced`.
    judged : returns the seconds the detector has judged so far (its running total); stored
        with the session so rates are per judged hour. Asked on the pipeline's thread only.
    commit_interval_s : longest time a row waits uncommitted.
    busy_timeout_s : how long a write waits for another program's lock on the file (the
        pipeline waits meanwhile, so it is short).
    """

    def __init__(self, path: str | os.PathLike | None = None, meta: dict | None = None, name: str = "",
                 source: str = "", commit_interval_s: float = 0.5, busy_timeout_s: float = 2.0,
                 fingerprint: str | None = None, judged: Callable[[], float] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.label = f"history {self.path}"
        self.meta = meta if meta is not None else {}
        self.name, self.source = name, source
        self.fingerprint = fingerprint
        self.judged = judged
        self._judged_s: float | None = None
        self._judged_at = -math.inf
        self.replaced: list[Replaced] = []
        self.clock = SessionClock()
        self.session_id: int | None = None
        self.busy_timeout_s = busy_timeout_s
        # an existing file is opened (and checked) now; a new one is created with the first write
        self.con: sqlite3.Connection | None = connect(self.path, timeout_s=busy_timeout_s) \
            if self.path.exists() else None
        self.commit_interval_s = commit_interval_s
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._dirty = False
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._events: list[TwitchEvent] = []  # not yet in the database
        self._alerts: list[Alert] = []
        self._last_commit = time.monotonic()
        self._retry_at = -math.inf  # after a failed write, the next try waits (a lock blocks the pipeline)
        self._thread = threading.Thread(target=self._commit_loop, name="history-commit", daemon=True)
        self._thread.start()

    def _open_session(self) -> int:
        """The session's row, written on first use (caller holds the lock)."""
        if self.con is None:
            self.con = connect(self.path, timeout_s=self.busy_timeout_s)
        if self.session_id is None:
            start = self.meta.get("start_time") or datetime.now().astimezone().isoformat(timespec="milliseconds")
            self.clock.set_start(start)
            cur = self.con.execute(
                "INSERT INTO sessions (name, source, start_time, start_epoch, utc_offset_s, meta, opened_at,"
                " fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.name or str(self.meta.get("session") or self.source or "session"), self.source, str(start),
                 self.clock.epoch_offset, self.clock.utc_offset_s, json.dumps(dict(self.meta), default=str),
                 datetime.now().astimezone().isoformat(timespec="seconds"), self.fingerprint))
            self.session_id = int(cur.lastrowid)  # type: ignore[arg-type]
            if self.fingerprint:
                self.replaced = replace_earlier(self.con, self.fingerprint, self.session_id)
            self.con.commit()
        return self.session_id

    def _commit_loop(self) -> None:
        while not self._closed.wait(self.commit_interval_s):
            try:
                self.commit()
            except (sqlite3.Error, TwitchsenseError):
                pass  # locked or full: the rows wait; the pipeline's next write reports it

    def commit(self) -> None:
        """Write and commit what is pending now."""
        with self._lock:
            if not self._closed.is_set() and self._dirty:
                self._write(commit=True)

    def _write(self, commit: bool) -> None:
        """Write the pending rows (and commit when asked or due); caller holds the lock.

        After a failure the next try waits ``commit_interval_s``, so a file locked for minutes
        costs the pipeline one short wait per interval, not one per block.
        """
        now = time.monotonic()
        if now < self._retry_at:
            return
        try:
            sid = self._open_session()
            if self._events:
                self.con.executemany(  # type: ignore[union-attr]
                    "INSERT INTO events (session_id, onset, duration, peak_g, confidence, kind, context, day)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sid, e.onset, e.duration, e.peak_g, e.confidence, e.kind, e.context,
                      self.clock.date(e.onset)) for e in self._events])
                self._events.clear()
            if self._alerts:
                self.con.executemany(  # type: ignore[union-attr]
                    'INSERT INTO alerts (session_id, time, start, "end", level, rule, change, detail, guidance,'
                    " fault, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(sid, a.end, a.start, a.end, a.level, a.rule, getattr(a, "change", "raised"),
                      a.detail, getattr(a, "guidance", ""), int(bool(getattr(a, "fault", False))),
                      self.clock.date(a.end)) for a in self._alerts])
                self._alerts.clear()
            if commit or now - self._last_commit >= self.commit_interval_s:
                if self._last_t is not None:
                    self.con.execute("UPDATE sessions SET first_t = ?, last_t = ?, judged_s = ? "  # type: ignore
                                     "WHERE id = ?", (self._first_t, self._last_t, self._judged_s, sid))
                self.con.commit()  # type: ignore[union-attr]
                self._dirty = False
                self._last_commit = now
        except (sqlite3.Error, TwitchsenseError):
            self._retry_at = now + self.commit_interval_s
            raise

    def _note_t(self, t: float) -> None:
        if self._first_t is None:
            self._first_t = t
        self._last_t = t if self._last_t is None else max(self._last_t, t)

    def on_samples(self, block: SampleBlock) -> None:
        if len(block):
            self.note_span(float(block.t[0]), float(block.t[-1]))

    def note_span(self, first_t: float, last_t: float) -> None:
        """Samples from ``first_t`` to ``last_t`` (stream seconds) were seen (a batch run gives the whole
        recording's span at once)."""
        with self._lock:
            if self._first_t is None:
                self._first_t = first_t
            self._note_t(last_t)
            self._ask_judged(force=False)
            self._dirty = True
            self._write(commit=False)

    def _ask_judged(self, force: bool) -> None:
        """Ask ``judged`` at most every 10 s, and at the end."""
        now = time.monotonic()
        if self.judged is not None and (force or now - self._judged_at >= 10.0):
            self._judged_s, self._judged_at = float(self.judged()), now

    def flush(self) -> None:
        """End of the stream (the pipeline's thread): the final judged time."""
        with self._lock:
            self._ask_judged(force=True)
            self._dirty = True

    def on_events(self, events: list[TwitchEvent]) -> None:
        if not events:
            return
        with self._lock:
            self._events += events
            for e in events:
                self._note_t(e.onset + e.duration)
            self._dirty = True
            self._write(commit=False)

    def on_alerts(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        with self._lock:
            self._alerts += alerts
            self._dirty = True
            self._write(commit=False)

    def close(self) -> None:
        if self._closed.is_set():
            return
        try:
            with self._lock:
                self._closed.set()
                if self._dirty or self.session_id is not None:
                    self._retry_at = -math.inf  # the last chance
                    self._write(commit=True)
                    self.con.execute("UPDATE sessions SET closed_at = ? WHERE id = ?",  # type: ignore[union-attr]
                                     (datetime.now().astimezone().isoformat(timespec="seconds"), self.session_id))
                    self.con.commit()  # type: ignore[union-attr]
        finally:
            self._thread.join(timeout=2)
            if self.con is not None:
                self.con.close()
