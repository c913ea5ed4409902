"""``report``: a picture-rich report of a session for the wearer and a doctor."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import TwitchsenseError
from ..history import default_db_path
from ..io.outputs import read_alerts, read_context, read_detections
from ..io.recording import (ALERTS_SUFFIX, CONTEXT_SUFFIX, DETECTED_SUFFIX, Recording, companion_path,
                            read_recording, recording_name)
from ..types import ContextSpan, TwitchEvent
from .batch import Batch, add_fail_fast
from .common import add_command

#: Detections end at most this long after the recording's last sample (the detector's last block).
END_SLACK_S = 1.0
#: The context of a recording ends no earlier than this before its last sample.
CONTEXT_SHORT_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "report", "a picture-rich HTML report of a session for the wearer and a doctor",
        "twitchsense detect recordings/demo/frequent-twitching.csv -o out/\n"
        "twitchsense report recordings/demo/frequent-twitching.csv --detections out/ -o report.html\n"
        "twitchsense report recordings/demo --detections out/ -o reports/\n"
        "twitchsense report --days 30 --db history.sqlite -o month.html   # many days, from the history",
        description="A picture-rich HTML report of a session: how often (per judged minute: the time the "
                    "detector could judge), how strong, when, under what conditions, which rules fired, the "
                    "data quality and every twitch. Reads NAME.detected.csv, NAME.alerts.csv and "
                    "NAME.context.csv as 'detect' wrote them. With --days, one report over many days from "
                    "the history instead: the rate per judged hour per day, the trend, and since when each "
                    "rule was met.",
    )
    p.add_argument("recordings", nargs="*", type=Path, help="the sessions' recordings (NAME.csv) or folders of them")
    p.add_argument("--days", type=int, metavar="N",
                   help="instead of recordings: one report over the last N days of the history (--db)")
    p.add_argument("--db", type=Path, metavar="FILE",
                   help=f"--days: the history database (default: {default_db_path()})")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="--days: the last day (default: the latest day with data)")
    p.add_argument("--detections", type=Path,
                   help="NAME.detected.csv, or the folder 'detect' wrote to (default: beside each recording)")
    p.add_argument("-o", "--output", type=Path,
                   help="HTML file to write, or a folder for NAME.report.html (default: NAME.report.html in the "
                        "current folder)")
    add_fail_fast(p)
    p.set_defaults(func=run_report)


def find_detections(recording: Path, where: Path | None) -> Path:
    """``NAME.detected.csv`` for ``recording``: the path given, in the folder given, or beside it."""
    name = recording_name(recording)
    candidates = [where] if where is not None and where.is_file() else \
        [companion_path(where or recording.parent, name, DETECTED_SUFFIX)]
    for c in candidates:
        if c.exists():
            return c
    raise TwitchsenseError(f"no detections for {recording}: looked for {candidates[0]}; run "
                           f"'twitchsense detect {recording} -o DIR' and pass '--detections DIR'")


def detections_name(det_path: Path) -> str:
    """``NAME`` of ``NAME.detected.csv``: the recording the detections are of."""
    return det_path.name[: -len(DETECTED_SUFFIX)] if det_path.name.endswith(DETECTED_SUFFIX) else det_path.stem


def check_same_recording(rec: Recording, det_path: Path, events: list[TwitchEvent],
                         context: list[ContextSpan] | None) -> None:
    """Refuse detections of another recording: another name, or a time span that does not fit."""
    det_name = detections_name(det_path)
    start, end = float(rec.t[0]), float(rec.t[-1])
    problem = None
    if det_name != rec.name:
        problem = f"they are of '{det_name}'"
    elif events and (events[-1].onset > end + END_SLACK_S or events[0].onset < start - END_SLACK_S):
        problem = f"they run to {events[-1].onset:.1f} s, the recording from {start:.1f} to {end:.1f} s"
    elif context and (context[-1].end > end + END_SLACK_S or context[-1].end < end - CONTEXT_SHORT_S
                      or context[0].start < start - END_SLACK_S):
        problem = (f"they cover {context[0].start:.1f}-{context[-1].end:.1f} s, the recording "
                   f"{start:.1f}-{end:.1f} s")
    if problem:
        raise TwitchsenseError(f"{det_path}: not the detections of {rec.path}: {problem}; run "
                               f"'twitchsense detect {rec.path} -o DIR' and pass '--detections DIR'")


def output_path(out: Path | None, name: str, several: bool) -> Path:
    """Where the report of ``name`` goes: ``out`` (a file, or a folder), else the current folder."""
    if out is None:
        return Path.cwd() / f"{name}.report.html"
    if several or out.is_dir() or out.suffix.lower() not in (".html", ".htm"):
        out.mkdir(parents=True, exist_ok=True)
        return out / f"{name}.report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def run_days_report(args: argparse.Namespace) -> int:
    """``report --days N``: the report over many days, from the history."""
    from ..history import connect
    from ..history_report import write_days_report
    from .history import check_days
    if args.recordings:
        raise TwitchsenseError("--days reports from the history: give no recordings (store them with "
                               "'detect --db' or 'replay --db' first)")
    check_days(args.days, args.until)
    db = args.db or default_db_path()
    out = args.output or Path.cwd() / "history.report.html"
    if out.is_dir():
        out = out / "history.report.html"
    con = connect(db, create=False)
    try:
        write_days_report(out, con, args.days, args.until, source=str(db))
    finally:
        con.close()
    print(f"{out}: report of the last {args.days} days of {db}")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from ..report import write_report

    if args.days is not None:
        return run_days_report(args)
    if not args.recordings:
        raise TwitchsenseError("give the recordings to report on, or --days N for a report from the history")

    batch = Batch("report", args.fail_fast)
    paths = batch.recordings(args.recordings)
    several = len(paths) > 1 or any(p.is_dir() for p in args.recordings)
    if several and args.detections is not None and args.detections.is_file():
        raise TwitchsenseError(f"--detections {args.detections}: a file, but there are {len(paths)} recordings; "
                               "give the folder 'detect' wrote to")
    if several and args.output is not None and args.output.suffix.lower() in (".html", ".htm"):
        raise TwitchsenseError(f"-o {args.output}: one file, but there are {len(paths)} recordings; give a folder")

    def report(path: Path) -> None:
        rec = read_recording(path)
        det_path = find_detections(path, args.detections)
        events = read_detections(det_path)
        alerts_path = companion_path(det_path.parent, detections_name(det_path), ALERTS_SUFFIX)
        context_path = companion_path(det_path.parent, detections_name(det_path), CONTEXT_SUFFIX)
        alerts = read_alerts(alerts_path) if alerts_path.exists() else []
        context = read_context(context_path) if context_path.exists() else None
        check_same_recording(rec, det_path, events, context)
        out = output_path(args.output, rec.name, several)
        write_report(out, rec, events, alerts, context)
        print(f"{out}: report of {rec.name}: {len(events)} twitches, {len(alerts)} alerts"
              + ("" if context is not None else f" (judged time not known: no {context_path.name})"))

    for p in paths:
        batch.run(p, report)
    return batch.exit_code()
