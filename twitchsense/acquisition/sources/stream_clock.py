"""One continuous, strictly increasing stream time base across reconnects and board reboots.

Decoders give sample times on the board's clock (so lost samples leave gaps of
exactly the right length); the protocol decoder also keeps its time line going
across a reset by re-anchoring on host arrival time. This guard makes that true
for every decoder: where a decoder's time fails to increase (a board that
restarted its clock), or where after a reconnect it advanced less than the host
clock did (untimed text or Cyton boards just count on), the new stretch is
anchored on the host's monotonic clock, so the outage shows as a gap of its real
length. After a reconnect (or a hole the serial reader had to drop) it reports the samples lost.
"""

from __future__ import annotations

import time

import numpy as np

from ...types import LinkEvent, SampleBlock


class StreamClock:
    """Map decoder times onto stream seconds that only ever increase."""

    def __init__(self, rate_hz: float = 0.0) -> None:
        self.rate_hz = rate_hz
        self.offset = 0.0
        self.last_t: float | None = None
        self._last_host_ns: int | None = None
        self._new_segment = False

    def new_segment(self) -> None:
        """The link was down or re-handshaken: report the gap before the next sample."""
        self._new_segment = True

    def _reanchor(self, t_dec: float, host_ns: int) -> None:
        step = 1.0 / self.rate_hz if self.rate_hz > 0 else 1e-3
        floor = (self.last_t or 0.0) + step
        if host_ns >= 0 and self._last_host_ns is not None and self.last_t is not None:
            floor = max(floor, self.last_t + (host_ns - self._last_host_ns) / 1e9)
        self.offset = floor - t_dec

    def map(self, block: SampleBlock) -> tuple[SampleBlock, list[LinkEvent]]:
        """Return the block on stream time, and a ``lost_samples`` event for a gap after a reconnect."""
        if not len(block):
            return block, []
        t_dec = block.t
        starts = [0] + (np.flatnonzero(np.diff(t_dec) <= 0) + 1).tolist()
        t_out = np.empty_like(t_dec)
        events = []
        for k, lo in enumerate(starts):
            hi = starts[k + 1] if k + 1 < len(starts) else t_dec.size
            host_ns = int(block.host_ns[lo])
            if self.last_t is not None and t_dec[lo] + self.offset <= self.last_t:
                self._reanchor(float(t_dec[lo]), host_ns)
            elif self._new_segment and self.last_t is not None and host_ns >= 0 and self._last_host_ns is not None:
                # untimed boards (text, Cyton) just count on after a reconnect: the host saw the outage
                host_gap = (host_ns - self._last_host_ns) / 1e9
                dec_gap = float(t_dec[lo] + self.offset - self.last_t)
                slack = max(0.05, 3.0 / self.rate_hz) if self.rate_hz > 0 else 0.05
                if host_gap - dec_gap > slack:
                    self.offset += host_gap - dec_gap
            if self._new_segment and self.last_t is not None:
                gap = float(t_dec[lo] + self.offset - self.last_t)
                lost = max(int(round(gap * self.rate_hz)) - 1, 0) if self.rate_hz > 0 else 0
                if lost:
                    events.append(LinkEvent("lost_samples", f"about {lost} samples lost ({gap:.3f} s without "
                                            "samples)", count=lost, t=self.last_t,
                                            data={"gap_s": gap, "estimated": True}))
            self._new_segment = False
            t_out[lo:hi] = t_dec[lo:hi] + self.offset
            self.last_t = float(t_out[hi - 1])
            host_last = int(block.host_ns[hi - 1])
            self._last_host_ns = host_last if host_last >= 0 else time.monotonic_ns()
        return SampleBlock(t_out, block.acc, block.index, block.host_ns), events
