"""The files the detector and the alert engine write: ``NAME.detected.csv``, ``NAME.alerts.csv``
and ``NAME.context.csv``.

``NAME.detected.csv`` has ``onset,duration,label,peak_g,confidence`` first (the
contract), then optional ``kind`` and ``context`` columns; ``NAME.alerts.csv``
has ``start,end,level,rule,detail``; ``NAME.context.csv`` has ``start,end,state,level_g``.
``NAME.detected.csv`` holds confirmed events only; ``detect --retracted`` also writes
``NAME.retracted.csv``: the events the confirmation stage retracted, the detection columns and ``reason``.
When the recording's start time is known, the detections and the alerts end with a
``time`` column: the local clock time (ISO 8601 with the offset) of the onset or start.
Columns are only ever added after these. Each file is replaced whole (:func:`~.atomic.write_atomic`): an
interrupted run leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import fields
from typing import Callable, Iterable, TypeVar

from ..errors import RecordingError
from ..types import Alert, ContextSpan, TwitchEvent
from .atomic import write_atomic
from .sessionclock import SessionClock

DETECTION_COLUMNS = ("onset", "duration", "label", "peak_g", "confidence", "kind", "context")
ALERT_COLUMNS = ("start", "end", "level", "rule", "detail")
CONTEXT_COLUMNS = ("start", "end", "state", "level_g")
#: The last column of the detections and the alerts when the start time is known.
TIME_COLUMN = "time"

T = TypeVar("T")


def _write(path: str | os.PathLike, columns: tuple[str, ...], rows: Iterable[list], clock: SessionClock | None,
           at: Callable[[list], float]) -> None:
    """Write ``columns`` and ``rows``, plus the ``time`` of ``at(row)`` when ``clock`` knows the start."""
    timed = clock is not None and clock.known
    f = io.StringIO()
    w = csv.writer(f, lineterminator="\n")
    w.writerow(columns + ((TIME_COLUMN,) if timed else ()))
    for row in rows:
        w.writerow(row + [clock.iso(at(row))] if timed else row)  # type: ignore[union-attr]
    write_atomic(path, f.getvalue())


def _read(path: str | os.PathLike, what: str, required: tuple[str, ...], make: Callable[[dict], T]) -> list[T]:
    """Rows of a CSV this module wrote, made into objects; anything else is one error naming the file."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise RecordingError(path, f"not a {what} file: missing column{'s' if len(missing) > 1 else ''} "
                                     f"{', '.join(missing)}", line=1)
            out = []
            for lineno, row in enumerate(reader, start=2):
                try:
                    out.append(make(row))
                except (TypeError, ValueError):
                    raise RecordingError(path, f"not a {what} row: {','.join(v or '' for v in row.values())[:60]!r}",
                                         line=lineno) from None
            return out
    except UnicodeDecodeError:
        raise RecordingError(path, "not UTF-8 text") from None


def write_detections(path: str | os.PathLike, events: Iterable[TwitchEvent], clock: SessionClock | None = None) -> None:
    """Write ``NAME.detected.csv`` (contract columns first; ``time`` last when ``clock`` knows the start)."""
    rows = ([f"{e.onset:.3f}", f"{e.duration:.3f}", e.label, f"{e.peak_g:.4f}", f"{e.confidence:.3f}", e.kind,
             e.context] for e in events)
    _write(path, DETECTION_COLUMNS, rows, clock, lambda r: float(r[0]))


def write_retracted(path: str | os.PathLike, events: Iterable[TwitchEvent], clock: SessionClock | None = None) -> None:
    """Write ``NAME.retracted.csv``: the detection columns and ``reason`` (``time`` last when ``clock`` knows the start)."""
    rows = ([f"{e.onset:.3f}", f"{e.duration:.3f}", e.label, f"{e.peak_g:.4f}", f"{e.confidence:.3f}", e.kind,
             e.context, e.reason] for e in events)
    _write(path, DETECTION_COLUMNS + ("reason",), rows, clock, lambda r: float(r[0]))


def read_detections(path: str | os.PathLike) -> list[TwitchEvent]:
    """Read a ``NAME.detected.csv`` written by :func:`write_detections`."""
    names = {f.name for f in fields(TwitchEvent)}

    def make(r: dict) -> TwitchEvent:
        kw = {k: v for k, v in r.items() if k in names}
        return TwitchEvent(onset=float(kw.pop("onset")), duration=float(kw.pop("duration")),
                           peak_g=float(kw.pop("peak_g")), confidence=float(kw.pop("confidence")),
                           **{k: (v or "") for k, v in kw.items()})

    return _read(path, "detections", DETECTION_COLUMNS[:5], make)


def write_alerts(path: str | os.PathLike, alerts: Iterable[Alert], clock: SessionClock | None = None) -> None:
    """Write ``NAME.alerts.csv``: ``start,end,level,rule,detail`` (``time`` last when ``clock`` knows the start)."""
    rows = ([f"{a.start:.3f}", f"{a.end:.3f}", a.level, a.rule, a.detail] for a in alerts)
    _write(path, ALERT_COLUMNS, rows, clock, lambda r: float(r[0]))


def read_alerts(path: str | os.PathLike) -> list[Alert]:
    """Read a ``NAME.alerts.csv`` written by :func:`write_alerts`."""
    return _read(path, "alerts", ALERT_COLUMNS, lambda r: Alert(start=float(r["start"]), end=float(r["end"]),
                                                               level=r["level"], rule=r["rule"], detail=r["detail"]))


def write_context(path: str | os.PathLike, spans: Iterable[ContextSpan]) -> None:
    """Write ``NAME.context.csv``: ``start,end,state,level_g`` (``active`` = cannot tell)."""
    write_atomic(path, ",".join(CONTEXT_COLUMNS) + "\n"
                 + "".join(f"{s.start:.3f},{s.end:.3f},{s.state},{s.level_g:.4f}\n" for s in spans))


def read_context(path: str | os.PathLike) -> list[ContextSpan]:
    """Read a ``NAME.context.csv`` written by :func:`write_context`."""
    return _read(path, "context", CONTEXT_COLUMNS, lambda r: ContextSpan(
        start=float(r["start"]), end=float(r["end"]), state=r["state"], level_g=float(r["level_g"])))
