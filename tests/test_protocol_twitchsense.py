"""Host decoder of the project's own protocol: samples, time base, loss, reboots, replies, clock."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.acquisition.protocol.base import BoardInfo
from twitchsense.acquisition.protocol.frames import (CMD_PING, CMD_START, MSG_MARK, MSG_SAMPLES, build_ack,
                                                     build_info, build_mark, build_pong, build_samples, build_status,
                                                     cobs_decode, cobs_encode, encode_frame, parse_info)
from twitchsense.acquisition.protocol.twitchsense_decoder import TwitchsenseDecoder

from decoding import ESP32_INFO, SCALE, counts_for, decode, full_stream, samples_frames


def test_design_vector_decodes():
    wire = bytes.fromhex("02 01 01 01 01 01 01 01 01 02 01 01 01 01 01 04 40 8b 32 00"
                         "04 01 e8 03 01 04 40 42 0f 05 02 ff ff 02 01 04 40 ff 7f 02 80 01 03 ba b2 00")
    dec = TwitchsenseDecoder()
    res = dec.feed(build_info(ESP32_INFO) + wire)
    assert res.info == ESP32_INFO
    s = res.samples
    assert s.index.tolist() == [0, 1000, 1001]
    np.testing.assert_allclose(s.t, [0.0, 1.0, 1.001])
    np.testing.assert_allclose(s.acc / SCALE, [[0, 0, 16384], [-1, 2, 16384], [32767, -32768, 0]])
    assert dec.stats["lost_samples"] == 999
    assert [e.kind for e in res.events] == ["info", "lost_samples"]
    assert res.events[1].count == 999 and res.events[1].t == pytest.approx(1.0)


def test_every_split_point_gives_the_same_result():
    stream = full_stream()
    ref, ref_events, _ = decode(TwitchsenseDecoder(), stream)
    assert len(ref) == 50
    assert ref.index.tolist() == list(range(50))
    np.testing.assert_allclose(ref.t, np.arange(50) / 1000.0)
    np.testing.assert_allclose(ref.acc / SCALE, counts_for(0, 50))
    for cut in range(len(stream) + 1):
        got, events, results = decode(TwitchsenseDecoder(), stream[:cut], stream[cut:])
        np.testing.assert_array_equal(got.index, ref.index)
        np.testing.assert_array_equal(got.t, ref.t)
        np.testing.assert_array_equal(got.acc, ref.acc)
        assert [e.kind for e in events] == [e.kind for e in ref_events]
        replies = [r for res in results for r in res.replies]
        assert [(r.kind, r.data.get("token")) for r in replies] == [("ack", None), ("pong", 7)]


def test_replies_carry_ack_and_pong_with_stream_time():
    dec = TwitchsenseDecoder(ESP32_INFO)
    dec.feed(samples_frames(0, 2))
    res = dec.feed(build_ack(CMD_PING, 2) + build_pong(0xDEADBEEF, 19_500), host_ns=5_000)
    ack, pong = res.replies
    assert ack.kind == "ack" and ack.data == {"cmd_type": CMD_PING, "status": 2} and ack.host_ns == 5_000
    assert pong.kind == "pong" and pong.data["token"] == 0xDEADBEEF
    assert pong.data["t"] == pytest.approx(0.0195)


def test_lost_frame_is_counted_exactly():
    stream = samples_frames(0, 5) + samples_frames(70, 3, t0_us=70_000)
    s, events, _ = decode(TwitchsenseDecoder(ESP32_INFO), stream)
    assert s.index.tolist() == list(range(50)) + list(range(70, 100))
    np.testing.assert_allclose(s.t, s.index / 1000.0)
    assert [(e.kind, e.count) for e in events] == [("lost_samples", 20)]
    assert events[0].data == {"first_index": 50, "count": 20}


def test_device_clock_unwraps_across_32_bits():
    t0 = 2**32 - 25_000
    s, events, _ = decode(TwitchsenseDecoder(ESP32_INFO), samples_frames(0, 6, t0_us=t0))
    np.testing.assert_allclose(s.t, np.arange(60) / 1000.0)
    assert not events


def test_device_clock_going_back_is_reanchored_on_the_index():
    stream = samples_frames(0, 3) + samples_frames(40, 2, t0_us=5_000)  # 10 samples lost, clock jumped back
    s, events, _ = decode(TwitchsenseDecoder(ESP32_INFO), stream)
    assert [(e.kind, e.count) for e in events] == [("warning", 1), ("lost_samples", 10)]
    assert s.index.tolist() == list(range(30)) + list(range(40, 60))
    np.testing.assert_allclose(s.t, s.index / 1000.0)


def test_gap_longer_than_the_clock_wrap_uses_the_sample_index():
    # 5000 s lost (longer than the 71.6 min wrap of a u32 microsecond clock)
    lost = 5_000_000
    t_after = (10_000 + lost * 1000) % 2**32
    stream = samples_frames(0, 1) + samples_frames(10 + lost, 1, t0_us=t_after)
    s, events, _ = decode(TwitchsenseDecoder(ESP32_INFO), stream)
    assert s.t[10] == pytest.approx(5000.010)
    assert events[0].kind == "lost_samples" and events[0].count == lost


def test_reboot_reanchors_on_host_time_and_continues_index():
    dec = TwitchsenseDecoder()
    a, _, _ = decode(dec, build_info(ESP32_INFO) + samples_frames(0, 10), host_ns=[1_000_000_000])
    # the board restarts: index and clock from zero, 3 s later on the host
    b, events, _ = decode(dec, samples_frames(0, 2, t0_us=1234), host_ns=[4_000_000_000])
    assert [e.kind for e in events] == ["reboot"]
    assert dec.stats["reboots"] == 1
    assert b.index.tolist() == list(range(100, 120))
    assert b.t[0] == pytest.approx(a.t[-10] + 3.0)
    assert np.all(np.diff(np.concatenate([a.t, b.t])) > 0)


def test_reboot_seen_in_status_uptime_is_reported_once():
    dec = TwitchsenseDecoder(ESP32_INFO)
    decode(dec, build_status(5000, 0) + samples_frames(0, 3))
    s, events, _ = decode(dec, build_status(200, 0) + build_info(ESP32_INFO) + samples_frames(0, 1))
    assert [e.kind for e in events].count("reboot") == 1
    assert s.index.tolist() == list(range(30, 40))


def test_restart_after_ack_start_is_not_a_reboot():
    dec = TwitchsenseDecoder(ESP32_INFO)
    decode(dec, samples_frames(0, 3))
    s, events, _ = decode(dec, build_ack(CMD_START) + samples_frames(0, 1, t0_us=9_999_999))
    assert dec.stats["reboots"] == 0 and "reboot" not in [e.kind for e in events]
    assert s.index.tolist() == list(range(30, 40))
    assert s.t[0] == pytest.approx(0.030)


def test_reset_keeps_the_time_line_increasing():
    dec = TwitchsenseDecoder(ESP32_INFO)
    a, _, _ = decode(dec, samples_frames(0, 3) + b"\x05\x01", host_ns=[0])
    dec.reset()
    b, events, _ = decode(dec, samples_frames(500, 1, t0_us=77), host_ns=[2_000_000_000])
    assert not events  # the partial frame was forgotten, not reported as garbage
    assert b.index[0] == 30 and b.t[0] == pytest.approx(a.t[-10] + 2.0)


def test_overflow_is_reported_from_status():
    dec = TwitchsenseDecoder(ESP32_INFO)
    _, events, _ = decode(dec, build_status(1000, 0) + build_status(2000, 3) + build_status(3000, 3))
    assert [(e.kind, e.count) for e in events if e.kind == "overflow"] == [("overflow", 3)]
    assert dec.stats["overflow_frames"] == 3


def test_bad_bytes_become_counted_events():
    good = samples_frames(0, 2)
    body = bytearray(cobs_decode(build_samples(20, 20_000, counts_for(20, 10))[:-1]))
    body[12] ^= 0xFF
    bad_crc = cobs_encode(bytes(body)) + b"\x00"  # well-framed, wrong CRC
    wrong_len = encode_frame(MSG_SAMPLES, build_samples(30, 30_000, counts_for(30, 2))[1:-1])  # nonsense body
    short_samples = encode_frame(MSG_SAMPLES, (30).to_bytes(4, "little") + bytes(4) + b"\x02" + bytes(6))
    stream = b"\xfe\x01garbage\x00" + good + bytes(bad_crc) + short_samples + wrong_len + encode_frame(0x42, b"?") \
        + samples_frames(40, 1, t0_us=40_000)
    dec = TwitchsenseDecoder(ESP32_INFO)
    s, events, _ = decode(dec, stream)
    assert s.index.tolist() == list(range(20)) + list(range(40, 50))
    st = dec.stats
    assert (st["crc_errors"], st["bad_frames"], st["unknown_types"], st["lost_samples"]) == (1, 3, 1, 20)
    assert st["resyncs"] == 2
    kinds = [e.kind for e in events]
    assert kinds.count("crc_error") == 1 and kinds.count("unknown_type") == 1 and "resync" in kinds
    assert sum(e.count for e in events if e.kind == "bad_frame") == 3


def test_samples_before_info_are_dropped_with_a_warning():
    dec = TwitchsenseDecoder()
    s, events, _ = decode(dec, samples_frames(0, 2) + build_info(ESP32_INFO) + samples_frames(20, 1, t0_us=20_000))
    assert s.index.tolist() == list(range(20, 30))
    assert dec.stats["samples_dropped"] == 20
    assert [e.kind for e in events] == ["warning", "info"]


def test_clock_estimate_recovers_offset_and_drift():
    rng = np.random.default_rng(3)
    dec = TwitchsenseDecoder(ESP32_INFO)
    drift_ppm, offset_s = 40.0, 1234.5
    for k in range(300):  # 300 s of PINGs, one a second, random latency 1..5 ms
        dev_us = k * 1_000_000 + 500
        dec.feed(samples_frames(k * 1000, 1, t0_us=k * 1_000_000))
        host_s = offset_s + (dev_us * 1e-6) * (1 + drift_ppm * 1e-6) + rng.uniform(0.001, 0.005)
        dec.feed(build_pong(k, dev_us), host_ns=int(host_s * 1e9))
    assert dec.stats["lost_samples"] == 299 * 990
    assert dec.clock.n_points == 300
    assert dec.clock.drift_ppm == pytest.approx(drift_ppm, abs=1.0)
    assert dec.clock.offset_s == pytest.approx(offset_s + 0.003, abs=0.0005)
    assert dec.clock.to_host_ns(100.0) == pytest.approx((offset_s + 0.003 + 100.004) * 1e9, abs=1e6)


def test_info_after_start_changes_scale_and_spacing():
    fast = ESP32_INFO
    slow = BoardInfo(1, "MPU6050", 8, 5, 500.0, 2 * SCALE, 1_000_000, "00" * 8, "1.2.3", "esp32-mpu6050")
    dec = TwitchsenseDecoder()
    a, _, _ = decode(dec, build_info(fast) + samples_frames(0, 2), host_ns=[10**9])
    b, events, results = decode(dec, build_ack(CMD_START) + build_info(slow) + samples_frames(0, 2, n=5, rate=500.0),
                                    host_ns=[3 * 10**9])
    assert results[0].info == slow and "reboot" not in [e.kind for e in events]
    np.testing.assert_allclose(np.diff(b.t), 0.002)
    np.testing.assert_allclose(b.acc / (2 * SCALE), counts_for(0, 10))
    assert b.t[0] == pytest.approx(a.t[-10] + 2.0)


# ---- MARK (v1.1): the board's marker button --------------------------------------------------
def markers(results) -> list[tuple[float, str]]:
    return [(round(m.t, 9), m.source) for r in results for m in r.markers]


def test_mark_is_placed_on_the_samples_time_base():
    dec = TwitchsenseDecoder(ESP32_INFO)
    # pressed 4.2 ms into frame 2; sent after frame 3 (firmware batches), then a press later on
    _, events, results = decode(dec, samples_frames(0, 3) + build_mark(24_200, 0) + samples_frames(30, 2,
                                t0_us=30_000), build_mark(55_000, 1))
    assert markers(results) == [(0.0242, "board"), (0.055, "board")]
    assert not events and dec.stats["markers"] == 2 and dec.stats["unknown_types"] == 0


def test_mark_unwraps_with_the_device_clock():
    t0 = 2**32 - 25_000  # the clock wraps 25 ms after sample 0
    _, _, results = decode(TwitchsenseDecoder(ESP32_INFO), samples_frames(0, 6, t0_us=t0),
                           build_mark((t0 + 42_000) % 2**32, 0))
    assert markers(results) == [(0.042, "board")]


def test_mark_after_a_start_waits_for_the_new_time_line():
    dec = TwitchsenseDecoder(ESP32_INFO)
    decode(dec, samples_frames(0, 3), host_ns=[1_000_000_000])
    # START again 2 s later: the board's index restarts and its clock reads 9.999999 s; a press comes
    # before the first frame of the new stretch, on that stretch's clock
    s, _, results = decode(dec, build_ack(CMD_START) + build_mark(10_004_999, 0) + samples_frames(
        0, 2, t0_us=9_999_999), host_ns=[3_000_000_000])
    assert s.t[0] == pytest.approx(0.030 + 2.0, abs=0.01)  # re-anchored on the host's clock
    (t, _), = markers(results)
    assert t == pytest.approx(s.t[0] + 0.005)


def test_lost_marks_are_counted_from_seq():
    dec = TwitchsenseDecoder(ESP32_INFO)
    _, events, results = decode(dec, build_ack(CMD_START) + samples_frames(0, 1) + build_mark(1_000, 1)
                                + build_mark(2_000, 4) + build_mark(3_000, 0))
    assert len(markers(results)) == 3
    lost = [e for e in events if e.data.get("markers_lost")]
    # seq 0 missing after START, then 2 and 3; seq 0 again means the board restarted counting: no loss
    assert [(e.kind, e.count) for e in lost] == [("warning", 1), ("warning", 2)]
    assert dec.stats["markers_lost"] == 3


def test_a_v1_0_host_counts_mark_as_an_unknown_type_and_keeps_every_sample():
    stream = full_stream()
    with_mark = stream[:len(stream) // 2]
    cut = with_mark.rindex(b"\x00") + 1  # between two frames
    with_mark = stream[:cut] + build_mark(12_000, 0) + stream[cut:]
    ref, ref_events, _ = decode(TwitchsenseDecoder(minor=0), stream)
    old = TwitchsenseDecoder(minor=0)
    got, events, results = decode(old, with_mark)
    np.testing.assert_array_equal(got.t, ref.t)
    np.testing.assert_array_equal(got.acc, ref.acc)
    unknown = [e for e in events if e.kind == "unknown_type"]
    assert [e for e in events if e.kind != "unknown_type"] == ref_events
    assert len(unknown) == 1 and "unknown type 0x06" in unknown[0].detail
    assert old.stats["unknown_types"] == 1 and not markers(results)
    new = TwitchsenseDecoder()
    got, _, results = decode(new, with_mark)
    np.testing.assert_array_equal(got.t, ref.t)
    assert new.stats["unknown_types"] == 0 and len(markers(results)) == 1


def test_a_short_mark_is_a_bad_frame():
    dec = TwitchsenseDecoder(ESP32_INFO)
    _, events, results = decode(dec, samples_frames(0, 1) + encode_frame(MSG_MARK, b"\x01\x02\x03\x04"))
    assert [e.kind for e in events] == ["bad_frame"] and "MARK payload of 4 bytes" in events[0].detail
    assert not markers(results)


def test_info_carries_the_minor_version_as_an_appended_byte():
    v11 = BoardInfo(1, "MPU6050", 4, 10, 1000.0, SCALE, 1_000_000, "0102030405060708", "1.2.3", "esp32-mpu6050", 1)
    assert build_info(v11) != build_info(ESP32_INFO)
    payload = cobs_decode(build_info(v11)[:-1])[1:-2]
    assert payload[:-1] == cobs_decode(build_info(ESP32_INFO)[:-1])[1:-2]  # 1.0's INFO and one more byte
    assert parse_info(payload).protocol_minor == 1 and parse_info(payload[:-1]).protocol_minor == 0
    _, events, _ = decode(TwitchsenseDecoder(), build_info(v11))
    assert "protocol v1.1" in events[0].detail
