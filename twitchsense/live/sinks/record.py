"""``--record OUT.csv``: every sample of a live or replayed session through the crash-safe writer."""

from __future__ import annotations

import os

from ...io.writer import RecordingWriter
from ...stages import Source
from ...types import LinkEvent, SampleBlock


class RecordSink:
    """``--record OUT.csv``: every sample through the crash-safe writer, sidecar from the source's meta."""

    def __init__(self, path: str | os.PathLike, source: Source, **writer_options: object) -> None:
        self.source = source
        self.writer = RecordingWriter(path, dict(source.meta), **writer_options)  # type: ignore[arg-type]
        self._meta = dict(source.meta)

    def _sync_meta(self) -> None:
        if self.source.meta != self._meta:
            self._meta = dict(self.source.meta)
            self.writer.update_meta(**self._meta)

    def on_samples(self, block: SampleBlock) -> None:
        self._sync_meta()
        self.writer.append(block.t, block.acc)

    def on_link(self, event: LinkEvent) -> None:
        if event.kind in ("info", "reconnected"):
            self._sync_meta()

    def close(self) -> None:
        self._sync_meta()
        self.writer.close()
