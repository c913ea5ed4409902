"""Commands on recording files: ``import`` (foreign CSV -> interchange format) and ``info``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..io.foreign import import_foreign
from ..io.recording import find_recordings, read_recording, write_recording
from ..units import ACC_UNITS, TIME_UNITS
from .common import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "import", "bring a foreign CSV into the interchange format through an explicit mapping",
        "twitchsense import phone.csv --time-col timestamp --time-unit ms --units m/s2 -o rec.csv\n"
        "twitchsense import export.csv --sep ';' --decimal , --axes X,Y,Z --time-col time -o rec.csv\n"
        "twitchsense import untimed.txt --no-time --rate 119 --axes x,y,z -o rec.csv",
    )
    p.add_argument("src", type=Path, help="the foreign CSV")
    p.add_argument("-o", "--output", type=Path, required=True, help="interchange CSV to write")
    p.add_argument("--time-col", default="t", help="name of the time column (default: t)")
    p.add_argument("--no-time", action="store_true", help="the file has no time column; needs --rate")
    p.add_argument("--time-unit", choices=sorted(TIME_UNITS), default="s", help="unit of the time column")
    p.add_argument("--axes", default="ax,ay,az", help="the three axis columns, comma-separated")
    p.add_argument("--units", choices=sorted(ACC_UNITS), default="g", help="unit of the axis columns")
    p.add_argument("--sep", default=",", help="field separator (',' or ';' or '\\t')")
    p.add_argument("--decimal", default=".", help="decimal mark ('.' or ',')")
    p.add_argument("--rate", type=float, help="nominal sample rate in Hz (written to the sidecar)")
    p.add_argument("--placement", help="where the sensor was worn (wrist, forearm, calf...)")
    p.set_defaults(func=run_import)

    p = add_command(sub, "info", "summarise recordings: samples, rate, duration, gaps, labels",
                    "twitchsense info recordings/real-wrist\ntwitchsense info session.csv --json")
    p.add_argument("paths", nargs="+", type=Path, help="recordings or folders of recordings")
    p.add_argument("--json", action="store_true", help="one JSON object per recording")
    p.set_defaults(func=run_info)


def run_import(args: argparse.Namespace) -> int:
    sep = "\t" if args.sep in ("\\t", "tab") else args.sep
    rec = import_foreign(
        args.src, time_col=None if args.no_time else args.time_col, time_unit=args.time_unit,
        axes=[a.strip() for a in args.axes.split(",")], units=args.units, sep=sep,
        decimal=args.decimal, rate_hz=args.rate,
    )
    if args.placement:
        rec.meta["placement"] = args.placement
    write_recording(args.output, rec)
    s = rec.summary()
    print(f"{args.output}: {s['samples']} samples, {s['duration_s']} s, {s['sample_rate_hz']} Hz, "
          f"{s['gaps']} gaps")
    return 0


def run_info(args: argparse.Namespace) -> int:
    for path in find_recordings(args.paths):
        s = read_recording(path).summary()
        if args.json:
            print(json.dumps({"path": str(path), **s}))
        else:
            print(f"{path}: {s['samples']} samples, {s['duration_s']} s at {s['sample_rate_hz']} Hz "
                  f"({s['rate_from']}), {s['gaps']} gaps ({s['gap_total_s']} s), "
                  f"{s['labels']} labels ({s['twitch_labels']} twitches)")
    return 0
