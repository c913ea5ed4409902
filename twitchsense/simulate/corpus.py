"""The bundled demo corpus ``recordings/demo/``: one labelled recording per profile, a long free-living
wrist day from a research logger, and a real recording with injected twitches. Regenerate it with

    python -m twitchsense.simulate.corpus            # or: twitchsense simulate --demo-corpus recordings/demo

The output is byte-identical for the same code (a test checks the committed files).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from ..io.recording import find_recordings, read_recording, recording_name, write_recording
from .inject import inject_twitches
from .plan import rng_for
from .render import simulate_session
from .sensor import draw_sensor

#: (minutes, seed) per profile at ``DEMO_RATE_HZ``. Seeds were picked (first that fits in 1-39) so
#: each short demo shows its profile's activities and, except no-twitch, at least two twitches.
#: frequent-twitching: the first seed whose 5 minutes hold at least 40 twitches, twice the 20 in
#: 10 minutes the default rules' `frequent` warning needs, so that the README's main command
#: (`twitchsense replay recordings/demo/frequent-twitching.csv`) shows the alerting layer at work.
DEMO_SESSIONS = {"rest": (2.0, 13), "desk-work": (2.0, 15), "walking": (2.0, 15), "sleep-onset": (2.0, 8),
                 "tremor": (2.0, 2), "frequent-twitching": (5.0, 3), "healthy-day": (3.0, 13),
                 "no-twitch": (2.0, 7)}
DEMO_RATE_HZ = 100.0
#: The long free-living demo: half an hour of a wrist day from a research logger (1/64 g steps, 30 Hz,
#: like the loggers of physical-activity studies). Seed: the first whose half hour holds a meal,
#: typing, mouse, phone, walking and gesturing.
FREE_LIVING = {"profile": "free-living", "minutes": 30.0, "seed": 13, "rate_hz": 30.0, "bits": 10, "range_g": 8.0}
#: The injection demo: a real research-logger recording (GENEActiv on the lower back, 50 Hz, 3.9 mg
#: steps) with myoclonic jerks and tics added in its standing stretches.
INJECT_SOURCE = Path("recordings") / "real-back" / "geneactiv_back_walk.csv"
INJECT_RATE_PER_MIN = 20.0
INJECT_SEED = 1
INJECT_KINDS = ("myoclonic", "tic")

#: Paths relative to the repository root (run the command from there).
DEMO_DIR = Path("recordings") / "demo"

INJECTED_README = """# A real recording with injected twitches: what injection is for

Real recordings of your own have no twitch labels, so no figure can say how many
twitches a detector would find on *your* sensor, body and day. Injection answers
that: it adds simulated twitches, labelled, where the wearer is still, on the
recording's own quantisation grid, and leaves everything else as it was. Then
`evaluate` scores the detector on a real background:

```
twitchsense simulate injected/ --inject my-recordings/ --rate-per-min 2 --seed 1
twitchsense evaluate injected/
```

This folder is that, done on a real walk recorded by a research logger
(`{source}`: GENEActiv on the lower back, 50 Hz, 3.9 mg steps): `inject_twitches(rec,
seed={seed}, rate_per_min={rate:g}, kinds={kinds})` put {n} twitches of {lo:.2f}-{hi:.2f} g
into its {still:.0f} s of standing still (the rate is high so that a short demo holds
several; 1-2 per still minute is realistic). Every changed sample lies on the
logger's grid ({grid}), as a sensor would have written it.

With the shipped model, `twitchsense evaluate recordings/demo/injected-real-back`
finds {found} of the {n} (December 2026). This recording is among the shipped model's
training data (`../shared/data/real-other`), so that figure is not held out: on your
own recordings it is.

Source and licence: the demo recording of the PyPI package gaitpy 1.6.1 (MIT
licence, Copyright (c) 2019 Matthew Czech, Pfizer), GENEActiv on the lower back,
walking and standing, 168 s at 50 Hz, units g, no twitches. Changes here:
simulated twitches added.
"""


def free_living_session():
    """The long free-living demo recording (:data:`FREE_LIVING`)."""
    f = FREE_LIVING
    sensor = dataclasses.replace(draw_sensor(rng_for(f["seed"], "sensor"), "logger"), bits=f["bits"],
                                 range_g=f["range_g"])
    return simulate_session(f["profile"], f["minutes"], f["seed"], f["rate_hz"], sensor=sensor)


#: Injected twitches the shipped model finds in the injection demo (`evaluate`), as its README says.
INJECTED_FOUND = "5"


def build_demo_corpus(outdir: str | os.PathLike, inject_source: str | os.PathLike | None = INJECT_SOURCE
                      ) -> list[Path]:
    """Write the demo corpus to ``outdir``; returns the recordings written."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (minutes, seed) in DEMO_SESSIONS.items():
        rec = simulate_session(name, minutes, seed, DEMO_RATE_HZ)
        path = out / f"{name}.csv"
        write_recording(path, rec)
        written.append(path)
    path = out / "free-living-wrist.csv"
    write_recording(path, free_living_session())
    written.append(path)
    if inject_source is not None and Path(inject_source).is_file():
        sub = out / "injected-real-back"
        sub.mkdir(exist_ok=True)
        src = read_recording(inject_source)
        rec = inject_twitches(src, INJECT_SEED, INJECT_RATE_PER_MIN, INJECT_KINDS)
        path = sub / f"{recording_name(inject_source)}.csv"
        write_recording(path, rec)
        written.append(path)
        tw = rec.labels[rec.labels.get("note") == "injected"]
        grid = ", ".join(f"{g * 1e3:.3f}" for g in rec.info["grid_g"]) + " mg per axis"
        (sub / "README.md").write_text(INJECTED_README.format(
            source=INJECT_SOURCE.as_posix(), seed=INJECT_SEED, rate=INJECT_RATE_PER_MIN, kinds=list(INJECT_KINDS),
            n=len(tw), lo=tw.peak_g.min(), hi=tw.peak_g.max(), still=rec.info["still_s"], grid=grid,
            found=INJECTED_FOUND), encoding="utf-8")
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
