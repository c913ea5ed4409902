"""Decoder test material in one place: each protocol's board as bytes (its board info first, as its
handshake brings it), and feeding a decoder in chunks."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from twitchsense.acquisition.protocol.base import BoardInfo, DecodeResult
from twitchsense.acquisition.protocol.frames import (CMD_START, build_ack, build_info, build_log, build_pong,
                                                     build_samples, build_status)
from twitchsense.types import LinkEvent, SampleBlock


class Decoded(NamedTuple):
    samples: SampleBlock
    events: list[LinkEvent]
    results: list[DecodeResult]


def decode(dec, *chunks: bytes, host_ns: Sequence[int] | None = None) -> Decoded:
    """Feed ``chunks`` in turn (chunk ``k`` arriving at ``host_ns[k]``, else at an unknown time)."""
    results = [dec.feed(c, -1 if host_ns is None else host_ns[k]) for k, c in enumerate(chunks)]
    return Decoded(SampleBlock.concat([r.samples for r in results]), [e for r in results for e in r.events], results)


# ---- the project's protocol: an ESP32 + MPU6050 board at 1000 Hz, 10 samples per frame, +/-4 g
SCALE = 122070e-9
ESP32_INFO = BoardInfo(1, "MPU6050", 4, 10, 1000.0, SCALE, 1_000_000, "0102030405060708", "1.2.3", "esp32-mpu6050")


def counts_for(first: int, n: int) -> np.ndarray:
    """Raw counts of samples ``first .. first + n - 1`` (a fixed pattern)."""
    i = np.arange(first, first + n)
    return np.stack([(i * 37) % 600 - 300, (i * 11) % 256 - 128, 16384 + i % 3], axis=1).astype(np.int16)


def samples_frames(first: int, frames: int, n: int = 10, t0_us: int = 0, rate: float = 1000.0) -> bytes:
    """``frames`` SAMPLES frames of ``n`` samples each from sample index ``first``."""
    out = b""
    for k in range(frames):
        idx = first + k * n
        out += build_samples(idx, t0_us + round((idx - first) * 1e6 / rate), counts_for(idx, n))
    return out


def full_stream() -> bytes:
    """A session: INFO, the ACK of START, samples, STATUS, PONG, LOG, more samples (50 samples)."""
    return (build_info(ESP32_INFO) + build_ack(CMD_START) + samples_frames(0, 3) + build_status(30, 0)
            + build_pong(7, 25_000) + build_log("hello") + samples_frames(30, 2, t0_us=30_000))


# ---- text boards: the Arduino Nano 33 BLE example sketch, and an ESP32 + MPU6050 sketch in free text
NANO33 = (b"Started\r\nAccelerometer sample rate = 119.00 Hz\r\n\r\nAcceleration in g's\r\nX\tY\tZ\r\n"
          b"0.01\t-0.02\t0.98\r\n0.03\t-0.04\t1.01\r\n-0.50\t0.25\t0.75\r\n")
ESP32_TEXT = (b"Adafruit MPU6050 test!\nMPU6050 Found!\nAccelerometer range set to: +-8G\n"
              b"Filter bandwidth set to: 21 Hz\n\nAcceleration X: 0.98, Y: -1.96, Z: 9.81 m/s^2\n"
              b"Rotation X: 0.01, Y: 0.02, Z: 0.00 rad/s\nTemperature: 25.10 degC\n\n"
              b"Acceleration X: 0.00, Y: 0.00, Z: 19.61 m/s^2\n")


# ---- OpenBCI Cyton: 33-byte packets at 250 Hz, the accelerometer in every tenth
def cyton_packet(counter: int, xyz=None, footer: int = 0xC0) -> bytes:
    eeg = bytes((counter * 7 + i) % 256 for i in range(24))
    aux = bytes(6) if xyz is None else b"".join(int(v).to_bytes(2, "big", signed=True) for v in xyz)
    return bytes([0xA0, counter % 256]) + eeg + aux + bytes([footer])


def cyton_accel(k: int):
    """The accelerometer counts packet ``k`` carries (every tenth packet), else None."""
    return (k - 500, -3 * k, 8000 + k) if k % 10 == 0 else None


def cyton_stream(packets: range) -> bytes:
    return b"".join(cyton_packet(k, cyton_accel(k)) for k in packets)
