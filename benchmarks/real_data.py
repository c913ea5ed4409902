"""The shipped detector next to the band-energy baseline on every real folder of ``../shared/data``.

Per folder, for the model and the baseline: hours, judged hours (the engine's context: rest or
light), detections per hour and per judged hour, per-subject detections per hour (min / median /
max), alerts at ``warning`` or above (the shipped rules, per recording); and, where twitches can be
added where the wearer is still (every 0.25 s activity block within 2 s on either side under 30 mg,
:func:`twitchsense.simulate.inject.still_around`), the simulator's twitches added there on the
recording's own sensor grid (:func:`twitchsense.simulate.inject_twitches`), scored with the
contract's rule (events >= 0.02 g): sensitivity and precision, fasciculations separately.

Held out. The dev/eval-only folders and the Parkinson wrist are never trained on: held out by
construction. The shipped model was trained on ``real-wrist``, ``real-pocket`` and ``real-other``;
there each recording is measured with the outer cross-validation fold's model that never saw its
subject (``twitchsense train --folds-out DIR``; the group is training's own, ``group_of``), at that
fold's threshold. Without the fold models those rows say "not held out".

The detection path is the engine as it is (``detect_recording``, ``recording_alerts``), so the figures
follow any change to it: re-run after changing the engine.

    python -m benchmarks.real_data [--model PATH] [--folds DIR] [--folder NAME ...] [--seeds 2]

Writes ``benchmarks/real_data.json`` and ``benchmarks/real_data.md`` (``--out`` to move them);
``python -m benchmarks.figures`` puts the table into the README and the model card.
Deterministic (seeded injection, seeded models).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import warnings
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.window_set import SHARED_DATA

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: folder -> what it is to the shipped model
FOLDERS = {
    "real-wrist": "training",
    "real-pocket": "training",
    "real-other": "training",
    "real-waist-hapt": "development and evaluation only",
    "real-waist-sisfall": "development and evaluation only",
    "real-wrist-actigraph": "development and evaluation only",
    "real-parkinson-wrist": "never trained on (unlabelled; may hold real myoclonus)",
}
TRAINING = tuple(f for f, role in FOLDERS.items() if role == "training")
DEFAULT_FOLDS = ROOT / "models" / "default.folds"
#: injected twitches per still minute, at least this far apart (s): each keeps 2 s of still time either side
INJECT_RATE = 6.0
INJECT_GAP_S = 4.5
STILL_AROUND_S = 2.0
STILL_G = 0.03
WARNING_LEVELS = ("warning", "alert")
HELD_BY_SUBJECT = "by subject (outer-fold models)"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Models:
    """The shipped model, and the outer folds' models of its training (when given), by held-out group."""

    def __init__(self, model_path: Path, folds: Path | None) -> None:
        from twitchsense.detection.model import load_model

        self.path = model_path
        self.model = load_model(model_path)
        self.by_group: dict[str, tuple[object, str]] = {}
        self.folds = folds if folds and folds.is_dir() and any(folds.glob("fold*.skops")) else None
        if self.folds:
            for p in sorted(self.folds.glob("fold*.skops")):
                m = load_model(p)
                for g in m.card.get("held_out_groups", []):
                    self.by_group[g] = (m, p.stem)

    def for_recording(self, rec, folder: str) -> tuple[object, str]:
        """The model to measure ``rec`` with and how it is held out."""
        from twitchsense.detection.training import group_of

        if folder not in TRAINING:
            return self.model, "by construction"
        hit = self.by_group.get(group_of(rec))
        return hit if hit else (self.model, "not held out")


def _in_spans(onsets: np.ndarray, spans: np.ndarray) -> np.ndarray:
    if not len(spans) or not onsets.size:
        return np.zeros(onsets.size, dtype=bool)
    i = np.searchsorted(spans[:, 0], onsets, side="right") - 1
    ok = i >= 0
    out = np.zeros(onsets.size, dtype=bool)
    out[ok] = onsets[ok] < spans[i[ok], 1]
    return out


