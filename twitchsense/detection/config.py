"""The detector's configuration: everything besides the model that decides events, saved whole
in the model file (:mod:`twitchsense.detection.model`), so a model file fixes its own behaviour.

Changing a default here changes what newly trained models save, never what an existing model
file does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..io.recording import DEFAULT_GAP_S
from .context import ContextConfig


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

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        """The configuration a model file saved: every field, no other (a ``ValueError`` names the difference)."""
        names = {f.name for f in fields(cls)}
        missing, unknown = sorted(names - set(d)), sorted(set(d) - names)
        if missing or unknown:
            raise ValueError("detector configuration " + "; ".join(
                part for part in (f"without {', '.join(missing)}" if missing else "",
                                  f"with unknown {', '.join(unknown)}" if unknown else "") if part))
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def context(self) -> ContextConfig:
        return ContextConfig(block_s=self.context_block_s, half_s=self.context_half_s,
                             release_s=self.context_release_s, light_g=self.light_g, active_g=self.active_g,
                             background_hz=self.gate_background_hz)
