"""Replay source and the pipeline runner: exact reproduction at full speed, real time at speed 1."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from twitchsense.acquisition.sources.replay import ReplaySource, parse_speed
from twitchsense.acquisition.sources.synthetic import SimulatedSource, synthetic_recording
from twitchsense.errors import TwitchsenseError
from twitchsense.io.recording import Recording, read_recording, write_recording
from twitchsense.live.pipeline import Pipeline

from conftest import ManualClock, make_samples


class Collect:
    def __init__(self):
        self.blocks, self.links, self.closed = [], [], False

    def on_samples(self, block):
        self.blocks.append(block)

    def on_link(self, event):
        self.links.append(event)

    def close(self):
        self.closed = True


def gapped_recording() -> Recording:
    t, acc = make_samples(1000, 100.0, seed=3)
    t = t.copy()
    t[400:] += 0.5  # +0.5 s: 50 samples missing at 100 Hz
    return Recording(t, acc, meta={"sample_rate_hz": 100.0})


def test_replay_at_max_speed_reproduces_the_recording_exactly():
    rec = gapped_recording()
    sink = Collect()
    summary = Pipeline(ReplaySource(rec, speed=None), sinks=[sink]).run()
    t = np.concatenate([b.t for b in sink.blocks])
    acc = np.concatenate([b.acc for b in sink.blocks])
    assert np.array_equal(t, rec.t) and np.array_equal(acc, rec.acc)
    assert summary.samples == 1000 and sink.closed
    lost = [e for e in sink.links if e.kind == "lost_samples"]
    assert len(lost) == 1 and lost[0].count == 50 and lost[0].t == pytest.approx(rec.t[399])
    assert summary.lost_samples == 50


def test_replay_at_speed_1_releases_each_block_at_its_time_never_early():
    rec = Recording(*make_samples(200, 100.0), meta={"sample_rate_hz": 100.0})  # 1.99 s
    clock = ManualClock(1000.0)
    released = [(clock.now - 1000.0, float(item.samples.t[-1]), int(item.samples.host_ns[0]))
                for item in ReplaySource(rec, speed=1.0, clock=clock)]
    wall, stream, host_ns = np.array(released).T
    assert np.allclose(wall, stream - rec.t[0], atol=1e-9)  # each block when its last sample is due
    assert np.array_equal(host_ns, np.round((wall + 1000.0) * 1e9))  # stamped when it was released
    assert len(released) > 100  # paced in small blocks, not all at once


def test_replay_on_the_real_clock_is_never_early():
    """The real clock: only the lower bound, which load cannot break."""
    rec = Recording(*make_samples(30, 100.0), meta={"sample_rate_hz": 100.0})  # 0.29 s
    start = time.monotonic()
    for item in ReplaySource(rec, speed=1.0):
        assert time.monotonic() - start >= item.samples.t[-1] - rec.t[0] - 1e-3


def test_replay_speed_factor_and_parse():
    rec = Recording(*make_samples(300, 100.0), meta={"sample_rate_hz": 100.0})  # 2.99 s
    clock = ManualClock()
    n = sum(len(i.samples) for i in ReplaySource(rec, speed=10.0, clock=clock))
    assert n == 300 and clock.now == pytest.approx(0.299, abs=1e-9)
    assert parse_speed("max") is None and parse_speed("2.5") == 2.5
    with pytest.raises(TwitchsenseError, match="--speed must be a positive number or 'max', got '-1'"):
        parse_speed("-1")


def test_stop_and_duration_end_a_live_source_on_time():
    rec = synthetic_recording(100.0, 1.0, seed=1)
    clock = ManualClock()
    stop = threading.Event()

    class StopAt:
        def on_tick(self, now):
            if clock.now >= 0.3:
                stop.set()

    summary = Pipeline(ReplaySource(rec, speed=1.0, loop=True, clock=clock), sinks=[StopAt()],
                       clock=clock).run(stop=stop)
    assert summary.samples == 31 and summary.wall_s == pytest.approx(0.3)  # t 0 .. 0.30: 31 samples
    clock = ManualClock()
    summary = Pipeline(ReplaySource(rec, speed=1.0, loop=True, clock=clock), sinks=[],
                       clock=clock).run(duration_s=1.5)
    assert summary.wall_s == pytest.approx(1.5) and summary.samples == 151  # loops past the 1 s recording
    assert summary.last_t - summary.first_t == pytest.approx(1.5)


def test_stop_from_another_thread_ends_an_endless_source():
    pipeline = Pipeline(ReplaySource(synthetic_recording(100.0, 1.0, seed=1), speed=1.0, loop=True))
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    summary = pipeline.run(stop=stop)  # looped: only the stop ends it
    assert stop.is_set() and summary.samples >= 1


def test_simulated_source_is_the_simulator_at_real_time():
    src = SimulatedSource(50.0, seconds=6.0, seed=2, profile="rest")
    assert src.meta["board"] == "twitchsense simulator" and src.meta["start_time"]
    assert src.speed == 1.0 and src.loop


def test_synthetic_recording_is_seeded_and_labelled():
    a, b = synthetic_recording(100.0, 20.0, seed=4), synthetic_recording(100.0, 20.0, seed=4)
    assert np.array_equal(a.acc, b.acc) and len(a.labels) >= 2
    assert np.all(np.abs(np.linalg.norm(a.acc, axis=1) - 1.0) < 0.5)


def test_cli_replay_with_record_writes_the_same_recording(cli, tmp_path):
    src = tmp_path / "in.csv"
    write_recording(src, gapped_recording())
    out = tmp_path / "out.csv"
    r = cli("replay", src, "--record", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "1000 samples" in r.stdout and "lost samples 50" in r.stdout
    a, b = read_recording(src), read_recording(out)
    assert np.array_equal(a.t, b.t) and np.array_equal(a.acc, b.acc)
    assert b.meta["sample_rate_hz"] == 100.0
    r = cli("replay", src, "--speed", "fast")
    assert r.returncode == 1 and "--speed must be a positive number or 'max'" in r.stderr


def test_pipeline_feeds_the_alert_engine_samples_link_events_and_close():
    from twitchsense.alerts.engine import AlertEngine
    t, acc = make_samples(2000, 100.0)
    t = t.copy()
    t[1000:] += 120.0  # two minutes without data in the middle
    rec = Recording(t, acc, meta={"sample_rate_hz": 100.0})

    class Alerts:
        def __init__(self):
            self.alerts = []

        def on_alerts(self, alerts):
            self.alerts += alerts

    sink = Alerts()
    engine = AlertEngine(keep_episodes=True)
    summary = Pipeline(ReplaySource(rec), alerts=engine, sinks=[sink]).run()
    assert summary.samples == 2000 and summary.lost_samples == 12000
    no_data = [a for a in sink.alerts if a.rule == "no-data"]
    assert no_data and 10.0 < no_data[0].start < 140.0
    assert any(a.rule == "no-data" for a in engine.episodes)  # close() ran: episodes collected


def test_pipeline_time_never_runs_backwards():
    """While no samples come, the pipeline's clock runs on with the wall; the next samples
    (stamped earlier than that guess) must not send it back (the alert engine relies on it)."""
    from twitchsense.stages import SourceItem
    from twitchsense.types import SampleBlock

    t, acc = make_samples(200, 100.0)
    wall = iter([0.0, 0.0, 5.0, 5.1, 5.2, 5.3, 5.4])

    def block(i0, i1):
        return SampleBlock(t[i0:i1], acc[i0:i1], np.arange(i0, i1), np.full(i1 - i0, -1))

    class Source:
        def __iter__(self):
            yield SourceItem(block(0, 100))   # t up to 0.99, wall 0
            yield SourceItem()                # nothing for 5 wall seconds: now ~ 5.99
            yield SourceItem(block(100, 200))  # t up to 1.99 (the link caught up late)

        def close(self):
            pass

    class Ticks:
        def __init__(self):
            self.now = []

        def on_tick(self, now):
            self.now.append(now)

    import types

    ticks = Ticks()
    Pipeline(Source(), sinks=[ticks], clock=types.SimpleNamespace(monotonic=lambda: next(wall, 6.0))).run()
    assert len(ticks.now) == 3 and ticks.now[1] > 5.0
    assert all(b >= a for a, b in zip(ticks.now, ticks.now[1:]))


def test_pipeline_runs_native_thread_pools_on_one_thread():
    """Tiny per-block predictions must not wake a thread pool (it spin-waits on a busy machine)."""
    from threadpoolctl import threadpool_info, threadpool_limits
    pytest.importorskip("sklearn")  # loads the OpenMP runtime the model's predictions use
    import sklearn.ensemble  # noqa: F401

    seen = []

    class Detector:
        def push(self, t, acc):
            seen.append({p["internal_api"]: p["num_threads"] for p in threadpool_info()})
            return []

        def flush(self):
            return []

    t, acc = make_samples(300, 100.0)
    with threadpool_limits(4):  # as a multi-core machine would have it
        Pipeline(ReplaySource(Recording(t, acc, meta={"sample_rate_hz": 100.0})), detector=Detector()).run()
        assert any(n == 4 for n in {p["internal_api"]: p["num_threads"] for p in threadpool_info()}.values())
    assert seen and all(n == 1 for pools in seen for n in pools.values())


def test_replay_without_a_sidecar_rate_infers_it_once_and_reports_gaps(monkeypatch):
    """The rate inferred from all of ``t`` is computed once, not per block (quadratic on long files)."""
    import twitchsense.io.recording as recording
    calls = []
    real = recording.infer_rate
    monkeypatch.setattr(recording, "infer_rate", lambda *a, **k: calls.append(1) or real(*a, **k))
    rec = gapped_recording()
    rec = Recording(rec.t, rec.acc, meta={})  # no sidecar rate: inferred from t
    sink = Collect()
    summary = Pipeline(ReplaySource(rec, speed=None, max_block_s=0.05), sinks=[sink]).run()
    assert len(sink.blocks) > 100 and len(calls) == 1
    lost = [e for e in sink.links if e.kind == "lost_samples"]
    assert len(lost) == 1 and lost[0].count == 50 and summary.lost_samples == 50
