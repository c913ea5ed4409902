"""The alert engine: events, samples and link faults in; alert changes out.

Every rule has a level state (none, ``info``, ``warning``, ``alert``). A rule whose
condition holds raises its level at once; when the condition stops holding, the
level falls back one step (alert -> warning -> info -> none) each time a lower
condition has lasted ``hold_s`` (hysteresis, after OpenSeizureDetector's ALARM ->
WARNING -> OK). Faults (no data, not worn, saturation) clear at once. Only
changes are reported (de-duplication), and a rule raised again to a level it
announced less than ``cooldown_s`` ago is reported with ``notify=False`` so that
commands and notifications do not repeat (cool-down). The state (levels, recent
events, the days each rule was met) is saved to ``state_path`` so a restart
continues where it stopped.

Times are stream seconds; the session's ``start_time`` (ISO 8601 with offset)
maps them to absolute time and calendar days (the days rules). Without it, day
boundaries fall every 86 400 s of stream time.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from ..detection.context import ActivityMeter, ContextConfig, is_still
from ..detection.judged import JudgedClock
from ..errors import TwitchsenseError, TwitchsenseWarning
from ..io.recording import DEFAULT_GAP_S
from ..io.atomic import write_atomic
from ..io.sessionclock import SessionClock
from ..types import LEVELS, Alert, ContextSpan, LinkEvent, TwitchEvent
from .rulefile import RuleSet, load_rules
from .sleeplike import SleepLikeRest
from .rules import (DaysRule, FaultStatus, Finding, FrequencyRule, NoDataRule, NotWornRule, PeriodicRule,
                    PersistenceRule, RateBasis, RuleBase, SaturationRule, level_rank)

if TYPE_CHECKING:
    from ..io.recording import Recording

STATE_VERSION = 1
#: link event kinds that mean data stopped arriving
LINK_DOWN_KINDS = ("no_data", "disconnected")


@dataclass(frozen=True)
class AlertChange(Alert):
    """A change of one rule's level (an :class:`~twitchsense.io.outputs.Alert` with what changed).

    change : ``raised`` (start = end = when), ``lowered`` (falling back one step;
        start = end = when) or ``cleared`` (``level`` is the level that ended,
        ``start`` when it began, ``end`` when it cleared).
    previous : the level before the change (``""`` for none).
    notify : False when the cool-down holds the announcement back, and for
        ``lowered``/``cleared``: commands and notifications act only on True.
    guidance : plain-words guidance for the wearer.
    fault : the rule is a fault (the sensor cannot measure), not a twitch finding.
    """

    change: str = "raised"
    previous: str = ""
    notify: bool = True
    guidance: str = ""
    fault: bool = False

    @property
    def time(self) -> float:
        """When the change happened (stream seconds)."""
        return self.end

    def as_dict(self) -> dict:
        return {"start": self.start, "end": self.end, "level": self.level, "rule": self.rule,
                "detail": self.detail, "change": self.change, "previous": self.previous,
                "notify": self.notify, "guidance": self.guidance, "fault": self.fault}


@dataclass
class RuleState:
    """One rule's level state (times in stream seconds)."""

    level: str | None = None
    since: float | None = None           # when the current level began
    below_since: float | None = None     # when a lower condition began (hysteresis)
    entry_detail: str = ""               # the figures when the current level began
    detail: str = ""                     # the latest figures
    announced: dict[str, float] = field(default_factory=dict)  # level -> absolute time announced


