"""Crash-safe recording writer: nothing a user recorded is lost.

Rows are appended as samples arrive and reach the operating system at least
every ``flush_interval_s`` (a background thread flushes even when samples stop
coming), with an ``fsync`` so a power loss keeps them too. Only whole rows are
ever written, so a file cut off by ``kill -9`` reads back up to its last
flushed row; if a power loss tears the last line, the reader drops it and says so.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

import numpy as np

from .recording import REQUIRED_COLUMNS, format_rows, sidecar_path, write_sidecar


class RecordingWriter:
    """Append samples to ``NAME.csv`` in the interchange format.

    Parameters
    ----------
    path : the CSV to create (an existing file is replaced).
    meta : sidecar fields written to ``NAME.json`` at once and again on close.
    flush_interval_s : longest time a row may wait in memory.
    fsync : also ask the OS to put flushed rows on disk (survives power loss).

    A write that fails (disk full, file too large, I/O error) never leaves half a row: the
    file is cut back to its last whole row and stays loadable. The rows that could not be
    written are dropped and counted in :attr:`rows_dropped` (never kept to pile up in memory,
    never written twice); :attr:`failure` says why, from the first failure on. Later flushes
    try again, so when space comes back the recording goes on after a gap.

    Example
    -------
    >>> with RecordingWriter("session.csv", {"sample_rate_hz": 100}) as w:  # doctest: +SKIP
    ...     w.append(t, acc)
    """

    def __init__(self, path: str | os.PathLike, meta: dict | None = None, *,
                 flush_interval_s: float = 0.5, fsync: bool = True) -> None:
        self.path = Path(path)
        self.meta = dict(meta or {})
        self.flush_interval_s = flush_interval_s
        self.fsync = fsync
        self.n_written = 0
        self.last_t: float | None = None
        #: rows that could not be written (they are not in the file)
        self.rows_dropped = 0
        #: the first write failure, in words (None while every write succeeded)
        self.failure: str | None = None
        self._pending: list[str] = []
        self._lock = threading.Lock()      # guards _pending and the counters
        self._io_lock = threading.Lock()   # one writer of the file at a time (append never waits on the disk)
        self._closed = threading.Event()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        header = (",".join(REQUIRED_COLUMNS) + "\n").encode()
        try:
            self._write_all(header)
        except OSError:
            os.close(self._fd)
            raise
        self._size = len(header)  # the file ends after its last whole row here
        if self.meta:
            write_sidecar(sidecar_path(self.path), self.meta)
        self._thread = threading.Thread(target=self._flush_loop, name="recording-flush", daemon=True)
        self._thread.start()

    def append(self, t: np.ndarray, acc: np.ndarray) -> None:
        """Queue samples (``t`` in s, ``acc`` (n, 3) in g); ``t`` must keep increasing."""
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        if t.size == 0:
            return
        acc = np.asarray(acc, dtype=np.float64).reshape(-1, 3)
        if self.last_t is not None and t[0] <= self.last_t:
            keep = t > self.last_t
            t, acc = t[keep], acc[keep]
            if t.size == 0:
                return
        text = format_rows(t, acc)
        with self._lock:
            if self._closed.is_set():
                raise ValueError(f"{self.path}: writer is closed")
            self._pending.append(text)
            self.n_written += t.size
            self.last_t = float(t[-1])

    def update_meta(self, **fields: object) -> None:
        """Change sidecar fields (rewritten atomically at once)."""
        self.meta.update({k: v for k, v in fields.items() if v is not None})
        write_sidecar(sidecar_path(self.path), self.meta)

    def flush(self) -> None:
        """Hand every queued row to the OS now (and to the disk with ``fsync``).

        Never raises for a failed write: see the class description.
        """
        with self._io_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            if not pending:
                return
            data = "".join(pending).encode()
            try:
                self._write_all(data)
                if self.fsync:
                    os.fsync(self._fd)
                self._size += len(data)
            except OSError as exc:
                self._cut_back(data, exc)

    def _cut_back(self, data: bytes, exc: OSError) -> None:
        """After a failed write: keep the whole rows that reached the file, drop the rest."""
        written = max(os.lseek(self._fd, 0, os.SEEK_CUR) - self._size, 0)
        whole = data.rfind(b"\n", 0, min(written, len(data))) + 1  # bytes of whole rows written
        try:
            os.ftruncate(self._fd, self._size + whole)
            self._size += whole
        except OSError:
            pass  # the file cannot even shrink: the reader drops a torn last line by itself
        os.lseek(self._fd, self._size, os.SEEK_SET)
        lost = data.count(b"\n", whole)
        with self._lock:
            self.n_written -= lost
            self.rows_dropped += lost
            if self.failure is None:
                why = exc.strerror or str(exc)
                self.failure = (f"{self.path}: cannot write ({why}); the file keeps every row written "
                                "before, and samples are dropped until it can be written again")

    def close(self) -> None:
        """Flush, stop the flush thread and close the file. Safe to call twice."""
        if self._closed.is_set():
            return
        try:
            self.flush()
        finally:
            self._closed.set()
            self._thread.join(timeout=2)
            os.close(self._fd)
        if self.meta:
            write_sidecar(sidecar_path(self.path), self.meta)

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _flush_loop(self) -> None:
        while not self._closed.wait(self.flush_interval_s):
            self.flush()

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
