"""The serial reader thread: it only reads bytes and timestamps them, nothing else.

Decoding and detection run elsewhere, so a slow stage downstream never leaves
bytes in the kernel buffer long enough to overrun it. An I/O failure (board
unplugged) ends the thread with one :class:`Chunk` carrying the error.

The queue between the thread and its consumer is bounded (``max_queued_bytes``): a
pipeline that stalls for long must not grow memory without limit. While the queue is
full the bytes read are dropped and counted; the next chunk that fits is preceded by
one marker chunk saying how many bytes were dropped, so the consumer can restart its
decoder there and count the samples lost (see :class:`.serial_board.BoardLink`).
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import serial

#: bytes the reader may hold for a stalled consumer (minutes of any board's stream)
MAX_QUEUED_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Chunk:
    """Bytes as they arrived: ``host_ns`` is ``time.monotonic_ns()`` right after the read returned.

    ``dropped`` > 0 marks the place where that many bytes were dropped (the queue was full).
    """

    host_ns: int
    data: bytes
    error: str | None = None
    dropped: int = 0


class SerialReaderThread(threading.Thread):
    """Read ``port`` until stopped or it fails; hand every read as a :class:`Chunk` to :meth:`get`."""

    def __init__(self, port: serial.Serial, max_queued_bytes: int = MAX_QUEUED_BYTES,
                 max_read: int = 65536) -> None:
        super().__init__(name=f"serial-reader {port.port}", daemon=True)
        self.port = port
        self.max_queued_bytes = max_queued_bytes
        self.max_read = max_read
        self.bytes_read = 0
        #: bytes dropped because the queue was full, in all
        self.bytes_dropped = 0
        self._chunks: queue.SimpleQueue[Chunk] = queue.SimpleQueue()
        self._queued = 0  # bytes in _chunks
        self._dropping = 0  # bytes dropped since the last marker
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    @property
    def queued_bytes(self) -> int:
        """Bytes read and not yet taken by the consumer."""
        return self._queued

    def get(self, timeout: float | None = None) -> Chunk:
        """The next chunk, waiting up to ``timeout`` (``queue.Empty`` if none came; 0: do not wait)."""
        chunk = self._chunks.get(timeout=timeout) if timeout != 0 else self._chunks.get_nowait()
        with self._lock:
            self._queued -= len(chunk.data)
        return chunk

    def _put(self, host_ns: int, data: bytes) -> None:
        with self._lock:
            if self._queued + len(data) > self.max_queued_bytes:
                self._dropping += len(data)
                self.bytes_dropped += len(data)
                return
            if self._dropping:
                self._chunks.put(Chunk(host_ns, b"", dropped=self._dropping))
                self._dropping = 0
            self._queued += len(data)
        self._chunks.put(Chunk(host_ns, data))

    def run(self) -> None:
        port = self.port
        while not self._stop_event.is_set():
            try:
                # at least one byte (or the port timeout), then whatever else is already waiting
                data = port.read(1)
                if data and port.in_waiting:
                    data += port.read(min(port.in_waiting, self.max_read))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial's fd was closed under us by stop()
                if not self._stop_event.is_set():
                    self._chunks.put(Chunk(time.monotonic_ns(), b"", error=str(exc) or type(exc).__name__))
                return
            if data:
                self.bytes_read += len(data)
                self._put(time.monotonic_ns(), data)

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to end and wait for it (the port stays open: its owner closes it)."""
        self._stop_event.set()
        try:
            self.port.cancel_read()
        except (AttributeError, OSError, serial.SerialException):
            pass
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
