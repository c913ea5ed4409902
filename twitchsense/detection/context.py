"""The wearer's activity state around each moment: ``rest``, ``light`` or ``active``.

Activity is measured on short blocks (``block_s``) as the RMS of the high-passed
acceleration magnitude; the state of a block is decided by the *median* of the
block levels over the ``2 * half_s`` seconds up to it (the past only, so the
live path need not wait for it), so a twitch (one or two blocks) does not make
its own context look active; when the highest block level of the last
``release_s`` seconds is lower, that is used, so the state falls back soon
after movement stops. During ``active`` stretches the
detector answers "cannot tell" instead of reporting twitches: vigorous
movement hides twitches, and claiming them there is where false alarms come
from in real life.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..types import STATES, ContextSpan


@dataclass(frozen=True)
class ContextConfig:
    """Thresholds (g, RMS of the high-passed magnitude) and block geometry."""

    block_s: float = 0.25
    half_s: float = 1.0
    release_s: float = 0.75
    light_g: float = 0.015
    active_g: float = 0.08


def block_levels(mag: np.ndarray, block: int) -> np.ndarray:
    """RMS of ``mag`` over consecutive blocks of ``block`` samples (a partial tail block is dropped)."""
    nb = mag.size // block
    return np.sqrt(np.mean(mag[:nb * block].reshape(nb, block) ** 2, axis=1))


def past_window(levels: np.ndarray, done: int, span: int,
                reduce: Callable[..., np.ndarray] = np.median) -> np.ndarray:
    """``reduce`` (median, max...) of each block level from index ``done`` on with the ``span``
    levels before it (the first level repeated before the start): causal smoothing, computable
    block by block."""
    if levels.size <= done:
        return np.zeros(0)
    lo = done - span
    part = levels[max(0, lo):]
    if lo < 0:
        part = np.concatenate([np.full(-lo, levels[0]), part])
    return reduce(np.lib.stride_tricks.sliding_window_view(part, span + 1), axis=1)


def smoothed_levels(levels: np.ndarray, done: int, span: int, release: int) -> np.ndarray:
    """Smoothed level of each block from index ``done`` on: the median of it and the ``span`` blocks
    before it or, when lower, the highest of it and the ``release`` blocks before it (``0``: off).

    The median keeps a twitch (a block or two) from looking like activity; the short maximum
    lets the level fall once movement has stopped for ``release + 1`` blocks instead of about
    ``span / 2`` (movement that pauses for less, such as steps, keeps it up). Neither rises
    faster than the median, so activity never starts earlier than before.
    """
    level = past_window(levels, done, span)
    if release > 0:
        level = np.minimum(level, past_window(levels, done, release, np.max))
    return level


def states_of(level_g: np.ndarray, cfg: ContextConfig = ContextConfig()) -> np.ndarray:
    """State index (0 rest, 1 light, 2 active) of each smoothed level."""
    return np.digitize(level_g, [cfg.light_g, cfg.active_g]).astype(np.int8)


def spans_of(t0: float, block_s: float, state_idx: np.ndarray, level_g: np.ndarray) -> list[ContextSpan]:
    """Merge consecutive blocks of one state into spans (block ``i`` covers ``t0 + i*block_s``...)."""
    if state_idx.size == 0:
        return []
    change = np.flatnonzero(np.diff(state_idx)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [state_idx.size]])
    return [ContextSpan(float(t0 + s * block_s), float(t0 + e * block_s), STATES[int(state_idx[s])],
                        float(np.max(level_g[s:e]))) for s, e in zip(starts, ends)]


def merge_spans(spans: list[ContextSpan]) -> list[ContextSpan]:
    """Join touching spans of the same state (e.g. across streaming pieces)."""
    out: list[ContextSpan] = []
    for s in spans:
        if out and out[-1].state == s.state and abs(out[-1].end - s.start) < 1e-6:
            prev = out[-1]
            out[-1] = ContextSpan(prev.start, s.end, s.state, max(prev.level_g, s.level_g))
        else:
            out.append(s)
    return out


def time_in_states(spans: list[ContextSpan]) -> dict[str, float]:
    """Seconds spent in each state."""
    out = {s: 0.0 for s in STATES}
    for sp in spans:
        out[sp.state] += sp.end - sp.start
    return out
