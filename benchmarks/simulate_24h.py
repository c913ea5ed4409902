"""Simulate a 24-hour session at 100 Hz (8.64 M samples): wall time and peak memory.

Target (issue #5): seconds, not minutes.

    python -m benchmarks.simulate_24h [--hours 24] [--profile healthy-day] [--rate 100]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--profile", default="healthy-day")
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from twitchsense.simulate import simulate_session
    from twitchsense.simulate.waveforms import _frequency_shift_table

    _frequency_shift_table()  # one-off calibration (about 0.1 s), not part of the per-session cost
    base = peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    rec = simulate_session(args.profile, args.hours * 60.0, seed=1, rate_hz=args.rate)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    lab = rec.labels
    result = {"profile": args.profile, "hours": args.hours, "rate_hz": args.rate, "samples": rec.n_samples,
              "simulate_s": round(seconds, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak_rss_mb(), 0),
              "rss_before_mb": round(base, 0), "labels": len(lab),
              "twitches": int((lab.label == "twitch").sum())}
    print(json.dumps(result) if args.json else
          f"simulate {args.hours:g} h of {args.profile} at {args.rate:g} Hz ({result['samples']:,} samples, "
          f"{result['labels']} labels, {result['twitches']} twitches): {result['simulate_s']} s wall, {result['cpu_s']} s CPU, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB (imports alone {result['rss_before_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
