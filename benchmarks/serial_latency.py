"""Serial latency at 1000 Hz over a real pseudo-terminal: byte arrival at the port -> delivery to the pipeline.

Target (issue #4): p99 under 20 ms at 1000 Hz.

Two figures:
- arrival -> pipeline: from the reader thread's timestamp (``monotonic_ns`` right after
  ``read()`` returned the bytes) to the moment the pipeline hands the block to its
  stages. The board is ``twitchsense emulate-board`` in its own process, as a real
  board would be.
- board write -> pipeline: from the emulator's ``write()`` of the frame to delivery,
  with the emulator in the same process (it shares the interpreter, so this is
  pessimistic); it adds the pty and the reader thread's wake-up.

    python -m benchmarks.serial_latency [--seconds 15] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class LatencySink:
    """Delivery time of every block, and the arrival stamps of its samples."""

    def __init__(self) -> None:
        self.lat_ns: list[np.ndarray] = []
        self.blocks = []

    def on_samples(self, block) -> None:
        now = time.monotonic_ns()
        self.lat_ns.append(now - block.host_ns)
        self.blocks.append((now, block))


def _run_pipeline(port: str, seconds: float) -> LatencySink:
    from twitchsense.acquisition.sources.serial_board import SerialSource
    from twitchsense.live.pipeline import Pipeline
    sink = LatencySink()
    src = SerialSource(port)
    src.open()
    Pipeline(src, sinks=[sink]).run(duration_s=seconds)
    return sink


def _stats(ms: np.ndarray, unit: str) -> dict:
    if ms.size == 0:
        raise SystemExit(f"serial_latency: no {unit} reached the pipeline")
    return {"n": int(ms.size), "unit": unit, "p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p99_ms": round(float(np.percentile(ms, 99)), 2), "max_ms": round(float(ms.max()), 2)}


def arrival_to_pipeline(rate: float, seconds: float) -> dict:
    """Emulator in its own process; latency from the reader's byte timestamp to delivery."""
    with tempfile.TemporaryDirectory() as d:
        link = Path(d) / "board"
        env = dict(os.environ, TWITCHSENSE_RUNTIME_DIR=d)
        emu = subprocess.Popen([sys.executable, "-m", "twitchsense", "emulate-board", "--simulate",
                                "--rate", str(rate), "--link", str(link)], stdout=subprocess.PIPE, text=True, env=env)
        try:
            emu.stdout.readline()
            sink = _run_pipeline(str(link), seconds)
        finally:
            emu.terminate()
            emu.wait(10)
    ms = np.concatenate(sink.lat_ns) / 1e6
    return _stats(ms[ms.size // 10:], "samples")  # skip the first 10 %: start-up


def write_to_pipeline(rate: float, seconds: float) -> dict:
    """Emulator in this process; latency from its write() of each frame to delivery of its samples."""
    from twitchsense.acquisition.emulator import BoardEmulator
    from twitchsense.acquisition.sources.synthetic import synthetic_recording
    with tempfile.TemporaryDirectory() as d:
        os.environ["TWITCHSENSE_RUNTIME_DIR"] = d
        emu = BoardEmulator(synthetic_recording(rate, 30.0), rate_hz=rate, keep_log=True, register=False).start()
        try:
            sink = _run_pipeline(emu.device, seconds)
        finally:
            emu.stop()
    # the pipeline's sample index counts from the first sample after START, like the board's
    sent = {f.first_index: f.wall_ns for f in emu.sent if f.fate == "sent" and f.epoch == emu.epoch}
    lat = [now - sent[int(i)] for now, b in sink.blocks for i in b.index if int(i) in sent]
    ms = np.asarray(lat, dtype=np.float64) / 1e6
    return _stats(ms[ms.size // 10:], "frames")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rate", type=float, default=1000.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = {"rate_hz": args.rate, "seconds": args.seconds,
              "arrival_to_pipeline": arrival_to_pipeline(args.rate, args.seconds),
              "write_to_pipeline": write_to_pipeline(args.rate, args.seconds)}
    if args.json:
        print(json.dumps(result))
        return
    for name, label in (("arrival_to_pipeline", "byte arrival -> pipeline"),
                        ("write_to_pipeline", "board write -> pipeline (emulator in-process)")):
        r = result[name]
        print(f"{label}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms over "
              f"{r['n']} {r['unit']} at {args.rate:g} Hz (target p99 < 20 ms)")


if __name__ == "__main__":
    main()