def measure_recording(rec, model, seeds: int) -> dict:
    """Everything measured on one recording, for the model and the baseline."""
    from twitchsense.alerts import recording_alerts
    from twitchsense.detection.baseline import BandEnergyDetector
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.judged import judged_spans
    from twitchsense.detection.scoring import EXPERIMENTAL_KINDS, Tally, score_events
    from twitchsense.simulate.inject import inject_twitches, still_around

    res = detect_recording(rec, model)
    spans = judged_spans(res.context)
    base = BandEnergyDetector()
    found = {"model": res.events, "baseline": base.detect(rec)}
    out: dict = {"hours": rec.duration_s / 3600.0, "judged_hours": float(np.sum(spans[:, 1] - spans[:, 0])) / 3600.0}
    for who, events in found.items():
        onsets = np.array([e.onset for e in events], float)
        warn = [a.rule for a in recording_alerts(events, rec) if a.level in WARNING_LEVELS]
        out[who] = {"detections": len(events), "judged_detections": int(_in_spans(onsets, spans).sum()),
                    "warnings": warn, "all": Tally(), "core": Tally()}
    still = still_around(rec, STILL_AROUND_S, STILL_G)
    out["still_hours"] = float(still.sum()) / max(rec.sample_rate_hz, 1e-9) / 3600.0
    if still.any():
        for s in range(seeds):
            inj = inject_twitches(rec, zlib.crc32(rec.name.encode()) + 7919 * s, rate_per_min=INJECT_RATE,
                                  where=still, min_gap_s=INJECT_GAP_S)
            if not inj.info.get("injected"):
                continue
            events = {"model": detect_recording(inj, model).events, "baseline": base.detect(inj)}
            for who, ev in events.items():
                out[who]["all"] += score_events(inj.labels, ev, inj.duration_s)
                out[who]["core"] += score_events(inj.labels, ev, inj.duration_s, optional_kinds=EXPERIMENTAL_KINDS)
    return out


def _rate(n: float, hours: float) -> float | None:
    return round(n / hours, 2) if hours > 0 else None


def summarise(folder: str, per_rec: list[tuple[str, dict]], held: set[str]) -> dict:
    """A folder's figures from its recordings' (subject, measures)."""
    from twitchsense.detection.scoring import Tally

    hours = sum(m["hours"] for _, m in per_rec)
    judged = sum(m["judged_hours"] for _, m in per_rec)
    out = {"folder": folder, "role": FOLDERS[folder], "held_out": ", ".join(sorted(held)),
           "recordings": len(per_rec), "subjects": len({s for s, _ in per_rec}), "hours": round(hours, 3),
           "judged_hours": round(judged, 3), "still_hours": round(sum(m["still_hours"] for _, m in per_rec), 3)}
    for who in ("model", "baseline"):
        n = sum(m[who]["detections"] for _, m in per_rec)
        nj = sum(m[who]["judged_detections"] for _, m in per_rec)
        subj: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for s, m in per_rec:
            subj[s][0] += m[who]["detections"]
            subj[s][1] += m["hours"]
        rates = [c / h for c, h in subj.values() if h > 0]
        rules: dict[str, int] = defaultdict(int)
        for _, m in per_rec:
            for r in m[who]["warnings"]:
                rules[r] += 1
        tally = sum((m[who]["all"] for _, m in per_rec), Tally())
        core = sum((m[who]["core"] for _, m in per_rec), Tally())
        fasc = tally.by_class.get("fasciculation", [0, 0])
        f = tally.figures()
        c = core.figures()
        out[who] = {
            "detections": n, "per_h": _rate(n, hours), "per_judged_h": _rate(nj, judged),
            "subject_per_h": [round(float(x), 2) for x in (np.min(rates), np.median(rates), np.max(rates))]
            if rates else None,
            "warnings": int(sum(rules.values())), "warning_rules": dict(sorted(rules.items())),
            "injected": {"twitches": f["true_twitches"], "found": tally.n_found, "sensitivity": f["sensitivity"],
                         "precision": f["precision"], "false_alarms": tally.fa_rest + tally.fa_activity,
                         "fasciculations": fasc[1], "fasciculation_sensitivity": fasc[0] / fasc[1] if fasc[1] else None,
                         "core_twitches": c["true_twitches"], "core_sensitivity": c["sensitivity"],
                         "core_precision": c["precision"]} if f["true_twitches"] else None,
        }
    return out


