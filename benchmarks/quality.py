"""Event-level detection quality of the shipped model and the band-energy baseline.

The contract's scoring (``twitchsense.scoring``: any-overlap after widening by
0.1 s, twitches under 0.02 g optional) on three kinds of data the model was
not trained on:

- simulated sessions of every simulator profile, with seeds outside the
  training range;
- the real recordings of ``../shared/data`` with simulated twitches added
  where the wearer is still (the simulator's ``inject_twitches``);
- the same real recordings with twitches added at moments in each recording's
  quieter half (:func:`benchmarks.window_set.add_twitches`): twitches on a
  moving background, the harder case.

    python -m benchmarks.quality [--minutes 30] [--json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.common import NO_MODEL, shipped_model
from benchmarks.window_set import SHARED_DATA, SOURCES, add_twitches

HELD_OUT_SEED = 7_700_000
FIGURES = ("hours", "true_twitches", "sensitivity", "precision", "f1", "false_alarms_per_hour_rest",
           "false_alarms_per_hour_activity", "detections_per_hour")


def _short(fig: dict) -> dict:
    return {"hours": fig["hours"], "twitches": fig["true_twitches"], "sensitivity": fig["sensitivity"],
            "precision": fig["precision"], "f1": fig["f1"], "fa_per_h_rest": fig["false_alarms_per_hour_rest"],
            "fa_per_h_activity": fig["false_alarms_per_hour_activity"]}


def simulated(minutes: float, per_profile: int) -> list:
    from twitchsense.simulate import PROFILES, simulate_session

    names = list(PROFILES.keys()) if isinstance(PROFILES, dict) else list(PROFILES)
    rates = (50.0, 100.0, 200.0)
    return [simulate_session(name, minutes, HELD_OUT_SEED + 1000 * p + i, rate_hz=rates[(p + i) % 3])
            for p, name in enumerate(names) for i in range(per_profile)]


def real_recordings(limit: int | None) -> list:
    from twitchsense.recording import find_recordings, read_recording

    paths = [p for src in SOURCES if (SHARED_DATA / src).is_dir() for p in find_recordings([SHARED_DATA / src])]
    if limit:
        paths = paths[::max(1, len(paths) // limit)][:limit]
    return [read_recording(p) for p in paths]


def run(minutes: float, per_profile: int, real_limit: int | None, seed: int = 0) -> dict:
    """Figures of the model and the baseline on each held-out data set."""
    try:
        from twitchsense.baseline import BandEnergyDetector
        from twitchsense.detector import detect_recording
        from twitchsense.scoring import Tally, score_events
    except ImportError:
        return {"rows": [{"detector": "default model and baseline", "status": "not available yet (issue #6)"}]}
    from twitchsense.simulate import inject_twitches

    model = shipped_model()
    baseline = BandEnergyDetector()
    real = real_recordings(real_limit)
    rng = np.random.default_rng(seed)
    data = {
        "simulated sessions (held-out seeds)": simulated(minutes, per_profile),
        "real + twitches where still": [inject_twitches(r, HELD_OUT_SEED + i, rate_per_min=6.0)
                                        for i, r in enumerate(real)],
        "real + twitches at quieter moments": [add_twitches(r, rng) for r in real],
    }
    rows = []
    for name, recs in data.items():
        tallies = {"shipped model": Tally(), "band-energy baseline": Tally()}
        for rec in recs:
            if model is not None:
                tallies["shipped model"] += score_events(rec.labels, detect_recording(rec, model).events,
                                                         rec.duration_s)
            tallies["band-energy baseline"] += score_events(rec.labels, baseline.detect(rec), rec.duration_s)
        for det, tally in tallies.items():
            data_name = f"{name} ({len(recs)} rec.)"
            if det == "shipped model" and model is None:
                rows.append({"detector": det, "data": data_name, "status": NO_MODEL})
            else:
                rows.append({"detector": det, "data": data_name, **_short(tally.figures()), "status": "ok"})
    note = (f"Event-level, the contract's scoring rule. Simulated: {per_profile} session(s) of {minutes:g} min per "
            f"profile at 50/100/200 Hz, seeds from {HELD_OUT_SEED}. Real: {len(real)} recordings of "
            f"{', '.join(SOURCES)} in ../shared/data (no twitches of their own).")
    return {"rows": rows, "note": note}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0, help="minutes per simulated session")
    ap.add_argument("--per-profile", type=int, default=2, help="simulated sessions per profile")
    ap.add_argument("--real-limit", type=int, default=0, help="use at most this many real recordings (0: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.minutes, args.per_profile, args.real_limit or None)
    if args.json:
        print(json.dumps(res))
        return
    for row in res["rows"]:
        print(row)
    if res.get("note"):
        print(res["note"])


if __name__ == "__main__":
    main()
