"""Event latency of the live pipeline: end of a twitch -> its event out of the pipeline.

Targets: the provisional event (issue #7, and issue 17's "possible twitch") p99 under 0.5 s;
its verdict, confirmed or retracted (issue 17), p99 under 3.5 s.

A simulated frequent-twitching session goes through the one live pipeline
(replay source in 10-ms blocks, like a board's frames -> streaming detector ->
alert engine) as fast as it goes. For each event the latency is the stream
time the pipeline had reached when the event came out minus the end of the
twitch (the wait for data after the twitch: at real time this is wall time),
plus the wall time the pipeline spent on the block that released it. That is
the latency a live board sees, measured without waiting the session's length.
Transport from the board is measured separately (``benchmarks.serial_latency``).

    python -m benchmarks.event_latency [--minutes 30] [--model PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.common import NO_MODEL, shipped_model


class LatencyProbe:
    """A sink noting, per event, how far the stream had got and how long its block has taken
    (provisional events and verdicts apart)."""

    provisional = True  # the pipeline hands it provisional events and verdicts

    def __init__(self) -> None:
        self.stream_now = 0.0
        self.block_wall_ns = 0
        # per status group: (stream wait after the twitch, wall processing)
        self.rows: dict[str, list[tuple[float, float]]] = {"provisional": [], "verdict": []}

    def on_samples(self, block) -> None:
        self.stream_now = float(block.t[-1])
        self.block_wall_ns = int(block.host_ns[-1])

    def on_events(self, events) -> None:
        proc = (time.monotonic_ns() - self.block_wall_ns) / 1e9
        for e in events:
            group = "provisional" if e.status == "provisional" else "verdict"
            self.rows[group].append((self.stream_now - (e.onset + e.duration), proc))


def measure(minutes: float, seed: int, model_path: str | None) -> dict:
    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.alerts import AlertEngine
    from twitchsense.detection.engine import StreamingDetector
    from twitchsense.detection.model import load_model
    from twitchsense.live.pipeline import Pipeline
    from twitchsense.simulate.render import simulate_session

    model = load_model(model_path) if model_path else shipped_model()
    if model is None:
        return {"status": NO_MODEL}
    rec = simulate_session("frequent-twitching", minutes, seed)
    probe = LatencyProbe()
    t0 = time.perf_counter()
    Pipeline(ReplaySource(rec, speed=None, max_block_s=0.01),
             detector=StreamingDetector.for_meta(model, rec.sample_rate_hz, rec.meta),
             alerts=AlertEngine(), sinks=[probe]).run()
    wall = time.perf_counter() - t0
    def pct(a: np.ndarray, q: float) -> float | None:
        return round(float(np.percentile(a, q)), 3) if a.size else None

    out = {"minutes": minutes, "true_twitches": int((rec.labels["label"] == "twitch").sum())}
    # the provisional event keeps the keys it always had; the verdict's are prefixed
    for group, prefix, target in (("provisional", "", 0.5), ("verdict", "confirmed_", 3.5)):
        rows = np.array(probe.rows[group]).reshape(-1, 2)
        total = rows.sum(axis=1)
        out |= {f"{prefix}events": int(rows.shape[0]), f"{prefix}latency_p50_s": pct(total, 50),
                f"{prefix}latency_p99_s": pct(total, 99), f"{prefix}latency_max_s": pct(total, 100),
                f"{prefix}wait_p50_s": pct(rows[:, 0], 50), f"{prefix}wait_p99_s": pct(rows[:, 0], 99),
                f"{prefix}processing_p99_s": pct(rows[:, 1], 99), f"{prefix}target_p99_s": target}
    return out | {"wall_s": round(wall, 1), "status": "ok"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model", help="detector model (default: the shipped one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = measure(args.minutes, args.seed, args.model)
    print(json.dumps(res) if args.json else "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
