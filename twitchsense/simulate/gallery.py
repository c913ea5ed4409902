"""The class gallery: one example of every twitch class and look-alike at 100 Hz, with its label.

``twitchsense simulate --plot docs/gallery.png`` draws it; it shows what the
simulator believes each class looks like to a wrist or limb accelerometer
(dynamic acceleration, gravity removed, no sensor noise), with the label span
shaded and the label's figures in the title.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..dependencies import pyplot
from . import waveforms as W
from .profiles import BOUT_ACTIVITIES, EVENT_CLASSES
from .render import example_event

#: Seconds shown per class (long bouts are cut to this).
WINDOWS = {"myoclonic": 1.0, "hypnic": 1.2, "fasciculation": 0.6, "tic": 1.6, "posture": 5.0, "gesture": 5.0,
           "walk": 4.0, "run": 3.0, "typing": 3.0, "fidget": 3.0, "brushing": 3.0, "tremor": 3.0, "knock": 0.4,
           "clap": 3.0, "tapping": 3.0, "fidget-spikes": 8.0, "mouse": 5.0, "phone": 5.0, "eating": 20.0,
           "gesturing": 6.0, "jump": 4.0, "sit-hard": 3.0}
#: Example seeds (the first draw of each class; fixed so the picture is reproducible).
SEEDS = {name: 0 for name in EVENT_CLASSES}


def draw_gallery(path: str | os.PathLike, rate_hz: float = 100.0) -> Path:
    """Draw the gallery to ``path`` (PNG) and return the path."""
    plt = pyplot("drawing the class gallery (simulate --plot)")
    names = list(EVENT_CLASSES) + ["breathing + heartbeat"]
    cols = 3
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(15, 2.6 * rows), constrained_layout=True)
    colors = ("tab:blue", "tab:orange", "tab:green")
    for ax, name in zip(axes.flat, names):
        if name == "breathing + heartbeat":
            t = np.arange(0, 10, 1 / rate_hz)
            acc = W.breathing(t, 0.25, 0.004, (0, 0, 1)) + W.heartbeat(t, 1.2, 0.002, (0, 1, 0))
            ax.set_title("unlabelled background: breathing 0.25 Hz + heartbeat 1.2 Hz",
                         fontsize=9)
            lo, hi = 0.0, 10.0
        else:
            window = WINDOWS[name]
            t, acc, row = example_event(name, SEEDS[name], rate_hz, max_duration_s=window, pad_s=window)
            is_twitch = row["label"] == "twitch"
            lo = row["onset"] - (0.25 * window if is_twitch or name == "knock" else 0.3)
            hi = lo + window
            span_color = "tab:red" if is_twitch else "tab:gray"
            ax.axvspan(row["onset"], row["onset"] + max(row["duration"], 1 / rate_hz), color=span_color, alpha=0.15)
            kind = f" ({row['kind']})" if row["kind"] else ""
            title = f"label {row['label']}{kind}: peak_g {row['peak_g']:.3g} g, {row['duration'] * 1000:.0f} ms"
            if name in BOUT_ACTIVITIES:
                title = f"label {row['label']}{kind}: peak_g {row['peak_g']:.3g} g (bout, {window:g} s shown)"
            ax.set_title(title, fontsize=9, color="tab:red" if is_twitch else "black")
        keep = (t >= lo) & (t <= hi)
        for k in range(3):
            ax.plot(t[keep], acc[keep, k], color=colors[k], lw=0.9, marker="." if name in ("knock", "fasciculation") else None,
                    ms=3)
        ax.plot(t[keep], np.linalg.norm(acc[keep], axis=1), color="black", lw=0.6, alpha=0.6)
        ax.set_xlim(lo, hi)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("g", fontsize=8)
        ax.text(0.01, 0.95, name, transform=ax.transAxes, fontsize=10, va="top", weight="bold")
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"twitchsense simulator: one example per class at {rate_hz:g} Hz (dynamic acceleration x, y, z "
                 "and norm; red = twitch label span, grey = look-alike label)", fontsize=11)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
