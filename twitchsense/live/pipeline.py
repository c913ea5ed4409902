"""The one live pipeline: a source feeds the detector, the alert engine and every sink.

``stream`` (serial board or simulator) and ``replay`` (a recording) both run a
:class:`Pipeline`; the stages downstream of the source cannot tell the origins
apart. Times passed downstream are stream seconds (the recording's ``t``).

A session may run for days, so no sink can end it: an exception in a sink is
reported (a ``sink_error`` link event to the other sinks and the alert engine, and
a line on stderr, once per sink and kind of failure) and the sink keeps being fed
(a full disk or a locked database may recover). Closing closes the source and
every sink, each even when another's ``close`` fails.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Iterable

from ..clock import WALL_CLOCK, Clock
from ..stages import AlertStage, DetectorStage, Sink, Source
from ..types import Alert, LinkEvent, TwitchEvent, confirmed_only
from .sinks import SinkError


@dataclass
class PipelineSummary:
    """What one run moved: figures for the closing summary line."""

    samples: int = 0
    blocks: int = 0
    first_t: float | None = None
    last_t: float | None = None
    wall_s: float = 0.0
    events: int = 0
    alerts: int = 0
    link_counts: Counter = field(default_factory=Counter)
    lost_samples: int = 0
    markers: int = 0
    #: failed calls per sink (its label), reported or not
    sink_errors: Counter = field(default_factory=Counter)

    @property
    def stream_s(self) -> float:
        """Span of stream time covered, first to last sample (gaps included)."""
        if self.first_t is None or self.last_t is None:
            return 0.0
        return self.last_t - self.first_t


def sink_label(sink: object) -> str:
    """How a sink is named in messages: its ``label`` (e.g. ``--record out.csv``), else its class."""
    return str(getattr(sink, "label", "") or type(sink).__name__)


class Pipeline:
    """Feed every stage from ``source`` until it ends, ``stop`` is set or ``duration_s`` passes.

    Parameters
    ----------
    source : any :class:`~twitchsense.stages.Source` (serial board, replay, simulator).
    detector : optional streaming detector (``push``/``flush``).
    alerts : optional alert engine (``on_events``/``on_link``/``tick``).
    sinks : objects with any of ``on_samples``, ``on_events``, ``on_alerts``, ``on_link``, ``on_markers``,
        ``on_tick``, ``flush`` (at the end of the stream, before any sink closes) and ``close``. A sink
        gets confirmed events only, unless it says ``provisional = True``: then it also gets each
        event's provisional first word and a retraction (``status``, ``id``, ``reason``).
    clock : wall time for ``duration_s`` and the summary (the real clock by default).

    The pipeline owns the source and the sinks from the start: :meth:`close` (also at the end of
    :meth:`run`, or leaving a ``with`` block) closes them all, so a caller that fails while still
    setting up (loading a model, opening a board) leaves nothing open. A sink added to
    :attr:`sinks` is owned the same way.
    """

    def __init__(self, source: Source, detector: DetectorStage | None = None,
                 alerts: AlertStage | None = None, sinks: Iterable[Sink] = (), *,
                 clock: Clock = WALL_CLOCK) -> None:
        self.source = source
        self.detector = detector
        self.alerts = alerts
        self.sinks = list(sinks)
        self.clock = clock
        self.summary = PipelineSummary()
        self._reported: set[tuple[int, type]] = set()
        self._reports: list[LinkEvent] = []
        self._closed = self._source_closed = False

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, *args: object) -> None:
        for sink in self.sinks:
            self._call_one(sink, method, *args)

    def _call_one(self, sink: object, method: str, *args: object) -> None:
        fn = getattr(sink, method, None)
        if fn is not None:
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - no sink may end the session
                self._sink_failed(sink, exc)

    def _sink_failed(self, sink: object, exc: Exception) -> None:
        """Count a sink's failure; the first of its kind for that sink is reported."""
        label = sink_label(sink)
        self.summary.sink_errors[label] += 1
        key = (id(sink), type(exc))
        if key in self._reported:
            return
        self._reported.add(key)
        what = str(exc) if isinstance(exc, SinkError) else \
            f"{label} failed ({type(exc).__name__}: {exc}); the other outputs go on"
        print(f"twitchsense: {what}", file=sys.stderr, flush=True)
        self._reports.append(LinkEvent("sink_error", what, data={"sink": label}))

    def _report(self, now: float) -> None:
        """Hand the sink failures noted meanwhile to every sink and the alert engine."""
        while self._reports:
            self._emit_link(self._reports.pop(0), now)

    def _emit_events(self, events: list[TwitchEvent], now: float) -> None:
        """Provisional events and verdicts to the sinks that show them (``provisional = True``: the
        terminal, JSON lines, the web page); confirmed events alone to the others and the alert engine."""
        if not events:
            return
        confirmed = confirmed_only(events)
        self.summary.events += len(confirmed)
        for sink in self.sinks:
            mine = events if getattr(sink, "provisional", False) else confirmed
            if mine:
                self._call_one(sink, "on_events", mine)
        if self.alerts is not None and confirmed:
            self._emit_alerts(self.alerts.on_events(confirmed, now))

    def _context(self) -> None:
        """The detector's newly decided context to the alert engine (its judged time), where both can."""
        take = getattr(self.detector, "take_context", None)
        feed = getattr(self.alerts, "on_context", None)
        if take is not None and feed is not None:
            spans = take()
            if spans:
                feed(spans)

    def _emit_alerts(self, alerts: list[Alert]) -> None:
        if alerts:
            self.summary.alerts += len(alerts)
            self._call("on_alerts", alerts)

    def _emit_link(self, event: LinkEvent, now: float) -> None:
        self.summary.link_counts[event.kind] += event.count if event.kind == "lost_samples" else 1
        if event.kind == "lost_samples":
            self.summary.lost_samples += event.count
        self._call("on_link", event)
        if self.alerts is not None:
            self._emit_alerts(self.alerts.on_link(event, now))

    def run(self, stop: threading.Event | None = None, duration_s: float | None = None) -> PipelineSummary:
        """Run to the end of the source (or ``stop`` / ``duration_s`` wall seconds); close everything.

        Native thread pools (OpenMP, BLAS) are held to one thread meanwhile, as in batch
        ``detect``: the model scores a handful of windows per block, and a pool's threads
        spin-waiting for such tiny jobs cost 100 times the work itself on a busy machine.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return self._run(stop, duration_s)

    def _run(self, stop: threading.Event | None, duration_s: float | None) -> PipelineSummary:
        s = self.summary
        clock = self.clock
        start = clock.monotonic()
        last_sample_wall = start
        now = 0.0
        self._context()  # opens the detector's tap: the context of the first block reaches the alert engine too
        try:
            for item in self.source:
                wall = clock.monotonic()
                block = item.samples
                if len(block):
                    if s.first_t is None:
                        s.first_t = float(block.t[0])
                    s.last_t = float(block.t[-1])
                    # never backwards: a guess made while no samples came may have run ahead
                    now = s.last_t if s.blocks == 0 else max(now, s.last_t)
                    last_sample_wall = wall
                elif s.last_t is not None:
                    now = max(now, s.last_t + (wall - last_sample_wall))
                for ev in item.events:
                    self._emit_link(ev, ev.t if ev.t is not None else now)
                if len(block):
                    s.samples += len(block)
                    s.blocks += 1
                    self._call("on_samples", block)
                    feed = getattr(self.alerts, "on_samples", None)  # engines that watch samples (faults)
                    if feed is not None:
                        self._emit_alerts(feed(block.t, block.acc))
                    if self.detector is not None:
                        events = self.detector.push(block.t, block.acc)
                        self._context()
                        self._emit_events(events, now)
                if item.markers:  # the board's button: the same path as the web button and the m key
                    s.markers += len(item.markers)
                    self._call("on_markers", item.markers)
                if self.alerts is not None:
                    self._emit_alerts(self.alerts.tick(now))
                self._call("on_tick", now)  # optional: sinks that show time passing without samples
                self._report(now)
                if (stop is not None and stop.is_set()) or \
                        (duration_s is not None and wall - start >= duration_s):
                    break
        finally:
            s.wall_s = clock.monotonic() - start
            with ExitStack() as closing:  # each step runs even when one before it fails
                closing.callback(self.close)
                closing.callback(self._finish, now)
                closing.callback(self._close_source)
        return s

    def _finish(self, now: float) -> None:
        """End of the stream: the detector's last events, the alert engine's last changes, then every
        sink flushes what it holds, while the other sinks can still hear of a failure."""
        if self.detector is not None:
            events = self.detector.flush()
            self._context()
            self._emit_events(events, now)
        finish = getattr(self.alerts, "close", None)
        if finish is not None:
            self._emit_alerts(finish(now) or [])
        self._call("flush")
        self._report(now)

    def close(self) -> None:
        """Close the source and every sink, each even when another's ``close`` fails (one ExitStack);
        a failing ``close`` is reported on stderr. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with ExitStack() as closing:  # last in, first out: the source, then the sinks in order
            for sink in reversed(self.sinks):
                if getattr(sink, "close", None) is not None:
                    closing.callback(self._close_sink, sink)
            closing.callback(self._close_source)

    def _close_source(self) -> None:
        if not self._source_closed:
            self._source_closed = True
            self.source.close()

    def _close_sink(self, sink: object) -> None:
        try:
            sink.close()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - the others must still close
            self._sink_failed(sink, exc)
