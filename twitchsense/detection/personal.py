"""Personal models: a base model's recipe retrained with the wearer's reviewed recordings.

- Labels: only the rows the review page wrote (``note=reviewed``) of ``NAME.events.csv`` count.
  ``label=twitch`` is a positive (of its ``kind``; without one, of the class the base model gives
  the window), any other reviewed label a *hard negative* (a detection the wearer rejected).
  "felt" markers and every other row are no labels here: a marker becomes one only once reviewed.
  A window of a reviewed recording whose centre lies on no reviewed candidate is left out: nobody
  looked at that time, and an unreviewed twitch must not be taught as background.
- Weights: every window of a reviewed candidate weighs :data:`REVIEWED_WEIGHT` times a recipe
  window of its class (on top of the recipe's class balance), so that a few dozen reviews move
  the trees against tens of thousands of recipe windows.
- Held-out figures, grouped by session: the wearer's reviewed sessions are split into ``k`` folds
  (:class:`~sklearn.model_selection.GroupKFold` by session), the recipe's groups into ``k`` folds
  as :func:`~twitchsense.detection.training.train` does; fold ``f``'s personal model is trained
  without both parts of fold ``f`` and measured on them. The base model is measured on the same
  held-out sessions. The threshold stays the base model's (chosen by its recipe, on none of the
  wearer's data), so nothing reported was chosen on what it is reported on.
- Scoring a reviewed session (:func:`reviewed_tally`): the contract's rule against the reviewed
  twitches; a detection overlapping a reviewed negative (and no reviewed twitch) is a false alarm;
  a detection on time nobody reviewed counts neither way. False alarms per hour are over the
  whole session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ..errors import TwitchsenseError
from ..io.recording import Recording
from .config import DetectorConfig
from .engine import detect_recording
from .features import WindowFeatures
from .model import TwitchModel, kind_probabilities
from .scoring import COLLAR_S, Tally, _overlaps, figures_markdown, score_events
from .training import (AMBIGUOUS_S, POS_PAD_S, LabelledWindows, _fit_pair, _proba_full, candidate_windows,
                       cross_validation_groups, describe_training_data, extract, replay_events, session_of)

#: each window of a reviewed candidate weighs this many recipe windows of its class
REVIEWED_WEIGHT = 20.0
#: fewer reviewed candidates, or fewer sessions with reviews, than these: too few to train on and to hold out
MIN_REVIEWS = 20
MIN_REVIEWED_SESSIONS = 3
#: the personal model is "worse" when its held-out F1 is lower than the base model's by more than this
#: (on held-out sessions without reviewed twitches: when it raises more false alarms than the base model)
F1_TOLERANCE = 0.02
REVIEWED = "reviewed"
CATEGORY = "reviewed"


def reviewed_labels(labels: pd.DataFrame | None) -> pd.DataFrame:
    """The review page's rows (``note=reviewed``) of a label table; "felt" markers and other rows dropped."""
    cols = ["onset", "duration", "label", "kind"]
    if labels is None or not len(labels) or "note" not in labels:
        return pd.DataFrame(columns=cols)
    rows = labels[labels["note"].astype(str).str.strip() == REVIEWED].copy()
    rows = rows[rows["label"].astype(str) != "felt"]
    rows["kind"] = rows["kind"].astype(object).fillna("").astype(str).str.strip() if "kind" in rows else ""
    return rows[cols].reset_index(drop=True)


def reviewed_recording(rec: Recording) -> Recording | None:
    """``rec`` with its reviewed rows as its only labels; None without reviews."""
    lab = reviewed_labels(rec.labels)
    if not len(lab):
        return None
    return Recording(t=rec.t, acc=rec.acc, meta=dict(rec.meta), labels=lab, gap_s=rec.gap_s, path=rec.path)


