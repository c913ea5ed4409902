"""Event-level scoring exactly as the contract says.

- A true twitch is *found* when a detection overlaps it after both are widened
  by ``collar_s`` (0.1 s) on each side (any-overlap).
- A detection that overlaps no true twitch (widened likewise) is a false alarm.
- True twitches with ``peak_g`` under ``floor_g`` (0.02 g) are optional: found
  or not they count neither way, and detections on them are not false alarms.
  On request, so are the twitches of some classes (``optional_kinds``: e.g.
  fasciculations, which docs/physiology.md calls an experimental mode rather than
  the validated core), for figures of the other classes alone.
- Figures: sensitivity, precision, F1, false alarms per hour (at rest and in
  activity, where labels say which), sensitivity by class and strength band,
  median relative error of ``peak_g`` on found events; where the labels say
  how long the wearer had been still before each twitch (``still_before_s``,
  written by :func:`twitchsense.simulate.inject_twitches`), sensitivity by that too.

Rest vs activity: a false alarm counts as "in activity" when it overlaps a
labelled non-twitch segment whose label does not mean still
(:data:`~twitchsense.detection.context.STILL_LABELS`);
activity hours are the union of those segments, rest hours the rest.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..types import TwitchEvent
from .context import STILL_LABELS

COLLAR_S = 0.1
FLOOR_G = 0.02
#: Strength bands (g) for sensitivity by strength.
STRENGTH_BANDS = ((0.0, 0.02), (0.02, 0.05), (0.05, 0.1), (0.1, 0.3), (0.3, 1.0), (1.0, np.inf))
#: Twitch classes outside the validated core: docs/physiology.md calls visible fasciculations an
#: experimental mode near the sensor's floor (they need >= 100 Hz). Figures "with these optional"
#: (``optional_kinds``) are given beside the figures of every class, never instead of them.
EXPERIMENTAL_KINDS = ("fasciculation",)
#: Bands (s) of stillness before a twitch: the detector's context looks about 2 s back.
STILL_BEFORE_BANDS = ((0.0, 1.0), (1.0, 2.0), (2.0, np.inf))


def still_band_name(lo: float, hi: float) -> str:
    return f"still {lo:g}-{hi:g} s before" if np.isfinite(hi) else f"still >={lo:g} s before"


def band_name(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g} g" if np.isfinite(hi) else f">={lo:g} g"


def _band_of(x: float, bands=STRENGTH_BANDS, namer=band_name) -> str:
    """The name of the band of ``bands`` holding ``x``."""
    return next(namer(lo, hi) for lo, hi in bands if lo <= x < hi)


def _band_order(name: str, bands=STRENGTH_BANDS, namer=band_name) -> int:
    """Where the band named ``name`` comes in ``bands`` (others last)."""
    names = [namer(lo, hi) for lo, hi in bands]
    return names.index(name) if name in names else len(names)


def _overlaps(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) boolean: interval a_i overlaps interval b_j (closed)."""
    return (a0[:, None] <= b1[None, :]) & (b0[None, :] <= a1[:, None])


def _union_length(starts: np.ndarray, ends: np.ndarray) -> float:
    if starts.size == 0:
        return 0.0
    order = np.argsort(starts)
    s, e = starts[order], ends[order]
    total, cur_s, cur_e = 0.0, s[0], e[0]
    for a, b in zip(s[1:], e[1:]):
        if a > cur_e:
            total += cur_e - cur_s
            cur_s, cur_e = a, b
        else:
            cur_e = max(cur_e, b)
    return float(total + cur_e - cur_s)


