"""The Review page's data: recordings in the configured folders, their candidates, waveforms and decisions.

A candidate is a detection (``NAME.detected.csv`` and ``NAME.context.csv`` beside
the recording when ``detect`` wrote them there, else the shipped model run on the
recording) or a "felt one" marker of ``NAME.events.csv`` with its nearest
detection. A decision becomes a row of ``NAME.events.csv``: ``label=twitch`` (with
the class as ``kind``) or ``label=not-twitch``, ``note=reviewed``; every other row
is kept (:mod:`twitchsense.web.labels`).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import TwitchsenseError
from ..io.outputs import read_detections
from ..io.recording import (CONTEXT_SUFFIX, DETECTED_SUFFIX, Recording, companion_path, find_recordings,
                         read_recording, recording_name)
from .labels import CLASSES, FELT, NOT_TWITCH, REVIEWED, edit_labels, load_labels, reviewed_rows, same_candidate
from .markers import MATCH_S, marker_agreement
from .security import inside
from ..types import ContextSpan, TwitchEvent

#: Seconds of waveform on either side of a candidate.
WAVE_S = 3.0
#: Most points per channel sent for one waveform.
WAVE_POINTS = 2400
DECISIONS = {"twitch", NOT_TWITCH}


class Catalogue:
    """The recordings of the configured folders, each named by a key ``INDEX/RELATIVE/PATH.csv``."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = [Path(f) for f in folders]

    def keys(self) -> list[tuple[str, Path]]:
        out = []
        for i, folder in enumerate(self.folders):
            if folder.is_dir():
                out += [(f"{i}/{p.relative_to(folder).as_posix()}", p) for p in find_recordings([folder])]
        return out

    def resolve(self, key: str) -> Path | None:
        """The recording a key names, or None (unknown folder, outside it, not a recording)."""
        index, _, rel = key.partition("/")
        if not index.isdigit() or int(index) >= len(self.folders) or not rel.endswith(".csv"):
            return None
        path = inside(self.folders[int(index)], rel)
        if path is None or not path.is_file() or path.name.endswith((".events.csv", ".detected.csv",
                                                                      ".alerts.csv", ".context.csv")):
            return None
        return path

    def find(self, name: str) -> Path | None:
        """The recording called ``name`` (file stem), if one of the folders holds it."""
        for _, p in self.keys():
            if recording_name(p) == name:
                return p
        return None


@dataclass
class Analysis:
    """A recording with its detections and context spans."""

    rec: Recording
    events: list[TwitchEvent]
    context: list[ContextSpan]
    source: str  # where the detections came from, in words


class Analyses:
    """Recordings and their detections, kept for the few recordings being looked at (LRU, by mtime)."""

    def __init__(self, model_path: Path | None = None, size: int = 3, shelf=None) -> None:
        self.model_path = model_path
        self.size = size
        self.shelf = shelf  # a web.models.ModelShelf: the models get(path, model=NAME) may name
        self._cache: OrderedDict[tuple, Analysis] = OrderedDict()
        self._lock = threading.Lock()
        self._model = None

    def get(self, path: Path, model: str | None = None) -> Analysis:
        """``path``'s detections: by the model of the shelf called ``model``, else as the Review page takes them."""
        key = (str(path), path.stat().st_mtime_ns, model)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            a = self._analyse(path) if model is None else self._detect(path, model)
            self._cache[key] = a
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
            return a

    def _analyse(self, path: Path) -> Analysis:
        rec = read_recording(path, labels=False)
        det = companion_path(path.parent, rec.name, DETECTED_SUFFIX)
        ctx = companion_path(path.parent, rec.name, CONTEXT_SUFFIX)
        if det.exists() and ctx.exists():
            return Analysis(rec, read_detections(det), read_context(ctx), f"{det.name}")
        from ..detection.engine import detect_recording
        from ..detection.model import default_model_path, load_model
        if self._model is None:
            self._model = load_model(self.model_path or default_model_path())
        res = detect_recording(rec, self._model)
        return Analysis(rec, res.events, res.context, "the shipped model" if self.model_path is None
                        else f"model {self.model_path.name}")

    def _detect(self, path: Path, model: str) -> Analysis:
        from ..detection.engine import detect_recording
        rec = read_recording(path, labels=False)
        res = detect_recording(rec, self.shelf.load(model))
        return Analysis(rec, res.events, res.context, f"model {model}")


def read_context(path: Path) -> list[ContextSpan]:
    """``NAME.context.csv`` (``start,end,state,level_g``)."""
    import csv
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [ContextSpan(float(r["start"]), float(r["end"]), r["state"], float(r["level_g"]))
                    for r in csv.DictReader(f)]
    except (KeyError, ValueError) as exc:
        raise TwitchsenseError(f"{path}: not a context file (start,end,state,level_g): {exc}") from None


def _state_at(spans: list[ContextSpan], t: float) -> dict | None:
    for s in spans:
        if s.start <= t < s.end:
            return {"state": s.state, "level_g": round(s.level_g, 4)}
    return None


