"""A virtual sensor board on a pseudo-terminal: the live path without hardware.

It speaks the wire protocol (or a text board's lines, or OpenBCI Cyton packets),
answers the host's commands, streams samples taken from a recording or the
simulator at the board's nominal rate, and injects faults on request: dropped
frames, corrupted bytes, garbage, an unplug of N seconds (the pty goes away and
a new one appears; ``link`` is a symlink re-pointed to it, like
``/dev/serial/by-id``) and a reboot. A board of the wire protocol can also press
its marker button every few seconds (MARK frames, protocol v1.1). Tests, the demo
and users without a board drive the real serial path (pyserial, reader thread,
decoders) through it.

Like a USB-powered board, an unplugged emulator boots again when plugged back
in: its sample index and clock restart and it waits for START.
"""

from __future__ import annotations

import os
import select
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TwitchsenseError
from ..io.recording import Recording
from .ports import register_virtual_board, unregister_virtual_board
from .protocol import PROTOCOLS
from .protocol.base import BoardInfo

CYTON_RATE_HZ = 250.0
CYTON_G_PER_COUNT = 0.002 / 16


class SampleFeed:
    """Samples of a recording at any rate (linear interpolation), looping at its end."""

    def __init__(self, recording: Recording, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._t = recording.t - recording.t[0]
        self._acc = recording.acc
        self._span = float(self._t[-1]) + 1.0 / recording.sample_rate_hz if recording.n_samples > 1 else 1.0
        self._same_rate = abs(recording.sample_rate_hz - rate_hz) < 1e-9 and recording.n_samples > 1 \
            and not len(recording.gaps)

    def take(self, pos: int, n: int) -> np.ndarray:
        """Samples ``pos .. pos+n-1`` (in g, (n, 3))."""
        if self._same_rate:
            return self._acc[(pos + np.arange(n)) % self._acc.shape[0]]
        tau = np.mod((pos + np.arange(n)) / self.rate_hz, self._span)
        return np.column_stack([np.interp(tau, self._t, self._acc[:, k]) for k in range(3)])


@dataclass
class FaultPlan:
    """Faults to inject; times are seconds after the host's first START."""

    drop_frames: float = 0.0      #: probability that a frame is never sent
    corrupt: float = 0.0          #: probability that one byte of a frame is changed
    garbage: float = 0.0          #: probability of random bytes before a frame
    unplug: list[tuple[float, float]] = field(default_factory=list)  #: (at_s, for_s)
    reboot: list[float] = field(default_factory=list)                #: at_s
    stall: list[tuple[float, float]] = field(default_factory=list)   #: (at_s, for_s): hung, silent, deaf
    seed: int = 0


@dataclass
class SentFrame:
    """What the emulator did with one batch of samples (for tests and the latency benchmark)."""

    wall_ns: int
    boot: int            #: boot number (0 at start; +1 per reboot or unplug)
    epoch: int           #: streaming stretch: +1 at every START (the index restarts at 0)
    first_index: int     #: sample index since START
    data_pos: int        #: position in the sample feed
    n: int
    fate: str            #: "sent", "dropped", "corrupted", "overflow"


class BoardEmulator:
    """A board on a pseudo-terminal. ``start()`` runs it in a thread, ``run()`` in the caller's.

    Parameters
    ----------
    recording : where the samples come from (looped).
    protocol : ``twitchsense``, ``text`` or ``cyton``.
    rate_hz : nominal sample rate (Cyton: fixed 250 Hz packets, accelerometer at 25 Hz).
    range_g : full scale (+/- g) of the emulated sensor (twitchsense protocol: 2, 4, 8 or 16).
    link : a symlink kept pointing at the current device (re-pointed after an unplug).
    faults : what to inject.
    mark_every_s : press the marker button every this many seconds after each START (twitchsense
        protocol only; the press times are exact on the board's clock).
    keep_log : remember every frame's fate in :attr:`sent`.
    """

    def __init__(self, recording: Recording, protocol: str = "twitchsense", rate_hz: float | None = None,
                 *, range_g: int = 4, link: str | os.PathLike | None = None, faults: FaultPlan | None = None,
                 name: str = "twitchsense-emulator", keep_log: bool = False, register: bool = True,
                 mark_every_s: float | None = None) -> None:
        if not hasattr(os, "openpty"):
            raise TwitchsenseError("emulate-board needs pseudo-terminals (Linux or macOS); on Windows use "
                                   "a virtual COM port pair (com0com) and a real board, or WSL")
        if protocol not in PROTOCOLS:
            raise TwitchsenseError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if mark_every_s is not None and (protocol != "twitchsense" or not mark_every_s > 0):
            raise TwitchsenseError("--mark-every needs the twitchsense protocol (text and Cyton boards have no "
                                   f"MARK frame) and a time above 0 s, got {mark_every_s:g} s with {protocol}")
        if protocol == "cyton":
            rate_hz = CYTON_RATE_HZ
        rate_hz = float(rate_hz or recording.sample_rate_hz)
        if not 1.0 <= rate_hz <= 4000.0:
            raise TwitchsenseError(f"--rate must be between 1 and 4000 Hz, got {rate_hz:g}")
        self.protocol = protocol
        self.rate_hz = rate_hz
        self.range_g = int(range_g)
        self.feed = SampleFeed(recording, rate_hz if protocol != "cyton" else rate_hz / 10)
        self.link = Path(link) if link is not None else None
        self.faults = faults or FaultPlan()
        self.name = name
        self.mark_every_s = mark_every_s
        self.keep_log = keep_log
        self.register = register
        self.sent: list[SentFrame] = []
        self.stats = {"frames": 0, "samples": 0, "dropped": 0, "corrupted": 0, "overflow": 0,
                      "garbage": 0, "unplugs": 0, "reboots": 0, "stalls": 0, "commands": 0, "marks": 0}
        self.device: str | None = None
        self.ready = threading.Event()
        self.unplugged = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = np.random.default_rng(self.faults.seed)
        self._master = self._slave = -1
        self._registry: Path | None = None
        self._out = b""
        self.spf = max(1, min(40, int(round(rate_hz / 100))))
        self.boot = 0
        self.epoch = 0
        self._first_start_ns: int | None = None
        self._pending_unplug = sorted(self.faults.unplug)
        self._pending_reboot = sorted(self.faults.reboot)
        self._pending_stall = sorted(self.faults.stall)
        self._fault_lock = threading.Lock()
        self._data_pos = 0

    # ----------------------------------------------------------------- board identity

    @property
    def scale_g(self) -> float:
        """g per count: +/-range over 16 bits, as the nano-g integer INFO carries."""
        return round(self.range_g * 2 / 65536 * 1e9) * 1e-9

    def board_info(self) -> BoardInfo:
        return BoardInfo(protocol_version=1, sensor="MPU6050", range_g=float(self.range_g),
                         samples_per_frame=self.spf, sample_rate_hz=self.rate_hz, scale_g_per_lsb=self.scale_g,
                         tick_hz=1_000_000, uid="0102030405060708", firmware="1.0.0", name=self.name,
                         protocol_minor=1)

    # ----------------------------------------------------------------- pty plumbing

    def _open_pty(self) -> None:
        import tty  # POSIX only (checked in __init__)
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as they are
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.device = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + f".tmp{os.getpid()}")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(self.device, tmp)
            os.replace(tmp, self.link)
        if self.register:
            self._registry = register_virtual_board(
                str(id(self)), self.device, f"virtual {self.protocol} board ({self.rate_hz:g} Hz, emulate-board)",
                str(self.link) if self.link is not None else None)
        self._out = b""

    def _close_pty(self) -> None:
        if self.link is not None and self.link.is_symlink():
            self.link.unlink()
        if self._registry is not None:
            unregister_virtual_board(self._registry)
            self._registry = None
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1

    def _write(self, data: bytes) -> bool:
        """Queue bytes to the host; False (and nothing written) when the TX buffer is full."""
        if self._out:
            self._flush_out()
            if self._out:
                return False
        try:
            n = os.write(self._master, data)
        except BlockingIOError:
            return False
        except OSError:
            return False
        self._out = data[n:]
        return True

    def _flush_out(self) -> None:
        if self._out:
            try:
                n = os.write(self._master, self._out)
                self._out = self._out[n:]
            except (BlockingIOError, OSError):
                pass

    # ----------------------------------------------------------------- lifecycle

    def start(self, timeout: float = 5.0) -> "BoardEmulator":
        """Run in a background thread; return once the device exists (a running emulator is left as it is)."""
        if self.alive:
            return self
        self._thread = threading.Thread(target=self.run, name="board-emulator", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            raise TwitchsenseError("the board emulator did not start")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def unplug_now(self, for_s: float) -> None:
        """Vanish for ``for_s`` seconds as soon as possible (the fault plan's timing, on demand)."""
        if self._first_start_ns is None:
            self._first_start_ns = time.monotonic_ns()
        with self._fault_lock:
            self._pending_unplug.insert(0, (0.0, float(for_s)))

    @property
    def alive(self) -> bool:
        """The board thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "BoardEmulator":
        return self.start()  # already started: keeps running

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> None:
        """The board's main loop, until :meth:`stop`."""
        self._open_pty()
        board = _make_personality(self)
        board.boot()
        self.ready.set()
        try:
            while not self._stop.is_set():
                now = time.monotonic_ns()
                if self._fault_due(now, board):
                    continue
                timeout = board.wait_s(now)
                r, _, _ = select.select([self._master], [], [], max(0.0, min(timeout, 0.05)))
                if r:
                    try:
                        data = os.read(self._master, 4096)
                    except (BlockingIOError, OSError):
                        data = b""
                    if data:
                        board.on_host_bytes(data)
                self._flush_out()
                board.produce(time.monotonic_ns())
        finally:
            self._close_pty()

    def _fault_due(self, now: int, board: "_Personality") -> bool:
        if self._first_start_ns is None:
            return False
        elapsed = (now - self._first_start_ns) / 1e9
        with self._fault_lock:
            unplug = self._pending_unplug.pop(0) if self._pending_unplug and \
                elapsed >= self._pending_unplug[0][0] else None
        if unplug is not None:
            for_s = unplug[1]
            self.stats["unplugs"] += 1
            self._close_pty()
            self.unplugged.set()
            self._stop.wait(for_s)
            self.unplugged.clear()
            if not self._stop.is_set():
                self._open_pty()
                self.boot += 1
                board.boot()
            return True
        if self._pending_stall and elapsed >= self._pending_stall[0][0]:
            _, for_s = self._pending_stall.pop(0)
            self.stats["stalls"] += 1
            self._stop.wait(for_s)  # hung: sends nothing, measures nothing
            try:
                while os.read(self._master, 4096):  # ... and never heard the host meanwhile
                    pass
            except (BlockingIOError, OSError):
                pass
            board.skip(time.monotonic_ns())
            return True
        if self._pending_reboot and elapsed >= self._pending_reboot[0]:
            self._pending_reboot.pop(0)
            self.stats["reboots"] += 1
            board.streaming = False
            self._stop.wait(0.2)  # boot time
            self.boot += 1
            board.boot()
            return True
        return False

    # ----------------------------------------------------------------- samples

    def next_samples(self, n: int) -> tuple[int, np.ndarray]:
        """Take the next ``n`` samples of the feed: (data position, acc in g)."""
        pos = self._data_pos
        self._data_pos += n
        return pos, self.feed.take(pos, n)

    def counts(self, acc: np.ndarray, g_per_count: float) -> np.ndarray:
        return np.clip(np.round(acc / g_per_count), -32768, 32767).astype(np.int16)

    def send_frame(self, wire: bytes, first_index: int, data_pos: int, n: int) -> None:
        """Send one frame, applying the fault plan, and log its fate."""
        f = self.faults
        fate = "sent"
        if f.garbage and self._rng.random() < f.garbage:
            junk = self._rng.integers(0, 256, int(self._rng.integers(1, 40)), dtype=np.uint8).tobytes()
            self._write(junk + b"\x00")  # ends on a delimiter: only the junk is lost, never the next frame
            self.stats["garbage"] += 1
        if f.drop_frames and self._rng.random() < f.drop_frames:
            fate = "dropped"
        elif f.corrupt and self._rng.random() < f.corrupt:
            b = bytearray(wire)
            i = int(self._rng.integers(0, max(len(b) - 1, 1)))  # never the delimiter
            b[i] ^= int(self._rng.integers(1, 256))
            if b[i] == 0:
                b[i] = 0xFF if wire[i] != 0xFF else 0x01
            wire = bytes(b)
            fate = "corrupted"
        sent_ns = time.monotonic_ns()  # before the write: the host may read it at once
        if fate != "dropped" and not self._write(wire):
            fate = "overflow"
        self.stats["dropped" if fate == "dropped" else "corrupted" if fate == "corrupted"
                   else "overflow" if fate == "overflow" else "frames"] += 1
        if fate == "sent":
            self.stats["samples"] += n
        if self.keep_log:
            self.sent.append(SentFrame(sent_ns, self.boot, self.epoch, first_index, data_pos, n, fate))

    def started(self, now: int) -> None:
        self.epoch += 1
        if self._first_start_ns is None:
            self._first_start_ns = now


class _Personality:
    """What makes a board of one protocol: how it boots, answers commands and sends samples."""

    def __init__(self, emu: BoardEmulator) -> None:
        self.emu = emu
        self.streaming = False
        self.stream_start_ns = 0
        self.boot_ns = 0
        self.index = 0

    def boot(self) -> None:
        self.boot_ns = time.monotonic_ns()
        self.streaming = False
        self.index = 0

    def start_streaming(self, now: int) -> None:
        self.streaming = True
        self.stream_start_ns = now
        self.index = 0
        self.emu.started(now)

    def skip(self, now: int) -> None:
        """Samples that fell due while the board was hung were never measured: skip their indices."""
        if self.streaming:
            self.index += max(self.due(now) - 1, 0) // self.emu.spf * self.emu.spf

    def due(self, now: int) -> int:
        """Samples due since START that are not sent yet."""
        return int((now - self.stream_start_ns) * self.emu.rate_hz // 1_000_000_000) + 1 - self.index

    def wait_s(self, now: int) -> float:
        if not self.streaming:
            return 0.05
        next_ns = self.stream_start_ns + (self.index + self.emu.spf - 1) * 1e9 / self.emu.rate_hz
        return max(0.0, (next_ns - now) / 1e9)

    def on_host_bytes(self, data: bytes) -> None:
        pass

    def produce(self, now: int) -> None:
        pass


class _TwitchsenseBoard(_Personality):
    def __init__(self, emu: BoardEmulator) -> None:
        super().__init__(emu)
        from .protocol import frames
        self.f = frames
        self.reader = frames.FrameReader()
        self.last_status_ns = 0
        self.mark_seq = 0                 # marks pressed since START
        self.marks_out: list[bytes] = []  # MARK frames waiting for TX room (never dropped)

    def device_us(self, now: int) -> int:
        return (now - self.boot_ns) // 1000

    def boot(self) -> None:
        super().boot()
        self.reader.reset()
        self.marks_out = []
        self.emu._write(self.f.build_info(self.emu.board_info()))  # unprompted INFO after boot

    def on_host_bytes(self, data: bytes) -> None:
        f, emu = self.f, self.emu
        for msg_type, payload in self.reader.feed(data):
            emu.stats["commands"] += 1
            now = time.monotonic_ns()
            if msg_type == f.CMD_GET_INFO:
                emu._write(f.build_info(emu.board_info()))
            elif msg_type == f.CMD_START:
                try:
                    req = f.parse_start(payload)
                except ValueError:
                    emu._write(f.build_ack(f.CMD_START, f.ACK_BAD_ARGS))
                    continue
                if (req.sample_rate_hz and abs(req.sample_rate_hz - emu.rate_hz) > 1e-6) or \
                        (req.range_g and req.range_g != emu.range_g):
                    emu._write(f.build_ack(f.CMD_START, f.ACK_BAD_ARGS))
                    continue
                emu._write(f.build_ack(f.CMD_START))
                self.start_streaming(now)
            elif msg_type == f.CMD_STOP:
                self.streaming = False
                emu._write(f.build_ack(f.CMD_STOP))
            elif msg_type == f.CMD_PING:
                try:
                    token = f.parse_ping(payload)
                except ValueError:
                    continue
                emu._write(f.build_pong(token, self.device_us(now)))

    def start_streaming(self, now: int) -> None:
        super().start_streaming(now)
        self.mark_seq = 0

    def wait_s(self, now: int) -> float:
        wait = super().wait_s(now)
        if self.streaming and self.emu.mark_every_s:
            wait = min(wait, max(0.0, (self._mark_ns(self.mark_seq) - now) / 1e9))
        return wait

    def _mark_ns(self, seq: int) -> float:
        """Host time of press ``seq`` (0 first) since START."""
        return self.stream_start_ns + (seq + 1) * self.emu.mark_every_s * 1e9

    def press_marks(self, now: int) -> None:
        """The marker button, every ``mark_every_s`` since START; MARK frames wait for room, never dropped."""
        emu, f = self.emu, self.f
        while emu.mark_every_s and now >= self._mark_ns(self.mark_seq):
            t_us = (self.stream_start_ns - self.boot_ns) // 1000 + \
                int(round((self.mark_seq + 1) * emu.mark_every_s * 1e6))
            self.marks_out.append(f.build_mark(t_us, self.mark_seq))
            self.mark_seq += 1
        while self.marks_out and emu._write(self.marks_out[0]):
            self.marks_out.pop(0)
            emu.stats["marks"] += 1

    def produce(self, now: int) -> None:
        emu, f = self.emu, self.f
        if not self.streaming:
            return
        self.press_marks(now)
        if now - self.last_status_ns >= 1_000_000_000:
            self.last_status_ns = now
            emu._write(f.build_status((now - self.boot_ns) // 1_000_000, emu.stats["overflow"]))
        while self.due(now) >= emu.spf:
            n = emu.spf
            pos, acc = emu.next_samples(n)
            t_us = (self.stream_start_ns - self.boot_ns) // 1000 + int(round(self.index * 1e6 / emu.rate_hz))
            wire = f.build_samples(self.index, t_us, emu.counts(acc, emu.scale_g))
            emu.send_frame(wire, self.index, pos, n)
            self.index += n


class _TextBoard(_Personality):
    """An Arduino IMU sketch: a few header lines at boot, then tab-separated g values, always streaming."""

    def boot(self) -> None:
        super().boot()
        self.emu._write(b"Started\r\nAccelerometer sample rate = %d Hz\r\nAcceleration in g's\r\nX\tY\tZ\r\n"
                        % int(self.emu.rate_hz))
        self.start_streaming(time.monotonic_ns())

    def produce(self, now: int) -> None:
        emu = self.emu
        while self.due(now) >= emu.spf:
            n = emu.spf
            pos, acc = emu.next_samples(n)
            counts = emu.counts(acc, 1e-4)  # the sketch prints 4 decimals
            text = "".join(f"{x / 1e4:.4f}\t{y / 1e4:.4f}\t{z / 1e4:.4f}\r\n" for x, y, z in counts.tolist())
            emu.send_frame(text.encode(), self.index, pos, n)
            self.index += n


class _CytonBoard(_Personality):
    """OpenBCI Cyton: ``b`` starts 250 Hz packets, ``s`` stops, ``v`` resets; accelerometer every 10th packet."""

    BANNER = (b"OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n"
              b"LIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$")

    def boot(self) -> None:
        super().boot()
        self.emu._write(self.BANNER)

    def on_host_bytes(self, data: bytes) -> None:
        for c in data:
            self.emu.stats["commands"] += 1
            if c == ord("b"):
                self.start_streaming(time.monotonic_ns())
            elif c == ord("s"):
                self.streaming = False
            elif c == ord("v"):
                self.boot()

    def produce(self, now: int) -> None:
        emu = self.emu
        if not self.streaming:
            return
        while self.due(now) >= 10:  # one accelerometer sample per 10 packets
            pos, acc = emu.next_samples(1)
            xyz = emu.counts(acc, CYTON_G_PER_COUNT)[0].astype(">i2").tobytes()
            out = bytearray()
            for k in range(10):
                counter = (self.index + k) & 0xFF
                aux = xyz if k == 9 else bytes(6)
                out += bytes([0xA0, counter]) + bytes(24) + aux + bytes([0xC0])
            emu.send_frame(bytes(out), self.index, pos, 1)
            self.index += 10


def _make_personality(emu: BoardEmulator) -> _Personality:
    return {"twitchsense": _TwitchsenseBoard, "text": _TextBoard, "cyton": _CytonBoard}[emu.protocol](emu)
