"""How to talk to each kind of board: its decoder, its handshake, how to stop it.

One driver per protocol: ``twitchsense`` (the wire protocol: STOP, GET_INFO,
START, ACK), ``text`` (boards printing numbers, configured by options) and
``cyton`` (OpenBCI Cyton: ``s`` to stop, ``b`` to start).
"""

from __future__ import annotations

import itertools
import time
from typing import Protocol

from ...errors import TwitchsenseError
from ..protocol import PROTOCOLS
from ..protocol.base import BoardInfo, DecodeResult, Decoder
from .serial_reader import Chunk

#: What arrived on the link during a handshake: each chunk of bytes and what its decoder made of it.
Pending = list[tuple[Chunk, DecodeResult]]


class HandshakeError(Exception):
    """The board did not answer the handshake as its protocol says."""


class Link(Protocol):
    """An open connection to a board, as a driver sees it
    (:class:`~twitchsense.acquisition.sources.serial_board.BoardLink` is the one in use)."""

    decoder: Decoder

    def write(self, data: bytes) -> None:
        """Send ``data`` to the board."""
        ...

    def poll(self, timeout: float) -> Pending:
        """Decode what arrived: wait up to ``timeout`` for the first chunk, then take all that is queued."""
        ...

    def settle(self, quiet_s: float = 0.1, max_s: float = 0.3) -> Pending:
        """Wait until the line is quiet for ``quiet_s`` (at most ``max_s``), decoding what arrives."""
        ...


class BoardDriver(Protocol):
    name: str
    #: True when the board only streams after the handshake (an unprompted INFO means it restarted)
    streams_after_handshake: bool

    def make_decoder(self) -> Decoder: ...

    def handshake(self, link: Link, received: Pending) -> BoardInfo:
        """Bring the board to streaming and return its info. Everything that arrives meanwhile is
        appended to ``received`` as it is decoded, so it is still there when the handshake fails."""
        ...

    def stop(self, link: Link) -> None: ...
    def keepalive(self, link: Link) -> None: ...


def handed_on(results: Pending) -> Pending:
    """What a handshake hands on: the samples, link events and markers it saw, minus the INFO it consumed."""
    return [(c, DecodeResult(r.samples, [e for e in r.events if e.kind not in ("info", "status")], None,
                             markers=r.markers))
            for c, r in results
            if len(r.samples) or r.markers or any(e.kind not in ("info", "status") for e in r.events)]


class TwitchsenseDriver:
    """The wire protocol's handshake (see the protocol spec)."""

    name = "twitchsense"
    streams_after_handshake = True

    def __init__(self, rate_hz: float | None = None, range_g: int = 0, info_timeout_s: float = 3.0,
                 ack_timeout_s: float = 1.0) -> None:
        self.rate_hz = rate_hz
        self.range_g = range_g
        self.info_timeout_s = info_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self._tokens = itertools.count(1)

    def make_decoder(self) -> Decoder:
        from ..protocol.twitchsense_decoder import TwitchsenseDecoder
        return TwitchsenseDecoder()

    def identify(self, link: Link, received: Pending) -> BoardInfo:
        """Quiet the board (STOP) and ask who it is (GET_INFO, retried every 250 ms).

        Returns the INFO; what arrived meanwhile (samples sent before the STOP took effect) is
        appended to ``received``.
        """
        from ..protocol import frames as f
        link.write(b"\x00" + f.build_command(f.CMD_STOP))
        received += link.settle(quiet_s=0.1, max_s=0.3)
        link.decoder.reset()  # a new stretch of the board's stream starts here
        info = None
        end = time.monotonic() + self.info_timeout_s
        next_send = 0.0
        while info is None:
            now = time.monotonic()
            if now >= end:
                raise HandshakeError(f"no INFO answer to GET_INFO within {self.info_timeout_s:g} s "
                                     "(not a twitchsense board? try --protocol text or cyton)")
            if now >= next_send:
                link.write(f.build_command(f.CMD_GET_INFO))
                next_send = now + 0.25
            for chunk, res in link.poll(0.05):
                if res.info is not None:
                    info = res.info
                received.append((chunk, res))
        return info

    def handshake(self, link: Link, received: Pending) -> BoardInfo:
        """STOP, GET_INFO, check the version, START and wait for its ACK; what arrives meanwhile is
        appended to ``received``."""
        from ..protocol import frames as f
        info = self.identify(link, received)
        if info.protocol_version != 1:
            raise HandshakeError(f"board speaks protocol version {info.protocol_version}, this host speaks 1")
        link.write(f.build_start(self.rate_hz, self.range_g))
        end = time.monotonic() + self.ack_timeout_s
        acked = False
        while not acked:
            if time.monotonic() >= end:
                raise HandshakeError(f"no ACK to START within {self.ack_timeout_s:g} s")
            for chunk, res in link.poll(0.05):
                status = ack_status(res, f.CMD_START)
                if status is not None:
                    if status != 0:
                        raise HandshakeError(f"the board refused START (status {status}: "
                                             f"{ACK_STATUS.get(status, 'unknown')})")
                    acked = True
                received.append((chunk, res))
        return info

    def stop(self, link: Link) -> None:
        from ..protocol import frames as f
        link.write(f.build_command(f.CMD_STOP))

    def keepalive(self, link: Link) -> None:
        from ..protocol import frames as f
        link.write(f.build_ping(next(self._tokens) & 0xFFFFFFFF))


