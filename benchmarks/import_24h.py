"""Import a 24-hour phone export (100 Hz, millisecond epoch time stamps, m/s^2): wall time and peak memory.

Target (issue #18): under a minute for 24 h, with the units and the time unit inferred, repeated
time stamps averaged, and the absolute start time kept.

    python -m benchmarks.import_24h [--hours 24]

The export is written once and cached (see :func:`benchmarks.common.cache_dir`); the import runs
in this process, from the CSV on disk to the interchange recording on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import cache_dir, peak_rss_mb

#: 2026-01-05 21:00:00 UTC, in milliseconds: where the phone exports start
START_MS = 1_767_646_800_000
G = 9.80665


def write_phone_export(path: str | os.PathLike, t: np.ndarray, acc_g: np.ndarray, *, start_ms: int = START_MS,
                       repeat_every: int = 50, seed: int = 0, chunk: int = 1_000_000) -> int:
    """Write samples (``t`` in s, ``acc_g`` in g) as a phone app exports them.

    Header ``timestamp,x,y,z``; time stamps in whole milliseconds since 1970 (UTC); acceleration in
    m/s^2 with 6 decimals; about one row in ``repeat_every`` carries the time stamp of the row before
    it (a logger that stamps samples in batches). Returns the number of repeated time stamps.
    """
    rng = np.random.default_rng(seed)
    stamps = start_ms + np.round(np.asarray(t, dtype=float) * 1000.0).astype(np.int64)
    repeat = np.flatnonzero(rng.random(stamps.size) < 1.0 / repeat_every) if repeat_every else np.array([], int)
    repeat = repeat[repeat > 0]
    stamps[repeat] = stamps[repeat - 1]
    repeats = int(np.count_nonzero(np.diff(stamps) == 0))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("timestamp,x,y,z\n")
        for i in range(0, stamps.size, chunk):
            a = np.asarray(acc_g[i:i + chunk]) * G
            rows = np.column_stack([stamps[i:i + chunk].astype(float), a])
            f.write(("%d,%.6f,%.6f,%.6f\n" * len(rows)) % tuple(rows.ravel().tolist()))
    return repeats


def phone_export_24h(hours: float = 24.0, rate: float = 100.0, seed: int = 0) -> Path:
    """A ``hours``-long phone export at ``rate`` Hz (noise plus gravity on a tilted phone), cached."""
    path = cache_dir() / f"phone_{hours:g}h_{rate:g}hz_seed{seed}.csv"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * rate)
    t = np.arange(n) / rate
    acc = rng.normal(0.0, 0.004, (n, 3)) + np.array([0.1, -0.2, 0.97])
    tmp = path.with_suffix(".part")
    write_phone_export(tmp, t, acc, seed=seed)
    tmp.rename(path)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    src = phone_export_24h(args.hours)
    from twitchsense.io.foreign import import_foreign
    from twitchsense.io.recording import write_recording

    base = peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "phone.csv"
        t0 = time.perf_counter()
        rec = import_foreign(src, time_col="timestamp", axes=("x", "y", "z"), on_duplicate="mean",
                             timezone="UTC")
        read_s = time.perf_counter() - t0
        write_recording(out, rec)
        seconds = time.perf_counter() - t0
    facts = rec.info["import"]
    result = {"hours": args.hours, "rows_in": facts.rows, "rows_out": rec.n_samples,
              "csv_mb": round(src.stat().st_size / 1e6, 1), "read_s": round(read_s, 2),
              "import_s": round(seconds, 2), "peak_rss_mb": round(peak_rss_mb(), 0),
              "rss_before_mb": round(base, 0), "inferred": "; ".join(facts.inferred),
              "start_time": rec.meta.get("start_time")}
    print(json.dumps(result) if args.json else
          f"import {result['rows_in']:,} rows ({result['csv_mb']} MB phone export) -> {result['rows_out']:,} "
          f"samples: {result['import_s']} s (read and convert {result['read_s']} s, the rest writing), "
          f"peak RSS {result['peak_rss_mb']:.0f} MB (imports alone {result['rss_before_mb']:.0f} MB); "
          f"inferred: {result['inferred']}; start {result['start_time']}")


if __name__ == "__main__":
    main()
