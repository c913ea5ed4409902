"""The acquisition commands as a user runs them: emulate-board in one process, stream/record/ports in another."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from twitchsense.acquisition.emulator import BoardEmulator
from twitchsense.acquisition.ports import PortInfo, match_ports, target_for, virtual_ports
from twitchsense.acquisition.sources.synthetic import synthetic_recording
from twitchsense.errors import TwitchsenseError
from twitchsense.io.recording import read_recording

from conftest import ROOT, cli_env


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
        r = cli_in(env, "stream", "--port", link, "--duration", "2.5", "--record", out, "--status-every", "0.5")
        assert r.returncode == 0, r.stderr
        assert "samples/s  link ok" in r.stdout and "link: info" in r.stdout
        assert "stream: " in r.stdout and "lost samples 0" in r.stdout and "reconnects 0" in r.stdout
        rec = read_recording(out)
        summary = r.stdout.strip().splitlines()[-1]
        assert summary.startswith(f"stream: {rec.n_samples} samples") and rec.n_samples > 0  # all recorded
        assert not len(rec.gaps) and np.allclose(np.diff(rec.t), 0.01, atol=1.5e-6)
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


def run_main(capsys, *args) -> tuple[int, str]:
    """The CLI entry point in this process (errors need no subprocess): exit code and stderr."""
    from twitchsense.cli import main
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def test_errors_are_one_line(tmp_path, env, capsys):
    code, err = run_main(capsys, "record", "--port", tmp_path / "nothing", "-o", tmp_path / "x.csv")
    assert code == 1 and err.count("\n") == 1
    assert f"--port {tmp_path / 'nothing'}: no such device" in err
    assert not (tmp_path / "x.csv").exists()
    code, err = run_main(capsys, "record", "--port", "auto", "-o", tmp_path / "no" / "x.csv")
    assert code == 1 and f"-o {tmp_path / 'no' / 'x.csv'}: folder {tmp_path / 'no'} does not exist" in err
    code, err = run_main(capsys, "stream", "--port", "1234:5678")
    assert code == 1 and "--port 1234:5678: no serial port matches" in err
    code, err = run_main(capsys, "emulate-board", "--unplug", "5")
    assert code == 1 and "--unplug must be AT:FOR in seconds (e.g. 10:2), got '5'" in err
    code, err = run_main(capsys, "record", "--port", "auto", "-o", tmp_path / "y.csv")
    assert code == 1 and "--port auto: no serial port with a known board found" in err
    code, err = run_main(capsys, "stream", "--port", "/dev/null", "--protocol", "text")
    assert code == 1 and "a text board does not say its sample rate: give --rate HZ" in err
    # a port that is not a twitchsense board: no answer to GET_INFO
    master, slave = os.openpty()
    try:
        code, err = run_main(capsys, "record", "--port", os.ttyname(slave), "-o", tmp_path / "z.csv")
    finally:
        os.close(master)
        os.close(slave)
    assert code == 1 and "no INFO answer to GET_INFO within 3 s" in err and err.count("\n") == 1


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


def test_a_board_in_use_is_not_shared(tmp_path, env):
    from twitchsense.acquisition.sources.serial_board import SerialSource
    with BoardEmulator(synthetic_recording(100.0, 10.0), rate_hz=100.0) as emu:
        first = SerialSource(emu.device)
        first.open()
        try:
            r = cli_in(env, "record", "--port", emu.device, "-o", tmp_path / "x.csv", "--duration", "1")
        finally:
            first.close()
    assert r.returncode == 1 and f"{emu.device} is in use by another program" in r.stderr, r.stderr


def test_a_usb_board_is_found_again_by_identity_not_by_path():
    board = PortInfo("/dev/ttyACM0", 0x2341, 0x8057, "ABC1", "Nano 33 IoT")
    target = target_for(board)
    assert target.path is None and target.label == "2341:8057 serial ABC1"
    twin = PortInfo("/dev/ttyACM0", 0x2341, 0x8057, "XYZ9", "Nano 33 IoT")   # same model, another board
    back = PortInfo("/dev/ttyACM1", 0x2341, 0x8057, "ABC1", "Nano 33 IoT")   # ours, replugged elsewhere
    assert target.locate([twin]) is None
    assert target.locate([twin, back]) == "/dev/ttyACM1"
    assert target_for(PortInfo("/tmp/board", virtual=True)).path == "/tmp/board"


def test_emulate_board_replays_a_recording_with_faults_and_exits_after_its_duration(tmp_path, env, capsys):
    from twitchsense.io.recording import write_recording
    src = tmp_path / "in.csv"
    write_recording(src, synthetic_recording(50.0, 5.0))
    r = cli_in(env, "emulate-board", "--replay", src, "--drop-frames", "0.1", "--duration", "0.5", timeout=30)
    assert r.returncode == 0, r.stderr
    assert "virtual twitchsense board, 50 Hz" in r.stdout  # the recording's rate
    assert "emulate-board: sent 0 samples" in r.stdout      # nobody sent START: a board waits
    code, err = run_main(capsys, "emulate-board", "--replay", src, "--corrupt", "2")
    assert code == 1 and "--corrupt is a probability in 0..1, got 2.0" in err


def test_a_stream_that_fails_to_start_leaves_no_history_and_nothing_open(tmp_path, env, capsys, monkeypatch):
    """No board, a model that does not load, a broker out of reach: one line, exit 1, no history
    file (`history` must go on saying there is none), and the sinks opened before it closed."""
    from conftest import free_port
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = tmp_path / "data" / "twitchsense" / "history.sqlite"
    bad_model = tmp_path / "bad.skops"
    bad_model.write_text("not a model")
    for args, message in [
        (("--port", "1234:5678"), "no serial port matches"),
        (("--simulate", "--model", bad_model, "--jsonl", tmp_path / "a.jsonl"), str(bad_model)),
        (("--simulate", "--mqtt", f"127.0.0.1:{free_port()}"), "cannot reach the MQTT broker"),
    ]:
        before = set(os.listdir(f"/proc/{os.getpid()}/fd")) if os.path.isdir("/proc/self/fd") else set()
        code, err = run_main(capsys, "stream", *args)
        assert code == 1 and message in err and err.count("\n") == 1, err
        assert not db.exists(), args
        if before:  # every file the failed stream opened is closed again
            opened = set(os.listdir(f"/proc/{os.getpid()}/fd")) - before
            assert not [os.readlink(f"/proc/{os.getpid()}/fd/{fd}") for fd in opened
                        if os.path.exists(f"/proc/{os.getpid()}/fd/{fd}")], args
    code, err = run_main(capsys, "history")
    assert code == 1 and "no history yet" in err


def test_piped_stream_prints_twitches_alerts_and_link_events_only(run_main):
    rc, out, err = run_main("stream", "--simulate", "--profile", "frequent-twitching", "--duration", "2.5",
                            "--no-history")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[-1].startswith("stream: ") and "samples/s" not in out  # no status line each second
    for line in lines[:-1]:  # HH:MM:SS.s twitch/alert lines, their guidance, link events
        assert line[:2].isdigit() or line.startswith(("    ", "link: ")), line
    rc, out, err = run_main("stream", "--simulate", "--duration", "2.5", "--no-history", "--status-every", "0.5")
    assert rc == 0, err
    assert out.count("samples/s  link ok") >= 3
