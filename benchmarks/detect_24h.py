"""24 hours of 100 Hz tri-axial data through the detector: wall time and peak memory.

Target (issue #6): ``twitchsense detect`` on 24 h at 100 Hz in under 20 s on one core,
peak memory under 1.5 GB.

- ``--stage detect`` (default): the whole command (read CSV, detect, write files) in a
  fresh process pinned to one core (``taskset`` where available); wall and CPU seconds
  (user + system: the fair figure on a machine shared with other jobs), peak RSS from the OS.
- ``--stage features``: in-process, the candidate gate and the features of the gated
  windows only (no model), after loading.
- ``--day noise`` (default): ``benchmarks.common.synthetic_day_csv`` (still sensor, plain
  noise); ``--day realistic``: the simulator's ``healthy-day`` profile (desk work,
  walking, gestures, knocks, occasional twitches); ``--day both``.

    python -m benchmarks.detect_24h [--hours 24] [--stage detect|features] [--day noise|realistic|both] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import cache_dir, peak_rss_mb, synthetic_day_csv


def realistic_day_csv(hours: float = 24.0, rate: float = 100.0, seed: int = 7) -> Path:
    """``hours`` of the simulator's healthy-day profile, written once and cached."""
    from twitchsense.io.recording import write_recording
    from twitchsense.simulate import simulate_session

    path = cache_dir() / f"healthy_day_{hours:g}h_{rate:g}hz_seed{seed}.csv"
    if not path.exists():
        rec = simulate_session("healthy-day", hours * 60, seed, rate_hz=rate)
        rec.labels = rec.labels.iloc[0:0]
        tmp = path.with_name(f"tmp_{path.name}")
        write_recording(tmp, rec)
        tmp.with_name(tmp.name[:-4] + ".json").replace(path.with_name(path.name[:-4] + ".json"))
        tmp.replace(path)
    return path


def run_detect(path: Path, model: str | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="detect24h-"))
    cmd = [sys.executable, "-m", "twitchsense", "detect", str(path), "-o", str(out)]
    if model:
        cmd += ["--model", model]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    peak = after.ru_maxrss / 1024.0
    if res.returncode != 0:
        raise SystemExit(res.stderr.strip())
    n_events = sum(1 for _ in open(next(out.glob("*.detected.csv")))) - 1
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak, 0), "events": n_events,
            "summary": res.stdout.strip()}


def run_features(path: Path) -> dict:
    import numpy as np

    from twitchsense.detection.config import DetectorConfig
    from twitchsense.detection.features import WindowFeatures
    from twitchsense.detection.training import candidate_windows
    from twitchsense.io.recording import read_recording

    rec = read_recording(path)
    wf = WindowFeatures().fit(np.zeros((1, 3 * WindowFeatures().row_samples)))
    t0 = time.perf_counter()
    t, _, _, _ = candidate_windows(rec, wf, DetectorConfig()).arrays()
    return {"seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(peak_rss_mb(), 0),
            "windows": int(t.size)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--stage", choices=["detect", "features"], default="detect")
    ap.add_argument("--day", choices=["noise", "realistic", "both"], default="noise")
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    days = ["noise", "realistic"] if args.day == "both" else [args.day]
    for day in days:
        path = synthetic_day_csv(args.hours) if day == "noise" else realistic_day_csv(args.hours)
        res = run_detect(path, args.model) if args.stage == "detect" else run_features(path)
        res = {"day": day, "hours": args.hours, "stage": args.stage, **res}
        print(json.dumps(res) if args.json else
              f"{day:9s} {args.hours:g} h at 100 Hz, {args.stage}: {res['seconds']} s"
              + (f" ({res['cpu_s']} s CPU)" if "cpu_s" in res else "") + ", "
              f"peak RSS {res['peak_rss_mb']:.0f} MB" + (f", {res['events']} events" if "events" in res else ""))


if __name__ == "__main__":
    main()
