"""Fuzzing the decoders with hypothesis: random bytes and random corruption of valid streams.

Properties: a decoder never raises; the project protocol never emits a sample that was
not sent and, after corruption, loses only the frames the corruption touched (plus the
next frame when a delimiter was hit), with the lost samples counted exactly. Text and
Cyton streams carry no checksum: for them, samples of untouched lines/packets come out
unchanged and in order. Derandomized, so CI runs the same examples every time.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchsense.acquisition.protocol.base import BoardInfo
from twitchsense.acquisition.protocol.cyton import SCALE_G_PER_COUNT, CytonDecoder
from twitchsense.acquisition.protocol.frames import build_log, build_samples, build_status
from twitchsense.acquisition.protocol.text import TextLineDecoder
from twitchsense.acquisition.protocol.twitchsense_decoder import TwitchsenseDecoder
from twitchsense.types import SampleBlock

from decoding import decode

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = settings(FUZZ, max_examples=100)
INFO = BoardInfo(1, "MPU6050", 4, 10, 1000.0, 1e-4, 1_000_000, "", "1.0.0", "fuzz")


def feed_chunks(dec, data: bytes, cuts: list[int]) -> tuple[SampleBlock, list]:
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    chunks = [data[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return decode(dec, *chunks, host_ns=range(len(chunks)))[:2]


@st.composite
def corruption(draw, length: int):
    """Up to 4 edits at distinct positions: (position, op, byte) with op 'flip', 'insert' or 'delete'."""
    positions = draw(st.lists(st.integers(0, length - 1), min_size=1, max_size=4, unique=True))
    return [(p, draw(st.sampled_from(["flip", "insert", "delete"])), draw(st.integers(0, 255))) for p in positions]


def apply(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for pos, op, byte in sorted(edits, reverse=True):  # from the end, so positions stay valid
        if op == "flip":
            out[pos] ^= byte or 0x01
        elif op == "insert":
            out.insert(pos, byte)
        else:
            del out[pos]
    return bytes(out)


# --- the project protocol ----------------------------------------------------------------------
@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=5))
def test_random_bytes_never_raise_nor_invent_samples(data, cuts):
    dec = TwitchsenseDecoder(INFO)
    s, _ = feed_chunks(dec, data, cuts)
    assert len(s) == 0
    assert all(v >= 0 for v in dec.stats.values())


@st.composite
def valid_stream(draw):
    """SAMPLES frames (1..12 samples each, random counts) with STATUS and LOG frames between."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frames, spans, sent = [], [], {}
    idx, t_us = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
    pos = 0
    for k in range(draw(st.integers(2, 10))):
        if rng.random() < 0.3:
            extra = build_status(k * 100, 0) if rng.random() < 0.5 else build_log("x" * int(rng.integers(0, 40)))
            frames.append(extra)
            spans.append((pos, pos + len(extra) - 1, None))
            pos += len(extra)
        n = int(rng.integers(1, 13))
        counts = rng.integers(-32768, 32768, (n, 3))
        counts[rng.random((n, 3)) < 0.3] = 0  # plenty of zero bytes for COBS
        w = build_samples(idx, t_us, counts)
        frames.append(w)
        spans.append((pos, pos + len(w) - 1, k))  # inclusive; the last byte is the delimiter
        sent[k] = (idx, counts)
        pos += len(w)
        idx, t_us = idx + n, t_us + n * 1000
    return b"".join(frames), spans, sent


@FUZZ
@given(valid_stream(), st.data())
def test_corruption_loses_only_the_frames_it_touched(stream, data):
    wire, spans, sent = stream
    edits = data.draw(corruption(len(wire)))
    cuts = data.draw(st.lists(st.integers(0, len(wire) + 8), max_size=4))
    dec = TwitchsenseDecoder(INFO)
    s, _ = feed_chunks(dec, apply(wire, edits), cuts)
    touched = set()
    for pos, _, _ in edits:
        for f, (a, b, k) in enumerate(spans):
            if a <= pos <= b:
                touched.add(k)
                if pos == b and f + 1 < len(spans):  # a hit delimiter merges this frame with the next one
                    touched.add(spans[f + 1][2])
    # map output rows back to sent frames through the index (the device's, modulo its 32-bit wrap)
    by_index = set((s.index % 2**32).tolist())
    for k, (idx, counts) in sent.items():
        if k not in touched:
            assert all((idx + j) % 2**32 in by_index for j in range(len(counts))), f"frame {k} lost ({edits})"
    # every emitted sample was sent, with its values
    sent_rows = {}
    for idx, counts in sent.values():
        for j, c in enumerate(counts):
            sent_rows[(idx + j) % 2**32] = c
    emitted = np.rint(s.acc / 1e-4).astype(np.int64)
    for i, row in zip((s.index % 2**32).tolist(), emitted):
        assert i in sent_rows and np.array_equal(sent_rows[i], row)
    # lost samples are counted exactly between the first and the last sample received
    if len(s):
        assert np.all(np.diff(s.index) > 0) and np.all(np.diff(s.t) > 0)
        assert dec.stats["lost_samples"] == int(s.index[-1] - s.index[0] + 1 - len(s))
        assert dec.stats["reboots"] == 0


