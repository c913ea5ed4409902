"""Training: candidate windows of labelled recordings -> grouped cross-validation -> threshold -> model.

- Windows are labelled from the recordings' label tables: a candidate window
  whose centre lies inside a twitch (+-``POS_PAD_S``) is a positive of the
  twitch's class; windows close to a twitch but not on it are left out
  (ambiguous); everything else is a negative (real movement is the hard part).
- Cross-validation is grouped by subject where the sidecar names one, else by
  session (recording), never by window (:class:`sklearn.model_selection.GroupKFold`).
- The operating threshold is chosen on the out-of-fold predictions: the best
  event-level F1 whose false alarms stay within a budget on the recordings
  without twitches (real movement) and at rest.
- The out-of-fold detections are replayed through the real engine, so the
  figures in the card are the detector's, on held-out groups only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from ..errors import TwitchsenseError
from ..io.recording import Recording, find_recordings, read_recording
from ..types import TwitchEvent
from .baseline import BandEnergyDetector
from .config import DetectorConfig
from .engine import BATCH_CHUNK, CandidateWindows, DetectionEngine
from .features import WindowFeatures
from .model import TwitchModel
from .scoring import EXPERIMENTAL_KINDS, Tally, score_events

POS_PAD_S = 0.05
AMBIGUOUS_S = 0.25
MIN_POSITIVE_G = 0.01


@dataclass
class LabelledWindows:
    """Candidate windows of one recording with their training labels."""

    rec: Recording
    group: str
    category: str
    t: np.ndarray
    X: np.ndarray
    y: np.ndarray          # class index (0 = none), -1 = left out
    fit_s: float = 0.0


def candidate_windows(rec: Recording, features: WindowFeatures, config: DetectorConfig) -> CandidateWindows:
    """Features of every candidate window of a recording (no model needed): the training input."""
    out = CandidateWindows()
    eng = DetectionEngine(features, config, rec.sample_rate_hz, collect=out)
    for i in range(0, rec.n_samples, BATCH_CHUNK):
        eng.push(rec.t[i:i + BATCH_CHUNK], rec.acc[i:i + BATCH_CHUNK])
    eng.flush()
    return out


def group_of(rec: Recording) -> str:
    """Cross-validation group: the subject when known, else the session/recording."""
    subj = rec.meta.get("subject")
    if subj:
        return f"subject:{subj}"
    return f"session:{rec.meta.get('session') or rec.name}"


def window_labels(t: np.ndarray, rec: Recording, classes: tuple[str, ...]) -> np.ndarray:
    """Class index per window centre (0 none, -1 left out) from the recording's labels."""
    y = np.zeros(t.size, dtype=int)
    lab = rec.labels
    if lab is None or not len(lab):
        return y
    tw = lab[lab["label"] == "twitch"]
    for _, row in tw.iterrows():
        on, end = float(row["onset"]), float(row["onset"]) + float(row["duration"])
        pk = float(row["peak_g"]) if "peak_g" in tw and np.isfinite(row["peak_g"]) else np.inf
        near = (t >= on - AMBIGUOUS_S) & (t <= end + AMBIGUOUS_S)
        inside = (t >= on - POS_PAD_S) & (t <= end + POS_PAD_S)
        y[near & (y == 0)] = -1
        if pk >= MIN_POSITIVE_G:
            kind = str(row["kind"]) if "kind" in tw and str(row.get("kind", "")) in classes else "twitch"
            ci = classes.index(kind) if kind in classes else (classes.index("twitch") if "twitch" in classes else 1)
            y[inside] = ci
    return y


def classes_for(recs: Iterable[Recording]) -> tuple[str, ...]:
    """``("none", kinds...)`` when the twitch labels carry classes, else ``("none", "twitch")``."""
    kinds: set[str] = set()
    all_have = True
    for r in recs:
        lab = r.labels
        if lab is None or not len(lab):
            continue
        tw = lab[lab["label"] == "twitch"]
        if not len(tw):
            continue
        if "kind" not in tw or (tw["kind"].astype(str).str.len() == 0).any():
            all_have = False
        else:
            kinds |= set(tw["kind"].astype(str))
    if all_have and kinds:
        return ("none", *sorted(kinds))
    return ("none", "twitch")


def extract(recs: list[tuple[Recording, str]], features: WindowFeatures, config: DetectorConfig,
            classes: tuple[str, ...], progress: bool = True) -> list[LabelledWindows]:
    """Candidate-window features and labels of every recording (with a progress bar)."""
    from tqdm import tqdm

    out = []
    for rec, category in tqdm(recs, desc="features", unit="rec", disable=not progress, leave=False):
        t0 = time.perf_counter()
        t, X, _, _ = candidate_windows(rec, features, config).arrays()
        if X.size == 0:
            X = np.zeros((0, len(features._names())))
        out.append(LabelledWindows(rec, group_of(rec), category, t, X, window_labels(t, rec, classes),
                                   time.perf_counter() - t0))
    return out


