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
from .detection.judged import judged_spans, seconds_in_bins
from .detection.preprocess import QualityFlag, quality_flags
from .detection.scoring import STRENGTH_BANDS, band_name
from .alerts.reference import against_range, reference_data, reference_range
from .dependencies import pyplot
from .io.recording import Recording
from .io.sessionclock import SessionClock
from .types import Alert, ContextSpan, TwitchEvent

LEVEL_COLOURS = {"info": "#9ecae1", "warning": "#fdae6b", "alert": "#e6550d"}
GUIDANCE = ("Occasional twitching is normal. Regular twitching is worth checking with a doctor; "
            "frequent and/or strong twitching that persists over a longer period (days to weeks) "
            "should be examined soon, and at once if it comes with pain, weakness or fever. "
            "This report measures movement; it is not a diagnosis.")

STYLE = ("<style>body{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 10px;"
         "text-align:left}th{background:#f3f3f3}.note{background:#fff8e6;padding:0.8em;border-left:4px solid"
         " #fdae6b}img{max-width:100%}</style>")


@dataclass
class SessionFigures:
    """The numbers at the top of the report.

    ``judged_s`` is the time the detector could judge (rest or light activity, see
    :mod:`twitchsense.detection.judged`), None when the context is not known. Rates are per judged
    minute, or per minute with data when the context is not known; ``peak_basis_s`` is that time in
    the busiest 10 minutes.
    """

    duration_s: float
    recorded_s: float
    judged_s: float | None
    cannot_tell_s: float | None
    n_events: int
    rate_per_min: float
    peak_count_10min: int
    peak_rate_at: float
    peak_basis_s: float
    median_peak_g: float
    p90_peak_g: float
    max_peak_g: float
    by_band: list[tuple[str, int]]
    by_kind: dict[str, int]
    by_context: dict[str, int]

    @property
    def gap_s(self) -> float:
        return self.duration_s - self.recorded_s

    @property
    def per(self) -> str:
        """What rates are per: "judged minute", or "minute with data" when the context is not known."""
        return "judged minute" if self.judged_s is not None else "minute with data"


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


def data_spans(rec: Recording) -> np.ndarray:
    """``(k, 2)`` start and end of the stretches with data (between gaps)."""
    return np.array([(rec.t[s.start], rec.t[s.stop - 1]) for s in rec.segments() if s.stop > s.start],
                    dtype=float).reshape(-1, 2)


def session_figures(rec: Recording, events: Sequence[TwitchEvent],
                    context: Sequence[ContextSpan] | None = None) -> SessionFigures:
    """Counts, rates and strengths of one session; rates per judged minute when ``context`` is given."""
    basis = judged_spans(context) if context is not None else data_spans(rec)
    basis_s = float(np.sum(basis[:, 1] - basis[:, 0]))
    gaps = rec.gaps
    recorded = rec.duration_s - float(np.sum(gaps[:, 1] - gaps[:, 0])) if len(gaps) else rec.duration_s
    onsets = np.array([e.onset for e in events], dtype=float)
    peaks = np.array([e.peak_g for e in events], dtype=float)
    peak_count, peak_at, peak_basis = 0, float(rec.t[0]), 0.0
    if onsets.size:
        ends = np.searchsorted(onsets, onsets + 600.0, side="left")
        counts = ends - np.arange(onsets.size)
        i = int(np.argmax(counts))
        peak_count, peak_at = int(counts[i]), float(onsets[i])
        peak_basis = float(seconds_in_bins(basis, peak_at, 600.0, 1)[0])
    edges = [lo for lo, _ in STRENGTH_BANDS] + [np.inf]
    band_counts = np.histogram(peaks, bins=edges)[0] if peaks.size else np.zeros(len(STRENGTH_BANDS), int)

    def tally(values: Sequence[str]) -> dict[str, int]:
        names, counts = np.unique(np.asarray(values, dtype=object).astype(str), return_counts=True)
        return {str(n or "unknown"): int(c) for n, c in zip(names, counts)}

    return SessionFigures(
        duration_s=rec.duration_s, recorded_s=recorded, judged_s=basis_s if context is not None else None,
        cannot_tell_s=sum(c.end - c.start for c in context if c.state == "active") if context is not None else None,
        n_events=len(events), rate_per_min=len(events) / (basis_s / 60.0) if basis_s > 0 else float("nan"),
        peak_count_10min=peak_count, peak_rate_at=peak_at, peak_basis_s=peak_basis,
        median_peak_g=float(np.median(peaks)) if peaks.size else 0.0,
        p90_peak_g=float(np.percentile(peaks, 90)) if peaks.size else 0.0,
        max_peak_g=float(peaks.max()) if peaks.size else 0.0,
        by_band=[(band_name(lo, hi), int(c)) for (lo, hi), c in zip(STRENGTH_BANDS, band_counts)],
        by_kind=tally([e.kind for e in events]) if events else {},
        by_context=tally([e.context for e in events]) if events else {},
    )


