"""The one interface every byte-stream decoder implements, and what it hands downstream
(samples and link events are the pipeline's core values, :mod:`twitchsense.types`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ...types import LinkEvent, Marker, SampleBlock


@dataclass(frozen=True)
class BoardInfo:
    """What a board says about itself (the protocol's INFO, or options for text/Cyton boards)."""

    protocol_version: int = 1
    sensor: str = "unknown"
    range_g: float = 0.0
    samples_per_frame: int = 1
    sample_rate_hz: float = 0.0
    scale_g_per_lsb: float = 0.0
    tick_hz: int = 1_000_000
    uid: str = ""
    firmware: str = ""
    name: str = ""
    #: minor version of protocol 1 (INFO's optional last byte): 1 when the board may send MARK
    protocol_minor: int = 0

    @property
    def protocol(self) -> str:
        """The protocol version as people write it: ``1.1``."""
        return f"{self.protocol_version}.{self.protocol_minor}"

    def sidecar(self) -> dict:
        """The fields of a recording's sidecar this board can fill."""
        return {"board": self.name or None, "sensor": self.sensor if self.sensor != "unknown" else None,
                "range_g": self.range_g or None, "sample_rate_hz": self.sample_rate_hz or None,
                "firmware": self.firmware or None}


@dataclass(frozen=True)
class Reply:
    """A board's answer to a host command, for the handshake and clock tracking.

    kind : "ack" (data: cmd_type, status) or "pong" (data: token, device_time_us, t).
    host_ns : host ``time.monotonic_ns()`` of the bytes that completed it, or -1.
    """

    kind: str
    data: dict
    host_ns: int = -1


@dataclass
class DecodeResult:
    """What one ``feed`` call produced."""

    samples: SampleBlock = field(default_factory=SampleBlock.empty)
    events: list[LinkEvent] = field(default_factory=list)
    info: BoardInfo | None = None
    replies: list[Reply] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)


class Decoder(Protocol):
    """Incremental byte-stream parser: bytes may be split anywhere between calls."""

    #: running counters: samples, frames, crc_errors, bad_frames, resyncs, lost_samples, reboots...
    stats: dict

    def feed(self, data: bytes, host_ns: int = -1) -> DecodeResult:
        """Consume ``data`` (arrived at host time ``host_ns``); never raises on bad bytes."""
        ...

    def reset(self) -> None:
        """Forget partial input and stream state (after a reconnect)."""
        ...


class AnnouncingDecoder:
    """Base of decoders for boards that never send INFO (text, Cyton): the options stand for it.

    The first ``feed`` that brings bytes hands ``info`` downstream once, with the link events
    of :meth:`announcement`, as an INFO frame would.
    """

    info: BoardInfo
    stats: dict
    _announced = False

    def announcement(self) -> list[LinkEvent]:
        """The link events that go with ``info`` (at least one ``info`` event)."""
        raise NotImplementedError

    def _begin_feed(self, data: bytes) -> DecodeResult:
        """Count ``data``'s bytes; the result to fill, carrying ``info`` the first time bytes arrive."""
        self.stats["bytes"] += len(data)
        result = DecodeResult()
        if not self._announced and data:
            self._announced = True
            result.info = self.info
            result.events.extend(self.announcement())
        return result
