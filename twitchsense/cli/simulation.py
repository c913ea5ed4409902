"""``simulate``: labelled recordings from the physiological simulator, real-background injection,
the class gallery and the demo corpus."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..detection.context import ContextConfig
from ..errors import TwitchsenseError
from ..io.recording import find_recordings, read_recording, recording_name, write_recording
from .common import add_command

EXAMPLE = """\
twitchsense simulate out/ --minutes 5 --seed 1 --profile frequent-twitching
twitchsense simulate out/ --minutes 60 --seed 1 --profile rest --profile desk-work --sessions 5 --rate 50
twitchsense simulate out/ --inject recordings/real-wrist --rate-per-min 2 --seed 3
twitchsense simulate --plot docs/gallery.png
twitchsense simulate --demo-corpus recordings/demo
twitchsense simulate --list-profiles"""


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "simulate", "write labelled recordings from the physiological simulator", EXAMPLE,
                    description="Write labelled recordings (NAME.csv + NAME.json + NAME.events.csv) from the "
                                "physiological simulator: twitches labelled 'twitch' with kind and peak_g, "
                                "look-alikes labelled with their names. Or add simulated twitches to real "
                                "recordings where the wearer is still (--inject), draw the class gallery "
                                "(--plot), or rebuild the demo corpus (--demo-corpus).")
    p.add_argument("outdir", nargs="?", type=Path, help="folder to write the recordings to")
    p.add_argument("--minutes", type=float, default=5.0, help="minutes per session (default 5)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives identical files")
    p.add_argument("--rate", type=float, default=100.0, help="sample rate in Hz, 25-1000 (default 100)")
    p.add_argument("--profile", action="append", metavar="NAME",
                   help="session profile (repeatable; default: every profile); see --list-profiles")
    p.add_argument("--sessions", type=int, default=1,
                   help="sessions per profile, seeds SEED, SEED+1, ... (default 1)")
    p.add_argument("--inject", nargs="+", type=Path, metavar="REC",
                   help="real recordings or folders: add simulated twitches where the wearer is still")
    p.add_argument("--rate-per-min", type=float, default=2.0,
                   help="with --inject: twitches per minute of still time (default 2)")
    p.add_argument("--kinds", help="with --inject: comma-separated twitch kinds "
                                   "(default myoclonic,fasciculation,tic)")
    p.add_argument("--still-rms", type=float, default=ContextConfig.light_g, metavar="G",
                   help="with --inject: still means an activity level (RMS of the movement above 3 Hz, "
                        f"smoothed as the detector's context does) under G g (default {ContextConfig.light_g:g}, "
                        "the context's rest)")
    p.add_argument("--plot", type=Path, metavar="PNG", help="draw one example of every class to PNG")
    p.add_argument("--demo-corpus", type=Path, metavar="DIR",
                   help="rebuild the bundled demo corpus into DIR (run from the repository root)")
    p.add_argument("--list-profiles", action="store_true", help="list the profiles and their twitch rates")
    p.set_defaults(func=run_simulate)


def injection_summary(dest: Path, info: dict) -> str:
    """One line per injected file: how many, into how much still time, on which grid; or why none."""
    if not info["injected"]:
        return f"{dest}: no twitch injected: {info['reason']}"
    grid = info.get("grid_g")
    on_grid = f", on its {max(grid) * 1e3:.3g} mg grid" if grid else ""
    return f"{dest}: {info['injected']} twitches injected into {info['still_s']:.1f} s of still time{on_grid}"


def run_simulate(args: argparse.Namespace) -> int:
    from ..simulate import PROFILES, TWITCH_KINDS, inject_twitches, simulate_session

    if args.list_profiles:
        for name, prof in PROFILES.items():
            bouts = " in bouts" if prof.twitch_bouts else ""
            total = sum(prof.twitch_kinds.values())
            mix = ", ".join(f"{k} {100 * w / total:.0f} %" for k, w in prof.twitch_kinds.items())
            print(f"{name:20s} {prof.twitch_rate_per_min:g} twitches/min{bouts} ({mix}): {prof.description}")
        return 0
    if args.plot:
        from ..simulate.gallery import draw_gallery

        print(draw_gallery(args.plot, 100.0 if args.rate is None else args.rate))
        return 0
    if args.demo_corpus:
        from ..simulate.corpus import main as corpus_main

        return corpus_main([str(args.demo_corpus)])
    if args.outdir is None:
        raise TwitchsenseError("name an output folder (or use --plot, --demo-corpus or --list-profiles)")
    if not 25 <= args.rate <= 1000:
        raise TwitchsenseError(f"--rate {args.rate:g} Hz is out of range: use 25-1000 Hz")
    if args.minutes <= 0 or args.sessions < 1:
        raise TwitchsenseError("--minutes must be positive and --sessions at least 1")
    args.outdir.mkdir(parents=True, exist_ok=True)
    if args.inject:
        kinds = [k.strip() for k in args.kinds.split(",")] if args.kinds else None
        for k in kinds or []:
            if k not in TWITCH_KINDS:
                raise TwitchsenseError(f"unknown twitch kind {k!r}; choose from {', '.join(TWITCH_KINDS)}")
        for src in find_recordings(args.inject):
            dest = args.outdir / f"{recording_name(src)}.csv"
            if dest.resolve() == src.resolve():
                raise TwitchsenseError(f"{dest}: would overwrite its source; choose another output folder")
            rec = inject_twitches(read_recording(src), args.seed, args.rate_per_min, kinds,
                                  still_g=args.still_rms)
            write_recording(dest, rec)
            print(injection_summary(dest, rec.info))
        return 0
    profiles = args.profile or list(PROFILES)
    for name in profiles:
        if name not in PROFILES:
            raise TwitchsenseError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    from tqdm import tqdm

    jobs = [(name, args.seed + i) for name in profiles for i in range(args.sessions)]
    for name, seed in tqdm(jobs, desc="simulate", unit="session", disable=None if len(jobs) > 1 else True):
        rec = simulate_session(name, args.minutes, seed, args.rate)
        stem = name if args.sessions == 1 else f"{name}-seed{seed}"
        path = args.outdir / f"{stem}.csv"
        write_recording(path, rec)
        s = rec.summary()
        tqdm.write(f"{path}: {s['samples']} samples, {s['duration_s']} s at {s['sample_rate_hz']:g} Hz, "
                   f"{s['twitch_labels']} twitches, {s['labels'] - s['twitch_labels']} look-alikes, "
                   f"{s['gaps']} gaps")
    return 0
