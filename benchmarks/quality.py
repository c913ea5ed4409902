"""Held-out quality of the shipped detector on fresh simulated sessions (seeds nothing was chosen on).

Every simulator profile, ``--sessions`` sessions each of ``--minutes`` minutes, at 50, 100
and 200 Hz in turn. By default the sessions are held out: their seeds come from
:data:`twitchsense.simulate.seeds.HELD_OUT_SEED0`, a block that training never simulates and no
setting, threshold or design decision is made on; they give the final figures (the model card's).
While developing, measure with ``--development`` (seeds from 10 000, also never trained on).
Scored with the contract's rule, the band-energy baseline on the same recordings. Also with
fasciculations optional (like twitches under 0.02 g): docs/physiology.md calls them an
experimental mode near the sensor's floor, not the validated core, so the figures of
the other classes alone are given beside the figures of all.

    python -m benchmarks.quality [--sessions 4] [--minutes 10] [--model PATH] [--development] [--json]

With ``--json``: one line ``{"rows": [...], "note": ...}`` for ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import json

from twitchsense.detection.baseline import BandEnergyDetector
from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import default_model_path, load_model
from twitchsense.detection.scoring import EXPERIMENTAL_KINDS, Tally, figures_markdown, score_events
from twitchsense.simulate import PROFILES, simulate_session
from twitchsense.simulate.seeds import DEVELOPMENT_SEED0, HELD_OUT_SEED0

RATES = (50.0, 100.0, 200.0)


def session_seeds(sessions: int, development: bool = False) -> list[tuple[str, int, float]]:
    """``(profile, seed, rate_hz)`` of every session measured: held out, or development ones."""
    seed0 = DEVELOPMENT_SEED0 if development else HELD_OUT_SEED0
    out, k = [], 0
    for prof in PROFILES:
        for i in range(sessions):
            out.append((prof, seed0 + 100 * k + i, RATES[k % len(RATES)]))
            k += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--model")
    ap.add_argument("--development", action="store_true",
                    help="development sessions (seeds from 10 000) instead of the held-out ones")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    model = load_model(args.model or default_model_path())
    base = BandEnergyDetector()
    core = {"optional_kinds": EXPERIMENTAL_KINDS}
    tallies: dict[str, dict[str, Tally]] = {}  # scoring -> profile -> tally
    for prof, seed, rate in session_seeds(args.sessions, args.development):
        rec = simulate_session(prof, args.minutes, seed, rate_hz=rate)
        res = detect_recording(rec, model)
        active = [(c.start, c.end) for c in res.context if c.state == "active"]
        bev = base.detect(rec)
        for name, (events, how) in {
                "default model": (res.events, {}),
                "default model, judged time only": (res.events, {"exclude": active}),
                "default model, fasciculations optional": (res.events, core),
                "band-energy baseline": (bev, {}),
                "band-energy baseline, fasciculations optional": (bev, core)}.items():
            per = tallies.setdefault(name, {})
            per[prof] = per.get(prof, Tally()) + score_events(rec.labels, events, rec.duration_s, **how)
    figs = {name: {p: t.figures() for p, t in {**per, "all profiles": sum(per.values(), Tally())}.items()}
            for name, per in tallies.items()}
    if args.json:
        rows = []
        for name, by_prof in figs.items():
            for prof, f in by_prof.items():
                rows.append({"detector": name, "data": f"sim:{prof}", "sensitivity": f["sensitivity"],
                             "precision": f["precision"], "f1": f["f1"],
                             "fa_per_h_rest": f["false_alarms_per_hour_rest"],
                             "fa_per_h_activity": f["false_alarms_per_hour_activity"], "status": "ok"})
        which = "development seeds from 10000" if args.development else f"held-out seeds from {HELD_OUT_SEED0}"
        note = (f"Fresh simulated sessions ({which}, never used in training): {args.sessions} x "
                f"{args.minutes:g} min per profile at 50/100/200 Hz. Real-data figures (held out by subject) "
                "are in twitchsense/data/default.card.md.")
        print(json.dumps({"rows": rows, "note": note}))
    else:
        def table(ours: str, theirs: str) -> str:
            return figures_markdown({f"sim:{p}": f for p, f in figs[ours].items()},
                                    {f"sim:{p}": f for p, f in figs[theirs].items()})
        print(table("default model", "band-energy baseline"))
        print("\nleaving out the 'cannot tell' (active) time:")
        print(table("default model, judged time only", "band-energy baseline"))
        print("\nfasciculations optional (the validated core classes alone):")
        print(table("default model, fasciculations optional", "band-energy baseline, fasciculations optional"))


if __name__ == "__main__":
    main()
