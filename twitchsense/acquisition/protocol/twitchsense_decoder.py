"""Host decoder for the project's own wire protocol v1.1 (see ``firmware_protocol/PROTOCOL.md``).

Time base of :class:`SampleBlock` ``t``: seconds of the device clock since the
first sample after START (sample k of a frame at ``t_first + k / rate``),
unwrapped across the 32-bit tick wrap. A decoder that joins a stream already
running puts its first frame at ``first_sample_index / rate``. After a reboot,
a new START or :meth:`TwitchsenseDecoder.reset`, ``t`` is re-anchored on the
host arrival time so an outage shows as a gap of about its real length, and
``index`` continues from the last sample emitted.

A MARK frame (v1.1: the board's marker button) becomes a :class:`~twitchsense.types.Marker`
(``source="board"``) on the same time base: its device clock reading is placed as a
sample's would be. A MARK that comes before the stream is anchored (before the first
SAMPLES frame after START) is placed once that frame arrives.
"""

from __future__ import annotations

import numpy as np

from ...types import LinkEvent, Marker, SampleBlock
from .base import BoardInfo, DecodeResult, Reply
from .clock import ClockEstimate
from .frames import (ACK_OK, CMD_START, FRAME_BAD_LENGTH, FRAME_CRC_ERROR, FRAME_OK, FRAME_PROBLEMS,
                     MAX_SAMPLES_PER_FRAME, MESSAGE_MINOR, MSG_ACK, MSG_INFO, MSG_LOG, MSG_MARK, MSG_PONG, MSG_SAMPLES,
                     MSG_STATUS, PROTOCOL_MINOR, PROTOCOL_VERSION, SAMPLES_HEADER, FrameBatch, FrameReader, Mark,
                     parse_ack, parse_info, parse_mark, parse_pong, parse_status)

_WRAP = 1 << 32
_MASK = _WRAP - 1
_HALF = 1 << 31

STAT_KEYS = ("bytes", "frames", "samples", "crc_errors", "bad_frames", "resyncs", "lost_samples", "reboots",
             "unknown_types", "overflow_frames", "samples_dropped", "markers", "markers_lost")
_SEQ_MASK = 0xFFFF  # MARK seq is a u16


