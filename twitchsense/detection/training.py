"""Training: candidate windows of labelled recordings -> nested grouped cross-validation -> model.

- Windows are labelled from the recordings' label tables: a candidate window
  whose centre lies inside a twitch (+-``POS_PAD_S``) is a positive of the
  twitch's class; windows close to a twitch but not on it are left out
  (ambiguous); everything else is a negative (real movement is the hard part).
- Cross-validation is grouped, never by window (:class:`sklearn.model_selection.GroupKFold`):
  by subject where there are at least :data:`MIN_GROUPS` (a recording whose sidecar names
  none is its own), else by session (one person's own recordings), else each recording is
  split in time into parts with :data:`SPLIT_GAP_S` left out between them (:func:`split_in_time`).
- Nested: the operating threshold of each outer fold is chosen on the other folds alone (their
  inner out-of-fold predictions: the best F1 of the detector's own confirmed events whose false
  alarms stay within a budget on the recordings without twitches and at rest), and so are the
  confirmation checks it keeps (all, unless one clearly costs: :func:`choose_threshold`); the
  fold's held-out figures are then measured with them, on data that chose nothing. The shipped threshold is chosen the same way on
  the outer out-of-fold predictions of all the data.
- The held-out detections are replayed through the real engine, so the figures in the card are
  the detector's.

A problem with the data that the user can act on is a one-line error (TwitchsenseError); what
training works around is a one-line warning (:class:`~twitchsense.errors.TwitchsenseWarning`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

from ..errors import TwitchsenseError, TwitchsenseWarning
from ..io.recording import Recording, find_recordings, read_recording
from ..types import TwitchEvent, confirmed_only
from .baseline import BandEnergyDetector
from .config import CONFIRM_CHECKS, DetectorConfig
from .confirmation import Confirmer
from .engine import BATCH_CHUNK, CandidateWindows, DetectionEngine
from .features import WindowFeatures
from .model import TwitchModel
from .preprocess import sensor_step_g
from .scoring import EXPERIMENTAL_KINDS, EventMatch, Tally, score_events

POS_PAD_S = 0.05
AMBIGUOUS_S = 0.25
MIN_POSITIVE_G = 0.01
#: nested cross-validation needs groups to test on, to choose the threshold on and to train on
MIN_GROUPS = 3
#: left out between the parts of a recording split in time: more than a window's row (2.9 s) and the
#: context's median (2.25 s), so nothing of one part is seen from the next
SPLIT_GAP_S = 10.0
#: the shortest part of a recording split in time
MIN_PART_S = 30.0
#: fewer twitch labels than this: a warning (none at all: an error)
FEW_TWITCHES = 30
#: the thresholds searched (the search replays each recording once, at the lowest)
THRESHOLD_GRID = np.round(np.r_[np.arange(0.30, 0.981, 0.02), 0.985, 0.99, 0.995], 3)
#: a confirmation check is dropped only when the out-of-fold evidence shows it costs clearly: without it
#: the F1 is higher within the false-alarm budgets, and of the events it alone retracts, the true twitches
#: outnumber the false alarms so far that a fair coin would do so less than once in a hundred (one-sided
#: sign test). A coin is the cautious side: at F1 0.85 a twitch kept gains F1 1.35 x what a false alarm
#: costs, so a check retracting as many twitches as false alarms already costs F1, and is still kept.
CHECK_DROP_P = 0.01


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
    eng = DetectionEngine(features, config, rec.sample_rate_hz, collect=out, placement=rec.meta.get("placement"))
    for i in range(0, rec.n_samples, BATCH_CHUNK):
        eng.push(rec.t[i:i + BATCH_CHUNK], rec.acc[i:i + BATCH_CHUNK])
    eng.flush()
    return out


def group_of(rec: Recording) -> str:
    """Cross-validation group by subject: the subject when known, else the session/recording."""
    subj = rec.meta.get("subject")
    if subj:
        return f"subject:{subj}"
    return session_of(rec)


def session_of(rec: Recording) -> str:
    """Cross-validation group by session: the sidecar's session, else the recording."""
    return f"session:{rec.meta.get('session') or rec.name}"


