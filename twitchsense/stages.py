"""The interfaces between pipeline stages, so live, replayed and batch runs share every stage.

source -> decoder -> samples -> windows/features -> model -> events -> alert engine -> sinks

A *source* yields :class:`SourceItem` (sample blocks and link events); the
*detector stage* turns samples into :class:`~twitchsense.io.outputs.TwitchEvent`;
the *alert stage* turns events and link events into alerts; *sinks* show and
store everything. Times are seconds on the stream's time base (the recording's
``t``); ``start_time`` in the session metadata anchors them to the calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np

from .acquisition.protocol.base import BoardInfo
from .types import Alert, LinkEvent, Marker, SampleBlock, TwitchEvent


@dataclass
class SourceItem:
    """One step of a source: new samples and/or link events (and board info when it changes),
    and markers the board sent (its button: ``Marker(source="board")``, on the stream's time base)."""

    samples: SampleBlock = field(default_factory=SampleBlock.empty)
    events: list[LinkEvent] = field(default_factory=list)
    info: BoardInfo | None = None
    markers: list[Marker] = field(default_factory=list)


class Source(Protocol):
    """Anything that produces samples: serial board, replayed recording, simulator."""

    #: sidecar fields known about the session (board, rate, start_time...)
    meta: dict

    def __iter__(self) -> Iterator[SourceItem]:
        ...

    def close(self) -> None:
        ...


class DetectorStage(Protocol):
    """Streaming detector: samples in, finished twitch events out (same events as batch ``detect``):
    each event first ``provisional``, later again with the same ``id``, ``confirmed`` or ``retracted``."""

    def push(self, t: np.ndarray, acc: np.ndarray) -> list[TwitchEvent]:
        ...

    def flush(self) -> list[TwitchEvent]:
        """End of stream: return the events still pending."""
        ...


class AlertStage(Protocol):
    """Alert engine: events and link faults in, alert changes out; ``now`` is stream time in s.

    An alert stage may also have ``on_samples(t, acc) -> alerts``: the pipeline then
    feeds it every sample block, for faults judged from the samples (gaps, a
    sensor not worn, saturation); see :class:`twitchsense.alerts.AlertEngine`. And
    ``on_context(spans)``: the pipeline then hands it the detector's context as it is decided
    (a detector's ``take_context()``), so rates count judged time.
    """

    def on_events(self, events: list[TwitchEvent], now: float) -> list[Alert]:
        ...

    def on_link(self, event: LinkEvent, now: float) -> list[Alert]:
        ...

    def tick(self, now: float) -> list[Alert]:
        """Time passed without events (rates fall, faults such as no-data fire)."""
        ...


class Sink(Protocol):
    """Shows or stores what the pipeline produces. Every method is optional to act on.

    Optional too: ``on_tick(now)`` (time passed, samples or not), ``flush()`` (the stream ended:
    hand on what is held, before any sink closes) and ``label`` (how messages name the sink).
    An exception from a sink never ends the pipeline: it is reported as a ``sink_error`` link event.
    """

    def on_samples(self, block: SampleBlock) -> None: ...
    def on_events(self, events: list[TwitchEvent]) -> None: ...
    def on_alerts(self, alerts: list[Alert]) -> None: ...
    def on_link(self, event: LinkEvent) -> None: ...
    def on_markers(self, markers: list[Marker]) -> None: ...
    def close(self) -> None: ...