ACK_STATUS = {0: "ok", 1: "bad arguments", 2: "unsupported", 3: "busy"}


def ack_status(result: DecodeResult, cmd: int) -> int | None:
    """The status of an ACK to ``cmd`` in ``result``, or None when there is none."""
    for reply in getattr(result, "replies", ()):
        if reply.kind == "ack" and reply.data.get("cmd_type") == cmd:
            return int(reply.data.get("status", 0))
    return None


class TextDriver:
    """Boards printing numbers as text: nothing to negotiate, the options (or a preset) say
    separator, units and rate (see :class:`~twitchsense.acquisition.protocol.text.TextLineDecoder`)."""

    name = "text"
    streams_after_handshake = False

    def __init__(self, rate_hz: float | None = None, range_g: int = 0, preset: str | None = None,
                 separator: str | None = None, units: str | None = None) -> None:
        from ..protocol.text import PRESETS
        if preset is not None and preset not in PRESETS:
            raise TwitchsenseError(f"--text-preset must be one of {', '.join(sorted(PRESETS))}, got {preset!r}")
        if rate_hz is None and (preset is None or PRESETS[preset].rate_hz is None):
            raise TwitchsenseError("a text board does not say its sample rate: give --rate HZ"
                                   + (f" (preset {preset} has none)" if preset else ""))
        self.options = {k: v for k, v in (("rate_hz", rate_hz), ("separator", separator), ("units", units))
                        if v is not None}
        self.preset = preset

    def make_decoder(self) -> Decoder:
        from ..protocol.text import TextLineDecoder
        try:
            if self.preset is not None:
                return TextLineDecoder.preset(self.preset, **self.options)
            return TextLineDecoder(**self.options)
        except ValueError as exc:
            raise TwitchsenseError(f"text board options: {exc}") from None

    def handshake(self, link: Link, received: Pending) -> BoardInfo:
        return link.decoder.info  # type: ignore[attr-defined]

    def stop(self, link: Link) -> None:
        pass

    def keepalive(self, link: Link) -> None:
        pass


class CytonDriver:
    """OpenBCI Cyton: ``s`` stops, ``b`` starts; 250 Hz packets, accelerometer at 25 Hz."""

    name = "cyton"
    streams_after_handshake = False

    def __init__(self, rate_hz: float | None = None, range_g: int = 0) -> None:
        pass

    def make_decoder(self) -> Decoder:
        from ..protocol.cyton import CytonDecoder
        return CytonDecoder()

    def handshake(self, link: Link, received: Pending) -> BoardInfo:
        link.write(b"s")
        received += link.settle(quiet_s=0.1, max_s=0.3)
        link.write(b"b")
        return link.decoder.info  # type: ignore[attr-defined]

    def stop(self, link: Link) -> None:
        link.write(b"s")

    def keepalive(self, link: Link) -> None:
        pass


def make_driver(protocol: str, **options: object) -> BoardDriver:
    """The driver for ``protocol`` (``twitchsense``, ``text`` or ``cyton``)."""
    drivers = {"twitchsense": TwitchsenseDriver, "text": TextDriver, "cyton": CytonDriver}
    if protocol not in drivers:
        raise TwitchsenseError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return drivers[protocol](**options)  # type: ignore[arg-type]
