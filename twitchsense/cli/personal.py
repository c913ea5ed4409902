"""``train --base MODEL``: a personal model, the base model's recipe retrained with the wearer's reviews."""

from __future__ import annotations

import argparse
import contextlib
import io
import shlex
import sys
import warnings
from pathlib import Path

from ..errors import TwitchsenseError, TwitchsenseWarning


def recipe_of(card: dict, where: str, register) -> argparse.Namespace:
    """The base model's training command (from its card), parsed by ``train``'s own parser (``register``:
    the function adding ``train`` to a parser's sub-commands)."""
    cmd = card.get("recipe_command") or card.get("training_command") or ""  # a personal base: its own base's
    parser = argparse.ArgumentParser(add_help=False)
    register(parser.add_subparsers(dest="command"))
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            ns = parser.parse_args(shlex.split(cmd)[1:])
    except (SystemExit, ValueError):
        ns = None
    if ns is None or ns.command != "train" or ns.base:
        raise TwitchsenseError(f"{where}: its card records no training command to retrain ('{cmd[:60]}')")
    return ns


def _find(folder: Path) -> Path | None:
    """A recipe folder as the card names it: as given, else from the source checkout the package runs from."""
    if folder.is_absolute():
        return folder if folder.is_dir() else None
    root = Path(__file__).resolve().parents[2]
    return next((p.resolve() for p in (Path.cwd() / folder, root / folder) if p.is_dir()), None)


def recipe_recordings(recipe: argparse.Namespace, args: argparse.Namespace) -> tuple[list, list[str]]:
    """The recipe's ``(recording, category)`` pairs, and lines for the card saying what was used."""
    from ..detection.training import injected_recordings, simulated_sessions
    from ..io.recording import find_recordings, read_recording

    n = args.simulate if args.simulate is not None else (recipe.simulate or 0)
    minutes = args.sim_minutes if args.sim_minutes is not None else (recipe.sim_minutes or 6.0)
    rates = [float(r) for r in recipe.rates.split(",") if r.strip()]
    folders = [] if args.base_simulated_only else list(dict.fromkeys(recipe.paths))
    injects = [] if args.base_simulated_only else list(dict.fromkeys(recipe.inject))
    found = {p: _find(p) for p in folders + injects}
    missing = [str(p) for p, q in found.items() if q is None]
    sim = f"the simulator ({n} sessions of {minutes:g} min of every profile, seed {recipe.seed})"
    if missing:
        warnings.warn(f"the recipe's folders {', '.join(missing)} are not on this machine: training on the rest of it, "
                      f"{sim}", TwitchsenseWarning, stacklevel=2)
    recs = []
    for p in find_recordings([found[p] for p in folders if found[p] is not None]):
        recs.append((read_recording(p), p.parent.name))
    if n:
        recs += simulated_sessions(n, minutes, rates, recipe.seed)
    for p in injects:
        if found[p] is not None:
            recs += injected_recordings(found[p], recipe.inject_rate, recipe.seed, recipe.inject_copies)
    used = [f"{sim}"] + [f"{p}" for p in folders if found[p] is not None] + \
        [f"{p} with injected twitches" for p in injects if found[p] is not None]
    notes = [f"recipe used: {'; '.join(used)}"]
    if args.base_simulated_only:
        notes.append("the recipe's folders left out (--base-simulated-only)")
    elif missing:
        notes.append(f"not on the machine that trained it, left out: {', '.join(missing)}")
    return recs, notes


def run_personal(args: argparse.Namespace, register) -> int:
    """``train --base``; ``register`` adds ``train`` to a parser (to read the base model's recipe)."""
    from ..detection.model import default_model_path, load_model, save_model
    from ..detection.personal import check_reviews, reviewed_recording, train_personal
    from ..detection.preprocess import check_rate
    from ..io.recording import find_recordings, read_recording

    base_path = default_model_path() if args.base == "default" else Path(args.base)
    base = load_model(base_path)
    recipe = recipe_of(base.card, str(base_path), register)
    paths = find_recordings(args.paths)
    if not paths:
        raise TwitchsenseError(f"no recordings found in {', '.join(map(str, args.paths))}")
    reviewed = []
    for p in paths:
        rec = read_recording(p)
        check_rate(rec.sample_rate_hz, where=str(p))
        if (r := reviewed_recording(rec)) is not None:
            reviewed.append(r)
    check_reviews(reviewed)  # before the recipe's minutes of work
    recs, notes = recipe_recordings(recipe, args)
    if not args.no_progress:
        print(f"training on {len(recs)} recordings of the recipe and {len(reviewed)} reviewed ...", file=sys.stderr)

    def judge(report) -> None:
        print(report.table(), flush=True)
        worse = report.worse()
        if worse and not args.force:
            raise TwitchsenseError(f"personal model not written: {worse}; --force writes it anyway")
        if worse:
            warnings.warn(f"written although worse (--force): {worse}", TwitchsenseWarning, stacklevel=2)

    model, _ = train_personal(recs, reviewed, base, n_splits=args.folds, seed=recipe.seed, trees=args.trees,
                              progress=not args.no_progress, on_report=judge)
    model.card["base_model"] = f"{args.base} ({base_path.name})"
    model.card["recipe_command"] = base.card.get("training_command", "")
    model.card["training_data"] = notes + model.card["training_data"]
    model.card["training_command"] = "twitchsense train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if Path(sys.argv[0]).name in ("twitchsense", "__main__.py") else ""
    save_model(model, args.output)
    print(f"threshold {model.config.threshold:.2f} (the base model's); model written to {args.output}")
    return 0
