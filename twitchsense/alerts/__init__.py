"""The alerting layer: rules (``rules``), rule files (``rulefile``) and the engine (``engine``).

>>> from twitchsense.alerts import AlertEngine, load_rules
>>> engine = AlertEngine(load_rules())  # the shipped default_rules.toml
"""

from ..io.sessionclock import parse_start_time
from .engine import AlertChange, AlertEngine, alerts_for_events, recording_alerts
from .rulefile import RuleError, RuleSet, default_rules_path, load_rules, parse_rules
from .rules import GUIDANCE, RULE_KINDS, Finding

__all__ = ["AlertChange", "AlertEngine", "alerts_for_events", "recording_alerts", "parse_start_time", "RuleError",
           "RuleSet", "default_rules_path", "load_rules", "parse_rules", "GUIDANCE", "RULE_KINDS", "Finding"]