def check_reviews(recs: list[Recording]) -> None:
    """One line saying how many reviews are needed, when there are too few."""
    n = sum(len(r.labels) for r in recs)
    sessions = {session_of(r) for r in recs}
    if n < MIN_REVIEWS or len(sessions) < MIN_REVIEWED_SESSIONS:
        raise TwitchsenseError(
            f"{n} reviewed candidate{'s' if n != 1 else ''} in {len(sessions)} session{'s' if len(sessions) != 1 else ''}: "
            f"a personal model needs at least {MIN_REVIEWS} reviews in at least {MIN_REVIEWED_SESSIONS} sessions "
            "(review more in 'twitchsense serve --recordings DIR', then train again)")


def review_window_labels(lw: LabelledWindows, base: TwitchModel, classes: tuple[str, ...]) -> np.ndarray:
    """Class index (into ``classes``, the base model's) per window of a reviewed recording (0 a rejected
    candidate, -1 left out: unreviewed time and the edges of reviewed twitches)."""
    t, lab = lw.t, lw.rec.labels
    y = np.full(t.size, -1)
    is_tw = (lab["label"] == "twitch").to_numpy()
    on = lab["onset"].to_numpy(float)
    end = on + lab["duration"].to_numpy(float)
    for a, b in zip(on[~is_tw], end[~is_tw]):
        y[(t >= a - POS_PAD_S) & (t <= b + POS_PAD_S)] = 0
    guessed = np.zeros(t.size, bool)
    for a, b, kind in zip(on[is_tw], end[is_tw], lab["kind"].to_numpy(str)[is_tw]):
        y[(t >= a - AMBIGUOUS_S) & (t <= b + AMBIGUOUS_S)] = -1
        inside = (t >= a - POS_PAD_S) & (t <= b + POS_PAD_S)
        if kind in classes[1:]:
            y[inside] = classes.index(kind)
        else:
            guessed |= inside
    if guessed.any():  # a twitch without a class: the class the base model gives the window
        y[guessed] = 1 + kind_probabilities(base.kind_classifier, lw.X[guessed], len(classes) - 1).argmax(axis=1)
    return y


def reviewed_tally(rec: Recording, events: list) -> Tally:
    """Score ``events`` on a reviewed recording (see the module's docstring): detections on time
    nobody reviewed are dropped first; every reviewed twitch is required, whatever its strength."""
    lab = rec.labels
    on = lab["onset"].to_numpy(float)
    end = on + lab["duration"].to_numpy(float)
    d0 = np.array([e.onset for e in events], float)
    d1 = np.array([e.end for e in events], float)
    seen = _overlaps(d0 - COLLAR_S, d1 + COLLAR_S, on - COLLAR_S, end + COLLAR_S).any(axis=1) \
        if d0.size and on.size else np.zeros(d0.size, bool)
    twitches = lab[lab["label"] == "twitch"][["onset", "duration", "label"]]
    return score_events(twitches, [e for e, s in zip(events, seen) if s], rec.duration_s)


