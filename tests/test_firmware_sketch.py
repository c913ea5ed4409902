"""The ESP32 reference sketch: it uses the C codec itself (not a copy), and it compiles.

No ESP32 toolchain is available here (arduino-cli and the esp32 core are not Debian
packages), so the sketch is compiled against Debian's Arduino AVR core with avr-g++
(``.ci/run`` installs gcc-avr, avr-libc and arduino-core-avr): every line outside the
``#if defined(ESP32)`` blocks is type-checked against the real Arduino API (Serial,
Wire, digitalRead, micros...). It is neither linked nor run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

SKETCH = ROOT / "firmware_protocol" / "arduino" / "twitchsense_esp32_mpu6050"
CODEC = ROOT / "firmware_protocol" / "c"
AVR_CORE = Path("/usr/share/arduino/hardware/arduino/avr")


@pytest.mark.parametrize("name", ["twitchsense_proto.h", "twitchsense_proto.c"])
def test_the_sketch_uses_the_reference_codec_itself(name):
    assert (SKETCH / name).read_bytes() == (CODEC / name).read_bytes()
    assert (SKETCH / name).resolve() == (CODEC / name).resolve()  # a symlink: it cannot drift


def test_the_sketch_compiles_against_the_arduino_core(tmp_path):
    gxx, gcc = shutil.which("avr-g++"), shutil.which("avr-gcc")
    if gxx is None or gcc is None or not (AVR_CORE / "cores" / "arduino" / "Arduino.h").exists():
        pytest.skip("no avr-g++ or Arduino AVR core (Debian: gcc-avr avr-libc arduino-core-avr; .ci/run installs "
                    "them)")
    source = tmp_path / "sketch.cpp"  # what the Arduino builder does with a .ino that includes Arduino.h
    source.write_text((SKETCH / "twitchsense_esp32_mpu6050.ino").read_text())
    common = ["-c", "-Os", "-Wall", "-Wextra", "-Werror", "-mmcu=atmega328p", "-DF_CPU=16000000L",
              "-DARDUINO=10807", "-DARDUINO_ARCH_AVR"]
    for cmd in ([gxx, "-std=gnu++11", *common, f"-I{AVR_CORE}/cores/arduino", f"-I{AVR_CORE}/variants/standard",
                 f"-I{AVR_CORE}/libraries/Wire/src", f"-I{SKETCH}", str(source), "-o", str(tmp_path / "sketch.o")],
                [gcc, "-std=c99", "-pedantic", *common, str(SKETCH / "twitchsense_proto.c"),
                 "-o", str(tmp_path / "proto.o")]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