class AlertEngine:
    """Turns twitch events, samples and link events into alert level changes.

    Parameters
    ----------
    rules : a :class:`RuleSet` (the shipped default when None).
    state_path : JSON file the state is saved to and restored from (None: no persistence).
    start_time : the session's start (ISO 8601 with offset) for calendar days and restarts.
    range_g : the sensor's full scale in g (saturation is checked only when known).
    meta : the source's live ``meta`` dict: ``start_time`` and ``range_g`` are read from it
        when they appear (a serial board's are known only after its first samples).
    clock : a :class:`~twitchsense.io.sessionclock.SessionClock` shared with the sinks
        (built from ``start_time``/``meta`` when None).
    keep_episodes : collect closed level stretches in :attr:`episodes` (for batch alerts).
    save_interval_s : longest wall-clock time new events wait before the state is saved
        (level changes are saved at once).
    placement : where the sensor is worn (else the ``meta``'s ``placement``), for rules that compare
        with the healthy reference range (``above = "reference:p95"``).

    Frequency and persistence rules count in judged time once the detector's context is handed in
    (:meth:`on_context`): a window of 10 minutes is the last 10 minutes the detector could judge.
    Without any context they count in stream time, and their details say "/min", not "/judged min".
    known_days : per rule name, the calendar day ordinals on which the history saw it raised
        (:func:`twitchsense.history.known_days`), added to the days rules' memory: a session
        that keeps no state still counts the days before it.

    Example
    -------
    >>> eng = AlertEngine(start_time="2026-03-01T22:00:00+01:00")
    >>> changes = eng.on_events(events, now=1234.5)  # doctest: +SKIP
    """

    def __init__(self, rules: RuleSet | None = None, state_path: str | os.PathLike | None = None,
                 start_time: str | datetime | None = None, range_g: float | None = None, *,
                 meta: dict | None = None, clock: SessionClock | None = None,
                 keep_episodes: bool = False, save_interval_s: float = 5.0,
                 known_days: dict[str, set[int]] | None = None, placement: str | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.judged = JudgedClock()
        self._placement = placement
        self.state_path = Path(state_path) if state_path is not None else None
        self.keep_episodes = keep_episodes
        self.save_interval_s = save_interval_s
        self.episodes: list[Alert] = []
        self.twitch_rules = [r for r in self.rules.rules if r.family == "twitch"]
        self.days_rules = [r for r in self.rules.rules if isinstance(r, DaysRule)]
        self.fault_rules = [r for r in self.rules.rules if r.family == "fault"]
        #: rules with ``context = "rest"`` (AASM anchors, scored in sleep) and how far back in clock time each counts
        self.rest_rules = {r.name: self.rules.clock_cap_windows * r.counted_s
                           for r in self.twitch_rules if getattr(r, "context", "")}
        #: sleep-like rest: the clock of the rest rules (None when no rule has a context: nothing to keep)
        self.rest = (SleepLikeRest(self.rules.sleep_like_s, self.rules.sleep_like_gap_s, self.rules.sleep_like_fraction)
                     if self.rest_rules else None)
        self.horizon_s = max([r.horizon_s for r in self.twitch_rules] + list(self.rest_rules.values()) or [0.0])
        self._onsets = np.empty(0)
        self._peaks = np.empty(0)
        self._at_rest = np.empty(0, dtype=bool)  # per event: the detector judged it in rest context
        self.state: dict[str, RuleState] = {r.name: RuleState() for r in self.rules.rules}
        self.days_met: dict[str, set[int]] = {r.rule: set() for r in self.days_rules}
        self._known_days = known_days or {}
        self.clock = clock if clock is not None else SessionClock(start_time, meta)
        self.clock.set_start(start_time)
        self._meta = meta
        self.range_g = float(range_g or 0.0)
        not_worn = next((r for r in self.fault_rules if isinstance(r, NotWornRule)), None)
        self._still_g = not_worn.still_g if not_worn else 0.01
        sat = next((r for r in self.fault_rules if isinstance(r, SaturationRule)), None)
        self._sat_rule = sat
        self._first_sample_t: float | None = None
        self._last_sample_t: float | None = None
        self._link_down_since: float | None = None
        self._resumed_after_s: float | None = None
        self._last_movement_t: float | None = None
        self._activity: ActivityMeter | None = None  # the movement of the current stretch without gaps
        self._activity_t: float | None = None  # its last sample
        self._fault_due = -math.inf
        self._gap_s = min([r.seconds for r in self.fault_rules if isinstance(r, NoDataRule)] or [math.inf])
        self._saturated_t = np.empty(0)
        self._now = -math.inf
        #: the earliest stream time a twitch or days rule can change without a new event
        self.next_due = math.inf
        self._events_changed = True  # evaluate everything at the first input
        self._dirty = False
        self._save_failed = False
        self._last_save = time.monotonic()
        # the saved state is checked now and applied with the first input, once the
        # session's start time (which maps its absolute times) is known
        self._saved = (self._read_state() if self.state_path is not None and self.state_path.exists()
                       else None)
        self._restored = self._saved is None
        self._add_known_days()

    def _add_known_days(self) -> None:
        for name, days in self._known_days.items():
            if name in self.days_met:
                self.days_met[name] |= set(days)

    @property
    def epoch_offset(self) -> float:
        """Unix time of stream time 0 (0 when the session's start is unknown)."""
        return self.clock.epoch_offset

    def _begin(self) -> None:
        """Before the first input: read late metadata, restore the saved state (once)."""
        if self._meta is not None and not self.range_g and self._meta.get("range_g"):
            try:
                self.range_g = float(self._meta["range_g"])
            except (TypeError, ValueError):
                pass
        if not self._restored:
            self._restored = True
            self._apply_state(self._saved)  # type: ignore[arg-type]
            self._saved = None
            self._add_known_days()  # the saved state's days and the history's

    # ---- inputs -------------------------------------------------------------------------
    def on_events(self, events: Sequence[TwitchEvent], now: float) -> list[AlertChange]:
        """New twitch events (any order); evaluate every rule at stream time ``now``."""
        self._begin()
        if len(events):
            on = np.array([e.onset for e in events], dtype=float)
            pk = np.array([e.peak_g for e in events], dtype=float)
            self._add(on, pk, np.array([e.context == "rest" for e in events], dtype=bool))
            end = max(e.onset + e.duration for e in events)
            self._last_movement_t = max(self._last_movement_t or -math.inf, end)
        return self._evaluate(now)

    def on_context(self, spans: Sequence[ContextSpan]) -> None:
        """The detector's context as it is decided (any overlap with earlier spans counts once): frequency
        and persistence rules then count judged time. Evaluated with the next input or tick."""
        before = self.judged.at(math.inf) if self.judged.seen else -1.0
        self.judged.add(spans)
        if self.rest is not None:
            self.rest.add(spans)
        if float(self.judged.at(math.inf)) != before:
            self._events_changed = True

    @property
    def basis(self) -> RateBasis:
        """What rates are per now (judged time once context came), and the placement."""
        placement = self._placement or (self._meta or {}).get("placement") or None
        return RateBasis(self.judged.seen, str(placement) if placement else None, 0.0 if self.judged.seen else -math.inf)

    def on_samples(self, t: np.ndarray, acc: np.ndarray) -> list[AlertChange]:
        """New samples: feed the faults (gaps, movement, saturation); evaluate at the last sample."""
        t = np.asarray(t, dtype=float).reshape(-1)
        if t.size == 0:
            return []
        self._begin()
        acc = np.asarray(acc, dtype=float).reshape(-1, 3)
        changes: list[AlertChange] = []
        if self._last_sample_t is not None and t[0] - self._last_sample_t >= self._gap_s:
            changes += self._evaluate(float(t[0]))  # a gap in the stream shows as no data until t[0]
        if self._first_sample_t is None:
            self._first_sample_t = float(t[0])
        if self._last_sample_t is not None and (t[0] - self._last_sample_t >= self._gap_s
                                                or self._link_down_since is not None):
            self._resumed_after_s = float(t[0] - self._last_sample_t)  # said when the no-data fault clears
        self._last_sample_t = float(t[-1])
        self._link_down_since = None
        self._note_movement(t, acc)
        if self._sat_rule is not None and self.range_g > 0:
            hit = np.any(np.abs(acc) >= self._sat_rule.fraction * self.range_g, axis=1)
            if hit.any():
                keep = self._saturated_t[self._saturated_t > t[-1] - self._sat_rule.window_s]
                self._saturated_t = np.concatenate([keep, t[hit]])[-10_000:]
        return changes + self._evaluate(float(t[-1]))

    def on_link(self, event: LinkEvent, now: float) -> list[AlertChange]:
        """A link event: ``no_data``/``disconnected`` start the no-data fault until samples return."""
        self._begin()
        if event.kind in LINK_DOWN_KINDS and self._link_down_since is None:
            self._link_down_since = self._last_sample_t if self._last_sample_t is not None else now
        return self._evaluate(now)

    def tick(self, now: float) -> list[AlertChange]:
        """Time passed: rates fall, levels fall back, faults such as no-data fire."""
        self._begin()
        return self._evaluate(now)

    def close(self, now: float | None = None) -> list[AlertChange]:
        """End of the session: close open level stretches into :attr:`episodes`, save the state."""
        when = now if now is not None else self._now
        if self.keep_episodes and math.isfinite(when):
            for rule in self.rules.rules:
                st = self.state[rule.name]
                if st.level is not None and st.since is not None:
                    self.episodes.append(Alert(st.since, when, st.level, rule.name, st.entry_detail))
        if self._restored:
            self.save()
        return []

    # ---- read-outs ----------------------------------------------------------------------
    def active(self) -> dict[str, tuple[str, float, str]]:
        """Rules with a level now: name -> (level, since, latest detail)."""
        self._begin()
        return {n: (s.level, s.since, s.detail) for n, s in self.state.items()
                if s.level is not None and s.since is not None}

    def rate_against_range(self, window_s: float = 600.0) -> dict:
        """The wearer's rate now, per judged hour over the last ``window_s`` judged seconds (stream seconds
        without context), against the healthy range of the placement: figures and one line of words
        (the live views show it)."""
        from .reference import against_range, reference_range

        basis = self.basis
        now = self._now
        if not math.isfinite(now):
            return {"text": "against healthy people: no data yet", "per_hour": None}
        if basis.judged:
            j_now = float(self.judged.at(now))
            span = min(window_s, j_now)
            n = int(np.count_nonzero(self.judged.at(self._onsets) > j_now - window_s))
        else:
            span = min(window_s, now - (self._first_sample_t if self._first_sample_t is not None else now))
            n = int(np.count_nonzero(self._onsets > now - window_s))
        per = "judged " if basis.judged else ""
        if span < 60.0:
            return {"text": f"against healthy people: not yet (under 1 {per}minute so far)", "per_hour": None,
                    "judged": basis.judged}
        rate = n / (span / 3600.0)
        r = reference_range(basis.placement)
        return {"text": f"against healthy people: {against_range(rate, basis.placement, basis.judged)}, "
                        f"over the last {span / 60:.0f} {per}min",
                "per_hour": rate, "judged": basis.judged, "p50": r.p50 if r else None, "p95": r.p95 if r else None,
                "placement": r.placement if r else None}

    def day_of(self, now: float) -> int:
        """Calendar day ordinal of stream time ``now`` (the session's local date)."""
        return self.clock.day(now)

    # ---- evaluation ---------------------------------------------------------------------
    def _add(self, onsets: np.ndarray, peaks: np.ndarray, at_rest: np.ndarray) -> None:
        on = np.concatenate([self._onsets, onsets])
        pk = np.concatenate([self._peaks, peaks])
        rest = np.concatenate([self._at_rest, at_rest])
        if on.size > 1 and np.any(np.diff(on) < 0):
            order = np.argsort(on, kind="stable")
            on, pk, rest = on[order], pk[order], rest[order]
        self._onsets, self._peaks, self._at_rest = on, pk, rest
        self._dirty = True
        self._events_changed = True

    def _note_movement(self, t: np.ndarray, acc: np.ndarray) -> None:
        """Movement: a block whose activity level (:mod:`twitchsense.detection.context`, the measure
        of "still" everywhere) is above ``still_g``. Each stretch between gaps is measured on its own."""
        starts = np.flatnonzero(np.diff(t) >= DEFAULT_GAP_S) + 1
        for a, b in zip(np.concatenate([[0], starts]), np.concatenate([starts, [t.size]])):
            if self._activity is None or t[a] - self._activity_t >= DEFAULT_GAP_S:
                rate = self._rate_hz(t[a:b])
                if rate is None:
                    continue
                self._activity = ActivityMeter(rate, acc[a])
            self._activity_t = float(t[b - 1])
            _, levels = self._activity.push(acc[a:b])
            if levels.size and not is_still(levels, self._still_g).all():
                self._last_movement_t = max(self._last_movement_t or -math.inf, float(t[b - 1]))

    def _rate_hz(self, t: np.ndarray) -> float | None:
        """The stream's sample rate: the session's, else from the samples' spacing (None: not yet known)."""
        rate = float((self._meta or {}).get("sample_rate_hz") or 0.0)
        if not rate and t.size >= 2:
            rate = 1.0 / float(np.median(np.diff(t)))
        return rate if rate > 2 * ContextConfig.background_hz else None

    def _next_fault_due(self) -> float:
        """Earliest time no-data or not-worn can fire if nothing else happens."""
        due = math.inf
        for r in self.fault_rules:
            if isinstance(r, NoDataRule) and self._last_sample_t is not None:
                due = min(due, self._last_sample_t + r.seconds)
            elif isinstance(r, NotWornRule):
                since = self._last_movement_t if self._last_movement_t is not None else self._first_sample_t
                if since is not None:
                    due = min(due, since + r.minutes_s)
        return due

    def _faults_idle(self, now: float) -> bool:
        """True when no fault is raised and none can be before new input (their evaluation is skipped)."""
        if self._link_down_since is not None:
            return False
        if self._sat_rule is not None and self._saturated_t.size and \
                self._saturated_t[-1] > now - self._sat_rule.window_s:
            return False
        if any(self.state[r.name].level is not None for r in self.fault_rules):
            return False
        return now < self._fault_due

    def _evaluate(self, now: float) -> list[AlertChange]:
        self._now = max(self._now, now)
        if self._onsets.size and self._onsets[0] <= now - self.horizon_s:
            k = int(np.searchsorted(self._onsets, now - self.horizon_s, "right"))
            if self.judged.seen:  # judged windows may reach further back than stream time (rest ones may not)
                j = self.judged.at(self._onsets[:k + 1])
                k = min(k, int(np.searchsorted(j, float(self.judged.at(now)) - self.horizon_s, "right")))
            self._onsets, self._peaks, self._at_rest = self._onsets[k:], self._peaks[k:], self._at_rest[k:]
        if self.judged.seen:  # spans an event still to come (its onset a little before now) may still need
            oldest = min(float(self._onsets[0]) if self._onsets.size else now, now - self.horizon_s)
            self.judged.forget_before(oldest)
            if self.rest is not None:
                self.rest.forget_before(oldest)
        changes: list[AlertChange] = []
        # twitch and days rules can only change with new events or at next_due (exact): skip otherwise
        if self._events_changed or now >= self.next_due:
            self._events_changed = False
            changes += self._evaluate_twitch_rules(now)
        if self.fault_rules and not self._faults_idle(now):
            status = FaultStatus(self._last_sample_t, self._link_down_since, self._last_movement_t,
                                 self._first_sample_t, self._saturated_t, self.range_g, self._resumed_after_s)
            for rule in self.fault_rules:
                changes += self._step(rule, rule.evaluate_status(status, now), now)  # type: ignore
            self._fault_due = self._next_fault_due()
        if changes or (self._dirty and time.monotonic() - self._last_save >= self.save_interval_s):
            self.save()
        return changes

    def _met_since(self, rule, now: float) -> float:
        """A time since which ``rule``, met at ``now``, has held: its newest onset up to ``now``. A count in a
        trailing window only falls between onsets, so it held from there; an event is known only at its end
        (later live), and one at 23:59:59.999 that meets the rule meets it on that day. A persistence rule
        (met once a run lasts long enough, not at an onset): ``now``."""
        if isinstance(rule, PersistenceRule):
            return now
        k = int(np.searchsorted(self._onsets, now, side="right")) - 1
        return min(float(self._onsets[k]), now) if k >= 0 else now

    def _evaluate_twitch_rules(self, now: float) -> list[AlertChange]:
        changes: list[AlertChange] = []
        today = self.day_of(now)
        due = math.inf
        basis = self.basis
        j_onsets = self.judged.at(self._onsets) if basis.judged else self._onsets
        j_now = float(self.judged.at(now)) if basis.judged else now
        if self.rest is not None:  # events in sleep-like rest as known now, on its clock
            sleep = self.rest.sleep_like(now)
            at_rest = self._at_rest & sleep.covers(self._onsets)
            r_all, r_now = sleep.at(self._onsets), float(sleep.at(now))
        for rule in self.twitch_rules:
            context = getattr(rule, "context", "")
            if context:  # only events in sleep-like rest, and not older than the rule's clock-time cap
                rest = at_rest & (self._onsets > now - self.rest_rules[rule.name])
                if rest.any():  # the oldest counted event leaves the cap then
                    due = min(due, float(self._onsets[rest][0]) + self.rest_rules[rule.name])
                r_onsets, r_basis = r_all[rest], dataclasses.replace(basis, context=context)
            if isinstance(rule, FrequencyRule) and not context:  # rates per judged minute: on the judged clock
                f = rule.evaluate(j_onsets, self._peaks, j_now, basis)
                # the judged clock runs at most as fast as stream time: the change comes no earlier
                f = Finding(f.met, f.detail, now + (f.next_change - j_now))
            elif isinstance(rule, FrequencyRule):  # events at rest only, per minute of rest time
                f = rule.evaluate(r_onsets, self._peaks[rest], r_now, r_basis)
                f = Finding(f.met, f.detail, now + (f.next_change - r_now))  # rest time runs no faster either
            elif isinstance(rule, PeriodicRule) and context:  # series of events at rest, indexed per rest hour
                f = rule.evaluate(self._onsets[rest], self._peaks[rest], now, r_basis, r_onsets, r_now)
                f = Finding(f.met, f.detail, now + (f.next_change - r_now))
            else:
                f = rule.evaluate(self._onsets, self._peaks, now)  # type: ignore[attr-defined]
            due = min(due, f.next_change)
            if f.met and rule.name in self.days_met:
                for day in range(self.day_of(self._met_since(rule, now)), today + 1):
                    if day not in self.days_met[rule.name]:
                        self.days_met[rule.name].add(day)
                        self._dirty = True
            changes += self._step(rule, f, now)
        for rule in self.days_rules:
            changes += self._step(rule, rule.evaluate_days(self.days_met[rule.rule], today), now)
        if any(self.days_met.values()):
            due = min(due, self.clock.day_start(today + 1))
        for rule in self.twitch_rules + self.days_rules:
            st = self.state[rule.name]
            if st.level is not None and st.below_since is not None:
                due = min(due, st.below_since + self.rules.hold_s)
        if self._onsets.size and self._onsets[-1] > now:
            due = min(due, float(self._onsets[np.searchsorted(self._onsets, now, "right")]))
        if self.rest is not None:  # a stretch becomes sleep-like: the twitches of its first minutes count from then
            due = min(due, self.rest.next_qualified(now))
        self.next_due = due
        return changes

    def _close_episode(self, rule: RuleBase, st: RuleState, now: float) -> None:
        if self.keep_episodes and st.level is not None and st.since is not None:
            self.episodes.append(Alert(st.since, now, st.level, rule.name, st.entry_detail))

    def _step(self, rule: RuleBase, f: Finding, now: float) -> list[AlertChange]:
        st = self.state[rule.name]
        target = rule.level if f.met else None
        cur = st.level
        st.detail = f.detail
        fault = rule.family == "fault"
        if level_rank(target) > level_rank(cur):
            self._close_episode(rule, st, now)
            abs_now = self.epoch_offset + now
            notify = abs_now - st.announced.get(target, -math.inf) >= self.rules.cooldown_s  # type: ignore
            if notify:
                st.announced[target] = abs_now  # type: ignore[index]
            st.level, st.since, st.below_since, st.entry_detail = target, now, None, f.detail
            return [AlertChange(now, now, target, rule.name, f.detail, change="raised",  # type: ignore
                                previous=cur or "", notify=notify, guidance=rule.advice, fault=fault)]
        if level_rank(target) == level_rank(cur):
            st.below_since = None
            return []
        # the condition is below the current level: fall back one step per hold time
        if st.below_since is None:
            st.below_since = now
        if not fault and now - st.below_since < self.rules.hold_s:
            return []
        self._close_episode(rule, st, now)
        new = None if fault or cur == LEVELS[0] else LEVELS[LEVELS.index(cur) - 1]  # type: ignore[arg-type]
        if new is None:
            change = AlertChange(st.since if st.since is not None else now, now, cur, rule.name,  # type: ignore
                                 f.detail, change="cleared", previous=cur or "",
                                 notify=False, guidance=rule.advice, fault=fault)
            st.level = st.since = st.below_since = None
            st.entry_detail = ""
            return [change]
        st.level, st.since, st.below_since = new, now, now
        st.entry_detail = f"falling back from {cur}: {f.detail}"
        return [AlertChange(now, now, new, rule.name, st.entry_detail, change="lowered", previous=cur or "",
                            notify=False, guidance=rule.advice, fault=fault)]

    # ---- persistence --------------------------------------------------------------------
    def save(self) -> None:
        """Write the state to ``state_path`` atomically (no-op without a path)."""
        self._dirty = False
        self._last_save = time.monotonic()
        if self.state_path is None:
            return
        off = self.epoch_offset

        def ab(x: float | None) -> float | None:
            return None if x is None else x + off

        doc = {
            "version": STATE_VERSION,
            "saved_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "rules_source": self.rules.source,
            "events": [[round(o + off, 6), round(p, 6), int(r)]  # onset, peak, at rest (1) or not (0)
                       for o, p, r in zip(self._onsets, self._peaks, self._at_rest)],
            "rules": {n: {"level": s.level, "since": ab(s.since), "below_since": ab(s.below_since),
                          "entry_detail": s.entry_detail, "announced": s.announced}
                      for n, s in self.state.items()
                      if n not in {r.name for r in self.fault_rules}},
            "days_met": {n: sorted(d) for n, d in self.days_met.items()},
        }
        if self.rest is not None:  # the rest runs the rest rules still need: a restart mid-night keeps its stretch
            doc["rest_spans"] = [[round(a + off, 6), round(b + off, 6)] for a, b in self.rest.spans()]
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.state_path, json.dumps(doc))  # a temporary name of its own: writers never collide
        except OSError as exc:  # a full disk must not end a session: alerts go on, the save is retried
            self._dirty = True
            if not self._save_failed:
                self._save_failed = True
                warnings.warn(TwitchsenseWarning(
                    f"{self.state_path}: the alert state cannot be saved ({exc.strerror or exc}); alerts go on, "
                    "but a restart would not continue where this session stopped"), stacklevel=2)

    def _read_state(self) -> dict:
        """Parse and check the saved state (absolute times); errors name the file."""
        p = self.state_path
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))  # type: ignore[union-attr]
            if not isinstance(doc, dict) or doc.get("version") != STATE_VERSION:
                raise ValueError(f"version {doc.get('version') if isinstance(doc, dict) else doc!r}, "
                                 f"expected {STATE_VERSION}")
            rules = {}
            for name, s in doc.get("rules", {}).items():
                if s.get("level") is not None and s["level"] not in LEVELS:
                    raise ValueError(f"rule '{name}' has level {s['level']!r}")
                rules[name] = {"level": s.get("level"),
                               "since": None if s.get("since") is None else float(s["since"]),
                               "below_since": None if s.get("below_since") is None else float(s["below_since"]),
                               "entry_detail": str(s.get("entry_detail", "")),
                               "announced": {k: float(v) for k, v in s.get("announced", {}).items()
                                             if k in LEVELS}}
            events = doc.get("events", [])
            # a state saved before events kept their context has [onset, peak]: not known to be at rest
            events = [list(e) + [0] * (3 - len(e)) if isinstance(e, list) and len(e) == 2 else e for e in events]
            return {"events": np.asarray(events, dtype=float).reshape(-1, 3), "rules": rules,
                    # saved before rest rules counted sleep-like rest: no spans
                    "rest_spans": np.asarray(doc.get("rest_spans", []), dtype=float).reshape(-1, 2),
                    "days_met": {n: {int(d) for d in days} for n, days in doc.get("days_met", {}).items()}}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise TwitchsenseError(f"{p}: the alert state file cannot be read ({exc}); "
                                   "move it away to start with a fresh state") from None

    def _apply_state(self, saved: dict) -> None:
        """Continue from a saved state, its absolute times mapped onto this session's stream time."""
        off = self.epoch_offset
        ev = saved["events"]
        self._onsets, self._peaks, self._at_rest = ev[:, 0] - off, ev[:, 1], ev[:, 2] > 0
        for name, s in saved["rules"].items():
            if name in self.state and name not in {r.name for r in self.fault_rules}:
                st = self.state[name]
                st.level, st.entry_detail, st.announced = s["level"], s["entry_detail"], s["announced"]
                st.since = None if s["since"] is None else s["since"] - off
                st.below_since = None if s["below_since"] is None else s["below_since"] - off
        for name, days in saved["days_met"].items():
            if name in self.days_met:
                self.days_met[name] = set(days)
        if self.rest is not None:
            self.rest.restore(saved["rest_spans"] - off)
        self._events_changed = True


