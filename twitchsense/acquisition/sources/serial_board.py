"""A serial sensor board as a pipeline source: open, handshake, read, and survive every fault.

:class:`SerialSource` is the supervisor. It owns the port and its reader thread
(:mod:`.serial_reader`), decodes the bytes with the board's decoder, maps sample
times onto one stream time base (:mod:`.stream_clock`) and turns every fault into
a link event instead of an exception:

- the port goes away (``SerialException``): ``disconnected``, then reopen with
  backoff the same board (same USB VID:PID and serial number, or the same path,
  re-resolving a symlink), redo the handshake: ``reconnected``;
- no samples for ``no_data_s``: ``no_data`` (a FAULT), then a new handshake;
- lost samples: ``lost_samples`` and a gap of the right length in ``t``;
- the board rebooted (unprompted INFO, index going back): ``reboot``, re-handshake;
- garbage on the line: the decoder resynchronises (``resync``/``crc_error``).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterator

import serial

from ...errors import TwitchsenseError
from ...stages import SourceItem
from ...types import LinkEvent, SampleBlock
from ..ports import PortTarget, auto_candidates, is_port_path, match_ports, target_for
from ..protocol.base import BoardInfo, Decoder, DecodeResult
from .board_drivers import HandshakeError, Pending, TwitchsenseDriver, handed_on, make_driver
from .serial_reader import MAX_QUEUED_BYTES, Chunk, SerialReaderThread
from .stream_clock import StreamClock


class LinkLost(Exception):
    """The port failed under us (unplugged); carries pyserial's message."""


class BoardLink:
    """One open connection: the port, its reader thread and the board's decoder.

    Where the reader had to drop bytes (the pipeline fell behind and its queue was full),
    :meth:`poll` forgets the decoder's partial input and hands on an ``overflow`` link event
    in front of what follows, so no sample is ever spliced together from both sides of the
    hole; the supervisor then measures the hole on the host clock and counts its samples as
    lost. Where the port failed, :meth:`poll` first hands on what was decoded before the
    failure and raises :class:`LinkLost` at the next call: every sample the decoder has seen
    is handed on, so the time line it re-anchors on after a reconnect (its last frame) is
    the one recorded.
    """

    def __init__(self, device: str, baudrate: int, decoder: Decoder,
                 max_queued_bytes: int = MAX_QUEUED_BYTES) -> None:
        self.device = device
        try:
            # DTR stays asserted (pyserial's default): native-USB boards wait for it. Exclusive:
            # a second reader on the same port would steal bytes from the first.
            extra = {"exclusive": True} if os.name == "posix" else {}
            self.port = serial.Serial(device, baudrate=baudrate, timeout=0.05, write_timeout=1.0, **extra)
        except (serial.SerialException, OSError, ValueError) as exc:
            if "exclusively lock" in str(exc):
                raise LinkLost(f"{device} is in use by another program (another stream or record, "
                               "a serial monitor...)") from None
            raise LinkLost(f"cannot open {device}: {exc}") from None
        self.decoder = decoder
        self.decoder.reset()
        self.reader = SerialReaderThread(self.port, max_queued_bytes)
        self.reader.start()
        self._held: Chunk | None = None

    def write(self, data: bytes) -> None:
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"write to {self.device} failed: {exc}") from None

    def poll(self, timeout: float) -> Pending:
        """Decode what arrived: wait up to ``timeout`` for the first chunk, then take all that is queued."""
        out: Pending = []
        try:
            chunk, self._held = self._held or self.reader.get(timeout), None
        except queue.Empty:
            return out
        while True:
            if chunk.error is not None:
                if out:  # what arrived before the failure goes on first: the next poll raises
                    self._held = chunk
                    return out
                raise LinkLost(chunk.error)
            if chunk.dropped:
                if out:  # what came before the hole goes on first, on its own
                    self._held = chunk
                    return out
                self.decoder.reset()
                out.append((chunk, DecodeResult(events=[LinkEvent(
                    "overflow", f"the host fell behind the board: {chunk.dropped} bytes dropped "
                                "(the reader's queue was full)", data={"host_bytes": chunk.dropped})])))
            else:
                out.append((chunk, self.decoder.feed(chunk.data, chunk.host_ns)))
            try:
                chunk = self.reader.get(0)
            except queue.Empty:
                return out

    def settle(self, quiet_s: float = 0.1, max_s: float = 0.3) -> Pending:
        """Wait until the line is quiet for ``quiet_s`` (at most ``max_s``) after a STOP.

        What arrives meanwhile is still decoded: samples that made it through
        before the board stopped are real data, never thrown away (the decoder
        skips any stale partial frame by itself).
        """
        out = []
        end = time.monotonic() + max_s
        while time.monotonic() < end:
            got = self.poll(min(quiet_s, max(end - time.monotonic(), 0.001)))
            if not got:
                break
            out += got
        return out

    def close(self) -> None:
        self.reader.stop()
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass


