"""``detect``, ``train`` and ``evaluate``: the twitch detector."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TwitchsenseError
from .alerting import history_days, say_replaced
from .batch import Batch, add_fail_fast
from .common import add_command, reuse_freed_memory

if TYPE_CHECKING:
    from ..io.recording import Recording


#: the command that made the shipped model (also in its card and docs/data.md)
SHIPPED_TRAINING_COMMAND = (
    "twitchsense train recordings/demo ../shared/data/real-other ../shared/data/real-pocket "
    "../shared/data/real-wrist --simulate 12 --sim-minutes 8 --inject ../shared/data/real-other "
    "--inject ../shared/data/real-pocket --inject ../shared/data/real-wrist --inject-copies 6 --inject-rate 30 "
    "--threshold-on raised --seed 0 -o twitchsense/data/default.skops --folds-out models/default.folds")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "detect", "find twitch events in recordings (writes NAME.detected.csv, NAME.alerts.csv)",
        "twitchsense detect recordings/demo -o out/\n"
        "twitchsense detect session.csv -o out/ --model models/mine.skops\n"
        "twitchsense detect nights/ -o out/ --db history.sqlite   # a folder of nights becomes a history",
        description="Find twitch events in recordings. Per recording writes OUTDIR/NAME.detected.csv "
                    "(onset,duration,label,peak_g,confidence,kind,context), NAME.alerts.csv "
                    "(start,end,level,rule,detail), both with a last column 'time' (clock time) when the "
                    "start time is known, and NAME.context.csv (start,end,state,level_g: 'active' stretches "
                    "are where the detector cannot tell), and prints the judged time (rest or light "
                    "activity, with data). Any rate 25-1000 Hz. A bad file is reported and skipped; the "
                    "exit code is 1 at the end.")
    p.add_argument("paths", nargs="+", type=Path, help="recordings (NAME.csv) or folders of recordings")
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument("--model", type=Path, help="model file (default: the model shipped in the package)")
    p.add_argument("--rules", type=Path, help="alert rules TOML file (default: the shipped rules)")
    p.add_argument("--db", type=Path, metavar="FILE",
                   help="also store each recording (its events, alert changes and judged time) in this "
                        "history database, as 'replay --db' does: a recording stored before (the same "
                        "content) is replaced, and the days rules count the days the history holds")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-recording summary lines")
    p.add_argument("--retracted", action="store_true",
                   help="also write NAME.retracted.csv: events the confirmation stage retracted, with the reason "
                        "(impact, movement-follows, not-at-rest, train); NAME.detected.csv has confirmed events only")
    add_fail_fast(p)
    p.set_defaults(func=run_detect)

    p = add_command(
        sub, "train", "train a detector from labelled recordings",
        "twitchsense train recordings/demo ../shared/data/real-wrist -o models/mine.skops\n"
        "twitchsense train recordings/demo ../shared/data/real-wrist ../shared/data/real-pocket "
        "--simulate 3 --inject ../shared/data/real-wrist --inject ../shared/data/real-pocket "
        "-o models/mine.skops\n"
        "twitchsense train --base default my-recordings/ -o models/mine.skops   # a personal model from your reviews\n"
        "# the shipped model (docs/data.md; the real folders are the developers', one --inject per folder):\n"
        f"{SHIPPED_TRAINING_COMMAND}",
        description="Train a detector (window features + gradient-boosted trees) from labelled recordings, "
                    "with nested cross-validation grouped by subject (by session for one person's recordings; "
                    "a single session split in time), the threshold chosen inside each fold on out-of-fold "
                    "predictions, and a model card of held-out figures beside the skops file. With --base, a "
                    "personal model: the base model's recipe (from its card) retrained with the reviews of "
                    "the recordings given (the review page's rows of NAME.events.csv), compared with the base "
                    "model on your held-out reviewed sessions, and written only when not worse there.")
    p.add_argument("paths", nargs="+", type=Path,
                   help="labelled recordings or folders (label 'twitch' = positive); with --base, your reviewed ones")
    p.add_argument("-o", "--output", type=Path, required=True, help="model file to write (NAME.skops)")
    p.add_argument("--base", metavar="MODEL",
                   help="'default' (the shipped model) or a model file: retrain its recipe with your reviews")
    p.add_argument("--force", action="store_true",
                   help="with --base: write the personal model even when it is worse on your held-out sessions")
    p.add_argument("--base-simulated-only", action="store_true",
                   help="with --base: only the recipe's simulated part (quicker; the recipe's folders are left out)")
    p.add_argument("--simulate", type=int, default=None, metavar="N",
                   help="add N simulated sessions of every simulator profile (seeded; with --base: instead of "
                        "the recipe's N)")
    p.add_argument("--sim-minutes", type=float, default=None,
                   help="minutes per simulated session (default 6; with --base: the recipe's)")
    p.add_argument("--rates", default="50,100,200", help="sample rates of simulated sessions, Hz (default 50,100,200)")
    p.add_argument("--inject", type=Path, action="append", default=[], metavar="DIR",
                   help="real recordings to add simulated twitches to where the wearer is still "
                        "(as extra training data; repeatable)")
    p.add_argument("--inject-rate", type=float, default=20.0, help="injected twitches per still minute (default 20)")
    p.add_argument("--inject-copies", type=int, default=1,
                   help="injected copies of each real recording, each with its own seed (default 1)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (grouped, nested: at least 3; default 5)")
    p.add_argument("--fa-budget", type=float, default=3.0,
                   help="max detections per hour on recordings without twitches when choosing the threshold")
    p.add_argument("--threshold-on", choices=("confirmed", "raised"), default="confirmed",
                   help="events the threshold's F1 and budgets count: 'confirmed' (what the detector reports; the "
                        "confirmation checks are kept unless your data show clearly that one costs you twitches) or "
                        "'raised' (every event raised, confirmed or not: the confirmation never lowers the threshold, "
                        "every check kept; the shipped model's, whose few hours of real negatives cannot vouch for "
                        "a lower threshold on other people)")
    p.add_argument("--seed", type=int, default=0, help="seed for simulation, injection and the model")
    p.add_argument("--trees", type=int, default=200, help="boosting iterations of the classifier (default 200)")
    p.add_argument("--folds-out", type=Path, metavar="DIR",
                   help="also write the outer folds' models (DIR/foldN.skops, each card naming the groups it "
                        "held out): held-out-by-subject figures measured later (python -m benchmarks.real_data)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run_train)

    p = add_command(
        sub, "evaluate", "score a detector on labelled recordings (event-level F1, false alarms/h)",
        "twitchsense evaluate recordings/demo --model twitchsense/data/default.skops\n"
        "twitchsense evaluate ../shared/data/real-wrist --json\n"
        "twitchsense evaluate recordings/demo --optional-kind fasciculation",
        description="Score a detector on labelled recordings with the contract's rule (any-overlap "
                    "after widening by 0.1 s; twitches under 0.02 g optional), next to the band-energy "
                    "baseline.")
    p.add_argument("paths", nargs="+", type=Path, help="labelled recordings or folders")
    p.add_argument("--model", type=Path, help="model file (default: the shipped model)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--no-baseline", action="store_true", help="skip the baseline")
    p.add_argument("--by-folder", action="store_true", help="also give figures per folder")
    p.add_argument("--optional-kind", action="append", default=[], metavar="KIND",
                   help="count twitches of this class as optional, like those under 0.02 g (repeatable; "
                        "e.g. fasciculation, for figures of the other classes alone)")
    add_fail_fast(p)
    p.set_defaults(func=run_evaluate)


def _model(path: Path | None):
    from ..detection.model import default_model_path, load_model

    return load_model(path or default_model_path())


def readable(path: Path, labels: bool = True) -> "Recording":
    """A recording the detector can take: read, and its rate checked (both errors name the file)."""
    from ..detection.preprocess import check_rate
    from ..io.recording import read_recording

    rec = read_recording(path, labels=labels)
    check_rate(rec.sample_rate_hz, where=str(path))
    return rec


def store_in_history(db: Path, path: Path, rec, events: list, changes: list, judged_s: float) -> None:
    """A finished recording into the history, as a replay into it stores it (the one history sink)."""
    from ..history import fingerprint
    from ..live.sinks.history import HistorySink
    sink = HistorySink(db, rec.meta, name=rec.name, source=str(path), fingerprint=fingerprint(path),
                       judged=lambda: judged_s)
    try:
        sink.note_span(float(rec.t[0]), float(rec.t[-1]))
        sink.on_events(list(events))
        sink.on_alerts(changes)
        sink.flush()
    finally:
        sink.close()
    say_replaced([sink], sys.stdout)


def run_detect(args: argparse.Namespace) -> int:
    from ..alerts import recording_alerts
    from ..alerts.rulefile import load_rules
    from ..detection.engine import detect_recording
    from ..detection.judged import judged_seconds
    from ..io.outputs import write_alerts, write_context, write_detections, write_retracted
    from ..io.recording import ALERTS_SUFFIX, CONTEXT_SUFFIX, DETECTED_SUFFIX, RETRACTED_SUFFIX, companion_path
    from ..io.sessionclock import SessionClock

    reuse_freed_memory()
    model = _model(args.model)
    rules = load_rules(args.rules)
    batch = Batch("detect", args.fail_fast)
    paths = batch.recordings(args.paths)
    if not paths and not batch.failures:
        raise TwitchsenseError(f"no recordings found in {', '.join(map(str, args.paths))}")
    names: dict[str, Path] = {}
    for p in paths:
        stem = p.name[:-4] if p.name.endswith(".csv") else p.name
        if stem in names:
            raise TwitchsenseError(f"{p}: same name as {names[stem]}; outputs would overwrite each other "
                                   "(run them into different folders)")
        names[stem] = p
    args.output.mkdir(parents=True, exist_ok=True)

    def detect(p: Path) -> None:
        rec = readable(p, labels=False)
        res = detect_recording(rec, model)
        clock = SessionClock(rec.meta.get("start_time"))
        changes: list = []
        known = history_days(args.db, rules) if args.db is not None else None
        alerts = recording_alerts(res.events, rec, rules, res.context, known_days=known, changes=changes)
        # everything computed before anything is written: a Ctrl-C leaves no new detections beside old alerts
        write_detections(companion_path(args.output, rec.name, DETECTED_SUFFIX), res.events, clock)
        write_alerts(companion_path(args.output, rec.name, ALERTS_SUFFIX), alerts, clock)
        write_context(companion_path(args.output, rec.name, CONTEXT_SUFFIX), res.context)
        if args.db is not None and rec.n_samples:
            store_in_history(args.db, p, rec, res.events, changes, judged_seconds(res.context))
        if args.retracted:
            write_retracted(companion_path(args.output, rec.name, RETRACTED_SUFFIX), res.retracted, clock)
        if not args.quiet:
            flags: dict[str, int] = {}
            for f in res.quality:
                flags[f.flag] = flags.get(f.flag, 0) + 1
            extra = "".join(f", {n} {k} stretch{'es' if n > 1 else ''}" for k, n in flags.items())
            gaps = rec.gaps
            gap_s = float((gaps[:, 1] - gaps[:, 0]).sum())
            judged = judged_seconds(res.context)
            n = len(res.events)
            print(f"{rec.name}: {n} twitch{'es' if n != 1 else ''} ({len(res.retracted)} more retracted on "
                  f"confirmation) in {res.duration_s / 60:.1f} min at "
                  f"{rec.sample_rate_hz:g} Hz; judged {judged / 60:.1f} min"
                  + (f" ({n / (judged / 60):.2f} per judged minute)" if judged > 0 else "")
                  + f"; cannot tell (active) {res.cannot_tell_s():.0f} s, gaps {gap_s:.0f} s{extra}")

    for p in paths:
        batch.run(p, detect)
    return batch.exit_code()


def run_train(args: argparse.Namespace) -> int:
    from ..detection.model import save_model
    from ..detection.scoring import figures_markdown
    from ..detection.training import describe_training_data, injected_recordings, simulated_sessions, train
    from ..io.recording import find_recordings, read_recording

    if not args.output.name.endswith(".skops"):
        raise TwitchsenseError(f"{args.output}: the model file name must end in .skops")
    if args.base:
        from .personal import run_personal
        return run_personal(args, register)
    recs = []
    for p in find_recordings(args.paths):
        recs.append((read_recording(p), p.parent.name))
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if args.simulate:
        recs += simulated_sessions(args.simulate, args.sim_minutes or 6.0, rates, args.seed)
    for d in args.inject:
        recs += injected_recordings(d, args.inject_rate, args.seed, args.inject_copies)
    if not args.no_progress:
        print(f"training on {len(recs)} recordings ...", file=sys.stderr)
    model, report = train(recs, n_splits=args.folds, seed=args.seed, fa_budget_real=args.fa_budget,
                          progress=not args.no_progress, trees=args.trees, threshold_on=args.threshold_on)
    model.card["training_command"] = "twitchsense train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if Path(sys.argv[0]).name in ("twitchsense", "__main__.py") else ""
    model.card["training_data"] = describe_training_data(recs)
    model.card["figures_md"] = figures_markdown(report.by_category, report.baseline_by_category)
    model.card["figures_core_md"] = figures_markdown(report.core_by_category, report.baseline_core_by_category)
    save_model(model, args.output)
    if args.folds_out:
        for i, fold in enumerate(report.fold_models):
            save_model(fold, args.folds_out / f"fold{i + 1}.skops")
    print(model.card["figures_md"])
    print(f"threshold {report.threshold:.2f}; model written to {args.output}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from ..detection.baseline import BandEnergyDetector
    from ..detection.engine import detect_recording
    from ..detection.scoring import Tally, format_table, score_events

    model = _model(args.model)
    batch = Batch("evaluate", args.fail_fast)
    paths = batch.recordings(args.paths)
    if not paths and not batch.failures:
        raise TwitchsenseError(f"no recordings found in {', '.join(map(str, args.paths))}")
    from ..web.markers import add_agreement, describe_agreement, split_markers
    base = None if args.no_baseline else BandEnergyDetector()
    names = ["model", "model_judged"] + ([] if base is None else ["baseline"])
    markers: dict = {}
    total = {n: Tally() for n in names}
    per_folder: dict[str, dict[str, Tally]] = {}

    def score(p: Path) -> None:
        nonlocal markers
        rec = readable(p)
        rec.labels, felt = split_markers(rec.labels)  # "felt one" markers are no labels: checked apart
        res = detect_recording(rec, model)
        markers = add_agreement(markers, felt, res.events)
        active = [(c.start, c.end) for c in res.context if c.state == "active"]
        opt = args.optional_kind
        scores = {"model": score_events(rec.labels, res.events, rec.duration_s, optional_kinds=opt),
                  "model_judged": score_events(rec.labels, res.events, rec.duration_s, exclude=active,
                                               optional_kinds=opt)}
        if base is not None:
            scores["baseline"] = score_events(rec.labels, base.detect(rec), rec.duration_s, optional_kinds=opt)
        folder = per_folder.setdefault(p.parent.name, {n: Tally() for n in names})
        for n, t in scores.items():
            total[n] = total[n] + t
            folder[n] = folder[n] + t

    for p in paths:
        batch.run(p, score)
    if not batch.done:
        return batch.exit_code()
    if args.json:
        out = {"recordings": batch.done, "optional_kinds": args.optional_kind,
               **{n: total[n].figures() for n in names}, "markers": markers or None}
        if args.by_folder:
            out["by_folder"] = {k: {n: v[n].figures() for n in names} for k, v in per_folder.items()}
        print(json.dumps(out, indent=1))
        return batch.exit_code()
    print(f"{batch.done} recordings; model: {args.model or 'shipped default'}; "
          f"baseline: {BandEnergyDetector.name if base else 'skipped'}"
          + (f"; optional classes: {', '.join(args.optional_kind)}" if args.optional_kind else ""))
    title = {"model": "model", "model_judged": "model (judged)", "baseline": "baseline"}
    print(format_table({title[n]: total[n].figures() for n in names}))
    print("model (judged): leaving out the 'cannot tell' (active) time, where the detector does not judge")
    if markers:
        print(describe_agreement(markers) + " (in the recordings with markers)")
    if args.by_folder:
        for k, v in per_folder.items():
            print(f"\n{k}")
            print(format_table({title[n]: v[n].figures() for n in names}))
    return batch.exit_code()
