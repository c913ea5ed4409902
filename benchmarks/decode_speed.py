"""Decoding speed of the project's wire protocol (TwitchsenseDecoder), in samples per second on one core.

Target (issue #3): at least 1 M samples/s. The stream is what a 1 kHz board sends
(SAMPLES frames of ``--per-frame`` samples, a STATUS and a PONG every second), fed
in chunks of ``--chunk`` bytes, as a serial reader thread would hand them over.

    python -m benchmarks.decode_speed [--samples 2000000] [--per-frame 10] [--chunk 65536] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def make_stream(samples: int, per_frame: int, rate: float = 1000.0, seed: int = 0) -> bytes:
    """A valid protocol v1 stream: INFO, ACK(START), SAMPLES, with STATUS and PONG once a second."""
    from twitchsense.acquisition.protocol.base import BoardInfo
    from twitchsense.acquisition.protocol.frames import (CMD_START, build_ack, build_info, build_pong, build_samples,
                                                         build_status)

    rng = np.random.default_rng(seed)
    counts = rng.normal(0, 300, (samples, 3)).astype(np.int16)
    counts[:, 2] += 8192
    info = BoardInfo(1, "MPU6050", 4, per_frame, rate, 122070e-9, 1_000_000, "", "1.0.0", "bench")
    parts = [build_info(info), build_ack(CMD_START)]
    per_second = int(rate // per_frame)
    for k, first in enumerate(range(0, samples, per_frame)):
        if k % per_second == 0:
            parts.append(build_status(k * 10, 0))
            parts.append(build_pong(k, int(first * 1e6 / rate)))
        parts.append(build_samples(first, int(first * 1e6 / rate) & 0xFFFFFFFF, counts[first:first + per_frame]))
    return b"".join(parts)


def decode_rate(stream: bytes, chunk: int) -> tuple[float, float, int]:
    """Samples per second of CPU time (the per-core figure) and of wall time, and the sample count."""
    from twitchsense.acquisition.protocol.twitchsense_decoder import TwitchsenseDecoder

    dec = TwitchsenseDecoder()
    n = 0
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(0, len(stream), chunk):
        n += len(dec.feed(stream[i:i + chunk], host_ns=i).samples)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    assert dec.stats["crc_errors"] == dec.stats["bad_frames"] == dec.stats["lost_samples"] == 0
    return n / cpu, n / wall, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--per-frame", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=65536)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    ap.add_argument("--quick", action="store_true", help="a short run (300 000 samples, one repeat)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.samples, args.repeat = min(args.samples, 300_000), 1
    stream = make_stream(args.samples, args.per_frame)
    best, best_wall, n = 0.0, 0.0, 0
    for _ in range(args.repeat):
        rate, wall, n = decode_rate(stream, args.chunk)
        best, best_wall = max(best, rate), max(best_wall, wall)
    result = {"samples": n, "per_frame": args.per_frame, "chunk_bytes": args.chunk,
              "stream_mb": round(len(stream) / 1e6, 1), "samples_per_cpu_s": round(best),
              "samples_per_wall_s": round(best_wall), "target": 1_000_000}
    print(json.dumps(result) if args.json else
          f"decoded {n:,} samples ({result['stream_mb']} MB, {args.per_frame} per frame, {args.chunk}-byte chunks): "
          f"{best / 1e6:.2f} M samples per CPU second ({best_wall / 1e6:.2f} M/s wall; target >= 1 M/s on one core)")


if __name__ == "__main__":
    main()
