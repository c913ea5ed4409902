"""Framing of wire protocol v1: CRC, COBS, builders, parsers and the frame reader."""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.acquisition.protocol.frames import (CMD_GET_INFO, CMD_PING, CMD_START, CMD_STOP, MSG_ACK, MSG_INFO,
                                                     MSG_LOG, MSG_PONG, MSG_SAMPLES, MSG_STATUS, FrameReader,
                                                     build_ack, build_command, build_info, build_log, build_ping,
                                                     build_pong, build_samples, build_start, build_status,
                                                     cobs_decode, cobs_encode, crc16, decode_body, encode_frame,
                                                     parse_ack, parse_info, parse_ping, parse_pong, parse_start,
                                                     parse_status)

from decoding import ESP32_INFO


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_design_vectors_byte_for_byte():
    # the hex below is copied from ../shared/wire-protocol.md
    assert build_command(CMD_GET_INFO).hex(" ") == "04 80 78 70 00"
    assert build_command(CMD_STOP).hex(" ") == "04 82 3a 50 00"
    assert build_samples(0, 0, np.array([[0, 0, 16384]])).hex(" ") == \
        "02 01 01 01 01 01 01 01 01 02 01 01 01 01 01 04 40 8b 32 00"
    assert build_samples(1000, 1_000_000, np.array([[-1, 2, 16384], [32767, -32768, 0]])).hex(" ") == \
        "04 01 e8 03 01 04 40 42 0f 05 02 ff ff 02 01 04 40 ff 7f 02 80 01 03 ba b2 00"
    assert build_info(ESP32_INFO).hex(" ") == (
        "09 02 01 01 04 0a 40 42 0f 04 d6 dc 01 04 40 42 0f 1c 01 02 03 04 05 06 07 08 "
        "01 02 03 0d 65 73 70 33 32 2d 6d 70 75 36 30 35 30 9a a8 00")
    assert build_ping(0xDEADBEEF).hex(" ") == "08 83 ef be ad de 65 29 00"
    assert build_ack(CMD_START).hex(" ") == "03 03 81 03 65 bd 00"


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00", b"\x11\x00", b"\x01" * 253, b"\x01" * 254,
                                  b"\x01" * 255, b"\x00" + b"\x01" * 254, bytes(range(256)) * 2])
def test_cobs_round_trip_and_no_zero(data):
    enc = cobs_encode(data)
    assert 0 not in enc
    assert cobs_decode(enc) == data


def test_cobs_canonical_254_run_adds_one_byte():
    assert cobs_encode(b"\x01" * 254) == b"\xff" + b"\x01" * 254


@pytest.mark.parametrize("bad, msg", [(b"", "empty"), (b"\x05\x01\x02", "truncated"), (b"\x02\x00", "zero byte")])
def test_cobs_decode_rejects_malformed(bad, msg):
    with pytest.raises(ValueError, match=msg):
        cobs_decode(bad)


def test_decode_body_checks_crc():
    body = cobs_decode(build_ping(7)[:-1])
    assert decode_body(body) == (CMD_PING, (7).to_bytes(4, "little"))
    with pytest.raises(ValueError, match="CRC mismatch"):
        decode_body(body[:-1] + bytes([body[-1] ^ 1]))


def test_encode_frame_rejects_oversize_body():
    encode_frame(MSG_LOG, b"a" * 251)
    with pytest.raises(ValueError, match="at most 254"):
        encode_frame(MSG_LOG, b"a" * 252)


def test_builders_and_parsers_round_trip():
    def payload(frame):
        return decode_body(cobs_decode(frame[:-1]))

    assert parse_info(payload(build_info(ESP32_INFO))[1]) == ESP32_INFO
    assert parse_ack(payload(build_ack(CMD_STOP, 3))[1]) == (CMD_STOP, 3)
    assert parse_status(payload(build_status(1234, 5, 1))[1]) == (1234, 5, 1)
    assert parse_pong(payload(build_pong(9, 2**32 + 5))[1]) == (9, 5)
    assert parse_ping(payload(build_ping(2**32 - 1))[1]) == 2**32 - 1
    assert payload(build_start()) == (CMD_START, b"")
    assert parse_start(payload(build_start())[1]) == (None, 0)
    assert parse_start(payload(build_start(119.0, 8))[1]) == (119.0, 8)
    assert parse_start(payload(build_start(range_g=2))[1]).range_g == 2
    assert payload(build_log("hé"))[1].decode() == "hé"
    mtype, p = payload(build_log("x" * 1000))
    assert mtype == MSG_LOG and len(p) == 251


