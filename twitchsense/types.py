"""The values every stage of the pipeline hands on, defined once.

source -> decoder -> :class:`SampleBlock` and :class:`LinkEvent` -> detector ->
:class:`TwitchEvent` and :class:`ContextSpan` -> alert engine -> :class:`Alert` -> sinks.
A :class:`Marker` ("I felt one") comes from the wearer: a key, the web page's button or the board's button.
Times are seconds on the stream's time base (the recording's ``t``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    "sink_error",    # an output failed (a full disk, a locked history, a broker...): the others go on
)
#: The wearer's activity states, from still to vigorous (``active``: the detector cannot tell).
STATES = ("rest", "light", "active")
#: Alert levels, lowest first.
LEVELS = ("info", "warning", "alert")


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
class TwitchEvent:
    """One detected twitch.

    onset, duration : seconds, on the recording's time base.
    peak_g : peak movement above the slow background, in g.
    confidence : 0..1.
    kind : the twitch class when the model knows it (``myoclonic``, ``hypnic``,
        ``fasciculation``, ``tic``), else ``""``.
    context : the wearer's activity state around the event (``rest``, ``light``, ``active``).
    status : ``provisional`` (the live detector's first word, about 0.5 s after the twitch),
        ``confirmed`` or ``retracted`` (its verdict, up to about 3 s later:
        :mod:`twitchsense.detection.confirmation`). Counts, alerts, history and ``detected.csv``
        use confirmed events only.
    id : the detector's number for the event: a provisional event and its verdict share it
        (``-1``: none given).
    reason : why a retracted event was retracted (``impact``, ``movement-follows``, ``not-at-rest``,
        ``train``); empty otherwise.
    """

    onset: float
    duration: float
    peak_g: float
    confidence: float
    kind: str = ""
    context: str = ""
    label: str = "twitch"
    status: str = "confirmed"
    id: int = -1
    reason: str = ""

    @property
    def end(self) -> float:
        return self.onset + self.duration


#: Statuses of a :class:`TwitchEvent`.
EVENT_STATUSES = ("provisional", "confirmed", "retracted")


def confirmed_only(events: "list[TwitchEvent]") -> "list[TwitchEvent]":
    """The confirmed events of a list (what counts, alerts, history and ``detected.csv`` use)."""
    return [e for e in events if e.status == "confirmed"]


@dataclass
class ContextSpan:
    """A stretch of one state (seconds on the recording's time base) and its highest (smoothed) activity level."""

    start: float
    end: float
    state: str
    level_g: float


@dataclass(frozen=True)
class Alert:
    """One alert: which rule fired, at what level, over which stretch, and the figures in words."""

    start: float
    end: float
    level: str
    rule: str
    detail: str


@dataclass(frozen=True)
class Marker:
    """A "felt one" marker: the wearer felt a twitch at stream time ``t``.

    source : where the press came from: ``web`` (the live page's button), ``key`` (the
        terminal's ``m``), ``board`` (the board's button, a MARK frame).
    time : local ISO time with the UTC offset, when the session's start is known.
    """

    t: float
    source: str
    time: str | None = None
