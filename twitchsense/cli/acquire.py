"""Live acquisition: ``replay``, ``stream``, ``record``, ``ports`` and ``emulate-board``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..recording import read_recording
from .common import add_command, add_planned


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "replay", "run the live pipeline fed from a recording, at real time or faster",
                    "twitchsense replay recordings/real-wrist/s01_01_sw.csv --speed max")
    p.add_argument("recording", type=Path, help="the recording to replay")
    p.add_argument("--speed", default="max", help="real-time factor, or 'max' (default)")
    p.set_defaults(func=run_replay)
    add_planned(sub, "stream", "run the live pipeline fed from a serial board",
                "twitchsense stream --port auto", 4, "serial streaming")
    add_planned(sub, "record", "save a session from a serial board to a recording",
                "twitchsense record --port /dev/ttyACM0 -o session.csv --duration 600", 4, "recording")
    add_planned(sub, "ports", "list serial ports and the boards on them",
                "twitchsense ports", 4, "port listing")
    add_planned(sub, "emulate-board", "a virtual sensor board on a pseudo-terminal",
                "twitchsense emulate-board --simulate --rate 100", 4, "the board emulator")


def run_replay(args: argparse.Namespace) -> int:
    rec = read_recording(args.recording)
    s = rec.summary()
    print(f"{args.recording}: {s['samples']} samples, {s['duration_s']} s at {s['sample_rate_hz']} Hz, "
          f"{s['gaps']} gaps, {s['labels']} labels ({s['twitch_labels']} twitches)")
    print("replay: the live pipeline (detector and alerts) is not built yet: it arrives with issues #4, #6 and #7.")
    return 0
