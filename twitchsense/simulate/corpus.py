"""The bundled demo corpus ``recordings/demo/``: one labelled recording per profile, plus real
wrist sessions with injected twitches. Regenerate it with

    python -m twitchsense.simulate.corpus            # or: twitchsense simulate --demo-corpus recordings/demo

The output is byte-identical for the same code (a test checks the committed files).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..io.recording import find_recordings, read_recording, recording_name, write_recording
from .inject import inject_twitches
from .profiles import PROFILES
from .render import simulate_session

#: (minutes, seed) per profile at ``DEMO_RATE_HZ``. Seeds were picked (first that fits in 1-39) so
#: each short demo shows its profile's activities and, except no-twitch, at least two twitches.
DEMO_SESSIONS = {"rest": (2.0, 13), "desk-work": (2.0, 15), "walking": (2.0, 15), "sleep-onset": (2.0, 8),
                 "tremor": (2.0, 2), "frequent-twitching": (3.0, 1), "healthy-day": (3.0, 13),
                 "no-twitch": (2.0, 7)}
DEMO_RATE_HZ = 100.0
#: Injection into the real wrist sessions: they hold under 1 s of still time each,
#: so the rate per still minute is high enough to fill what there is.
INJECT_RATE_PER_MIN = 600.0
INJECT_SEED = 1

#: Paths relative to the repository root (run the command from there).
DEMO_DIR = Path("recordings") / "demo"
REAL_WRIST = Path("recordings") / "real-wrist"

INJECTED_README = """# Real wrist sessions with injected twitches

Made by `python -m twitchsense.simulate.corpus` (`inject_twitches(rec, seed={seed},
rate_per_min={rate:g})` on each session of `recordings/real-wrist/`): simulated twitches
added only where the wearer is still, labelled `twitch` with `kind`, `peak_g` and
`note = injected`; the original activity labels are kept. These short
sit-stand-walk-turn-sit sessions are still for well under a second each, so
only a few twitches fit.

Source and licence of the real recordings: converted from the "Smartphone and
smartwatch inertial dataset for human activity recognition" by Miguel
Matey-Sanz, Sven Casteleyn and Carlos Granell, Data in Brief (2023),
doi:10.5281/zenodo.8398688, licensed CC-BY-4.0
(https://creativecommons.org/licenses/by/4.0/). Conversion: smartwatch files,
acceleration divided by 9.80665 to get g, Unix-millisecond timestamps made
relative seconds, samples with a repeated timestamp dropped, per-sample labels
turned into segments. Changes here: simulated twitches added.
"""


def build_demo_corpus(outdir: str | os.PathLike, real_dir: str | os.PathLike | None = REAL_WRIST) -> list[Path]:
    """Write the demo corpus to ``outdir``; returns the recordings written."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PROFILES:
        minutes, seed = DEMO_SESSIONS[name]
        rec = simulate_session(name, minutes, seed, DEMO_RATE_HZ)
        path = out / f"{name}.csv"
        write_recording(path, rec)
        written.append(path)
    if real_dir is not None and Path(real_dir).is_dir():
        sub = out / "real-wrist-injected"
        sub.mkdir(exist_ok=True)
        for src in find_recordings([real_dir]):
            rec = inject_twitches(read_recording(src), INJECT_SEED, INJECT_RATE_PER_MIN)
            path = sub / f"{recording_name(src)}.csv"
            write_recording(path, rec)
            written.append(path)
        (sub / "README.md").write_text(INJECTED_README.format(seed=INJECT_SEED, rate=INJECT_RATE_PER_MIN),
                                       encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else DEMO_DIR
    paths = build_demo_corpus(outdir)  # all written before anything is printed
    try:
        for path in paths:
            s = read_recording(path).summary()
            print(f"{path}: {s['duration_s']} s, {s['labels']} labels ({s['twitch_labels']} twitches)")
    except BrokenPipeError:  # output piped into head
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
