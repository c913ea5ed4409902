"""Replacing a small file (a sidecar, the alert state) so that a crash or a power loss leaves the old
content or the new, whole, and two writers never trip over each other's temporary file."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def fsync_dir(folder: str | os.PathLike) -> None:
    """Put a folder's entries (a file created or renamed in it) on disk. No-op where folders cannot
    be opened (Windows, where a rename is durable by itself)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` (UTF-8) atomically and durably.

    The text goes to a temporary file of a name no other writer uses (the process id and a
    random part), in the same folder; it is fsynced before the rename, and the folder after
    it, so the new name survives a power loss too.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