def make_classifier(seed: int = 0, trees: int = 200) -> HistGradientBoostingClassifier:
    """The default classifier: small gradient-boosted trees (fast, a few hundred kB)."""
    return HistGradientBoostingClassifier(max_iter=trees, learning_rate=0.08, max_leaf_nodes=24,
                                          min_samples_leaf=40, l2_regularization=1.0,
                                          early_stopping=False, random_state=seed)


def _fit(X: np.ndarray, y: np.ndarray, seed: int, trees: int = 200) -> HistGradientBoostingClassifier:
    """Fit with class-balanced weights (rare twitch windows count as much as the many others)."""
    from threadpoolctl import threadpool_limits

    clf = make_classifier(seed, trees)
    counts = np.bincount(y, minlength=y.max() + 1).astype(float)
    w = (len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1)))[y]
    with threadpool_limits(1):  # one core: predictable on a shared machine, no thread oversubscription
        return clf.fit(X, y, sample_weight=w)


def _fit_pair(X: np.ndarray, y: np.ndarray, n_kinds: int, seed: int, trees: int):
    """The twitch/no-twitch model and, with several classes, the class model on twitch windows."""
    clf = _fit(X, (y > 0).astype(int), seed, trees)
    kind = None
    pos = y > 0
    if n_kinds > 1 and len(np.unique(y[pos])) > 1:
        kind = _fit(X[pos], y[pos] - 1, seed, max(20, trees // 4))
    return clf, kind


def _proba_full(pair, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``(m, n_classes)``: column 0 no twitch, the others twitch x class probability."""
    from threadpoolctl import threadpool_limits

    from .model import kind_probabilities

    clf, kind = pair
    P = np.zeros((X.shape[0], n_classes))
    if X.shape[0]:
        with threadpool_limits(1):
            p = clf.predict_proba(X)[:, 1]
            P[:, 0] = 1.0 - p
            P[:, 1:] = p[:, None] * kind_probabilities(kind, X, n_classes - 1)
    return P


class _ReplayScorer:
    """Feeds precomputed (out-of-fold) probabilities to the engine, in candidate order."""

    def __init__(self, P: np.ndarray) -> None:
        self.P = P
        self.i = 0

    def __call__(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        P = self.P[self.i:self.i + F.shape[0]]
        self.i += F.shape[0]
        cp = P[:, 1:]
        return 1.0 - P[:, 0], cp / np.maximum(cp.sum(axis=1, keepdims=True), 1e-12)


def replay_events(lw: LabelledWindows, P: np.ndarray, features: WindowFeatures, config: DetectorConfig,
                  classes: tuple[str, ...]) -> list[TwitchEvent]:
    """Exact detector events of a recording from precomputed window probabilities."""
    kinds = () if tuple(classes[1:]) == ("twitch",) else tuple(classes[1:])
    eng = DetectionEngine(features, config, lw.rec.sample_rate_hz, scorer=_ReplayScorer(P), kinds=kinds)
    rec = lw.rec
    ev = eng.push(rec.t, rec.acc)
    return ev + eng.flush()


def _quick_events(t: np.ndarray, p: np.ndarray, config: DetectorConfig, window_s: float) -> list[TwitchEvent]:
    """Approximate events from window probabilities (threshold search only: spans from window centres)."""
    keep = p >= config.threshold
    tk, pk = t[keep], p[keep]
    if tk.size == 0:
        return []
    splits = np.flatnonzero(np.diff(tk) > config.merge_s + config.step_s * 1.5) + 1
    out = []
    for a, b in zip(np.concatenate([[0], splits]), np.concatenate([splits, [tk.size]])):
        out.append(TwitchEvent(onset=tk[a] - window_s / 4, duration=tk[b - 1] - tk[a] + window_s / 2,
                               peak_g=0.0, confidence=float(pk[a:b].max())))
    return out


@dataclass
class TrainingReport:
    """Out-of-fold figures per category, for the model and the baseline."""

    threshold: float
    by_category: dict = field(default_factory=dict)      # category -> figures
    core_by_category: dict = field(default_factory=dict)  # the same with EXPERIMENTAL_KINDS optional
    baseline_by_category: dict = field(default_factory=dict)
    baseline_core_by_category: dict = field(default_factory=dict)
    threshold_search: list = field(default_factory=list)
    n_windows: int = 0
    n_positive_windows: int = 0
    n_groups: int = 0
    seconds: dict = field(default_factory=dict)


def choose_threshold(data: list[LabelledWindows], oof: list[np.ndarray], config: DetectorConfig,
                     window_s: float, fa_budget_real: float, fa_budget_rest: float) -> tuple[float, list]:
    """Best OOF F1 whose false alarms stay within the budgets (recordings without twitches; rest)."""
    grid = np.round(np.r_[np.arange(0.30, 0.981, 0.02), 0.985, 0.99, 0.995], 3)
    rows = []
    for thr in grid:
        cfg = DetectorConfig(**{**config.to_dict(), "threshold": float(thr)})
        pos, neg = Tally(), Tally()
        for lw, P in zip(data, oof):
            ev = _quick_events(lw.t, 1.0 - P[:, 0], cfg, window_s) if P.size else []
            tally = score_events(lw.rec.labels, ev, lw.rec.duration_s)
            if tally.n_true + tally.n_optional:
                pos = pos + tally
            else:
                neg = neg + tally
        rows.append({"threshold": float(thr), "f1": pos.f1, "fa_rest_per_h": pos.fa_per_hour("rest"),
                     "real_detections_per_h": neg.detections_per_hour()})
    ok = [r for r in rows if (np.isnan(r["real_detections_per_h"]) or r["real_detections_per_h"] <= fa_budget_real)
          and (np.isnan(r["fa_rest_per_h"]) or r["fa_rest_per_h"] <= fa_budget_rest)]
    pick = max(ok, key=lambda r: (np.nan_to_num(r["f1"]), -r["threshold"])) if ok else \
        min(rows, key=lambda r: (np.nan_to_num(r["real_detections_per_h"]) + np.nan_to_num(r["fa_rest_per_h"]),
                                 -r["threshold"]))
    return pick["threshold"], rows


def train(recs: list[tuple[Recording, str]], features: WindowFeatures | None = None,
          config: DetectorConfig | None = None, n_splits: int = 5, seed: int = 0,
          fa_budget_real: float = 3.0, fa_budget_rest: float = 1.5, progress: bool = True,
          evaluate_baseline: bool = True, trees: int = 200) -> tuple[TwitchModel, TrainingReport]:
    """Train a detector on ``(recording, category)`` pairs; returns the model and its OOF report."""
    from tqdm import tqdm

    features = features or WindowFeatures()
    config = config or DetectorConfig()
    if not recs:
        raise TwitchsenseError("no recordings to train on")
    features.fit(np.zeros((1, 3 * features.row_samples)))
    classes = classes_for(r for r, _ in recs)
    times = {}
    t0 = time.perf_counter()
    data = extract(recs, features, config, classes, progress)
    times["features_s"] = round(time.perf_counter() - t0, 1)
    use = [(lw.y >= 0) for lw in data]
    X = np.vstack([lw.X[u] for lw, u in zip(data, use)])
    y = np.concatenate([lw.y[u] for lw, u in zip(data, use)])
    groups = np.concatenate([np.full(int(u.sum()), lw.group) for lw, u in zip(data, use)])
    if (y > 0).sum() < 5 or (y == 0).sum() < 5:
        raise TwitchsenseError(f"too few labelled windows to train on ({int((y > 0).sum())} twitch, "
                               f"{int((y == 0).sum())} other): the data needs 'twitch' labels and background")
    n_groups = len(set(groups))
    k = min(n_splits, n_groups)
    if k < 2:
        raise TwitchsenseError("cross-validation needs recordings from at least 2 subjects/sessions")
    # out-of-fold probabilities for every candidate window (ambiguous ones included)
    rec_groups = np.array([lw.group for lw in data])
    uniq = np.unique(rec_groups)
    fold_of_group = {}
    for fold, (_, test) in enumerate(GroupKFold(n_splits=k).split(uniq, groups=uniq)):
        for g in uniq[test]:
            fold_of_group[g] = fold
    oof = [np.zeros((lw.X.shape[0], len(classes))) for lw in data]
    t0 = time.perf_counter()
    for fold in tqdm(range(k), desc="cross-validation", unit="fold", disable=not progress, leave=False):
        train_mask = np.array([fold_of_group[g] != fold for g in groups])
        pair = _fit_pair(X[train_mask], y[train_mask], len(classes) - 1, seed, trees)
        for lw, P in zip(data, oof):
            if fold_of_group[lw.group] == fold and lw.X.shape[0]:
                P[:] = _proba_full(pair, lw.X, len(classes))
    times["cv_s"] = round(time.perf_counter() - t0, 1)
    thr, search = choose_threshold(data, oof, config, features.window_s, fa_budget_real, fa_budget_rest)
    config = DetectorConfig(**{**config.to_dict(), "threshold": thr})
    # exact out-of-fold detections through the real engine, and the baseline on the same recordings
    t0 = time.perf_counter()
    report = TrainingReport(threshold=thr, threshold_search=search, n_windows=int(y.size),
                            n_positive_windows=int((y > 0).sum()), n_groups=n_groups)
    # (model or baseline, every class or EXPERIMENTAL_KINDS optional) -> category -> tally
    tallies: dict[tuple[str, bool], dict[str, Tally]] = {}
    base = BandEnergyDetector()
    for lw, P in tqdm(list(zip(data, oof)), desc="held-out scoring", unit="rec", disable=not progress, leave=False):
        found = {"model": replay_events(lw, P, features, config, classes)}
        if evaluate_baseline:
            found["baseline"] = base.detect(lw.rec)
        for who, ev in found.items():
            for core in (False, True):
                per = tallies.setdefault((who, core), {})
                per[lw.category] = per.get(lw.category, Tally()) + score_events(
                    lw.rec.labels, ev, lw.rec.duration_s, optional_kinds=EXPERIMENTAL_KINDS if core else ())

    def figures(who: str, core: bool) -> dict:
        return {c: t.figures() for c, t in sorted(tallies.get((who, core), {}).items())}
    report.by_category, report.core_by_category = figures("model", False), figures("model", True)
    report.baseline_by_category, report.baseline_core_by_category = figures("baseline", False), figures("baseline", True)
    times["scoring_s"] = round(time.perf_counter() - t0, 1)
    t0 = time.perf_counter()
    clf, kind_clf = _fit_pair(X, y, len(classes) - 1, seed, trees)
    times["final_fit_s"] = round(time.perf_counter() - t0, 1)
    report.seconds = times
    model = TwitchModel(features, clf, classes, config, card={
        "classifier": "twitch/no-twitch and class models: " + f"HistGradientBoostingClassifier({', '.join(f'{k}={v}' for k, v in sorted(clf.get_params().items()) if k in ('max_iter', 'learning_rate', 'max_leaf_nodes', 'min_samples_leaf', 'l2_regularization'))}), class-balanced weights",
        "cross_validation": f"GroupKFold({k}) over {n_groups} groups (subject where known, else session)",
        "windows": {"total": int(y.size), "twitch": int((y > 0).sum())},
        "threshold": thr,
        "threshold_rule": f"best out-of-fold F1 with <= {fa_budget_real:g} detections/h on recordings without "
                          f"twitches and <= {fa_budget_rest:g} false alarms/h at rest",
        "held_out_figures": report.by_category,
        "held_out_figures_fasciculations_optional": report.core_by_category,
        "baseline_held_out_figures": report.baseline_by_category,
        "baseline_held_out_figures_fasciculations_optional": report.baseline_core_by_category,
        "seconds": times,
    }, kind_classifier=kind_clf)
    return model, report


def describe_training_data(recs) -> list[str]:
    """One line per category of ``(recording, category)`` pairs: recordings, hours, twitch labels."""
    from collections import defaultdict

    agg: dict[str, list] = defaultdict(lambda: [0, 0.0, 0])
    for r, cat in recs:
        a = agg[cat]
        a[0] += 1
        a[1] += r.duration_s / 3600.0
        lab = r.labels
        a[2] += int((lab["label"] == "twitch").sum()) if lab is not None and len(lab) else 0
    return [f"{cat}: {n} recordings, {h:.2f} h, {k} twitch labels" for cat, (n, h, k) in sorted(agg.items())]


def simulated_sessions(n: int, minutes: float, rates: list[float], seed: int) -> list:
    """``n`` simulated sessions of every profile, cycling through ``rates`` (seeded), as
    ``(recording, "sim:PROFILE")`` pairs."""
    from ..simulate import PROFILES, simulate_session

    out = []
    for pi, prof in enumerate(PROFILES):
        for i in range(n):
            s = seed * 100_000 + pi * 1000 + i
            rec = simulate_session(prof, minutes, s, rate_hz=rates[(pi + i) % len(rates)])
            rec.meta.setdefault("session", f"sim-{prof}-{s}")
            rec.meta["subject"] = f"sim-{prof}-{s}"
            out.append((rec, f"sim:{prof}"))
    return out


def injected_recordings(folder: Path, rate_per_min: float, seed: int, copies: int = 1) -> list:
    """Real recordings of ``folder`` with simulated twitches added where the wearer is still, as
    ``(recording, "injected:FOLDER")`` pairs (``copies`` of each, each with its own seed)."""
    from ..simulate import inject_twitches

    out = []
    for i, p in enumerate(find_recordings([folder])):
        base = read_recording(p)
        for c in range(copies):
            rec = inject_twitches(base, seed * 1_000_000 + c * 10_000 + i, rate_per_min=rate_per_min)
            if (rec.labels["label"] == "twitch").any():  # nothing still: nothing to add
                rec.meta["session"] = f"{base.name}-injected{c}"
                out.append((rec, f"injected:{p.parent.name}"))
    return out