def run(model_path: Path, folds: Path | None, folders: list[str], seeds: int, progress: bool = True) -> dict:
    from tqdm import tqdm

    from twitchsense.detection.training import group_of
    from twitchsense.errors import RecordingWarning
    from twitchsense.io.recording import find_recordings, read_recording

    models = Models(model_path, folds)
    paths = [(f, p) for f in folders if (SHARED_DATA / f).is_dir() for p in find_recordings([SHARED_DATA / f])]
    per_folder: dict[str, list] = defaultdict(list)
    held: dict[str, set] = defaultdict(set)
    for folder, p in tqdm(paths, desc="real folders", unit="rec", disable=not progress):
        with warnings.catch_warnings():  # a sidecar's rate off its time stamps: the reader's warning, not ours
            warnings.simplefilter("ignore", RecordingWarning)
            rec = read_recording(p)
        model, how = models.for_recording(rec, folder)
        held[folder].add(HELD_BY_SUBJECT if how.startswith("fold") else how)
        per_folder[folder].append((group_of(rec).split(":", 1)[1], measure_recording(rec, model, seeds)))
    rows = [summarise(f, per_folder[f], held[f]) for f in folders if per_folder[f]]
    missing = [f for f in folders if not per_folder[f]]
    return {"generated_by": "python -m benchmarks.real_data", "commit": _commit(),
            "model": str(model_path.relative_to(ROOT) if model_path.is_relative_to(ROOT) else model_path),
            "model_sha256": _sha(model_path), "threshold": models.model.config.threshold,
            "folds": str(models.folds.relative_to(ROOT)) if models.folds and models.folds.is_relative_to(ROOT)
            else (str(models.folds) if models.folds else None),
            "settings": {"inject_per_still_min": INJECT_RATE, "inject_min_gap_s": INJECT_GAP_S, "seeds": seeds,
                         "still": f"every 0.25 s block within {STILL_AROUND_S:g} s either side under "
                                  f"{STILL_G * 1000:g} mg", "floor_g": 0.02},
            "missing": missing, "folders": rows}


