"""``report``: a picture-rich report of a session for the wearer and a doctor."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import TwitchsenseError
from ..io.outputs import read_alerts, read_detections
from ..io.recording import ALERTS_SUFFIX, DETECTED_SUFFIX, companion_path, read_recording, recording_name
from ..report import write_report
from .common import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "report", "a picture-rich HTML report of a session for the wearer and a doctor",
        "twitchsense detect recordings/demo/frequent-twitching.csv -o out/\n"
        "twitchsense report recordings/demo/frequent-twitching.csv --detections out/ -o report.html",
    )
    p.add_argument("recording", type=Path, help="the session's recording (NAME.csv)")
    p.add_argument("--detections", type=Path,
                   help="NAME.detected.csv, or the folder 'detect' wrote it to (default: beside the recording)")
    p.add_argument("-o", "--output", type=Path, help="HTML file to write (default: NAME.report.html)")
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


def run_report(args: argparse.Namespace) -> int:
    rec = read_recording(args.recording)
    det_path = find_detections(args.recording, args.detections)
    events = read_detections(det_path)
    alerts_path = det_path.with_name(det_path.name.replace(DETECTED_SUFFIX, ALERTS_SUFFIX))
    alerts = read_alerts(alerts_path) if alerts_path.exists() else []
    out = args.output or args.recording.with_name(f"{rec.name}.report.html")
    write_report(out, rec, events, alerts)
    print(f"{out}: report of {rec.name}: {len(events)} twitches, {len(alerts)} alerts")
    return 0
