"""The Live page's sink: the pipeline's samples, events, alerts and link health, made small for a browser.

:class:`LiveHub` is a pipeline sink. Samples are kept as they come and decimated when
a page asks (ten times a second) to :data:`DISPLAY_HZ` buckets per second of stream
time, each sent as its minimum and maximum (so a 20 ms twitch in a 1000 Hz stream
still shows); the trace is kept for the last
:data:`KEEP_S` seconds; events, alert changes, link events and markers are kept
in a short log. The web server reads it from other threads (:meth:`since`).

Events carry a ``status`` (``provisional``, ``confirmed``, ``retracted``) and an ``id``: the page
shows a possible twitch at once and its verdict in its place; counts are of confirmed events.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from ..io.sessionclock import SessionClock
from ..live.sinks import alert_record, event_record, link_record
from ..types import Alert, LinkEvent, SampleBlock, TwitchEvent

#: Display buckets per second, each sent as (min, max): 2 x 50 points/s per channel at any input rate.
DISPLAY_HZ = 50.0
#: Seconds of trace kept for a page that connects.
KEEP_S = 30.0
#: Messages (events, alerts...) kept for a page that connects.
KEEP_MESSAGES = 200
QUIET_LINK_KINDS = {"info", "status", "log", "reconnected"}


@dataclass
class TraceChunk:
    seq: int
    t: np.ndarray       # (2k,) bucket times (each twice: min, then max)
    v: np.ndarray       # (2k, 4): ax, ay, az, |a| minus 1 g


class LiveHub:
    """Collects what the live page shows. Thread-safe: the pipeline writes, the server reads."""

    #: the pipeline hands this sink provisional events and verdicts too
    provisional = True

    def __init__(self, clock: SessionClock | None = None, session: str = "", meta: dict | None = None) -> None:
        self.clock = clock or SessionClock(meta=meta)
        self.session = session
        self.meta = meta if meta is not None else {}
        self.seq = 0
        self.trace: deque[TraceChunk] = deque()
        self.messages: deque[tuple[int, dict]] = deque(maxlen=KEEP_MESSAGES)
        self.active: dict[str, dict] = {}
        self.link_counts: Counter[str] = Counter()
        self.n_samples = 0
        self.n_events = 0
        self.now: float | None = None
        self.first: tuple[float, float] | None = None  # (stream t, wall time) of the first sample
        self.last_sample_wall: float | None = None
        self.closed = False
        self.rate = None  # a callable: the alert engine's rate against the healthy range (dict with "text")
        self._rate_window: deque[tuple[float, int]] = deque(maxlen=50)
        self._raw: list[tuple[np.ndarray, np.ndarray]] = []
        self._raw_seq = 0
        self._rest_t = np.zeros(0)
        self._rest_v = np.zeros((0, 4))
        self._lock = threading.Lock()
        self.marker = None  # a MarkerSink, when markers can be recorded

    # ---- pipeline side ---------------------------------------------------------------
    def on_samples(self, block: SampleBlock) -> None:
        """Keep the block (cheap: a board sends a hundred a second); :meth:`since` decimates them."""
        n = len(block)
        if not n:
            return
        wall = time.time()
        with self._lock:
            if self.first is None:
                self.first = (float(block.t[0]), wall)
            self.n_samples += n
            self.now = float(block.t[-1]) if self.now is None else max(self.now, float(block.t[-1]))
            self.last_sample_wall = wall
            self._rate_window.append((wall, self.n_samples))
            self._raw.append((block.t, block.acc))
            self.seq += 1
            self._raw_seq = self.seq
            if len(self._raw) > 2000:  # nobody reads: decimate now so memory stays bounded
                self._decimate_locked()

    def _decimate_locked(self) -> None:
        """The kept blocks as trace chunks: min and max of each 1 / DISPLAY_HZ s of stream time."""
        if not self._raw:
            return
        t = np.concatenate([self._rest_t] + [b[0] for b in self._raw])
        acc = np.concatenate([self._rest_v[:, :3]] + [b[1] for b in self._raw])
        self._raw.clear()
        v = np.empty((t.size, 4))
        v[:, :3] = acc
        v[:, 3] = np.sqrt(np.einsum("ij,ij->i", acc, acc)) - 1.0
        # the last bucket may go on in the next block: it waits
        bucket = np.floor(t * DISPLAY_HZ)
        starts = np.concatenate([[0], np.flatnonzero(np.diff(bucket)) + 1])
        cut = int(starts[-1])
        self._rest_t, self._rest_v = t[cut:], v[cut:]
        if cut == 0:
            return
        done = starts[:-1]
        both_t = np.repeat(bucket[done] / DISPLAY_HZ, 2)
        both_v = np.empty((2 * len(done), 4))
        both_v[0::2] = np.minimum.reduceat(v[:cut], done, axis=0)
        both_v[1::2] = np.maximum.reduceat(v[:cut], done, axis=0)
        self.trace.append(TraceChunk(self._raw_seq, both_t, both_v))
        while self.trace and self.trace[0].t[-1] < self.now - KEEP_S:
            self.trace.popleft()

    def _rate_hz_locked(self) -> float | None:
        if len(self._rate_window) > 1:
            (w0, n0), (w1, n1) = self._rate_window[0], self._rate_window[-1]
            if w1 > w0 and n1 > n0:
                return (n1 - n0) / (w1 - w0)
        rate = self.meta.get("sample_rate_hz")
        return float(rate) if rate else None

    def _post(self, record: dict) -> None:
        with self._lock:
            self.seq += 1
            self.messages.append((self.seq, record))

    def on_events(self, events: list[TwitchEvent]) -> None:
        for e in events:
            rec = event_record(e, self.clock)
            rec["seen_wall"] = time.time()
            if e.status == "confirmed":
                self.n_events += 1
            self._post(rec)

    def on_alerts(self, alerts: list[Alert]) -> None:
        for a in alerts:
            rec = alert_record(a, self.clock)
            with self._lock:
                if getattr(a, "change", "raised") == "cleared":
                    self.active.pop(a.rule, None)
                else:
                    self.active[a.rule] = rec
            self._post(rec)

    def on_link(self, event: LinkEvent) -> None:
        with self._lock:
            self.link_counts[event.kind] += event.count
        if event.kind != "status":
            self._post(link_record(event, self.clock))

    def on_tick(self, now: float) -> None:
        pass

    def on_marker(self, marker) -> None:
        self._post({"type": "marker", "t": round(marker.t, 3), "source": marker.source, "time": marker.time})

    def close(self) -> None:
        with self._lock:
            self.closed = True
            self.seq += 1

    # ---- server side -----------------------------------------------------------------
    def status(self) -> dict:
        """Link health and counts, as the page shows them."""
        with self._lock:
            ago = time.time() - self.last_sample_wall if self.last_sample_wall else None
            problems = {k: v for k, v in self.link_counts.items() if k not in QUIET_LINK_KINDS}
            return {"type": "status", "now": self.now, "samples": self.n_samples, "twitches": self.n_events,
                    "rate_hz": self._rate_hz_locked(), "last_sample_ago_s": ago, "problems": problems,
                    "active": sorted(self.active.values(), key=lambda r: (r["level"] != "alert",
                                                                          r["level"] != "warning", r["rule"])),
                    "first": self.first, "closed": self.closed, "session": self.session,
                    "start_epoch": self.clock.epoch_offset if self.clock.known else None,
                    "utc_offset_s": self.clock.utc_offset_s if self.clock.known else None,
                    "markers": self.marker is not None, "rate": self.rate() if self.rate is not None else None}

    def since(self, seq: int) -> tuple[int, dict | None, list[dict]]:
        """What came after ``seq``: ``(new seq, trace as columns or None, messages)``."""
        with self._lock:
            self._decimate_locked()
            chunks = [c for c in self.trace if c.seq > seq]
            msgs = [m for s, m in self.messages if s > seq]
            new = self.seq
        trace = None
        if chunks:
            t = np.concatenate([c.t for c in chunks])
            v = np.concatenate([c.v for c in chunks])
            trace = {"t": np.round(t, 3).tolist(), **{k: np.round(v[:, j], 4).tolist()
                                                       for j, k in enumerate(("x", "y", "z", "m"))}}
        return new, trace, msgs
