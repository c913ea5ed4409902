"""The wearer's activity state around each moment: ``rest``, ``light`` or ``active``; and "still".

Movement is the magnitude of the acceleration high-passed at ``background_hz``
(posture and gravity, slower, are not movement; :class:`Movement`). Activity is
measured on short blocks (``block_s``) as the RMS of that movement
(:class:`ActivityMeter`, :func:`activity_levels`); the state of a block is decided by the *median* of the
block levels over the ``2 * half_s`` seconds up to it (the past only, so the
live path need not wait for it), so a twitch (one or two blocks) does not make
its own context look active; when the highest block level of the last
``release_s`` seconds is lower, that is used, so the state falls back soon
after movement stops. During ``active`` stretches the
detector answers "cannot tell" instead of reporting twitches: vigorous
movement hides twitches, and claiming them there is where false alarms come
from in real life.

*Still*, defined once here and used by the detector's context, the injector
(:func:`twitchsense.simulate.inject_twitches`), the alert engine's ``not-worn``
rule and the report: the activity level is below a threshold, by default the
context's ``light_g`` (the ``rest`` state; ``not-worn`` uses its own ``still_g``:
no movement at all). Recorded segments whose label is one of :data:`STILL_LABELS`
are still.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from scipy import signal

from ..types import STATES, ContextSpan
from .preprocess import highpass_sos

#: Labels of recorded segments that mean the wearer is still: rest time in scoring, injection allowed there.
STILL_LABELS = frozenset({"seated", "sitting", "rest", "still", "lying", "sleep", "sleeping", "standing",
                          "quiet", "background", "sleep-onset"})


@dataclass(frozen=True)
class ContextConfig:
    """Thresholds (g, RMS of the high-passed magnitude), block geometry and the high-pass."""

    block_s: float = 0.25
    half_s: float = 1.0
    release_s: float = 0.75
    light_g: float = 0.015
    active_g: float = 0.08
    background_hz: float = 3.0

    @property
    def half_blocks(self) -> int:
        """Blocks in half the median's window."""
        return int(round(self.half_s / self.block_s))

    @property
    def release_blocks(self) -> int:
        """Blocks before each block in the short maximum (:func:`smoothed_levels`)."""
        return max(0, int(round(self.release_s / self.block_s)) - 1)

    def block_samples(self, rate_hz: float) -> int:
        return max(1, int(round(self.block_s * rate_hz)))


class Movement:
    """The movement of a stretch without gaps: the magnitude of the acceleration high-passed at
    ``background_hz`` (causal; the filter state carries over between calls, so any chunking gives
    the same values; it starts at rest at ``x0``, the first sample)."""

    def __init__(self, rate_hz: float, background_hz: float, x0: np.ndarray) -> None:
        self.sos = highpass_sos(rate_hz, background_hz)
        self.zi = signal.sosfilt_zi(self.sos)[:, :, None] * np.asarray(x0, dtype=float)[None, None, :]

    def magnitude(self, x: np.ndarray) -> np.ndarray:
        """``(n,)`` movement in g of the next ``(n, 3)`` samples."""
        hp, self.zi = signal.sosfilt(self.sos, x, axis=0, zi=self.zi)
        return np.sqrt(hp[:, 0] ** 2 + hp[:, 1] ** 2 + hp[:, 2] ** 2)


class ActivityMeter:
    """Activity levels of a stretch without gaps, fed in chunks of any size: the RMS of the movement
    over each complete block of ``block_s`` (the same figures whatever the chunking)."""

    def __init__(self, rate_hz: float, x0: np.ndarray, cfg: ContextConfig = ContextConfig()) -> None:
        self.movement = Movement(rate_hz, cfg.background_hz, x0)
        self.block = cfg.block_samples(rate_hz)
        self.tail = np.zeros(0)

    def push(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The movement of each new sample and the levels of the blocks they complete."""
        mag, levels, _ = self.push_blocks(x)
        return mag, levels

    def push_blocks(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`push`, and the highest movement of each block completed (an impact's mark)."""
        mag = self.movement.magnitude(x)
        tail = np.concatenate([self.tail, mag])
        nb = tail.size // self.block
        self.tail = tail[nb * self.block:]
        return mag, block_levels(tail, self.block), tail[:nb * self.block].reshape(nb, self.block).max(axis=1)


def activity_levels(acc: np.ndarray, rate_hz: float, cfg: ContextConfig = ContextConfig()
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Activity of a stretch without gaps: each block's level and its smoothed level (the state's)."""
    if len(acc) == 0:
        return np.zeros(0), np.zeros(0)
    _, levels = ActivityMeter(rate_hz, acc[0], cfg).push(acc)
    return levels, smoothed_levels(levels, 0, 2 * cfg.half_blocks, cfg.release_blocks)


def is_still(level_g: np.ndarray, still_g: float = ContextConfig.light_g) -> np.ndarray:
    """Still: the activity level below ``still_g`` (by default the context's ``rest``)."""
    return np.asarray(level_g) < still_g


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
    before it or, when lower, the highest of it and the ``release`` blocks before it.

    The median keeps a twitch (a block or two) from looking like activity; the short maximum
    lets the level fall once movement has stopped for ``release + 1`` blocks instead of about
    ``span / 2`` (movement that pauses for less, such as steps, keeps it up). Neither rises
    faster than the median, so activity never starts earlier than the median alone would start it
    (a ``release`` as long as ``span`` gives the median alone).
    """
    return np.minimum(past_window(levels, done, span), past_window(levels, done, release, np.max))


def states_of(level_g: np.ndarray, cfg: ContextConfig = ContextConfig()) -> np.ndarray:
    """State index (0 rest, 1 light, 2 active) of each smoothed level."""
    return np.digitize(level_g, [cfg.light_g, cfg.active_g]).astype(np.int8)


def spans_of(t0: float, block_s: float, state_idx: np.ndarray, level_g: np.ndarray,
             first: int = 0) -> list[ContextSpan]:
    """Merge consecutive blocks of one state into spans (``state_idx[i]`` is block ``first + i``, which
    covers ``t0 + (first + i) * block_s``...: the same float for a block however the blocks came in)."""
    if state_idx.size == 0:
        return []
    change = np.flatnonzero(np.diff(state_idx)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [state_idx.size]])
    return [ContextSpan(float(t0 + (first + s) * block_s), float(t0 + (first + e) * block_s),
                        STATES[int(state_idx[s])], float(np.max(level_g[s:e]))) for s, e in zip(starts, ends)]


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
