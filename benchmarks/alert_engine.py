"""The alert engine's own cost: live over a replay, and batch alerts for ``NAME.alerts.csv``.

    python -m benchmarks.alert_engine [--hours 2] [--json]

live: a replay of ``--hours`` of a synthetic 100 Hz recording at full speed
(1-s blocks, no detector) with and without the alert engine (samples fed for
the faults, a tick per block); the difference, scaled to 24 h.
batch: :func:`twitchsense.alerts.alerts_for_events` over 24 h of twitches at
3 per minute (Poisson), with the shipped default rules.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from benchmarks.common import synthetic_day_csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.alerts import AlertEngine, alerts_for_events
    from twitchsense.io.recording import read_recording
    from twitchsense.live.pipeline import Pipeline
    from twitchsense.types import TwitchEvent

    rec = read_recording(synthetic_day_csv(args.hours))
    walls = []
    for engine in (None, AlertEngine()):
        t0 = time.perf_counter()
        Pipeline(ReplaySource(rec, speed=None), alerts=engine, sinks=[]).run()
        walls.append(time.perf_counter() - t0)
    rng = np.random.default_rng(0)
    onsets = np.cumsum(rng.exponential(20.0, 4500))
    events = [TwitchEvent(float(o), 0.2, 0.2, 0.9) for o in onsets[onsets < 86400]]
    t0 = time.perf_counter()
    alerts = alerts_for_events(events, 0.0, 86400.0, start_time="2026-03-01T00:00:00+01:00")
    batch = time.perf_counter() - t0
    res = {"replay_hours": args.hours, "replay_s": round(walls[0], 2), "replay_with_engine_s": round(walls[1], 2),
           "engine_s_per_24h": round((walls[1] - walls[0]) * 24 / args.hours, 1),
           "batch_events": len(events), "batch_alerts": len(alerts), "batch_24h_s": round(batch, 2)}
    print(json.dumps(res) if args.json else "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