@pytest.mark.parametrize("payload, msg", [(b"\x01" * 27, "shorter than 28"),
                                          (bytes(27) + b"\x21", "at most 32"),
                                          (bytes(27) + b"\x05ab", "too short for a 5-byte name")])
def test_parse_info_rejects_short_payloads(payload, msg):
    with pytest.raises(ValueError, match=msg):
        parse_info(payload)


def test_parse_start_rejects_partial_rate():
    with pytest.raises(ValueError, match="expected 0, 4 or 5"):
        parse_start(b"\x01\x02")


def test_build_samples_validates_shape():
    with pytest.raises(ValueError, match=r"1\.\.40"):
        build_samples(0, 0, np.zeros((41, 3)))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        build_samples(0, 0, np.zeros((2, 2)))


def _stream():
    return (build_info(ESP32_INFO) + b"\x00" + build_samples(5, 10, np.arange(30).reshape(10, 3))
            + build_status(100, 0) + build_pong(1, 2) + build_log("hello") + build_command(CMD_PING, b"1234"))


def test_frame_reader_every_split_point():
    stream = _stream()
    want = FrameReader().feed(stream)
    assert [t for t, _ in want] == [MSG_INFO, MSG_SAMPLES, MSG_STATUS, MSG_PONG, MSG_LOG, CMD_PING]
    for cut in range(len(stream) + 1):
        r = FrameReader()
        assert r.feed(stream[:cut]) + r.feed(stream[cut:]) == want
        assert r.stats["crc_errors"] == r.stats["bad_frames"] == 0


def test_frame_reader_byte_by_byte():
    stream = _stream()
    r = FrameReader()
    got = [f for b in stream for f in r.feed(bytes([b]))]
    assert got == FrameReader().feed(stream)


def test_frame_reader_counts_and_resyncs():
    good = build_ack(CMD_START)
    corrupted = bytearray(build_log("hello"))
    assert corrupted[3] == ord("e")
    corrupted[3] ^= 0x10  # a data byte: COBS still fine, the CRC is not
    r = FrameReader()
    stream = b"\x07garbage" + good + bytes(corrupted) + b"\x03\x01" + good + good
    frames = r.feed(stream)
    # the garbage swallows the first ACK (same frame: COBS chain overruns), the corrupted LOG
    # fails its CRC, and b"\x03\x01" merged into the third ACK breaks its COBS chain
    assert frames == [(MSG_ACK, bytes([CMD_START, 0]))]
    assert r.stats == {"bytes": len(stream), "frames": 1, "crc_errors": 1, "bad_frames": 2, "resyncs": 1}


def test_frame_reader_oversize_run_then_recovers():
    r = FrameReader()
    assert r.feed(b"\x01" * 200) == []
    assert r.feed(b"\x01" * 200) == []          # 400 bytes without a delimiter: oversize
    assert r.stats["bad_frames"] == 1
    assert r.feed(b"\x01" * 50 + b"\x00" + build_ack(CMD_STOP)) == [(MSG_ACK, bytes([CMD_STOP, 0]))]
    assert r.stats["bad_frames"] == 1 and r.stats["resyncs"] == 1


def test_frame_reader_reads_host_commands():
    r = FrameReader()
    stream = b"\x00" + build_command(CMD_STOP) + build_command(CMD_GET_INFO) + build_start(100.0) + build_ping(3)
    frames = r.feed(stream)
    assert [t for t, _ in frames] == [CMD_STOP, CMD_GET_INFO, CMD_START, CMD_PING]
    assert parse_start(frames[2][1]).sample_rate_hz == 100.0
    assert parse_ping(frames[3][1]) == 3
    assert r.stats["bad_frames"] == 0
