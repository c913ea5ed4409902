"""Exceptions that reach the user as one clear line, never as a traceback."""

from __future__ import annotations


class TwitchsenseError(Exception):
    """Base class: the CLI prints ``str(error)`` to stderr and exits 1."""


class RecordingError(TwitchsenseError):
    """A recording, sidecar or label file is malformed.

    The message always names the file and, where it applies, the line and the
    problem, e.g. ``rec.csv, line 7 (data row 6): column 'ax' is 'abc', not a number``.
    """

    def __init__(self, path: object, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line} (data row {line - 1})"
        if line == 1:
            where = f"{self.path}, line 1 (header)"
        super().__init__(f"{where}: {problem}")


class ModelError(TwitchsenseError):
    """A model file is missing, untrusted or incompatible."""


class TwitchsenseWarning(UserWarning):
    """Something the user should know and can act on, that did not stop the command: the CLI prints
    ``str(warning)`` as one line to stderr."""