@dataclass
class Tally:
    """Counts behind the figures; tallies of several recordings add up."""

    n_true: int = 0                 # required true twitches (peak_g >= floor)
    n_found: int = 0
    n_optional: int = 0
    n_detections: int = 0
    n_true_detections: int = 0      # detections overlapping a required true twitch
    n_optional_detections: int = 0  # detections overlapping only optional twitches
    fa_rest: int = 0
    fa_activity: int = 0
    hours_rest: float = 0.0
    hours_activity: float = 0.0
    by_class: dict = field(default_factory=dict)     # class -> [found, total]
    by_band: dict = field(default_factory=dict)      # band -> [found, total]
    by_still: dict = field(default_factory=dict)     # stillness-before band -> [found, total]
    peak_rel_errors: list = field(default_factory=list)

    def __add__(self, o: "Tally") -> "Tally":
        def merge(a: dict, b: dict) -> dict:
            out = {k: list(v) for k, v in a.items()}
            for k, v in b.items():
                cur = out.setdefault(k, [0, 0])
                cur[0] += v[0]
                cur[1] += v[1]
            return out
        return Tally(self.n_true + o.n_true, self.n_found + o.n_found, self.n_optional + o.n_optional,
                     self.n_detections + o.n_detections, self.n_true_detections + o.n_true_detections,
                     self.n_optional_detections + o.n_optional_detections,
                     self.fa_rest + o.fa_rest, self.fa_activity + o.fa_activity,
                     self.hours_rest + o.hours_rest, self.hours_activity + o.hours_activity,
                     merge(self.by_class, o.by_class), merge(self.by_band, o.by_band),
                     merge(self.by_still, o.by_still), self.peak_rel_errors + o.peak_rel_errors)

    # ---------------------------------------------------------------- figures
    @property
    def false_alarms(self) -> int:
        return self.fa_rest + self.fa_activity

    @property
    def sensitivity(self) -> float:
        return self.n_found / self.n_true if self.n_true else float("nan")

    @property
    def precision(self) -> float:
        d = self.n_true_detections + self.false_alarms
        return self.n_true_detections / d if d else float("nan")

    @property
    def f1(self) -> float:
        s, p = self.sensitivity, self.precision
        if np.isnan(s) or np.isnan(p) or s + p == 0:
            return float("nan") if np.isnan(s) or np.isnan(p) else 0.0
        return 2 * s * p / (s + p)

    def fa_per_hour(self, where: str = "all") -> float:
        if where == "rest":
            return self.fa_rest / self.hours_rest if self.hours_rest else float("nan")
        if where == "activity":
            return self.fa_activity / self.hours_activity if self.hours_activity else float("nan")
        h = self.hours_rest + self.hours_activity
        return self.false_alarms / h if h else float("nan")

    def detections_per_hour(self) -> float:
        h = self.hours_rest + self.hours_activity
        return self.n_detections / h if h else float("nan")

    @property
    def peak_g_median_rel_error(self) -> float:
        return float(np.median(self.peak_rel_errors)) if self.peak_rel_errors else float("nan")

    def figures(self) -> dict:
        """All figures as a plain dict (JSON-ready)."""
        def nz(x: float):
            return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), 4)

        def by(counts: dict, order) -> dict:
            return {k: {"found": v[0], "total": v[1], "sensitivity": nz(v[0] / v[1] if v[1] else np.nan)}
                    for k, v in sorted(counts.items(), key=order)}
        return {
            "true_twitches": self.n_true, "found": self.n_found, "optional_twitches": self.n_optional,
            "detections": self.n_detections, "false_alarms": self.false_alarms,
            "sensitivity": nz(self.sensitivity), "precision": nz(self.precision), "f1": nz(self.f1),
            "hours": nz(self.hours_rest + self.hours_activity), "hours_rest": nz(self.hours_rest),
            "hours_activity": nz(self.hours_activity),
            "false_alarms_per_hour": nz(self.fa_per_hour()), "false_alarms_per_hour_rest": nz(self.fa_per_hour("rest")),
            "false_alarms_per_hour_activity": nz(self.fa_per_hour("activity")),
            "detections_per_hour": nz(self.detections_per_hour()),
            "sensitivity_by_class": by(self.by_class, lambda kv: kv[0]),
            "sensitivity_by_strength": by(self.by_band, lambda kv: _band_order(kv[0])),
            "sensitivity_by_still_before": by(self.by_still,
                                              lambda kv: _band_order(kv[0], STILL_BEFORE_BANDS, still_band_name)),
            "peak_g_median_rel_error": nz(self.peak_g_median_rel_error),
        }


def score_events(labels: pd.DataFrame, detections: list[TwitchEvent], duration_s: float,
                 collar_s: float = COLLAR_S, floor_g: float = FLOOR_G,
                 exclude: list[tuple[float, float]] | None = None,
                 optional_kinds: Collection[str] = ()) -> Tally:
    """Score one recording's detections against its label table.

    ``exclude``: ``(start, end)`` stretches left out entirely (e.g. the detector's
    "cannot tell" time): twitches and detections touching them are not counted and
    their duration leaves the hours (activity first). ``optional_kinds``: twitch
    classes that count as optional, like twitches under the floor.
    """
    return EventMatch(labels, detections, duration_s, collar_s, floor_g, exclude, optional_kinds).tally()