def alerts_for_events(events: Iterable[TwitchEvent], start: float, end: float,
                      rules: RuleSet | None = None, start_time: str | datetime | None = None, *,
                      known_days: dict[str, set[int]] | None = None,
                      changes: list[AlertChange] | None = None,
                      context: Sequence[ContextSpan] | None = None, placement: str | None = None) -> list[Alert]:
    """The alerts of a finished recording: the live engine run over its events.

    Each event is fed when it ends; between events the engine is ticked exactly
    at the times a rule can change (:attr:`AlertEngine.next_due`), so the times
    are exact and a day of events takes well under a second. Returns the level
    stretches (``start``, ``end``, ``level``, ``rule``, ``detail``) sorted by
    start, for ``NAME.alerts.csv``. Faults are not judged (they need the samples).
    ``known_days``: as for :class:`AlertEngine`; ``changes``, when given, receives every level
    change as the live engine reports it (for the history). With ``context`` (the detector's,
    ``NAME.context.csv``) rates are per judged minute; ``placement`` picks the healthy reference range
    of rules with ``above = "reference:..."``.
    """
    start, end = float(start), float(end)
    evs = sorted(events, key=lambda e: e.onset + e.duration)
    eng = AlertEngine(rules, start_time=start_time, keep_episodes=True, known_days=known_days, placement=placement)
    out = changes if changes is not None else []
    eng.fault_rules = []
    if context is not None:
        eng.on_context(context)
    ends = [max(e.onset + e.duration, start) for e in evs]
    now = start

    def run_until(limit: float) -> None:
        nonlocal now
        while eng.next_due < limit and eng.next_due <= end:
            now = max(eng.next_due, now + 1e-6)
            out.extend(eng.tick(now))

    i = 0
    while i < len(evs) and ends[i] <= end:
        j = i + 1
        while j < len(evs) and ends[j] == ends[i]:
            j += 1
        run_until(ends[i])
        now = ends[i]
        out.extend(eng.on_events(evs[i:j], now))
        i = j
    run_until(math.inf)
    out.extend(eng.close(end))
    return sorted(eng.episodes, key=lambda a: (a.start, a.rule))


def recording_alerts(events: Iterable[TwitchEvent], rec: "Recording", rules: RuleSet | None = None,
                     context: Sequence[ContextSpan] | None = None, **history) -> list[Alert]:
    """The alerts of a recording's events, for ``NAME.alerts.csv`` (:func:`alerts_for_events` over the
    recording's time span, dated by its ``start_time``, rates per judged minute of ``context``, the
    placement from its sidecar; ``known_days``/``changes`` passed on)."""
    if rec.n_samples == 0:
        return []
    return alerts_for_events(events, float(rec.t[0]), float(rec.t[-1]), rules=rules,
                             start_time=rec.meta.get("start_time") or None, context=context,
                             placement=rec.meta.get("placement") or None, **history)
