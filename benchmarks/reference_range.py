"""The healthy reference range: detections per judged hour and per still hour on real recordings of
people without twitches, by placement, context and subject.

Every healthy real folder of ``../shared/data`` (all but ``real-parkinson-wrist``) goes through
:func:`twitchsense.detection.engine.detect_recording`, the engine ``twitchsense detect`` runs, with the
shipped model. Per unit (a subject; the one ActiGraph subject's day is split into groups of
:data:`ACTIGRAPH_GROUP` consecutive segments, about half an hour each, and flagged thin) the script
counts detections and time:

- judged: the context is ``rest`` or ``light`` (:mod:`twitchsense.detection.judged`); per context too;
- still: a 0.25 s block whose every block within +-2 s has an activity level
  (:mod:`twitchsense.detection.context`) under 30 mg; a detection is "in still time" when the blocks
  within 2 s before its onset and 2 s after its end are (its own blocks left out).

A unit's rate counts where it has at least :data:`MIN_UNIT_MIN` minutes of the time it is measured on.
The range of a placement is the p50 / p90 / p95 of its units' rates (numpy's linear percentiles),
with the number of units and hours. A placement with fewer than :data:`MIN_UNITS` units gets no range.

    python -m benchmarks.reference_range            # measure, print the table
    python -m benchmarks.reference_range --write    # and write twitchsense/data/reference_range.json
                                                    # and docs/reference-range.md

Deterministic; a few minutes on one core. Re-run it after any change to the detector or the model.
The figures are aggregates: no recording data goes into the repository.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
#: Folders of people with (possibly) real twitches: never part of a healthy range.
NOT_HEALTHY = ("real-parkinson-wrist",)
#: ActiGraph segments per unit of the one-subject day (consecutive, about half an hour of recording).
ACTIGRAPH_GROUP = 10
MIN_UNIT_MIN = 2.0
MIN_UNITS = 5
STILL_G = 0.03
STILL_AROUND_S = 2.0
PERCENTILES = (50, 90, 95)
RATES = ("judged", "rest", "light", "still")
#: Clocks a frequency rule's window counts on: judged time (rest or light), and rest time (``context = "rest"``).
WINDOW_KINDS = {"judged": ("rest", "light"), "rest": ("rest",)}
#: Window lengths (minutes) of the shipped frequency rules compared with the range (``frequent``: 10).
WINDOW_MINUTES = (10.0,)
DATA_PATH = ROOT / "twitchsense" / "data" / "reference_range.json"
DOCS_PATH = ROOT / "docs" / "reference-range.md"


def healthy_folders(data: Path) -> list[Path]:
    return sorted(p for p in data.iterdir() if p.is_dir() and p.name.startswith("real-") and p.name not in NOT_HEALTHY)


def trained_on() -> set[str]:
    """Folders the shipped model was trained on (its card's ``training_data``): their figures are not
    held out, so they are shown by folder but never enter a range."""
    from twitchsense.detection.model import card_paths, default_model_path

    try:
        card = json.loads(card_paths(default_model_path())[1].read_text())
    except (OSError, ValueError):
        return set()
    return {str(d).split(":")[0].strip() for d in card.get("training_data", []) if ":" in str(d)}


def unit_of(folder: str, name: str, meta: dict) -> tuple[str, bool]:
    """(unit, thin): a subject, or a group of consecutive segments of the one-subject ActiGraph day."""
    subject = str(meta.get("subject") or name)
    m = re.search(r"_seg(\d+)$", name)
    if "actigraph" in folder and m:
        g = (int(m.group(1)) - 1) // ACTIGRAPH_GROUP
        return f"{subject}/segments {g * ACTIGRAPH_GROUP + 1}-{(g + 1) * ACTIGRAPH_GROUP}", True
    return subject, False


def still_blocks(rec, cfg) -> list[tuple[float, float, np.ndarray]]:
    """Per stretch without gaps: (start time, block length s, activity level per block)."""
    from twitchsense.detection.context import activity_levels

    out = []
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(rec.t) > rec.gap_s) + 1, [rec.n_samples]])
    rate = rec.sample_rate_hz
    block = cfg.block_samples(rate)
    for a, b in zip(bounds[:-1], bounds[1:]):
        levels, _ = activity_levels(rec.acc[a:b], rate, cfg)
        out.append((float(rec.t[a]), block / rate, levels))
    return out


def still_measures(stretches, events) -> tuple[float, int]:
    """(still seconds, detections in still time) of one recording."""
    from numpy.lib.stride_tricks import sliding_window_view

    still_s, n_still = 0.0, 0
    for t0, bs, lev in stretches:
        if lev.size == 0:
            continue
        half = int(round(STILL_AROUND_S / bs))
        quiet = lev < STILL_G
        pad = np.concatenate([np.zeros(half, bool), quiet, np.zeros(half, bool)])
        still_s += float(sliding_window_view(pad, 2 * half + 1).all(axis=1).sum() * bs)
        t_end = t0 + lev.size * bs
        for e in events:
            if not (t0 <= e.onset < t_end):
                continue
            ia, ib = int((e.onset - t0) // bs), int((e.end - t0) // bs)
            if ia - half >= 0 and ib + half < lev.size and quiet[ia - half:ia].all() and quiet[ib + 1:ib + 1 + half].all():
                n_still += 1
    return still_s, n_still


def measure(data: Path, limit: int = 0, progress: bool = True) -> tuple[list[dict], list[dict]]:
    """One row per recording (placement, unit, seconds and detections by kind of time), and the folders."""
    from tqdm import tqdm

    from twitchsense.alerts.reference import placement_key
    from twitchsense.detection.context import ContextConfig
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.io.recording import find_recordings, read_recording

    model = load_model(default_model_path())
    cfg = ContextConfig()
    rows, folders = [], []
    for folder in healthy_folders(data):
        paths = sorted(find_recordings([folder]))
        if limit:
            paths = paths[:limit]
        hours = 0.0
        for p in tqdm(paths, desc=folder.name, unit="rec", disable=not progress, file=sys.stderr):
            rec = read_recording(p, labels=False)
            res = detect_recording(rec, model)
            unit, thin = unit_of(folder.name, rec.name, rec.meta)
            row = {"folder": folder.name, "recording": rec.name, "unit": unit, "thin": thin,
                   "placement": placement_key(str(rec.meta.get("placement", ""))) or "unknown",
                   "total_s": rec.duration_s}
            for state in ("rest", "light"):
                row[f"{state}_s"] = sum(s.end - s.start for s in res.context if s.state == state)
                row[f"n_{state}"] = sum(1 for e in res.events if e.context == state)
            row["judged_s"] = row["rest_s"] + row["light_s"]
            row["clock"] = event_clocks(res.context, res.events)
            row["n_judged"] = row["n_rest"] + row["n_light"]
            row["n_all"] = len(res.events)
            row["still_s"], row["n_still"] = still_measures(still_blocks(rec, cfg), res.events)
            rows.append(row)
            hours += rec.duration_s / 3600
        folders.append({"folder": folder.name, "recordings": len(paths), "hours": round(hours, 2)})
    return rows, folders


def event_clocks(context, events) -> dict[str, np.ndarray]:
    """Per kind of time a window rule counts in (``judged``, ``rest``): the detections' times on that clock
    (seconds of that time from the recording's start), as the alert engine places them."""
    from twitchsense.detection.judged import JudgedClock

    out = {}
    for kind, states in WINDOW_KINDS.items():
        clock = JudgedClock(states)
        clock.add(context)
        out[kind] = np.sort(clock.at(np.array([e.onset for e in events if e.context in states], dtype=float)))
    return out


def unit_window_max(rows: list[dict], kind: str, window_s: float) -> tuple[int, float]:
    """(highest count in any ``window_s`` of ``kind`` time, that time in all) of one unit: its recordings joined
    on that clock in name order (a one-subject day's segments: in time order), as the alert engine counts a
    day in which the time between them is not judged. A unit with less time than the window has all its
    detections in one window (its rate is then taken over its own time: :func:`window_ranges`)."""
    times, offset = [], 0.0
    for r in sorted(rows, key=lambda r: r["recording"]):
        times.append(r["clock"][kind] + offset)
        offset += r[f"{kind}_s"]
    x = np.concatenate(times) if times else np.empty(0)
    if x.size == 0:
        return 0, offset
    counts = np.arange(1, x.size + 1) - np.searchsorted(x, x - window_s, "right")
    return int(counts.max()), offset


def window_ranges(rows: list[dict], window_s: float, trained: set[str] = frozenset()) -> dict:
    """Per placement and kind of time: the distribution over healthy units of each unit's highest rate over
    ``window_s`` of that time (what a frequency rule with that window computes over a recording), its
    percentiles, and how many subjects a percentile taken from the other subjects would warn (leave one
    subject out). A unit with less time than the window: its rate over all its time (the count over a whole
    window would take the rest of the window for time without detections; a rate over a shorter stretch
    spreads more, which errs towards a higher threshold)."""
    units: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["folder"] not in trained:
            units[(r["placement"], r["folder"] + ":" + r["unit"])].append(r)
    out: dict[str, dict] = {}
    for placement in sorted({p for p, _ in units}):
        mine = {k[1]: v for k, v in units.items() if k[0] == placement}
        entry: dict = {}
        for kind in WINDOW_KINDS:
            rates, subjects, full = [], [], 0
            for name, rs in sorted(mine.items()):
                n, secs = unit_window_max(rs, kind, window_s)
                if secs < MIN_UNIT_MIN * 60:
                    continue
                rates.append(n / (min(window_s, secs) / 3600.0))
                subjects.append(name.split("/")[0])
                full += secs >= window_s
            e: dict = {"n_units": len(rates), "units_with_a_full_window": int(full),
                       "subjects": len(set(subjects))}
            if rates:
                r = np.array(rates)
                e.update({f"p{q}": round(float(np.percentile(r, q)), 1) for q in PERCENTILES})
                e["max"] = round(float(r.max()), 1)
                e["held_out"] = leave_one_subject_out(r, np.array(subjects))
            entry[kind] = e
        out[placement] = entry
    return out


def leave_one_subject_out(rates: np.ndarray, subjects: np.ndarray) -> dict:
    """Per percentile: subjects whose highest unit rate is above that percentile of the other subjects' units
    (the rule warns where the rate is above it). ``None`` with fewer than 2 subjects: nothing to hold out."""
    names = np.unique(subjects)
    if names.size < 2:
        return {"subjects": int(names.size), "warned": None,
                "why_not": "one subject: the range is not held out from the recordings it is measured on"}
    warned = {}
    for q in PERCENTILES:
        warned[f"p{q}"] = int(sum(rates[subjects == s].max() > np.percentile(rates[subjects != s], q) for s in names))
    return {"subjects": int(names.size), "warned": warned}


def unit_rates(rows: list[dict]) -> dict[tuple[str, str], dict]:
    """Per (placement, unit): summed seconds and counts."""
    units: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        u = units[(r["placement"], r["folder"] + ":" + r["unit"])]
        u["thin"] = u.get("thin", False) or r["thin"]
        for k in ("judged", "rest", "light", "still"):
            u[f"{k}_s"] += r[f"{k}_s"]
            u[f"n_{k}"] += r[f"n_{k}"]
    return units


def ranges(rows: list[dict], trained: set[str] = frozenset()) -> tuple[dict, list[dict]]:
    """The range per placement (folders in ``trained`` left out), and a row per (placement, folder)."""
    by_folder = []
    for (placement, folder), fu in _group(unit_rates(rows), lambda k: (k[0], k[1].split(":")[0])).items():
        by_folder.append({"placement": placement, "folder": folder, "units": len(fu), "trained_on": folder in trained,
                          **{what: _percentiles(fu, what) for what in RATES},
                          "pooled": {what: _pooled(fu, what) for what in RATES}})
    units = unit_rates([r for r in rows if r["folder"] not in trained])
    out: dict[str, dict] = {}
    for placement in sorted({p for p, _ in units}):
        mine = {k: v for k, v in units.items() if k[0] == placement}
        entry: dict = {"folders": sorted({k[1].split(":")[0] for k in mine}),
                       "units": len(mine), "thin_units": int(sum(bool(v["thin"]) for v in mine.values()))}
        for what in RATES:
            entry[what] = _percentiles([v for v in mine.values()], what)
        entry["pooled"] = {what: _pooled(list(mine.values()), what) for what in RATES}
        enough = entry["judged"]["n_units"] >= MIN_UNITS
        entry["published"] = enough
        if not enough:
            entry["why_not"] = (f"{entry['judged']['n_units']} unit(s) with at least {MIN_UNIT_MIN:g} judged minutes "
                                f"(needs {MIN_UNITS})")
        subjects = {k[1].split("/")[0] for k in mine}
        entry["subjects"] = len(subjects)
        entry["thin"] = entry["thin_units"] > 0 or len(subjects) < MIN_UNITS
        out[placement] = entry
    return out, sorted(by_folder, key=lambda f: (f["folder"], f["placement"]))


def add_window_max(rng: dict, rows: list[dict], trained: set[str] = frozenset()) -> None:
    """Each placement's ``window_max``: per window length of :data:`WINDOW_MINUTES` ("10"), per kind of time,
    the healthy units' highest rates over that window (:func:`window_ranges`): what ``reference:p95`` of a
    frequency rule with that window compares with."""
    for minutes in WINDOW_MINUTES:
        for placement, entry in window_ranges(rows, minutes * 60.0, trained).items():
            if placement in rng:
                rng[placement].setdefault("window_max", {})[f"{minutes:g}"] = entry


def _group(units: dict, key) -> dict:
    out: dict = defaultdict(list)
    for k, v in sorted(units.items()):
        out[key(k)].append(v)
    return out


def _percentiles(units: list[dict], what: str) -> dict:
    ok = [u for u in units if u[f"{what}_s"] >= MIN_UNIT_MIN * 60]
    hours = sum(u[f"{what}_s"] for u in ok) / 3600
    if not ok:
        return {"n_units": 0, "hours": round(hours, 2)}
    r = np.array([u[f"n_{what}"] / (u[f"{what}_s"] / 3600) for u in ok])
    return {**{f"p{q}": round(float(np.percentile(r, q)), 1) for q in PERCENTILES},
            "n_units": len(ok), "hours": round(hours, 2)}


def _pooled(units: list[dict], what: str) -> dict:
    s = sum(u[f"{what}_s"] for u in units)
    n = int(sum(u[f"n_{what}"] for u in units))
    return {"per_hour": round(n / (s / 3600), 1) if s > 0 else None, "detections": n, "hours": round(s / 3600, 2)}


def provenance(folders: list[dict]) -> dict:
    from twitchsense.detection.model import default_model_path, load_model

    path = default_model_path()
    model = load_model(path)
    settings = dataclasses.asdict(model.config) if dataclasses.is_dataclass(model.config) else {}
    for extra in ("confirm", "confirmation"):  # a confirmation stage's settings, where the model carries them
        cfg = getattr(model, extra, None) or getattr(model.config, extra, None)
        if cfg is not None and dataclasses.is_dataclass(cfg):
            settings[extra] = dataclasses.asdict(cfg)
    return {"measured": datetime.date.today().isoformat(),
            "model_file": path.name, "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "detector_settings": settings, "folders": folders,
            "method": {"units": "subject; the one ActiGraph subject in groups of "
                                f"{ACTIGRAPH_GROUP} consecutive segments (thin)",
                       "min_unit_minutes": MIN_UNIT_MIN, "min_units": MIN_UNITS,
                       "percentiles": "numpy linear, over units",
                       "judged": "context rest or light",
                       "window_max": "per unit, its recordings joined on the judged (rest) clock in name order "
                                     "(a one-subject day's segments in time order): the highest count in any "
                                     "window of that many minutes, per hour; percentiles over units; a unit with "
                                     "less time than the window: its rate over all its time; held_out: subjects above the percentile of the other subjects' units",
                       "still": f"0.25 s blocks whose +-{STILL_AROUND_S:g} s are all under {STILL_G * 1000:g} mg "
                                "(activity level); a detection's own blocks left out",
                       "script": "python -m benchmarks.reference_range --write"}}


def _fmt(p: dict) -> str:
    if not p.get("n_units"):
        return f"- (0 units, {p.get('hours', 0):.2f} h)"
    return f"{p['p50']:.0f} / {p['p90']:.0f} / {p['p95']:.0f} ({p['n_units']}, {p['hours']:.2f} h)"


def markdown(doc: dict) -> str:
    lines = ["# Healthy reference range", "",
             "Detections per hour that the shipped detector makes on real recordings of people **without**",
             "twitches: what \"occasional twitching is normal\" means in numbers. Rates are per *judged* hour",
             "(the context is rest or light: the detector can tell) and per *still* hour (the wearer still for",
             f"{STILL_AROUND_S:g} s on either side: under {STILL_G * 1000:g} mg of movement). Each cell: p50 / p90 / p95 over",
             "units (number of units, hours). A unit is a subject; the one wrist subject's day is split into",
             "half-hour groups, so the wrist range shows the spread *within one person*, not between people.",
             f"A unit counts where it has at least {MIN_UNIT_MIN:g} minutes of the time its rate is measured on.",
             "",
             f"Measured {doc['measured']} with `{doc['model_file']}` (sha256 `{doc['model_sha256'][:12]}`), by",
             "`python -m benchmarks.reference_range --write`, which also writes the package's",
             "`twitchsense/data/reference_range.json` (the alert rules' `reference:p95`). Re-run it after any change",
             "to the detector or the model.",
             "",
             "| placement | units (subjects) | per judged h | at rest | in light activity | per still h | range published |",
             "|---|---|---|---|---|---|---|"]
    for name, e in doc["ranges"].items():
        pub = "yes" + (" (thin: " + ("one subject" if e["subjects"] == 1 else f"{e['subjects']} subjects") + ")"
                       if e["thin"] else "") if e["published"] else f"no: {e['why_not']}"
        lines.append(f"| {name} | {e['units']} ({e['subjects']}) | {_fmt(e['judged'])} | {_fmt(e['rest'])} | "
                     f"{_fmt(e['light'])} | {_fmt(e['still'])} | {pub} |")
    lines += window_markdown(doc)
    lines += ["", "By folder, and pooled (all detections over all hours):", "",
              "| folder | placement | units | per judged h | per still h | pooled: per judged h | pooled: per still h |",
              "|---|---|---|---|---|---|---|"]
    for f in doc["by_folder"]:
        pj, ps = f["pooled"]["judged"], f["pooled"]["still"]
        lines.append(f"| {f['folder']}{' (trained on)' if f['trained_on'] else ''} | {f['placement']} | {f['units']} | {_fmt(f['judged'])} | {_fmt(f['still'])} | "
                     f"{pj['per_hour'] if pj['per_hour'] is not None else '-'} ({pj['detections']} in {pj['hours']:.2f} h) | "
                     f"{ps['per_hour'] if ps['per_hour'] is not None else '-'} ({ps['detections']} in {ps['hours']:.2f} h) |")
    if doc.get("not_in_range"):
        lines += ["", "Folders marked *trained on* were training negatives of the shipped model: their figures are not",
                  "held out, so they are shown here but are in no range (" + ", ".join(doc["not_in_range"]) + ")."]
    lines += ["", "Folders: " + ", ".join(f"{f['folder']} ({f['recordings']} recordings, {f['hours']:.2f} h)"
                                          for f in doc["folders"]) + ".", "",
              "Read with care: with 15-30 subjects a 95th percentile is the second-highest subject or so; the wrist",
              "range rests on one person. Placements without a published range get none in the package: the",
              "alert rules then fall back to their fixed thresholds and say so.", ""]
    return "\n".join(lines)


def _fmt_window(w: dict) -> str:
    if not w.get("n_units"):
        return "- (0 units)"
    return (f"{w['p50']:.0f} / {w['p90']:.0f} / {w['p95']:.0f} / {w['max']:.0f} "
            f"({w['n_units']}; {w['units_with_a_full_window']} with a full window)")


def _fmt_held_out(w: dict) -> str:
    h = w.get("held_out") or {}
    if not h:
        return "-"
    if h.get("warned") is None:
        return "none: one subject"
    return ", ".join(f"{k} {v} of {h['subjects']}" for k, v in h["warned"].items())


def window_markdown(doc: dict) -> list[str]:
    """The table of each healthy unit's highest rate over a rule's window (``window_max``)."""
    lines = []
    for minutes in WINDOW_MINUTES:
        key = f"{minutes:g}"
        rows = [(name, e["window_max"][key]) for name, e in doc["ranges"].items() if key in e.get("window_max", {})]
        if not rows:
            continue
        lines += ["", f"### The highest rate over {key} minutes (what `frequent` compares with)", "",
                  f"A rule that warns when *any* {key} judged minutes of a day are above a threshold fires on most",
                  "healthy days if the threshold is the 95th percentile of whole-recording rates: a day's busiest",
                  f"{key} minutes lie above its average. So `reference:p95` of a frequency rule with a {key}-minute",
                  f"window compares with the range of each healthy unit's *highest* rate over {key} minutes of its",
                  "time (its recordings joined on that clock, as the alert engine counts a day; a unit with less",
                  "time than the window: its rate over all its time). Each cell: p50 / p90 /",
                  "p95 / highest, per hour (units; units with a full window). Held out: subjects whose highest",
                  "rate is above that percentile of the *other* subjects' units (leave one subject out).", "",
                  "| placement | per judged h | held out (judged) | per h at rest | held out (rest) |",
                  "|---|---|---|---|---|"]
        for name, w in rows:
            lines.append(f"| {name} | {_fmt_window(w['judged'])} | {_fmt_held_out(w['judged'])} | "
                         f"{_fmt_window(w['rest'])} | {_fmt_held_out(w['rest'])} |")
        lines += ["", "The wrist figures come from one person's day (its half-hour groups): they show the spread",
                  "within one day, are not held out from it, and that day's own busiest 10 minutes are the highest",
                  "unit. Most waist subjects have under 10 judged minutes: their figure is their rate over all of it, and",
                  "a whole day holds more windows than any unit measured here, so its busiest 10 minutes can lie",
                  "above the p95 of these units though the wearer is healthy."]
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA, help="the real folders (default ../shared/data)")
    ap.add_argument("--write", action="store_true", help="write the package data file and the docs table")
    ap.add_argument("--limit", type=int, default=0, help="at most this many recordings per folder (a quick look)")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"reference_range: {args.data}: no such folder (the real recordings)", file=sys.stderr)
        return 2
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        rows, folders = measure(args.data, args.limit)
    trained = trained_on()
    rng, by_folder = ranges(rows, trained)
    add_window_max(rng, rows, trained)
    doc = {"version": 1, **provenance(folders), "not_in_range": sorted(trained & {f["folder"] for f in folders}),
           "ranges": rng, "by_folder": by_folder}
    print(json.dumps(doc, indent=1) if args.json else markdown(doc))
    if args.write:
        if args.limit:
            print("reference_range: --write refuses a --limit run (a range from part of the data)", file=sys.stderr)
            return 2
        DATA_PATH.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        DOCS_PATH.write_text(markdown(doc), encoding="utf-8")
        print(f"wrote {DATA_PATH.relative_to(ROOT)} and {DOCS_PATH.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
