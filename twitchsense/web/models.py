"""The models the Session page can switch a session's detections to, and how two sets of detections agree.

The choices are the history's own events (``recorded``: what the live pipeline detected),
the shipped model (``shipped``) and every ``NAME.skops`` directly inside the ``--models``
folder, named by its file name. A name is looked up in that listing and resolved inside
the folder (:func:`~twitchsense.web.security.inside`), so no other file can be named; a
model is loaded only through the trusted loader (:func:`~twitchsense.detection.model.load_model`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ..detection.scoring import COLLAR_S, _overlaps
from .security import inside

RECORDED = "recorded"
SHIPPED = "shipped"


class ModelShelf:
    """The shipped model and the ``*.skops`` of one folder, loaded on first use (kept while unchanged)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._loaded: dict[str, tuple[int, object]] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        """``shipped``, then the folder's model files by name."""
        mine = sorted(p.name for p in self.folder.glob("*.skops") if p.is_file()) \
            if self.folder is not None and self.folder.is_dir() else []
        return [SHIPPED] + mine

    def path(self, name: str) -> Path | None:
        """The file a name stands for, or None when it names none of :meth:`names`."""
        if name == SHIPPED:
            from ..detection.model import default_model_path
            return default_model_path()
        if self.folder is None or name not in self.names():
            return None
        return inside(self.folder, name)

    def load(self, name: str):
        """The model called ``name`` (ModelError when its file is no model twitchsense trusts)."""
        from ..detection.model import load_model

        path = self.path(name)
        if path is None:
            raise KeyError(name)
        stamp = path.stat().st_mtime_ns
        with self._lock:
            cached = self._loaded.get(name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, load_model(path))
                self._loaded[name] = cached
            return cached[1]


def agreement(a: Sequence[dict], b: Sequence[dict], collar_s: float = COLLAR_S) -> dict:
    """How two event lists agree: an event of one matches one of the other when they overlap after both
    are widened by ``collar_s`` (the scoring rule's). ``agreement`` = matched / (matched + only a + only b)."""
    a0 = np.array([e["onset"] for e in a], float)
    a1 = a0 + np.array([e["duration"] for e in a], float)
    b0 = np.array([e["onset"] for e in b], float)
    b1 = b0 + np.array([e["duration"] for e in b], float)
    ov = _overlaps(a0 - collar_s, a1 + collar_s, b0 - collar_s, b1 + collar_s) if a0.size and b0.size \
        else np.zeros((a0.size, b0.size), bool)
    in_a = ov.any(axis=1) if ov.size else np.zeros(a0.size, bool)
    in_b = ov.any(axis=0) if ov.size else np.zeros(b0.size, bool)
    both = int(in_a.sum())
    only_a, only_b = int((~in_a).sum()), int((~in_b).sum())
    total = both + only_a + only_b
    return {"both": both, "only_a": only_a, "only_b": only_b,
            "agreement": round(both / total, 3) if total else None,
            "matched_a": in_a.tolist(), "matched_b": in_b.tolist()}
