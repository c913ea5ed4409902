"""Segments of one person's day joined into one day-long run, through detection and the alert engine.

The ActiGraph logger of ``real-wrist-actigraph`` sleeps while the wrist is still, so its day is
stored as 104 segments. Each is placed at its own local start time (the sidecar's ``session``:
"starts 2019-05-06 11:38:38 local (TZ -05:00:00)") in one recording, the logger's sleep as gaps
(time without data, which is not judged), and run as ``detect`` then the alert engine run them on
one recording: the shipped rules over the whole day, rates per judged hour against the healthy wrist
range. Reports the rules that reach warning or above, with their details. A healthy person's day:
every such alert is a false alarm. Evaluation only: nothing of the data is written anywhere. Mind
that the shipped wrist range (``benchmarks.reference_range``) is measured on this very day: the
``frequent`` rule's p95 is not held out from it.

    python -m benchmarks.joined_day                       # real-wrist-actigraph, the shipped model
    python -m benchmarks.joined_day --model my.skops --json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import numpy as np

from benchmarks.window_set import SHARED_DATA

#: the sidecar's ``session`` text naming the segment's local start and the logger's UTC offset
START = re.compile(r"starts (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) local \(TZ ([-+]\d\d:\d\d)(?::\d\d)?\)")


def segment_start(meta: dict, path: Path) -> datetime:
    """The segment's local start (an aware datetime) from its sidecar's ``session``."""
    m = START.search(str(meta.get("session", "")))
    if m is None:
        raise SystemExit(f"{path}: the sidecar's session does not say when the segment starts "
                         "('starts YYYY-MM-DD HH:MM:SS local (TZ +HH:MM)')")
    return datetime.fromisoformat(f"{m.group(1)}{m.group(2)}")


def joined_day(folder: Path):
    """The folder's recordings as one :class:`~twitchsense.io.recording.Recording`, each at its start
    (stream time 0 = the first one's start), and the number of segments."""
    from tqdm import tqdm

    from twitchsense.io.recording import Recording, read_recording

    paths = sorted(folder.glob("*.csv"))
    paths = [p for p in paths if not p.name.endswith((".events.csv", ".context.csv", ".alerts.csv"))]
    if not paths:
        raise SystemExit(f"{folder}: no recordings")
    recs = [read_recording(p, labels=False) for p in tqdm(paths, desc="reading", unit="file", file=sys.stderr)]
    starts = [segment_start(r.meta, p) for r, p in zip(recs, paths)]
    order = np.argsort([s.timestamp() for s in starts], kind="stable")
    t0 = starts[order[0]]
    ts, accs, end = [], [], -np.inf
    for i in order:
        t = recs[i].t - recs[i].t[0] + (starts[i] - t0).total_seconds()
        if t[0] <= end:  # starts are to the second: a segment never overlaps the one before
            raise SystemExit(f"{paths[i]}: starts at {starts[i]}, before the segment before it ends")
        ts.append(t)
        accs.append(recs[i].acc)
        end = float(t[-1])
    first = recs[order[0]].meta
    meta = {k: first[k] for k in ("sample_rate_hz", "placement", "subject", "board") if k in first}
    meta["start_time"] = t0.isoformat()
    meta["session"] = f"{len(recs)} segments of {folder.name} joined at their start times"
    return Recording(t=np.concatenate(ts), acc=np.concatenate(accs), meta=meta), len(recs)


def run(folder: Path, model_path: Path | None = None) -> dict:
    """Detection and alerts on the folder's joined day: figures and the alerts at warning or above."""
    from twitchsense.alerts import load_rules, recording_alerts
    from twitchsense.alerts.reference import reference_range
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.judged import judged_seconds
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.io.sessionclock import SessionClock

    path = model_path or default_model_path()
    model = load_model(path)
    rec, n = joined_day(folder)
    res = detect_recording(rec, model)
    rules = load_rules()
    alerts = recording_alerts(res.events, rec, rules, context=res.context)
    judged_h = judged_seconds(res.context) / 3600.0
    r = reference_range(rec.meta.get("placement"))
    kinds = {x.name: x.kind for x in rules.rules}
    raised = [a for a in alerts if a.level in ("warning", "alert")]
    clock = SessionClock(rec.meta["start_time"])
    return {
        "folder": folder.name, "segments": n,
        "model": f"{path.name} (sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]})",
        "start": rec.meta["start_time"], "span_h": round(rec.duration_s / 3600, 3),
        "with_data_h": round(float(sum(rec.t[s][-1] - rec.t[s][0] for s in rec.segments())) / 3600, 3),
        "judged_h": round(judged_h, 3), "detections": len(res.events),
        "per_judged_h": round(len(res.events) / judged_h, 1) if judged_h > 0 else None,
        "healthy_p95_per_judged_h": round(r.p95, 1) if r else None,  # of whole-recording rates
        "warning_or_above": dict(Counter(f"{a.rule} ({a.level})" for a in raised)),
        "alerts": [{"rule": a.rule, "kind": kinds.get(a.rule, ""), "level": a.level,
                    "start": (clock.iso(a.start) or "")[:19], "minutes": round((a.end - a.start) / 60, 1),
                    "detail": a.detail} for a in raised],
        "levels_any": sorted({f"{a.rule} ({a.level})" for a in alerts}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folder", type=Path, default=SHARED_DATA / "real-wrist-actigraph",
                    help="a folder of one person's segments (default: %(default)s)")
    ap.add_argument("--model", type=Path, help="a model file (default: the shipped model)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    from twitchsense.errors import TwitchsenseError
    try:
        res = run(args.folder, args.model)
    except TwitchsenseError as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"{res['folder']}: {res['segments']} segments joined from {res['start']}, {res['span_h']} h "
          f"({res['with_data_h']} h with data, {res['judged_h']} judged); model {res['model']}")
    print(f"{res['detections']} detections, {res['per_judged_h']}/judged h over the whole recording (healthy p95 "
          f"of whole-recording rates {res['healthy_p95_per_judged_h']}/judged h; 'frequent' compares its 10-min rate "
          "with the highest-10-min range)")
    print("warning or above: " + (", ".join(f"{k} x{v}" for k, v in res["warning_or_above"].items()) or "none"))
    for a in res["alerts"]:
        print(f"  {a['start']}  {a['level']:7s} {a['rule']} for {a['minutes']} min: {a['detail']}")
    print("any level: " + (", ".join(res["levels_any"]) or "none"))


if __name__ == "__main__":
    main()
