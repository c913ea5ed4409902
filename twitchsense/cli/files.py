"""Commands on recording files: ``import`` (foreign CSV -> interchange format) and ``info``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import TwitchsenseError
from ..io.foreign import ON_DUPLICATE, import_foreign
from ..io.recording import read_recording, write_recording
from ..units import ACC_UNITS, TIME_UNITS
from .batch import add_fail_fast, for_each_recording
from .common import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "import", "bring a foreign CSV into the interchange format through an explicit mapping",
        "twitchsense import phone.csv --time-col timestamp --axes x,y,z --on-duplicate mean -o rec.csv\n"
        "twitchsense import phone.csv --time-col timestamp --time-unit ms --units m/s2 --axes x,y,z -o rec.csv\n"
        "twitchsense import export.csv --sep ';' --decimal , --axes X,Y,Z --time-col time --time-unit s "
        "--units g -o rec.csv\n"
        "twitchsense import serial.log --no-header --no-time --rate 119 --units mg "
        "--start-time 2026-01-05T22:00 -o rec.csv",
        description="Bring a foreign CSV into the interchange format (t in s from 0, acceleration in g, a "
                    "sidecar with the start time). Name the columns; the time unit and the axes' unit are "
                    "inferred only when the data leave no doubt (e.g. stamps that start at 1.7e12 and step by "
                    "10: epoch milliseconds at 100 Hz; a resting magnitude near 9.8: m/s^2), and what was "
                    "inferred is said. Clock-time stamps become the start time (in --timezone).",
    )
    p.add_argument("src", type=Path, help="the foreign CSV")
    p.add_argument("-o", "--output", type=Path, required=True, help="interchange CSV to write")
    p.add_argument("--time-col", help="name of the time column (default: t; with --no-header: 1)")
    p.add_argument("--no-time", action="store_true", help="the file has no time column; needs --rate")
    p.add_argument("--time-unit", choices=list(TIME_UNITS),
                   help="unit of the time column (default: inferred when the stamps leave no doubt, else required)")
    p.add_argument("--axes", help="the three axis columns, comma-separated (default: ax,ay,az; with "
                                  "--no-header: 2,3,4, or 1,2,3 with --no-time)")
    p.add_argument("--units", choices=list(ACC_UNITS),
                   help="unit of the axis columns (default: inferred when the resting magnitude leaves no "
                        "doubt, else required)")
    p.add_argument("--sep", default=",", help="field separator: ',' (default), ';' or tab")
    p.add_argument("--decimal", default=".", help="decimal mark ('.' or ',')")
    p.add_argument("--no-header", action="store_true",
                   help="the file has no header row: name columns by position (1 is the first)")
    p.add_argument("--on-duplicate", choices=ON_DUPLICATE, default="error",
                   help="rows whose time stamp repeats the one before: error (default), drop (keep the first) "
                        "or mean (average them); the rows affected are counted")
    p.add_argument("--timezone", help="time zone of the start time, an IANA name such as Europe/Berlin or UTC "
                                      "(default: this computer's)")
    p.add_argument("--start-time", help="clock time of the first sample, ISO 8601 (e.g. 2026-01-05T22:00:00), "
                                        "for files whose time stamps are not clock times")
    p.add_argument("--rate", type=float, help="nominal sample rate in Hz (written to the sidecar)")
    p.add_argument("--placement", help="where the sensor was worn (wrist, forearm, calf...)")
    p.set_defaults(func=run_import)

    p = add_command(sub, "info", "summarise recordings: samples, rate, duration, gaps, labels",
                    "twitchsense info recordings/real-wrist\ntwitchsense info session.csv --json")
    p.add_argument("paths", nargs="+", type=Path, help="recordings or folders of recordings")
    p.add_argument("--json", action="store_true", help="one JSON object per recording")
    add_fail_fast(p)
    p.set_defaults(func=run_info)


def run_import(args: argparse.Namespace) -> int:
    if args.output.resolve() == args.src.resolve():
        raise TwitchsenseError(f"{args.src}: -o names the file being imported; write the recording to another file")
    sep = "\t" if args.sep in ("\\t", "tab", "\t") else args.sep
    if args.no_header:
        time_col = None if args.no_time else (args.time_col or "1")
        axes = args.axes or ("1,2,3" if args.no_time else "2,3,4")
    else:
        time_col = None if args.no_time else (args.time_col or "t")
        axes = args.axes or "ax,ay,az"
    rec = import_foreign(
        args.src, time_col=time_col, time_unit=args.time_unit, axes=[a.strip() for a in axes.split(",")],
        units=args.units, sep=sep, decimal=args.decimal, rate_hz=args.rate, header=not args.no_header,
        on_duplicate=args.on_duplicate, timezone=args.timezone, start_time=args.start_time, progress=None,
    )
    if args.placement:
        rec.meta["placement"] = args.placement
    write_recording(args.output, rec, progress=None)
    for line in rec.info["import"].lines(args.on_duplicate):
        print(f"{args.src}: {line}", file=sys.stderr if line.startswith("warning") else sys.stdout)
    s = rec.summary()
    start = rec.meta.get("start_time")
    print(f"{args.output}: {s['samples']} samples, {s['duration_s']} s at {s['sample_rate_hz']:g} Hz, "
          f"{s['gaps']} gaps, " + (f"starting {start}" if start else "start time not known (--start-time gives it)"))
    return 0


def run_info(args: argparse.Namespace) -> int:
    def show(path: Path) -> None:
        s = read_recording(path).summary()
        if args.json:
            print(json.dumps({"path": str(path), **s}))
        else:
            print(f"{path}: {s['samples']} samples, {s['duration_s']} s at {s['sample_rate_hz']:g} Hz "
                  f"({s['rate_from']}), {s['gaps']} gaps ({s['gap_total_s']} s), "
                  f"{s['labels']} labels ({s['twitch_labels']} twitches)")

    return for_each_recording(args.paths, show, "info", args.fail_fast)[1]
