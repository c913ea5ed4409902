"""Atomic edits of a recording's ``NAME.events.csv``: rows added or replaced, every other row kept.

Review decisions and "felt one" markers both land here. The file is read strictly
(:func:`~twitchsense.recording.read_labels`), changed in memory and written to a
temporary file in the same folder that then replaces it, so a reader or a crash
sees the old file or the new one, never half of one. One lock per file keeps
concurrent edits in this process from losing each other's rows.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ..io.recording import empty_labels, read_labels, write_labels

#: ``label`` of a "felt one" marker; ``note`` of a row written by the review page.
FELT = "felt"
REVIEWED = "reviewed"
#: The label a rejected candidate gets (any label but ``twitch`` is a labelled negative).
NOT_TWITCH = "not-twitch"
#: Twitch classes, in the order of the review keys 1-4.
CLASSES = ("myoclonic", "hypnic", "fasciculation", "tic")
#: Two rows with onsets closer than this (s) describe the same candidate.
SAME_ONSET_S = 1e-3

_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path.resolve(), threading.Lock())


def load_labels(path: Path) -> pd.DataFrame:
    """The label table of ``path`` (an empty one when the file does not exist yet)."""
    return read_labels(path) if path.exists() else empty_labels()


def edit_labels(path: Path, add: Iterable[dict] = (),
                drop: Callable[[pd.DataFrame], np.ndarray] | None = None) -> pd.DataFrame:
    """Drop the rows ``drop(table)`` marks, append ``add``, and replace the file atomically.

    Returns the table as written. Rows keep every column they had; new columns
    are added empty to the old rows.
    """
    path = Path(path)
    with _lock(path):
        table = load_labels(path)
        if drop is not None and len(table):
            table = table[~np.asarray(drop(table), dtype=bool)]
        new = pd.DataFrame(list(add))
        if len(new):
            table = pd.concat([table, new], ignore_index=True) if len(table) else new
        for c in table.columns:
            if table[c].dtype == object:
                table[c] = table[c].fillna("")
        table = table.sort_values("onset", kind="stable").reset_index(drop=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write_labels(tmp, table)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return table


def reviewed_rows(table: pd.DataFrame) -> np.ndarray:
    """Rows the review page wrote (``note=reviewed``)."""
    return table["note"].astype(str).to_numpy() == REVIEWED if "note" in table else np.zeros(len(table), bool)


def same_candidate(table: pd.DataFrame, onset: float) -> np.ndarray:
    """Review rows at ``onset`` (within :data:`SAME_ONSET_S`): the decision a new one replaces."""
    return (np.abs(table["onset"].to_numpy(float) - onset) < SAME_ONSET_S) & reviewed_rows(table)
