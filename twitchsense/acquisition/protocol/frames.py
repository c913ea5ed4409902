"""Wire protocol v1.1 framing: COBS, CRC-16/CCITT-FALSE, frame builders and parsers, a frame reader.

On the wire every frame is ``COBS(body) + 0x00`` with
``body = msg_type:u8 + payload + crc:u16le`` and the CRC over ``msg_type + payload``
(see ``firmware_protocol/PROTOCOL.md``). Builders return complete wire frames;
:class:`FrameReader` turns an arbitrary byte stream back into frames, counting
what it had to drop. It splits and COBS-decodes many frames at once with numpy,
so the host decoder can unpack thousands of SAMPLES frames per call.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .base import BoardInfo

# --- message types -------------------------------------------------------------------------
MSG_SAMPLES = 0x01
MSG_INFO = 0x02
MSG_ACK = 0x03
MSG_STATUS = 0x04
MSG_PONG = 0x05
MSG_MARK = 0x06
MSG_LOG = 0x7F
CMD_GET_INFO = 0x80
CMD_START = 0x81
CMD_STOP = 0x82
CMD_PING = 0x83

MESSAGE_NAMES = {MSG_SAMPLES: "SAMPLES", MSG_INFO: "INFO", MSG_ACK: "ACK", MSG_STATUS: "STATUS",
                 MSG_PONG: "PONG", MSG_MARK: "MARK", MSG_LOG: "LOG", CMD_GET_INFO: "GET_INFO", CMD_START: "START",
                 CMD_STOP: "STOP", CMD_PING: "PING"}

#: ACK status codes
ACK_OK, ACK_BAD_ARGS, ACK_UNSUPPORTED, ACK_BUSY = 0, 1, 2, 3

PROTOCOL_VERSION = 1
#: minor version this host speaks: 1.1 added MARK and INFO's protocol_minor
PROTOCOL_MINOR = 1
#: the minor version that introduced a message type (types not listed are 1.0): a host of an older
#: minor counts them as unknown types, as a host written before them does
MESSAGE_MINOR = {MSG_MARK: 1}
MAX_BODY = 254                  # bytes of msg_type + payload + crc
MAX_WIRE = MAX_BODY + 1         # COBS bytes of one frame, delimiter excluded
MAX_SAMPLES_PER_FRAME = 40
SAMPLES_HEADER = 9              # first_sample_index:u32, t_first_us:u32, n:u8
INFO_FIXED = 28
MARK_PAYLOAD = 6                # t_us:u32, seq:u16
MAX_NAME = 32

#: sensor_type codes of INFO
SENSOR_TYPES = {0: "unknown", 1: "MPU6050", 2: "LSM6DS3", 3: "LSM9DS1", 4: "LIS3DH", 5: "BMI270"}
SENSOR_CODES = {name.lower(): code for code, name in SENSOR_TYPES.items()}


# --- CRC and COBS --------------------------------------------------------------------------
def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, xorout 0)."""
    return binascii.crc_hqx(data, 0xFFFF)


def _crc_table() -> np.ndarray:
    table = np.zeros(256, np.int64)
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table[i] = crc & 0xFFFF
    return table


_CRC_TABLE = _crc_table()