@dataclass
class PersonalReport:
    """Held-out figures on the wearer's reviewed sessions, for the base and the personal model."""

    base: dict
    personal: dict
    n_reviews: int
    n_reviewed_twitches: int
    n_sessions: int
    folds: int
    hours: float
    recipe_figures: dict = field(default_factory=dict)  # the personal model on the recipe's held-out groups
    seconds: dict = field(default_factory=dict)

    def worse(self, tolerance: float = F1_TOLERANCE) -> str | None:
        """Why the personal model is worse than the base on the held-out reviewed sessions, or None."""
        b, p = self.base, self.personal
        if self.n_reviewed_twitches and b["f1"] is not None:
            if (p["f1"] or 0.0) < b["f1"] - tolerance:
                return (f"F1 on your held-out reviewed sessions {p['f1'] or 0:.3f} < the shipped model's "
                        f"{b['f1']:.3f} (tolerance {tolerance:g})")
            return None
        if p["false_alarms"] > b["false_alarms"]:
            return (f"false alarms on your held-out reviewed sessions {p['false_alarms_per_hour']:.1f}/h > the "
                    f"shipped model's {b['false_alarms_per_hour']:.1f}/h (no reviewed twitches to compare F1 on)")
        return None

    def table(self) -> str:
        """The two models side by side, as text."""
        def row(name: str, f: dict) -> str:
            fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            return (f"{name:<10} {fmt(f['sensitivity']):>11} {fmt(f['precision']):>9} {fmt(f['f1']):>6} "
                    f"{f['false_alarms_per_hour'] if f['false_alarms_per_hour'] is not None else 0:>14.1f}")
        head = (f"held out by session ({self.folds} folds over your {self.n_sessions} reviewed sessions, "
                f"{self.hours:.2f} h, {self.n_reviews} reviews: {self.n_reviewed_twitches} twitches, "
                f"{self.n_reviews - self.n_reviewed_twitches} rejected)")
        return "\n".join([head, f"{'model':<10} {'sensitivity':>11} {'precision':>9} {'F1':>6} {'false alarms/h':>14}",
                          row("shipped", self.base), row("personal", self.personal)])


