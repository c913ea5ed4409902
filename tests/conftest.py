"""Shared fixtures: run the CLI in a real subprocess, make small seeded recordings, a real MQTT broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: 40 s of a real wrist recording of a person with Parkinson's disease (tremor, 100 Hz; Apache-2.0, see its README)
PARKINSON = ROOT / "tests" / "data" / "real-parkinson-wrist" / "ppp_verily_X_week104_0-40s.csv"


@pytest.fixture(autouse=True, scope="session")
def temporary_home():
    """The whole run, in this process and in every CLI it starts, uses a temporary home: the user's
    history, alert state and registered boards are never touched, and nothing is left behind."""
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_DATA_HOME", "TWITCHSENSE_RUNTIME_DIR")}
    with tempfile.TemporaryDirectory(prefix="twitchsense-test-home-") as home:
        os.environ["HOME"] = home
        os.environ["XDG_DATA_HOME"] = os.path.join(home, ".local", "share")
        os.environ["TWITCHSENSE_RUNTIME_DIR"] = os.path.join(home, "runtime")
        try:
            yield Path(home)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m twitchsense ARGS`` in a subprocess (the source tree first on the path)."""
    return subprocess.run([sys.executable, "-m", "twitchsense", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=cli_env(), cwd=cwd or ROOT)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def run_main(capsys):
    """The CLI in this process (no interpreter start-up): ``run_main(*args) -> (exit code, stdout, stderr)``."""
    from twitchsense.cli import main

    def run(*args) -> tuple[int, str, str]:
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err
    return run


class ManualClock:
    """An injected clock (:class:`twitchsense.clock.Clock`) that moves only when waited on: paced code
    runs at once, and the times it sees are exact, however loaded the machine is."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        if not stop.is_set():
            self.now += max(seconds, 0.0)
        return stop.is_set()


def make_samples(n: int = 500, rate: float = 100.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    acc = rng.normal(0.0, 0.01, (n, 3)) + np.array([0.0, 0.0, 1.0])
    return t, acc


# ---- MQTT against a real broker ----------------------------------------------------------------
def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mosquitto(port: int, folder: Path) -> subprocess.Popen:
    """A mosquitto broker on 127.0.0.1:``port`` (skips the test when there is none or it fails)."""
    exe = mosquitto_binary()
    if exe is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)")
    pytest.importorskip("paho.mqtt.client", reason="paho-mqtt (extra 'mqtt') is not installed")
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30  # generous: the machine may be loaded
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                pytest.skip(f"mosquitto did not start: {proc.stderr.read().decode()[:200]}")
            time.sleep(0.05)
    proc.kill()
    pytest.skip("mosquitto did not open its port in 30 s")


def stop_mosquitto(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def broker(tmp_path):
    """A mosquitto broker on 127.0.0.1 for this test only."""
    port = free_port()
    proc = start_mosquitto(port, tmp_path)
    yield port
    stop_mosquitto(proc)


class Subscriber:
    """A real MQTT client collecting (topic, payload, retained) messages."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt
        self.messages: list[tuple[str, str, bool]] = []
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        subscribed = threading.Event()

        def on_message(client, userdata, m) -> None:
            self.messages.append((m.topic, m.payload.decode(), m.retain))

        self.client.on_message = on_message
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        # the broker's SUBACK: from then on every message on ``topic`` reaches us (no fixed sleep)
        assert subscribed.wait(30), f"the broker did not confirm the subscription to {topic}"

    def wait_for(self, pred, timeout: float = 30.0) -> list:
        """The messages matching ``pred`` as soon as there are any; [] after ``timeout`` s."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = [m for m in self.messages if pred(m)]
            if found:
                return found
            time.sleep(0.05)
        return []

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
