"""The one interface every byte-stream decoder implements, and what it hands downstream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

#: Kinds of link event, shared by decoders and the serial supervisor.
LINK_EVENT_KINDS = (
    "info",          # board INFO received (handshake, or unprompted after boot)
    "crc_error",     # a frame failed its CRC and was dropped
    "bad_frame",     # undecodable frame: COBS error, wrong length, oversize
    "resync",        # garbage skipped until the next frame delimiter / packet start
    "lost_samples",  # sample-index jump: count = number of samples lost
    "reboot",        # sample index or uptime went backwards: the board restarted
    "overflow",      # the board reports frames it could not send (STATUS)
    "status",        # a STATUS frame (uptime, flags)
    "log",           # a LOG frame: text from the firmware
    "unknown_type",  # a frame of a type this host does not know (ignored)
    "disconnected",  # the port went away (serial supervisor)
    "reconnected",   # the port is back and the handshake redone (serial supervisor)
    "no_data",       # no samples for longer than the configured timeout: a FAULT
    "warning",       # anything else worth telling the user (e.g. a 21 Hz low-pass sketch)
)


@dataclass
class SampleBlock:
    """Samples decoded from one ``feed`` call, in arrival order.

    t : (n,) float64 seconds on the stream's time base (see each decoder).
    acc : (n, 3) float64 acceleration in g.
    index : (n,) int64 sample index (counts samples since START; gaps show as jumps).
    host_ns : (n,) int64 host ``time.monotonic_ns()`` of the bytes that completed each sample,
        or -1 where the caller passed no arrival time.
    """

    t: np.ndarray
    acc: np.ndarray
    index: np.ndarray
    host_ns: np.ndarray

    @classmethod
    def empty(cls) -> "SampleBlock":
        return cls(np.empty(0), np.empty((0, 3)), np.empty(0, np.int64), np.empty(0, np.int64))

    def __len__(self) -> int:
        return int(self.t.size)

    @classmethod
    def concat(cls, blocks: list["SampleBlock"]) -> "SampleBlock":
        blocks = [b for b in blocks if len(b)]
        if not blocks:
            return cls.empty()
        return cls(np.concatenate([b.t for b in blocks]), np.concatenate([b.acc for b in blocks]),
                   np.concatenate([b.index for b in blocks]), np.concatenate([b.host_ns for b in blocks]))


@dataclass(frozen=True)
class LinkEvent:
    """Something that happened on the link: counted, reported, never an exception."""

    kind: str
    detail: str
    count: int = 1
    t: float | None = None  # stream time it refers to, where known
    data: dict = field(default_factory=dict)


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