def crc16_many(data: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE of many slices ``data[start[i]:start[i] + length[i]]`` at once.

    Many slices of the same length are processed together, one byte column per step
    (table-driven), so the cost is per distinct length, not per slice.
    """
    out = np.empty(start.size, np.int64)
    lengths, inverse = np.unique(length, return_inverse=True)
    for g, n in enumerate(lengths.tolist()):
        members = np.flatnonzero(inverse == g)
        if members.size < 256:  # below this, one binascii call per slice is quicker than n numpy steps
            raw = data.tobytes()
            crc_hqx = binascii.crc_hqx
            out[members] = [crc_hqx(raw[a:a + n], 0xFFFF) for a in start[members].tolist()]
            continue
        cols = data[start[members][:, None] + np.arange(n)]
        crc = np.full(members.size, 0xFFFF, np.int64)
        for j in range(n):
            crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ cols[:, j]]
        out[members] = crc
    return out


def cobs_encode(data: bytes) -> bytes:
    """Consistent-overhead byte stuffing: the result has no zero byte.

    Canonical form: a final run of exactly 254 non-zero bytes is not followed by a
    ``0x01`` code, so a body of at most 254 bytes grows by exactly one byte.
    """
    out = bytearray()
    blocks = bytes(data).split(b"\x00")
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        full = False
        while len(block) >= 254:
            out.append(0xFF)
            out += block[:254]
            block = block[254:]
            full = True
        if full and not block and i == last:
            break
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode` (delimiter not included); ``ValueError`` on malformed input."""
    data = bytes(data)
    if not data:
        raise ValueError("empty COBS frame")
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise ValueError(f"zero byte inside a COBS frame at offset {i}")
        end = i + code
        if end > n:
            raise ValueError(f"COBS frame truncated: code {code} at offset {i} needs {end - n} more bytes")
        block = data[i + 1:end]
        if 0 in block:
            raise ValueError("zero byte inside a COBS frame")
        out += block
        i = end
        if code < 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(msg_type: int, payload: bytes = b"") -> bytes:
    """A complete wire frame: ``COBS(msg_type + payload + crc16le) + 0x00``."""
    if not 0 <= msg_type <= 0xFF:
        raise ValueError(f"msg_type must be 0..255, got {msg_type}")
    body = bytes([msg_type]) + bytes(payload)
    body += crc16(body).to_bytes(2, "little")
    if len(body) > MAX_BODY:
        raise ValueError(f"frame body is {len(body)} bytes, at most {MAX_BODY} allowed")
    return cobs_encode(body) + b"\x00"


def decode_body(body: bytes) -> tuple[int, bytes]:
    """Check a COBS-decoded body's CRC; return ``(msg_type, payload)`` or raise ``ValueError``."""
    if len(body) < 3:
        raise ValueError(f"frame body of {len(body)} bytes is shorter than type + CRC")
    if len(body) > MAX_BODY:
        raise ValueError(f"frame body is {len(body)} bytes, at most {MAX_BODY} allowed")
    want = int.from_bytes(body[-2:], "little")
    got = crc16(body[:-2])
    if want != got:
        raise ValueError(f"CRC mismatch: frame says 0x{want:04X}, computed 0x{got:04X}")
    return body[0], bytes(body[1:-2])


# --- device -> host builders -----------------------------------------------------------------
def build_samples(first_index: int, t_first_us: int, counts: np.ndarray) -> bytes:
    """SAMPLES frame: ``counts`` is an (n, 3) array of int16 raw counts, n in 1..40.

    ``first_index`` and ``t_first_us`` are taken modulo 2**32 (both wrap on the device).
    """
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] != 3:
        raise ValueError(f"counts must have shape (n, 3), got {c.shape}")
    n = c.shape[0]
    if not 1 <= n <= MAX_SAMPLES_PER_FRAME:
        raise ValueError(f"a SAMPLES frame holds 1..{MAX_SAMPLES_PER_FRAME} samples, got {n}")
    if c.size and (c.min() < -32768 or c.max() > 32767):
        raise ValueError("counts must fit in int16")
    head = struct.pack("<IIB", int(first_index) & 0xFFFFFFFF, int(t_first_us) & 0xFFFFFFFF, n)
    return encode_frame(MSG_SAMPLES, head + c.astype("<i2").tobytes())


def _firmware_triple(text: str) -> tuple[int, int, int]:
    parts = [p for p in str(text).split(".") if p != ""]
    nums = []
    for p in parts[:3]:
        try:
            nums.append(int(p) & 0xFF)
        except ValueError:
            nums.append(0)
    return tuple((nums + [0, 0, 0])[:3])  # type: ignore[return-value]


def build_info(info: BoardInfo, sensor_type: int | None = None, uid: bytes | None = None) -> bytes:
    """INFO frame from a :class:`BoardInfo`.

    ``sensor_type`` defaults to the code of ``info.sensor`` (0 when unknown); ``uid``
    (8 bytes) defaults to ``info.uid`` read as hex, else eight zero bytes.
    """
    if sensor_type is None:
        sensor_type = SENSOR_CODES.get(info.sensor.lower(), 0)
    if uid is None:
        try:
            uid = bytes.fromhex(info.uid) if info.uid else bytes(8)
        except ValueError:
            uid = bytes(8)
    uid = bytes(uid)[:8].ljust(8, b"\x00")
    name = info.name.encode("utf-8")[:MAX_NAME]
    while name:  # never cut a UTF-8 character in two
        try:
            name.decode("utf-8")
            break
        except UnicodeDecodeError:
            name = name[:-1]
    major, minor, patch = _firmware_triple(info.firmware)
    payload = struct.pack("<BBBBIII", int(info.protocol_version), int(sensor_type), int(round(info.range_g)),
                          int(info.samples_per_frame), int(round(info.sample_rate_hz * 1000)),
                          int(round(info.scale_g_per_lsb * 1e9)), int(info.tick_hz))
    payload += uid + bytes([major, minor, patch, len(name)]) + name
    if info.protocol_minor:  # a 1.0 board's INFO ends after the name
        payload += bytes([int(info.protocol_minor) & 0xFF])
    return encode_frame(MSG_INFO, payload)


