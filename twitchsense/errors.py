"""Exceptions that reach the user as one clear line, never as a traceback."""

from __future__ import annotations


def describe_os_error(exc: OSError) -> str:
    """``FILE: permission denied`` for an OSError about a file (``str(exc)`` reads
    ``[Errno 13] Permission denied: 'FILE'``); both files of a rename or a link."""
    what = (exc.strerror or str(exc)).lower()
    files = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{' -> '.join(files)}: {what}" if files else what


class TwitchsenseError(Exception):
    """Base class: the CLI prints ``str(error)`` to stderr and exits 1."""


class RecordingError(TwitchsenseError):
    """A recording, sidecar or label file is malformed.

    The message always names the file and, where it applies, the line and the
    problem, e.g. ``rec.csv, line 7 (data row 6): column 'ax' is 'abc', not a number``
    (``header=False``: the file has no header row, and line N is data row N).
    """

    def __init__(self, path: object, problem: str, line: int | None = None, header: bool = True) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line} (data row {line - 1})"
        if line == 1:
            where = f"{self.path}, line 1 (header)"
        if line is not None and not header:  # a file without a header row: line N is data row N
            where = f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")


class ModelError(TwitchsenseError):
    """A model file is missing, untrusted or incompatible."""


class TwitchsenseWarning(UserWarning):
    """Something the user should know that does not stop the work (the CLI prints it as one line:
    ``twitchsense COMMAND: warning: ...``)."""


class RecordingWarning(TwitchsenseWarning):
    """Something about a recording (e.g. a sidecar rate the time stamps contradict)."""
