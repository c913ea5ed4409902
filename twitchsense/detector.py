"""The detector: cheap candidate gate -> window features -> model -> events, batch and streaming.

One engine serves both paths. :class:`StreamingDetector` (the live
:class:`~twitchsense.stages.DetectorStage`) takes samples in chunks of any size;
:func:`detect_recording` feeds a whole recording through the same engine, so
both give the same events. Every step is chunk-invariant: the resampler and
the causal gate filters carry their state, features depend only on their own
row, context states on a fixed neighbourhood of blocks, and an event is closed
only when no later window can join it.

Per segment of the stream (gaps split segments, never bridged):

1. resample onto the model rate (:mod:`twitchsense.preprocess`);
2. gate: causal high-pass magnitude above ``gate_ratio`` x its slowly
   adapting floor and above ``gate_min_g`` (most of a day is quiet: only
   windows near a gated sample are looked at);
3. context: activity level per block, state ``rest``/``light``/``active``
   (:mod:`twitchsense.context`); in ``active`` stretches the answer is
   "cannot tell", windows there are not classified;
4. features of each candidate window and its surroundings
   (:class:`~twitchsense.features.WindowFeatures`), model probability;
5. events: runs of windows with probability above ``threshold`` x
   ``hysteresis`` holding at least one above ``threshold``, merged across
   gaps shorter than ``merge_s``; onset, duration and ``peak_g`` from the
   high-passed magnitude around the run, ``confidence`` the run's highest
   probability, ``kind`` the model's class when it knows classes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy import signal

from .context import ContextConfig, ContextSpan, block_levels, merge_spans, spans_of, states_of, STATES
from .events import TwitchEvent
from .features import RowParts, WindowFeatures
from .preprocess import QualityFlag, Resampler, check_rate, highpass_sos, quality_flags
from .recording import DEFAULT_GAP_S, Recording

if TYPE_CHECKING:
    from .alerts.rulefile import RuleSet
    from .model_file import TwitchModel

#: Window-scoring function: features ``(m, n_features)`` -> (p_twitch ``(m,)``, class probabilities ``(m, k)``).
Scorer = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
#: Upper bound of the twitch probability from features whose given columns are unknown (``None``: no bound).
Bound = Callable[[np.ndarray, np.ndarray], "np.ndarray | None"]


@dataclass
class DetectorConfig:
    """Everything besides the model that decides events (stored in the model file)."""

    step_s: float = 0.04
    gate_background_hz: float = 3.0
    gate_ratio: float = 2.5
    gate_min_g: float = 0.012
    gate_floor_s: float = 1.0
    threshold: float = 0.5
    hysteresis: float = 0.6
    merge_s: float = 0.12
    suppress_active: bool = True
    light_g: float = ContextConfig.light_g
    active_g: float = ContextConfig.active_g
    context_block_s: float = ContextConfig.block_s
    context_half_s: float = ContextConfig.half_s
    gap_s: float = DEFAULT_GAP_S

    @classmethod
    def from_dict(cls, d: dict) -> "DetectorConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def context(self) -> ContextConfig:
        return ContextConfig(self.context_block_s, self.context_half_s, self.light_g, self.active_g)


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
    """Per-segment state of the engine (buffer with padding, gate and context state, pending runs)."""

    def __init__(self, eng: "DetectionEngine", seg_id: int, t0: float, x0: np.ndarray) -> None:
        self.eng = eng
        self.id = seg_id
        self.t0 = t0
        C = eng.C
        self.buf = np.repeat(x0[None, :], C, axis=0)
        self.gate = np.zeros(C, dtype=bool)
        self.base = -C  # segment sample index of buf[0]
        self.n = 0
        self.gate_zi = signal.sosfilt_zi(eng.gate_sos)[:, :, None] * x0[None, None, :]
        self.floor_zi = np.zeros(1)
        self.smooth_zi = np.zeros(eng.smooth_b.size - 1)

        self.mag_tail = np.zeros(0)
        self.levels: list[np.ndarray] = []
        self.levels_arr = np.zeros(0)
        self.smooth = np.zeros(0)
        self.j_next = 0
        self.pend_j: list[np.ndarray] = []
        self.pend_p: list[np.ndarray] = []
        self.pend_c: list[np.ndarray] = []
        self.closed = False

    # --------------------------------------------------------------- samples in
    def append(self, x: np.ndarray) -> None:
        eng = self.eng
        hp, self.gate_zi = signal.sosfilt(eng.gate_sos, x, axis=0, zi=self.gate_zi)
        mag = np.sqrt(hp[:, 0] ** 2 + hp[:, 1] ** 2 + hp[:, 2] ** 2)
        # 30 ms causal mean: a twitch stays up for several samples, a noise spike does not
        smooth, self.smooth_zi = signal.lfilter(eng.smooth_b, [1.0], mag, zi=self.smooth_zi)
        floor, self.floor_zi = signal.lfilter(eng.floor_b, eng.floor_a, smooth, zi=self.floor_zi)
        gate = smooth > np.maximum(eng.cfg.gate_ratio * floor, eng.cfg.gate_min_g)
        self.buf = np.concatenate([self.buf, x])
        self.gate = np.concatenate([self.gate, gate])
        self.n += x.shape[0]
        tail = np.concatenate([self.mag_tail, mag])
        nb = tail.size // eng.block
        if nb:
            self.levels.append(block_levels(tail, eng.block))
            self.mag_tail = tail[nb * eng.block:]
        else:
            self.mag_tail = tail

    # --------------------------------------------------------------- context
    def _update_context(self, final: bool) -> None:
        eng = self.eng
        if self.levels:
            self.levels_arr = np.concatenate([self.levels_arr, *self.levels])
            self.levels = []
        nb = self.levels_arr.size
        h = eng.half_blocks
        done = self.smooth.size
        upto = nb if final else nb - h
        if upto > done:
            lo = max(0, done - h)
            from scipy.ndimage import median_filter
            part = median_filter(self.levels_arr[lo:nb], size=2 * h + 1, mode="nearest")
            self.smooth = np.concatenate([self.smooth, part[done - lo:upto - lo]])

    def context_spans(self, upto_block: int, from_block: int) -> list[ContextSpan]:
        lv = self.smooth[from_block:upto_block]
        st = states_of(lv, self.eng.cfg.context)
        return spans_of(self.t0 + from_block * self.eng.cfg.context_block_s, self.eng.cfg.context_block_s, st, lv)

    # --------------------------------------------------------------- windows
    def process(self, final: bool) -> tuple[list[TwitchEvent], list[ContextSpan]]:
        eng = self.eng
        C, s, hw = eng.C, eng.step, eng.w // 2
        self._update_context(final)
        spans_from = getattr(self, "_spans_done", 0)
        if final:
            edge = np.repeat(self.buf[-1:], C, axis=0)
            self.buf = np.concatenate([self.buf, edge])
            self.gate = np.concatenate([self.gate, np.zeros(C, dtype=bool)])
            j_end = (self.n - 1) // s + 1 if self.n else 0  # windows with centre k < n
        else:
            # row needs k + C <= n; state needs block(k) + h < smoothed blocks
            k_max = min(self.n - C, self.smooth.size * eng.block - 1)
            j_end = k_max // s + 1 if k_max >= 0 else 0
        events: list[TwitchEvent] = []
        if j_end > self.j_next:
            self._windows(self.j_next, j_end)
            self.j_next = j_end
        events = self._close_runs(final)
        spans_to = self.smooth.size
        spans = self.context_spans(spans_to, spans_from) if spans_to > spans_from else []
        self._spans_done = spans_to
        self._trim()
        return events, spans

    def _state_of(self, k: np.ndarray) -> np.ndarray:
        if self.smooth.size == 0:
            return np.zeros(k.shape, dtype=np.int8)
        b = np.minimum(k // self.eng.block, self.smooth.size - 1)
        return states_of(self.smooth[b], self.eng.cfg.context)

    def _windows(self, j0: int, j1: int) -> None:
        eng = self.eng
        C, s, w = eng.C, eng.step, eng.w
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
        view = np.lib.stride_tricks.sliding_window_view(self.buf, 2 * C, axis=0)  # (N-2C+1, 3, 2C)
        for c0 in range(0, idx.size, eng.chunk_rows):
            sel = idx[c0:c0 + eng.chunk_rows]
            rows = view[k[sel] - C - self.base]
            if eng.bound is not None and eng.collect is None:
                # cascade: the costly late features only where the score could still reach the bar
                F, parts = eng.features.partial_rows(rows)
                ub = eng.bound(F, eng.features.late_columns)
                if ub is not None:
                    live = np.flatnonzero(ub >= eng.cfg.threshold * eng.cfg.hysteresis - 1e-9)
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
            keep = p >= eng.cfg.threshold * eng.cfg.hysteresis
            if keep.any():
                self.pend_j.append(j0 + sel[keep])
                self.pend_p.append(p[keep])
                self.pend_c.append(cp[keep])

    def _close_runs(self, final: bool) -> list[TwitchEvent]:
        if not self.pend_j:
            return []
        eng = self.eng
        j = np.concatenate(self.pend_j)
        p = np.concatenate(self.pend_p)
        cp = np.vstack(self.pend_c)
        gap = eng.merge_w + 1
        splits = np.flatnonzero(np.diff(j) > gap) + 1
        starts = np.concatenate([[0], splits])
        ends = np.concatenate([splits, [j.size]])
        events = []
        keep_from = j.size
        for a, b in zip(starts, ends):
            if not final and self.j_next - j[b - 1] <= gap:
                keep_from = a
                break
            if p[a:b].max() >= eng.cfg.threshold:
                ev = self._event(j[a:b], p[a:b], cp[a:b])
                if ev is not None:
                    events.append(ev)
        self.pend_j, self.pend_p, self.pend_c = ([j[keep_from:]], [p[keep_from:]], [cp[keep_from:]]) \
            if keep_from < j.size else ([], [], [])
        return events

    def _event(self, j: np.ndarray, p: np.ndarray, cp: np.ndarray) -> TwitchEvent | None:
        eng = self.eng
        C, s, w, fs = eng.C, eng.step, eng.w, eng.fs
        k_first, k_last = int(j[0] * s), int(j[-1] * s)
        lo = k_first - C - self.base
        x = self.buf[lo:k_last + C - self.base]
        hp = signal.sosfiltfilt(eng.event_sos, x, axis=0)
        mag = np.sqrt(hp[:, 0] ** 2 + hp[:, 1] ** 2 + hp[:, 2] ** 2)
        r0, r1 = C - w // 2, C + (k_last - k_first) + w // 2  # the run's windows, in slice coordinates
        ipk = r0 + int(np.argmax(mag[r0:r1]))
        peak = float(mag[ipk])
        outside = np.concatenate([mag[:r0], mag[r1:]])
        noise = float(np.median(outside)) if outside.size else 0.0
        thr = min(max(0.1 * peak, 3.0 * noise), peak)
        above = np.flatnonzero(mag >= thr)
        bridge = max(1, int(round(eng.bridge_s * fs)))
        # the contiguous cluster of above-threshold samples around the peak (short dips bridged)
        pos = np.searchsorted(above, ipk)
        d = np.diff(above)
        left = pos
        while left > 0 and d[left - 1] <= bridge and above[left - 1] >= r0 - eng.extend:
            left -= 1
        right = pos
        while right < above.size - 1 and d[right] <= bridge and above[right + 1] < r1 + eng.extend:
            right += 1
        i0, i1 = int(above[left]), int(above[right])
        onset = self.t0 + (k_first - C + i0) / fs
        duration = (i1 - i0 + 1) / fs
        best = int(np.argmax(p))
        kind = ""
        if eng.kinds:
            kind = eng.kinds[int(np.argmax(cp[best]))]
        state = STATES[int(self._state_of(np.array([k_first - C + ipk]))[0])]
        return TwitchEvent(onset=round(onset, 4), duration=round(duration, 4), peak_g=peak,
                           confidence=float(p[best]), kind=kind, context=state)

    def _trim(self) -> None:
        eng = self.eng
        keep_k = self.j_next * eng.step
        if self.pend_j:
            keep_k = min(keep_k, int(self.pend_j[0][0]) * eng.step)
        keep_k -= eng.C + eng.w
        cut = keep_k - self.base
        if cut > 4 * eng.C and cut > self.buf.shape[0] // 2:
            self.buf = self.buf[cut:].copy()
            self.gate = self.gate[cut:].copy()
            self.base += cut


class DetectionEngine:
    """The chunk-invariant detection engine shared by batch and streaming detection."""

    chunk_rows = 2048
    bridge_s = 0.06

    def __init__(self, features: WindowFeatures, config: DetectorConfig, in_rate_hz: float,
                 scorer: Scorer | None = None, kinds: tuple[str, ...] = (),
                 collect: CandidateWindows | None = None, bound: Bound | None = None) -> None:
        self.features = features
        self.bound = bound
        self.cfg = config
        self.fs = float(features.rate_hz)
        self.scorer = scorer
        self.kinds = tuple(kinds)
        self.collect = collect
        self.C = features.row_samples // 2
        self.w = features.window_samples
        self.step = max(1, int(round(config.step_s * self.fs)))
        self.merge_w = int(round(config.merge_s / (self.step / self.fs)))
        self.extend = int(round(0.3 * self.fs))
        self.block = max(1, int(round(config.context_block_s * self.fs)))
        self.half_blocks = int(round(config.context_half_s / config.context_block_s))
        self.gate_sos = highpass_sos(self.fs, config.gate_background_hz)
        self.event_sos = highpass_sos(self.fs, features.background_hz)
        a = float(np.exp(-1.0 / (config.gate_floor_s * self.fs)))
        self.floor_b, self.floor_a = np.array([1 - a]), np.array([1.0, -a])
        n_smooth = max(1, int(round(0.03 * self.fs)))
        self.smooth_b = np.full(n_smooth, 1.0 / n_smooth)
        self.resampler = Resampler(check_rate(in_rate_hz), self.fs, config.gap_s)
        self.seg: _Segment | None = None
        self.spans: list[ContextSpan] = []

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
            self.spans += spans
        return events

    def _close(self) -> list[TwitchEvent]:
        if self.seg is None:
            return []
        ev, spans = self.seg.process(final=True)
        self.spans += spans
        self.seg = None
        return ev

    def flush(self) -> list[TwitchEvent]:
        """End of stream: close the open segment and return its pending events."""
        return self._close()

    def context_spans(self) -> list[ContextSpan]:
        """Activity states so far (merged spans)."""
        return merge_spans(self.spans)


class StreamingDetector:
    """The live detector stage: ``push(t, acc) -> events``, ``flush()``; same events as :func:`detect_recording`."""

    def __init__(self, model: "TwitchModel", rate_hz: float) -> None:
        self.model = model
        self.engine = DetectionEngine(model.features, model.config, rate_hz, scorer=model.score_windows,
                                      kinds=model.kinds, bound=model.twitch_upper_bound)

    def push(self, t: np.ndarray, acc: np.ndarray) -> list[TwitchEvent]:
        return self.engine.push(t, acc)

    def flush(self) -> list[TwitchEvent]:
        return self.engine.flush()

    def context_spans(self) -> list[ContextSpan]:
        return self.engine.context_spans()


@dataclass
class DetectionResult:
    """What ``detect`` finds in one recording."""

    events: list[TwitchEvent]
    context: list[ContextSpan]
    quality: list[QualityFlag]
    duration_s: float

    def cannot_tell_s(self) -> float:
        """Seconds in ``active`` context, where the detector does not judge."""
        return sum(s.end - s.start for s in self.context if s.state == "active")


def detection_alerts(result: DetectionResult, rec: Recording, rules: "RuleSet | None" = None) -> list:
    """Alerts for ``NAME.alerts.csv`` from the same engine as live alerting."""
    from .alerts import alerts_for_events

    if rec.n_samples == 0:
        return []
    return alerts_for_events(result.events, float(rec.t[0]), float(rec.t[-1]), rules=rules,
                             start_time=rec.meta.get("start_time") or None)


def write_context(path, spans: list[ContextSpan]) -> None:
    """Write ``NAME.context.csv``: ``start,end,state,level_g`` (``active`` = cannot tell)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("start,end,state,level_g\n")
        for s in spans:
            f.write(f"{s.start:.3f},{s.end:.3f},{s.state},{s.level_g:.4f}\n")