def split_in_time(rec: Recording, parts: int, gap_s: float = SPLIT_GAP_S) -> list[Recording]:
    """``parts`` recordings of equal length cut from ``rec``, ``gap_s`` of it left out between each two.
    Labels are cut with them (a label across a cut keeps its part inside the part)."""
    t0, t1 = float(rec.t[0]), float(rec.t[-1])
    length = (t1 - t0 - (parts - 1) * gap_s) / parts
    out = []
    for i in range(parts):
        a = t0 + i * (length + gap_s)
        b = t1 + 1e-9 if i == parts - 1 else a + length
        keep = (rec.t >= a) & (rec.t < b)
        lab = rec.labels
        if lab is not None and len(lab):
            end = lab["onset"] + lab["duration"]
            lab = lab[(end > a) & (lab["onset"] < b)].copy()
            on = lab["onset"].clip(lower=a)
            lab["duration"] = (lab["onset"] + lab["duration"]).clip(upper=b) - on
            lab["onset"] = on
            lab = lab.reset_index(drop=True)
        meta = {**rec.meta, "session": f"{session_of(rec)[len('session:'):]} part {i + 1} of {parts}"}
        out.append(Recording(t=rec.t[keep], acc=rec.acc[keep], meta=meta, labels=lab, gap_s=rec.gap_s,
                             path=rec.path.with_name(f"{rec.name}.part{i + 1}.csv") if rec.path else None))
    return out