def train_personal(recipe: list[tuple[Recording, str]], reviewed: list[Recording], base: TwitchModel,
                   n_splits: int = 5, seed: int = 0, trees: int = 200, weight: float = REVIEWED_WEIGHT,
                   progress: bool = True, on_report=None) -> tuple[TwitchModel, PersonalReport]:
    """The base model's recipe (``(recording, category)`` pairs) retrained with ``reviewed`` recordings
    (from :func:`reviewed_recording`); returns the personal model and its held-out comparison.
    ``on_report(report)`` is called with the comparison before the final fit (it may raise to stop there)."""
    from tqdm import tqdm

    check_reviews(reviewed)
    features = WindowFeatures(**base.features.get_params())
    features.fit(np.zeros((1, 3 * features.row_samples)))
    config = DetectorConfig.from_dict(base.config.to_dict())
    classes = tuple(base.classes)
    times = {}
    t0 = time.perf_counter()
    sessions = sorted({session_of(r) for r in reviewed})
    k = min(n_splits, len(sessions))
    fold_of = {g: f for f, (_, test) in enumerate(GroupKFold(n_splits=k).split(sessions, groups=sessions))
               for g in np.asarray(sessions)[test]}
    grouped = []
    if recipe:
        grouped, _ = cross_validation_groups(recipe, k)
    rgroups = sorted({g for _, _, g in grouped})
    recipe_fold = {g: f for f, (_, test) in enumerate(GroupKFold(n_splits=k).split(rgroups, groups=rgroups))
                   for g in np.asarray(rgroups)[test]} if len(rgroups) >= k else {g: -1 for g in rgroups}
    data = extract(grouped, features, config, classes, progress)
    mine = []
    for r in reviewed:
        t, X, _, _ = candidate_windows(r, features, config).arrays()
        lw = LabelledWindows(r, session_of(r), CATEGORY, t, X if X.size else np.zeros((0, len(features._names()))),
                             np.zeros(0, int))
        lw.y = review_window_labels(lw, base, classes)
        mine.append(lw)
    times["features_s"] = round(time.perf_counter() - t0, 1)
    folds = np.array([recipe_fold[lw.group] for lw in data] + [fold_of[lw.group] for lw in mine], int)
    every = data + mine
    use = [lw.y >= 0 for lw in every]
    X = np.vstack([lw.X[u] for lw, u in zip(every, use)])
    y = np.concatenate([lw.y[u] for lw, u in zip(every, use)])
    win_fold = np.concatenate([np.full(int(u.sum()), f) for f, u in zip(folds, use)])
    is_mine = np.concatenate([np.full(int(u.sum()), i >= len(data)) for i, u in enumerate(use)])
    w = np.where(is_mine, weight, 1.0)  # on top of the class balance _fit gives every window
    if not (y > 0).any():
        raise TwitchsenseError("no twitch windows to learn from: the recipe gave none and no reviewed twitch lies "
                               "on a candidate window")
    n_classes = len(classes)
    t0 = time.perf_counter()
    tallies = {"base": Tally(), "personal": Tally()}
    recipe_tallies: dict[str, Tally] = {}
    for f in tqdm(range(k), desc="held out by session", unit="fold", disable=not progress, leave=False):
        keep = win_fold != f
        pair = _fit_pair(X[keep], y[keep], 1, seed, trees, w[keep])  # twitch or not: the class changes no figure
        for lw, g in zip(every, folds):
            if g != f:
                continue
            ev = replay_events(lw, _proba_full(pair, lw.X, n_classes), features, config, classes)
            if lw.category == CATEGORY:
                tallies["personal"] = tallies["personal"] + reviewed_tally(lw.rec, ev)
                tallies["base"] = tallies["base"] + reviewed_tally(lw.rec, detect_recording(lw.rec, base).events)
            else:
                recipe_tallies[lw.category] = recipe_tallies.get(lw.category, Tally()) + score_events(
                    lw.rec.labels, ev, lw.rec.duration_s)
    times["held_out_s"] = round(time.perf_counter() - t0, 1)
    n_tw = sum(int((r.labels["label"] == "twitch").sum()) for r in reviewed)
    report = PersonalReport(base=tallies["base"].figures(), personal=tallies["personal"].figures(),
                            n_reviews=sum(len(r.labels) for r in reviewed), n_reviewed_twitches=n_tw,
                            n_sessions=len(sessions), folds=k, hours=sum(r.duration_s for r in reviewed) / 3600,
                            recipe_figures={c: t.figures() for c, t in sorted(recipe_tallies.items())}, seconds=times)
    if on_report is not None:
        on_report(report)
    t0 = time.perf_counter()
    clf, kind_clf = _fit_pair(X, y, n_classes - 1, seed, trees, w)
    times["final_fit_s"] = round(time.perf_counter() - t0, 1)
    card = {k_: v for k_, v in base.card.items() if k_ in ("summary",)}
    card.update({
        "summary": "A personal twitchsense detector: the shipped model's recipe retrained with its wearer's "
                   "reviewed recordings (twitches they confirmed, detections they rejected).",
        "classifier": (f"as the base model's, weighted: the recipe's class balance, and each window of a reviewed "
                       f"candidate (a confirmed twitch or a rejected detection) weighs {weight:g} x a recipe window "
                       "of its class"),
        "reviewed_weight": weight,
        "cross_validation": (f"GroupKFold({k}) by session over the {len(sessions)} reviewed sessions (and over the "
                             "recipe's groups alongside); each fold's personal model trained without both, measured on "
                             "them; the threshold is the base model's"),
        "threshold": config.threshold,
        "windows": {"total": int(y.size), "twitch": int((y > 0).sum()), "reviewed": int(is_mine.sum()),
                    "reviewed_twitch": int(((y > 0) & is_mine).sum())},
        "held_out_reviewed": {"base": report.base, "personal": report.personal, "reviews": report.n_reviews,
                              "reviewed_twitches": n_tw, "sessions": len(sessions), "hours": round(report.hours, 3),
                              "f1_tolerance": F1_TOLERANCE},
        "held_out_figures": report.recipe_figures,
        "reviewed_md": report.table(),
        "figures_md": figures_markdown(report.recipe_figures) if report.recipe_figures else "",
        "training_data": describe_training_data(recipe) + [
            f"reviewed: {len(reviewed)} recordings, {report.hours:.2f} h, {n_tw} confirmed twitches, "
            f"{report.n_reviews - n_tw} rejected detections"],
        "seconds": times,
    })
    return TwitchModel(features, clf, classes, config, card, kind_classifier=kind_clf), report
