""""I felt a twitch": markers pressed in the live views or on the board, stored and checked against the detections.

A :class:`MarkerSink` rides the live pipeline: it knows the stream time, and
:meth:`MarkerSink.press` (the web page's button, the terminal's ``m`` key) records
a marker at that moment; the board's button arrives through the pipeline already
placed in time (:meth:`MarkerSink.on_markers`). Both are recorded the same way:
to ``NAME.events.csv`` of the recording being written (``label=felt``) and to the
history's ``markers`` table, and shown by the live views. :func:`marker_agreement`
is the wearer's own check of the detector: how many markers have a detection
within 2 s, and how many detections have no marker.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..io.sessionclock import SessionClock
from ..types import Marker, SampleBlock
from .labels import FELT, edit_labels

#: A marker and a detection this close (s, to the detection's span) belong together.
MATCH_S = 2.0

MARKERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS markers (
    id INTEGER PRIMARY KEY,
    session_id INTEGER REFERENCES sessions(id),
    t REAL NOT NULL,                   -- stream time of the press
    time TEXT NOT NULL DEFAULT '',     -- local ISO time with offset, when the start is known
    day TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT ''    -- web, key, board
);
CREATE INDEX IF NOT EXISTS markers_session ON markers(session_id);
"""


def ensure_markers_table(con: sqlite3.Connection) -> None:
    con.executescript(MARKERS_SCHEMA)


def marker_agreement(markers: Sequence[float], onsets: Sequence[float], ends: Sequence[float] | None = None,
                     within_s: float = MATCH_S) -> dict:
    """``markers``, ``with_detection`` (a detection within ``within_s``), ``detections``, ``without_marker``."""
    m = np.sort(np.asarray(markers, float))
    on = np.asarray(onsets, float)
    en = np.asarray(ends if ends is not None else onsets, float)
    if m.size and on.size:
        # markers are few (a press each): a markers x detections table is small
        near = (m[:, None] >= on[None, :] - within_s) & (m[:, None] <= en[None, :] + within_s)
        with_det = int(near.any(axis=1).sum())
        without = int((~near.any(axis=0)).sum())
    else:
        with_det, without = 0, int(on.size)
    return {"markers": int(m.size), "with_detection": with_det, "detections": int(on.size),
            "without_marker": without, "within_s": within_s}


def split_markers(labels):
    """``(labels without markers, marker onsets)``: markers are the wearer's presses, not labels of time."""
    if labels is None or not len(labels):
        return labels, np.zeros(0)
    felt = (labels["label"] == FELT).to_numpy()
    return labels[~felt].reset_index(drop=True), labels["onset"].to_numpy(float)[felt]


def add_agreement(total: dict, markers: Sequence[float], events: Sequence) -> dict:
    """``total`` plus one recording's :func:`marker_agreement` (recordings without markers add nothing)."""
    if not len(markers):
        return total
    a = marker_agreement(markers, [e.onset for e in events], [e.onset + e.duration for e in events])
    return {k: (total.get(k, 0) + v if k != "within_s" else v) for k, v in a.items()}


def describe_agreement(a: dict) -> str:
    """One line: ``markers (felt): 5, 4 with a detection within 2 s; detections without a marker: 7 of 12``."""
    return (f"markers (felt): {a['markers']}, {a['with_detection']} with a detection within "
            f"{a['within_s']:g} s; detections without a marker: {a['without_marker']} of {a['detections']}")


class MarkerSink:
    """A pipeline sink that records markers: presses at the current stream time, and the source's markers.

    labels_path : ``NAME.events.csv`` of the recording being written (``--record``), or None.
    history : the session's :class:`~twitchsense.history.HistorySink`, or None.
    listeners : called with each :class:`Marker` (the web page, the terminal view).
    """

    def __init__(self, clock: SessionClock | None = None, labels_path: Path | None = None,
                 history=None, listeners: Sequence[Callable[[Marker], None]] = ()) -> None:
        self.clock = clock or SessionClock()
        self.labels_path = Path(labels_path) if labels_path is not None else None
        self.history = history
        self.listeners = list(listeners)
        self.now: float | None = None
        self.markers: list[Marker] = []
        self._pending: list[Marker] = []
        self._lock = threading.Lock()
        self._con: sqlite3.Connection | None = None

    def on_samples(self, block: SampleBlock) -> None:
        if len(block):
            self.now = float(block.t[-1])
            if self._pending and self.history is not None and self.history.session_id is not None:
                with self._lock:
                    self._store(self._pending)
                    self._pending = []

    def on_tick(self, now: float) -> None:
        if self.now is not None:
            self.now = max(self.now, now)

    def press(self, source: str = "web") -> Marker | None:
        """Record a marker now; None before the first sample (no stream time yet)."""
        if self.now is None:
            return None
        return self.record(Marker(self.now, source))

    def on_markers(self, markers: list[Marker]) -> None:
        """Markers the source sent (the board's button), already on the stream's time base."""
        for m in markers:
            self.record(m)

    def record(self, m: Marker) -> Marker:
        """Store ``m`` (with its local time) and show it to the listeners."""
        m = Marker(m.t, m.source, self.clock.iso(m.t))
        with self._lock:
            self.markers.append(m)
            if self.labels_path is not None:
                edit_labels(self.labels_path, add=[{"onset": m.t, "duration": 0.0, "label": FELT,
                                                    "note": f"marker ({m.source})"}])
            if self.history is not None:
                if self.history.session_id is None:
                    self._pending.append(m)
                else:
                    self._store([m])
        for fn in self.listeners:
            fn(m)
        return m

    def _store(self, markers: list[Marker]) -> None:
        from ..history import connect
        if self._con is None:
            self._con = connect(self.history.path)
            ensure_markers_table(self._con)
        self._con.executemany(
            "INSERT INTO markers (session_id, t, time, day, source) VALUES (?, ?, ?, ?, ?)",
            [(self.history.session_id, m.t, m.time or "", self.clock.date(m.t), m.source) for m in markers])
        self._con.commit()

    def close(self) -> None:
        with self._lock:
            if self._pending and self.history is not None and self.history.session_id is not None:
                self._store(self._pending)
            if self._con is not None:
                self._con.close()
                self._con = None


class TerminalKeys:
    """Reads single keys from a terminal while the live view runs: ``m`` presses the marker.

    Only on a TTY stdin (POSIX); the terminal's mode is restored on :meth:`close`.
    """

    def __init__(self, on_key: dict[str, Callable[[], object]], stream=None) -> None:
        self.on_key = on_key
        self.stream = stream or sys.stdin
        self._stop = threading.Event()
        self._saved = None
        self._thread: threading.Thread | None = None

    @staticmethod
    def available(stream=None) -> bool:
        stream = stream or sys.stdin
        try:
            import termios  # noqa: F401
            return stream.isatty()
        except (ImportError, AttributeError, ValueError):
            return False

    def start(self) -> "TerminalKeys":
        import termios
        import tty
        fd = self.stream.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._loop, name="terminal-keys", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        import os
        import select
        fd = self.stream.fileno()
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                key = os.read(fd, 1).decode("utf-8", "replace")
                action = self.on_key.get(key.lower())
                if action is not None:
                    action()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
        if self._saved is not None:
            import termios
            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
