"""Tiny hand-made cases: recordings for detector tests (noise, gravity and damped sinusoids; not a
simulator) and rule files for the alert tests."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from twitchsense.io.recording import Recording


def damped(t: np.ndarray, f: float, tau: float) -> np.ndarray:
    """A damped sinusoid starting at t = 0 (zero before)."""
    return np.where(t >= 0, np.exp(-np.clip(t, 0, None) / tau) * np.sin(2 * np.pi * f * np.clip(t, 0, None)), 0.0)


def handmade(seed: int, minutes: float = 3.0, rate: float = 100.0, n_twitch: int = 12,
             tremor: bool = True, noise_g: float = 0.003) -> Recording:
    """Noise + gravity, ``n_twitch`` damped sinusoids (labelled like the simulator: envelope > 10 %
    of peak, ``peak_g`` = peak norm of the added waveform), and an unlabelled 6 Hz tremor stretch."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * rate)
    t = np.arange(n) / rate
    acc = rng.normal(0, noise_g, (n, 3)) + np.array([0.05, -0.3, 0.95])
    rows = []
    times = np.linspace(4, minutes * 60 * (0.6 if tremor else 1.0) - 4, n_twitch) + rng.uniform(-1, 1, n_twitch)
    for tt in times:
        f, tau, amp = rng.uniform(5, 14), rng.uniform(0.03, 0.08), rng.uniform(0.04, 0.6)
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        wave = amp * damped(t - tt, f, tau)
        acc += wave[:, None] * d
        env = amp * np.exp(-np.clip(t - tt, 0, None) / tau) * (t >= tt)
        on = np.flatnonzero(env >= 0.1 * amp)
        rows.append((t[on[0]], t[on[-1]] - t[on[0]], "twitch", float(np.abs(wave).max()), "myoclonic"))
    if tremor:
        s, e = int(n * 0.7), int(n * 0.85)
        acc[s:e, 0] += 0.05 * np.sin(2 * np.pi * 6 * t[s:e])
        rows.append((t[s], t[e - 1] - t[s], "tremor", np.nan, ""))
    lab = pd.DataFrame(rows, columns=["onset", "duration", "label", "peak_g", "kind"])
    return Recording(t=t, acc=acc, labels=lab, meta={"sample_rate_hz": rate, "subject": f"h{seed}"})


def at_rate(rec: Recording, rate: float) -> Recording:
    """The same recording resampled by plain interpolation of the clean signal (for rate tests)."""
    t = np.arange(0, rec.t[-1], 1.0 / rate)
    acc = np.column_stack([np.interp(t, rec.t, rec.acc[:, i]) for i in range(3)])
    return Recording(t=t, acc=acc, labels=rec.labels, meta={**rec.meta, "sample_rate_hz": rate})


_MODEL = {}


def tiny_model():
    """A small model trained (3-fold nested grouped CV) on hand-made recordings, cached per test session."""
    if "m" not in _MODEL:
        from twitchsense.detection.training import train

        recs = [(handmade(s, tremor=(s % 2 == 0)), "hand") for s in range(4)]
        _MODEL["m"] = train(recs, n_splits=3, progress=False, trees=60)
    return _MODEL["m"]


def rule_file(*rules: dict, **settings: float) -> str:
    """The text of a rule file: ``[settings]`` from ``settings`` (left out when empty), then one
    ``[[rule]]`` table per dict, keys in order."""
    def table(header: str, keys: dict) -> str:
        return header + "\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in keys.items())
    return "\n".join(([table("[settings]", settings)] if settings else []) + [table("[[rule]]", r) for r in rules])


def frequency_rule(level: str, per_minute: float, window_minutes: float, name: str = "busy", **extra) -> dict:
    """A ``frequency`` rule (``busy`` unless named otherwise)."""
    return {"name": name, "kind": "frequency", "level": level, "per_minute": per_minute,
            "window_minutes": window_minutes, **extra}


def days_rule(level: str, min_days: int, of_days: int, rule: str = "busy", name: str = "busy-days") -> dict:
    """A ``days`` rule over ``rule``: met on ``min_days`` of the last ``of_days`` calendar days."""
    return {"name": name, "kind": "days", "level": level, "rule": rule, "min_days": min_days, "of_days": of_days}


def check_stream_events(streamed: list, verdicts: list, provisional: list | None = None) -> None:
    """A stream's events against the batch's: the verdicts (confirmed and retracted) exactly the batch's,
    in order; every verdict after its provisional event, which has the same id and figures; with
    ``provisional`` given (an engine fed whole), the provisional events exactly those too."""
    first = {}
    for i, e in enumerate(streamed):
        if e.status == "provisional":
            assert e.id not in first
            first[e.id] = (i, e)
    judged = [e for e in streamed if e.status != "provisional"]
    assert judged == verdicts  # same floats, same order
    assert sorted(first) == [e.id for e in judged]  # every provisional event judged once
    for i, e in enumerate(streamed):
        if e.status != "provisional":
            j, p = first[e.id]
            assert j < i and dataclasses.replace(e, status="provisional", reason="") == p
            assert (e.status == "retracted") == bool(e.reason)
    if provisional is not None:
        assert [e for e in streamed if e.status == "provisional"] == provisional


def tick_live(engine, events: list, end_s: float, spans: list | None = None, step_s: float = 0.5) -> list:
    """A live AlertEngine (``keep_episodes=True``) ticked every ``step_s`` up to ``end_s``, fault rules off:
    at each tick the ``spans`` of context decided so far (the current one growing) and the ``events`` that
    have ended; then closed. Returns its episodes by start and rule."""
    from twitchsense.types import ContextSpan

    engine.fault_rules = []
    k = 0
    for now in np.arange(0.0, end_s, step_s):
        if spans is not None:
            engine.on_context([s if s.end <= now else ContextSpan(s.start, now, s.state, 0.0)
                               for s in spans if s.start < now and s.end > now - 1.0])
        new = []
        while k < len(events) and events[k].end <= now:
            new.append(events[k])
            k += 1
        engine.on_events(new, float(now))
    engine.close(end_s)
    return sorted(engine.episodes, key=lambda a: (a.start, a.rule))
