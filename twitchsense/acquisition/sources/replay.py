"""Replay a recording through the live pipeline, at real time, any speed factor, or as fast as possible."""

from __future__ import annotations

import threading
from typing import Iterator

import numpy as np

from ...clock import WALL_CLOCK, Clock
from ...errors import TwitchsenseError
from ...io.recording import Recording
from ...stages import SourceItem
from ...types import LinkEvent, SampleBlock


def parse_speed(text: str | float | None) -> float | None:
    """``'max'`` (or None) -> None (as fast as possible); ``'10'`` -> 10.0 times real time."""
    if text is None or (isinstance(text, str) and text.strip().lower() == "max"):
        return None
    try:
        speed = float(text)
    except ValueError:
        raise TwitchsenseError(f"--speed must be a positive number or 'max', got {text!r}") from None
    if not speed > 0 or not np.isfinite(speed):
        raise TwitchsenseError(f"--speed must be a positive number or 'max', got {text!r}")
    return speed


class ReplaySource:
    """Yield a recording's samples in blocks, paced at ``speed`` times real time (None: no pacing).

    Blocks cover ``block_s`` seconds of wall time (0.01 s, like a board's frames);
    at full speed they cover ``max_block_s`` of stream time. A gap in the recording
    is reported as a ``lost_samples`` link event just before the first sample after
    it, exactly as the serial source reports a gap on the wire. ``host_ns`` of a
    block is the monotonic time it was released, on ``clock`` (the real one by default).
    """

    def __init__(self, recording: Recording, speed: float | None = None, *,
                 block_s: float = 0.01, max_block_s: float = 1.0, loop: bool = False,
                 clock: Clock = WALL_CLOCK) -> None:
        if recording.n_samples == 0:
            raise TwitchsenseError(f"{recording.name}: the recording has no samples to replay")
        self.recording = recording
        self.speed = speed
        self.block_s = block_s
        self.max_block_s = max_block_s
        self.loop = loop
        self.clock = clock
        self.meta = dict(recording.meta)
        self._rate = recording.sample_rate_hz  # inferred from all of t when the sidecar has none: once
        self.meta.setdefault("sample_rate_hz", round(self._rate, 6))
        t = recording.t
        #: index of the first sample after each gap, found once for the whole recording
        self._after_gap = np.flatnonzero(np.diff(t) > recording.gap_s) + 1
        self._stop = threading.Event()

    def _boundaries(self) -> np.ndarray:
        """Start indices of the blocks, plus the end."""
        t = self.recording.t
        step = self.max_block_s if self.speed is None else self.block_s * self.speed
        edges = t[0] + step * np.arange(1, int((t[-1] - t[0]) / step) + 2)
        cuts = np.searchsorted(t, edges, side="left")
        return np.unique(np.concatenate([[0], cuts, [t.size]])).astype(np.int64)

    def _gap_events(self, lo: int, hi: int, offset: float) -> list[LinkEvent]:
        """``lost_samples`` for the gaps just before samples ``lo..hi-1``."""
        a, b = np.searchsorted(self._after_gap, (lo, hi))
        if a == b:
            return []
        t = self.recording.t
        rate = self._rate
        events = []
        for i in self._after_gap[a:b] - 1:  # one event per gap, never per sample
            gap = float(t[i + 1] - t[i])
            lost = max(int(round(gap * rate)) - 1, 0) if np.isfinite(rate) else 0
            events.append(LinkEvent("lost_samples", f"gap of {gap:.3f} s in the recording",
                                    count=lost, t=float(t[i]) + offset, data={"gap_s": gap}))
        return events

    def __iter__(self) -> Iterator[SourceItem]:
        rec = self.recording
        bounds = self._boundaries()
        span = float(rec.t[-1] - rec.t[0]) + 1.0 / max(self._rate, 1e-9)
        clock = self.clock
        start_wall = clock.monotonic()
        offset = 0.0
        index0 = 0
        while True:
            for lo, hi in zip(bounds[:-1], bounds[1:]):
                if self._stop.is_set():
                    return
                if self.speed is not None:
                    due = start_wall + (float(rec.t[hi - 1]) + offset - float(rec.t[0])) / self.speed
                    delay = due - clock.monotonic()
                    if delay > 0 and clock.wait(self._stop, delay):
                        return
                t = rec.t[lo:hi] + offset
                n = hi - lo
                block = SampleBlock(t, rec.acc[lo:hi], np.arange(index0 + lo, index0 + hi, dtype=np.int64),
                                    np.full(n, int(clock.monotonic() * 1e9), dtype=np.int64))
                yield SourceItem(samples=block, events=self._gap_events(lo, hi, offset))
            if not self.loop:
                return
            offset += span
            index0 += rec.n_samples

    def close(self) -> None:
        self._stop.set()