def build_ack(cmd_type: int, status: int = ACK_OK) -> bytes:
    """ACK frame answering host command ``cmd_type`` (status 0 ok, 1 bad args, 2 unsupported, 3 busy)."""
    return encode_frame(MSG_ACK, bytes([cmd_type & 0xFF, status & 0xFF]))


def build_status(uptime_ms: int, tx_overflow_frames: int, flags: int = 0) -> bytes:
    """STATUS frame (about 1 Hz): uptime, frames dropped for lack of TX room, flags."""
    return encode_frame(MSG_STATUS, struct.pack("<IIB", uptime_ms & 0xFFFFFFFF,
                                                tx_overflow_frames & 0xFFFFFFFF, flags & 0xFF))


def build_pong(token: int, device_time_us: int) -> bytes:
    """PONG frame answering PING ``token`` with the device clock."""
    return encode_frame(MSG_PONG, struct.pack("<II", token & 0xFFFFFFFF, device_time_us & 0xFFFFFFFF))


def build_mark(t_us: int, seq: int) -> bytes:
    """MARK frame (v1.1): the marker button pressed at device clock ``t_us``; ``seq`` counts marks since START."""
    return encode_frame(MSG_MARK, struct.pack("<IH", t_us & 0xFFFFFFFF, seq & 0xFFFF))


def build_log(text: str) -> bytes:
    """LOG frame; text longer than fits in one frame is cut at a character boundary."""
    raw = text.encode("utf-8")[:MAX_BODY - 3]
    return encode_frame(MSG_LOG, raw.decode("utf-8", errors="ignore").encode("utf-8"))


# --- host -> device builders -----------------------------------------------------------------
def build_command(cmd_type: int, payload: bytes = b"") -> bytes:
    """A host command frame (GET_INFO, START, STOP, PING)."""
    if cmd_type < 0x80:
        raise ValueError(f"host commands have types >= 0x80, got 0x{cmd_type:02X}")
    return encode_frame(cmd_type, payload)


def build_start(sample_rate_hz: float | None = None, range_g: int = 0) -> bytes:
    """START command; with no arguments the board keeps its rate and range (empty payload)."""
    if sample_rate_hz is None and not range_g:
        return build_command(CMD_START)
    mhz = 0 if sample_rate_hz is None else int(round(sample_rate_hz * 1000))
    return build_command(CMD_START, struct.pack("<IB", mhz & 0xFFFFFFFF, int(range_g) & 0xFF))


def build_ping(token: int) -> bytes:
    """PING command carrying ``token`` (echoed in the PONG)."""
    return build_command(CMD_PING, struct.pack("<I", token & 0xFFFFFFFF))


# --- payload parsers -------------------------------------------------------------------------
class StartRequest(NamedTuple):
    """Arguments of a START command: ``None`` / 0 mean "keep the current setting"."""

    sample_rate_hz: float | None
    range_g: int


def parse_start(payload: bytes) -> StartRequest:
    """Read a START payload (empty, rate only, or rate and range; a longer tail is ignored)."""
    if len(payload) == 0:
        return StartRequest(None, 0)
    if len(payload) < 4:
        raise ValueError(f"START payload of {len(payload)} bytes: expected 0, 4 or 5")
    mhz = struct.unpack_from("<I", payload)[0]
    rng = payload[4] if len(payload) >= 5 else 0
    return StartRequest(mhz / 1000.0 if mhz else None, rng)


def parse_ping(payload: bytes) -> int:
    """Token of a PING payload."""
    if len(payload) < 4:
        raise ValueError(f"PING payload of {len(payload)} bytes: expected 4")
    return struct.unpack_from("<I", payload)[0]


def parse_info(payload: bytes) -> BoardInfo:
    """Read an INFO payload (a longer tail is ignored); ``ValueError`` when it is too short."""
    if len(payload) < INFO_FIXED:
        raise ValueError(f"INFO payload of {len(payload)} bytes is shorter than {INFO_FIXED}")
    version, sensor, rng, spf, mhz, ng, tick = struct.unpack_from("<BBBBIII", payload)
    uid = payload[16:24]
    major, minor, patch, name_len = payload[24:28]
    if name_len > MAX_NAME:
        raise ValueError(f"INFO name_len is {name_len}, at most {MAX_NAME} allowed")
    if len(payload) < INFO_FIXED + name_len:
        raise ValueError(f"INFO payload of {len(payload)} bytes is too short for a {name_len}-byte name")
    name = bytes(payload[INFO_FIXED:INFO_FIXED + name_len]).decode("utf-8", errors="replace")
    tail = payload[INFO_FIXED + name_len:]
    return BoardInfo(protocol_version=version, sensor=SENSOR_TYPES.get(sensor, f"type {sensor}"),
                     range_g=float(rng), samples_per_frame=spf, sample_rate_hz=mhz / 1000.0,
                     scale_g_per_lsb=ng * 1e-9, tick_hz=tick, uid=bytes(uid).hex(),
                     firmware=f"{major}.{minor}.{patch}", name=name, protocol_minor=tail[0] if tail else 0)


