"""The detector: cheap candidate gate -> window features -> model -> events, batch and streaming.

One engine serves both paths. :class:`StreamingDetector` (the live
:class:`~twitchsense.stages.DetectorStage`) takes samples in chunks of any size;
:func:`detect_recording` feeds a whole recording through the same engine, so
both give the same events. Every step is chunk-invariant: the resampler and
the causal gate filters carry their state, features depend only on their own
row, context states on the blocks before, and an event's extent is measured on
a stretch of signal fixed by the window that found it, never by how the data
arrived.

Low latency: nothing looks further ahead than the features' look-ahead
(``lookahead_s``, 0.4 s) while a twitch lasts, and ``settle_s`` past its end
when it lasts longer, so a live event comes out about half a second after the
twitch ends (``benchmarks/event_latency.py``).

Per segment of the stream (gaps split segments, never bridged):

1. resample onto the model rate (:mod:`twitchsense.detection.preprocess`);
2. gate: causal high-pass magnitude (the context's movement, ``gate_smooth_s``
   mean) above ``gate_ratio`` x its floor and above ``gate_min_g`` (most of a day
   is quiet: only windows near a gated sample are looked at). The floor is the
   context's level of the block before (a median over 2.25 s, so twitches cannot
   raise it);
3. context: activity level per block, state ``rest``/``light``/``active``
   from the median of the last seconds of blocks, or the highest block of the
   last ``context_release_s`` when lower (:mod:`twitchsense.detection.context`);
   in ``active`` stretches the answer is "cannot tell", windows there are not
   classified; so are a segment's first ``start_unjudged_s`` (no past to judge from) and an
   impact's block with the ``impact_active_s`` after it;
4. features of each candidate window and its surroundings
   (:class:`~twitchsense.detection.features.WindowFeatures`), model probability; with a
   ``bound`` (the model's :meth:`~twitchsense.detection.model.TwitchModel.twitch_upper_bound`)
   the costly late features are computed only for windows whose upper bound
   reaches ``threshold`` (the others could never raise an event);
5. events: the first window at or above ``threshold`` raises one; its onset,
   duration and ``peak_g`` are those of the twitch in the high-passed
   magnitude (the run above ``extent_share`` of its peak around the window's peak), its
   ``confidence`` the highest probability of the windows on it seen by then,
   ``kind`` the model's class when it knows classes. Later windows whose peak
   lies within ``merge_s`` of an event's end belong to it, and so does a peak
   under ``aftermath_share`` of its ``peak_g`` within ``aftermath_s`` after its
   end (the limb settling). The event comes out ``provisional``;
6. confirmation (:mod:`twitchsense.detection.confirmation`): once ``confirm_after_s`` of signal
   after the event is in (or its segment has ended), the same event again, ``confirmed`` or
   ``retracted`` with a reason. Counts, alerts and ``detected.csv`` take the confirmed ones.

Every setting that decides events is a field of
:class:`~twitchsense.detection.config.DetectorConfig`, saved whole in the model file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy import signal

from ..io.recording import Recording
from ..types import STATES, ContextSpan, TwitchEvent, confirmed_only
from .config import DetectorConfig
from .confirmation import Confirmer
from .context import ActivityMeter, merge_spans, smoothed_levels, spans_of, states_of
from .features import RowParts, WindowFeatures
from .judged import judged_seconds
from .preprocess import QualityFlag, Resampler, check_rate, highpass_sos, quality_flags, sensor_step_g

if TYPE_CHECKING:
    from .model import TwitchModel

#: Window-scoring function: features ``(m, n_features)`` -> (p_twitch ``(m,)``, class probabilities ``(m, k)``;
#: only the rows of windows at or above the threshold are read).
Scorer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Upper bound of the twitch probability from features whose given columns are unknown (``None``: no bound).
Bound = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]


@dataclass
class CandidateWindows:
    """Features of the candidate windows the engine looked at (for training and diagnostics)."""

    t: list = field(default_factory=list)        # window centre times
    X: list = field(default_factory=list)        # feature rows
    state: list = field(default_factory=list)    # context state index
    segment: list = field(default_factory=list)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.t:
            return np.zeros(0), np.zeros((0, 0)), np.zeros(0, dtype=np.int8), np.zeros(0, dtype=int)
        return (np.concatenate(self.t), np.vstack(self.X), np.concatenate(self.state),
                np.concatenate(self.segment))


class _Segment:
    """Per-segment state of the engine (buffer with padding, gate and context state, pending triggers)."""

    def __init__(self, eng: "DetectionEngine", seg_id: int, t0: float, x0: np.ndarray) -> None:
        self.eng = eng
        self.id = seg_id
        self.t0 = t0
        B = eng.B
        self.buf = np.repeat(x0[None, :], B, axis=0)
        self.gate = np.zeros(B, dtype=bool)
        self.base = -B  # segment sample index of buf[0]
        self.n = 0
        self.activity = ActivityMeter(eng.fs, x0, eng.context)
        self.smooth_zi = np.zeros(eng.smooth_b.size - 1)
        self.levels: list[np.ndarray] = []
        self.peaks: list[np.ndarray] = []
        self.levels_arr = np.zeros(0)
        self.smooth = np.zeros(0)
        self.unjudged = np.zeros(0, dtype=bool)  # blocks "cannot tell" whatever their level (aligned with smooth)
        self.last_impact = -(1 << 40)  # segment block index of the latest block with an impact
        self.b0 = 0  # segment block index of levels_arr[0] and smooth[0] (older blocks are trimmed)
        self.j_next = 0
        self.span_next = 0  # segment block index of the first block without a context span yet
        # windows scored at or above the threshold, not yet part of an event: index, p, class p, peak sample
        self.pend: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.last_end = -(1 << 60)  # last sample of the latest event
        self.last_peak = 0.0  # and its peak_g
        self.waiting: list[tuple[TwitchEvent, int, int]] = []  # provisional events, first and last sample

    # --------------------------------------------------------------- samples in
    def append(self, x: np.ndarray) -> None:
        eng = self.eng
        mag, levels, peaks = self.activity.push_blocks(x)
        if levels.size:
            self.levels.append(levels)
            self.peaks.append(peaks)
        # 30 ms causal mean: a twitch stays up for several samples, a noise spike does not
        smooth, self.smooth_zi = signal.lfilter(eng.smooth_b, [1.0], mag, zi=self.smooth_zi)
        # the floor: the context's level of the block before each sample's (a median over 2.25 s of
        # blocks, or the last 0.75 s's highest when lower), which twitches (a block or two) cannot
        # raise, unlike a mean
        self._update_context()
        prev = (self.n + np.arange(x.shape[0])) // eng.block - 1 - self.b0
        floor = np.where(prev >= 0, self.smooth[np.clip(prev, 0, None)] if self.smooth.size else 0.0, 0.0)
        gate = smooth > np.maximum(eng.cfg.gate_ratio * floor, eng.cfg.gate_min_g)
        self.buf = np.concatenate([self.buf, x])
        self.gate = np.concatenate([self.gate, gate])
        self.n += x.shape[0]

    # --------------------------------------------------------------- context
    def _update_context(self) -> None:
        """Append to ``smooth`` the smoothed level of every new complete block
        (:func:`~twitchsense.detection.context.smoothed_levels`)."""
        if self.levels:
            first = self.b0 + self.smooth.size  # segment block index of the first new block
            self.levels_arr = np.concatenate([self.levels_arr, *self.levels])
            peaks = np.concatenate(self.peaks)
            self.levels, self.peaks = [], []
            new = smoothed_levels(self.levels_arr, self.smooth.size, 2 * self.eng.context.half_blocks,
                                  self.eng.context.release_blocks)
            self.smooth = np.concatenate([self.smooth, new])
            self.unjudged = np.concatenate([self.unjudged, self._unjudged(first, peaks)])

    def _unjudged(self, first: int, peaks: np.ndarray) -> np.ndarray:
        """Which of the new blocks (segment block index ``first`` on, highest movement ``peaks``) the
        context cannot judge whatever their level: the segment's first ``start_unjudged_s`` (no past
        to judge from), and an impact's block (movement above the placement's impact cap) with the
        ``impact_active_s`` after it (the body and the sensor ring after a landing)."""
        eng = self.eng
        b = first + np.arange(peaks.size)
        hit = np.where(peaks > eng.impact_cap_g, b, -(1 << 40))
        latest = np.maximum.accumulate(np.concatenate([[self.last_impact], hit]))[1:]
        self.last_impact = int(latest[-1])
        return (b < eng.start_blocks) | (b - latest <= eng.impact_blocks)

    def _states(self, i: np.ndarray) -> np.ndarray:
        """State index of the blocks at indices ``i`` of ``smooth`` (unjudged blocks: ``active``)."""
        st = states_of(self.smooth[i], self.eng.context)
        st[self.unjudged[i]] = 2
        return st

    # --------------------------------------------------------------- windows
    def process(self, final: bool) -> tuple[list[TwitchEvent], list[ContextSpan]]:
        eng = self.eng
        self._update_context()
        if final:
            self.buf = np.concatenate([self.buf, np.repeat(self.buf[-1:], eng.A, axis=0)])
            self.gate = np.concatenate([self.gate, np.zeros(eng.A, dtype=bool)])
            j_end = (self.n - 1) // eng.step + 1 if self.n else 0  # windows with centre k < n
        else:
            # a window's row needs its look-ahead (k + A <= n); its state, its block complete
            k_max = min(self.n - eng.A, (self.b0 + self.smooth.size) * eng.block - 1)
            j_end = k_max // eng.step + 1 if k_max >= 0 else 0
        if j_end > self.j_next:
            self._windows(self.j_next, j_end)
            self.j_next = j_end
        events = self._events(final)
        events += self._verdicts(final)
        first = self.span_next  # segment block index of new[0]
        i = np.arange(first - self.b0, self.smooth.size)
        self.span_next = self.b0 + self.smooth.size
        spans = spans_of(self.t0, eng.context.block_s, self._states(i), self.smooth[i], first)
        self._trim()
        return events, spans

    def _state_of(self, k: np.ndarray) -> np.ndarray:
        if self.smooth.size == 0:
            return np.zeros(k.shape, dtype=np.int8)
        b = np.minimum(k // self.eng.block, self.b0 + self.smooth.size - 1) - self.b0
        return self._states(b)

    def _windows(self, j0: int, j1: int) -> None:
        eng = self.eng
        B, s, w = eng.B, eng.step, eng.w
        k = np.arange(j0, j1) * s
        # candidate: any gated sample within the window
        g = self.gate.astype(np.int32)
        cs = np.concatenate([[0], np.cumsum(g)])
        a = k - w // 2 - self.base
        b = a + w
        cand = (cs[b] - cs[a]) > 0
        state = self._state_of(k)
        if eng.cfg.suppress_active:
            cand &= state < 2
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            return
        view = np.lib.stride_tricks.sliding_window_view(self.buf, B + eng.A, axis=0)  # (N-L+1, 3, L)
        for c0 in range(0, idx.size, eng.chunk_rows):
            sel = idx[c0:c0 + eng.chunk_rows]
            rows = view[k[sel] - B - self.base]
            if eng.bound is not None and eng.collect is None:
                # cascade: the costly late features only where the score could still reach the bar
                F, parts = eng.features.partial_rows(rows)
                ub = eng.bound(F, eng.features.late_columns)
                if ub is not None:
                    live = np.flatnonzero(ub >= eng.cfg.threshold - 1e-9)
                    if live.size == 0:
                        continue
                    sel = sel[live]
                    F = F[live]
                    eng.features.complete_rows(F, RowParts(parts.hp[live], parts.mag[live]))
                else:
                    eng.features.complete_rows(F, parts)
            else:
                F = eng.features.transform_rows(rows)
            if eng.collect is not None:
                eng.collect.t.append(self.t0 + k[sel] / eng.fs)
                eng.collect.X.append(F)
                eng.collect.state.append(state[sel])
                eng.collect.segment.append(np.full(sel.size, self.id))
            if eng.scorer is None:
                continue
            p, cp = eng.scorer(F)
            keep = p >= eng.cfg.threshold
            if keep.any():
                kk = k[sel[keep]]
                peak = kk + np.rint(F[keep, eng.peak_col] * eng.fs).astype(np.int64)
                self.pend.append((j0 + sel[keep], p[keep], cp[keep], peak))

    # --------------------------------------------------------------- events
    def _events(self, final: bool) -> list[TwitchEvent]:
        """Events of the pending triggers whose extent the data so far settles (in window order)."""
        if not self.pend:
            return []
        eng = self.eng
        j, p, cp, peak = (np.concatenate(a) for a in zip(*self.pend))
        events: list[TwitchEvent] = []
        i = 0
        while i < j.size:
            if peak[i] <= self.last_end + eng.merge_samples:  # part of the latest event
                i += 1
                continue
            found = self._extent(int(j[i]) * eng.step, final)
            if found is None:  # wait for more data
                break
            i0, i1, peak_g, seen = found
            if i1 < i0:  # nothing new in this window
                i += 1
                continue
            if peak_g < 0:  # ongoing movement: no event, the windows on it are passed over
                self.last_end, self.last_peak = i1, 0.0
                i += 1
                continue
            if i0 - self.last_end <= eng.aftermath and peak_g < eng.cfg.aftermath_share * self.last_peak:
                self.last_end = i1  # the limb settling after the latest event (or the filter's ringing): part of it
                i += 1
                continue
            # the windows seen by then whose peak lies in the event, the one that raised it always
            # among them: the confidence and the class
            on = (j[i:] * eng.step <= seen) & (peak[i:] <= i1 + eng.merge_samples)
            on[0] = True
            join = np.flatnonzero(on) + i
            best = join[int(np.argmax(p[join]))]
            kind = eng.kinds[int(np.argmax(cp[best]))] if eng.kinds else ""
            state = STATES[int(self._state_of(np.array([int(j[i]) * eng.step]))[0])]
            event = TwitchEvent(onset=round(self.t0 + i0 / eng.fs, 4), duration=round((i1 - i0 + 1) / eng.fs, 4),
                                peak_g=peak_g, confidence=float(p[best]), kind=kind, context=state,
                                status="provisional" if eng.confirmer else "confirmed", id=eng.next_id)
            eng.next_id += 1
            events.append(event)
            if eng.confirmer:
                self.waiting.append((event, i0, i1))
            self.last_end, self.last_peak = i1, peak_g
            i += 1
        self.pend = [(j[i:], p[i:], cp[i:], peak[i:])] if i < j.size else []
        return events

    def _extent(self, k: int, final: bool) -> tuple[int, int, float, int] | None:
        """Onset and end samples, peak (g) of the twitch the window centred at ``k`` caught, and the
        last window centre whose row was in by then; ``None`` while the data cannot settle it yet.
        A peak amid movement that does not end within ``max_extend_s`` is no twitch: its end is
        returned as a negative peak (the windows on it are dropped).

        The high-passed magnitude is taken over ``[k - B, hi)``, ``hi`` growing from the
        window's look-ahead in fixed steps until the twitch has ended inside it, so the
        answer depends only on the data, never on how it arrived.
        """
        eng = self.eng
        B, A, w = eng.B, eng.A, eng.w
        lo = k - B
        cap = k + w // 2 + eng.max_extend  # the last sample a twitch may reach
        r0, r1 = B - w // 2, B - w // 2 + w  # the window, in slice coordinates
        left = max(0, self.last_end + 1 - lo, r0 - eng.extend)
        if left >= r1:  # the window holds nothing after the latest event
            return lo, -1, 0.0, k
        m = 0
        while True:
            hi = k + A + m * eng.grow
            if hi > self.n:
                if not final:
                    return None
                hi = self.n
            x = self.buf[lo - self.base:hi - self.base]
            hp = signal.sosfiltfilt(eng.event_sos, x, axis=0)
            mag = np.sqrt(hp[:, 0] ** 2 + hp[:, 1] ** 2 + hp[:, 2] ** 2)
            if max(r0, left) >= mag.size:  # the stream ended before anything new in this window
                return lo, -1, 0.0, k
            # noise floor: the signal before the window; the padding before a segment's start is no signal
            real = max(0, -lo)
            noise = float(np.median(mag[real:r0] if r0 - real >= w else mag[real:]))
            ipk = max(r0, left) + int(np.argmax(mag[max(r0, left):r1]))
            cluster = partial(_cluster, noise=noise, left=left, bridge=eng.bridge, share=eng.cfg.extent_share,
                              noise_ratio=eng.cfg.extent_noise)
            own = ipk
            i0, i1, ipk = cluster(mag, ipk)
            # again, at the cluster's own peak (its share then measures the twitch, not the window's part
            # of it), unless that run loses the window's peak: a tail under the noise criterion after a
            # larger peak; the event then is the first run, which holds both (never one before its window)
            r = cluster(mag, ipk)
            if r[0] <= own <= r[1]:
                i0, i1, ipk = r
            seen = max(hi - A, k)  # at the stream's end every window is in, its own included
            if lo + i1 > cap:  # still going: movement, not a twitch
                return lo + i0, lo + i1, -1.0, seen
            if i1 + eng.bridge + eng.settle < x.shape[0] or (final and hi == self.n):  # ended (or the data did)
                return lo + i0, lo + i1, float(mag[ipk]), seen
            m += 1

    def _verdicts(self, final: bool) -> list[TwitchEvent]:
        """Verdicts (confirmed or retracted) on the provisional events whose judged stretch is in: up to
        ``confirm_after_s`` after the event's end, or the segment's end."""
        conf = self.eng.confirmer
        out: list[TwitchEvent] = []
        while self.waiting:
            event, i0, i1 = self.waiting[0]
            stop = i1 + 1 + conf.after
            if self.n < stop and not final:
                break
            a, b = max(0, i0 - conf.past), min(self.n, stop)
            out.append(conf.verdict(event, self.buf[a - self.base:b - self.base], i0 - a, i1 - a))
            self.waiting.pop(0)
        return out

    def _trim(self) -> None:
        eng = self.eng
        keep_k = self.j_next * eng.step
        if self.pend:
            keep_k = min(keep_k, int(self.pend[0][0][0]) * eng.step)
        # context blocks: those of windows still to come, and the levels the next medians need (a
        # longer short-maximum window could not matter: its maximum is never below the median)
        drop = min(keep_k // eng.block, self.smooth.size + self.b0 - 2 * eng.context.half_blocks) - self.b0
        if drop > eng.context_trim_blocks:
            self.levels_arr = self.levels_arr[drop:].copy()
            self.smooth = self.smooth[drop:].copy()
            self.unjudged = self.unjudged[drop:].copy()
            self.b0 += drop
        keep_k -= eng.B + eng.w
        if eng.confirmer:  # the stretch the confirmation will judge, of events waiting or still to come
            keep_k = min([keep_k] + [i0 for _, i0, _ in self.waiting[:1]]) - eng.confirmer.past
        cut = keep_k - self.base
        if cut > 4 * eng.B and cut > self.buf.shape[0] // 2:
            self.buf = self.buf[cut:].copy()
            self.gate = self.gate[cut:].copy()
            self.base += cut


def _cluster(mag: np.ndarray, ipk: int, noise: float, left: int, bridge: int, share: float,
             noise_ratio: float) -> tuple[int, int, int]:
    """The run of samples above ``share`` of ``mag[ipk]`` (and ``noise_ratio`` x ``noise``) around ``ipk``,
    dips up to ``bridge`` samples bridged, not before ``left``: its first and last sample and its peak."""
    peak = float(mag[ipk])
    thr = min(max(share * peak, noise_ratio * noise), peak)
    above = np.flatnonzero(mag >= thr)
    above = above[above >= min(left, ipk)]
    pos = int(np.searchsorted(above, ipk))
    breaks = np.flatnonzero(np.diff(above) > bridge)  # above[b] and above[b + 1] are not joined
    first = int(above[breaks[breaks < pos][-1] + 1]) if (breaks < pos).any() else int(above[0])
    last = int(above[breaks[breaks >= pos][0]]) if (breaks >= pos).any() else int(above[-1])
    return first, last, first + int(np.argmax(mag[first:last + 1]))


class DetectionEngine:
    """The chunk-invariant detection engine shared by batch and streaming detection."""

    # memory and speed only (the events are the same whatever they are): windows featurised per
    # call, and the step in which context history is trimmed
    chunk_rows = 2048
    context_trim_blocks = 4096

    def __init__(self, features: WindowFeatures, config: DetectorConfig, in_rate_hz: float,
                 scorer: Scorer | None = None, kinds: tuple[str, ...] = (),
                 collect: CandidateWindows | None = None, bound: Bound | None = None,
                 keep_context: bool = True, placement: str | None = None, step_g: float = 0.0) -> None:
        self.features = features
        self.bound = bound
        self.cfg = config
        self.fs = float(features.rate_hz)
        self.scorer = scorer
        self.kinds = tuple(kinds)
        self.collect = collect
        self.B, self.A = features.before_samples, features.after_samples
        self.w = features.window_samples
        self.peak_col = list(features._names()).index("peak_offset_s")
        self.step = max(1, int(round(config.step_s * self.fs)))
        self.merge_samples = int(round(config.merge_s * self.fs))
        self.bridge = max(1, int(round(config.bridge_s * self.fs)))
        self.settle = int(round(config.settle_s * self.fs))
        self.extend = int(round(config.extend_s * self.fs))
        self.max_extend = int(round(config.max_extend_s * self.fs))
        self.grow = max(1, int(round(config.grow_s * self.fs)))
        self.aftermath = int(round(config.aftermath_s * self.fs))
        self.context = config.context
        self.block = self.context.block_samples(self.fs)
        self.start_blocks = int(round(config.start_unjudged_s / self.context.block_s))
        self.impact_blocks = int(round(config.impact_active_s / self.context.block_s))
        self.impact_cap_g = config.impact_cap_g(placement)
        self.confirmer = Confirmer(config, self.fs, placement, step_g) if config.confirm else None
        self.next_id = 0
        self.event_sos = highpass_sos(self.fs, features.background_hz)
        n_smooth = max(1, int(round(config.gate_smooth_s * self.fs)))
        self.smooth_b = np.full(n_smooth, 1.0 / n_smooth)
        self.resampler = Resampler(check_rate(in_rate_hz), self.fs, config.gap_s)
        self.seg: _Segment | None = None
        self.keep_context = keep_context
        self.spans: list[ContextSpan] = []
        self.tap: list[ContextSpan] | None = None  # new spans for a reader (StreamingDetector.take_context)
        # judged time as it goes, whether or not spans are kept: the seconds of the spans that can no
        # longer grow, and the newest span (a later one may still continue it)
        self.judged_done_s = 0.0
        self.last_span: ContextSpan | None = None

    def push(self, t: np.ndarray, acc: np.ndarray) -> list[TwitchEvent]:
        """Feed samples (any chunk size); returns the events finished so far."""
        pieces, closed = self.resampler.push(t, acc)
        events: list[TwitchEvent] = []
        for piece in pieces:
            if self.seg is None or piece.segment != self.seg.id:
                events += self._close()
                self.seg = _Segment(self, piece.segment, piece.t0, piece.x[0])
            self.seg.append(piece.x)
        if closed and self.seg is not None and self.seg.id in closed:
            events += self._close()
        if self.seg is not None:
            ev, spans = self.seg.process(final=False)
            events += ev
            self._keep(spans)
        return events

    def _close(self) -> list[TwitchEvent]:
        if self.seg is None:
            return []
        ev, spans = self.seg.process(final=True)
        self._keep(spans)
        self.seg = None
        return ev

    def _keep(self, spans: list[ContextSpan]) -> None:
        """Add new context spans, joined to the last one where they continue it."""
        if not spans:
            return
        if self.tap is not None:
            self.tap += spans
        merged = merge_spans(([self.last_span] if self.last_span is not None else []) + spans)
        self.judged_done_s += judged_seconds(merged[:-1])
        self.last_span = merged[-1]
        if self.keep_context:
            self.spans[-1:] = merged

    def flush(self) -> list[TwitchEvent]:
        """End of stream: close the open segment and return its pending events."""
        return self._close()

    def context_spans(self) -> list[ContextSpan]:
        """Activity states so far (merged spans)."""
        return merge_spans(self.spans)

    def judged_seconds(self) -> float:
        """Judged seconds so far (:func:`~twitchsense.detection.judged.judged_seconds` of the context
        decided so far), kept as a running total: also without ``keep_context``."""
        return self.judged_done_s + (judged_seconds([self.last_span]) if self.last_span is not None else 0.0)


class StreamingDetector:
    """The live detector stage: ``push(t, acc) -> events``, ``flush()``; same events as :func:`detect_recording`.

    Each event comes out twice, with one ``id``: ``provisional`` as soon as the twitch is over,
    then ``confirmed`` or ``retracted`` (with its ``reason``) once ``confirm_after_s`` of signal
    after it is in (:mod:`twitchsense.detection.confirmation`); with the model's ``confirm``
    off, once, confirmed. ``placement`` (the sidecar's) sets the impact cap, ``step_g`` the
    sensor's step (:func:`~twitchsense.detection.preprocess.sensor_step_g`).

    ``keep_context=False`` keeps no activity-state history (:meth:`context_spans` is then
    empty): a live stream that runs for days needs none, and its memory stays flat; its judged
    time is still known (:meth:`judged_seconds`, a running total).
    """

    def __init__(self, model: "TwitchModel", rate_hz: float, keep_context: bool = True,
                 placement: str | None = None, step_g: float = 0.0) -> None:
        self.model = model
        # class probabilities only of the windows that reach the threshold (the only ones read)
        scorer = partial(model.score_windows, threshold=model.config.threshold)
        self.engine = DetectionEngine(model.features, model.config, rate_hz, scorer=scorer,
                                      kinds=model.kinds, bound=model.twitch_upper_bound,
                                      keep_context=keep_context, placement=placement, step_g=step_g)

    @classmethod
    def for_meta(cls, model: "TwitchModel", rate_hz: float, meta: dict | None, keep_context: bool = True
                 ) -> "StreamingDetector":
        """A detector for a session described by sidecar fields (its placement and sensor step)."""
        meta = meta or {}
        return cls(model, rate_hz, keep_context, placement=meta.get("placement"), step_g=sensor_step_g(meta))

    def push(self, t: np.ndarray, acc: np.ndarray) -> list[TwitchEvent]:
        return self.engine.push(t, acc)

    def flush(self) -> list[TwitchEvent]:
        return self.engine.flush()

    def context_spans(self) -> list[ContextSpan]:
        return self.engine.context_spans()

    def judged_seconds(self) -> float:
        """Judged seconds so far, with or without ``keep_context`` (the history stores them)."""
        return self.engine.judged_seconds()

    def take_context(self) -> list[ContextSpan]:
        """Context spans decided since the last call (the first call: those kept so far), also with
        ``keep_context=False``: the live alert engine's judged time."""
        if self.engine.tap is None:
            self.engine.tap = []
            return self.engine.context_spans()
        out, self.engine.tap = self.engine.tap, []
        return out


@dataclass
class DetectionResult:
    """What ``detect`` finds in one recording."""

    events: list[TwitchEvent]  # confirmed
    context: list[ContextSpan]
    quality: list[QualityFlag]
    duration_s: float
    retracted: list[TwitchEvent] = field(default_factory=list)  # with their reasons

    @property
    def verdicts(self) -> list[TwitchEvent]:
        """Confirmed and retracted events together, in the detector's order (by ``id``)."""
        return sorted(self.events + self.retracted, key=lambda e: e.id)

    def cannot_tell_s(self) -> float:
        """Seconds in ``active`` context, where the detector does not judge."""
        return sum(s.end - s.start for s in self.context if s.state == "active")


#: Samples fed to the engine per call in batch mode (bounds memory on day-long recordings).
BATCH_CHUNK = 360_000


def detect_recording(rec: Recording, model: "TwitchModel", chunk: int = BATCH_CHUNK) -> DetectionResult:
    """Batch detection on a recording (through the same engine as the live path)."""
    det = StreamingDetector.for_meta(model, rec.sample_rate_hz, rec.meta)  # its model predicts on one thread
    events: list[TwitchEvent] = []
    for i in range(0, rec.n_samples, chunk):
        events += det.push(rec.t[i:i + chunk], rec.acc[i:i + chunk])
    events += det.flush()
    return DetectionResult(confirmed_only(events), det.context_spans(),
                           quality_flags(rec.t, rec.acc, rec.meta.get("range_g"), sensor_step_g(rec.meta)),
                           rec.duration_s, [e for e in events if e.status == "retracted"])
