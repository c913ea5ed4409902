"""The acquisition commands as a user runs them: emulate-board in one process, stream/record/ports in another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from twitchsense.emulator import BoardEmulator
from twitchsense.ports import PortInfo, match_ports, virtual_ports
from twitchsense.recording import read_recording
from twitchsense.errors import TwitchsenseError
from twitchsense.sources.synthetic import synthetic_recording

from conftest import ROOT, cli_env, run_cli


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHSENSE_RUNTIME_DIR", str(tmp_path / "rt"))
    e = cli_env()
    e["TWITCHSENSE_RUNTIME_DIR"] = str(tmp_path / "rt")
    return e


def popen_cli(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "twitchsense", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def cli_in(env, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twitchsense", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


def test_two_terminals_emulate_board_then_stream_with_record(tmp_path, env):
    """The README walkthrough: no hardware, two processes."""
    link = tmp_path / "board"
    emu = popen_cli("emulate-board", "--simulate", "--rate", "100", "--link", link, env=env)
    try:
        first = emu.stdout.readline()
        assert "virtual twitchsense board, 100 Hz" in first and str(link) in first
        assert "connect with: twitchsense stream --port" in emu.stdout.readline()
        out = tmp_path / "s.csv"
        r = cli_in(env, "stream", "--port", link, "--duration", "2.5", "--record", out)
        assert r.returncode == 0, r.stderr
        assert "samples/s  link ok" in r.stdout and "link: info" in r.stdout
        assert "stream: " in r.stdout and "lost samples 0" in r.stdout and "reconnects 0" in r.stdout
        rec = read_recording(out)
        assert 150 <= rec.n_samples <= 260 and not len(rec.gaps)
        assert rec.meta["board"] == "twitchsense-emulator" and rec.meta["sample_rate_hz"] == 100.0
        assert np.allclose(np.linalg.norm(rec.acc, axis=1), 1.0, atol=0.5)
    finally:
        emu.send_signal(signal.SIGINT)
        out_text, err = emu.communicate(timeout=10)
    assert emu.returncode == 0, err
    assert "emulate-board: sent" in out_text
    assert not link.exists()  # the link goes with the board


def test_ports_lists_a_virtual_board_with_its_info_and_auto_finds_it(tmp_path, env):
    with BoardEmulator(synthetic_recording(200.0, 10.0), rate_hz=200.0, name="bench-board") as emu:
        assert [p.device for p in virtual_ports()] == [emu.device]
        r = cli_in(env, "ports")
        assert r.returncode == 0, r.stderr
        assert emu.device in r.stdout and "virtual" in r.stdout
        assert "bench-board: MPU6050, 200 Hz, +/-4 g, firmware 1.0.0, protocol v1" in r.stdout
        out = tmp_path / "auto.csv"
        r = cli_in(env, "record", "--port", "auto", "-o", out, "--duration", "1.5", "--quiet")
        assert r.returncode == 0, r.stderr
        assert read_recording(out).meta["board"] == "bench-board"
    assert virtual_ports() == []  # unregistered when it stops


def test_ctrl_c_ends_record_cleanly_with_a_summary(tmp_path, env):
    with BoardEmulator(synthetic_recording(100.0, 10.0), rate_hz=100.0) as emu:
        out = tmp_path / "c.csv"
        rec_proc = popen_cli("record", "--port", emu.device, "-o", out, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (out.exists() and out.stat().st_size > 200):
            time.sleep(0.05)
        rec_proc.send_signal(signal.SIGINT)
        stdout, stderr = rec_proc.communicate(timeout=10)
    assert rec_proc.returncode == 0, stderr
    summary = stdout.strip().splitlines()[-1]
    assert summary.startswith(f"record {out}: ") and "lost samples 0" in summary and "reconnects 0" in summary
    n = int(summary.split(": ")[1].split(" samples")[0])
    assert read_recording(out).n_samples == n > 0


def test_errors_are_one_line(tmp_path, env):
    r = cli_in(env, "record", "--port", tmp_path / "nothing", "-o", tmp_path / "x.csv", "--duration", "1")
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert f"--port {tmp_path / 'nothing'}: no such device" in r.stderr
    assert not (tmp_path / "x.csv").exists()
    r = cli_in(env, "record", "--port", "auto", "-o", tmp_path / "no" / "x.csv")
    assert r.returncode == 1 and f"-o {tmp_path / 'no' / 'x.csv'}: folder {tmp_path / 'no'} does not exist" in r.stderr
    r = cli_in(env, "stream", "--port", "1234:5678")
    assert r.returncode == 1 and "--port 1234:5678: no serial port matches" in r.stderr
    r = cli_in(env, "emulate-board", "--unplug", "5")
    assert r.returncode == 1 and "--unplug must be AT:FOR in seconds (e.g. 10:2), got '5'" in r.stderr
    r = cli_in(env, "record", "--port", "auto", "-o", tmp_path / "y.csv")
    assert r.returncode == 1 and "--port auto: no serial port with a known board found" in r.stderr
    # a port that is not a twitchsense board: no answer to GET_INFO
    master, slave = os.openpty()
    try:
        r = cli_in(env, "record", "--port", os.ttyname(slave), "-o", tmp_path / "z.csv")
    finally:
        os.close(master)
        os.close(slave)
    assert r.returncode == 1 and "no INFO answer to GET_INFO within 3 s" in r.stderr


def test_port_patterns():
    ports = [PortInfo("/dev/ttyACM0", 0x2341, 0x8057, "ABC1", "Nano 33 IoT", "USB VID:PID=2341:8057"),
             PortInfo("/dev/ttyUSB0", 0x10C4, 0xEA60, "0001", "CP2102 USB to UART", "USB VID:PID=10C4:EA60")]
    assert [p.device for p in match_ports("2341:8057", ports)] == ["/dev/ttyACM0"]
    assert [p.device for p in match_ports("10c4:ea60:0001", ports)] == ["/dev/ttyUSB0"]
    assert match_ports("10c4:ea60:9999", ports) == []
    assert [p.device for p in match_ports("hwgrep://cp210|uart", ports)] == ["/dev/ttyUSB0"]
    assert ports[0].known_board == "Arduino" and ports[1].known_board.startswith("Silicon Labs CP210x")
    with pytest.raises(TwitchsenseError, match="expected a device path, 'auto', VID:PID"):
        match_ports("nonsense", ports)
