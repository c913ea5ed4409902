"""The healthy reference range: how many detections per judged hour people without twitches get.

Measured by ``python -m benchmarks.reference_range --write`` on real recordings of healthy people
(``docs/reference-range.md``) and shipped as ``twitchsense/data/reference_range.json``. Alert rules
compare the wearer's rate against it (``above = "reference:p95"``), and the report, the web pages and
the live views show the rate against it in the words of :func:`against_range`.

>>> from twitchsense.alerts.reference import reference_range
>>> r = reference_range("waist (belt)", "judged")
>>> r.p95 if r else None  # doctest: +SKIP
48.2

A placement without a measured range has none (``None``): nothing is invented for it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

#: Placements the range knows, by the word that names them in a sidecar's free-text ``placement``.
PLACEMENT_WORDS = ("wrist", "waist", "pocket", "ankle", "chest", "back", "thigh", "arm", "hip")
#: The kinds of time a range is measured on: judged (rest + light), each context, and still time.
RATE_KINDS = ("judged", "rest", "light", "still")


def placement_key(placement: str | None) -> str | None:
    """The range's name for a sidecar's ``placement`` ("wrist (side not recorded)" -> "wrist"), or None."""
    text = (placement or "").lower()
    for word in PLACEMENT_WORDS:
        if re.search(rf"\b{word}", text):
            return word
    return None


@dataclass(frozen=True)
class Range:
    """p50 / p90 / p95 of healthy people's detections per hour of one kind of time, for one placement.

    units : subjects (or, for a one-subject placement, parts of its day) the percentiles are over.
    hours : the time they were measured on. thin : one subject, or too few to trust a 95th percentile.
    """

    placement: str
    kind: str
    p50: float
    p90: float
    p95: float
    units: int
    hours: float
    thin: bool
    measured: str
    #: the range of each healthy unit's highest rate over this many minutes (0: of whole-recording rates)
    window_min: float = 0.0

    def value(self, name: str) -> float:
        """``p50``, ``p90`` or ``p95``."""
        return float(getattr(self, name))

    def describe(self, name: str = "p95") -> str:
        """The figure in words: "healthy waist p95 48/judged h" ("...; thin" when it rests on one subject)."""
        per = "judged h" if self.kind == "judged" else ("still h" if self.kind == "still" else f"h at {self.kind}")
        of = f" of the highest {self.window_min:g}-min rates" if self.window_min else ""
        return f"healthy {self.placement} {name}{of} {self.value(name):.0f}/{per}" + (" (thin data)" if self.thin else "")


@functools.lru_cache(maxsize=1)
def reference_data() -> dict:
    """The shipped ``reference_range.json`` (an empty dict when the package has none)."""
    try:
        text = (resources.files("twitchsense") / "data" / "reference_range.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return {}
    return json.loads(text)


def reference_range(placement: str | None, kind: str = "judged") -> Range | None:
    """The healthy range for this placement (a sidecar's text is fine) and kind of time, or None
    when the placement is unknown or has no published range."""
    key = placement_key(placement) if placement not in (reference_data().get("ranges") or {}) else placement
    entry = (reference_data().get("ranges") or {}).get(key or "")
    if not entry or not entry.get("published"):
        return None
    p = entry.get(kind) or {}
    if not p.get("n_units"):
        return None
    return Range(str(key), kind, float(p["p50"]), float(p["p90"]), float(p["p95"]), int(p["n_units"]),
                 float(p["hours"]), bool(entry.get("thin")), str(reference_data().get("measured", "")))


def window_range(placement: str | None, kind: str, window_s: float) -> Range | None:
    """The range of healthy units' highest rate over a window of ``window_s`` of this kind of time (what a
    frequency rule with that window computes over a recording), or None where none is published for that
    window length. A rule's rate over its window meets this, not the range of whole-recording rates: the
    highest 10-minute rate of a day lies above a day's rate."""
    key = placement_key(placement) if placement not in (reference_data().get("ranges") or {}) else placement
    entry = (reference_data().get("ranges") or {}).get(key or "")
    if not entry or not entry.get("published"):
        return None
    p = ((entry.get("window_max") or {}).get(f"{window_s / 60.0:g}") or {}).get(kind) or {}
    if not p.get("n_units") or "p95" not in p:
        return None
    return Range(str(key), kind, float(p["p50"]), float(p["p90"]), float(p["p95"]), int(p["n_units"]),
                 float((entry.get(kind) or {}).get("hours", 0.0)), bool(entry.get("thin")),
                 str(reference_data().get("measured", "")), window_s / 60.0)


def no_range_reason(placement: str | None) -> str:
    """Why there is no range, in words (for alert details, the report and the live view)."""
    key = placement_key(placement)
    if not placement:
        return "no healthy range: the recording does not say where the sensor was worn (placement)"
    if key is None:
        return f"no healthy range for placement '{placement}'"
    entry = (reference_data().get("ranges") or {}).get(key)
    if not entry:
        return f"no healthy range for the {key}: no healthy recordings of it were measured"
    return f"no healthy range for the {key}: {entry.get('why_not', 'too little data')}"


def compare(rate_per_h: float, placement: str | None, kind: str = "judged") -> str:
    """The wearer's rate against the range in words, e.g.
    "52/judged h: between the healthy wrist p50 (26) and p95 (70)" (below / within / above the range)."""
    r = reference_range(placement, kind)
    per = "judged h" if kind == "judged" else ("still h" if kind == "still" else f"h at {kind}")
    head = f"{rate_per_h:.0f}/{per}"
    if r is None:
        return f"{head} ({no_range_reason(placement)})"
    if rate_per_h > r.p95:
        where = f"above the healthy {r.placement} p95 ({r.p95:.0f}; p50 {r.p50:.0f})"
    elif rate_per_h > r.p50:
        where = f"between the healthy {r.placement} p50 ({r.p50:.0f}) and p95 ({r.p95:.0f})"
    else:
        where = f"at or below the healthy {r.placement} p50 ({r.p50:.0f}; p95 {r.p95:.0f})"
    return f"{head}: {where}" + (" (thin data)" if r.thin else "")


def against_range(rate_per_h: float | None, placement: str | None, judged: bool = True) -> str:
    """The wearer's rate against the healthy range, in words: the one wording of the report, the web
    pages and the live views. The rate is always shown when there is one; below / within / above the
    range (:func:`compare`) when it is per judged hour and the placement has a range, and otherwise why
    it is not compared. ``judged`` False: the rate is per hour with data (judged time not known)."""
    if rate_per_h is None or not math.isfinite(rate_per_h):
        head = f"no rate: no {'judged ' if judged else ''}time yet"
        return head if reference_range(placement) else f"{head} ({no_range_reason(placement)})"
    if judged:
        return compare(rate_per_h, placement)
    r = reference_range(placement)
    head = f"{rate_per_h:.0f}/h with data"
    if r is None:
        return f"{head} (judged time not known; {no_range_reason(placement)})"
    return f"{head}: not compared with the healthy {r.placement} range, which is per judged hour (judged time not known)"