# --------------------------------------------------------------------------- tables
def _f(x, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def _subjects(d: dict) -> str:
    s = d.get("subject_per_h")
    return "-" if not s else f"{s[0]:.0f} / {s[1]:.0f} / {s[2]:.0f}"


def _injected(d: dict) -> str:
    i = d.get("injected")
    if not i:
        return "-"
    fasc = (f"; fasc. {_f(i['fasciculation_sensitivity'])} ({i['fasciculations']})"
            if i["fasciculations"] else "")
    return f"{_f(i['sensitivity'])} / {_f(i['precision'])} ({i['twitches']}){fasc}"


def short_table(doc: dict) -> str:
    """The README's and the card's table: one row per folder, model next to baseline."""
    from benchmarks.report import markdown_table

    rows = []
    for r in doc["folders"]:
        m, b = r["model"], r["baseline"]
        held = "never trained on" if r["role"] != "training" else \
            "training folder, held out by subject" if r["held_out"] == HELD_BY_SUBJECT else "training folder, **not held out**"
        rows.append({
            "folder": f"{r['folder']} ({held})", "h": f"{r['hours']:.2f} ({r['judged_hours']:.2f})",
            "det": f"{_f(m['per_h'], 1)} ({_f(m['per_judged_h'], 1)}) vs {_f(b['per_h'], 0)} ({_f(b['per_judged_h'], 0)})",
            "subj": f"{_subjects(m)} vs {_subjects(b)}",
            "warn": f"{m['warnings']} vs {b['warnings']}",
            "inj": f"{_injected(m)} vs {_injected(b)}" if m.get("injected") else "no still stretch of 2 s either side",
        })
    cols = [("folder", "real folder"), ("h", "hours (judged)"), ("det", "detections/h (per judged h): model vs baseline"),
            ("subj", "per subject /h min / median / max"), ("warn", "warnings or alerts"),
            ("inj", "twitches added where still: sensitivity / precision (n)")]
    head = (f"`{doc['generated_by']}` at commit {doc['commit']}, model {doc['model']} (sha256 {doc['model_sha256']}, "
            f"threshold {doc['threshold']:g}); the band-energy baseline beside it. Twitches added at "
            f"{doc['settings']['inject_per_still_min']:g} per still minute ({doc['settings']['still']}), "
            f"{doc['settings']['seeds']} seeds, on the sensor's own grid; events >= 0.02 g.")
    return head + "\n\n" + markdown_table(cols, rows) + "\n"


def full_table(doc: dict) -> str:
    """Every figure, one row per folder and detector (benchmarks/real_data.md)."""
    from benchmarks.report import markdown_table

    rows = []
    for r in doc["folders"]:
        for who in ("model", "baseline"):
            d = r[who]
            i = d.get("injected") or {}
            rows.append({"folder": r["folder"], "role": r["role"], "held": r["held_out"], "who": who,
                         "n": f"{r['recordings']} / {r['subjects']}", "h": f"{r['hours']:.2f}",
                         "jh": f"{r['judged_hours']:.2f}", "sh": f"{r['still_hours']:.2f}",
                         "det": d["detections"], "ph": _f(d["per_h"], 1), "pjh": _f(d["per_judged_h"], 1),
                         "subj": _subjects(d),
                         "warn": ", ".join(f"{k} {v}" for k, v in d["warning_rules"].items()) or "0",
                         "inj": i.get("twitches", "-"), "sens": _f(i.get("sensitivity")),
                         "prec": _f(i.get("precision")), "fasc": (f"{_f(i.get('fasciculation_sensitivity'))} "
                                                                 f"({i.get('fasciculations')})") if i else "-",
                         "core": f"{_f(i.get('core_sensitivity'))} / {_f(i.get('core_precision'))}" if i else "-"})
    cols = [("folder", "folder"), ("role", "role"), ("held", "held out"), ("who", "detector"),
            ("n", "recordings / subjects"), ("h", "h"), ("jh", "judged h"), ("sh", "still h"),
            ("det", "detections"), ("ph", "/h"), ("pjh", "/judged h"), ("subj", "per subject /h min/med/max"),
            ("warn", "warning+ alerts (rule n)"), ("inj", "added twitches >= 0.02 g"), ("sens", "sensitivity"),
            ("prec", "precision"), ("fasc", "fasciculation sensitivity (n)"),
            ("core", "without fasciculations: sens. / prec.")]
    return short_table(doc).split("\n\n")[0] + "\n\n" + markdown_table(cols, rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    from twitchsense.detection.model import default_model_path

    ap = argparse.ArgumentParser(prog="python -m benchmarks.real_data", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    ap.add_argument("--folds", type=Path, default=DEFAULT_FOLDS,
                    help="the model's outer-fold models (train --folds-out; default models/default.folds)")
    ap.add_argument("--folder", action="append", choices=list(FOLDERS), help="only these folders (repeatable)")
    ap.add_argument("--seeds", type=int, default=2, help="injection seeds per recording (default 2)")
    ap.add_argument("--out", type=Path, default=HERE / "real_data.json", help="JSON to write (the .md beside it)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    if not SHARED_DATA.is_dir():
        print(f"{SHARED_DATA}: not found (the developers' real data; see docs/data.md)", file=sys.stderr)
        return 1
    model = args.model or default_model_path()
    doc = run(Path(model).resolve(), args.folds, args.folder or list(FOLDERS), args.seeds, not args.no_progress)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(full_table(doc), encoding="utf-8")
    print(short_table(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
