"""Seconds per stage of batch detection on a realistic day: features alone, then the whole detector.

The recording is the simulator's ``healthy-day`` profile at 100 Hz (desk work,
walking, gestures, knocks, occasional twitches; ``benchmarks.detect_24h``
writes and caches it). It is loaded first (not timed here: see
``benchmarks.load_24h``), then one stage runs in this fresh process:

- ``features``: resampling, the candidate gate, context and the window features
  of every candidate (``twitchsense.detector.candidate_windows``), no model;
- ``detect``: the same plus the model and event building
  (``twitchsense.detector.detect_recording`` with the shipped model).

    python -m benchmarks.stages_24h [--hours 24] [--stage features|detect] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--stage", choices=["features", "detect"], default="detect")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from benchmarks.detect_24h import realistic_day_csv
    from twitchsense.detector import candidate_windows, detect_recording
    from twitchsense.model_file import default_model_path, load_model
    from twitchsense.recording import read_recording

    rec = read_recording(realistic_day_csv(args.hours))
    model = load_model(default_model_path())
    t0 = time.perf_counter()
    if args.stage == "features":
        windows = candidate_windows(rec, model.features, model.config).arrays()[0].size
        what = f"{windows} candidate windows"
    else:
        what = f"{len(detect_recording(rec, model).events)} events"
    seconds = time.perf_counter() - t0
    res = {"hours": args.hours, "stage": args.stage, "seconds": round(seconds, 3), "what": what,
           "peak_rss_mb": round(peak_rss_mb(), 0)}
    print(json.dumps(res) if args.json else
          f"{args.stage} on {args.hours:g} h of a realistic day: {seconds:.2f} s ({what}), "
          f"peak RSS {res['peak_rss_mb']:.0f} MB (recording loaded)")


if __name__ == "__main__":
    main()
