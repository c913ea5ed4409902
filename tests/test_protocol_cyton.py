"""OpenBCI Cyton decoder: aux-byte accelerometer, zeros between updates, counter gaps, resync."""

from __future__ import annotations

import numpy as np

from twitchsense.acquisition.protocol.cyton import SCALE_G_PER_COUNT, CytonDecoder

from decoding import cyton_packet, cyton_stream, decode


def test_accelerometer_every_tenth_packet_zeros_are_no_sample():
    s, events, _ = decode(CytonDecoder(), cyton_stream(range(100)))
    assert len(s) == 10
    np.testing.assert_allclose(s.t, np.arange(0, 100, 10) / 250.0)
    k = np.arange(0, 100, 10)
    np.testing.assert_allclose(s.acc, np.stack([k - 500, -3 * k, 8000 + k], 1) * SCALE_G_PER_COUNT)
    assert s.index.tolist() == list(range(10))
    assert [e.kind for e in events] == ["info"]


def test_every_split_point_gives_the_same_samples():
    data = cyton_stream(range(40))
    ref, _, _ = decode(CytonDecoder(), data)
    assert len(ref) == 4
    for cut in range(len(data) + 1):
        got, events, _ = decode(CytonDecoder(), data[:cut], data[cut:])
        np.testing.assert_array_equal(got.acc, ref.acc)
        np.testing.assert_array_equal(got.t, ref.t)
        assert "resync" not in [e.kind for e in events]


def test_counter_gap_is_reported_and_time_keeps_the_gap():
    data = cyton_stream(range(0, 30)) + cyton_stream(range(35, 300))  # 5 packets lost, counter wraps at 256
    dec = CytonDecoder()
    s, events, _ = decode(dec, data)
    gaps = [e for e in events if e.kind == "lost_samples"]
    assert [(e.count, e.data["packets"]) for e in gaps] == [(5, 5)]
    np.testing.assert_allclose(s.t, np.delete(np.arange(0, 300, 10), 3) / 250.0)  # packet 30 was lost


def test_other_footers_carry_no_accelerometer():
    data = b"".join(cyton_packet(k, (1, 2, 3), footer=0xC1) for k in range(20)) + cyton_stream(range(20, 40))
    dec = CytonDecoder()
    s, _, _ = decode(dec, data)
    assert len(s) == 2 and dec.stats["other_footer"] == 20


def test_garbage_is_skipped_and_counted():
    data = b"\xa0\x01junk\xc0" + cyton_stream(range(30)) + b"\xa0" * 40 + cyton_stream(range(30, 60))
    dec = CytonDecoder()
    s, events, _ = decode(dec, data)
    assert len(s) == 6
    resyncs = [e for e in events if e.kind == "resync"]
    assert [e.data["bytes"] for e in resyncs] == [7, 40]
    assert dec.stats["skipped_bytes"] == 47
