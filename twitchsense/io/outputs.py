"""What the detector and the alert engine produce: twitch events and alerts, and their CSV files.

``NAME.detected.csv`` has ``onset,duration,label,peak_g,confidence`` first (the
contract), then optional ``kind`` and ``context`` columns; ``NAME.alerts.csv``
has ``start,end,level,rule,detail``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Iterable

DETECTION_COLUMNS = ("onset", "duration", "label", "peak_g", "confidence", "kind", "context")
ALERT_COLUMNS = ("start", "end", "level", "rule", "detail")
LEVELS = ("info", "warning", "alert")


@dataclass(frozen=True)
class TwitchEvent:
    """One detected twitch.

    onset, duration : seconds, on the recording's time base.
    peak_g : peak movement above the slow background, in g.
    confidence : 0..1.
    kind : the twitch class when the model knows it (``myoclonic``, ``hypnic``,
        ``fasciculation``, ``tic``), else ``""``.
    context : the wearer's activity state around the event (``rest``, ``light``, ``active``).
    """

    onset: float
    duration: float
    peak_g: float
    confidence: float
    kind: str = ""
    context: str = ""
    label: str = "twitch"

    @property
    def end(self) -> float:
        return self.onset + self.duration


@dataclass(frozen=True)
class Alert:
    """One alert: which rule fired, at what level, over which stretch, and the figures in words."""

    start: float
    end: float
    level: str
    rule: str
    detail: str


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
