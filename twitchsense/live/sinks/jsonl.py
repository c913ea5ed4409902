"""JSON lines: one object per event, alert change and link event, to stdout or a file, flushed."""

from __future__ import annotations

import json
import os
import sys
from typing import IO

from ...errors import TwitchsenseError
from ...io.sessionclock import SessionClock
from ...types import Alert, LinkEvent, TwitchEvent
from . import SinkBase, alert_record, event_record, link_record


class JsonLinesSink(SinkBase):
    """Writes ``{"type": "event"|"alert"|"link", ...}`` lines; ``target`` is ``-`` (stdout) or a path.

    A file is appended to, so a restarted session adds to the same log. Every
    batch is flushed at once, so a reader (``tail -f``, a script) sees it live.
    """

    def __init__(self, target: str | os.PathLike = "-", clock: SessionClock | None = None,
                 session: str = "") -> None:
        self.clock = clock
        self.session = session
        if str(target) == "-":
            self._f: IO[str] = sys.stdout
            self._own = False
        else:
            try:
                self._f = open(target, "a", encoding="utf-8")
            except OSError as exc:
                raise TwitchsenseError(f"{target}: cannot open the JSON lines file ({exc.strerror})") from None
            self._own = True

    def _write(self, records: list[dict]) -> None:
        if not records:
            return
        for r in records:
            if self.session:
                r["session"] = self.session
            self._f.write(json.dumps(r, ensure_ascii=False) + "\n")
        self._f.flush()

    def on_events(self, events: list[TwitchEvent]) -> None:
        self._write([event_record(e, self.clock) for e in events])

    def on_alerts(self, alerts: list[Alert]) -> None:
        self._write([alert_record(a, self.clock) for a in alerts])

    def on_link(self, event: LinkEvent) -> None:
        if event.kind != "status":  # the board's periodic heartbeat: problems come as their own events
            self._write([link_record(event, self.clock)])

    def close(self) -> None:
        if self._own and not self._f.closed:
            self._f.close()
        elif not self._own:
            self._f.flush()
