"""Resampling onto the model rate (anti-aliased, chunk-invariant), gap splitting, quality flags."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.detection.preprocess import (Resampler, axis_steps, check_rate, quality_flags, resample_recording,
                                             sensor_step_g)
from twitchsense.errors import TwitchsenseError


def _tone(rate: float, seconds: float, f: float, amp: float = 0.3, jitter: float = 0.0, seed: int = 0):
    n = int(rate * seconds)
    t = np.arange(n) / rate + np.random.default_rng(seed).uniform(0, jitter / rate, n)
    acc = np.column_stack([amp * np.sin(2 * np.pi * f * t), np.zeros(n), np.ones(n)])
    return t, acc


@pytest.mark.parametrize("rate", [25, 50, 104, 119, 200, 1000])
def test_in_band_tone_survives_resampling_to_100hz(rate):
    f = 3.0 if rate == 25 else 8.0
    t, acc = _tone(rate, 10, f)
    (t0, x), = resample_recording(t, acc, rate, 100.0)
    tt = t0 + np.arange(len(x)) / 100.0
    ref = 0.3 * np.sin(2 * np.pi * f * tt)
    core = slice(150, len(x) - 50)  # after the anti-alias filter settled
    # linear interpolation when upsampling (25, 50 Hz) loses a little between samples
    tol = {25: 0.1, 50: 0.15}.get(rate, 0.05)
    assert np.max(np.abs(x[core, 0] - ref[core])) < tol * 0.3
    assert len(x) == pytest.approx(100 * (t[-1] - t[0]), abs=3)
    assert np.allclose(x[:, 2], 1.0)


@pytest.mark.parametrize("rate", [200, 1000])
def test_anti_aliasing_removes_tones_above_the_model_nyquist(rate):
    # 70 Hz (200 Hz input) / 430 Hz (1000 Hz input) would alias to 30 Hz at 100 Hz without the filter
    f = 70.0 if rate == 200 else 430.0
    t, acc = _tone(rate, 10, f, amp=0.5)
    (_, x), = resample_recording(t, acc, rate, 100.0)
    assert np.abs(x[200:, 0]).max() < 0.02  # > 25x attenuation


@pytest.mark.parametrize("rate", [50, 100, 119, 200])
def test_resampler_is_chunk_invariant_bit_for_bit(rate):
    t, acc = _tone(rate, 12, 7.0, jitter=0.3)
    t[len(t) // 2:] += 0.7  # a gap
    whole, closed_whole = Resampler(rate).push(t, acc)
    r = Resampler(rate)
    parts, closed = [], []
    rng = np.random.default_rng(3)
    i = 0
    while i < len(t):
        j = i + int(rng.integers(1, 97))
        p, c = r.push(t[i:j], acc[i:j])
        parts += p
        closed += c
        i = j

    def joined(pieces):
        out = {}
        for p in pieces:
            out.setdefault(p.segment, []).append(p.x)
        return {k: np.vstack(v) for k, v in out.items()}

    a, b = joined(whole), joined(parts)
    assert a.keys() == b.keys() == {0, 1}
    for k in a:
        assert np.array_equal(a[k], b[k])
    assert closed_whole == closed == [0]


def test_gaps_split_segments_and_are_never_bridged():
    t, acc = _tone(100, 6, 5.0)
    t[300:] += 1.5  # 1.5 s of lost samples
    segs = resample_recording(t, acc, 100.0, 100.0)
    assert len(segs) == 2
    (t0, x0), (t1, x1) = segs
    assert t0 == t[0] and t1 == t[300]
    assert t0 + (len(x0) - 1) / 100 <= t[299] + 1e-9  # nothing made up inside the gap
    # a jittery clock (steps 9-11 ms) is not a gap
    tj = np.cumsum(np.random.default_rng(0).uniform(0.009, 0.011, 500))
    assert len(resample_recording(tj, np.zeros((500, 3)), 100.0)) == 1


def test_rates_outside_25_to_1000_hz_are_refused():
    with pytest.raises(TwitchsenseError, match="outside the supported 25-1000 Hz"):
        check_rate(10.0)
    with pytest.raises(TwitchsenseError, match="outside"):
        check_rate(5000.0)
    assert check_rate(1000.0) == 1000.0


def test_quality_flags_find_saturation_and_a_stuck_axis():
    t = np.arange(1000) / 100.0
    acc = np.random.default_rng(0).normal(0, 0.01, (1000, 3)) + [0, 0, 1]
    acc[100:110, 0] = 2.0  # clipped at +2 g full scale
    acc[:, 2] += 0.2 * np.sin(2 * np.pi * 0.5 * t)  # the sensor moves
    acc[500:700, 1] = 0.123  # y stuck for 2 s meanwhile
    flags = quality_flags(t, acc, range_g=2.0)
    kinds = [(f.flag, round(f.start, 2)) for f in flags]
    assert ("saturated", 1.0) in kinds and ("stuck-axis", 5.0) in kinds
    assert len(flags) == 2
    # without the range: the clipping plateau is still found
    assert any(f.flag == "saturated" for f in quality_flags(t, acc))
    assert quality_flags(t, acc[:, [0, 0, 2]] * 0 + np.random.default_rng(1).normal(0, .01, (1000, 3))) == []


def quantised(acc: np.ndarray, step: float) -> np.ndarray:
    return np.round(acc / step) * step


def test_a_still_coarse_sensor_is_no_stuck_axis_a_frozen_axis_amid_movement_is():
    """A still 12-bit sensor at +-32 g (1/64 g steps) repeats its reading on every axis for seconds (its
    noise is under a step): no fault. One axis frozen for 3 s while the sensor moves (the others span
    far more than 4 steps and 0.05 g) is one, found with the sidecar's step or the estimated one."""
    rng = np.random.default_rng(3)
    t = np.arange(60 * 100) / 100.0
    step = 1 / 64
    assert sensor_step_g({"range_g": 32, "bits": 12}) == step
    assert sensor_step_g({"range_g": 8.0, "simulation": {"sensor": {"bits": 10}}}) == 1 / 64
    assert sensor_step_g({"range_g": 8.0}) == 0.0 and sensor_step_g({"bits": "x", "range_g": 2}) == 0.0
    calm = quantised(rng.normal(0, 0.002, (t.size, 3)) + [0.1, -0.2, 0.97], step)
    runs = np.diff(calm[:, 2]) == 0
    assert runs.mean() > 0.99  # repeats for seconds: the old exact-repeat rule flagged it
    assert quality_flags(t, calm, 32.0, step) == [] and quality_flags(t, calm, 32.0) == []
    moving = quantised(np.column_stack([0.4 * np.sin(2 * np.pi * 0.4 * t), 0.3 * np.cos(2 * np.pi * 0.3 * t),
                                        0.9 + 0.1 * np.sin(2 * np.pi * 0.2 * t)]), step)
    assert quality_flags(t, moving, 32.0, step) == []
    frozen = moving.copy()
    frozen[2000:2300, 1] = frozen[2000, 1]
    for found in (quality_flags(t, frozen, 32.0, step), quality_flags(t, frozen, 32.0)):
        assert [(f.flag, f.end) for f in found] == [("stuck-axis", 22.99)] and 19.5 < found[0].start <= 20.0
    assert axis_steps(frozen) == pytest.approx([step] * 3)
