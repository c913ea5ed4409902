"""Wall time for the live stages (pacing a replay, ``--duration``), injectable.

The live stages read the time and wait through a :class:`Clock`, the real one by
default, so a test can hand them a clock it moves itself and assert exact times
instead of wall-clock figures with slack.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds, and a wait that a ``stop`` event ends early."""

    def monotonic(self) -> float:
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` or until ``stop`` is set; True when it is set."""
        ...


class WallClock:
    """The real clock: ``time.monotonic`` and ``Event.wait``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


WALL_CLOCK = WallClock()