class SerialSource:
    """Samples from a serial board, with handshake, reconnects and fault reporting.

    Parameters
    ----------
    port : device path (symlinks are re-resolved on reconnect), ``auto``,
        ``VID:PID[:SERIAL]`` or ``hwgrep://REGEX``.
    protocol : ``twitchsense`` (the wire protocol), ``text`` or ``cyton``.
    baudrate : line speed (ignored by USB-CDC boards and pseudo-terminals).
    rate_hz, range_g : rate and full scale to ask for (twitchsense) or to assume (text boards).
    no_data_s : seconds without samples that make a ``no_data`` FAULT.
    backoff_s : (first, longest) wait between reconnect attempts; it doubles each time.
    max_queued_bytes : bytes read from the board that may wait for a stalled pipeline; beyond,
        they are dropped (an ``overflow`` link event and the samples lost, counted as such).
    driver_options : passed to the board driver (e.g. ``units`` of a text board).
    """

    def __init__(self, port: str, *, protocol: str = "twitchsense", baudrate: int = 115200,
                 rate_hz: float | None = None, range_g: int = 0, no_data_s: float = 5.0,
                 backoff_s: tuple[float, float] = (0.1, 0.5), poll_s: float = 0.1,
                 ping_s: float = 1.0, max_queued_bytes: int = MAX_QUEUED_BYTES,
                 **driver_options: object) -> None:
        if baudrate == 1200:
            raise TwitchsenseError("--baud 1200 would put Arduino-class boards into their bootloader; "
                                   "use the board's streaming rate (e.g. 115200)")
        self.port_spec = port
        self.driver = make_driver(protocol, rate_hz=rate_hz, range_g=range_g, **driver_options)
        # one decoder for the whole session: it keeps the time line and sample index across reconnects
        self.decoder = self.driver.make_decoder()
        self.baudrate = baudrate
        self.no_data_s = no_data_s
        self.backoff_s = backoff_s
        self.poll_s = poll_s
        self.ping_s = ping_s
        self.max_queued_bytes = max_queued_bytes
        self.meta: dict = {}
        self.info: BoardInfo | None = None
        self.target: PortTarget | None = None
        self.clock = StreamClock()
        self.stats = {"samples": 0, "lost_samples": 0, "reconnects": 0, "disconnects": 0,
                      "reboots": 0, "no_data_faults": 0, "handshakes": 0}
        self._link: BoardLink | None = None
        self._pending: Pending = []
        self._stop = threading.Event()
        self._last_sample = time.monotonic()
        self._faulted = False
        self._start_wall: datetime | None = None
        self._announced = False
        self._failure: LinkLost | None = None  # raised after the samples received before it

    # ------------------------------------------------------------------ connecting

    def open(self) -> BoardInfo:
        """Find the board, open it and handshake; raise :class:`TwitchsenseError` if that fails."""
        if self._link is not None:
            return self.info  # type: ignore[return-value]
        spec = self.port_spec
        if spec == "auto":
            self.target, link, info = self._auto()
        else:
            if is_port_path(spec):
                self.target = PortTarget(path=spec, label=spec)
            else:
                found = match_ports(spec)
                if not found:
                    raise TwitchsenseError(f"--port {spec}: no serial port matches (see 'twitchsense ports')")
                self.target = target_for(found[0])
            device = self.target.locate()
            if device is None:
                raise TwitchsenseError(f"--port {spec}: no such device")
            try:
                link, info = self._connect(device, keep_on_failure=False)
            except (LinkLost, HandshakeError) as exc:
                raise TwitchsenseError(f"--port {spec}: {exc}") from None
        self._attach(link, info)
        return info

    def _auto(self) -> tuple[PortTarget, BoardLink, BoardInfo]:
        tried = []
        for cand in auto_candidates():
            try:
                link, info = self._connect(cand.device, keep_on_failure=False)
            except (LinkLost, HandshakeError) as exc:
                tried.append(f"{cand.device} ({exc})")
                continue
            return target_for(cand), link, info
        if not tried:
            raise TwitchsenseError("--port auto: no serial port with a known board found "
                                   "(see 'twitchsense ports'; name the port with --port PATH)")
        raise TwitchsenseError("--port auto: no board answered: " + "; ".join(tried))

    def _connect(self, device: str, *, keep_on_failure: bool) -> tuple[BoardLink, BoardInfo]:
        """Open ``device`` and handshake. ``keep_on_failure``: what the board sent before a failed
        handshake is still handed on (the same board, reconnecting or handshaking again); not on a first
        connection, which a failure ends, nor for a candidate of ``auto``, which may be another device. No
        default, here or in :meth:`_handshake`: each caller says which case it is."""
        link = BoardLink(device, self.baudrate, self.decoder, self.max_queued_bytes)
        try:
            info = self._handshake(link, keep_on_failure=keep_on_failure)
        except BaseException:
            link.close()
            raise
        return link, info

    def _handshake(self, link: BoardLink, *, keep_on_failure: bool) -> BoardInfo:
        """The driver's handshake. What arrived meanwhile waits in ``_pending`` to be handed on, even when
        it fails: the decoder has seen those samples, and its time line continues from them."""
        received: Pending = []
        try:
            info = self.driver.handshake(link, received)
        except BaseException:
            if keep_on_failure:
                self._pending += handed_on(received)
            raise
        self._pending += handed_on(received)
        self.stats["handshakes"] += 1
        return info

    def _attach(self, link: BoardLink, info: BoardInfo) -> None:
        self._link = link
        self.info = info
        self.clock.rate_hz = info.sample_rate_hz
        self.clock.new_segment()
        self._last_sample = time.monotonic()
        self._last_ping = time.monotonic()
        self._faulted = False
        self.meta.update({k: v for k, v in info.sidecar().items() if v is not None})

    def _drop_link(self) -> None:
        self._failure = None
        if self._link is not None:
            self._link.close()
            self._link = None

    # ------------------------------------------------------------------ streaming

    def __iter__(self) -> Iterator[SourceItem]:
        if self._link is None and self.target is None:
            self.open()
        if not self._announced and self._link is not None:
            self._announced = True
            yield SourceItem(events=[LinkEvent("info", self._info_text(), data={"device": self._link.device})],
                             info=self.info)
        backoff = self.backoff_s[0]
        next_try = 0.0
        while not self._stop.is_set():
            if self._link is None:  # disconnected: try to get the same board back
                if self._pending:  # first, what a failed reconnect received
                    yield self._read_once()
                    continue
                now = time.monotonic()
                if now < next_try:
                    self._stop.wait(min(next_try - now, self.poll_s))
                    yield SourceItem()
                    continue
                events = self._try_reconnect()
                if self._link is None:
                    next_try = time.monotonic() + backoff
                    backoff = min(backoff * 2, self.backoff_s[1])
                else:
                    backoff = self.backoff_s[0]
                yield SourceItem(events=events, info=self.info if self._link is not None else None)
                continue
            try:
                yield self._read_once()
            except LinkLost as exc:
                self._drop_link()
                self.stats["disconnects"] += 1
                self.clock.new_segment()
                next_try = time.monotonic() + backoff
                yield SourceItem(events=[LinkEvent("disconnected", f"{self.target.label if self.target else ''}: "
                                                   f"{exc}; reconnecting", t=self.clock.last_t)])

    def _try_reconnect(self) -> list[LinkEvent]:
        assert self.target is not None
        device = self.target.locate()
        if device is None:
            return []
        try:
            link, info = self._connect(device, keep_on_failure=True)
        except (LinkLost, HandshakeError):
            return []
        self._attach(link, info)
        self.stats["reconnects"] += 1
        return [LinkEvent("reconnected", f"{device}: handshake redone; {self._info_text()}",
                          t=self.clock.last_t, data={"device": device})]

    def _read_once(self) -> SourceItem:
        """Decode what arrived and act on it. A failure of the port is raised only after the
        samples already received have been handed on (on the next call): nothing received is lost.
        Without a link (a reconnect failed) it hands on what that attempt received."""
        link = self._link
        if self._failure is not None and not self._pending:
            failure, self._failure = self._failure, None
            raise failure
        results, self._pending = self._pending, []
        if link is not None and self._failure is None:
            try:
                results += link.poll(self.poll_s)
            except LinkLost as exc:
                self._failure = exc
        blocks, events, info, markers = [], [], None, []
        rehandshake = None
        for _chunk, res in results:
            for ev in res.events:
                if ev.kind == "overflow" and "host_bytes" in ev.data:
                    self.clock.new_segment()  # the hole is measured on the host clock, its samples lost
                if ev.kind == "info" and self.driver.streams_after_handshake:
                    rehandshake = "the board sent INFO unprompted: it restarted"
                elif ev.kind == "reboot":
                    rehandshake = ev.detail or "the board restarted"
                if ev.kind == "lost_samples":
                    self.stats["lost_samples"] += ev.count
                events.append(ev)
            if res.info is not None:
                info = res.info
            markers += res.markers
            if len(res.samples):
                blocks.append(res.samples)
        block = SampleBlock.concat(blocks)
        now = time.monotonic()
        if len(block):
            block, gap_events = self.clock.map(block)
            for ev in gap_events:
                self.stats["lost_samples"] += ev.count
            events = gap_events + events
            self.stats["samples"] += len(block)
            if self._start_wall is None:
                self._start_wall = datetime.now().astimezone() - timedelta(
                    seconds=(time.monotonic_ns() - int(block.host_ns[0])) / 1e9 if block.host_ns[0] >= 0 else 0)
                self.meta["start_time"] = self._start_wall.isoformat(timespec="milliseconds")
            self._last_sample = now
            if self._faulted:
                self._faulted = False
                events.append(LinkEvent("reconnected", "samples flowing again", t=float(block.t[0])))
        elif link is not None and not self._faulted and now - self._last_sample > self.no_data_s:
            self._faulted = True
            self.stats["no_data_faults"] += 1
            events.append(LinkEvent("no_data", f"no samples for {self.no_data_s:g} s; redoing the handshake",
                                    t=self.clock.last_t))
            rehandshake = rehandshake or "no data"
        # the board's markers move with its samples onto the stream's time base
        markers = [replace(m, t=m.t + self.clock.offset) for m in markers]
        if link is not None and self._failure is None:
            try:
                if rehandshake is not None:
                    if rehandshake != "no data":
                        self.stats["reboots"] += 1
                        if not any(e.kind == "reboot" for e in events):
                            events.append(LinkEvent("reboot", rehandshake, t=self.clock.last_t))
                    events += self._rehandshake()
                elif self.ping_s and now - self._last_ping >= self.ping_s:
                    self._last_ping = now
                    self.driver.keepalive(link)
            except LinkLost as exc:
                self._failure = exc
        return SourceItem(samples=block, events=events, info=info, markers=markers)

    def _rehandshake(self) -> list[LinkEvent]:
        link = self._link
        assert link is not None
        try:
            info = self._handshake(link, keep_on_failure=True)
        except HandshakeError as exc:
            raise LinkLost(f"handshake failed: {exc}") from None
        faulted = self._faulted
        self._attach(link, info)
        self._faulted = faulted
        return [LinkEvent("info", "handshake redone; " + self._info_text(), data={"device": link.device})]

    def _info_text(self) -> str:
        i = self.info
        if i is None:
            return "no board info"
        parts = [i.name or "unnamed board", i.sensor if i.sensor != "unknown" else "",
                 f"+/-{i.range_g:g} g" if i.range_g else "", f"{i.sample_rate_hz:g} Hz" if i.sample_rate_hz else "",
                 f"firmware {i.firmware}" if i.firmware else ""]
        return ", ".join(p for p in parts if p)

    def close(self) -> None:
        """Stop streaming (STOP to the board, best effort) and release the port. Safe to call twice."""
        self._stop.set()
        link, self._link = self._link, None
        if link is not None:
            try:
                self.driver.stop(link)
            except LinkLost:
                pass
            link.close()


def probe_board(device: str, baudrate: int = 115200, timeout_s: float = 1.5) -> tuple[BoardInfo | None, str]:
    """Ask the board on ``device`` for its INFO (STOP, GET_INFO; it is left stopped).

    Returns ``(info, "")``, or ``(None, why)`` when it cannot be opened or does not answer.
    """
    driver = TwitchsenseDriver(info_timeout_s=timeout_s)
    try:
        link = BoardLink(device, baudrate, driver.make_decoder())
    except LinkLost as exc:
        return None, str(exc)
    try:
        return driver.identify(link, []), ""
    except (LinkLost, HandshakeError) as exc:
        return None, str(exc)
    finally:
        link.close()
