"""24 hours of 100 Hz tri-axial data through ``twitchsense detect``: wall time and peak memory.

Target (issue #6): under 20 s on one core, peak memory under 1.5 GB.
Two days: ``noise`` (benchmarks.common.synthetic_day_csv: still sensor, plain noise) and
``realistic`` (the simulator's ``healthy-day`` profile for 24 h: desk work, walking,
gestures, knocks, occasional twitches). The command runs in a fresh process pinned
to one core (``taskset``, where available); its peak RSS is read from the OS.

    python -m benchmarks.detect_24h [--hours 24] [--day noise|realistic|both] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import CACHE, synthetic_day_csv


def realistic_day_csv(hours: float = 24.0, rate: float = 100.0, seed: int = 7) -> Path:
    """``hours`` of the simulator's healthy-day profile, written once and cached."""
    from twitchsense.recording import write_recording
    from twitchsense.simulate import simulate_session

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"healthy_day_{hours:g}h_{rate:g}hz_seed{seed}.csv"
    if not path.exists():
        rec = simulate_session("healthy-day", hours * 60, seed, rate_hz=rate)
        tmp = path.with_name("tmp_" + path.name)
        write_recording(tmp, rec)
        for suffix in (".json", ".events.csv"):
            src = tmp.with_name(tmp.name[:-4] + suffix)
            if src.exists():
                src.rename(path.with_name(path.name[:-4] + suffix))
        tmp.rename(path)
    return path


def run_detect(path: Path, model: str | None) -> dict:
    out = Path(tempfile.mkdtemp(prefix="detect24h-"))
    cmd = [sys.executable, "-m", "twitchsense", "detect", str(path), "-o", str(out)]
    if model:
        cmd += ["--model", model]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if res.returncode != 0:
        raise SystemExit(res.stderr)
    n_events = sum(1 for _ in open(next(out.glob("*.detected.csv")))) - 1
    shutil.rmtree(out, ignore_errors=True)
    return {"file": path.name, "seconds": round(seconds, 1), "peak_rss_mb": round(max(peak, before) / 1024, 0),
            "events": n_events, "summary": res.stdout.strip()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--day", choices=["noise", "realistic", "both"], default="both")
    ap.add_argument("--model", help="model file (default: the shipped one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = []
    if args.day in ("noise", "both"):
        results.append({"day": "noise", **run_detect(synthetic_day_csv(args.hours), args.model)})
    if args.day in ("realistic", "both"):
        results.append({"day": "realistic", **run_detect(realistic_day_csv(args.hours), args.model)})
    for r in results:
        print(json.dumps(r) if args.json else
              f"{r['day']:9s} {args.hours:g} h at 100 Hz: detect {r['seconds']} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
              f"{r['events']} events ({r['summary']})")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
