"""Pieces every command module uses: parser construction with examples, and the memory setting of
batch commands."""

from __future__ import annotations

import argparse


def add_command(sub: argparse._SubParsersAction, name: str, help: str, example: str,
                description: str | None = None) -> argparse.ArgumentParser:
    """Add a sub-command whose ``--help`` ends with a worked example."""
    return sub.add_parser(
        name, help=help, description=description or help,
        epilog="example:\n" + "\n".join("  " + line for line in example.strip().splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def reuse_freed_memory() -> None:
    """Batch commands: glibc's allocator keeps freed memory for reuse instead of handing it back.

    Detection allocates and frees arrays of a few MB for every chunk of candidate windows;
    by default glibc returns them to the OS and the next chunk faults them in again (about
    3 s of system time on a 24 h recording, a third of a million page faults). Here blocks
    up to 32 MB come from the heap and its top is trimmed only past 1 GB: the peak memory
    stays what the work needs. Nothing happens where the C library is not glibc.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError, TypeError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
    mallopt(M_MMAP_THRESHOLD, 32 << 20)  # glibc's largest allowed value on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1 << 30)