#: Samples fed to the engine per call in batch mode (bounds memory on day-long recordings).
BATCH_CHUNK = 360_000


def detect_recording(rec: Recording, model: "TwitchModel", chunk: int = BATCH_CHUNK) -> DetectionResult:
    """Batch detection on a recording (through the same engine as the live path)."""
    from threadpoolctl import threadpool_limits

    det = StreamingDetector(model, rec.sample_rate_hz)
    events: list[TwitchEvent] = []
    with threadpool_limits(1):  # one core: small prediction batches gain nothing from threads
        for i in range(0, rec.n_samples, chunk):
            events += det.push(rec.t[i:i + chunk], rec.acc[i:i + chunk])
        events += det.flush()
    return DetectionResult(events, det.context_spans(), quality_flags(rec.t, rec.acc, rec.meta.get("range_g")),
                           rec.duration_s)


def candidate_windows(rec: Recording, features: WindowFeatures, config: DetectorConfig) -> CandidateWindows:
    """Features of every candidate window of a recording (no model needed): the training input."""
    out = CandidateWindows()
    eng = DetectionEngine(features, config, rec.sample_rate_hz, collect=out)
    for i in range(0, rec.n_samples, BATCH_CHUNK):
        eng.push(rec.t[i:i + BATCH_CHUNK], rec.acc[i:i + BATCH_CHUNK])
    eng.flush()
    return out

