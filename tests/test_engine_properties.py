"""Property-based tests of the detection engine (hypothesis): simulated sessions of every profile at
any rate from 25 to 1000 Hz, any threshold from 0.05 to 0.99, gaps, and any chunking. The engine never
raises, and the stream's events (and context) are exactly the batch's.

Deterministic: ``derandomize`` draws the same examples on every run (no example database).
"""

from __future__ import annotations

import dataclasses
from functools import cache
from itertools import cycle

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchsense.detection.engine import DetectionEngine, StreamingDetector, detect_recording
from twitchsense.detection.model import default_model_path, load_model
from twitchsense.io.recording import read_recording
from twitchsense.simulate import PROFILES, simulate_session

from conftest import PARKINSON
from handmade import check_stream_events

SETTINGS = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
#: the usual board rates (50-400 Hz among them), and any rate in the accepted range
RATES = st.one_of(st.sampled_from([25.0, 50.0, 64.0, 100.0, 128.0, 200.0, 400.0, 1000.0]),
                  st.floats(25.0, 1000.0, allow_nan=False))


@dataclasses.dataclass(frozen=True)
class Session:
    """A short simulated session, maybe with a gap cut into its time stamps (drawn as its recipe,
    so a failing example reads as one line)."""

    profile: str
    minutes: float
    seed: int
    rate_hz: float
    gap: tuple[float, float] | None  # (where, as a share of the samples; how long, s)

    def recording(self):
        rec = simulate_session(self.profile, self.minutes, self.seed, rate_hz=self.rate_hz)
        if self.gap is not None:
            rec.t[int(self.gap[0] * rec.n_samples):] += self.gap[1]
        return rec


SESSIONS = st.builds(Session, st.sampled_from(sorted(PROFILES)), st.floats(0.3, 1.5), st.integers(0, 1_000_000),
                     RATES, st.none() | st.tuples(st.floats(0.05, 0.95), st.floats(0.15, 3.0)))
CHUNKS = st.lists(st.integers(1, 5000), min_size=1, max_size=6)


@cache
def shipped():
    """The shipped model (not a fixture: a failing example would print all of it)."""
    return load_model(default_model_path())


def streamed(push, flush, t: np.ndarray, acc: np.ndarray, chunks: list[int]) -> list:
    """Events of samples fed in chunks of the given sizes, in turn."""
    events, i = [], 0
    for n in cycle(chunks):
        if i >= t.size:
            break
        events += push(t[i:i + n], acc[i:i + n])
        i += n
    return events + flush()


@SETTINGS
@given(session=SESSIONS, threshold=st.floats(0.05, 0.99), chunks=CHUNKS)
def test_the_shipped_model_at_any_threshold_streams_the_batch_events(session, threshold, chunks):
    rec = session.recording()
    model = dataclasses.replace(shipped(), config=dataclasses.replace(shipped().config, threshold=threshold))
    batch = detect_recording(rec, model)
    det = StreamingDetector.for_meta(model, rec.sample_rate_hz, rec.meta)
    check_stream_events(streamed(det.push, det.flush, rec.t, rec.acc, chunks), batch.verdicts)
    assert det.context_spans() == batch.context


#: feature columns computed row by row, bit for bit the same whatever rows come with them (the
#: spectral and activity columns differ in the last bits with the batch's size: FFTs of several rows)
ROW_EXACT = ("log_peak_g", "log_rms_g", "peak_offset_s", "width50_s", "rise_s", "decay_s", "direction_share")


def arbitrary_scorer(names: list[str], salt: int = 0):
    """Scores that hang on nothing but the row and ``salt`` (the same row, the same score, however it
    arrived): windows anywhere, on tails, on movement, on noise, reach the threshold."""
    cols = [names.index(n) for n in ROW_EXACT]

    def score(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = np.zeros(F.shape[0])
        for w, c in enumerate(cols, start=1):  # element-wise arithmetic: exact per row
            h += np.nan_to_num(F[:, c]) * (10.0 ** w + salt)
        p = np.abs(h) % 1.0
        return p, np.stack([p, 1.0 - p], axis=1)
    return score


def check_event_stage(t: np.ndarray, acc: np.ndarray, rate_hz: float, threshold: float, chunks: list[int],
                      salt: int, placement: str | None = None) -> None:
    """The event stage alone, under arbitrary scores: never raises; streamed == batch (provisional events
    and verdicts alike); sane events."""
    model = shipped()
    config = dataclasses.replace(model.config, threshold=threshold)

    def engine():
        return DetectionEngine(model.features, config, rate_hz, kinds=("a", "b"),
                               scorer=arbitrary_scorer(model.features._names(), salt), placement=placement)
    whole = engine()
    batch = whole.push(t, acc) + whole.flush()
    live = engine()
    check_stream_events(streamed(live.push, live.flush, t, acc, chunks),
                        [e for e in batch if e.status != "provisional"],
                        [e for e in batch if e.status == "provisional"])
    assert live.context_spans() == whole.context_spans()
    assert all(e.duration > 0 and e.peak_g > 0 and threshold <= e.confidence <= 1 for e in batch)


@SETTINGS
@given(session=SESSIONS, threshold=st.floats(0.05, 0.99), chunks=CHUNKS, salt=st.integers(0, 1_000_000))
def test_the_event_stage_under_arbitrary_scores_streams_the_batch_events(session, threshold, chunks, salt):
    """Triggers at arbitrary windows, which no trained model would give."""
    rec = session.recording()
    check_event_stage(rec.t, rec.acc, rec.sample_rate_hz, threshold, chunks, salt, rec.meta.get("placement"))


@cache
def real_tremor():
    return read_recording(PARKINSON, labels=False)


@settings(SETTINGS, max_examples=150)
@given(start_s=st.floats(0.0, 30.0), threshold=st.floats(0.05, 0.99), chunks=CHUNKS,
       salt=st.integers(0, 1_000_000))
def test_the_event_stage_on_real_tremor_under_arbitrary_scores_streams_the_batch_events(
        start_s, threshold, chunks, salt):
    """Real tremor (a high noise floor, peaks close together: issue 15's crash came from it), the
    window grid shifted by ``start_s``, triggers at arbitrary windows (the crash was found here)."""
    rec = real_tremor()
    keep = rec.t >= start_s
    check_event_stage(rec.t[keep], rec.acc[keep], rec.sample_rate_hz, threshold, chunks, salt)
