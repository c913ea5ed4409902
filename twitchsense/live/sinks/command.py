"""Run a command for every announced alert: an argument list, never a shell string.

The alert's fields reach the command as environment variables
(``TWITCHSENSE_LEVEL``, ``_RULE``, ``_DETAIL``, ``_GUIDANCE``, ``_CHANGE``, ``_START``,
``_END``, ``_TIME``, ``_SESSION``, ``_ALERT_JSON``) and through the placeholders
``{level}``, ``{rule}``, ``{detail}``, ``{guidance}``, ``{change}``, ``{start}``, ``{end}``
inside the arguments (each replaced as a whole string: no shell ever parses them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Sequence

from ...errors import TwitchsenseError
from ...io.sessionclock import SessionClock
from ...types import Alert
from . import SinkBase, alert_record

PLACEHOLDERS = ("level", "rule", "detail", "guidance", "change", "start", "end")


class CommandSink(SinkBase):
    """Starts ``argv`` (with placeholders filled in) for every alert change that is announced.

    Announced means ``notify`` is true: a raise not held back by the cool-down.
    Commands run in the background, their output discarded (it would land in the
    middle of the terminal's live view; their error output stays); a failing command
    is reported on stderr and never stops the pipeline. ``close`` waits up to
    ``timeout_s`` for all of them together, then ends those still running.
    """

    def __init__(self, argv: Sequence[str], clock: SessionClock | None = None, session: str = "",
                 timeout_s: float = 30.0) -> None:
        if not argv:
            raise TwitchsenseError("--on-alert: the command is empty")
        self.argv = list(argv)
        if shutil.which(self.argv[0]) is None:
            raise TwitchsenseError(f"--on-alert: command '{self.argv[0]}' not found or not executable")
        self.label = f"--on-alert {self.argv[0]}"
        self.clock = clock
        self.session = session
        self.timeout_s = timeout_s
        self.running: list[tuple[subprocess.Popen, str]] = []
        self.started = 0
        self.failed = 0

    def command_for(self, alert: Alert) -> tuple[list[str], dict[str, str]]:
        """The argument list and extra environment for one alert."""
        rec = alert_record(alert, self.clock)
        values = {k: (f"{rec[k]:.3f}" if isinstance(rec.get(k), float) else str(rec.get(k, "")))
                  for k in PLACEHOLDERS}
        args = []
        for a in self.argv:
            for k, v in values.items():
                a = a.replace("{" + k + "}", v)
            args.append(a)
        env = {f"TWITCHSENSE_{k.upper()}": v for k, v in values.items()}
        env["TWITCHSENSE_TIME"] = str(rec.get("time") or "")
        env["TWITCHSENSE_SESSION"] = self.session
        env["TWITCHSENSE_ALERT_JSON"] = json.dumps(rec, ensure_ascii=False)
        return args, env

    def on_alerts(self, alerts: list[Alert]) -> None:
        self._reap()
        for a in alerts:
            if not getattr(a, "notify", True):
                continue
            args, env = self.command_for(a)
            try:
                proc = subprocess.Popen(args, env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL)
            except OSError as exc:
                self.failed += 1
                print(f"twitchsense: --on-alert command could not start: {exc}", file=sys.stderr)
                continue
            self.started += 1
            self.running.append((proc, a.rule))

    def _reap(self, deadline: float | None = None) -> None:
        """Note the commands that ended; with a ``deadline`` (monotonic time), wait for all of them
        until then and end the ones still running."""
        still = []
        for proc, rule in self.running:
            code = proc.poll()
            if code is None and deadline is not None:
                try:
                    code = proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
                    self.failed += 1
                    print(f"twitchsense: --on-alert command for alert '{rule}' did not finish within "
                          f"{self.timeout_s:g} s and was ended", file=sys.stderr)
                    continue
            if code is None:
                still.append((proc, rule))
            elif code != 0:
                self.failed += 1
                print(f"twitchsense: --on-alert command exited with {code} for alert '{rule}'",
                      file=sys.stderr)
        self.running = still

    def close(self) -> None:
        self._reap(deadline=time.monotonic() + self.timeout_s)
