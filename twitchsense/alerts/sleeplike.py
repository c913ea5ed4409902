"""Sleep-like rest: the rest time the AASM-anchored rules (``context = "rest"``) count in.

The AASM scores periodic limb movements and fragmentary myoclonus in sleep. An accelerometer alone does
not see sleep; its usual proxy is sustained stillness (actigraphy's sustained inactivity bouts). Here
that is the detector's own ``rest`` context held for a while: a *stretch* of rest whose short breaks
(at most ``gap_s`` of anything else: a posture shift, a twitch's own movement) are tolerated, at least
``min_s`` long and at least ``fraction`` of it at rest. Rest in short runs between daytime movements (a
healthy wrist still for 10-60 s at a desk) is not sleep-like, however many twitches it holds.

Live and batch agree exactly: whether a stretch qualifies is a pure function of its spans and ``now``.
A stretch is known to qualify ``delay_s`` after the instant ``t`` at which its spans up to ``t`` meet
the conditions (``delay_s`` bounds how late the detector decides its context); from then on it counts
from its start (twitches of its first minutes count then, not before: a live monitor cannot know
earlier). The time up to ``t`` depends only on spans that began before ``t``, so a live engine, which
knows the context up to ``now - delay_s``, sees the same stretches as a batch run that knows it all.
"""

from __future__ import annotations

import math

import numpy as np

from ..detection.judged import JudgedClock
from ..types import ContextSpan

#: Seconds after a stretch meets the conditions at which it counts, live and batch alike: a bound on how
#: late the detector decides its context (``ContextConfig`` half_s + release_s = 1.75 s, plus a block).
SLEEP_LIKE_DELAY_S = 5.0


class SleepLikeRest(JudgedClock):
    """The detector's rest spans (a :class:`JudgedClock` of ``rest``) and which of them are sleep-like.

    min_s : a stretch counts once it is this long (0: every rest span counts at once, as any rest).
    gap_s : breaks of the rest context up to this long do not end a stretch (0: only touching spans join).
    fraction : at least this part of a stretch (up to any instant that qualifies it) is rest.
    """

    def __init__(self, min_s: float, gap_s: float = 0.0, fraction: float = 1.0,
                 delay_s: float = SLEEP_LIKE_DELAY_S) -> None:
        super().__init__(("rest",))
        self.min_s, self.gap_s, self.fraction = float(min_s), float(gap_s), float(fraction)
        self.delay_s = float(delay_s) if min_s > 0 else 0.0

    def spans(self) -> np.ndarray:
        """``(k, 2)`` start and end of the rest spans kept (sorted, not overlapping)."""
        a, b, _ = self._spans
        return np.column_stack([a, b])

    def restore(self, spans: np.ndarray) -> None:
        """Rest spans saved before a restart (``(k, 2)``), put back with those handed in since."""
        both = sorted(map(tuple, np.concatenate([np.asarray(spans, dtype=float).reshape(-1, 2), self.spans()])))
        until = self.known_until
        self._spans, self.known_until = (np.empty(0), np.empty(0), np.zeros(1)), -math.inf
        self.add([ContextSpan(a, b, "rest", 0.0) for a, b in both])
        self.known_until = max(self.known_until, until)

    def _stretches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per span: the index of its stretch's first span, and the earliest instant within the span at which
        the stretch so far meets the conditions (may lie past the span's end: not reached there)."""
        a, b, _ = self._spans
        new = np.ones(a.size, dtype=bool)
        new[1:] = a[1:] - b[:-1] > self.gap_s + 1e-9
        first = np.flatnonzero(new)[np.cumsum(new) - 1]
        s0 = a[first]
        done = np.cumsum(b - a) - (b - a)
        r = done - done[first]  # rest in the stretch before the span
        if self.fraction < 1.0:  # r + (t - a) >= fraction * (t - s0), solved for t
            need = (a - r - self.fraction * s0) / (1.0 - self.fraction)
        else:  # no break allowed before the span
            need = np.where(r >= a - s0 - 1e-9, -math.inf, math.inf)
        return first, np.maximum(np.maximum(a, s0 + self.min_s), need), b

    def _counts_from(self) -> np.ndarray:
        """Per span: the instant from which its stretch counts as sleep-like (inf: not so far)."""
        first, t, b = self._stretches()
        q = np.where(t <= b + 1e-9, t + self.delay_s, math.inf)
        if not q.size:
            return q
        starts = np.unique(first)
        per_stretch = np.minimum.reduceat(q, starts)
        return per_stretch[np.searchsorted(starts, first)]

    def sleep_like(self, now: float) -> "SleepLikeClock":
        """The sleep-like rest as known at ``now``: the rest spans of stretches that qualified by then."""
        a, b, _ = self._spans
        keep = self._counts_from() <= now
        return SleepLikeClock(a[keep], b[keep])

    def next_qualified(self, now: float) -> float:
        """The next instant after ``now`` at which a stretch known so far may qualify (inf: none)."""
        first, t, b = self._stretches()
        open_ = b >= self.known_until - 1e-9  # the newest span may still grow to reach its instant
        q = np.where((t <= b + 1e-9) | open_, t + self.delay_s, math.inf)
        q = q[q > now]
        return float(q.min()) if q.size else math.inf

    def forget_before(self, t: float) -> None:
        """Drop whole stretches that end before ``t`` (a stretch's start decides when it qualifies)."""
        a, b, before = self._spans
        k = int(np.searchsorted(b, t, side="left"))
        if 0 < k < a.size:
            k = int(self._stretches()[0][k])
        if k > 0:
            self._spans = (a[k:], b[k:], before[k:])


class SleepLikeClock(JudgedClock):
    """Seconds of sleep-like rest up to any time (:meth:`at`), and whether a time lies in it."""

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        super().__init__(("rest",))
        self._spans = (a, b, np.concatenate([[0.0], np.cumsum(b - a)]))

    def covers(self, t: np.ndarray) -> np.ndarray:
        """True for each time inside one of the sleep-like rest spans (vectorised)."""
        a, b, _ = self._spans
        t = np.asarray(t, dtype=float)
        if not a.size:
            return np.zeros(t.shape, dtype=bool)
        i = np.searchsorted(a, t, side="right") - 1
        return (i >= 0) & (t < b[np.maximum(i, 0)])
