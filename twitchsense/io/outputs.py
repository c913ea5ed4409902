"""The files the detector and the alert engine write: ``NAME.detected.csv``, ``NAME.alerts.csv``
and ``NAME.context.csv``.

``NAME.detected.csv`` has ``onset,duration,label,peak_g,confidence`` first (the
contract), then optional ``kind`` and ``context`` columns; ``NAME.alerts.csv``
has ``start,end,level,rule,detail``; ``NAME.context.csv`` has ``start,end,state,level_g``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Iterable

from ..types import Alert, ContextSpan, TwitchEvent

DETECTION_COLUMNS = ("onset", "duration", "label", "peak_g", "confidence", "kind", "context")
ALERT_COLUMNS = ("start", "end", "level", "rule", "detail")
CONTEXT_COLUMNS = ("start", "end", "state", "level_g")


def write_detections(path: str | os.PathLike, events: Iterable[TwitchEvent]) -> None:
    """Write ``NAME.detected.csv`` (contract columns first)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(DETECTION_COLUMNS)
        for e in events:
            w.writerow([f"{e.onset:.3f}", f"{e.duration:.3f}", e.label, f"{e.peak_g:.4f}",
                        f"{e.confidence:.3f}", e.kind, e.context])


def read_detections(path: str | os.PathLike) -> list[TwitchEvent]:
    """Read a ``NAME.detected.csv`` written by :func:`write_detections`."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = {f.name for f in fields(TwitchEvent)}
    out = []
    for r in rows:
        kw = {k: v for k, v in r.items() if k in names}
        out.append(TwitchEvent(onset=float(kw.pop("onset")), duration=float(kw.pop("duration")),
                               peak_g=float(kw.pop("peak_g")), confidence=float(kw.pop("confidence")),
                               **{k: (v or "") for k, v in kw.items()}))
    return out


def write_alerts(path: str | os.PathLike, alerts: Iterable[Alert]) -> None:
    """Write ``NAME.alerts.csv``: ``start,end,level,rule,detail``."""
    with open(Path(path), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(ALERT_COLUMNS)
        for a in alerts:
            d = asdict(a)
            w.writerow([f"{d['start']:.3f}", f"{d['end']:.3f}", d["level"], d["rule"], d["detail"]])


def read_alerts(path: str | os.PathLike) -> list[Alert]:
    """Read a ``NAME.alerts.csv`` written by :func:`write_alerts`."""
    with open(path, newline="", encoding="utf-8") as f:
        return [Alert(start=float(r["start"]), end=float(r["end"]), level=r["level"], rule=r["rule"],
                      detail=r["detail"]) for r in csv.DictReader(f)]


def write_context(path: str | os.PathLike, spans: Iterable[ContextSpan]) -> None:
    """Write ``NAME.context.csv``: ``start,end,state,level_g`` (``active`` = cannot tell)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(",".join(CONTEXT_COLUMNS) + "\n")
        for s in spans:
            f.write(f"{s.start:.3f},{s.end:.3f},{s.state},{s.level_g:.4f}\n")
