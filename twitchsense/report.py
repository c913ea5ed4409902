"""A picture-rich session report for the wearer and a doctor: one self-contained HTML file.

It answers what a neurologist asks first: how often, how strong, when and under
what conditions. It measures; it never diagnoses.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.ndimage import uniform_filter1d

from .detection.context import ContextConfig, Movement
from .detection.scoring import STRENGTH_BANDS, band_name
from .dependencies import pyplot
from .io.recording import Recording
from .io.sessionclock import SessionClock
from .types import Alert, TwitchEvent

LEVEL_COLOURS = {"info": "#9ecae1", "warning": "#fdae6b", "alert": "#e6550d"}
GUIDANCE = ("Occasional twitching is normal. Regular twitching is worth checking with a doctor; "
            "frequent and/or strong twitching that persists over a longer period (days to weeks) "
            "should be examined soon, and at once if it comes with pain, weakness or fever. "
            "This report measures movement; it is not a diagnosis.")


@dataclass
class SessionFigures:
    """The numbers at the top of the report."""

    duration_s: float
    recorded_s: float
    n_events: int
    rate_per_min: float
    peak_rate_10min: float
    peak_rate_at: float
    median_peak_g: float
    p90_peak_g: float
    max_peak_g: float
    by_band: list[tuple[str, int]]
    by_kind: dict[str, int]
    by_context: dict[str, int]


def movement_envelope(rec: Recording) -> np.ndarray:
    """Movement in g per sample: the magnitude of the acceleration above its slow background, as the
    detector's context measures it (:class:`~twitchsense.detection.context.Movement`), each stretch
    between gaps on its own."""
    out = np.zeros(rec.n_samples)
    cfg = ContextConfig()
    for seg in rec.segments():
        if rec.acc[seg].shape[0]:
            out[seg] = Movement(rec.sample_rate_hz, cfg.background_hz, rec.acc[seg][0]).magnitude(rec.acc[seg])
    return out


def session_figures(rec: Recording, events: Sequence[TwitchEvent]) -> SessionFigures:
    """Counts, rates and strengths of one session."""
    gaps = rec.gaps
    recorded = rec.duration_s - float(np.sum(gaps[:, 1] - gaps[:, 0])) if len(gaps) else rec.duration_s
    onsets = np.array([e.onset for e in events], dtype=float)
    peaks = np.array([e.peak_g for e in events], dtype=float)
    peak_rate, peak_at = 0.0, float(rec.t[0])
    if onsets.size:
        starts = onsets - rec.t[0]
        ends = np.searchsorted(onsets, onsets + 600.0, side="left")
        counts = ends - np.arange(onsets.size)
        window_min = min(10.0, max(rec.duration_s, 1.0) / 60.0)
        i = int(np.argmax(counts))
        peak_rate, peak_at = counts[i] / window_min, float(starts[i] + rec.t[0])
    edges = [lo for lo, _ in STRENGTH_BANDS] + [np.inf]
    band_counts = np.histogram(peaks, bins=edges)[0] if peaks.size else np.zeros(len(STRENGTH_BANDS), int)

    def tally(values: Sequence[str]) -> dict[str, int]:
        names, counts = np.unique(np.asarray(values, dtype=object).astype(str), return_counts=True)
        return {str(n or "unknown"): int(c) for n, c in zip(names, counts)}

    return SessionFigures(
        duration_s=rec.duration_s, recorded_s=recorded, n_events=len(events),
        rate_per_min=len(events) / max(recorded / 60.0, 1e-9),
        peak_rate_10min=peak_rate, peak_rate_at=peak_at,
        median_peak_g=float(np.median(peaks)) if peaks.size else 0.0,
        p90_peak_g=float(np.percentile(peaks, 90)) if peaks.size else 0.0,
        max_peak_g=float(peaks.max()) if peaks.size else 0.0,
        by_band=[(band_name(lo, hi), int(c)) for (lo, hi), c in zip(STRENGTH_BANDS, band_counts)],
        by_kind=tally([e.kind for e in events]) if events else {},
        by_context=tally([e.context for e in events]) if events else {},
    )


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    fig.clf()
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _binned_max(t: np.ndarray, y: np.ndarray, bins: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    if t.size <= bins:
        return t, y
    edges = np.linspace(0, t.size, bins + 1).astype(int)
    return t[edges[:-1]], np.maximum.reduceat(y, edges[:-1])


def draw_figures(rec: Recording, events: Sequence[TwitchEvent], alerts: Sequence[Alert],
                 clock: SessionClock) -> dict[str, str]:
    """The report's pictures as base64 PNGs, keyed by name."""
    plt = pyplot("the report")
    out: dict[str, str] = {}
    env = movement_envelope(rec)
    minutes = (rec.t - rec.t[0]) / 60.0
    onsets = np.array([e.onset for e in events], dtype=float)
    peaks = np.array([e.peak_g for e in events], dtype=float)
    raised = [a for a in alerts if getattr(a, "change", "raised") != "cleared"]

    fig, axes = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, layout="constrained")
    bt, by = _binned_max(minutes, env)
    axes[0].plot(bt, by, lw=0.6, color="#555555", label="movement above background")
    if onsets.size:
        axes[0].scatter((onsets - rec.t[0]) / 60.0, peaks, s=14, color="#d62728", zorder=3,
                        label="twitch (peak g)")
    axes[0].set_ylabel("g")
    axes[0].set_yscale("symlog", linthresh=0.02)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[0].set_title("Movement and detected twitches")
    n_min = max(1, int(np.ceil(rec.duration_s / 60.0)))
    per_min = np.bincount(((onsets - rec.t[0]) // 60).astype(int), minlength=n_min)[:n_min] \
        if onsets.size else np.zeros(n_min)
    axes[1].bar(np.arange(n_min) + 0.5, per_min, width=0.9, color="#3182bd", label="twitches per minute")
    if n_min >= 10:
        axes[1].plot(np.arange(n_min) + 0.5, uniform_filter1d(per_min.astype(float), 10, mode="nearest"),
                     color="black", lw=1.2, label="10-min average")
    axes[1].axhline(5, color="#e6550d", ls="--", lw=0.8, label="5 per minute (AASM anchor)")
    for a in raised:
        for ax in axes:
            ax.axvspan((a.start - rec.t[0]) / 60.0, (a.end - rec.t[0]) / 60.0,
                       color=LEVEL_COLOURS.get(a.level, "#cccccc"), alpha=0.25, lw=0)
    axes[1].set_ylabel("per minute")
    axes[1].set_xlabel("minutes from the start" + (f" ({clock.iso(float(rec.t[0]))})" if clock.known else ""))
    axes[1].legend(loc="upper right", fontsize=8)
    out["timeline"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.5, 3.2), layout="constrained")
    if peaks.size:
        bins = np.geomspace(max(peaks.min(), 0.005) * 0.9, max(peaks.max(), 0.02) * 1.1, 25)
        ax.hist(peaks, bins=bins, color="#756bb1")
        ax.set_xscale("log")
    for lo, _ in STRENGTH_BANDS[1:]:
        ax.axvline(lo, color="grey", lw=0.6, ls=":")
    ax.set_xlabel("peak movement above background (g)")
    ax.set_ylabel("twitches")
    ax.set_title("How strong")
    out["strength"] = _png(fig)
    plt.close(fig)

    if events:
        strongest = sorted(events, key=lambda e: -e.peak_g)[:6]
        fig, axes = plt.subplots(2, 3, figsize=(11, 4.5), sharey=True, layout="constrained")
        for ax, e in zip(axes.ravel(), strongest):
            sel = (rec.t >= e.onset - 1.0) & (rec.t <= e.end + 1.0)
            ax.plot(rec.t[sel] - e.onset, env[sel], color="#555555", lw=0.8)
            ax.axvspan(0, e.duration, color="#d62728", alpha=0.2)
            title = f"{e.peak_g:.2f} g" + (f", {e.kind}" if e.kind else "") + (f", {e.context}" if e.context else "")
            ax.set_title(title, fontsize=9)
        for ax in axes.ravel()[len(strongest):]:
            ax.axis("off")
        fig.supxlabel("seconds from onset")
        fig.supylabel("g above background")
        fig.suptitle("The strongest twitches")
        out["examples"] = _png(fig)
        plt.close(fig)

    if clock.known and events:
        hours = np.array([int(clock.iso(e.onset)[11:13]) for e in events])
        fig, ax = plt.subplots(figsize=(5.5, 3.2), layout="constrained")
        ax.bar(np.arange(24), np.bincount(hours, minlength=24), color="#31a354")
        ax.set_xlabel("hour of the day")
        ax.set_ylabel("twitches")
        ax.set_title("When")
        out["time_of_day"] = _png(fig)
        plt.close(fig)
    return out


def _table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def render_report(rec: Recording, events: Sequence[TwitchEvent], alerts: Sequence[Alert]) -> str:
    """The whole report as one HTML page (pictures embedded)."""
    clock = SessionClock(rec.meta.get("start_time"))
    f = session_figures(rec, events)
    pics = draw_figures(rec, events, alerts, clock)
    when = clock.iso(float(rec.t[0])) if clock.known else "start time not recorded"
    summary = [
        ("recording", f"{rec.name}, {rec.meta.get('placement') or 'placement not recorded'}, {when}"),
        ("length", f"{f.duration_s / 60:.1f} min ({f.recorded_s / 60:.1f} min with data)"),
        ("twitches", f"{f.n_events} ({f.rate_per_min:.2f} per minute on average)"),
        ("busiest 10 minutes", f"{f.peak_rate_10min:.1f} per minute, from minute "
                               f"{(f.peak_rate_at - rec.t[0]) / 60:.0f}" if f.n_events else "none"),
        ("strength", f"median {f.median_peak_g:.3f} g, 90 % below {f.p90_peak_g:.3f} g, "
                     f"strongest {f.max_peak_g:.3f} g" if f.n_events else "none"),
    ]
    shown = [a for a in alerts if getattr(a, "change", "raised") != "cleared"]
    alert_rows = [(f"{(a.start - rec.t[0]) / 60:.1f}-{(a.end - rec.t[0]) / 60:.1f} min", a.level, a.rule,
                   a.detail) for a in shown]
    img = lambda k, alt: f'<img alt="{alt}" src="data:image/png;base64,{pics[k]}">' if k in pics else ""  # noqa: E731
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>twitchsense report: {html.escape(rec.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;"
        "text-align:left}th{background:#f3f3f3}.note{background:#fff8e6;padding:0.8em;border-left:4px solid"
        " #fdae6b}img{max-width:100%}</style></head><body>",
        f"<h1>Twitch report: {html.escape(rec.name)}</h1>",
        f"<p class='note'>{html.escape(GUIDANCE)}</p>",
        "<h2>How often, how strong</h2>", _table(summary),
        img("timeline", "movement and twitches per minute over the session"),
        "<h2>Strength</h2>", _table(f.by_band, ("band", "twitches")), img("strength", "strength histogram"),
        "<h2>Under what conditions</h2>",
        _table(sorted(f.by_context.items()), ("activity around the twitch", "twitches")) if f.by_context else
        "<p>No twitches.</p>",
        _table(sorted(f.by_kind.items()), ("kind (as the model sees it)", "twitches")) if f.by_kind else "",
        img("time_of_day", "twitches by hour of day"),
        "<h2>Alerts</h2>",
        _table(alert_rows, ("when", "level", "rule", "what was measured")) if alert_rows else
        "<p>No alert rule fired.</p>",
        img("examples", "the strongest twitches"),
        "<p><small>Made by twitchsense. Strength is the peak movement above the slow background at the "
        "sensor, in g; events weaker than about 0.02 g are at the sensor's noise floor.</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: str | Path, rec: Recording, events: Sequence[TwitchEvent],
                 alerts: Sequence[Alert]) -> Path:
    """Write the HTML report to ``path``."""
    path = Path(path)
    path.write_text(render_report(rec, events, alerts), encoding="utf-8")
    return path
