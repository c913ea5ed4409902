"""Live acquisition: ``replay``, ``stream``, ``record``, ``ports`` and ``emulate-board``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..live_sinks import RecordSink, StatusLineSink
from ..pipeline import Pipeline, PipelineSummary
from ..recording import read_recording
from ..sources.replay import ReplaySource, parse_speed
from .common import add_command, add_planned


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "replay", "run the live pipeline fed from a recording, at real time or faster",
                    "twitchsense replay recordings/real-wrist/s01_01_sw.csv --speed 10 --record copy.csv")
    p.add_argument("recording", type=Path, help="the recording to replay")
    p.add_argument("--speed", default="max",
                   help="real-time factor (1 = real time, 10 = ten times faster), or 'max' (default)")
    _add_pipeline_options(p)
    p.set_defaults(func=run_replay)
    add_planned(sub, "stream", "run the live pipeline fed from a serial board",
                "twitchsense stream --port auto", 4, "serial streaming")
    add_planned(sub, "record", "save a session from a serial board to a recording",
                "twitchsense record --port /dev/ttyACM0 -o session.csv --duration 600", 4, "recording")
    add_planned(sub, "ports", "list serial ports and the boards on them",
                "twitchsense ports", 4, "port listing")
    add_planned(sub, "emulate-board", "a virtual sensor board on a pseudo-terminal",
                "twitchsense emulate-board --simulate --rate 100", 4, "the board emulator")


def _add_pipeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--record", type=Path, metavar="OUT.csv", help="also save every sample to this recording")
    p.add_argument("--quiet", action="store_true", help="print only link events and the summary")


def _sinks(args: argparse.Namespace, source) -> list:
    sinks: list = [StatusLineSink(interval_s=1e9 if args.quiet else 1.0)]
    if args.record is not None:
        sinks.append(RecordSink(args.record, source))
    return sinks


def print_summary(name: str, s: PipelineSummary, extra: str = "", out=None) -> None:
    """One closing line: samples, durations, lost samples, link events."""
    links = ", ".join(f"{k} {v}" for k, v in sorted(s.link_counts.items()) if k not in ("lost_samples", "status"))
    print(f"{name}: {s.samples} samples, {s.stream_s:.3f} s of stream in {s.wall_s:.2f} s, "
          f"lost samples {s.lost_samples}{extra}" + (f"; link events: {links}" if links else ""),
          file=out or sys.stdout, flush=True)


def run_replay(args: argparse.Namespace) -> int:
    speed = parse_speed(args.speed)
    rec = read_recording(args.recording)
    source = ReplaySource(rec, speed=speed)
    summary = Pipeline(source, sinks=_sinks(args, source)).run()
    print_summary(f"replay {args.recording}", summary)
    return 0
