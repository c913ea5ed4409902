"""Rule files: TOML in, a validated :class:`RuleSet` out, errors that name the file, the rule and the problem.

The default set ships as ``twitchsense/alerts/default_rules.toml``; ``--rules FILE``
replaces it. A file has an optional ``[settings]`` table (``hold_minutes``,
``cooldown_minutes``) and one ``[[rule]]`` table per rule with ``name``, ``kind``,
``level`` (``info``, ``warning``, ``alert``), optional ``guidance``, and the kind's
own keys (see :data:`KIND_KEYS`). Frequency and persistence rules count per judged minute (time the
detector can judge); ``above = "reference:p95"`` sets their threshold to the healthy reference range
of the sensor's placement (:mod:`twitchsense.alerts.reference`), ``per_minute`` then being the
threshold only where the placement has no range. ``context = "rest"`` (frequency, persistence and periodic
rules) counts only events the detector judged at rest, per hour of rest time: the AASM anchors (periodic limb
movements, excessive fragmentary myoclonus) are scored in sleep or lying awake at rest, not in daytime
activity. A rule without it counts as before. Those rules count only *sleep-like* rest (``[settings]``
``sleep_like_minutes``, default 5: stretches of the detector's rest context at least that long; optionally
``sleep_like_gap_seconds`` and ``sleep_like_fraction``: breaks up to that long tolerated in a stretch at least
that part rest), and each one's window also ends ``clock_cap_windows`` (default 2) times its length back in
clock time (:mod:`twitchsense.alerts.sleeplike`).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from ..errors import TwitchsenseError
from ..types import LEVELS
from .rules import REFERENCE_PERCENTILES, RULE_KINDS, DaysRule, RuleBase


class RuleError(TwitchsenseError):
    """A rule file is malformed: the message names the file, the rule and the problem."""


@dataclass(frozen=True)
class RuleSet:
    """Validated rules and the engine settings that go with them.

    hold_s : how long a lower condition must last before a level falls back one step.
    cooldown_s : a rule raised again to a level it announced less than this ago is not re-announced.
    source : where the rules came from (a path, or ``default``).
    """

    rules: tuple[RuleBase, ...]
    hold_s: float = 120.0
    cooldown_s: float = 1800.0
    source: str = "default"
    #: rules with ``context = "rest"`` count only sleep-like rest (:mod:`twitchsense.alerts.sleeplike`): stretches
    #: of the detector's rest context at least this long (0: any rest) ...
    sleep_like_s: float = 300.0
    #: ... whose breaks of the rest context up to this long are tolerated (0: none; docs/physiology.md says why) ...
    sleep_like_gap_s: float = 0.0
    #: ... and which are at least this part rest
    sleep_like_fraction: float = 0.9
    #: a rest rule's window also ends this many times its length back in clock time: the rest clock stands
    #: still while the wearer is up, and a night's twitches must not keep a warning up through the next day
    clock_cap_windows: float = 2.0

    def by_name(self, name: str) -> RuleBase:
        return next(r for r in self.rules if r.name == name)


def _positive(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf:
        raise ValueError(f"must be a number above 0, got {v!r}")
    return float(v)


def _non_negative(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
        raise ValueError(f"must be a number of 0 or more, got {v!r}")
    return float(v)


def _count(minimum: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise ValueError(f"must be a whole number of at least {minimum}, got {v!r}")
        return v
    return check


def _fraction(v: Any) -> float:
    v = _positive(v)
    if v > 1:
        raise ValueError(f"must be above 0 and at most 1, got {v!r}")
    return v


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"must be a non-empty text, got {v!r}")
    return v.strip()


def _reference(v: Any) -> str:
    """``above``: a percentile of the healthy reference range, ``reference:p95``."""
    known = ", ".join(f"'reference:{p}'" for p in REFERENCE_PERCENTILES)
    if not isinstance(v, str) or not v.startswith("reference:") or v.split(":", 1)[1] not in REFERENCE_PERCENTILES:
        raise ValueError(f"must be one of {known}, got {v!r}")
    return v


#: ``context`` values of a rule file: the one context a rule may be limited to.
RULE_CONTEXTS = ("rest",)


def _context(v: Any) -> str:
    """``context``: count only events in this context, per hour of its time (``rest``)."""
    if v not in RULE_CONTEXTS:
        known = ", ".join(f"'{c}'" for c in RULE_CONTEXTS)
        raise ValueError(f"must be {known} (count only events at rest, per hour of rest time), got {v!r}")
    return v


def _at_least_one(v: Any) -> float:
    """A multiple of a window: a window of rest time never spans less clock time than its length."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 1 <= v < math.inf:
        raise ValueError(f"must be a number of 1 or more (times the rule's window), got {v!r}")
    return float(v)


def _minutes(v: Any) -> float:
    return 60.0 * _positive(v)


def _minutes0(v: Any) -> float:
    return 60.0 * _non_negative(v)


