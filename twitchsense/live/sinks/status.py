"""The plain status line of ``stream``/``replay``: samples per second, link health, link events."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ...types import LinkEvent, SampleBlock

#: Link events that put the link in a fault state until samples flow again.
FAULT_KINDS = {"disconnected": "DISCONNECTED", "no_data": "FAULT: no data"}
#: Link events printed as they happen; the others (CRC errors, resyncs, small losses...) are
#: counted and shown in the next status line.
LOUD_KINDS = {"disconnected", "reconnected", "no_data", "reboot", "overflow", "warning", "log", "info",
              "sink_error"}


class StatusLineSink:
    """Print samples per second and link health about once a second, and each link event as it happens."""

    def __init__(self, out: TextIO | None = None, interval_s: float = 1.0) -> None:
        self.out = out or sys.stdout
        self.interval_s = interval_s
        self.health = "waiting for data"
        self.total = 0
        self.lost = 0
        self.reconnects = 0
        self._count = 0
        self._quiet: dict[str, int] = {}
        self._last_t: float | None = None
        self._since = time.monotonic()

    def on_samples(self, block: SampleBlock) -> None:
        self._count += len(block)
        self.total += len(block)
        self._last_t = float(block.t[-1])
        self.health = "ok"

    def on_tick(self, now_stream: float) -> None:
        """Print the status line when it is due, samples or not (an outage shows as 0 samples/s)."""
        now = time.monotonic()
        if now - self._since >= self.interval_s:
            self._print_status(now)

    def _print_status(self, now: float) -> None:
        rate = self._count / (now - self._since)
        t = f"t={self._last_t:9.2f} s" if self._last_t is not None else "t=    -    "
        quiet = "".join(f"  {k.replace('_', ' ')} {v}" for k, v in sorted(self._quiet.items()))
        print(f"{t}  {rate:7.1f} samples/s  link {self.health}  samples {self.total}  "
              f"lost {self.lost}  reconnects {self.reconnects}{quiet}", file=self.out, flush=True)
        self._count = 0
        self._quiet.clear()
        self._since = now

    def on_link(self, event: LinkEvent) -> None:
        if event.kind == "lost_samples":
            self.lost += event.count
        elif event.kind == "reconnected":
            self.reconnects += 1
        if event.kind in FAULT_KINDS:
            self.health = FAULT_KINDS[event.kind]
        loud = event.kind in LOUD_KINDS or (event.kind == "lost_samples" and
                                            (event.data.get("estimated") or event.count >= 50))
        if not loud:
            if event.kind not in ("status", "lost_samples"):
                self._quiet[event.kind] = self._quiet.get(event.kind, 0) + event.count
        else:
            where = f" at t={event.t:.3f} s" if event.t is not None else ""
            count = f" ({event.count})" if event.kind == "lost_samples" else ""
            print(f"link: {event.kind}{count}{where}: {event.detail}", file=self.out, flush=True)

    def on_events(self, events: list) -> None:
        pass

    def on_alerts(self, alerts: list) -> None:
        pass

    def close(self) -> None:
        self.out.flush()
