"""Resident memory of the live pipeline over a long replay: does it stay flat?

A 10-minute simulated session is looped through the one live pipeline
(replay source in 1 s blocks, as fast as it goes -> streaming detector ->
alert engine -> history (a temporary SQLite file, as ``stream`` keeps by
default) and status sink), and the process's resident memory is sampled
every replayed minute. The figure that matters is the growth per replayed
hour after the first 10 % (warm-up: imports, buffers, model), the least-squares
slope of those samples; the context spans the detector still holds at the end
are counted too (a running judged total needs none).

    python -m benchmarks.live_memory [--hours 1] [--block-s 1] [--no-history] [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import threading
import time

from benchmarks.common import NO_MODEL, peak_rss_mb, shipped_model


def current_rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; falls back to the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 ** 2
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def live_stages(rate_hz: float, sinks: list = ()) -> tuple[object | None, object | None, list[str]]:
    """The streaming detector (built as ``stream`` builds it for these ``sinks``) and alert engine,
    whichever exist."""
    notes = []
    detector = alerts = None
    model = shipped_model()
    if model is None:
        notes.append("no streaming detector: " + NO_MODEL)
    else:
        from twitchsense.cli.acquire import _detector
        detector = _detector(model, rate_hz, None, list(sinks))
    try:
        from twitchsense.alerts import AlertEngine, load_rules
        alerts = AlertEngine(load_rules())
    except ImportError:
        notes.append("no alert engine yet (issue #7)")
    return detector, alerts, notes


def growth_mb_per_h(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of RSS (MB) against replayed hours, after the first 10 % (warm-up)."""
    import numpy as np

    if len(samples) < 3:
        return 0.0
    h, mb = np.array(samples[max(1, len(samples) // 10):], float).T
    return round(float(np.polyfit(h, mb, 1)[0]), 2) if np.ptp(h) > 0 else 0.0


class _Discard(io.TextIOBase):
    """A text stream that keeps nothing (a StringIO would grow by a status line a second)."""

    def write(self, text: str) -> int:
        return len(text)


class _MemoryProbe:
    """A sink that samples RSS every ``every_s`` of stream time and stops the run at ``until_s``."""

    def __init__(self, every_s: float, until_s: float, stop: threading.Event) -> None:
        self.every_s, self.until_s, self.stop = every_s, until_s, stop
        self.samples: list[tuple[float, float]] = []
        self._t0: float | None = None
        self._next = 0.0

    def on_samples(self, block) -> None:
        if self._t0 is None:
            self._t0 = float(block.t[0])
        elapsed = float(block.t[-1]) - self._t0
        if elapsed >= self._next:
            self.samples.append((round(elapsed / 3600, 4), round(current_rss_mb(), 1)))
            self._next += self.every_s
        if elapsed >= self.until_s:
            self.stop.set()


def run(hours: float, block_s: float = 1.0, seed: int = 0, history: bool = True) -> dict:
    """Replay ``hours`` of looped simulated data through the live pipeline; RSS figures."""
    import tempfile
    from pathlib import Path

    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.acquisition.sources.synthetic import simulated_recording
    from twitchsense.live.pipeline import Pipeline
    from twitchsense.live.sinks.history import HistorySink
    from twitchsense.live.sinks.status import StatusLineSink

    rec = simulated_recording(100.0, 600.0, seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = [HistorySink(Path(tmp) / "history.sqlite", rec.meta, name="live-memory")] if history else []
        detector, alerts, notes = live_stages(rec.sample_rate_hz, store)
        stop = threading.Event()
        probe = _MemoryProbe(every_s=60.0, until_s=hours * 3600, stop=stop)
        source = ReplaySource(rec, speed=None, max_block_s=block_s, loop=True)
        pipe = Pipeline(source, detector=detector, alerts=alerts,
                        sinks=[probe, *store, StatusLineSink(out=_Discard(), interval_s=1.0)])
        t0, c0 = time.perf_counter(), time.process_time()
        summary = pipe.run(stop=stop)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    held = len(detector.engine.spans) if detector is not None else 0
    s = probe.samples
    warm = s[max(1, len(s) // 10)] if len(s) > 2 else s[0]
    end = s[-1]
    growth = growth_mb_per_h(s)
    stages = "replay source -> " + ("streaming detector -> " if detector else "") + \
             ("alert engine -> " if alerts else "") + ("history + " if history else "") + "status sink"
    return {"what": stages, "replayed_h": round(summary.stream_s / 3600, 2), "wall_s": round(wall, 1),
            "realtime_factor": f"{summary.stream_s / wall:,.0f}x" if wall > 0 else "-",
            "cpu_s": round(cpu, 1), "rss_first_mb": s[0][1], "rss_start_mb": warm[1], "rss_end_mb": end[1],
            "rss_growth_mb_per_h": round(growth, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1), "events": summary.events, "alerts": summary.alerts,
            "context_spans_held": held,
            "samples": s, "note": "; ".join([f"{block_s:g} s blocks, no pacing; RSS sampled every replayed minute; "
                                            "RSS start = after the first 10 % (warm-up); CPU s = process time "
                                            "(the wall time depends on the machine's load)"] + notes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--block-s", type=float, default=1.0, help="seconds of samples per block handed to the pipeline")
    ap.add_argument("--no-history", action="store_true", help="leave the history sink out (as stream --no-history)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.hours, args.block_s, history=not args.no_history)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['what']}: {res['replayed_h']} h replayed in {res['wall_s']} s ({res['cpu_s']} s CPU); "
              f"RSS {res['rss_first_mb']} at the first minute, {res['rss_start_mb']} -> "
              f"{res['rss_end_mb']} MB ({res['rss_growth_mb_per_h']} MB per replayed hour); "
              f"{res['context_spans_held']} context spans held at the end; {res['note']}")


if __name__ == "__main__":
    main()
