"""Seconds per stage of batch detection on a realistic day: features alone, then the whole detector.

The recording is the simulator's ``healthy-day`` profile at 100 Hz (desk work,
walking, gestures, knocks, occasional twitches; ``benchmarks.detect_24h``
writes and caches it). With ``--of LONGER`` it is the first ``--hours`` of the
``LONGER``-hour day (cut once and cached by a ``--prepare`` run), so every
length has the same kind of content and the times scale cleanly. It is loaded
first (not timed here: see ``benchmarks.load_24h``), then one stage runs in
this fresh process:

- ``features``: resampling, the candidate gate, context and the window features
  of every candidate (``twitchsense.detection.training.candidate_windows``), no model;
- ``detect``: the same plus the model and event building
  (``twitchsense.detection.engine.detect_recording`` with the shipped model).

    python -m benchmarks.stages_24h [--hours 24] [--of 24] [--stage features|detect] [--prepare] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import NO_MODEL, cache_dir, peak_rss_mb, shipped_model


def day_prefix_csv(hours: float, of_hours: float, realistic_day_csv):
    """The first ``hours`` of the ``of_hours``-long realistic day, cut once and cached."""
    if hours >= of_hours:
        return realistic_day_csv(of_hours)
    from twitchsense.io.recording import Recording, read_recording, write_recording

    path = cache_dir() / f"healthy_day_first_{hours:g}h_of_{of_hours:g}h.csv"
    if not path.exists():
        day = read_recording(realistic_day_csv(of_hours))
        keep = day.t < day.t[0] + hours * 3600
        tmp = path.with_name(f"tmp_{path.name}")
        write_recording(tmp, Recording(t=day.t[keep], acc=day.acc[keep], meta=dict(day.meta)))
        for suffix in (".json",):
            side = tmp.with_name(tmp.name[:-4] + suffix)
            if side.exists():
                side.replace(path.with_name(path.name[:-4] + suffix))
        tmp.replace(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--of", type=float, default=None, help="cut the first --hours of a day this long")
    ap.add_argument("--stage", choices=["features", "detect"], default="detect")
    ap.add_argument("--prepare", action="store_true", help="only write the recording (cached), time nothing")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from twitchsense.detection.config import DetectorConfig
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.features import WindowFeatures
    from twitchsense.detection.training import candidate_windows
    from twitchsense.io.recording import read_recording

    try:
        from benchmarks.detect_24h import realistic_day_csv  # the detector's own benchmark (issue #6)
    except ImportError:
        realistic_day_csv = None
    model = shipped_model()
    missing = ("not available yet (issue #6: benchmarks.detect_24h)" if realistic_day_csv is None else
               NO_MODEL if model is None and args.stage == "detect" else None)
    if missing:
        print(json.dumps({"status": missing}) if args.json else missing)
        return
    path = day_prefix_csv(args.hours, args.of or args.hours, realistic_day_csv)
    if args.prepare:
        print(json.dumps({"prepared": str(path)}) if args.json else path)
        return
    rec = read_recording(path)
    t0 = time.perf_counter()
    if args.stage == "features":
        features, config = (model.features, model.config) if model else (WindowFeatures(), DetectorConfig())
        windows = candidate_windows(rec, features, config).arrays()[0].size
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