class Ack(NamedTuple):
    cmd_type: int
    status: int


def parse_ack(payload: bytes) -> Ack:
    if len(payload) < 2:
        raise ValueError(f"ACK payload of {len(payload)} bytes: expected 2")
    return Ack(payload[0], payload[1])


class Status(NamedTuple):
    uptime_ms: int
    tx_overflow_frames: int
    flags: int


def parse_status(payload: bytes) -> Status:
    if len(payload) < 9:
        raise ValueError(f"STATUS payload of {len(payload)} bytes: expected 9")
    return Status(*struct.unpack_from("<IIB", payload))


class Pong(NamedTuple):
    token: int
    device_time_us: int


def parse_pong(payload: bytes) -> Pong:
    if len(payload) < 8:
        raise ValueError(f"PONG payload of {len(payload)} bytes: expected 8")
    return Pong(*struct.unpack_from("<II", payload))


class Mark(NamedTuple):
    t_us: int
    seq: int


def parse_mark(payload: bytes) -> Mark:
    """Read a MARK payload (a longer tail is ignored)."""
    if len(payload) < MARK_PAYLOAD:
        raise ValueError(f"MARK payload of {len(payload)} bytes: expected {MARK_PAYLOAD}")
    return Mark(*struct.unpack_from("<IH", payload))


# --- frame reader --------------------------------------------------------------------------
FRAME_OK = 0
FRAME_CRC_ERROR = 1
FRAME_COBS_ERROR = 2
FRAME_TOO_SHORT = 3
FRAME_OVERSIZE = 4
FRAME_BAD_LENGTH = 5  # set by payload checks of the decoder, not by the reader

FRAME_PROBLEMS = {FRAME_CRC_ERROR: "CRC mismatch", FRAME_COBS_ERROR: "malformed COBS",
                  FRAME_TOO_SHORT: "frame shorter than type + CRC",
                  FRAME_OVERSIZE: f"no delimiter within {MAX_WIRE + 1} bytes (oversize frame)",
                  FRAME_BAD_LENGTH: "payload length does not match its type"}


@dataclass
class FrameBatch:
    """Frames completed by one :meth:`FrameReader.split` call, in wire order (parallel arrays).

    ``data`` holds the COBS-decoded bodies; frame i's payload is
    ``data[start[i]:start[i] + length[i]]``, valid when ``status[i] == FRAME_OK``.
    ``resync[i]`` is true for a good frame that follows one or more bad ones.
    """

    data: np.ndarray
    status: np.ndarray
    msg_type: np.ndarray
    start: np.ndarray
    length: np.ndarray
    wire_len: np.ndarray
    resync: np.ndarray

    def __len__(self) -> int:
        return int(self.status.size)

    def payload(self, i: int) -> bytes:
        s = int(self.start[i])
        return self.data[s:s + int(self.length[i])].tobytes()


_EMPTY_I64 = np.empty(0, np.int64)