@FUZZ
@given(valid_stream(), st.lists(st.integers(0, 2000), max_size=8))
def test_valid_stream_in_any_chunks_decodes_exactly(stream, cuts):
    wire, _, sent = stream
    s, events = feed_chunks(TwitchsenseDecoder(INFO), wire, cuts)
    want = np.concatenate([c for _, c in sent.values()])
    np.testing.assert_array_equal(np.rint(s.acc / 1e-4), want)
    assert not [e for e in events if e.kind in ("crc_error", "bad_frame", "resync", "lost_samples")]


# --- text lines --------------------------------------------------------------------------------
@SMALL
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=4))
def test_text_random_bytes_never_raise(data, cuts):
    for dec in (TextLineDecoder(separator=",", rate_hz=100.0), TextLineDecoder.preset("microbit-makecode", rate_hz=50),
                TextLineDecoder(separator=";", columns=(1, 2, 3), time_column=0, time_unit="ms")):
        s, _ = feed_chunks(dec, data, cuts)
        assert np.all(np.isfinite(s.acc)) and np.all(np.diff(s.t) > 0)


def is_subsequence(small: list, big: list) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


@SMALL
@given(st.lists(st.tuples(*[st.integers(-2000, 2000)] * 3), min_size=1, max_size=15), st.data())
def test_text_corruption_keeps_untouched_lines(rows, data):
    lines = [f"{x / 1000:.3f},{y / 1000:.3f},{z / 1000:.3f}\n".encode() for x, y, z in rows]
    wire = b"x,y,z\n" + b"".join(lines)
    edits = data.draw(corruption(len(wire)))
    dec = TextLineDecoder(separator=",", rate_hz=100.0)
    s, _ = feed_chunks(dec, apply(wire, edits), data.draw(st.lists(st.integers(0, 500), max_size=3)))
    starts = np.cumsum([6] + [len(line) for line in lines])
    untouched = [rows[k] for k in range(len(rows))
                 if not any(starts[k] - 1 <= p < starts[k + 1] for p, _, _ in edits)]
    got = [tuple(int(v) for v in np.rint(r * 1000)) for r in s.acc]
    assert is_subsequence(untouched, got)
    assert np.all(np.diff(s.t) > 0)


# --- OpenBCI Cyton -----------------------------------------------------------------------------
@SMALL
@given(st.binary(max_size=500), st.lists(st.integers(0, 500), max_size=4))
def test_cyton_random_bytes_never_raise(data, cuts):
    s, _ = feed_chunks(CytonDecoder(), data, cuts)
    assert np.all(np.diff(s.t) > 0) and np.all(np.diff(s.index) > 0)


@SMALL
@given(st.integers(0, 2**32 - 1), st.data())
def test_cyton_corruption_keeps_untouched_packets(seed, data):
    rng = np.random.default_rng(seed)
    n_packets = 30
    eeg = rng.integers(0, 256, (n_packets, 24))
    eeg[eeg == 0xA0] = 0x11  # no checksum: bytes that mimic a packet header could fake a lock
    accel = {k: tuple(int(v) for v in rng.integers(-4000, 4000, 3)) for k in range(0, n_packets, 3)}
    packets = []
    for k in range(n_packets):
        aux = b"".join(v.to_bytes(2, "big", signed=True) for v in accel[k]) if k in accel else bytes(6)
        packets.append(bytes([0xA0, k]) + bytes(eeg[k].tolist()) + aux + b"\xc0")
    wire = b"".join(packets)
    edits = data.draw(corruption(len(wire)))
    s, _ = feed_chunks(CytonDecoder(), apply(wire, edits), data.draw(st.lists(st.integers(0, 1100), max_size=3)))
    # a damaged packet, and the one before it when that one has to confirm a re-lock
    touched = {p // 33 + d for p, _, _ in edits for d in (-1, 0)}
    untouched = [accel[k] for k in sorted(accel) if k not in touched and k < n_packets - 2]
    got = [tuple(int(v) for v in np.rint(r / SCALE_G_PER_COUNT)) for r in s.acc]
    assert is_subsequence(untouched, got)
    assert np.all(np.diff(s.t) > 0)
