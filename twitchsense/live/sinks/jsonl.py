"""JSON lines: one object per event, alert change and link event, to stdout or a file, flushed."""

from __future__ import annotations

import contextlib
import json
import os
import sys

from ...errors import TwitchsenseError
from ...io.sessionclock import SessionClock
from ...types import Alert, LinkEvent, TwitchEvent
from . import SinkBase, alert_record, event_record, link_record


class JsonLinesSink(SinkBase):
    """Writes ``{"type": "event"|"alert"|"link", ...}`` lines; ``target`` is ``-`` (stdout) or a path.

    Events come as they happen: provisional, then confirmed or retracted (same ``id``).

    A file is appended to, so a restarted session adds to the same log. Every
    batch is written at once, so a reader (``tail -f``, a script) sees it live. A batch
    that cannot be written whole (a full disk) is cut back off the file, so the file
    holds whole lines only, and raised for the pipeline to report.
    """

    #: the pipeline hands this sink provisional events and verdicts too (``status``, ``id``, ``reason``)
    provisional = True

    def __init__(self, target: str | os.PathLike = "-", clock: SessionClock | None = None,
                 session: str = "") -> None:
        self.clock = clock
        self.session = session
        self.label = f"--jsonl {target}"
        self._stdout = str(target) == "-"
        self._fd: int | None = None
        if not self._stdout:
            try:
                self._fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as exc:
                raise TwitchsenseError(f"{target}: cannot open the JSON lines file ({exc.strerror})") from None

    def _write(self, records: list[dict]) -> None:
        if not records:
            return
        for r in records:
            if self.session:
                r["session"] = self.session
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if self._stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        if self._fd is None:
            raise ValueError(f"{self.label}: the sink is closed")
        size = os.lseek(self._fd, 0, os.SEEK_END)
        view = memoryview(text.encode("utf-8"))
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)  # whole lines only
            raise

    def on_events(self, events: list[TwitchEvent]) -> None:
        self._write([event_record(e, self.clock) for e in events])

    def on_alerts(self, alerts: list[Alert]) -> None:
        self._write([alert_record(a, self.clock) for a in alerts])

    def on_link(self, event: LinkEvent) -> None:
        if event.kind != "status":  # the board's periodic heartbeat: problems come as their own events
            self._write([link_record(event, self.clock)])

    def close(self) -> None:
        if self._stdout:
            sys.stdout.flush()
        elif self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
