"""Event-level detection quality of the shipped model and the band-energy baseline on real backgrounds.

The contract's scoring (``twitchsense.detection.scoring``: any-overlap after widening by
0.1 s, twitches under 0.02 g optional). Two kinds of rows:

- ``card``: the shipped model's own cross-validated figures on the real
  recordings of ``../shared/data`` (out-of-fold, split by subject/session, as
  recorded in ``twitchsense/data/default.card.json`` at training time), model and baseline;
- ``real + new twitches``: the real recordings of ``../shared/data`` with new
  simulated twitches added at moments in each recording's quieter half
  (:func:`benchmarks.window_set.add_twitches`), scored now. These backgrounds
  were training negatives of the shipped model (only the twitches are new), so
  this row is not held out: it tells whether twitches on moving real
  backgrounds are found, not how many false alarms unseen people would get.

Held-out simulated sessions come from the detector's own
``benchmarks.quality`` (the runner calls it).

    python -m benchmarks.real_quality [--real-limit 0] [--json]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from benchmarks.common import NO_MODEL, shipped_model
from benchmarks.window_set import SHARED_DATA, SOURCES, add_twitches

CARD_CATEGORIES = ("injected:real-other", "injected:real-pocket", "real-other", "real-pocket", "real-wrist")


def figures_row(detector: str, data: str, fig: dict) -> dict:
    """The table's columns from a ``Tally.figures()`` dict."""
    return {"detector": detector, "data": data, "hours": fig.get("hours"), "twitches": fig.get("true_twitches"),
            "sensitivity": fig.get("sensitivity"), "precision": fig.get("precision"), "f1": fig.get("f1"),
            "fa_per_h_rest": fig.get("false_alarms_per_hour_rest"),
            "fa_per_h_activity": fig.get("false_alarms_per_hour_activity"), "status": "ok"}


def card_rows() -> list[dict]:
    """The shipped model card's cross-validated figures on real recordings."""
    from twitchsense.detection.model import card_paths, default_model_path
    from twitchsense.errors import ModelError

    try:
        card = json.loads(card_paths(default_model_path())[1].read_text())
    except (ModelError, OSError, ValueError):
        return [{"detector": "shipped model", "data": "model card, real recordings", "status": NO_MODEL}]
    rows = []
    for cat in CARD_CATEGORIES:
        for det, key in (("shipped model", "held_out_figures"), ("band-energy baseline", "baseline_held_out_figures")):
            fig = (card.get(key) or {}).get(cat)
            if fig:
                rows.append(figures_row(det, f"{cat} (model card, out-of-fold)", fig))
    return rows


def real_recordings(limit: int | None) -> list:
    from twitchsense.io.recording import find_recordings, read_recording

    paths = [p for src in SOURCES if (SHARED_DATA / src).is_dir() for p in find_recordings([SHARED_DATA / src])]
    if limit:
        paths = paths[::max(1, len(paths) // limit)][:limit]
    return [read_recording(p) for p in paths]


def run(real_limit: int | None, seed: int = 0) -> dict:
    """Card rows, then model and baseline on real recordings with new twitches."""
    try:
        from twitchsense.detection.baseline import BandEnergyDetector
        from twitchsense.detection.engine import detect_recording
        from twitchsense.detection.scoring import Tally, score_events
    except ImportError:
        return {"rows": [{"detector": "default model and baseline", "status": "not available yet (issue #6)"}]}
    model = shipped_model()
    baseline = BandEnergyDetector()
    rng = np.random.default_rng(seed)
    recs = [add_twitches(r, rng) for r in real_recordings(real_limit)]
    ours, judged, theirs = Tally(), Tally(), Tally()
    for rec in recs:
        if model is not None:
            res = detect_recording(rec, model)
            active = [(c.start, c.end) for c in res.context if c.state == "active"]
            ours += score_events(rec.labels, res.events, rec.duration_s)
            judged += score_events(rec.labels, res.events, rec.duration_s, exclude=active)
        theirs += score_events(rec.labels, baseline.detect(rec), rec.duration_s)
    name = f"real + new twitches ({len(recs)} rec.; backgrounds seen in training)"
    rows = card_rows()
    if model is None:
        rows.append({"detector": "shipped model", "data": name, "status": NO_MODEL})
    else:
        rows.append(figures_row("shipped model", name, ours.figures()))
        rows.append(figures_row("shipped model, judged time only", name, judged.figures()))
    rows.append(figures_row("band-energy baseline", name, theirs.figures()))
    note = (f"real + new twitches: {len(recs)} recordings of {', '.join(SOURCES)} (docs/data.md) with twitches "
            "from the simulator's waveform model added at moments in each recording's quieter half (seeded); "
            "these backgrounds were the shipped model's training negatives, only the twitches are new; "
            "'judged time only' leaves out the stretches the detector marks 'active' (cannot tell). "
            "Model card rows: the cross-validated (grouped, out-of-fold) figures recorded at training time.")
    return {"rows": rows, "note": note}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real-limit", type=int, default=0, help="use at most this many real recordings (0: all)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.real_limit or None)
    if args.json:
        print(json.dumps(res))
        return
    for row in res["rows"]:
        print(row)
    print(res.get("note", ""))


if __name__ == "__main__":
    main()