class FrameReader:
    """Incremental frame reader: ``feed(bytes)`` gives ``[(msg_type, payload), ...]``.

    Bytes may be split anywhere between calls. Malformed frames are dropped and
    counted in :attr:`stats` (``crc_errors``, ``bad_frames``, ``resyncs``); it never
    raises on bad bytes. After garbage it resynchronises at the next ``0x00``.
    Empty frames (a lone ``0x00``, as hosts send to flush) are ignored.
    """

    def __init__(self) -> None:
        self.stats = {"bytes": 0, "frames": 0, "crc_errors": 0, "bad_frames": 0, "resyncs": 0}
        self.reset()

    def reset(self) -> None:
        """Forget partial input (the counters stay)."""
        self._pending = b""
        self._discarding = False
        self._in_error = False

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Consume bytes; return the good frames they completed as ``(msg_type, payload)``."""
        batch = self.split(data)
        return [(int(batch.msg_type[i]), batch.payload(i)) for i in np.flatnonzero(batch.status == FRAME_OK)]

    def split(self, data: bytes) -> FrameBatch:
        """Consume bytes; return every frame they completed (good and bad) as a :class:`FrameBatch`."""
        self.stats["bytes"] += len(data)
        buf = self._pending + bytes(data)
        arr = np.frombuffer(buf, np.uint8)
        zeros = np.flatnonzero(arr == 0)
        begin = 0
        if self._discarding:
            if zeros.size == 0:
                self._pending = b""
                return self._finish(arr, _EMPTY_I64, _EMPTY_I64, trailing_oversize=False)
            begin = int(zeros[0]) + 1
            zeros = zeros[1:]
            self._discarding = False
        if zeros.size:
            seg_start = np.concatenate(([begin], zeros[:-1] + 1)).astype(np.int64)
            seg_end = zeros.astype(np.int64)
            tail = int(zeros[-1]) + 1
        else:
            seg_start = seg_end = _EMPTY_I64
            tail = begin
        keep = seg_end > seg_start
        seg_start, seg_end = seg_start[keep], seg_end[keep]
        trailing_oversize = len(buf) - tail > MAX_WIRE
        if trailing_oversize:
            self._pending = b""
            self._discarding = True
        else:
            self._pending = buf[tail:]
        return self._finish(arr, seg_start, seg_end, trailing_oversize)

    def _finish(self, arr: np.ndarray, seg_start: np.ndarray, seg_end: np.ndarray,
                trailing_oversize: bool) -> FrameBatch:
        m = seg_start.size
        status = np.zeros(m, np.int8)
        seg_len = seg_end - seg_start
        status[seg_len > MAX_WIRE] = FRAME_OVERSIZE
        # Walk the COBS code chains of all frames at once. Each step moves every frame to its
        # next code byte; a frame that reached its delimiter stays there (the code read there
        # is 0), so no compaction is needed. mark: 1 = a zero byte, 2 = dropped (after 0xFF).
        normal = np.flatnonzero(status == FRAME_OK)
        size = arr.size
        mark = np.zeros(size + 1, np.uint8)
        ends = seg_end
        pos = seg_end.copy()
        pos[normal] = seg_start[normal]
        overrun = np.zeros(m, bool)
        code = arr[pos].astype(np.int64) if m else _EMPTY_I64
        while m and code.any():
            nxt = pos + code
            overrun |= nxt > ends
            np.minimum(nxt, ends, out=nxt)
            mark[nxt] = 1 + (code == 0xFF)
            pos = nxt
            code = arr[pos].astype(np.int64)
        status[overrun] = FRAME_COBS_ERROR
        mark[seg_start[normal]] = 2  # the first code byte
        mark[seg_end] = 2            # delimiters
        out = arr.copy()
        out[mark[:size] == 1] = 0
        keep = mark[:size] != 2
        cum = np.zeros(size + 1, np.int64)
        np.cumsum(keep, out=cum[1:])
        data = out[keep]
        body_start = cum[seg_start]
        body_len = cum[seg_end] - body_start
        short = (status == FRAME_OK) & (body_len < 3)
        status[short] = FRAME_TOO_SHORT
        good = np.flatnonzero(status == FRAME_OK)
        msg_type = np.zeros(m, np.int64)
        if good.size:
            bs, bl = body_start[good], body_len[good]
            computed = crc16_many(data, bs, bl - 2)
            stored = data[bs + bl - 2].astype(np.int64) | (data[bs + bl - 1].astype(np.int64) << 8)
            status[good[computed != stored]] = FRAME_CRC_ERROR
            msg_type[good] = data[bs]
        if trailing_oversize:
            status = np.append(status, np.int8(FRAME_OVERSIZE))
            msg_type = np.append(msg_type, 0)
            body_start = np.append(body_start, 0)
            body_len = np.append(body_len, 3)
            seg_len = np.append(seg_len, MAX_WIRE + 1)
        bad = status != FRAME_OK
        prev_bad = np.empty(bad.size, bool)
        if bad.size:
            prev_bad[0] = self._in_error
            prev_bad[1:] = bad[:-1]
            self._in_error = bool(bad[-1])
        resync = ~bad & prev_bad
        n_ok = int(bad.size - bad.sum())
        self.stats["frames"] += n_ok
        self.stats["crc_errors"] += int((status == FRAME_CRC_ERROR).sum())
        self.stats["bad_frames"] += int(bad.sum() - (status == FRAME_CRC_ERROR).sum())
        self.stats["resyncs"] += int(resync.sum())
        return FrameBatch(data=data, status=status, msg_type=msg_type, start=body_start + 1,
                          length=body_len - 3, wire_len=seg_len + 1, resync=resync)