def _gather_u32(data: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Little-endian u32 at each byte offset ``pos`` of ``data``, as int64."""
    b = data[pos[:, None] + np.arange(4)].astype(np.int64)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


class TwitchsenseDecoder:
    """Incremental decoder of protocol v1.1: bytes in, samples in g, board info, link events, replies
    and the board's markers out.

    ``info`` gives the board's scale and rate before its INFO frame arrives
    (normally the handshake's GET_INFO provides it; SAMPLES seen before any INFO
    are dropped and counted in ``stats["samples_dropped"]``). ``minor`` is the
    minor protocol version this host reads: message types added after it are
    counted as unknown types and ignored, as by a host written before them
    (``minor=0``: a v1.0 host, to which MARK is unknown). ``clock`` is the running
    device-to-host clock estimate (offset, drift in ppm).
    """

    def __init__(self, info: BoardInfo | None = None, minor: int = PROTOCOL_MINOR) -> None:
        self.info = info
        self.minor = minor
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.clock = ClockEstimate()
        self._reader = FrameReader()
        self._out_t: float | None = None   # t of the last sample emitted
        self._out_index = -1               # index of the last sample emitted
        self._last_host_ns = -1
        self._last_frame_t = 0.0           # t of the first sample of the last SAMPLES frame
        self._pending_marks: list[int] = []  # raw device times of MARKs that came before the anchor
        self._reset_stream()

    # -- state ------------------------------------------------------------------------------
    def _reset_stream(self) -> None:
        self._reader.reset()
        self._anchored = False
        self._restart: str | None = None   # "start", "reboot", "reset": re-anchor at the next frame
        self._raw_first = 0                # raw u32 first_sample_index of the last frame
        self._raw_t = 0                    # raw u32 t_first of the last frame
        self._last_n = 0
        self._ticks = 0                    # unwrapped ticks of the last frame since the anchor
        self._t_anchor = 0.0               # stream t at ticks 0
        self._first_out = 0                # output index of the last frame's first sample
        self._uptime_ms: int | None = None
        self._overflow: int | None = None
        self._warned_no_info = False
        self._mark_seq: int | None = None  # seq of the last MARK since START

    def reset(self) -> None:
        """Forget partial input and the device's stream state (after a reconnect).

        Board info, counters and the output time line are kept: the next samples
        continue ``t`` (re-anchored on host arrival time) and ``index``.
        """
        self._reset_stream()
        self.clock.reset()
        if self._out_t is not None:
            self._restart = "reset"

    # -- feeding ----------------------------------------------------------------------------
    def feed(self, data: bytes, host_ns: int = -1) -> DecodeResult:
        """Consume ``data`` (arrived at host time ``host_ns``); never raises on bad bytes."""
        self.stats["bytes"] += len(data)
        result = DecodeResult()
        batch = self._reader.split(data)
        if not len(batch):
            return result
        blocks: list[SampleBlock] = []
        is_samples, first, tfirst, n, offsets, counts = self._unpack_samples(batch)
        sample_frames = np.flatnonzero(is_samples)
        self.stats["frames"] += int(sample_frames.size)
        pos = 0
        for fi in np.flatnonzero(~is_samples).tolist():
            k = int(np.searchsorted(sample_frames, fi))
            if k > pos:
                self._samples_run(first, tfirst, n, offsets, counts, pos, k, host_ns, blocks, result)
                pos = k
            self._other_frame(batch, fi, host_ns, result)
        if pos < sample_frames.size:
            self._samples_run(first, tfirst, n, offsets, counts, pos, sample_frames.size, host_ns, blocks, result)
        resyncs = np.flatnonzero(batch.resync)
        if resyncs.size:
            self.stats["resyncs"] += int(resyncs.size)
            result.events.append(LinkEvent("resync", "skipped undecodable bytes up to the next frame delimiter",
                                           count=int(resyncs.size), t=self._out_t))
        result.samples = SampleBlock.concat(blocks)
        self._place_marks(result)
        if len(result.samples) and host_ns >= 0:
            self.clock.add(float(result.samples.t[-1]), host_ns)
        return result

    def _unpack_samples(self, batch: FrameBatch):
        """Vectorised unpacking of every well-formed SAMPLES frame of the batch."""
        ok = (batch.status == FRAME_OK) & (batch.msg_type == MSG_SAMPLES)
        cand = np.flatnonzero(ok)
        is_samples = np.zeros(len(batch), bool)
        if cand.size == 0:
            empty = np.empty(0, np.int64)
            return is_samples, empty, empty, empty, np.zeros(1, np.int64), np.empty((0, 3), np.int16)
        start, length = batch.start[cand], batch.length[cand]
        long_enough = length >= SAMPLES_HEADER
        nn = np.zeros(cand.size, np.int64)
        nn[long_enough] = batch.data[start[long_enough] + 8]
        valid = long_enough & (nn >= 1) & (nn <= MAX_SAMPLES_PER_FRAME) & (length == SAMPLES_HEADER + 6 * nn)
        batch.status[cand[~valid]] = FRAME_BAD_LENGTH
        cand, start, nn = cand[valid], start[valid], nn[valid]
        is_samples[cand] = True
        first = _gather_u32(batch.data, start)
        tfirst = _gather_u32(batch.data, start + 4)
        offsets = np.zeros(cand.size + 1, np.int64)
        np.cumsum(nn, out=offsets[1:])
        nbytes = 6 * nn
        byte_off = np.zeros(cand.size + 1, np.int64)
        np.cumsum(nbytes, out=byte_off[1:])
        src = np.arange(int(byte_off[-1]), dtype=np.int64) + np.repeat(start + SAMPLES_HEADER - byte_off[:-1], nbytes)
        counts = batch.data[src].view("<i2").reshape(-1, 3)
        return is_samples, first, tfirst, nn, offsets, counts

    # -- SAMPLES ----------------------------------------------------------------------------
    def _samples_run(self, F, T, N, offsets, counts, a, b, host_ns, blocks, result) -> None:
        """Frames a..b-1 (indices into the unpacked SAMPLES arrays), consecutive on the wire."""
        info = self.info
        if info is None or info.sample_rate_hz <= 0 or info.tick_hz <= 0:
            dropped = int(offsets[b] - offsets[a])
            self.stats["samples_dropped"] += dropped
            if not self._warned_no_info:
                self._warned_no_info = True
                result.events.append(LinkEvent("warning", "SAMPLES before the board's INFO: scale and rate "
                                               "unknown, samples dropped until INFO arrives", count=dropped))
            return
        rate, tick, scale = float(info.sample_rate_hz), float(info.tick_hz), float(info.scale_g_per_lsb)
        i = a
        while i < b:
            if self._restart is not None or (not self._anchored and self._out_t is not None):
                self._anchor(F[i], T[i], self._restart_time(host_ns, rate), self._out_index + 1)
                self._restart = None
                self.clock.reset()
            elif not self._anchored:  # the first frame this decoder sees
                self._anchor(F[i], T[i], float(F[i]) / rate, int(F[i]))
            f, tt, nn = F[i:b], T[i:b], N[i:b]
            prev_f = np.concatenate(([self._raw_first], f[:-1]))
            prev_t = np.concatenate(([self._raw_t], tt[:-1]))
            prev_n = np.concatenate(([self._last_n], nn[:-1]))
            didx = (f - prev_f) & _MASK
            lost = (didx - prev_n) & _MASK
            back = np.flatnonzero(lost >= _HALF)
            stop = b if back.size == 0 else i + int(back[0])
            if stop == i:  # this frame's index went backwards: the board restarted counting
                self.stats["reboots"] += 1
                result.events.append(LinkEvent(
                    "reboot", f"sample index went back from {(self._raw_first + self._last_n) & _MASK} to "
                    f"{int(F[i])}: the board restarted", t=self._out_t,
                    data={"expected_index": int((self._raw_first + self._last_n) & _MASK), "index": int(F[i])}))
                self._restart = "reboot"
                continue
            m = stop - i
            didx, lost = didx[:m], lost[:m]
            d_t = (tt[:m] - prev_t[:m]) & _MASK
            wraps = np.rint((didx * (tick / rate) - d_t) / _WRAP)
            ticks = self._ticks + np.cumsum(d_t + wraps.astype(np.int64) * _WRAP)
            t_first = self._t_anchor + ticks / tick
            first_out = self._first_out + np.cumsum(didx)
            nn = nn[:m]
            # the device clock must move forward: re-anchor on the sample index where it does not
            prev_last = np.concatenate(([self._out_t if self._out_t is not None else -np.inf],
                                        t_first[:-1] + (nn[:-1] - 1) / rate))
            viol = np.flatnonzero(t_first <= prev_last)
            if viol.size:
                v = int(viol[0])
                if v == 0:  # (only possible after an emitted sample: prev_last[0] is finite)
                    t_fix = float(prev_last[0]) + float(lost[0] + 1) / rate
                    result.events.append(LinkEvent("warning", "device clock did not advance between SAMPLES "
                                                   "frames; time re-anchored on the sample index", t=t_fix))
                    if lost[0]:
                        self._lost(result, int(lost[0]), int(first_out[0]), t_fix)
                    self._anchor(F[i], T[i], t_fix, int(first_out[0]))
                    continue
                m = v
                stop = i + m
                didx, lost, ticks, t_first, first_out, nn = (didx[:m], lost[:m], ticks[:m], t_first[:m],
                                                              first_out[:m], nn[:m])
            for j in np.flatnonzero(lost).tolist():
                self._lost(result, int(lost[j]), int(first_out[j]), float(t_first[j]))
            s0, s1 = int(offsets[i]), int(offsets[stop])
            total = s1 - s0
            within = np.arange(total, dtype=np.int64) - np.repeat(offsets[i:stop] - s0, nn)
            t = np.repeat(t_first, nn) + within / rate
            index = np.repeat(first_out, nn) + within
            acc = counts[s0:s1].astype(np.float64) * scale
            blocks.append(SampleBlock(t, acc, index, np.full(total, host_ns, np.int64)))
            self.stats["samples"] += total
            last = m - 1
            self._raw_first, self._raw_t, self._last_n = int(F[stop - 1]), int(T[stop - 1]), int(nn[last])
            self._ticks, self._first_out = int(ticks[last]), int(first_out[last])
            self._last_frame_t = float(t_first[last])
            self._out_t = float(t[-1])
            self._out_index = int(index[-1])
            self._last_host_ns = host_ns
            i = stop

    def _lost(self, result: DecodeResult, count: int, next_index: int, t: float) -> None:
        self.stats["lost_samples"] += count
        result.events.append(LinkEvent("lost_samples", f"{count} samples lost before sample {next_index}",
                                       count=count, t=t, data={"first_index": next_index - count, "count": count}))

    def _anchor(self, raw_first: int, raw_t: int, t_anchor: float, first_out: int) -> None:
        """Start a new stretch of device time at this frame."""
        self._anchored = True
        self._raw_first, self._raw_t, self._last_n = int(raw_first), int(raw_t), 0
        self._ticks, self._t_anchor, self._first_out = 0, float(t_anchor), int(first_out)

    def _restart_time(self, host_ns: int, rate: float) -> float:
        """Stream time of the first frame after a restart: the host-measured gap, never backwards."""
        if self._out_t is None:
            return 0.0
        floor = self._out_t + 1.0 / rate
        if host_ns >= 0 and self._last_host_ns >= 0:
            return max(floor, self._last_frame_t + (host_ns - self._last_host_ns) * 1e-9)
        return floor

    # -- other frames -----------------------------------------------------------------------
    def _error(self, result: DecodeResult, kind: str, detail: str) -> None:
        """Count a dropped frame; consecutive ones of the same kind become one event."""
        self.stats["crc_errors" if kind == "crc_error" else "bad_frames"] += 1
        ev = result.events
        if ev and ev[-1].kind == kind and ev[-1].detail == detail:
            ev[-1] = LinkEvent(kind, detail, ev[-1].count + 1, ev[-1].t, ev[-1].data)
        else:
            ev.append(LinkEvent(kind, detail, t=self._out_t))

    def _other_frame(self, batch: FrameBatch, i: int, host_ns: int, result: DecodeResult) -> None:
        status = int(batch.status[i])
        if status == FRAME_CRC_ERROR:
            self._error(result, "crc_error", "frame failed its CRC check")
            return
        if status != FRAME_OK:
            name = "SAMPLES " if status == FRAME_BAD_LENGTH else ""
            self._error(result, "bad_frame", name + FRAME_PROBLEMS[status])
            return
        mtype = int(batch.msg_type[i])
        payload = batch.payload(i)
        try:
            if mtype == MSG_INFO:
                self._on_info(parse_info(payload), result)
            elif mtype == MSG_ACK:
                ack = parse_ack(payload)
                result.replies.append(Reply("ack", {"cmd_type": ack.cmd_type, "status": ack.status}, host_ns))
                if ack.cmd_type == CMD_START and ack.status == ACK_OK:
                    self._mark_seq = _SEQ_MASK  # MARK seq restarts: the next one is 0
                    if self._anchored:
                        self._restart = "start"
            elif mtype == MSG_PONG:
                pong = parse_pong(payload)
                t = self._device_time(pong.device_time_us)
                result.replies.append(Reply("pong", {"token": pong.token, "device_time_us": pong.device_time_us,
                                                     "t": t}, host_ns))
                if t is not None and host_ns >= 0:
                    self.clock.add(t, host_ns)
            elif mtype == MSG_STATUS:
                self._on_status(parse_status(payload), result)
            elif mtype == MSG_MARK and self.minor >= MESSAGE_MINOR[MSG_MARK]:
                self._on_mark(parse_mark(payload), result)
            elif mtype == MSG_LOG:
                text = payload.decode("utf-8", errors="replace")
                result.events.append(LinkEvent("log", text, t=self._out_t, data={"text": text}))
            else:
                self.stats["unknown_types"] += 1
                result.events.append(LinkEvent("unknown_type", f"ignored a frame of unknown type 0x{mtype:02X}",
                                               t=self._out_t, data={"msg_type": mtype}))
                self.stats["frames"] += 1
                return
        except ValueError as exc:
            self._error(result, "bad_frame", str(exc))
            return
        self.stats["frames"] += 1

    def _on_info(self, info: BoardInfo, result: DecodeResult) -> None:
        if info.sample_rate_hz <= 0 or info.tick_hz <= 0:
            raise ValueError(f"INFO with sample rate {info.sample_rate_hz} Hz and tick {info.tick_hz} Hz is unusable")
        self.info = info
        result.info = info
        self._warned_no_info = False
        result.events.append(LinkEvent("info", f"{info.name or 'board'}: {info.sensor}, {info.sample_rate_hz:g} Hz, "
                                       f"+/-{info.range_g:g} g, firmware {info.firmware}, protocol "
                                       f"v{info.protocol}", t=self._out_t))
        if info.protocol_version != PROTOCOL_VERSION:
            result.events.append(LinkEvent("warning", f"board speaks protocol v{info.protocol_version}, this host "
                                           f"v{PROTOCOL_VERSION}: decoding the fields it knows", t=self._out_t))

    def _on_status(self, st, result: DecodeResult) -> None:
        if self._uptime_ms is not None and ((st.uptime_ms - self._uptime_ms) & _MASK) >= _HALF:
            self.stats["reboots"] += 1
            result.events.append(LinkEvent("reboot", f"board uptime went back from {self._uptime_ms} ms to "
                                           f"{st.uptime_ms} ms: the board restarted", t=self._out_t,
                                           data={"uptime_ms": st.uptime_ms}))
            self._overflow = None
            if self._anchored:
                self._restart = "reboot"
        self._uptime_ms = st.uptime_ms
        result.events.append(LinkEvent("status", f"uptime {st.uptime_ms} ms, {st.tx_overflow_frames} frames "
                                       f"dropped by the board, flags 0x{st.flags:02X}", t=self._out_t,
                                       data=st._asdict()))
        grown = st.tx_overflow_frames - (self._overflow or 0)
        if grown > 0:
            self.stats["overflow_frames"] += grown
            result.events.append(LinkEvent("overflow", f"the board could not send {grown} frames (TX buffer full)",
                                           count=grown, t=self._out_t,
                                           data={"tx_overflow_frames": st.tx_overflow_frames}))
        self._overflow = st.tx_overflow_frames

    def _on_mark(self, mark: Mark, result: DecodeResult) -> None:
        if self._mark_seq is not None:
            gap = (mark.seq - self._mark_seq - 1) & _SEQ_MASK
            if 0 < gap <= _SEQ_MASK // 2:  # (a step back: the board restarted counting)
                self.stats["markers_lost"] += gap
                result.events.append(LinkEvent(
                    "warning", f"{gap} marker press{'es' if gap > 1 else ''} of the board lost on the link "
                    f"(MARK seq {self._mark_seq} then {mark.seq})", count=gap, t=self._out_t,
                    data={"markers_lost": gap}))
        self._mark_seq = mark.seq
        self._pending_marks.append(mark.t_us)
        self._place_marks(result)

    def _place_marks(self, result: DecodeResult) -> None:
        """Put the MARKs received so far on the time line, once it is anchored on this stretch's clock."""
        if not self._pending_marks or not self._anchored or self._restart is not None:
            return
        for raw in self._pending_marks:
            result.markers.append(Marker(self._device_time(raw), "board"))
        self.stats["markers"] += len(self._pending_marks)
        self._pending_marks = []

    def _device_time(self, raw_us: int) -> float | None:
        """Stream time of a raw device clock reading near the last SAMPLES frame."""
        if not self._anchored or self.info is None or self.info.tick_hz <= 0:
            return None
        delta = (raw_us - self._raw_t) & _MASK
        if delta >= _HALF:
            delta -= _WRAP
        return self._t_anchor + (self._ticks + delta) / float(self.info.tick_hz)
