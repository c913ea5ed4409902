"""The detector's configuration: everything besides the model that decides events, saved whole
in the model file (:mod:`twitchsense.detection.model`), so a model file fixes its own behaviour.

Changing a default here changes what newly trained models save, never what an existing model
file does; except for fields added after a model file was written (:data:`ADDED_FIELDS`): such a
file takes their defaults (the confirmation stage and the context's physics apply to it too).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from ..io.recording import DEFAULT_GAP_S
from .context import ContextConfig


#: Fields added after model files were shipped: a file without them takes their defaults.
ADDED_FIELDS = frozenset({"start_unjudged_s", "impact_active_s", "confirm", "confirm_after_s",
                          "confirm_active_share", "confirm_tilt_deg", "confirm_rest_g", "confirm_rest_ratio",
                          "train_within_s", "train_min", "train_max_peak_g", "impact_limb_g", "impact_trunk_g",
                          "confirm_checks"})
#: The confirmation's checks (its reasons for a retraction), in the order they are tried.
CONFIRM_CHECKS = ("impact", "movement-follows", "not-at-rest", "train")
#: Words of a sidecar's free-text ``placement`` that put the sensor on the trunk (else: a limb).
TRUNK_WORDS = ("waist", "pocket", "back", "hip", "trunk", "chest", "belt", "torso", "sternum", "abdomen", "pelvis")


def is_trunk(placement: str | None) -> bool:
    """Whether a sidecar's ``placement`` is on the trunk (waist, pocket, back, hip...); unknown: a limb."""
    return re.search(r"\b(" + "|".join(TRUNK_WORDS) + r")\b", (placement or "").lower()) is not None


@dataclass
class DetectorConfig:
    """Everything besides the model that decides events (stored whole in the model file)."""

    # windows
    step_s: float = 0.08  # every peak is in 5 windows; events are timed from the signal, not the grid
    # candidate gate: the 30 ms mean of the high-passed magnitude above gate_ratio x the context's
    # level of the block before, and above gate_min_g
    gate_background_hz: float = ContextConfig.background_hz
    gate_smooth_s: float = 0.03
    gate_ratio: float = 2.5
    gate_min_g: float = 0.012
    threshold: float = 0.5
    # an event's extent: the run above extent_share of its peak (and extent_noise x the noise before
    # the window), dips shorter than bridge_s bridged; it may start extend_s before its window and
    # end up to max_extend_s after it (longer is movement, not a twitch); the look-ahead grows in
    # steps of grow_s while it goes on, and settle_s of signal after its end makes it final
    extent_share: float = 0.1
    extent_noise: float = 3.0
    bridge_s: float = 0.06
    extend_s: float = 0.3
    max_extend_s: float = 1.0
    grow_s: float = 0.25
    settle_s: float = 0.05
    # merging: later windows whose peak lies within merge_s of an event's end belong to it, and so
    # does a peak under aftermath_share of its peak_g within aftermath_s after its end (the limb settling)
    merge_s: float = 0.12
    aftermath_s: float = 0.25
    aftermath_share: float = 0.3
    # context: in "active" stretches the detector cannot tell (no window is classified)
    suppress_active: bool = True
    light_g: float = ContextConfig.light_g
    active_g: float = ContextConfig.active_g
    context_block_s: float = ContextConfig.block_s
    context_half_s: float = ContextConfig.half_s
    context_release_s: float = ContextConfig.release_s
    gap_s: float = DEFAULT_GAP_S
    # context physics: a segment's first start_unjudged_s are "cannot tell" (the context has no past
    # to judge from); so are the block of an impact (movement above the placement's impact cap) and
    # the impact_active_s after it
    start_unjudged_s: float = 2.25
    impact_active_s: float = 1.0
    # confirmation (:mod:`twitchsense.detection.confirmation`): every event is provisional, then confirmed
    # or retracted from confirm_after_s of signal after its end; the reasons and their physics are in
    # docs/physiology.md ("Confirmation")
    confirm: bool = True
    confirm_after_s: float = 3.0
    confirm_active_share: float = 0.6   # movement-follows: share of blocks at active_g after the event
    confirm_tilt_deg: float = 30.0      # movement-follows: or gravity turned by this much
    confirm_rest_g: float = 0.03        # not-at-rest: median level after >= this and >= ratio x before
    confirm_rest_ratio: float = 3.0
    train_within_s: float = 1.5         # train: >= train_min comparable transients within this
    train_min: int = 2
    train_max_peak_g: float = 0.15      # ... and the event under this (tics repeat in runs and are larger)
    impact_limb_g: float = 1.5          # impact: peak_g above the largest twitch at the skin
    impact_trunk_g: float = 1.0
    # the checks the confirmation applies (comma-separated, of CONFIRM_CHECKS): all, unless training found
    # on its own labelled data that one costs clearly (training.choose_threshold)
    confirm_checks: str = ",".join(CONFIRM_CHECKS)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.checks) - set(CONFIRM_CHECKS))
        if unknown:
            raise ValueError(f"detector configuration with unknown confirmation checks {', '.join(unknown)} "
                             f"(known: {', '.join(CONFIRM_CHECKS)})")

    @property
    def checks(self) -> tuple[str, ...]:
        """The confirmation checks applied, in :data:`CONFIRM_CHECKS`' order."""
        named = {c.strip() for c in self.confirm_checks.split(",") if c.strip()}
        return tuple(c for c in CONFIRM_CHECKS if c in named) + tuple(sorted(named - set(CONFIRM_CHECKS)))

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        """The configuration a model file saved: every field, no other (a ``ValueError`` names the difference)."""
        names = {f.name for f in fields(cls)}
        missing, unknown = sorted(names - set(d) - ADDED_FIELDS), sorted(set(d) - names)
        if missing or unknown:
            raise ValueError("detector configuration " + "; ".join(
                part for part in (f"without {', '.join(missing)}" if missing else "",
                                  f"with unknown {', '.join(unknown)}" if unknown else "") if part))
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def impact_cap_g(self, placement: str | None) -> float:
        """The largest ``peak_g`` a twitch can have where the sensor is worn (:func:`is_trunk`)."""
        return self.impact_trunk_g if is_trunk(placement) else self.impact_limb_g

    @property
    def context(self) -> ContextConfig:
        return ContextConfig(block_s=self.context_block_s, half_s=self.context_half_s,
                             release_s=self.context_release_s, light_g=self.light_g, active_g=self.active_g,
                             background_hz=self.gate_background_hz)
