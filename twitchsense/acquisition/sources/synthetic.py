"""Simulated samples for the live path without a board: the physiological simulator
(:func:`twitchsense.simulate.simulate_session`), and a plain synthetic signal for tests."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from ...io.recording import Recording
from .replay import ReplaySource


def synthetic_recording(rate_hz: float = 100.0, seconds: float = 60.0, seed: int = 0) -> Recording:
    """A plain synthetic wrist at rest: tilted gravity, sensor noise, a twitch every few seconds.

    Twitches are short damped 12 Hz oscillations of 0.05-0.3 g (labelled); it is a
    stand-in for the physiological simulator, not a model of physiology.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate_hz))
    t = np.arange(n) / rate_hz
    g = np.array([0.15, -0.25, 0.956])
    acc = np.tile(g / np.linalg.norm(g), (n, 1)) + rng.normal(0.0, 0.004, (n, 3))
    acc += 0.01 * np.sin(2 * np.pi * 0.05 * t)[:, None] * np.array([1.0, 0.5, 0.0])
    onsets, durations, peaks = [], [], []
    next_onset = rng.uniform(1.0, 4.0)
    while next_onset < seconds - 1.0:
        peak = rng.uniform(0.05, 0.3)
        dur = 0.15
        i0 = int(next_onset * rate_hz)
        k = np.arange(int(dur * rate_hz))
        tau = k / rate_hz
        wave = peak * np.sin(2 * np.pi * 12.0 * tau) * np.exp(-tau / 0.04)
        axis = rng.normal(size=3)
        acc[i0:i0 + k.size] += wave[:, None] * (axis / np.linalg.norm(axis))
        onsets.append(next_onset)
        durations.append(dur)
        peaks.append(peak)
        next_onset += rng.uniform(2.0, 8.0)
    labels = pd.DataFrame({"onset": onsets, "duration": durations, "label": "twitch", "peak_g": peaks})
    meta = {"sample_rate_hz": float(rate_hz), "board": "synthetic", "notes": "plain synthetic signal"}
    return Recording(t, acc, meta=meta, labels=labels)


def simulated_recording(rate_hz: float = 100.0, seconds: float = 120.0, seed: int = 0,
                        profile: str = "frequent-twitching") -> Recording:
    """``seconds`` of the physiological simulator's ``profile`` at ``rate_hz`` (labelled, seeded)."""
    from ...simulate import simulate_session
    return simulate_session(profile, seconds / 60.0, seed, rate_hz=rate_hz)


class SimulatedSource(ReplaySource):
    """Endless simulated samples at real time (``speed`` times real time), looping a simulated session."""

    def __init__(self, rate_hz: float = 100.0, *, seconds: float = 120.0, seed: int = 0,
                 profile: str = "frequent-twitching", speed: float | None = 1.0) -> None:
        super().__init__(simulated_recording(rate_hz, seconds, seed, profile), speed=speed, loop=True)
        self.meta["start_time"] = datetime.now().astimezone().isoformat(timespec="milliseconds")