class EventMatch:
    """Which of one recording's detections overlap which twitches (:func:`score_events`' matching, done
    once): :meth:`tally` then scores any subset of the detections cheaply (a threshold search)."""

    def __init__(self, labels: pd.DataFrame, detections: list[TwitchEvent], duration_s: float,
                 collar_s: float = COLLAR_S, floor_g: float = FLOOR_G,
                 exclude: list[tuple[float, float]] | None = None,
                 optional_kinds: Collection[str] = ()) -> None:
        labels = labels if labels is not None else pd.DataFrame(columns=["onset", "duration", "label"])
        self.n_detections_given = len(detections)
        self.counted = np.ones(len(detections), bool)  # detections not touching an excluded stretch
        excluded_h = 0.0
        if exclude:
            x0 = np.array([a for a, _ in exclude], float)
            x1 = np.array([b for _, b in exclude], float)
            excluded_h = _union_length(x0, x1) / 3600.0
            if len(labels):
                tw_mask = (labels["label"] == "twitch").to_numpy()
                on = labels["onset"].to_numpy(float)
                hit = _overlaps(on, on + labels["duration"].to_numpy(float), x0, x1).any(axis=1)
                labels = labels[~(tw_mask & hit)]
            if detections:
                self.counted = ~_overlaps(np.array([e.onset for e in detections], float),
                                          np.array([e.end for e in detections], float), x0, x1).any(axis=1)
            detections = [e for e, c in zip(detections, self.counted) if c]
        is_tw = (labels["label"] == "twitch").to_numpy() if len(labels) else np.zeros(0, bool)
        tw = labels[is_tw]
        neg = labels[~is_tw] if len(labels) else labels
        t0 = tw["onset"].to_numpy(float)
        t1 = t0 + tw["duration"].to_numpy(float)
        peak = tw["peak_g"].to_numpy(float) if "peak_g" in tw else np.full(len(tw), np.inf)
        self.peak = np.where(np.isnan(peak), np.inf, peak)  # unknown strength: required
        self.kinds = tw["kind"].astype(str).to_numpy() if "kind" in tw else np.full(len(tw), "twitch")
        self.required = (self.peak >= floor_g) & ~np.isin(self.kinds, list(optional_kinds))
        self.still = tw["still_before_s"].to_numpy(float) if "still_before_s" in tw else np.full(len(tw), np.nan)
        d0 = np.array([e.onset for e in detections], float)
        d1 = np.array([e.end for e in detections], float)
        self.t0, self.t1, self.d0, self.d1 = t0, t1, d0, d1
        self.dpk = np.array([e.peak_g for e in detections], float)
        self.ov = _overlaps(t0 - collar_s, t1 + collar_s, d0 - collar_s, d1 + collar_s)  # (true, det)
        # rest vs activity from labelled negative segments
        if len(neg):
            active = ~neg["label"].astype(str).str.lower().isin(STILL_LABELS).to_numpy()
            a0 = neg["onset"].to_numpy(float)[active]
            a1 = a0 + neg["duration"].to_numpy(float)[active]
        else:
            a0 = a1 = np.zeros(0)
        act_hours = _union_length(a0, a1) / 3600.0
        self.in_act = _overlaps(d0, d1, a0, a1).any(axis=1) if a0.size and d0.size else np.zeros(d0.size, bool)
        self.hours_rest = max(duration_s / 3600.0 - act_hours - max(excluded_h - act_hours, 0.0), 0.0)
        self.hours_activity = max(act_hours - excluded_h, 0.0)

    def tally(self, keep: np.ndarray | None = None, detail: bool = True) -> Tally:
        """The tally of the detections ``keep`` selects (a mask over the detections given; all by default);
        without ``detail``, the counts alone (no figures by class, strength or stillness, no peak errors)."""
        keep = self.counted.copy() if keep is None else np.asarray(keep, bool) & self.counted
        keep = keep[self.counted]
        ov, required, peak = self.ov[:, keep], self.required, self.peak
        d0, d1, dpk = self.d0[keep], self.d1[keep], self.dpk[keep]
        found = ov.any(axis=1)
        det_req = ov[required].any(axis=0) if required.any() else np.zeros(ov.shape[1], bool)
        det_opt = ov[~required].any(axis=0) & ~det_req if (~required).any() else np.zeros(ov.shape[1], bool)
        fa = ~(det_req | det_opt)
        in_act = self.in_act[keep]
        tally = Tally(n_true=int(required.sum()), n_found=int((found & required).sum()),
                      n_optional=int((~required).sum()), n_detections=int(keep.sum()),
                      n_true_detections=int(det_req.sum()), n_optional_detections=int(det_opt.sum()),
                      fa_rest=int((fa & ~in_act).sum()), fa_activity=int((fa & in_act).sum()),
                      hours_rest=self.hours_rest, hours_activity=self.hours_activity)
        for i in range(len(peak) if detail else 0):
            band = _band_of(peak[i]) if np.isfinite(peak[i]) else "unknown"
            b = tally.by_band.setdefault(band, [0, 0])
            b[0] += int(found[i])
            b[1] += 1
            if required[i]:
                c = tally.by_class.setdefault(self.kinds[i], [0, 0])
                c[0] += int(found[i])
                c[1] += 1
                if np.isfinite(self.still[i]):
                    sb = tally.by_still.setdefault(_band_of(self.still[i], STILL_BEFORE_BANDS, still_band_name),
                                                   [0, 0])
                    sb[0] += int(found[i])
                    sb[1] += 1
                if found[i] and np.isfinite(peak[i]):
                    j = np.flatnonzero(ov[i])
                    # the detection overlapping most (ties: the first)
                    inter = np.minimum(d1[j], self.t1[i]) - np.maximum(d0[j], self.t0[i])
                    best = j[int(np.argmax(inter))]
                    tally.peak_rel_errors.append(abs(dpk[best] - peak[i]) / peak[i])
        return tally


