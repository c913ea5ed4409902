"""The detector's configuration: everything besides the model that decides events, saved whole
in the model file (:mod:`twitchsense.detection.model`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..io.recording import DEFAULT_GAP_S
from .context import ContextConfig


@dataclass
class DetectorConfig:
    """Everything besides the model that decides events (stored in the model file)."""

    step_s: float = 0.08  # every peak is in 5 windows; events are timed from the signal, not the grid
    gate_background_hz: float = 3.0
    gate_ratio: float = 2.5
    gate_min_g: float = 0.012
    gate_floor_s: float = 1.0
    gate_floor: str = "median"  # "median": the context's level of the block before; "ema": a gate_floor_s mean
    threshold: float = 0.5
    merge_s: float = 0.12
    suppress_active: bool = True
    light_g: float = ContextConfig.light_g
    active_g: float = ContextConfig.active_g
    context_block_s: float = ContextConfig.block_s
    context_half_s: float = ContextConfig.half_s
    context_release_s: float = ContextConfig.release_s
    gap_s: float = DEFAULT_GAP_S

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        names = {f.name for f in fields(cls)}
        # model files from before the median floor and the context's short fall-back window
        d = {"gate_floor": "ema", "context_release_s": 0.0, **d}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def context(self) -> ContextConfig:
        return ContextConfig(block_s=self.context_block_s, half_s=self.context_half_s,
                             release_s=self.context_release_s, light_g=self.light_g, active_g=self.active_g)
