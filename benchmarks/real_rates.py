"""Detections per hour on every real folder of ``../shared/data`` (people without twitches).

Every recording goes through ``detect_recording`` (what ``twitchsense detect`` runs) with the
shipped model (or ``--model``); confirmed events are counted per hour of recording and per
judged hour (``rest`` + ``light`` context), retracted ones by their reason. The folders
``real-waist-hapt``, ``real-waist-sisfall`` and ``real-wrist-actigraph`` are for evaluation only:
nothing derived from them beyond these aggregate figures may enter the repository.

    python -m benchmarks.real_rates [--folders real-waist-hapt,...] [--set confirm=false ...] [--inject 2] [--json]

``--inject N``: also N seeded copies of every recording with simulated twitches added where the
wearer is still (:func:`twitchsense.simulate.inject_twitches`, 6 per still minute, on the sensor's
grid), scored with the contract's rule: sensitivity of every twitch >= 0.02 g, of the core classes
(fasciculations optional) and precision against the recording's own false alarms. The injector's
"still" is the context's level at the twitch; the issue's is stricter, still for 2 s on either side
(every 0.25 s block of [onset - 2.1, end + 2.1] s under 30 mg of movement, the acceleration minus
its 0.5 s centred mean): figures of both, ``still2_`` for the stricter (the other twitches optional).

``--set NAME=VALUE`` changes a setting of the model's ``DetectorConfig`` (to measure what a stage
does: ``confirm=false``, ``start_unjudged_s=0``, ``impact_active_s=-1`` turn off the confirmation, the
unjudged clip start and the impact's unjudged second).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import numpy as np

from benchmarks.common import NO_MODEL, shipped_model
from benchmarks.window_set import SHARED_DATA

FOLDERS = ("real-waist-hapt", "real-waist-sisfall", "real-wrist-actigraph", "real-parkinson-wrist",
           "real-wrist", "real-pocket", "real-other")


def still_around(rec, onset: np.ndarray, end: np.ndarray, still_g: float = 0.03, margin_s: float = 2.1) -> np.ndarray:
    """Per twitch: every 0.25 s block of [onset - margin, end + margin] under ``still_g`` of movement
    (the acceleration minus its 0.5 s centred mean, RMS per block), inside the recording, no gap."""
    from twitchsense.detection.preprocess import moving_mean

    fs = rec.sample_rate_hz
    dyn2 = np.sum((rec.acc - moving_mean(rec.acc, max(3, int(round(0.5 * fs))))) ** 2, axis=1)
    blk = ((rec.t - rec.t[0]) / 0.25).astype(int)
    nb = blk[-1] + 1
    n = np.bincount(blk, minlength=nb)
    level = np.full(nb, np.inf)
    level[n > 0] = np.sqrt(np.bincount(blk, dyn2, nb)[n > 0] / n[n > 0])
    for g in np.flatnonzero(np.diff(rec.t) > rec.gap_s):
        level[blk[g]:blk[g + 1] + 1] = np.inf
    i = ((onset - margin_s - rec.t[0]) // 0.25).astype(int)
    j = ((end + margin_s - rec.t[0]) // 0.25).astype(int) + 1
    return np.array([0 <= a and b <= nb and bool(np.all(level[a:b] < still_g)) for a, b in zip(i, j)], bool)


def folder_rates(folder: str, model, inject: int = 0) -> dict:
    """Hours, judged hours, confirmed detections (/h, /judged h) and retractions by reason of one folder;
    with ``inject``, the figures of twitches injected where still."""
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.judged import judged_seconds
    from twitchsense.detection.scoring import Tally, score_events
    from twitchsense.io.recording import find_recordings, read_recording
    from twitchsense.simulate import inject_twitches

    hours = judged = 0.0
    n = 0
    reasons: Counter = Counter()
    every, core, every2, core2 = Tally(), Tally(), Tally(), Tally()
    t0 = time.perf_counter()
    for path in find_recordings([SHARED_DATA / folder]):
        rec = read_recording(path, labels=False)
        res = detect_recording(rec, model)
        hours += rec.duration_s / 3600
        judged += judged_seconds(res.context) / 3600
        n += len(res.events)
        reasons.update(e.reason for e in getattr(res, "retracted", []))
        for seed in range(inject):
            with_tw = inject_twitches(rec, seed, rate_per_min=6.0)
            if not (with_tw.labels["label"] == "twitch").any():
                continue
            found = detect_recording(with_tw, model).events
            every = every + score_events(with_tw.labels, found, rec.duration_s)
            core = core + score_events(with_tw.labels, found, rec.duration_s, optional_kinds=("fasciculation",))
            lab = with_tw.labels.copy()  # twitches not still for 2 s either side: optional (under the floor)
            tw = (lab["label"] == "twitch").to_numpy()
            on = lab["onset"].to_numpy(float)
            keep = still_around(rec, on, on + lab["duration"].to_numpy(float))
            lab.loc[tw & ~keep, "peak_g"] = 0.0
            every2 = every2 + score_events(lab, found, rec.duration_s)
            core2 = core2 + score_events(lab, found, rec.duration_s, optional_kinds=("fasciculation",))
    out = {"folder": folder, "hours": round(hours, 2), "judged_hours": round(judged, 2), "detections": n,
           "per_hour": round(n / hours, 1) if hours else None,
           "per_judged_hour": round(n / judged, 1) if judged else None,
           "retracted": dict(sorted(reasons.items()))}
    if inject:
        out |= {"injected": every.n_true, "sensitivity": round(every.sensitivity, 3),
                "sensitivity_core": round(core.sensitivity, 3), "precision": round(every.precision, 3),
                "still2_injected": every2.n_true, "still2_sensitivity": round(every2.sensitivity, 3),
                "still2_sensitivity_core": round(core2.sensitivity, 3)}
    return out | {"wall_s": round(time.perf_counter() - t0, 1)}


def with_settings(config, settings: list[str]):
    """``config`` with ``NAME=VALUE`` settings (the value parsed as the field's type)."""
    import dataclasses

    types = {f.name: type(getattr(config, f.name)) for f in dataclasses.fields(config)}
    changes = {}
    for item in settings:
        name, _, value = item.partition("=")
        kind = types[name]
        changes[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return dataclasses.replace(config, **changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folders", default=",".join(FOLDERS))
    ap.add_argument("--model", help="detector model (default: the shipped one)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="change a detector setting (repeatable)")
    ap.add_argument("--inject", type=int, default=0, metavar="N",
                    help="also N seeded copies with twitches injected where still (sensitivity, precision)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from twitchsense.detection.model import load_model

    model = load_model(args.model) if args.model else shipped_model()
    if model is None:
        print(NO_MODEL)
        return
    model.config = with_settings(model.config, args.set)
    rows = [folder_rates(f, model, args.inject) for f in args.folders.split(",") if (SHARED_DATA / f).is_dir()]
    if args.json:
        print(json.dumps(rows))
        return
    cols = ("injected", "sensitivity", "sensitivity_core", "precision", "still2_injected", "still2_sensitivity",
            "still2_sensitivity_core")
    print("| folder | h | judged h | detections | /h | /judged h | retracted | " + " | ".join(cols) + " |")
    print("|---|---|---|---|---|---|---|" + "---|" * len(cols))
    for r in rows:
        print(f"| {r['folder']} | {r['hours']} | {r['judged_hours']} | {r['detections']} | {r['per_hour']} | "
              f"{r['per_judged_hour']} | {', '.join(f'{k} {v}' for k, v in r['retracted'].items()) or '-'} | "
              + " | ".join(str(r.get(k, "-")) for k in cols)
              + " |")


if __name__ == "__main__":
    main()
