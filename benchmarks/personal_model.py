"""A personal model on a simulated wearer: does a few dozen reviews' worth of retraining help them?

The wearer: ``--sessions`` development sessions (seeds from 10 000 + 500 000, never trained on by the
shipped model, none held out) of one simulator profile (default desk-work, where the shipped model
fires on typing and fidgeting). Each session is "reviewed" like the review page would be, by an
oracle: every detection of the shipped model is answered ``twitch`` (with the true class) when it
overlaps a true twitch, else ``not-twitch``; the true labels are then dropped, as a wearer's file
has none. ``train --base default``'s procedure (:func:`twitchsense.detection.personal.train_personal`)
retrains the recipe's simulated part (``--simulate``/``--sim-minutes``, scaled down) with them and
reports the held-out comparison by session; then both models are measured with the true labels on
``--fresh`` new sessions of the same wearer (the future; seeds of their own, the same boards), of the
wearer's profile and of ``--fresh-profiles``.

    python -m benchmarks.personal_model [--profile desk-work] [--sessions 10] [--minutes 10]
                                        [--simulate 2] [--sim-minutes 4] [--fresh 6] [--weight W]
    python -m benchmarks.personal_model --write DIR      # the reviewed sessions, for train --base default DIR
    python -m benchmarks.personal_model --model PATH     # measure PATH on the fresh sessions (no training)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import TwitchModel, default_model_path, load_model
from twitchsense.detection.personal import REVIEWED_WEIGHT, reviewed_recording, train_personal
from twitchsense.detection.scoring import COLLAR_S, Tally, _overlaps, format_table, score_events
from twitchsense.detection.training import simulated_sessions
from twitchsense.errors import TwitchsenseError
from twitchsense.io.recording import Recording, write_recording
from twitchsense.simulate import simulate_session
from twitchsense.simulate.seeds import DEVELOPMENT_SEED0

#: the simulated wearer's sessions: development seeds, far from benchmarks.quality's own
WEARER_SEED0 = DEVELOPMENT_SEED0 + 500_000


def oracle_review(rec: Recording, model: TwitchModel) -> Recording:
    """``rec`` as its wearer would leave it after reviewing every detection of ``model`` with the
    truth at hand: one ``note=reviewed`` row per detection, the true labels gone."""
    events = detect_recording(rec, model).events
    lab = rec.labels
    tw = lab[lab["label"] == "twitch"]
    t0 = tw["onset"].to_numpy(float)
    t1 = t0 + tw["duration"].to_numpy(float)
    rows = []
    for e in events:
        hit = np.flatnonzero(_overlaps(t0 - COLLAR_S, t1 + COLLAR_S, np.array([e.onset - COLLAR_S]),
                                       np.array([e.end + COLLAR_S]))[:, 0]) if t0.size else []
        kind = str(tw["kind"].iloc[hit[0]]) if len(hit) and "kind" in tw else ""
        rows.append({"onset": e.onset, "duration": e.duration, "label": "twitch" if len(hit) else "not-twitch",
                     "kind": kind, "note": "reviewed", "peak_g": e.peak_g})
    cols = ["onset", "duration", "label", "kind", "note", "peak_g"]
    return Recording(t=rec.t, acc=rec.acc, meta=dict(rec.meta), labels=pd.DataFrame(rows, columns=cols),
                     gap_s=rec.gap_s, path=rec.path)


def wearer(profile: str, sessions: int, minutes: float, seed0: int = WEARER_SEED0) -> list[Recording]:
    """Sessions of one simulated wearer (one subject, a session each), with their true labels."""
    out = []
    for i in range(sessions):
        rec = simulate_session(profile, minutes, seed0 + i, rate_hz=100.0)
        rec.meta.update(subject="wearer", session=f"{profile}-{seed0 + i}")
        out.append(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="desk-work")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--simulate", type=int, default=2)
    ap.add_argument("--sim-minutes", type=float, default=4.0)
    ap.add_argument("--fresh", type=int, default=6)
    ap.add_argument("--weight", type=float, default=REVIEWED_WEIGHT)
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--fresh-profiles", default="rest,frequent-twitching",
                    help="other profiles of the same wearer measured fresh (comma-separated)")
    ap.add_argument("--write", type=Path, metavar="DIR", help="write the reviewed sessions to DIR and stop")
    ap.add_argument("--model", type=Path, help="measure this personal model on the fresh sessions (no training)")
    args = ap.parse_args(argv)
    base = load_model(default_model_path())
    t0 = time.perf_counter()
    reviewed = [oracle_review(r, base) for r in wearer(args.profile, args.sessions, args.minutes)]
    if args.write:
        args.write.mkdir(parents=True, exist_ok=True)
        for r in reviewed:
            write_recording(args.write / f"{r.meta['session']}.csv", r)
        print(f"{len(reviewed)} reviewed sessions ({sum(len(r.labels) for r in reviewed)} reviews) in {args.write}")
        return 0
    if args.model:
        model = load_model(args.model)
    else:
        recipe = simulated_sessions(args.simulate, args.sim_minutes, [50.0, 100.0, 200.0], 0)
        try:
            model, report = train_personal(recipe, [r for r in map(reviewed_recording, reviewed) if r is not None],
                                           base, trees=args.trees, weight=args.weight, progress=False)
        except TwitchsenseError as exc:  # too few reviews: the shipped model raises few detections here
            print(f"error: {args.profile} wearer, {args.sessions} sessions: {exc} (try more --sessions)",
                  file=sys.stderr)
            return 1
        print(f"wearer: {args.profile}, {len(reviewed)} sessions x {args.minutes:g} min; recipe: simulated part, "
              f"{args.simulate} x {args.sim_minutes:g} min per profile; reviewed windows weigh {args.weight:g}; "
              f"{time.perf_counter() - t0:.0f} s")
        print(report.table())
    for profile in dict.fromkeys([args.profile] + [p for p in args.fresh_profiles.split(",") if p]):
        fresh = wearer(profile, args.fresh, args.minutes, WEARER_SEED0 + 10_000)
        rows = {}
        for name, m in (("shipped", base), ("personal", model)):
            tally = Tally()
            for rec in fresh:
                tally = tally + score_events(rec.labels, detect_recording(rec, m).events, rec.duration_s)
            rows[f"{name}: {args.fresh} fresh {profile}"] = tally.figures()
        print(format_table(rows).split("\nsensitivity by class")[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
