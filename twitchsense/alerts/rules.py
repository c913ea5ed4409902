"""Alert rules: one small class per kind, each a pure function of the recent events and a clock.

A rule looks at twitch onsets (and strengths) in stream seconds and says, for the
time ``now``, whether its condition holds and what was measured, in words
(:class:`Finding`). It keeps no state: the :class:`~twitchsense.alerts.engine.AlertEngine`
owns levels, hysteresis, de-duplication, cool-down, calendar days and faults.

The kinds, anchored on clinical scoring rules (none of them is a diagnosis):

- :class:`FrequencyRule`: at least N events per minute over a sliding window of W minutes.
- :class:`PersistenceRule`: a frequency condition holding for at least P minutes,
  short dips up to a tolerance forgiven (AASM excessive fragmentary myoclonus:
  >= 5 per minute sustained >= 20 min).
- :class:`DaysRule`: another rule's condition met on at least D of the last K calendar days.
- :class:`StrengthRule`: at least M events of at least S g within W minutes.
- :class:`PeriodicRule`: PLM-style series (>= 4 consecutive events with onset-to-onset
  intervals in a range, AASM/WASM) and the series index per hour over a window.
- :class:`NoDataRule`, :class:`NotWornRule`, :class:`SaturationRule`: faults
  (OpenSeizureDetector's FAULT state), judged from the link and the samples.

Windows are half-open on the left: an event at ``now - W`` is outside, one at ``now`` inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..types import LEVELS
from .reference import no_range_reason, reference_range, window_range

#: The seed's guidance, in plain words, per level (a rule may carry its own).
GUIDANCE = {
    "info": "Occasional twitching is common and usually harmless.",
    "warning": "Regular twitching is worth having checked by a doctor.",
    "alert": "Frequent or strong twitching that persists should be examined by a doctor soon, "
             "and at once if it comes with pain, weakness or fever.",
}
FAULT_GUIDANCE = "Twitches cannot be counted reliably until this is fixed."


def level_rank(level: str | None) -> int:
    """0 for no level, 1 info, 2 warning, 3 alert."""
    return 0 if level is None else LEVELS.index(level) + 1


def _num(x: float) -> str:
    """A figure in words: no trailing zeros (``2``, ``2.5``, ``0.25``)."""
    return f"{x:.2f}".rstrip("0").rstrip(".") if abs(x) < 10 else f"{x:.1f}".rstrip("0").rstrip(".")


def _minutes(seconds: float, floor: bool = False) -> str:
    """Minutes in words; ``floor`` never rounds a duration up to a threshold it has not reached."""
    if seconds < 60 and not floor:
        return f"{_num(seconds)} s"
    m = seconds / 60.0
    if floor:
        m = np.floor(m * 10 + 1e-9) / 10 if m < 10 else np.floor(m + 1e-9)
    return f"{m:.0f} min" if m >= 10 or abs(m - round(m)) < 1e-9 else f"{m:.1f} min"


def _twitches(n: int) -> str:
    return f"{n} twitch" + ("" if n == 1 else "es")


@dataclass(frozen=True)
class Finding:
    """What a rule measured at one moment.

    met : the condition holds now (the engine raises the rule's level).
    detail : the measured figures in words, also when not met.
    next_change : the earliest time ``met`` can change if no new event arrives
        (``inf``: only a new event can change it); never later than the true change.
    """

    met: bool
    detail: str
    next_change: float = math.inf


@dataclass(frozen=True)
class FaultStatus:
    """What the engine knows about the link and the samples at one moment (stream seconds).

    last_sample_t : time of the newest sample, or None before the first.
    link_down_since : time a ``no_data``/``disconnected`` link event said data stopped, or None.
    last_movement_t : newest time the sensor moved (sample spread or a twitch), or None.
    first_sample_t : time of the first sample of the session, or None.
    saturated_t : times of recent samples at the sensor's full scale.
    range_g : the sensor's full scale, 0 when unknown.
    resumed_after_s : how long the last gap that samples ended lasted (its clearing says so).
    """

    last_sample_t: float | None = None
    link_down_since: float | None = None
    last_movement_t: float | None = None
    first_sample_t: float | None = None
    saturated_t: tuple[float, ...] = ()
    range_g: float = 0.0
    #: length of the last gap in the data that samples ended (seconds), or None before any
    resumed_after_s: float | None = None


@dataclass(frozen=True)
class RuleBase:
    """Fields every rule has: a unique name, the level it raises, optional guidance."""

    name: str
    level: str
    guidance: str = ""

    #: ``twitch`` rules look at events, ``fault`` rules at the link, ``days`` at other rules.
    family = "twitch"

    @property
    def advice(self) -> str:
        """The guidance the alert carries (the rule's own, else the level's)."""
        if self.guidance:
            return self.guidance
        return FAULT_GUIDANCE if self.family == "fault" else GUIDANCE[self.level]

    @property
    def horizon_s(self) -> float:
        """How far back events must be kept for this rule."""
        return 0.0

    @property
    def counted_s(self) -> float:
        """The time a finding looks back over (its window; a persistence rule's window and sustained run): a
        rule with a ``context`` stops counting events older than a multiple of it in clock time."""
        return getattr(self, "window_s", 0.0)


def window_count(onsets: np.ndarray, now: float, window_s: float) -> int:
    """Number of onsets in ``(now - window_s, now]`` (``onsets`` sorted)."""
    return int(np.searchsorted(onsets, now, "right") - np.searchsorted(onsets, now - window_s, "right"))


def _required(per_minute: float, window_s: float) -> int:
    """Events needed in the window for a rate of at least ``per_minute``."""
    return max(1, int(np.ceil(per_minute * window_s / 60.0 - 1e-9)))


#: ``above`` values of a rule file: the healthy range's percentile (:mod:`twitchsense.alerts.reference`).
REFERENCE_PERCENTILES = ("p50", "p90", "p95")


@dataclass(frozen=True)
class RateBasis:
    """What the rates of frequency and persistence rules are per, and whose healthy range they meet.

    judged : the window counts judged time (the engine knows the context: rest or light activity);
        False: stream time (no context known, e.g. events without ``NAME.context.csv``).
    placement : where the sensor is worn (a sidecar's ``placement``), for ``above = "reference:p95"``.
    """

    judged: bool = False
    placement: str | None = None
    #: when the clock started (judged: 0); a rate compared with the healthy range needs a full window since
    start: float = -math.inf
    #: ``rest``: the clock runs in rest time only and only events at rest count (a rule's ``context``);
    #: "": every judged context
    context: str = ""

    @property
    def per(self) -> str:
        return f"{self.context} " if self.context else ("judged " if self.judged else "")

    @property
    def kind(self) -> str:
        """The healthy range's kind of time for this basis (``judged``, or the rule's context)."""
        return self.context or "judged"


def _judged(duration: str, basis: RateBasis) -> str:
    """"10 min" -> "10 judged min" when the basis is judged time ("10 rest min" in rest time)."""
    if not basis.per:
        return duration
    value, unit = duration.rsplit(" ", 1)
    return f"{value} {basis.per}{unit}"


@dataclass(frozen=True)
class Threshold:
    """A rate threshold in events per minute (None: cannot be judged) and how it is said in a detail."""

    per_minute: float | None
    words: str
    reference: bool = False


@dataclass(frozen=True)
class FrequencyRule(RuleBase):
    """At least ``per_minute`` events per minute over the last ``window_s`` seconds of judged time
    (stream time when the context is not known).

    ``above = "reference:p95"``: the threshold is the healthy range's p95 for the sensor's placement
    (:mod:`twitchsense.alerts.reference`); ``per_minute`` (0: none) is then used only where the placement
    has no range, and the detail says so.
    """

    per_minute: float = 1.0
    window_s: float = 600.0
    above: str = ""
    #: ``rest``: count only events in rest context, per minute of rest time (AASM anchors scored in sleep)
    context: str = ""
    kind = "frequency"

    @property
    def horizon_s(self) -> float:
        return self.window_s

    @property
    def required(self) -> int:
        return _required(self.per_minute, self.window_s)

    def threshold(self, basis: RateBasis = RateBasis()) -> Threshold:
        """The rate to beat for this basis (placement), in events per minute, and its words."""
        if not self.above:
            return Threshold(self.per_minute, f"threshold {_num(self.per_minute)}/{basis.per}min")
        pct = self.above.split(":", 1)[1]
        # the healthy units' highest rate over this rule's window, where published; else their whole-recording rates
        r = window_range(basis.placement, basis.kind, self.window_s) or reference_range(basis.placement, basis.kind)
        if r is not None:
            return Threshold(r.value(pct) / 60.0, r.describe(pct), True)
        why = no_range_reason(basis.placement)
        if self.per_minute > 0:
            return Threshold(self.per_minute, f"threshold {_num(self.per_minute * 60)}/{basis.per}h of the rule file: {why}")
        return Threshold(None, f"not judged: {why}")

    def until_unmet(self, onsets: np.ndarray, now: float, per_minute: float | None = None) -> float:
        """When the count falls below the threshold if no event arrives (inf when below already)."""
        required = _required(self.per_minute if per_minute is None else per_minute, self.window_s)
        hi = int(np.searchsorted(onsets, now, "right"))
        if window_count(onsets, now, self.window_s) < required:
            return math.inf
        return float(onsets[hi - required]) + self.window_s

    def head(self, n: int, basis: RateBasis) -> str:
        """The measured rate in words: per hour against a healthy range, else per minute."""
        rate = n / (self.window_s / 60.0)
        where = f"{_twitches(n)} in the last {_judged(_minutes(self.window_s), basis)}"
        if self.above:
            return f"{where}: {_num(rate * 60)}/{basis.per}h"
        return f"{where}, {_num(rate)}/{basis.per}min"

    def evaluate(self, onsets: np.ndarray, peaks: np.ndarray, now: float,
                 basis: RateBasis = RateBasis()) -> Finding:
        """``onsets`` and ``now`` on the basis' clock (judged seconds when ``basis.judged``; rest seconds, and only
        events at rest, when ``basis.context`` is ``rest``)."""
        n = window_count(onsets, now, self.window_s)
        th = self.threshold(basis)
        head = self.head(n, basis)
        if self.context and not basis.judged:
            return Finding(False, f"{head} ({_no_context_words(self.context)})")
        if th.per_minute is None:
            return Finding(False, f"{head} ({th.words})")
        per_minute = self._needed(th)
        detail = f"{head}, {th.words}" if th.reference else f"{head} ({th.words})"
        full_at = self.full_window_at(basis, th)
        if now < full_at:  # a rate compared with the healthy range is measured over the whole window
            return Finding(False, f"{detail}; not yet {_judged(_minutes(self.window_s), basis)} measured", full_at)
        return Finding(n >= _required(per_minute, self.window_s), detail, self.until_unmet(onsets, now, per_minute))

    def full_window_at(self, basis: RateBasis, th: Threshold) -> float:
        """When the window first holds ``window_s`` of the basis' time (only for a healthy-range threshold:
        healthy people's rates are rates over whole stretches, not over the first minutes of one)."""
        return basis.start + self.window_s if th.reference else -math.inf

    @staticmethod
    def _needed(th: Threshold) -> float:
        """The per-minute rate a count must reach (a range's percentile must be exceeded, not met)."""
        return th.per_minute + (1e-9 if th.reference else 0.0)  # type: ignore[operator]


def condition_intervals(onsets: np.ndarray, window_s: float, required: int,
                        t0: float, now: float) -> np.ndarray:
    """Stretches of ``[t0, now]`` where at least ``required`` onsets lie in the trailing window.

    The count in ``(tau - W, tau]`` only changes at an onset (up) and at onset + W
    (down), so the condition is exact between those points. Returns an (m, 2)
    array of ``[start, end)`` stretches, merged and sorted.
    """
    pts = np.concatenate([[t0], onsets, onsets + window_s])
    pts = np.unique(pts[(pts >= t0) & (pts <= now)])
    if pts.size == 0:
        return np.empty((0, 2))
    counts = np.searchsorted(onsets, pts, "right") - np.searchsorted(onsets, pts - window_s, "right")
    true = counts >= required
    ends = np.append(pts[1:], now)
    # merge adjacent true stretches
    edges = np.diff(np.concatenate([[0], true.astype(np.int8), [0]]))
    starts_i = np.flatnonzero(edges == 1)
    stops_i = np.flatnonzero(edges == -1) - 1
    return np.column_stack([pts[starts_i], ends[stops_i]]) if starts_i.size else np.empty((0, 2))


@dataclass(frozen=True)
class PersistenceRule(FrequencyRule):
    """A frequency condition holding for at least ``minutes_s``, dips up to ``tolerance_s`` forgiven.

    The current run starts where the condition became true after the last dip
    longer than the tolerance; while a short dip is going on the run continues.
    """

    sustained_s: float = 1200.0
    tolerance_s: float = 120.0
    kind = "persistence"

    @property
    def horizon_s(self) -> float:
        # Enough history to measure runs up to an hour longer than required.
        return self.window_s + self.sustained_s + 3600.0 + self.tolerance_s

    @property
    def counted_s(self) -> float:
        return self.window_s + self.sustained_s + self.tolerance_s

    def run(self, onsets: np.ndarray, now: float, per_minute: float | None = None,
            not_before: float = -math.inf) -> tuple[float, float] | None:
        """(start, end of the last true stretch) of the run going on at ``now``, or None.

        The run starts where the condition became true after the last dip longer
        than the tolerance; ``end == now`` while the condition holds.
        """
        t0 = max(now - (self.horizon_s - self.window_s), not_before)
        if t0 > now:
            return None
        required = self.required if per_minute is None else _required(per_minute, self.window_s)
        iv = condition_intervals(onsets, self.window_s, required, t0, now)
        if iv.shape[0] == 0 or now - iv[-1, 1] > self.tolerance_s:
            return None
        gaps = iv[1:, 0] - iv[:-1, 1]
        breaks = np.flatnonzero(gaps > self.tolerance_s)
        first = breaks[-1] + 1 if breaks.size else 0
        return float(iv[first, 0]), float(iv[-1, 1])

    def run_start(self, onsets: np.ndarray, now: float) -> float | None:
        """Start of the run of the condition (with forgiven dips) going on at ``now``, or None."""
        r = self.run(onsets, now)
        return None if r is None else r[0]

    def evaluate(self, onsets: np.ndarray, peaks: np.ndarray, now: float,
                 basis: RateBasis = RateBasis()) -> Finding:
        n = window_count(onsets, now, self.window_s)
        th = self.threshold(basis)
        head = self.head(n, basis)
        held_for = _judged(_minutes(self.sustained_s), basis)
        if self.context and not basis.judged:
            return Finding(False, f"{head} ({_no_context_words(self.context)})")
        if th.per_minute is None:
            return Finding(False, f"{head} ({th.words})")
        if th.reference:  # "52/judged h, healthy wrist p95 70/judged h, sustained 4 judged min so far (needs 10...)"
            head, need = f"{head}, {th.words}", f"(needs {held_for})"
        else:
            need = f"({th.words} for {held_for})"
        per_minute = self._needed(th)
        r = self.run(onsets, now, per_minute, self.full_window_at(basis, th))
        if r is None:
            return Finding(False, f"{head}, not sustained {need}")
        start, last_true = r
        required = _required(per_minute, self.window_s)
        # the run breaks once the condition has been false for longer than the tolerance
        false_from = self.until_unmet(onsets, now, per_minute) if n >= required else last_true
        nxt = false_from + self.tolerance_s + 1e-6
        if start + self.sustained_s > now:
            nxt = min(nxt, start + self.sustained_s)
        held = now - start
        longest = self.horizon_s - self.window_s
        held_txt = ("at least " if held >= longest - 1e-6 else "") + _judged(_minutes(held, floor=True), basis)
        if held >= self.sustained_s:
            return Finding(True, f"{head}, sustained {held_txt} {need}", nxt)
        return Finding(False, f"{head}, sustained {held_txt} so far {need}", nxt)


@dataclass(frozen=True)
class StrengthRule(RuleBase):
    """At least ``count`` events of at least ``min_g`` within the last ``window_s`` seconds."""

    min_g: float = 0.5
    count: int = 3
    window_s: float = 600.0
    kind = "strength"

    @property
    def horizon_s(self) -> float:
        return self.window_s

    def evaluate(self, onsets: np.ndarray, peaks: np.ndarray, now: float) -> Finding:
        lo, hi = np.searchsorted(onsets, [now - self.window_s, now], "right")
        p = peaks[lo:hi]
        strong = p[p >= self.min_g]
        txt = (f"{strong.size} strong twitch{'' if strong.size == 1 else 'es'} "
               f"(peak {_num(self.min_g)} g or more) in the last {_minutes(self.window_s)}")
        if strong.size:
            txt += f", strongest {_num(float(strong.max()))} g"
        met = strong.size >= self.count
        nxt = float(onsets[lo:hi][p >= self.min_g][strong.size - self.count]) + self.window_s if met else math.inf
        return Finding(met, txt + f" (threshold {self.count})", nxt)


def _no_context_words(context: str) -> str:
    """Why a rule limited to a ``context`` does not judge: the detector's context is not known."""
    return f"not judged: the rule counts only at {context}, and the detector's context is not known"


def periodic_series(onsets: np.ndarray, min_interval_s: float, max_interval_s: float,
                    min_count: int) -> np.ndarray:
    """Boolean mask of the onsets that belong to a periodic series.

    A series is a run of consecutive onsets whose every onset-to-onset interval is
    within ``[min_interval_s, max_interval_s]``, at least ``min_count`` long
    (AASM/WASM periodic limb movements: >= 4 movements, 5-90 s apart).
    """
    return series_ids(onsets, min_interval_s, max_interval_s, min_count) >= 0


def series_ids(onsets: np.ndarray, min_interval_s: float, max_interval_s: float, min_count: int) -> np.ndarray:
    """Per onset, the number of its periodic series (:func:`periodic_series`; 0, 1, ... in order), or -1:
    two series back to back (an interval outside the range between them) get two numbers."""
    n = onsets.size
    ids = np.full(n, -1)
    if n < min_count:
        return ids
    d = np.diff(onsets)
    ok = (d >= min_interval_s) & (d <= max_interval_s)
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # ok[starts:stops] true: intervals; onsets starts..stops
    runs = [(a, b) for a, b in zip(starts, stops) if b - a + 1 >= min_count]
    for k, (a, b) in enumerate(runs):
        ids[a:b + 1] = k
    return ids


@dataclass(frozen=True)
class PeriodicRule(RuleBase):
    """PLM-style index: series events per hour over ``window_s``, firing when above ``index_per_hour``.

    ``context = "rest"``: only events in rest context count, and the window and the index are in rest
    time (AASM/WASM periodic limb movements are scored in sleep, or lying awake at rest); the
    intervals of a series stay stream seconds (the real time between movements).
    """

    min_count: int = 4
    min_interval_s: float = 5.0
    max_interval_s: float = 90.0
    index_per_hour: float = 15.0
    window_s: float = 3600.0
    context: str = ""
    kind = "periodic"

    @property
    def horizon_s(self) -> float:
        # a series reaching into the window may have started up to (min_count - 1) intervals before it
        return self.window_s + self.max_interval_s * self.min_count

    def evaluate(self, onsets: np.ndarray, peaks: np.ndarray, now: float,
                 basis: RateBasis = RateBasis(), clock: np.ndarray | None = None,
                 clock_now: float | None = None) -> Finding:
        """``onsets`` and ``now`` in stream seconds; with a rule ``context``, ``onsets`` are the events in that
        context only and ``clock``/``clock_now`` their times and now on its clock (rest seconds): the window is
        counted there, and ``next_change`` is on that clock."""
        if self.context and not basis.judged:
            return Finding(False, f"periodic series {_no_context_words(self.context)}")
        c = onsets if clock is None else clock
        c_now = now if clock_now is None else clock_now
        per = basis.per if self.context else ""  # "rest ": the window and the index in rest time
        window = _judged(_minutes(self.window_s), basis) if per else _minutes(self.window_s)
        lo = np.searchsorted(c, c_now - self.horizon_s, "right")
        hi = np.searchsorted(c, c_now, "right")
        o, oc = onsets[lo:hi], c[lo:hi]
        ids = series_ids(o, self.min_interval_s, self.max_interval_s, self.min_count)
        member = ids >= 0
        inside = oc > c_now - self.window_s
        n = int(np.count_nonzero(member & inside))
        n_series = np.unique(ids[member & inside]).size  # the series with members inside the window
        index = n / (self.window_s / 3600.0)
        met = index > self.index_per_hour
        # while met, the index can only fall when a series twitch leaves the window
        nxt = float(oc[member & inside][0]) + self.window_s if met else math.inf
        return Finding(met,
                       f"{_twitches(n)} in {n_series} periodic series (at least {self.min_count}, "
                       f"{_num(self.min_interval_s)}-{_num(self.max_interval_s)} s apart) in the last "
                       f"{window}: index {_num(index)}/{per}h "
                       f"(threshold above {_num(self.index_per_hour)}/{per}h)", nxt)


@dataclass(frozen=True)
class DaysRule(RuleBase):
    """Another rule's condition met on at least ``min_days`` of the last ``of_days`` calendar days."""

    rule: str = ""
    min_days: int = 3
    of_days: int = 7
    kind = "days"
    family = "days"

    def evaluate_days(self, days_met: set[int] | frozenset[int], today: int) -> Finding:
        """``days_met``: day ordinals on which ``rule`` was met; ``today``: the current day's ordinal."""
        n = sum(1 for d in days_met if today - self.of_days < d <= today)
        return Finding(n >= self.min_days,
                       f"'{self.rule}' met on {n} of the last {self.of_days} days "
                       f"(threshold {self.min_days})")


@dataclass(frozen=True)
class NoDataRule(RuleBase):
    """FAULT: no samples for ``seconds`` (gap in the stream, or the link says so)."""

    seconds: float = 30.0
    kind = "no-data"
    family = "fault"

    def evaluate_status(self, s: FaultStatus, now: float) -> Finding:
        if s.link_down_since is not None:
            return Finding(True, f"no data from the sensor since stream time {s.link_down_since:.1f} s "
                                 "(the link reported it)")
        if s.last_sample_t is None:
            return Finding(False, "no data yet")
        quiet = now - s.last_sample_t
        if quiet < self.seconds and s.resumed_after_s is not None:
            return Finding(False, f"data flowing again after {_num(s.resumed_after_s)} s without data")
        return Finding(quiet >= self.seconds,
                       f"no data from the sensor for {_num(quiet)} s (threshold {_num(self.seconds)} s)")


@dataclass(frozen=True)
class NotWornRule(RuleBase):
    """FAULT: no movement at all (every block's activity level below ``still_g``, no twitch) for ``minutes_s``
    (the activity level is the measure of "still" everywhere, :mod:`twitchsense.detection.context`)."""

    minutes_s: float = 3600.0
    still_g: float = 0.01
    kind = "not-worn"
    family = "fault"

    def evaluate_status(self, s: FaultStatus, now: float) -> Finding:
        since = s.last_movement_t if s.last_movement_t is not None else s.first_sample_t
        if since is None:
            return Finding(False, "no samples yet")
        still = now - since
        return Finding(still >= self.minutes_s,
                       f"no movement at all for {_minutes(still)} (threshold {_minutes(self.minutes_s)}): "
                       "the sensor may not be worn")


@dataclass(frozen=True)
class SaturationRule(RuleBase):
    """FAULT: at least ``count`` samples at full scale within ``window_s`` (strength is then unknown)."""

    count: int = 5
    window_s: float = 10.0
    fraction: float = 0.98
    kind = "saturation"
    family = "fault"

    def evaluate_status(self, s: FaultStatus, now: float) -> Finding:
        if s.range_g <= 0:
            return Finding(False, "sensor range unknown: saturation not checked")
        n = sum(1 for x in s.saturated_t if now - self.window_s < x <= now)
        return Finding(n >= self.count,
                       f"{n} samples at the sensor's full scale ({_num(s.range_g)} g) in the last "
                       f"{_num(self.window_s)} s (threshold {self.count})")


#: Rule kinds by their name in a rule file.
RULE_KINDS: dict[str, type[RuleBase]] = {
    cls.kind: cls for cls in (FrequencyRule, PersistenceRule, StrengthRule, PeriodicRule, DaysRule,
                              NoDataRule, NotWornRule, SaturationRule)
}
