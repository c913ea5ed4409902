"""``--record OUT.csv``: every sample of a live or replayed session through the crash-safe writer."""

from __future__ import annotations

import os

from ...errors import TwitchsenseError
from ...io.writer import RecordingWriter
from ...stages import Source
from ...types import LinkEvent, SampleBlock
from . import SinkError


class RecordSink:
    """``--record OUT.csv``: every sample through the crash-safe writer, sidecar from the source's meta.

    A write that fails (a full disk) is raised once as a :class:`SinkError`, for the pipeline to
    report; the writer keeps the file loadable and counts the samples it could not write
    (:attr:`rows_dropped`).
    """

    def __init__(self, path: str | os.PathLike, source: Source, **writer_options: object) -> None:
        self.source = source
        self.label = f"--record {path}"
        try:
            self.writer = RecordingWriter(path, dict(source.meta), **writer_options)  # type: ignore[arg-type]
        except OSError as exc:
            raise TwitchsenseError(f"{self.label}: cannot write the recording ({exc.strerror or exc})") from None
        self._meta = dict(source.meta)
        self._told = False

    @property
    def rows_dropped(self) -> int:
        """Samples that could not be written (a full disk)."""
        return self.writer.rows_dropped

    def _sync_meta(self) -> None:
        if self.source.meta != self._meta:
            self._meta = dict(self.source.meta)
            self.writer.update_meta(**self._meta)

    def _check(self) -> None:
        """Raise the writer's failure, once."""
        if self.writer.failure is not None and not self._told:
            self._told = True
            raise SinkError(f"--record {self.writer.failure}")

    def on_samples(self, block: SampleBlock) -> None:
        self._sync_meta()
        self.writer.append(block.t, block.acc)
        self._check()

    def on_link(self, event: LinkEvent) -> None:
        if event.kind in ("info", "reconnected"):
            self._sync_meta()

    def flush(self) -> None:
        self.writer.flush()
        self._check()

    def close(self) -> None:
        try:
            self._sync_meta()
        finally:
            self.writer.close()
        self._check()
