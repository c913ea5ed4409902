"""Commands over many recordings (``detect``, ``info``, ``evaluate``, ``report``): one bad file does not stop
the others. Every failure is reported with its file as it happens, the rest go on, and the command exits 1
at the end; ``--fail-fast`` stops at the first failure instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from ..errors import TwitchsenseError, describe_os_error
from ..io.recording import find_recordings

T = TypeVar("T")


def add_fail_fast(p: argparse.ArgumentParser) -> None:
    """The ``--fail-fast`` option of a command over many recordings."""
    p.add_argument("--fail-fast", action="store_true",
                   help="stop at the first recording that fails (default: go on with the others, report "
                        "every failure with its file, exit 1 at the end)")


def naming(path: str | os.PathLike, exc: Exception) -> str:
    """The error's message, with the file in front unless it already names it."""
    message = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
    return message if str(path) in message else f"{path}: {message}"


class Batch:
    """Run one piece of work per recording and keep the failures.

    ``command`` is the sub-command's name (for the messages); ``fail_fast`` re-raises the first
    failure, named after its file.
    """

    def __init__(self, command: str, fail_fast: bool = False) -> None:
        self.command = command
        self.fail_fast = fail_fast
        self.failures: list[tuple[str, str]] = []
        self.done = 0

    def recordings(self, paths: Iterable[str | os.PathLike]) -> list[Path]:
        """Files and folders expanded into recordings; a path that does not exist is a failure."""
        out: list[Path] = []
        for p in paths:
            try:
                out += find_recordings([p])
            except TwitchsenseError as exc:
                self.fail(p, exc)
        return out

    def fail(self, path: str | os.PathLike, exc: Exception) -> None:
        message = naming(path, exc)
        if self.fail_fast:
            raise TwitchsenseError(message) from None
        print(f"twitchsense {self.command}: error: {message}", file=sys.stderr)
        self.failures.append((str(path), message))

    def run(self, path: Path, work: Callable[[Path], T]) -> T | None:
        """``work(path)``, or None when it fails with an error a user can act on (reported at once)."""
        try:
            result = work(path)
        except (TwitchsenseError, OSError) as exc:
            self.fail(path, exc)
            return None
        self.done += 1
        return result

    def exit_code(self) -> int:
        """0 when nothing failed; else 1, after a closing line listing the files that failed (when there
        were several)."""
        if not self.failures:
            return 0
        total = self.done + len(self.failures)
        if total > 1:  # one file: its error was the one line
            files = ", ".join(f for f, _ in self.failures)
            print(f"twitchsense {self.command}: {len(self.failures)} of {total} failed: {files}", file=sys.stderr)
        return 1


def for_each_recording(paths: Iterable[str | os.PathLike], work: Callable[[Path], T], command: str,
                       fail_fast: bool = False) -> tuple[list[T], int]:
    """``work`` on every recording in ``paths``: the results of those that worked, and the exit code."""
    batch = Batch(command, fail_fast)
    results = [r for r in (batch.run(p, work) for p in batch.recordings(paths)) if r is not None]
    return results, batch.exit_code()
