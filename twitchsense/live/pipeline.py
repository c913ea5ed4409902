"""The one live pipeline: a source feeds the detector, the alert engine and every sink.

``stream`` (serial board or simulator) and ``replay`` (a recording) both run a
:class:`Pipeline`; the stages downstream of the source cannot tell the origins
apart. Times passed downstream are stream seconds (the recording's ``t``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from ..stages import AlertStage, DetectorStage, Sink, Source
from ..types import Alert, LinkEvent, TwitchEvent


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

    @property
    def stream_s(self) -> float:
        """Span of stream time covered, first to last sample (gaps included)."""
        if self.first_t is None or self.last_t is None:
            return 0.0
        return self.last_t - self.first_t


class Pipeline:
    """Feed every stage from ``source`` until it ends, ``stop`` is set or ``duration_s`` passes.

    Parameters
    ----------
    source : any :class:`~twitchsense.stages.Source` (serial board, replay, simulator).
    detector : optional streaming detector (``push``/``flush``).
    alerts : optional alert engine (``on_events``/``on_link``/``tick``).
    sinks : objects with any of ``on_samples``, ``on_events``, ``on_alerts``, ``on_link``, ``on_markers``,
        ``close``.
    """

    def __init__(self, source: Source, detector: DetectorStage | None = None,
                 alerts: AlertStage | None = None, sinks: Iterable[Sink] = ()) -> None:
        self.source = source
        self.detector = detector
        self.alerts = alerts
        self.sinks = list(sinks)
        self.summary = PipelineSummary()

    def _call(self, method: str, *args: object) -> None:
        for sink in self.sinks:
            fn = getattr(sink, method, None)
            if fn is not None:
                fn(*args)

    def _emit_events(self, events: list[TwitchEvent], now: float) -> None:
        if not events:
            return
        self.summary.events += len(events)
        self._call("on_events", events)
        if self.alerts is not None:
            self._emit_alerts(self.alerts.on_events(events, now))

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
        start = time.monotonic()
        last_sample_wall = start
        now = 0.0
        try:
            for item in self.source:
                wall = time.monotonic()
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
                        self._emit_events(self.detector.push(block.t, block.acc), now)
                if item.markers:  # the board's button: the same path as the web button and the m key
                    s.markers += len(item.markers)
                    self._call("on_markers", item.markers)
                if self.alerts is not None:
                    self._emit_alerts(self.alerts.tick(now))
                self._call("on_tick", now)  # optional: sinks that show time passing without samples
                if (stop is not None and stop.is_set()) or \
                        (duration_s is not None and wall - start >= duration_s):
                    break
        finally:
            self.source.close()
            try:
                if self.detector is not None:
                    self._emit_events(self.detector.flush(), now)
                finish = getattr(self.alerts, "close", None)
                if finish is not None:
                    self._emit_alerts(finish(now) or [])
            finally:
                s.wall_s = time.monotonic() - start
                self._call("close")
        return s
