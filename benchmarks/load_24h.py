"""Load a 24-hour, 100 Hz recording (8.64 M rows): wall time and peak memory.

Target (issue #2): a few seconds, peak memory under 1 GB.

    python -m benchmarks.load_24h [--hours 24]
"""

from __future__ import annotations

import argparse
import json
import time

from benchmarks.common import peak_rss_mb, synthetic_day_csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    path = synthetic_day_csv(args.hours)
    from twitchsense.io.recording import read_recording

    base = peak_rss_mb()
    t0 = time.perf_counter()
    rec = read_recording(path)
    seconds = time.perf_counter() - t0
    result = {"hours": args.hours, "rows": rec.n_samples, "csv_mb": round(path.stat().st_size / 1e6, 1),
              "load_s": round(seconds, 4), "peak_rss_mb": round(peak_rss_mb(), 0),
              "rss_before_mb": round(base, 0)}
    print(json.dumps(result) if args.json else
          f"load {result['rows']:,} rows ({result['csv_mb']} MB CSV): {result['load_s']} s, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB (imports alone {result['rss_before_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
