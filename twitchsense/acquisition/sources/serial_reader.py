"""The serial reader thread: it only reads bytes and timestamps them, nothing else.

Decoding and detection run elsewhere, so a slow stage downstream never leaves
bytes in the kernel buffer long enough to overrun it. An I/O failure (board
unplugged) ends the thread with one :class:`Chunk` carrying the error.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import serial


@dataclass(frozen=True)
class Chunk:
    """Bytes as they arrived: ``host_ns`` is ``time.monotonic_ns()`` right after the read returned."""

    host_ns: int
    data: bytes
    error: str | None = None


class SerialReaderThread(threading.Thread):
    """Read ``port`` until stopped or it fails; put every read as a :class:`Chunk` on ``chunks``."""

    def __init__(self, port: serial.Serial, chunks: "queue.SimpleQueue[Chunk] | None" = None,
                 max_read: int = 65536) -> None:
        super().__init__(name=f"serial-reader {port.port}", daemon=True)
        self.port = port
        self.chunks: queue.SimpleQueue[Chunk] = chunks if chunks is not None else queue.SimpleQueue()
        self.max_read = max_read
        self.bytes_read = 0
        self._stop_event = threading.Event()

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
                    self.chunks.put(Chunk(time.monotonic_ns(), b"", error=str(exc) or type(exc).__name__))
                return
            if data:
                self.bytes_read += len(data)
                self.chunks.put(Chunk(time.monotonic_ns(), data))

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the thread to end and wait for it (the port stays open: its owner closes it)."""
        self._stop_event.set()
        try:
            self.port.cancel_read()
        except (AttributeError, OSError, serial.SerialException):
            pass
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
