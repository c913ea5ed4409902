"""The terminal: a live one-screen view on a TTY, plain lines otherwise.

The view shows the twitch rate per minute (last minute and last 10 minutes; in the first minutes,
over the time since the first sample, and it says so),
the last events (a possible twitch at once, then confirmed or retracted with the reason;
rates and counts are of confirmed twitches), each rule's alert state with its figures and guidance, and
link health (sample rate, time since the last sample, link problems counted).
Piped or redirected, the same information comes as one line per verdict (a confirmed twitch, or a
retraction with its reason), alert change and link event, which logs can use; the possible twitch
before each verdict too with ``show_provisional`` (the CLI's ``--provisional``). Scripts read the
JSON lines (``--jsonl``), which carry all three steps.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
import time
from collections import Counter, deque
from typing import IO, Callable

from ...io.sessionclock import SessionClock
from ...types import Alert, LinkEvent, SampleBlock, TwitchEvent
from . import SinkBase, describe_alert

CLEAR = "\x1b[H\x1b[2J"
LEVEL_STYLE = {"alert": "\x1b[1;31m", "warning": "\x1b[1;33m", "info": "\x1b[36m"}
RESET = "\x1b[0m"
#: link event kinds that are not problems
QUIET_LINK_KINDS = {"info", "status", "log", "reconnected"}


def _locked(method: Callable) -> Callable:
    """Run a method under the sink's lock (the live view is also redrawn from a timer thread)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


def _clock_text(t: float) -> str:
    """Stream time as ``HH:MM:SS.s`` (truncated to the tenth, like the wall-clock time beside it)."""
    tenths = int(max(t, 0.0) * 10 + 1e-6)
    s, d = divmod(tenths, 10)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}.{d}"


def _num_min(minutes: float) -> str:
    """``3.0 min``, or ``45 s`` under a minute."""
    return f"{minutes:.1f} min" if minutes >= 1 else f"{minutes * 60:.0f} s"


