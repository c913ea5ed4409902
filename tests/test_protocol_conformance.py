"""One conformance test every decoder must pass (the Decoder interface of twitchsense/acquisition/protocol/base.py)."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.acquisition.protocol import CytonDecoder, TextLineDecoder, TwitchsenseDecoder
from twitchsense.acquisition.protocol.base import DecodeResult
from twitchsense.types import SampleBlock

from decoding import NANO33, cyton_stream, decode, full_stream

CASES = {
    "twitchsense": (lambda: TwitchsenseDecoder(), full_stream),
    "text": (lambda: TextLineDecoder.preset("nano33-ble"), lambda: NANO33 * 3),
    "cyton": (lambda: CytonDecoder(), lambda: cyton_stream(range(60))),
}


@pytest.fixture(params=sorted(CASES))
def case(request):
    make, stream = CASES[request.param]
    return make, stream()


def run(dec, chunks, host_ns=None):
    s, _, results = decode(dec, *chunks, host_ns=None if host_ns is None else [host_ns + k for k in range(len(chunks))])
    assert all(isinstance(r, DecodeResult) for r in results)
    return s, results


def test_samples_have_the_interface_shapes(case):
    make, data = case
    dec = make()
    s, results = run(dec, [data], host_ns=123)
    assert len(s) > 0
    assert s.t.dtype == np.float64 and s.acc.dtype == np.float64 and s.acc.shape == (len(s), 3)
    assert s.index.dtype == np.int64 and s.host_ns.dtype == np.int64 and np.all(s.host_ns == 123)
    assert np.all(np.diff(s.t) > 0) and np.all(np.diff(s.index) > 0)
    assert sum(r.info is not None for r in results) >= 1
    assert isinstance(dec.stats, dict) and dec.stats["samples"] == len(s)
    assert len(dec.feed(b"").samples) == 0


def test_every_split_point_gives_the_same_samples(case):
    make, data = case
    ref, _ = run(make(), [data])
    step = max(1, len(data) // 300)
    for cut in range(0, len(data) + 1, step):
        got, _ = run(make(), [data[:cut], data[cut:]])
        np.testing.assert_array_equal(got.t, ref.t)
        np.testing.assert_array_equal(got.acc, ref.acc)
        np.testing.assert_array_equal(got.index, ref.index)


def test_byte_by_byte_gives_the_same_samples(case):
    make, data = case
    ref, _ = run(make(), [data])
    got, _ = run(make(), [data[i:i + 1] for i in range(len(data))])
    np.testing.assert_array_equal(got.acc, ref.acc)
    np.testing.assert_array_equal(got.t, ref.t)


def test_reset_mid_stream_keeps_time_and_index_increasing(case):
    make, data = case
    dec = make()
    a, _ = run(dec, [data[:len(data) // 2]], host_ns=0)
    dec.reset()
    b, _ = run(dec, [data], host_ns=10**9)
    both = SampleBlock.concat([a, b])
    assert len(b) > 0
    assert np.all(np.diff(both.t) > 0) and np.all(np.diff(both.index) > 0)


def test_garbage_never_raises(case):
    make, data = case
    rng = np.random.default_rng(5)
    dec = make()
    for _ in range(20):
        dec.feed(bytes(rng.integers(0, 256, int(rng.integers(0, 200))).astype(np.uint8)))
    s, _ = run(dec, [data])
    assert np.all(np.isfinite(s.acc))