def format_table(rows: dict[str, dict]) -> str:
    """Side-by-side text table of the main figures of several detectors (``name -> figures()``)."""
    keys = [("true twitches (>= 0.02 g)", "true_twitches"), ("found", "found"), ("detections", "detections"),
            ("sensitivity", "sensitivity"), ("precision", "precision"), ("F1", "f1"),
            ("false alarms", "false_alarms"), ("false alarms / h", "false_alarms_per_hour"),
            ("  at rest / h", "false_alarms_per_hour_rest"), ("  in activity / h", "false_alarms_per_hour_activity"),
            ("hours (rest + activity)", "hours"), ("peak_g median rel. error", "peak_g_median_rel_error")]
    names = list(rows)
    width = max(12, *(len(n) for n in names))
    out = [f"{'':28s}" + "".join(f"{n:>{width + 2}s}" for n in names)]

    def fmt(v) -> str:
        if v is None:
            return "-"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    for label, key in keys:
        out.append(f"{label:28s}" + "".join(f"{fmt(rows[n].get(key)):>{width + 2}s}" for n in names))
    for group, title in (("sensitivity_by_class", "sensitivity by class"),
                         ("sensitivity_by_strength", "sensitivity by strength"),
                         ("sensitivity_by_still_before", "sensitivity by stillness before (>= 0.02 g)")):
        cats = []
        for n in names:
            cats += [c for c in rows[n].get(group, {}) if c not in cats]
        if cats:
            out.append(title)
        for c in cats:
            cells = []
            for n in names:
                v = rows[n].get(group, {}).get(c)
                cells.append("-" if v is None else f"{v['found']}/{v['total']}"
                             + (f" {v['sensitivity']:.2f}" if v['sensitivity'] is not None else ""))
            out.append(f"  {c:26s}" + "".join(f"{x:>{width + 2}s}" for x in cells))
    return "\n".join(out)


def figures_markdown(by_cat: dict, base_by_cat: dict | None = None) -> str:
    """Figures per category as a Markdown table, the baseline's next to the model's."""
    base_by_cat = base_by_cat or {}

    def f(x, nd=3):
        return "-" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))

    head = ("| data (held out) | h | twitches | sens. | prec. | F1 | FA/h rest | FA/h activity | det./h | "
            "peak_g err | baseline sens. | baseline F1 | baseline FA/h rest | baseline det./h |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for cat, fig in by_cat.items():
        b = base_by_cat.get(cat, {})
        lines.append(f"| {cat} | {f(fig['hours'], 2)} | {fig['true_twitches']} | {f(fig['sensitivity'])} | "
                     f"{f(fig['precision'])} | {f(fig['f1'])} | {f(fig['false_alarms_per_hour_rest'], 1)} | "
                     f"{f(fig['false_alarms_per_hour_activity'], 1)} | {f(fig['detections_per_hour'], 1)} | "
                     f"{f(fig['peak_g_median_rel_error'])} | {f(b.get('sensitivity'))} | {f(b.get('f1'))} | "
                     f"{f(b.get('false_alarms_per_hour_rest'), 1)} | {f(b.get('detections_per_hour'), 1)} |")
    return "\n".join(lines)
