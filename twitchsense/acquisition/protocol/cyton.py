"""Decoder for the OpenBCI Cyton's 33-byte packets: the accelerometer from the aux bytes.

Packet: ``0xA0, counter:u8, 8 x 24-bit EEG (big-endian), 6 aux bytes, footer 0xC0..0xC6``,
250 packets/s, no checksum. With footer 0xC0 the aux bytes are X, Y, Z big-endian
int16 at 0.002/16 g per count; the accelerometer updates at 25 Hz and the packets
in between carry zeros, which mean "no new sample" (not 0 g). Time base: ``t`` is
the packet number (unwrapped from the counter, counting lost packets) / 250.
"""

from __future__ import annotations

import numpy as np

from ...types import LinkEvent, SampleBlock
from .base import AnnouncingDecoder, BoardInfo, DecodeResult

PACKET_LEN = 33
HEADER = 0xA0
FOOTER_ACCEL = 0xC0
SCALE_G_PER_COUNT = 0.002 / 16
PACKET_RATE_HZ = 250.0
ACCEL_RATE_HZ = 25.0

CYTON_INFO = BoardInfo(protocol_version=0, sensor="LIS3DH", range_g=4.0, samples_per_frame=1,
                       sample_rate_hz=ACCEL_RATE_HZ, scale_g_per_lsb=SCALE_G_PER_COUNT, tick_hz=0,
                       name="OpenBCI Cyton")


class CytonDecoder(AnnouncingDecoder):
    """Incremental Cyton packet decoder.

    In sync it reads a packet every 33 bytes; a single damaged packet between two good
    ones is skipped in place. Otherwise bytes are skipped up to the next ``0xA0`` whose
    footer 32 bytes later is valid and which is followed by another valid packet
    (a ``resync`` event counts the skipped bytes).
    Counter gaps are reported as ``lost_samples`` with ``count`` = packets lost.
    """

    def __init__(self, packet_rate_hz: float = PACKET_RATE_HZ) -> None:
        self.packet_rate_hz = float(packet_rate_hz)
        self.info = CYTON_INFO
        self.stats = {"bytes": 0, "packets": 0, "samples": 0, "resyncs": 0, "skipped_bytes": 0,
                      "lost_samples": 0, "other_footer": 0}
        self._packet_no = -1      # unwrapped number of the last packet read
        self._counter = -1        # its raw counter
        self._index = -1          # index of the last accelerometer sample emitted
        self.reset()

    def reset(self) -> None:
        """Forget partial input; the next packet continues the time line (gap unknown: one packet)."""
        self._pending = b""
        self._synced = False
        self._skipped = 0
        self._counter = -1

    def announcement(self) -> list[LinkEvent]:
        """Where the accelerometer comes from, and its rate."""
        return [LinkEvent("info", "OpenBCI Cyton: accelerometer from the aux bytes, 25 Hz")]

    def feed(self, data: bytes, host_ns: int = -1) -> DecodeResult:
        """Consume ``data``; never raises on bad bytes."""
        result = self._begin_feed(data)
        buf = self._pending + bytes(data)
        arr = np.frombuffer(buf, np.uint8)
        size = arr.size
        # valid[p]: a packet could start at p
        valid = np.zeros(size + PACKET_LEN, bool)
        if size >= PACKET_LEN:
            head = arr[:size - PACKET_LEN + 1]
            foot = arr[PACKET_LEN - 1:]
            valid[:size - PACKET_LEN + 1] = (head == HEADER) & (foot >= 0xC0) & (foot <= 0xC6)
        starts: list[int] = []
        pos, last_start = 0, size - PACKET_LEN
        while pos <= last_start:
            if self._synced:
                if valid[pos]:
                    starts.append(pos)
                    pos += PACKET_LEN
                    continue
                if pos + PACKET_LEN > last_start:
                    break  # wait: the next packet tells whether only this one is damaged
                if valid[pos + PACKET_LEN]:  # one damaged packet in place: skip it, stay in sync
                    self._skipped += PACKET_LEN
                    pos += PACKET_LEN
                    self._count_resync(result)
                    continue
                self._synced = False
            # out of sync: the next header with a valid footer, confirmed by the packet after it
            lock, wait = -1, False
            for c in (np.flatnonzero(valid[pos:last_start + 1]) + pos).tolist():
                if c + 2 * PACKET_LEN > size:
                    lock, wait = c, True
                    break
                if valid[c + PACKET_LEN]:
                    lock = c
                    break
            new_pos = lock if lock >= 0 else last_start + 1
            self._skipped += new_pos - pos
            pos = new_pos
            if lock < 0 or wait:
                break
            self._synced = True
            self._count_resync(result)
        self._pending = buf[pos:]
        if starts:
            result.samples = self._packets(arr, np.array(starts, np.int64), host_ns, result)
        return result

    def _count_resync(self, result: DecodeResult) -> None:
        if self._skipped:
            self.stats["resyncs"] += 1
            self.stats["skipped_bytes"] += self._skipped
            result.events.append(LinkEvent("resync", f"skipped {self._skipped} bytes that were not Cyton packets",
                                           data={"bytes": self._skipped}))
            self._skipped = 0

    def _packets(self, arr: np.ndarray, starts: np.ndarray, host_ns: int, result: DecodeResult) -> SampleBlock:
        self.stats["packets"] += int(starts.size)
        counter = arr[starts + 1].astype(np.int64)
        prev = np.concatenate(([self._counter], counter[:-1]))
        step = (counter - prev) % 256
        step[step == 0] = 256 if self._counter >= 0 else 1  # a repeated counter: a whole wrap lost (or a reset)
        if self._counter < 0:
            step[0] = 1  # first packet after start or reset
        lost = step - 1
        number = self._packet_no + np.cumsum(step)
        self._counter = int(counter[-1])
        self._packet_no = int(number[-1])
        for j in np.flatnonzero(lost).tolist():
            c = int(lost[j])
            self.stats["lost_samples"] += c
            result.events.append(LinkEvent("lost_samples", f"{c} Cyton packets lost (counter gap before packet "
                                           f"{int(counter[j])}), about {c / 10:.1f} accelerometer samples",
                                           count=c, t=float(number[j]) / self.packet_rate_hz,
                                           data={"packets": c}))
        footer = arr[starts + PACKET_LEN - 1]
        self.stats["other_footer"] += int((footer != FOOTER_ACCEL).sum())
        aux = arr[(starts + 26)[:, None] + np.arange(6)].astype(np.int16)
        xyz = ((aux[:, 0::2] << 8) | aux[:, 1::2]).astype(np.int16)
        new = (footer == FOOTER_ACCEL) & np.any(xyz != 0, axis=1)
        xyz, number = xyz[new], number[new]
        n = int(xyz.shape[0])
        index = self._index + 1 + np.arange(n, dtype=np.int64)
        if n:
            self._index = int(index[-1])
        self.stats["samples"] += n
        return SampleBlock(number / self.packet_rate_hz, xyz.astype(np.float64) * SCALE_G_PER_COUNT, index,
                           np.full(n, host_ns, np.int64))
