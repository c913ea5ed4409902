"""The test vectors (firmware_protocol/vectors.json) against the Python codec, the design, and the C codec."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from twitchsense.acquisition.protocol.base import BoardInfo
from twitchsense.acquisition.protocol.frames import (CMD_PING, CMD_START, FrameReader, build_ack, build_command,
                                                     build_info, build_log, build_mark, build_ping, build_pong,
                                                     build_samples, build_start, build_status, crc16, parse_info)
from twitchsense.acquisition.protocol.twitchsense_decoder import TwitchsenseDecoder
from twitchsense.types import SampleBlock

from conftest import ROOT, SHARED

FP = ROOT / "firmware_protocol"
VECTORS = json.loads((FP / "vectors.json").read_text())
FRAMES = {v["name"]: v for v in VECTORS["frames"]}


def build_from_fields(v: dict) -> bytes:
    f, kind, mt = v["fields"], v["kind"], v["msg_type"]
    if kind == "samples":
        return build_samples(f["first_sample_index"], f["t_first_us"], np.array(f["samples"]))
    if kind == "info":
        info = BoardInfo(f["protocol_version"], "ignored", f["range_g"], f["samples_per_frame"],
                         f["sample_rate_mhz"] / 1000, f["scale_ng_per_lsb"] * 1e-9, f["timestamp_tick_hz"],
                         f["device_uid"], ".".join(map(str, f["firmware"])), f["name"], f.get("protocol_minor", 0))
        return build_info(info, sensor_type=f["sensor_type"])
    if kind == "ack":
        return build_ack(f["cmd_type"], f["status"])
    if kind == "status":
        return build_status(f["uptime_ms"], f["tx_overflow_frames"], f["flags"])
    if kind == "pong":
        return build_pong(f["token"], f["device_time_us"])
    if kind == "log":
        return build_log(f["text"])
    if kind == "mark":
        return build_mark(f["t_us"], f["seq"])
    if mt == CMD_PING:
        return build_ping(f["token"])
    if mt == CMD_START:
        return build_start(f["sample_rate_mhz"] / 1000, f["range_g"]) if f else build_start()
    return build_command(mt)


def host_info() -> BoardInfo:
    return parse_info(bytes.fromhex(FRAMES[VECTORS["host_decoder_info"]]["payload"]))


def test_crc_vector():
    c = VECTORS["crc"]
    assert crc16(c["check_input"].encode()) == int(c["check"], 16)


@pytest.mark.parametrize("v", VECTORS["frames"], ids=lambda v: v["name"][:40])
def test_frame_vector_python(v):
    wire = bytes.fromhex(v["wire"])
    assert build_from_fields(v) == wire
    assert FrameReader().feed(wire) == [(v["msg_type"], bytes.fromhex(v["payload"]))]
    if v["kind"] == "info":
        assert parse_info(bytes.fromhex(v["payload"])).protocol_minor == v["fields"].get("protocol_minor", 0)


def test_design_vectors_match_the_design_byte_for_byte():
    doc = SHARED / "wire-protocol.md"
    if not doc.exists():
        pytest.skip("../shared/wire-protocol.md is not available")
    text = doc.read_text()
    block = text[text.index("## Test vectors"):]
    block = block[:block.index("```", block.index("```") + 3)]
    wires = [bytes.fromhex(m) for m in re.findall(r"wire((?:\s+[0-9a-f]{2}(?![0-9A-Za-z]))+)", block)]
    design = [bytes.fromhex(v["wire"]) for v in VECTORS["frames"] if v["source"] == "design"]
    assert len(wires) == 7 and wires == design
    assert re.search(r"= 0x([0-9A-F]{4})", block).group(1) == VECTORS["crc"]["check"][2:]


def host_decoders(v: dict) -> list[tuple[int, dict]]:
    """(minor version of the host, what it must make of the stream): ``decoder`` is this host (v1.1);
    ``decoder_v1_0`` a host that predates MARK (a decoder limited to minor 0)."""
    out = [(1, v["decoder"])]
    if "decoder_v1_0" in v:
        out.append((0, v["decoder_v1_0"]))
    return out


@pytest.mark.parametrize("v", VECTORS["streams"], ids=lambda v: v["name"])
def test_stream_vector_python(v):
    wire = bytes.fromhex(v["wire"])
    reader = FrameReader()
    types = [t for t, _ in reader.feed(wire)]
    fr = v["frames"]
    assert types == fr["types"]
    assert (reader.stats["crc_errors"], reader.stats["bad_frames"], reader.stats["resyncs"]) == \
        (fr["crc_errors"], fr["bad_frames"], fr["resyncs"])
    for minor, want in host_decoders(v):
        counters = [k for k in want if k not in ("index", "marker_t")]
        for cut in range(0, len(wire) + 1, max(1, len(wire) // 64)):
            dec = TwitchsenseDecoder(host_info(), minor=minor)
            results = [dec.feed(wire[:cut]), dec.feed(wire[cut:])]
            got = SampleBlock.concat([r.samples for r in results])
            assert got.index.tolist() == want["index"]
            assert {k: dec.stats[k] for k in counters} == {k: want[k] for k in counters}
            marks = [m for r in results for m in r.markers]
            assert [m.t for m in marks] == pytest.approx(want.get("marker_t", []), abs=1e-9)
            assert all(m.source == "board" for m in marks)


def test_a_v1_0_host_decodes_the_same_samples_as_a_v1_1_host():
    """MARK is only ever an unknown type to an older host: the samples do not change."""
    with_mark = [v for v in VECTORS["streams"] if "decoder_v1_0" in v]
    assert len(with_mark) >= 4
    for v in with_mark:
        new, old = v["decoder"], v["decoder_v1_0"]
        assert old["index"] == new["index"] and old["markers"] == 0 and old["unknown_types"] >= 1
        assert {k: old[k] for k in ("lost_samples", "reboots")} == {k: new[k] for k in ("lost_samples", "reboots")}


# --- the C codec -----------------------------------------------------------------------------
C_DIR = FP / "c"


@pytest.fixture(scope="module")
def c_programs(tmp_path_factory):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler: 'cc' is not on PATH, so the C reference codec cannot be built")
    out = tmp_path_factory.mktemp("c")
    progs = {}
    for name in ("test_vectors", "emit_stream"):
        exe = out / name
        proc = subprocess.run([cc, "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2", "-o", str(exe),
                               str(C_DIR / f"{name}.c"), str(C_DIR / "twitchsense_proto.c")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        progs[name] = exe
    return progs


def vectors_txt() -> str:
    """vectors.json in the line format test_vectors.c reads."""
    hx = lambda s: s or "-"  # noqa: E731
    lines = [f"crc {VECTORS['crc']['check_input'].encode().hex()} {VECTORS['crc']['check']}"]
    for v in VECTORS["frames"]:
        f = v["fields"]
        head = f"frame {v['kind']} {v['wire']} {v['msg_type']} {hx(v['payload'])}"
        if v["kind"] == "samples":
            vals = [f["first_sample_index"], f["t_first_us"], len(f["samples"])] + sum(f["samples"], [])
        elif v["kind"] == "info":
            vals = [f[k] for k in ("protocol_version", "sensor_type", "range_g", "samples_per_frame",
                                   "sample_rate_mhz", "scale_ng_per_lsb", "timestamp_tick_hz")]
            vals += [f["device_uid"], *f["firmware"], hx(f["name"].encode().hex()), f.get("protocol_minor", 0)]
        elif v["kind"] == "mark":
            vals = [f["t_us"], f["seq"]]
        elif v["kind"] == "ack":
            vals = [f["cmd_type"], f["status"]]
        elif v["kind"] == "status":
            vals = [f["uptime_ms"], f["tx_overflow_frames"], f["flags"]]
        elif v["kind"] == "pong":
            vals = [f["token"], f["device_time_us"]]
        elif v["kind"] == "log":
            vals = [hx(f["text"].encode().hex())]
        else:
            vals = []
        lines.append(" ".join([head, *map(str, vals)]))
    for v in VECTORS["streams"]:
        fr = v["frames"]
        lines.append(" ".join(map(str, ["stream", v["name"].replace(" ", "_"), v["wire"], fr["crc_errors"],
                                        fr["bad_frames"], fr["resyncs"], len(fr["types"]), *fr["types"]])))
    return "\n".join(lines) + "\n"


def test_c_codec_agrees_on_every_vector(c_programs, tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text(vectors_txt())
    proc = subprocess.run([str(c_programs["test_vectors"]), str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    n_checks = int(re.search(r"(\d+) checks", proc.stdout).group(1))
    assert n_checks > 4 * len(VECTORS["frames"]) + 5 * len(VECTORS["streams"])


def test_c_test_program_catches_a_wrong_vector(c_programs, tmp_path):
    text = vectors_txt().replace(FRAMES["STOP"]["wire"], "04823a5100")
    path = tmp_path / "vectors.txt"
    path.write_text(text)
    proc = subprocess.run([str(c_programs["test_vectors"]), str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "FAIL build command 0x82" in proc.stdout


def expected_emitter_samples(first: int, count: int) -> np.ndarray:
    i = np.arange(first, first + count, dtype=np.uint64)
    x = (((i * 2654435761) % 2**32) >> 16).astype(np.uint16).view(np.int16)
    return np.stack([x, (i % 512).astype(np.int64) - 256, 16383 + (i % 3).astype(np.int64)], 1)


def test_c_emitted_stream_decodes_exactly(c_programs):
    frames = 3000
    wire = subprocess.run([str(c_programs["emit_stream"]), str(frames)], capture_output=True, timeout=30,
                          check=True).stdout
    rng = np.random.default_rng(11)
    cuts = np.sort(rng.choice(len(wire), 400, replace=False))
    dec = TwitchsenseDecoder()
    results = [dec.feed(chunk) for chunk in np.split(np.frombuffer(wire, np.uint8), cuts)]
    s = SampleBlock.concat([r.samples for r in results])
    kept = np.array([k for k in range(frames) if k % 97 != 50])
    index = (kept[:, None] * 10 + np.arange(10)).ravel()
    assert s.index.tolist() == index.tolist()
    np.testing.assert_array_equal(np.rint(s.acc / 122070e-9), expected_emitter_samples(0, frames * 10)[index])
    np.testing.assert_allclose(s.t, index / 1000.0, rtol=0, atol=1e-9)  # across the 32-bit clock wrap at 7 s
    dropped = len([k for k in range(frames) if k % 97 == 50])
    st = dec.stats
    assert st["lost_samples"] == 10 * dropped
    assert st["overflow_frames"] == len([k for k in range(2900) if k % 97 == 50])  # as of the last STATUS
    assert (st["crc_errors"], st["bad_frames"], st["resyncs"], st["reboots"]) == (0, 0, 0, 0)
    events = [e for r in results for e in r.events]
    assert [e.detail for e in events if e.kind == "log"] == ["emit_stream: reference codec"]
    pongs = [p for r in results for p in r.replies if p.kind == "pong"]
    assert [p.data["token"] for p in pongs] == list(range(0, frames, 100))
    # the marker button, 5 ms into frames 350, 1050, ...: before and after the device clock's wrap at 7 s
    marks = [m for r in results for m in r.markers]
    np.testing.assert_allclose([m.t for m in marks], [k / 100 + 0.005 for k in range(350, frames, 700)], atol=1e-9)
    assert (st["markers"], st["markers_lost"], st["unknown_types"]) == (len(marks), 0, 0)
    assert pongs[0].data["t"] is None  # before the first SAMPLES frame the stream time is not anchored yet
    np.testing.assert_allclose([p.data["t"] for p in pongs[1:]], np.arange(100, frames, 100) / 100.0, atol=1e-9)


def test_c_emitted_reboot_is_detected_once_and_time_keeps_increasing(c_programs):
    wire = subprocess.run([str(c_programs["emit_stream"]), "600", "400"], capture_output=True, timeout=30,
                          check=True).stdout
    dec = TwitchsenseDecoder()
    s = dec.feed(wire).samples
    assert dec.stats["reboots"] == 1
    assert np.all(np.diff(s.t) > 0) and np.all(np.diff(s.index) > 0)
    before = s.index < 4000
    after_values = np.rint(s.acc[~before] / 122070e-9)
    kept_after = np.array([k for k in range(400, 600) if k % 97 != 50]) - 400
    np.testing.assert_array_equal(after_values,
                                  expected_emitter_samples(0, 2000)[(kept_after[:, None] * 10 + np.arange(10)).ravel()])


def damaged_stream(rng: np.random.Generator) -> bytes:
    """A valid stream with random flips, zero bytes, insertions, deletions and garbage runs."""
    parts = []
    for k in range(int(rng.integers(3, 15))):
        n = int(rng.integers(1, 41))
        parts.append(build_samples(k * 40, k * 40_000, rng.integers(-3, 3, (n, 3)) * int(rng.integers(1, 10000))))
        if rng.random() < 0.2:
            parts.append(build_log("x" * int(rng.integers(0, 252))))
        if rng.random() < 0.1:
            parts.append(bytes(rng.integers(1, 256, int(rng.integers(200, 600))).astype(np.uint8)))
    wire = bytearray(b"".join(parts))
    for _ in range(int(rng.integers(0, 8))):
        pos = int(rng.integers(0, len(wire)))
        op = rng.integers(0, 4)
        if op == 0:
            wire[pos] ^= int(rng.integers(1, 256))
        elif op == 1:
            wire.insert(pos, 0)
        elif op == 2:
            wire.insert(pos, int(rng.integers(1, 256)))
        else:
            del wire[pos]
    return bytes(wire)


def test_c_and_python_frame_readers_agree_on_damaged_streams(c_programs):
    rng = np.random.default_rng(2024)
    for _ in range(60):
        wire = damaged_stream(rng)
        proc = subprocess.run([str(c_programs["test_vectors"]), "-"], input=wire, capture_output=True, timeout=30)
        head, *frames = proc.stdout.decode().splitlines()
        c_counts = dict(zip(head.split()[::2], map(int, head.split()[1::2])))
        c_frames = [(int(t), bytes.fromhex(p)) for t, p in (line.split(" ") for line in frames)]
        reader = FrameReader()
        assert reader.feed(wire) == c_frames
        assert {k: reader.stats[k] for k in c_counts} == c_counts