def quality_rows(rec: Recording, flags: Sequence[QualityFlag] | None = None) -> list[tuple[float, float, str, str]]:
    """Every stretch of doubtful data, in time order: gaps (no data), saturation, stuck axes."""
    flags = quality_flags(rec.t, rec.acc, rec.meta.get("range_g")) if flags is None else flags
    rows = [(float(a), float(b), "gap", f"no data for {b - a:.1f} s") for a, b in rec.gaps]
    rows += [(f.start, f.end, f.flag, f.detail) for f in flags]
    return sorted(rows)


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


def unjudged_minutes(rec: Recording, context: Sequence[ContextSpan] | None) -> tuple[np.ndarray, np.ndarray]:
    """Per minute from the start: the minutes of it the detector judged (with data, when ``context`` is
    not known), and whether the minute counts as not judged (less than half of it judged)."""
    n_min = max(1, int(np.ceil(rec.duration_s / 60.0)))
    basis = judged_spans(context) if context is not None else data_spans(rec)
    judged = seconds_in_bins(basis, float(rec.t[0]), 60.0, n_min) / 60.0
    return judged, judged < 0.5


def timeline_figure(rec: Recording, events: Sequence[TwitchEvent], alerts: Sequence[Alert], clock: SessionClock,
                    context: Sequence[ContextSpan] | None = None, env: np.ndarray | None = None):
    """Movement and twitches over the session, above twitches per minute: unjudged minutes hatched,
    alert bands shaded, and a legend for both."""
    from matplotlib.patches import Patch

    plt = pyplot("the report")
    env = movement_envelope(rec) if env is None else env
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
    judged, unjudged = unjudged_minutes(rec, context)
    n_min = judged.size
    per_min = np.bincount(((onsets - rec.t[0]) // 60).astype(int), minlength=n_min)[:n_min] \
        if onsets.size else np.zeros(n_min)
    for m in np.flatnonzero(unjudged):
        axes[1].axvspan(m, m + 1, facecolor="none", edgecolor="#999999", hatch="///", lw=0)
    axes[1].bar(np.arange(n_min) + 0.5, per_min, width=0.9, color="#3182bd", label="twitches per minute")
    per = "judged minute" if context is not None else "minute with data"
    if n_min >= 10:
        total = uniform_filter1d(per_min.astype(float), 10, mode="nearest")
        basis = uniform_filter1d(judged, 10, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            rolling = np.where(basis >= 0.5, total / basis, np.nan)
        axes[1].plot(np.arange(n_min) + 0.5, rolling, color="black", lw=1.2, label=f"10-min average per {per}")
    axes[1].axhline(5, color="#e6550d", ls="--", lw=0.8, label="5 per minute (AASM anchor)")
    for a in raised:
        for ax in axes:
            ax.axvspan((a.start - rec.t[0]) / 60.0, (a.end - rec.t[0]) / 60.0,
                       color=LEVEL_COLOURS.get(a.level, "#cccccc"), alpha=0.25, lw=0)
    handles, _ = axes[1].get_legend_handles_labels()
    if unjudged.any():
        handles.append(Patch(facecolor="none", edgecolor="#999999", hatch="///",
                             label="not judged (cannot tell, or no data)" if context is not None else "no data"))
    handles += [Patch(color=LEVEL_COLOURS[lv], alpha=0.25, label=f"alert band: {lv}")
                for lv in LEVEL_COLOURS if any(a.level == lv for a in raised)]
    axes[1].set_ylabel("per minute")
    axes[1].set_xlabel("minutes from the start" + (f" ({clock.iso(float(rec.t[0]))})" if clock.known else ""))
    axes[1].legend(handles=handles, loc="upper right", fontsize=8)
    return fig


def draw_figures(rec: Recording, events: Sequence[TwitchEvent], alerts: Sequence[Alert],
                 clock: SessionClock, context: Sequence[ContextSpan] | None = None) -> dict[str, str]:
    """The report's pictures as base64 PNGs, keyed by name."""
    plt = pyplot("the report")
    out: dict[str, str] = {}
    env = movement_envelope(rec)
    peaks = np.array([e.peak_g for e in events], dtype=float)
    fig = timeline_figure(rec, events, alerts, clock, context, env)
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


def range_figure(f: SessionFigures, placement: str | None):
    """The wearer's rate per judged hour (the session's, and its busiest 10 minutes) on the healthy range
    of the placement (p50 to p95 shaded), or None when the placement has no range."""
    r = reference_range(placement, "judged")
    if r is None or f.judged_s is None or not np.isfinite(f.rate_per_min):
        return None
    plt = pyplot("the report")
    rate = f.rate_per_min * 60
    busiest = f.peak_count_10min / (f.peak_basis_s / 3600) if f.peak_basis_s >= 60 else None
    top = max(r.p95, rate, busiest or 0.0) * 1.25
    fig, ax = plt.subplots(figsize=(8, 1.9), layout="constrained")
    ax.axvspan(0, r.p50, color="#c7e9c0", label=f"healthy, up to p50 ({r.p50:.0f})")
    ax.axvspan(r.p50, r.p95, color="#fdd0a2", label=f"healthy p50 to p95 ({r.p95:.0f})")
    ax.axvspan(r.p95, top, color="#fcbba1", label="above 95 % of healthy people")
    ax.plot([rate], [0.6], "v", ms=12, color="black", label=f"this session: {rate:.0f}")
    if busiest is not None:
        ax.plot([busiest], [0.3], "v", ms=10, color="#d62728", label=f"busiest 10 minutes: {busiest:.0f}")
    ax.set_xlim(0, top)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel("detections per judged hour")
    ax.set_title(f"Against healthy people wearing it on the {r.placement}"
                 + (" (thin data: one person)" if r.thin else ""), fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.05), fontsize=7, frameon=False)
    return fig


def honesty_html() -> str:
    """What the detector can and cannot tell, with the healthy figures of the shipped range."""
    ranges = reference_data().get("ranges") or {}
    still = [f"{name}: {e['still']['p50']:.0f} (p50) to {e['still']['p95']:.0f} (p95)"
             for name, e in sorted(ranges.items()) if e.get("published") and (e.get("still") or {}).get("n_units")]
    per_still = ("; ".join(still) + " detections per still hour") if still else "not measured"
    items = [
        "A wrist-worn sensor sees few fasciculations: they are too small to move the wrist.",
        "Counts during the day, in free living, are estimates: movement hides twitches, and short sharp "
        "movements of healthy people look like twitches to an accelerometer.",
        "Counts at rest and in bed are the ones to show a doctor.",
        f"Healthy people get detections too, even when still: {per_still} "
        "(docs/reference-range.md). A count is worth attention when it stays above the healthy 95th percentile.",
    ]
    return ("<h2>What the detector can and cannot tell</h2><ul>"
            + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")


def _table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> str:
    head = "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def clock_label(clock: SessionClock, t: float, t0: float, multi_day: bool = False) -> str:
    """When ``t`` was, as people read it: the time of day (with the date when the session spans days),
    or minutes and seconds from the start when the start time is not known."""
    iso = clock.iso(t)
    if iso is None:
        m, sec = divmod(max(t - t0, 0.0), 60.0)
        return f"{int(m)}:{sec:04.1f} from the start"
    return f"{iso[:10]} {iso[11:21]}" if multi_day else iso[11:21]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def render_report(rec: Recording, events: Sequence[TwitchEvent], alerts: Sequence[Alert],
                  context: Sequence[ContextSpan] | None = None) -> str:
    """The whole report as one HTML page (pictures embedded).

    ``context`` (``NAME.context.csv``) gives the judged time; without it rates are per minute with data
    and the report says so.
    """
    clock = SessionClock(rec.meta.get("start_time"))
    f = session_figures(rec, events, context)
    pics = draw_figures(rec, events, alerts, clock, context)
    placement = rec.meta.get("placement") or None
    fig = range_figure(f, placement)
    if fig is not None:
        pics["range"] = _png(fig)
        pyplot("the report").close(fig)
    t0 = float(rec.t[0])
    multi_day = clock.known and clock.date(t0) != clock.date(float(rec.t[-1]))
    when = clock.iso(t0) if clock.known else "start time not recorded"
    quality = quality_rows(rec)
    kinds = {k: [r for r in quality if r[2] == k] for k in ("gap", "saturated", "stuck-axis")}
    if f.judged_s is not None:
        judged = (f"{_minutes(f.judged_s)} (rest or light activity); not judged: {_minutes(f.cannot_tell_s or 0)} "
                  f"cannot tell (vigorous movement), {_minutes(f.gap_s)} without data")
    else:
        judged = ("not known: no NAME.context.csv beside the detections (detect writes it); rates below are per "
                  "minute with data, and may count minutes the detector could not judge")
    summary = [
        ("recording", f"{rec.name}, {rec.meta.get('placement') or 'placement not recorded'}, {when}"),
        ("length", f"{_minutes(f.duration_s)} ({_minutes(f.recorded_s)} with data)"),
        ("judged time", judged),
        ("twitches", f"{f.n_events} ({f.rate_per_min:.2f} per {f.per})" if np.isfinite(f.rate_per_min)
         else f"{f.n_events} (no {f.per})"),
        ("busiest 10 minutes", f"{_count(f.peak_count_10min, 'twitch', 'twitches')} from minute {(f.peak_rate_at - t0) / 60:.0f}, "
                               f"{_minutes(f.peak_basis_s)} of it {'judged' if f.judged_s is not None else 'with data'}"
                               + (f": {f.peak_count_10min / (f.peak_basis_s / 60):.1f} per {f.per}"
                                  if f.peak_basis_s >= 60 else "") if f.n_events else "none"),
        ("against healthy people", against_range(f.rate_per_min * 60, placement, judged=f.judged_s is not None)),
        ("strength", f"median {f.median_peak_g:.3f} g, 90 % below {f.p90_peak_g:.3f} g, "
                     f"strongest {f.max_peak_g:.3f} g" if f.n_events else "none"),
        ("data quality", ", ".join(
            f"{_count(len(rows), name, plural)} ({sum(b - a for a, b, _, _ in rows):.0f} s)"
            for name, plural, rows in (("gap", "gaps", kinds["gap"]),
                                       ("saturated stretch", "saturated stretches", kinds["saturated"]),
                                       ("stuck-axis stretch", "stuck-axis stretches", kinds["stuck-axis"])))
         + " (listed below)" if quality else "no gaps, no saturation, no stuck axis"),
    ]
    shown = [a for a in alerts if getattr(a, "change", "raised") != "cleared"]
    alert_rows = [(f"{clock_label(clock, a.start, t0, multi_day)} to {clock_label(clock, a.end, t0, multi_day)}",
                   a.level, a.rule, a.detail) for a in shown]
    twitch_rows = [(i + 1, clock_label(clock, e.onset, t0, multi_day), f"{e.peak_g:.3f}", e.kind or "unknown",
                    e.context or "unknown", f"{e.duration * 1000:.0f}", f"{e.confidence:.2f}")
                   for i, e in enumerate(events)]
    quality_table = [(clock_label(clock, a, t0, multi_day), f"{b - a:.1f} s", what, detail)
                     for a, b, what, detail in quality]
    img = lambda k, alt: f'<img alt="{alt}" src="data:image/png;base64,{pics[k]}">' if k in pics else ""  # noqa: E731
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>twitchsense report: {html.escape(rec.name)}</title>",
        STYLE + "</head><body>",
        f"<h1>Twitch report: {html.escape(rec.name)}</h1>",
        f"<p class='note'>{html.escape(GUIDANCE)}</p>",
        "<h2>How often, how strong</h2>", _table(summary),
        img("range", "the rate per judged hour against the healthy range of the placement"),
        img("timeline", "movement and twitches per minute over the session"),
        "<p><small>Judged time is the time the detector could tell whether a twitch happened: the wearer at "
        "rest or in light activity. During vigorous movement it says 'cannot tell' and counts nothing; those "
        "minutes, and minutes without data, are hatched in the chart and left out of every rate.</small></p>",
        honesty_html(),
        "<h2>Strength</h2>", _table(f.by_band, ("band", "twitches")), img("strength", "strength histogram"),
        "<h2>Under what conditions</h2>",
        _table(sorted(f.by_context.items()), ("activity around the twitch", "twitches")) if f.by_context else
        "<p>No twitches.</p>",
        _table(sorted(f.by_kind.items()), ("kind (as the model sees it)", "twitches")) if f.by_kind else "",
        img("time_of_day", "twitches by hour of day"),
        "<h2>Alerts</h2>",
        _table(alert_rows, ("when", "level", "rule", "what was measured")) if alert_rows else
        "<p>No alert rule fired.</p>",
        "<h2>Data quality</h2>",
        _table(quality_table, ("from", "for", "what", "detail")) if quality_table else
        "<p>No gaps, no saturation, no stuck axis.</p>",
        img("examples", "the strongest twitches"),
        "<h2>Every twitch</h2>",
        _table(twitch_rows, ("#", "time of day" if clock.known else "when", "strength (g)", "class", "activity",
                             "duration (ms)", "confidence")) if twitch_rows else "<p>No twitches.</p>",
        "<p><small>Made by twitchsense. Strength is the peak movement above the slow background at the "
        "sensor, in g; events weaker than about 0.02 g are at the sensor's noise floor.</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: str | Path, rec: Recording, events: Sequence[TwitchEvent],
                 alerts: Sequence[Alert], context: Sequence[ContextSpan] | None = None) -> Path:
    """Write the HTML report to ``path``."""
    path = Path(path)
    path.write_text(render_report(rec, events, alerts, context), encoding="utf-8")
    return path