class TerminalSink(SinkBase):
    """Shows the live pipeline in a terminal.

    stream : where to write (stdout by default).
    tty : force the live view (True) or plain lines (False); default: ``stream.isatty()``.
    refresh_s : the live view is redrawn at most this often (and on every alert change).
    show_events, show_link : plain mode only: print a line per twitch's verdict (confirmed, or retracted
        with the reason) / per link event (alert changes are always printed).
    show_provisional : plain mode only: also print each possible twitch as it comes out, before its
        verdict (by default not: a piped log would name every twitch twice).
    """

    #: the pipeline hands this sink provisional events and verdicts too, not only confirmed events
    provisional = True

    def __init__(self, stream: IO[str] | None = None, tty: bool | None = None,
                 clock: SessionClock | None = None, session: str = "", refresh_s: float = 0.5,
                 color: bool | None = None, show_events: bool = True, show_link: bool = True,
                 show_provisional: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.color = self.tty if color is None else color
        self.clock = clock or SessionClock()
        self.session = session
        self.refresh_s = refresh_s
        self.show_events = show_events
        self.show_link = show_link
        self.show_provisional = show_provisional
        self.now = 0.0
        self.start_t: float | None = None  # the first sample's time: rates divide by the time since, at first
        self.n_events = 0
        self.n_samples = 0
        self.onsets: deque[float] = deque()
        self.last_events: deque[TwitchEvent] = deque(maxlen=8)
        self.last_changes: deque[Alert] = deque(maxlen=5)
        self.active: dict[str, Alert] = {}
        self.link_counts: Counter[str] = Counter()
        self.last_link: LinkEvent | None = None
        self.rate_hz = 0.0
        self.n_markers = 0
        self.mark_key = False  # the m key records a "felt one" marker (shown in the view)
        #: the alert engine's rate against the healthy range (AlertEngine.rate_against_range), one line
        self.rate: Callable[[], dict] | None = None
        self._sample_wall: deque[tuple[float, int]] = deque(maxlen=50)
        self._last_sample_wall: float | None = None
        self._last_draw = 0.0
        self._lock = threading.RLock()
        self._closed = threading.Event()
        if self.tty:  # keep "last sample N s ago" true while nothing arrives
            self._redraw_thread = threading.Thread(target=self._redraw_loop, name="terminal-view", daemon=True)
            self._redraw_thread.start()

    # ---- formatting ---------------------------------------------------------------------
    def when(self, t: float) -> str:
        wall = self.clock.iso(t)
        return f"{_clock_text(t)}" + (f" ({wall[11:19]})" if wall else "")

    def _style(self, level: str, text: str) -> str:
        return f"{LEVEL_STYLE.get(level, '')}{text}{RESET}" if self.color else text

    def _event_line(self, e: TwitchEvent) -> str:
        extra = " ".join(x for x in (e.kind, e.context) if x)
        what = {"provisional": "possible twitch", "retracted": f"retracted ({e.reason})"}.get(e.status, "twitch")
        return (f"{self.when(e.onset)}  {what}  peak {e.peak_g:.3f} g  {e.duration * 1000:.0f} ms  "
                f"confidence {e.confidence:.2f}" + (f"  {extra}" if extra else ""))

    def _alert_line(self, a: Alert) -> str:
        return f"{self.when(a.end)}  {describe_alert(a)}"

    # ---- inputs -------------------------------------------------------------------------
    @_locked
    def on_samples(self, block: SampleBlock) -> None:
        if not len(block):
            return
        self.now = max(self.now, float(block.t[-1]))
        if self.start_t is None:
            self.start_t = float(block.t[0])
        self.n_samples += len(block)
        wall = time.monotonic()
        self._sample_wall.append((wall, self.n_samples))
        self._last_sample_wall = wall
        if len(self._sample_wall) > 1 and self._sample_wall[-1][0] > self._sample_wall[0][0]:
            (w0, n0), (w1, n1) = self._sample_wall[0], self._sample_wall[-1]
            self.rate_hz = (n1 - n0) / (w1 - w0)
        self._maybe_draw()

    @_locked
    def on_events(self, events: list[TwitchEvent]) -> None:
        for e in events:
            if e.status == "confirmed":
                self.n_events += 1
                self.onsets.append(e.onset)
            same = [i for i, old in enumerate(self.last_events) if e.id >= 0 and old.id == e.id]
            if same:  # the verdict on a provisional event shown: in its place
                self.last_events[same[0]] = e
            else:
                self.last_events.append(e)
            self.now = max(self.now, e.onset + e.duration)
            if not self.tty and self.show_events and (e.status != "provisional" or self.show_provisional):
                self.stream.write(self._event_line(e) + "\n")
        while self.onsets and self.onsets[0] <= self.now - 600:
            self.onsets.popleft()
        if not self.tty and events:
            self.stream.flush()
        self._maybe_draw()

    @_locked
    def on_alerts(self, alerts: list[Alert]) -> None:
        for a in alerts:
            self.last_changes.append(a)
            self.now = max(self.now, a.end)
            if getattr(a, "change", "raised") == "cleared":
                self.active.pop(a.rule, None)
            else:
                self.active[a.rule] = a
            if not self.tty:
                guidance = getattr(a, "guidance", "")
                self.stream.write(self._alert_line(a) + "\n")
                if guidance and getattr(a, "change", "raised") == "raised":
                    self.stream.write(f"    {guidance}\n")
        if not self.tty and alerts:
            self.stream.flush()
        if alerts:
            self._maybe_draw(force=True)

    @_locked
    def on_link(self, event: LinkEvent) -> None:
        self.link_counts[event.kind] += event.count
        self.last_link = event
        if not self.tty and self.show_link and event.kind not in {"status"}:
            self.stream.write(f"{self.when(event.t if event.t is not None else self.now)}  "
                              f"link {event.kind}: {event.detail}\n")
            self.stream.flush()
        self._maybe_draw()

    @_locked
    def on_marker(self, marker) -> None:
        """A "felt one" marker (:class:`twitchsense.types.Marker`) was recorded."""
        self.n_markers += 1
        if not self.tty:
            self.stream.write(f"{self.when(marker.t)}  marker: felt one ({marker.source})\n")
            self.stream.flush()
        self._maybe_draw(force=True)

    @_locked
    def close(self) -> None:
        self._closed.set()
        if self.tty:
            self._draw()
            self.stream.write("\n")
        self.stream.flush()

    # ---- the live view ------------------------------------------------------------------
    def rate_per_minute(self, minutes: float) -> float:
        """Twitches per minute over the last ``minutes``, or over the time since the first sample when
        less has passed (:meth:`rate_span_min`): 12 twitches in the first 3 minutes are 4/min."""
        n = sum(1 for o in self.onsets if o > self.now - 60 * minutes)
        span = self.rate_span_min(minutes)
        return n / span if span > 0 else 0.0

    def rate_span_min(self, minutes: float) -> float:
        """The minutes a rate over the last ``minutes`` divides by: fewer at the start of a session."""
        if self.start_t is None:
            return minutes
        return min(minutes, max(self.now - self.start_t, 0.0) / 60.0)

    def _rate_text(self, minutes: float) -> str:
        span = self.rate_span_min(minutes)
        what = "min" if minutes == 1 else f"{minutes:g} min"
        label = f"last {what}" if span >= minutes else f"{_num_min(span)} so far"
        return f"{self.rate_per_minute(minutes):.1f}/min ({label})"

    def screen(self) -> list[str]:
        """The lines of the live view."""
        lines = [f"twitchsense live{' - ' + self.session if self.session else ''}   "
                 f"stream time {self.when(self.now)}",
                 f"rate: {self._rate_text(1)}   {self._rate_text(10)}   twitches: {self.n_events}"]
        if self.rate is not None:
            lines.append(self.rate()["text"])
        ago = time.monotonic() - self._last_sample_wall if self._last_sample_wall else None
        problems = ", ".join(f"{k} {v}" for k, v in sorted(self.link_counts.items())
                             if k not in QUIET_LINK_KINDS) or "none"
        lines.append(f"link: {self.rate_hz:.0f} samples/s, "
                     + (f"last sample {ago:.1f} s ago" if ago is not None else "no samples yet")
                     + f"; problems: {problems}")
        lines.append("")
        lines.append("alert state:" + ("" if self.active else " nothing raised"))
        order = {"alert": 0, "warning": 1, "info": 2}
        for a in sorted(self.active.values(), key=lambda a: (order.get(a.level, 3), a.rule)):
            lines.append(f"  {a.level.upper():8s} {a.rule}: {a.detail}")
            if getattr(a, "guidance", ""):
                lines.append(f"           {a.guidance}")
        lines.append("")
        lines.append("last twitches:" + ("" if self.last_events else " none yet"))
        lines += ["  " + self._event_line(e) for e in reversed(self.last_events)]
        if self.last_changes:
            lines.append("")
            lines.append("last alert changes:")
            lines += [f"  {_clock_text(a.end)}  {a.rule}: " + describe_alert(a).rsplit("; rule: ", 1)[0]
                      for a in reversed(self.last_changes)]
        if self.mark_key or self.n_markers:
            lines.append("")
            hint = "   (press m when you feel a twitch)" if self.mark_key else ""
            lines.append(f"felt markers: {self.n_markers}{hint}")
        lines.append("")
        lines.append("Measurements, not a diagnosis.  Ctrl-C stops.")
        return lines

    def _maybe_draw(self, force: bool = False) -> None:
        if self.tty and (force or time.monotonic() - self._last_draw >= self.refresh_s):
            self._draw()

    def _redraw_loop(self) -> None:
        while not self._closed.wait(max(self.refresh_s, 0.2)):
            with self._lock:
                if not self._closed.is_set() and time.monotonic() - self._last_draw >= self.refresh_s:
                    try:
                        self._draw()
                    except (OSError, ValueError):  # the terminal went away (closed, hung up): stop drawing
                        return

    def _screen_size(self) -> os.terminal_size:
        """The size of the terminal the view is drawn on (not the process's stdout), or 100 x 30."""
        try:
            size = os.get_terminal_size(self.stream.fileno())
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            return shutil.get_terminal_size((100, 30))
        return size if size.columns and size.lines else os.terminal_size((100, 30))

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        size = self._screen_size()
        lines = []
        for line in self.screen():
            line = line[:max(size.columns - 1, 20)]  # never wrap: the view must fit the screen
            level = line[2:10].strip().lower() if line.startswith("  ") else ""
            lines.append(self._style(level, line) if level in LEVEL_STYLE else line)
        self.stream.write(CLEAR + "\n".join(lines[:max(size.lines - 1, 5)]) + "\n")
        self.stream.flush()