def candidates(a: Analysis, labels_file: Path) -> dict:
    """Every candidate of a recording, with the decision already made on it, and the markers' check."""
    table = load_labels(labels_file)
    reviewed = table[reviewed_rows(table)] if len(table) else table
    decided = {round(float(o), 3): (str(lab), str(k) if "kind" in reviewed else "")
               for o, lab, k in zip(reviewed["onset"], reviewed["label"],
                                    reviewed["kind"] if "kind" in reviewed else [""] * len(reviewed))}
    felt = table[table["label"] == FELT]["onset"].to_numpy(float) if len(table) else np.zeros(0)
    onsets = np.array([e.onset for e in a.events], float)
    out = []
    for i, e in enumerate(a.events):
        out.append({"type": "detection", "onset": round(e.onset, 3), "duration": round(e.duration, 3),
                    "peak_g": round(e.peak_g, 4), "confidence": round(e.confidence, 3), "kind": e.kind,
                    "context": _state_at(a.context, e.onset) or {"state": e.context}, "index": i})
    for m in felt:
        near = None
        if onsets.size:
            j = int(np.argmin(np.abs(onsets - m)))
            if abs(onsets[j] - m) <= MATCH_S + a.events[j].duration:
                e = a.events[j]
                near = {"onset": round(e.onset, 3), "offset_s": round(e.onset - m, 3), "peak_g": round(e.peak_g, 4)}
        target = a.events[int(np.argmin(np.abs(onsets - m)))] if near else None
        out.append({"type": "marker", "marker_t": round(float(m), 3),
                    "onset": round(target.onset if target else float(m), 3),
                    "duration": round(target.duration if target else 0.2, 3),
                    "peak_g": round(target.peak_g, 4) if target else None, "confidence": None,
                    "kind": target.kind if target else "", "nearest": near,
                    "context": _state_at(a.context, float(m)) or {"state": ""}})
    out.sort(key=lambda c: (c["onset"], c["type"]))
    for c in out:
        lab, kind = decided.get(c["onset"], (None, None))
        c["decision"] = None if lab is None else {"label": lab, "kind": kind}
    agreement = marker_agreement(felt, onsets, onsets + np.array([e.duration for e in a.events], float))
    return {"name": a.rec.name, "source": a.source, "candidates": out, "markers": agreement,
            "rate_hz": a.rec.sample_rate_hz, "duration_s": a.rec.duration_s,
            "start_time": a.rec.meta.get("start_time") or None}


def waveform(a: Analysis, t: float, half_s: float = WAVE_S) -> dict:
    """``±half_s`` around ``t``: time from ``t``, each axis and the magnitude minus their median, in g."""
    rec = a.rec
    i0, i1 = np.searchsorted(rec.t, [t - half_s, t + half_s])
    step = max(1, math.ceil((i1 - i0) / WAVE_POINTS))
    tt = rec.t[i0:i1:step] - t
    acc = rec.acc[i0:i1:step]
    mag = np.linalg.norm(acc, axis=1)
    rel = acc - np.median(acc, axis=0) if len(acc) else acc
    spans = [{"start": round(max(s.start, t - half_s) - t, 3), "end": round(min(s.end, t + half_s) - t, 3),
              "state": s.state} for s in a.context if s.end > t - half_s and s.start < t + half_s]
    r = lambda x: np.round(x, 5).tolist()  # noqa: E731
    return {"t": r(tt), "x": r(rel[:, 0]) if len(rel) else [], "y": r(rel[:, 1]) if len(rel) else [],
            "z": r(rel[:, 2]) if len(rel) else [], "m": r(mag - np.median(mag)) if len(mag) else [],
            "context": spans, "step": step}


def decide(a: Analysis, labels_file: Path, body: dict) -> dict:
    """Write one decision (``label``, ``kind``) on the candidate at ``onset``; ``label`` None undoes it."""
    onset = _number(body.get("onset"), "onset")
    duration = _number(body.get("duration", 0.2), "duration")
    if not (float(a.rec.t[0]) - 1 <= onset <= float(a.rec.t[-1]) + 1) or not 0 <= duration <= 30:
        raise ValueError("onset or duration outside the recording")
    label = body.get("label")
    kind = body.get("kind") or ""
    if label is not None and label not in DECISIONS:
        raise ValueError(f"label must be one of {sorted(DECISIONS)}")
    if not isinstance(kind, str) or kind not in ("",) + CLASSES:
        raise ValueError(f"kind must be one of {list(CLASSES)} or empty")
    peak = body.get("peak_g")
    row = {"onset": onset, "duration": duration, "label": label, "kind": kind if label == "twitch" else "",
           "note": REVIEWED}
    if peak is not None:
        row["peak_g"] = _number(peak, "peak_g")
    edit_labels(labels_file, add=[row] if label else [], drop=lambda tb: same_candidate(tb, onset))
    return {"ok": True, "onset": onset, "label": label, "kind": row["kind"]}


def _number(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number")
    return float(x)