#: Per kind: file key -> (field of the rule class, converter). Units are in the key's name.
KIND_KEYS: dict[str, dict[str, tuple[str, Callable[[Any], Any]]]] = {
    "frequency": {"per_minute": ("per_minute", _positive), "window_minutes": ("window_s", _minutes),
                  "above": ("above", _reference), "context": ("context", _context)},
    "persistence": {"per_minute": ("per_minute", _positive), "window_minutes": ("window_s", _minutes),
                    "above": ("above", _reference), "context": ("context", _context),
                    "minutes": ("sustained_s", _minutes), "tolerance_minutes": ("tolerance_s", _minutes0)},
    "strength": {"min_g": ("min_g", _positive), "count": ("count", _count(1)),
                 "window_minutes": ("window_s", _minutes)},
    "periodic": {"min_count": ("min_count", _count(2)), "min_interval_s": ("min_interval_s", _non_negative),
                 "max_interval_s": ("max_interval_s", _positive),
                 "index_per_hour": ("index_per_hour", _non_negative),
                 "window_minutes": ("window_s", _minutes), "context": ("context", _context)},
    "days": {"rule": ("rule", _text), "min_days": ("min_days", _count(1)), "of_days": ("of_days", _count(1))},
    "no-data": {"seconds": ("seconds", _positive)},
    "not-worn": {"minutes": ("minutes_s", _minutes), "still_g": ("still_g", _positive)},
    "saturation": {"count": ("count", _count(1)), "window_s": ("window_s", _positive),
                   "fraction": ("fraction", _fraction)},
}
COMMON_KEYS = ("name", "kind", "level", "guidance")
SETTINGS_KEYS = {"hold_minutes": ("hold_s", _minutes0), "cooldown_minutes": ("cooldown_s", _minutes0),
                 "sleep_like_minutes": ("sleep_like_s", _minutes0),
                 "sleep_like_gap_seconds": ("sleep_like_gap_s", _non_negative),
                 "sleep_like_fraction": ("sleep_like_fraction", _fraction),
                 "clock_cap_windows": ("clock_cap_windows", _at_least_one)}
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def default_rules_path() -> Path:
    """The rule file shipped in the package."""
    return Path(str(resources.files("twitchsense.alerts") / "default_rules.toml"))


def load_rules(path: str | os.PathLike | None = None) -> RuleSet:
    """Read and validate a rule file (the shipped default when ``path`` is None)."""
    p = Path(path) if path is not None else default_rules_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{p}: cannot read the rule file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise RuleError(f"{p}: not a UTF-8 text file") from None
    return parse_rules(text, str(p) if path is not None else "default")


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Validate the TOML ``text`` of a rule file; ``source`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from None
    extra = set(doc) - {"settings", "rule"}
    if extra:
        raise RuleError(f"{source}: unknown top-level key(s) {', '.join(sorted(extra))} "
                        "(expected [settings] and [[rule]] tables)")
    settings: dict[str, float] = {}
    raw_settings = doc.get("settings", {})
    if not isinstance(raw_settings, dict):
        raise RuleError(f"{source}: [settings] must be a table")
    for key, value in raw_settings.items():
        if key not in SETTINGS_KEYS:
            raise RuleError(f"{source}: [settings]: unknown key '{key}' (known: {', '.join(SETTINGS_KEYS)})")
        field_name, conv = SETTINGS_KEYS[key]
        try:
            settings[field_name] = conv(value)
        except ValueError as exc:
            raise RuleError(f"{source}: [settings]: {key} {exc}") from None
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{source}: no rules: add at least one [[rule]] table")
    rules: list[RuleBase] = []
    for i, raw in enumerate(raw_rules, 1):
        rules.append(_parse_rule(raw, i, source))
    names = [r.name for r in rules]
    for r in rules:
        if names.count(r.name) > 1:
            raise RuleError(f"{source}: rule '{r.name}': the name is used by more than one rule")
        if isinstance(r, DaysRule):
            target = next((x for x in rules if x.name == r.rule), None)
            if target is None:
                raise RuleError(f"{source}: rule '{r.name}': rule = '{r.rule}' names no rule in this file")
            if target.family != "twitch":
                raise RuleError(f"{source}: rule '{r.name}': rule = '{r.rule}' must name a twitch rule "
                                f"(frequency, persistence, strength or periodic), not a {target.kind} rule")
            if r.min_days > r.of_days:
                raise RuleError(f"{source}: rule '{r.name}': min_days ({r.min_days}) is more than "
                                f"of_days ({r.of_days})")
        if getattr(r, "kind", "") == "periodic" and r.min_interval_s > r.max_interval_s:  # type: ignore
            raise RuleError(f"{source}: rule '{r.name}': min_interval_s is more than max_interval_s")
    return RuleSet(tuple(rules), source=source, **settings)


def _parse_rule(raw: Any, i: int, source: str) -> RuleBase:
    if not isinstance(raw, dict):
        raise RuleError(f"{source}: rule {i}: must be a [[rule]] table")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise RuleError(f"{source}: rule {i}: name must be lower-case letters, digits, '-' or '_', "
                        f"got {name!r}")
    where = f"{source}: rule '{name}'"
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        raise RuleError(f"{where}: kind must be one of {', '.join(RULE_KINDS)}, got {kind!r}")
    level = raw.get("level")
    if level not in LEVELS:
        raise RuleError(f"{where}: level must be one of {', '.join(LEVELS)}, got {level!r}")
    keys = KIND_KEYS[kind]
    kwargs: dict[str, Any] = {"name": name, "level": level}
    if "guidance" in raw:
        try:
            kwargs["guidance"] = _text(raw["guidance"])
        except ValueError as exc:
            raise RuleError(f"{where}: guidance {exc}") from None
    for key, value in raw.items():
        if key in COMMON_KEYS:
            continue
        if key not in keys:
            raise RuleError(f"{where}: unknown key '{key}' for a {kind} rule "
                            f"(known: {', '.join(keys)})")
        field_name, conv = keys[key]
        try:
            kwargs[field_name] = conv(value)
        except ValueError as exc:
            raise RuleError(f"{where}: {key} {exc}") from None
    if "above" in raw and "per_minute" not in raw:
        kwargs["per_minute"] = 0.0  # no fallback: where the placement has no range the rule does not judge
    if kind == "days" and "rule" not in raw:
        raise RuleError(f"{where}: a days rule needs rule = 'NAME' (the rule to count days of)")
    return RULE_KINDS[kind](**kwargs)
