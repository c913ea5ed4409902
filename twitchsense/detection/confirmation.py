"""The confirmation stage: every event is *provisional* first, then *confirmed* or *retracted*.

The detector raises an event about half a second after a twitch ends (it looks only
0.4 s past a window). Whether the twitch was one shows better a few seconds later,
so each event is judged again on a fixed stretch of signal, from ``PAST_S`` before its
onset to ``confirm_after_s`` (3 s) after its end, and retracted when one of these holds
(the physics of each: docs/physiology.md, "Confirmation"; the configuration's ``confirm_checks``
says which apply: all, unless ``train`` found on its own labelled data that one costs clearly):

- ``impact``: its ``peak_g`` is above the largest twitch at the skin for the placement
  (a limb 1.5 g, the trunk 1.0 g): a jump landing or sitting down hard;
- ``movement-follows``: a voluntary movement starts after it: at least 60 % of the 0.25 s
  blocks of [end + 0.5, end + 3] s at the context's active level, or gravity's direction turned
  by 30 degrees or more from before the onset to [end + 2, end + 3] s *and* from just after the
  event (its own displacement settled) to then (the event was the movement's onset flick);
- ``not-at-rest``: the limb does not come back to rest: the median block level over
  [end + 0.5, end + 2.5] s is at least 30 mg and at least 3 x the median of the 2 s before;
- ``train``: it is under 0.15 g and at least 2 comparable transients lie within 1.5 s of it
  (typing, fidgeting, brushing: trains of small transients at 3-10/s).

A following twitch is no movement: the blocks of a brief burst after the event (at most 1 s of
movement, the longest twitch, with the limb back to rest after it) count as rest for
``movement-follows`` and ``not-at-rest``; that keeps the next twitch of a bout or a tic run from
retracting this one.

Movement here is the acceleration minus its 0.5 s centred moving mean (gravity and slow
posture left out), in 0.25 s blocks of RMS; all of it is block arithmetic on a few seconds
of the engine's resampled signal, cheap. The stretch judged is fixed by the event (and by
its segment's ends), never by how the data arrived, so batch and live give the same verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..types import TwitchEvent
from .config import CONFIRM_CHECKS, DetectorConfig
from .preprocess import moving_mean

#: Seconds of signal before an event's onset the judgement reads (trains 1.5 s, the level 2.1 s).
PAST_S = 3.0
#: Reasons for a retraction, in the order they are tried (the configuration's ``confirm_checks`` says which apply).
REASONS = CONFIRM_CHECKS
GRAVITY_S = 0.5   # centred moving mean: gravity and posture
BLOCK_S = 0.25    # movement level blocks (the context's)
SMOOTH_S = 0.03   # transients: the movement's 30 ms mean
SEPARATION_S = 0.1  # transients at least this far apart
TRANSIENT_SHARE = 0.3  # comparable: at least this share of the event's peak
TRANSIENT_LEVEL = 3.0  # ... and this many times the stretch's median movement
TRANSIENT_STEPS = 2.0  # ... and this many sensor steps
TWITCH_MAX_S = 1.0     # the longest twitch (a tic, 100-1000 ms): a longer burst after the event is movement
REST_RATIO = 2.0       # back to rest: under the light level or within 2 x the level before the event
SETTLED_S = (0.25, 0.75)  # gravity once the event's own displacement has settled: [end + 0.25, end + 0.75] s


@dataclass(frozen=True)
class Judgement:
    """What the confirmation measured around one event (for diagnostics and tests)."""

    active_share: float   # share of blocks at the active level in [end + 0.5, end + 3] s
    tilt_deg: float       # gravity's turn to [end + 2, end + 3] s: the lesser of from [onset - 1, onset - 0.1] s
                          # and from [end + 0.25, end + 0.75] s (a twitch's own displacement left out)
    level_before_g: float  # median block level over [onset - 2.1, onset - 0.1] s
    level_after_g: float   # median block level over [end + 0.5, end + 2.5] s (a following twitch's blocks as rest)
    transients: int       # comparable transients within train_within_s of the event
    reason: str           # "" (confirmed) or the first reason of the configuration's checks that holds
    holds: tuple[str, ...] = ()  # every reason of REASONS that holds, applied or not


class Confirmer:
    """Judges events on the engine's resampled signal (``rate_hz``) with a configuration's thresholds.

    ``placement`` is the sidecar's free text (the impact cap's limb or trunk); ``step_g`` the
    sensor's step when known (a transient must be at least 2 steps high), else 0.
    """

    def __init__(self, config: DetectorConfig, rate_hz: float, placement: str | None = None,
                 step_g: float = 0.0) -> None:
        self.cfg = config
        self.checks = config.checks
        self.fs = float(rate_hz)
        self.cap_g = config.impact_cap_g(placement)
        self.step_g = float(step_g or 0.0)
        self.past = self.samples(PAST_S)
        self.after = self.samples(config.confirm_after_s)
        # a twitch of TWITCH_MAX_S can touch one block more than it fills
        self.twitch_blocks = int(np.ceil(TWITCH_MAX_S / BLOCK_S - 1e-9)) + 1

    def samples(self, seconds: float) -> int:
        return int(round(seconds * self.fs))

    def judge(self, x: np.ndarray, i0: int, i1: int, peak_g: float) -> Judgement:
        """The judgement of the event on samples ``i0..i1`` (inclusive) of ``x``, the ``(n, 3)`` stretch
        around it (at most :data:`PAST_S` before, ``confirm_after_s`` after; less at a segment's ends)."""
        cfg, S = self.cfg, self.samples
        end = i1 + 1
        grav = moving_mean(x, max(3, S(GRAVITY_S)))
        dyn = np.linalg.norm(x - grav, axis=1)
        blk = max(1, S(BLOCK_S))

        def levels(a: int, b: int) -> np.ndarray:
            """RMS of ``dyn`` over blocks from ``a`` to ``b`` (clipped to the stretch; a last partial block of 2+ kept)."""
            a, b = max(a, 0), min(b, dyn.size)
            if b - a < 2:
                return np.zeros(0)
            edges = np.arange(a, b, blk)
            sq = np.concatenate([[0.0], np.cumsum(dyn[a:b] ** 2)])
            lo, hi = edges - a, np.minimum(edges + blk, b) - a
            ok = hi - lo >= 2
            return np.sqrt((sq[hi[ok]] - sq[lo[ok]]) / (hi[ok] - lo[ok]))

        before = levels(i0 - S(2.1), i0 - S(0.1))
        level_before = float(np.median(before)) if before.size else 0.0
        # the blocks of [end + 0.5, end + 3] s, a following twitch's (a brief burst) as rest
        post = levels(end + S(0.5), end + S(cfg.confirm_after_s))
        quiet = max(cfg.light_g, REST_RATIO * level_before)
        post = np.where(_brief_bursts(post, quiet, self.twitch_blocks), 0.0, post)
        rest_after = post[:len(levels(end + S(0.5), end + S(2.5)))]
        active_share = float(np.mean(post >= cfg.active_g)) if post.size else 0.0
        level_after = float(np.median(rest_after)) if rest_after.size else 0.0
        g_after = x[end + S(cfg.confirm_after_s - 1.0):end + S(cfg.confirm_after_s)]
        tilt = 0.0
        if len(g_after):
            turns = [_angle(g.mean(axis=0), g_after.mean(axis=0)) for g in (
                x[max(i0 - S(1.0), 0):max(i0 - S(0.1), 0)], x[end + S(SETTLED_S[0]):end + S(SETTLED_S[1])]) if len(g)]
            tilt = min(turns) if len(turns) == 2 else 0.0
        n_tr = self._transients(dyn, i0, end, peak_g)
        holds = tuple(r for r, h in zip(REASONS, (
            peak_g > self.cap_g,
            active_share >= cfg.confirm_active_share or tilt >= cfg.confirm_tilt_deg,
            level_after >= max(cfg.confirm_rest_g, cfg.confirm_rest_ratio * level_before),
            n_tr >= cfg.train_min and peak_g < cfg.train_max_peak_g)) if h)
        reason = next((r for r in holds if r in self.checks), "")
        return Judgement(active_share, tilt, level_before, level_after, n_tr, reason, holds)

    def _transients(self, dyn: np.ndarray, i0: int, end: int, peak_g: float) -> int:
        """Comparable transients within ``train_within_s`` before the onset or after the end (0.15 s
        from the event left out: its own rise and settling): local maxima of the movement's 30 ms mean,
        at least 0.1 s apart (the highest first), above 0.3 x the event's peak, 3 x the stretch's median
        and 2 sensor steps."""
        S = self.samples
        sm = moving_mean(dyn, max(1, S(SMOOTH_S)))
        if sm.size < 3:
            return 0
        thr = max(TRANSIENT_SHARE * peak_g, TRANSIENT_LEVEL * float(np.median(sm)), TRANSIENT_STEPS * self.step_g)
        mid = sm[1:-1]
        loc = np.flatnonzero((mid >= sm[:-2]) & (mid > sm[2:]) & (mid >= thr)) + 1
        sep = max(1, S(SEPARATION_S))
        kept: list[int] = []
        for q in loc[np.argsort(-sm[loc], kind="stable")]:  # few candidates: a Python loop is fine here
            if all(abs(q - k) >= sep for k in kept):
                kept.append(int(q))
        k = np.asarray(kept, dtype=int)
        near, within = S(0.15), S(self.cfg.train_within_s)
        return int(np.sum(((k < i0 - near) & (k >= i0 - within)) | ((k > end - 1 + near) & (k <= end - 1 + within))))

    def verdict(self, event: TwitchEvent, x: np.ndarray, i0: int, i1: int) -> TwitchEvent:
        """The event confirmed, or retracted with its reason."""
        reason = self.judge(x, i0, i1, event.peak_g).reason
        return replace(event, status="retracted" if reason else "confirmed", reason=reason)


def _brief_bursts(level: np.ndarray, quiet_g: float, most: int) -> np.ndarray:
    """Blocks of brief bursts: runs of at most ``most`` blocks at ``quiet_g`` or more, ended by a block
    under it (a run still going at the stretch's end may be a movement that started: not brief)."""
    on = np.concatenate([[False], level >= quiet_g, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    out = np.zeros(level.size, bool)
    for a, b in zip(edges[::2], edges[1::2]):  # a few runs in 3 s of blocks
        if b - a <= most and b < level.size:
            out[a:b] = True
    return out


def _angle(u: np.ndarray, v: np.ndarray) -> float:
    """Angle in degrees between two vectors."""
    c = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))
