"""Shared fixtures: run the CLI in a real subprocess, make small seeded recordings."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
#: the CLI's user data directory in tests (history, alert state): never the real one
TEST_DATA_HOME = Path(tempfile.mkdtemp(prefix="twitchsense-test-data-"))


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["XDG_DATA_HOME"] = str(TEST_DATA_HOME)
    return env


def run_cli(*args: str, timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m twitchsense ARGS`` in a subprocess (the source tree first on the path)."""
    return subprocess.run([sys.executable, "-m", "twitchsense", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=cli_env(), cwd=cwd or ROOT)


@pytest.fixture
def cli():
    return run_cli


def make_samples(n: int = 500, rate: float = 100.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    acc = rng.normal(0.0, 0.01, (n, 3)) + np.array([0.0, 0.0, 1.0])
    return t, acc