def cross_validation_groups(recs: list[tuple[Recording, str]], n_splits: int) -> tuple[list, str]:
    """``(recording, category, group)`` triples for nested cross-validation, and how they are grouped.

    By subject when there are at least :data:`MIN_GROUPS` (a recording without one is its own);
    else by session (one person training on their own recordings); else every recording is split in
    time into parts (:func:`split_in_time`), one group each.
    """
    by_subject = [group_of(r) for r, _ in recs]
    n = len(set(by_subject))
    if n >= MIN_GROUPS:
        n_subjects = len({g for g in by_subject if g.startswith("subject:")})
        what = (f"{n} subjects" if n_subjects == n else
                f"{n} groups (the subject where the sidecar names one, else the session)")
        return [(r, c, g) for (r, c), g in zip(recs, by_subject)], what
    by_session = [session_of(r) for r, _ in recs]
    n = len(set(by_session))
    who = "one subject" if len(set(by_subject)) == 1 else f"{len(set(by_subject))} subjects"
    if n >= MIN_GROUPS:
        return [(r, c, g) for (r, c), g in zip(recs, by_session)], f"{n} sessions ({who})"
    # too few sessions to hold one out: split each recording in time
    parts = max(2, math.ceil(max(n_splits, MIN_GROUPS) / len(recs)))
    out = []
    for r, c in recs:
        fit = int((r.duration_s + SPLIT_GAP_S) // (MIN_PART_S + SPLIT_GAP_S))
        for i, part in enumerate(split_in_time(r, min(parts, fit)) if fit >= 2 else [r]):
            out.append((part, c, f"{session_of(r)}:part{i + 1}"))
    if len(out) < MIN_GROUPS:
        total = sum(r.duration_s for r, _ in recs) / 60
        raise TwitchsenseError(
            f"{len(recs)} recording{'s' if len(recs) > 1 else ''} of {total:.1f} min in all: too little to hold "
            f"some out; training needs {MIN_GROUPS} sessions, or recordings long enough to split in "
            f"{MIN_GROUPS} parts of {MIN_PART_S:g} s with {SPLIT_GAP_S:g} s between them (record longer, or add "
            "recordings or --simulate N)")
    n_recs = f"{len(recs)} session{'s' if len(recs) > 1 else ''}"
    return out, (f"{len(out)} parts of {n_recs} ({who}) split in time, {SPLIT_GAP_S:g} s left out between "
                 f"parts (fewer than {MIN_GROUPS} sessions)")


def twitch_shaped_unlabelled(rec: Recording) -> list[tuple[float, float]]:
    """``(onset, duration)`` of the unlabelled transients a simulated recording's sidecar says have a
    twitch's own shape (``simulation.twitch_shaped_unlabelled``: still-limb jolts, onset flicks;
    :func:`twitchsense.simulate.labels.twitch_shaped_spans`); none for other recordings."""
    sim = rec.meta.get("simulation")
    spans = sim.get("twitch_shaped_unlabelled") if isinstance(sim, dict) else None
    return [(float(s[0]), float(s[1])) for s in spans or ()]


def window_labels(t: np.ndarray, rec: Recording, classes: tuple[str, ...]) -> np.ndarray:
    """Class index per window centre (0 none, -1 left out) from the recording's labels.

    Left out: windows near a twitch but not on it, and windows near a transient the simulator
    made with a twitch's shape but did not label (:func:`twitch_shaped_unlabelled`): a detector
    cannot, and must not, learn to reject a twitch's shape; what tells those apart is the context
    after them (a movement that follows) or how often they come (the healthy reference range).
    """
    y = np.zeros(t.size, dtype=int)
    for on, dur in twitch_shaped_unlabelled(rec):
        y[(t >= on - AMBIGUOUS_S) & (t <= on + dur + AMBIGUOUS_S)] = -1
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
            kind = str(row["kind"]).strip() if "kind" in tw else "twitch"
            y[inside] = classes.index(kind if kind in classes else "twitch")
    return y


def _twitch_labels(rec: Recording) -> pd.DataFrame:
    lab = rec.labels
    if lab is None or not len(lab):
        return pd.DataFrame(columns=["onset", "duration", "label"])
    return lab[lab["label"] == "twitch"]


def classes_for(recs: Iterable[Recording]) -> tuple[str, ...]:
    """``("none", kinds...)`` when every twitch label carries a class, else ``("none", "twitch")``
    (with a warning when only some do: the classes collapse to ``twitch``)."""
    kinds: set[str] = set()
    with_kind = without_kind = 0
    for r in recs:
        tw = _twitch_labels(r)
        if not len(tw):
            continue
        if "kind" not in tw or (tw["kind"].astype(str).str.strip().str.len() == 0).any():
            without_kind += 1
        else:
            with_kind += 1
            kinds |= set(tw["kind"].astype(str).str.strip())
    if without_kind and with_kind:
        warnings.warn(f"{without_kind} of {with_kind + without_kind} recordings with twitches have twitch labels "
                      "without a 'kind': the classes collapse to 'twitch' (give every twitch label a kind to "
                      "train classes)", TwitchsenseWarning, stacklevel=2)
    if not without_kind and kinds:
        return ("none", *sorted(kinds))
    return ("none", "twitch")


def check_training_data(recs: list[tuple[Recording, str]], model_rate_hz: float) -> None:
    """Refuse data without twitch labels or at a rate the detector does not take, and warn about what
    training works around: labels that look meant as twitches but are not ``twitch`` (they count as
    negatives), few twitches, mixed sample rates. Each message one line."""
    from .preprocess import check_rate

    near: Counter = Counter()
    n_twitches = 0
    rates = set()
    for r, _ in recs:
        check_rate(r.sample_rate_hz, where=str(r.path or r.name))
        rates.add(round(r.sample_rate_hz))
        tw = _twitch_labels(r)
        peak = tw["peak_g"].to_numpy(float) if "peak_g" in tw else np.full(len(tw), np.nan)
        n_twitches += int((np.isnan(peak) | (peak >= MIN_POSITIVE_G)).sum())
        lab = r.labels
        if lab is not None and len(lab):
            other = lab["label"].astype(str)
            other = other[(other != "twitch") & other.str.strip().str.lower().str.startswith("twitch")]
            near.update(other)
    if near:
        listed = ", ".join(f"'{k}' ({n})" for k, n in near.most_common())
        warnings.warn(f"labels {listed} are not 'twitch' and count as negatives, like any other label; "
                      "rename them 'twitch' if they mark twitches", TwitchsenseWarning, stacklevel=2)
    if n_twitches == 0:
        raise TwitchsenseError(f"no twitch labels (of at least {MIN_POSITIVE_G:g} g) in {len(recs)} recording"
                               f"{'s' if len(recs) > 1 else ''}: training needs twitches labelled 'twitch' in "
                               "NAME.events.csv (or add --simulate N)")
    if n_twitches < FEW_TWITCHES:
        warnings.warn(f"only {n_twitches} twitch label{'s' if n_twitches > 1 else ''}: the model will be weak and "
                      "its held-out figures rough (label more, or add --simulate N)", TwitchsenseWarning, stacklevel=2)
    if len(rates) > 1:
        warnings.warn(f"recordings at {len(rates)} sample rates ({', '.join(f'{x:g}' for x in sorted(rates))} Hz): "
                      f"each is resampled to the model's {model_rate_hz:g} Hz", TwitchsenseWarning, stacklevel=2)


def extract(recs: list[tuple[Recording, str, str]], features: WindowFeatures, config: DetectorConfig,
            classes: tuple[str, ...], progress: bool = True) -> list[LabelledWindows]:
    """Candidate-window features and labels of every ``(recording, category, group)`` (with a progress bar)."""
    from tqdm import tqdm

    out = []
    for rec, category, group in tqdm(recs, desc="features", unit="rec", disable=not progress, leave=False):
        t0 = time.perf_counter()
        t, X, _, _ = candidate_windows(rec, features, config).arrays()
        if X.size == 0:
            X = np.zeros((0, len(features._names())))
        out.append(LabelledWindows(rec, group, category, t, X, window_labels(t, rec, classes),
                                   time.perf_counter() - t0))
    return out


def make_classifier(seed: int = 0, trees: int = 200) -> HistGradientBoostingClassifier:
    """The default classifier: small gradient-boosted trees (fast, a few hundred kB)."""
    return HistGradientBoostingClassifier(max_iter=trees, learning_rate=0.08, max_leaf_nodes=24,
                                          min_samples_leaf=40, l2_regularization=1.0,
                                          early_stopping=False, random_state=seed)


def _fit(X: np.ndarray, y: np.ndarray, seed: int, trees: int = 200,
         weight: np.ndarray | None = None) -> HistGradientBoostingClassifier:
    """Fit with class-balanced weights (rare twitch windows count as much as the many others), times
    ``weight`` per window when given (a personal model's reviewed windows)."""
    from threadpoolctl import threadpool_limits

    clf = make_classifier(seed, trees)
    counts = np.bincount(y, minlength=y.max() + 1).astype(float)
    w = (len(y) / (np.count_nonzero(counts) * np.maximum(counts, 1)))[y]
    if weight is not None:
        w = w * weight
    with threadpool_limits(1):  # one core: predictable on a shared machine, no thread oversubscription
        return clf.fit(X, y, sample_weight=w)


def _fit_pair(X: np.ndarray, y: np.ndarray, n_kinds: int, seed: int, trees: int,
              weight: np.ndarray | None = None):
    """The twitch/no-twitch model and, with several classes, the class model on twitch windows
    (``None`` without a twitch window or without another window to learn from: it finds nothing);
    ``weight``: a multiplier per window of the class-balanced weights."""
    if not (y > 0).any() or (y > 0).all():
        return None
    clf = _fit(X, (y > 0).astype(int), seed, trees, weight)
    kind = None
    pos = y > 0
    if n_kinds > 1 and len(np.unique(y[pos])) > 1:
        kind = _fit(X[pos], y[pos] - 1, seed, max(20, trees // 4), None if weight is None else weight[pos])
    return clf, kind


def _proba_full(pair, X: np.ndarray, n_classes: int) -> np.ndarray:
    """``(m, n_classes)``: column 0 no twitch, the others twitch x class probability."""
    from threadpoolctl import threadpool_limits

    from .model import kind_probabilities

    P = np.zeros((X.shape[0], n_classes))
    if pair is None:
        P[:, 0] = 1.0
        return P
    clf, kind = pair
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


def _replay_engine(lw: LabelledWindows, P: np.ndarray, features: WindowFeatures, config: DetectorConfig,
                   classes: tuple[str, ...]) -> DetectionEngine:
    """The detector's engine fed precomputed window probabilities ``P`` of a recording."""
    kinds = () if tuple(classes[1:]) == ("twitch",) else tuple(classes[1:])
    return DetectionEngine(features, config, lw.rec.sample_rate_hz, scorer=_ReplayScorer(P), kinds=kinds,
                           placement=lw.rec.meta.get("placement"), step_g=sensor_step_g(lw.rec.meta))


def replay_events(lw: LabelledWindows, P: np.ndarray, features: WindowFeatures, config: DetectorConfig,
                  classes: tuple[str, ...]) -> list[TwitchEvent]:
    """Exact detector events of a recording from precomputed window probabilities (the confirmed ones:
    what ``detect`` reports)."""
    eng = _replay_engine(lw, P, features, config, classes)
    ev = eng.push(lw.rec.t, lw.rec.acc)
    return confirmed_only(ev + eng.flush())


class _HoldsConfirmer(Confirmer):
    """The engine's confirmer that also keeps, per event id, every reason that holds."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.holds: dict[int, tuple[str, ...]] = {}

    def verdict(self, event: TwitchEvent, x: np.ndarray, i0: int, i1: int) -> TwitchEvent:
        j = self.judge(x, i0, i1, event.peak_g)
        self.holds[event.id] = j.holds
        return replace(event, status="retracted" if j.reason else "confirmed", reason=j.reason)


@dataclass
class _Verdicts:
    """Every event of one recording at the lowest threshold searched, through the real engine: its
    confidence, which confirmation checks would retract it, matched with the labels once."""

    conf: np.ndarray
    holds: np.ndarray  # (events, len(CONFIRM_CHECKS)) bool
    match: EventMatch

    def tally(self, threshold: float, checks: tuple[str, ...], only: str = "") -> Tally:
        """The events at ``threshold`` that none of ``checks`` retracts; with ``only``, instead those that
        check ``only`` alone (of ``checks`` and it) retracts."""
        applied = np.isin(CONFIRM_CHECKS, checks)
        keep = (self.conf >= threshold) & ~(self.holds & applied).any(axis=1)
        if only:
            keep &= self.holds[:, CONFIRM_CHECKS.index(only)]
        return self.match.tally(keep, detail=False)


def _verdicts(lw: LabelledWindows, P: np.ndarray, features: WindowFeatures, config: DetectorConfig,
              classes: tuple[str, ...]) -> _Verdicts:
    """:class:`_Verdicts` of a recording from its out-of-fold window probabilities ``P``. Like their windows
    in training, the transients a simulated session has with a twitch's shape but no label
    (:func:`twitch_shaped_unlabelled`) count neither way."""
    cfg = DetectorConfig(**{**config.to_dict(), "threshold": float(THRESHOLD_GRID[0])})
    eng = _replay_engine(lw, P, features, cfg, classes)
    if eng.confirmer is not None:
        eng.confirmer = _HoldsConfirmer(cfg, eng.fs, lw.rec.meta.get("placement"), sensor_step_g(lw.rec.meta))
    ev = [e for e in eng.push(lw.rec.t, lw.rec.acc) + eng.flush() if e.status != "provisional"]
    held = eng.confirmer.holds if eng.confirmer is not None else {}
    holds = np.array([[c in held.get(e.id, ()) for c in CONFIRM_CHECKS] for e in ev], bool)
    left_out = [(on - AMBIGUOUS_S, on + dur + AMBIGUOUS_S) for on, dur in twitch_shaped_unlabelled(lw.rec)]
    return _Verdicts(np.array([e.confidence for e in ev]), holds.reshape(len(ev), len(CONFIRM_CHECKS)),
                     EventMatch(lw.rec.labels, ev, lw.rec.duration_s, exclude=left_out))


@dataclass
class TrainingReport:
    """Out-of-fold figures per category, for the model and the baseline."""

    threshold: float
    by_category: dict = field(default_factory=dict)      # category -> figures
    core_by_category: dict = field(default_factory=dict)  # the same with EXPERIMENTAL_KINDS optional
    baseline_by_category: dict = field(default_factory=dict)
    baseline_core_by_category: dict = field(default_factory=dict)
    threshold_search: list = field(default_factory=list)  # the shipped threshold's search
    fold_thresholds: list = field(default_factory=list)   # each outer fold's, chosen without it
    checks: tuple = ()                                    # the confirmation checks kept
    fold_checks: list = field(default_factory=list)       # each outer fold's, chosen without it
    checks_dropped: list = field(default_factory=list)    # the evidence for each check dropped
    grouping: str = ""
    #: the outer folds' models (each with its own threshold, chosen without it), and the groups each
    #: held out: held-out figures of anything measured later on recordings of those groups
    fold_models: list = field(default_factory=list)
    n_windows: int = 0
    n_positive_windows: int = 0
    n_groups: int = 0
    seconds: dict = field(default_factory=dict)


@dataclass
class OperatingPoint:
    """What :func:`choose_threshold` chose: the threshold, the confirmation checks kept, the search."""

    threshold: float
    checks: tuple[str, ...]
    search: list            # one row per threshold, with the checks kept
    dropped: list           # per check dropped: its evidence (true twitches and false alarms it alone retracted)


def _search(verdicts: list[_Verdicts], checks: tuple[str, ...], fa_budget_real: float,
            fa_budget_rest: float, raised: bool = False) -> tuple[dict, list[dict]]:
    """The best F1 of :data:`THRESHOLD_GRID` within the budgets with ``checks`` (``within_budgets`` false:
    none was, the fewest false alarms), and every threshold's row.

    F1 and false alarms at rest: the confirmed events of the recordings with twitches. Detections on the
    recordings without twitches (the real negatives): every event raised, confirmed or not. A live view
    shows each raised event before its verdict, and a few hours of real negatives say too little about
    what the confirmation leaves of the fidgets of other people (the shipped model at threshold 0.5
    instead of 0.88: HAPT 10.9 -> 22.4, SisFall 16.2 -> 33.6, ActiGraph 25.2 -> 51.8 confirmed
    detections/h, where its own real negatives had none held out). With ``raised``, every event raised
    counts everywhere (the confirmation left out of the search)."""
    rows = []
    checks = () if raised else checks
    for thr in THRESHOLD_GRID:
        pos, neg = Tally(), Tally()
        for v in verdicts:
            tally = v.tally(float(thr), checks)
            if tally.n_true + tally.n_optional:
                pos = pos + tally
            else:
                neg = neg + v.tally(float(thr), ())
        rows.append({"threshold": float(thr), "checks": ",".join(checks), "f1": pos.f1,
                     "fa_rest_per_h": pos.fa_per_hour("rest"), "real_detections_per_h": neg.detections_per_hour()})
    ok = [r for r in rows if (np.isnan(r["real_detections_per_h"]) or r["real_detections_per_h"] <= fa_budget_real)
          and (np.isnan(r["fa_rest_per_h"]) or r["fa_rest_per_h"] <= fa_budget_rest)]
    pick = max(ok, key=lambda r: (np.nan_to_num(r["f1"]), -r["threshold"])) if ok else \
        min(rows, key=lambda r: (np.nan_to_num(r["real_detections_per_h"]) + np.nan_to_num(r["fa_rest_per_h"]),
                                 -r["threshold"]))
    return {**pick, "within_budgets": bool(ok)}, rows


def choose_threshold(data: list[LabelledWindows], oof: list[np.ndarray], features: WindowFeatures,
                     config: DetectorConfig, classes: tuple[str, ...], fa_budget_real: float,
                     fa_budget_rest: float, select_checks: bool = True, raised: bool = False) -> OperatingPoint:
    """The threshold and the confirmation checks, on out-of-fold window probabilities ``oof``.

    Every recording is replayed once through the real engine (its extents, merging and confirmation)
    at the lowest threshold searched; an event counts at a threshold when its confidence reaches it and
    no check kept retracts it. The threshold: the best F1 whose false alarms stay within the budgets
    (recordings without twitches; rest). A check is dropped (``select_checks``) only on clear evidence
    (:data:`CHECK_DROP_P`), the one with the clearest first, then the others judged again. With ``raised``,
    every event raised counts, confirmed or not (the confirmation as a second opinion that never
    lowers the threshold), and every check is kept: the search does not see them."""
    from scipy.stats import binom

    verdicts = [_verdicts(lw, P, features, config, classes) for lw, P in zip(data, oof)]
    checks = config.checks
    pick, rows = _search(verdicts, checks, fa_budget_real, fa_budget_rest, raised)
    dropped: list[dict] = []
    while select_checks and not raised and config.confirm and checks:
        best = None
        for c in checks:
            rest = tuple(x for x in checks if x != c)
            alt, alt_rows = _search(verdicts, rest, fa_budget_real, fa_budget_rest)
            if not alt["within_budgets"] or np.nan_to_num(alt["f1"]) <= np.nan_to_num(pick["f1"]):
                continue
            alone = sum((v.tally(alt["threshold"], rest, only=c) for v in verdicts), Tally())
            n_true, n_false = alone.n_true_detections, alone.false_alarms
            p = float(binom.sf(n_true - 1, n_true + n_false, 0.5)) if n_true else 1.0
            if p < CHECK_DROP_P and (best is None or p < best[0]):
                best = (p, c, alt, alt_rows, n_true, n_false)
        if best is None:
            break
        p, c, pick, rows, n_true, n_false = best
        checks = tuple(x for x in checks if x != c)
        dropped.append({"check": c, "true_twitches_retracted": n_true, "false_alarms_retracted": n_false,
                        "sign_test_p": round(p, 6), "f1_without": round(float(pick["f1"]), 4)})
    return OperatingPoint(pick["threshold"], checks, rows, dropped)


def train(recs: list[tuple[Recording, str]], features: WindowFeatures | None = None,
          config: DetectorConfig | None = None, n_splits: int = 5, seed: int = 0,
          fa_budget_real: float = 3.0, fa_budget_rest: float = 1.5, progress: bool = True,
          evaluate_baseline: bool = True, trees: int = 200,
          select_checks: bool = True, threshold_on: str = "confirmed") -> tuple[TwitchModel, TrainingReport]:
    """Train a detector on ``(recording, category)`` pairs; returns the model and its held-out report
    (nested cross-validation: see the module's docstring). ``threshold_on``: ``confirmed`` (the F1 of
    the events the detector reports) or ``raised`` (every event raised counts, the checks all kept:
    :func:`choose_threshold`)."""
    from tqdm import tqdm

    features = features or WindowFeatures()
    config = config or DetectorConfig()
    if not recs:
        raise TwitchsenseError("no recordings to train on")
    if n_splits < MIN_GROUPS:
        raise TwitchsenseError(f"cross-validation needs at least {MIN_GROUPS} folds (one to test on, one to choose "
                               f"the threshold on, one to train on), not {n_splits}")
    check_training_data(recs, features.rate_hz)
    if threshold_on not in ("confirmed", "raised"):
        raise TwitchsenseError(f"the threshold is chosen on 'confirmed' or 'raised' events, not {threshold_on!r}")
    raised = threshold_on == "raised"
    features.fit(np.zeros((1, 3 * features.row_samples)))
    classes = classes_for(r for r, _ in recs)
    grouped, grouping = cross_validation_groups(recs, n_splits)
    times = {}
    t0 = time.perf_counter()
    data = extract(grouped, features, config, classes, progress)
    times["features_s"] = round(time.perf_counter() - t0, 1)
    use = [(lw.y >= 0) for lw in data]
    X = np.vstack([lw.X[u] for lw, u in zip(data, use)])
    y = np.concatenate([lw.y[u] for lw, u in zip(data, use)])
    if not (y > 0).any():
        raise TwitchsenseError("no candidate window lies on a labelled twitch: check that the labels' onsets "
                               "are seconds on the recordings' own time base")
    if (y > 0).all():
        raise TwitchsenseError("every candidate window lies on a labelled twitch: the recordings' background never "
                               "moved enough to be a candidate, so there is nothing to learn 'not a twitch' from; add "
                               "recordings of everyday movement without twitches, or simulated ones with "
                               "`--simulate N`")
    groups = np.array([lw.group for lw in data])
    uniq = np.unique(groups)
    k = min(n_splits, uniq.size)
    fold_of_group = {}
    for fold, (_, test) in enumerate(GroupKFold(n_splits=k).split(uniq, groups=uniq)):
        for g in uniq[test]:
            fold_of_group[g] = fold
    rec_fold = np.array([fold_of_group[g] for g in groups])
    win_fold = np.concatenate([np.full(int(u.sum()), f) for f, u in zip(rec_fold, use)])
    twitch_folds = set(win_fold[y > 0].tolist())
    if len(twitch_folds) < k:
        warnings.warn(f"twitches in only {len(twitch_folds)} of {k} cross-validation folds: a fold whose training "
                      "part has none finds nothing, and its held-out figures say so (label twitches in more "
                      "recordings)", TwitchsenseWarning, stacklevel=2)
    n_classes = len(classes)
    models: dict[frozenset, object] = {}  # the folds left out -> the model trained without them
    P: list = [None] * len(data)  # per recording: the probabilities of its candidate windows

    def probabilities(without: frozenset, fold: int) -> None:
        """Fill ``P[fold]`` for the recordings of ``fold`` from the model trained without ``without``."""
        if without not in models:
            keep = ~np.isin(win_fold, list(without))
            models[without] = _fit_pair(X[keep], y[keep], n_classes - 1, seed, trees)
        for i in np.flatnonzero(rec_fold == fold):
            P[i] = _proba_full(models[without], data[i].X, n_classes)

    t0 = time.perf_counter()
    # the outer folds' held-out probabilities, and each outer fold's threshold chosen on the other folds
    # alone: their inner out-of-fold probabilities, from models trained without that fold either
    bar = tqdm(total=k * (k + 1) // 2, desc="nested cross-validation", unit="fit", disable=not progress, leave=False)
    for f in range(k):
        probabilities(frozenset([f]), f)
        bar.update()
    outer = list(P)
    fold_thr = []
    for f in range(k):
        for g in range(k):
            if g != f:
                new = frozenset([f, g]) not in models
                probabilities(frozenset([f, g]), g)
                bar.update(int(new))
        inner = [i for i in range(len(data)) if rec_fold[i] != f]
        fold_thr.append(choose_threshold([data[i] for i in inner], [P[i] for i in inner], features, config, classes,
                                         fa_budget_real, fa_budget_rest, select_checks, raised))
    bar.close()
    times["cv_s"] = round(time.perf_counter() - t0, 1)
    # the shipped threshold: chosen the same way, on the outer out-of-fold probabilities of all the data
    chosen = choose_threshold(data, outer, features, config, classes, fa_budget_real, fa_budget_rest, select_checks,
                              raised)
    thr = chosen.threshold
    config = DetectorConfig(**{**config.to_dict(), "threshold": thr, "confirm_checks": ",".join(chosen.checks)})
    # exact held-out detections through the real engine (each fold at its own threshold), and the
    # baseline on the same recordings
    t0 = time.perf_counter()
    report = TrainingReport(threshold=thr, threshold_search=chosen.search, fold_thresholds=[o.threshold for o in fold_thr],
                            checks=chosen.checks, fold_checks=[o.checks for o in fold_thr],
                            checks_dropped=chosen.dropped, grouping=grouping,
                            n_windows=int(y.size), n_positive_windows=int((y > 0).sum()), n_groups=int(uniq.size))
    # (model or baseline, every class or EXPERIMENTAL_KINDS optional) -> category -> tally
    tallies: dict[tuple[str, bool], dict[str, Tally]] = {}
    base = BandEnergyDetector()
    fold_config = [DetectorConfig(**{**config.to_dict(), "threshold": o.threshold, "confirm_checks": ",".join(o.checks)})
                   for o in fold_thr]
    for lw, Pi, f in tqdm(list(zip(data, outer, rec_fold)), desc="held-out scoring", unit="rec",
                          disable=not progress, leave=False):
        found = {"model": replay_events(lw, Pi, features, fold_config[f], classes)}
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
    for f in range(k):
        if models[frozenset([f])] is not None:
            held = sorted(str(g) for g in uniq if fold_of_group[g] == f)
            fclf, fkind = models[frozenset([f])]
            report.fold_models.append(TwitchModel(features, fclf, classes, fold_config[f], kind_classifier=fkind, card={
                "summary": f"outer fold {f + 1} of {k} of the nested cross-validation: trained without the "
                           f"groups below, its threshold chosen without them",
                "threshold": fold_thr[f].threshold, "confirm_checks": list(fold_thr[f].checks),
                "held_out_groups": held}))
    clf, kind_clf = _fit_pair(X, y, n_classes - 1, seed, trees)
    times["final_fit_s"] = round(time.perf_counter() - t0, 1)
    report.seconds = times
    model = TwitchModel(features, clf, classes, config, card={
        "classifier": "twitch/no-twitch and class models: " + f"HistGradientBoostingClassifier({', '.join(f'{k}={v}' for k, v in sorted(clf.get_params().items()) if k in ('max_iter', 'learning_rate', 'max_leaf_nodes', 'min_samples_leaf', 'l2_regularization'))}), class-balanced weights",
        "cross_validation": f"nested GroupKFold({k}) over {grouping}: each outer fold's threshold and confirmation "
                            "checks chosen on the other folds alone, the held-out figures measured with them",
        "windows": {"total": int(y.size), "twitch": int((y > 0).sum())},
        "threshold": thr,
        "fold_thresholds": report.fold_thresholds,
        "confirm_checks": list(chosen.checks),
        "fold_confirm_checks": [list(c) for c in report.fold_checks],
        "confirm_checks_dropped": chosen.dropped,
        "confirm_check_rule": "every confirmation check is kept unless, on the out-of-fold predictions, the F1 "
                              "within the budgets is higher without it and of the events it alone retracts the "
                              f"true twitches outnumber the false alarms with a one-sided sign test p < {CHECK_DROP_P:g}"
                              + ("" if select_checks and not raised else " (not applied: every check kept)"),
        "threshold_rule": (f"best out-of-fold F1 of the detector's confirmed events (its engine and confirmation) with <= "
                           f"{fa_budget_real:g} events raised per hour (confirmed or not) on recordings without "
                           f"twitches and <= {fa_budget_rest:g} confirmed false alarms/h at rest" if not raised else
                           f"best out-of-fold F1 of every event the detector raises (its engine; the confirmation "
                           f"left out of the search) with <= {fa_budget_real:g} detections/h on recordings without "
                           f"twitches and <= {fa_budget_rest:g} false alarms/h at rest")
                          + " (the simulator's unlabelled "
                          "twitch-shaped transients, left out of training, count neither way); in each outer fold on "
                          "the other folds' inner out-of-fold predictions, for the model on the outer ones of all the data",
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
    from ..simulate.seeds import training_seed

    out = []
    for pi, prof in enumerate(PROFILES):
        for i in range(n):
            s = training_seed(seed, pi, i)
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
                # the base's session, so a copy is always held out with its background (group_of)
                rec.meta["session"] = session_of(base)[len("session:"):]
                out.append((rec, f"injected:{p.parent.name}"))
    return out
