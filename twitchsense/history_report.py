"""The report over many days, from the history: rate per judged hour per day, the trend, and since when
each rule was met. One self-contained HTML file; it measures, it never diagnoses."""

from __future__ import annotations

import html
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from .dependencies import pyplot
from .history import DayRow, daily_summary, days_met
from .report import GUIDANCE, STYLE, _png, _table


@dataclass
class Trend:
    """How the rate per judged hour moved over the days with judged time.

    slope_per_week : change of the daily rate (per judged hour) per week, a least-squares line
        weighted by each day's judged hours; None with fewer than 2 such days.
    first_half, second_half : the rate over the first and the second half of those days.
    """

    days: int
    slope_per_week: float | None
    first_half: float | None
    second_half: float | None

    def describe(self) -> str:
        if self.slope_per_week is None:
            return "not enough days with judged time for a trend (2 needed)"
        word = "rising" if self.slope_per_week > 0 else "falling" if self.slope_per_week < 0 else "flat"
        return (f"{word}: {self.slope_per_week:+.1f} per judged hour each week over {self.days} days with data "
                f"(first half {self.first_half:.1f}/h, second half {self.second_half:.1f}/h)")


def _rate(rows: list[DayRow]) -> float | None:
    judged = sum(r.judged_s for r in rows)
    return sum(r.twitches for r in rows) / (judged / 3600.0) if judged > 0 else None


def trend(rows: list[DayRow]) -> Trend:
    """The trend of the daily rate per judged hour (:class:`Trend`)."""
    data = [r for r in rows if r.judged_s > 0]
    if len(data) < 2:
        return Trend(len(data), None, None, None)
    x = np.array([date.fromisoformat(r.day).toordinal() for r in data], dtype=float)
    y = np.array([r.rate_per_hour for r in data], dtype=float)
    w = np.sqrt([r.judged_s / 3600.0 for r in data])
    slope = float(np.polyfit(x, y, 1, w=w)[0]) * 7.0
    half = len(data) // 2
    return Trend(len(data), slope, _rate(data[:half]), _rate(data[half:]))


def rules_met(con: sqlite3.Connection, first: str, last: str) -> list[tuple[str, str, str, int, int]]:
    """Per twitch rule ever raised: (rule, first day met, last day met, days met in ``first``..``last``,
    days met in all)."""
    out = []
    for (rule,) in con.execute("SELECT DISTINCT rule FROM alerts WHERE fault = 0 ORDER BY rule"):
        met = sorted(days_met(con, rule))
        if met:
            out.append((rule, met[0], met[-1], sum(first <= d <= last for d in met), len(met)))
    return out


def render_days_report(con: sqlite3.Connection, days: int, until: str | None = None, source: str = "") -> str:
    """The report over the last ``days`` days of the history (to ``until``, default the latest day with data)."""
    rows = daily_summary(con, days, until)
    first, last = rows[0].day, rows[-1].day
    tr = trend(rows)
    total = _rate(rows)
    judged_h = sum(r.judged_s for r in rows) / 3600.0
    plt = pyplot("the report")
    fig, ax = plt.subplots(figsize=(11, 3.2))
    x = np.arange(len(rows))
    rates = [r.rate_per_hour if r.rate_per_hour is not None else 0.0 for r in rows]
    ax.bar(x, rates, color="#3182bd", label="twitches per judged hour")
    for i, r in enumerate(rows):
        if r.judged_s <= 0:
            ax.axvspan(i - 0.5, i + 0.5, facecolor="none", hatch="///", edgecolor="#bbbbbb", lw=0)
    ax.set_xticks(x[:: max(len(rows) // 15, 1)], [r.day[5:] for r in rows][:: max(len(rows) // 15, 1)])
    ax.set_ylabel("per judged hour")
    ax.set_title("Twitches per judged hour, per day (hatched: no judged time)")
    fig.tight_layout()
    chart = _png(fig)
    plt.close(fig)
    day_rows = [(r.day, r.sessions, f"{r.monitored_s / 3600:.1f}" if r.monitored_s else "-",
                 f"{r.judged_s / 3600:.1f}" if r.monitored_s else "-", r.twitches,
                 "-" if r.rate_per_hour is None else f"{r.rate_per_hour:.1f}",
                 "-" if r.max_peak_g is None else f"{r.max_peak_g:.2f}",
                 ", ".join(f"{n} {lvl}" for lvl, n in sorted((r.alerts or {}).items())) or "-") for r in rows]
    since = rules_met(con, first, last)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>twitchsense report: {first} to {last}</title>", STYLE + "</head><body>",
        f"<h1>Twitch report: {days} days, {first} to {last}</h1>",
        f"<p class='note'>{html.escape(GUIDANCE)}</p>",
        _table([("history", source or "-"), ("days with data", sum(1 for r in rows if r.monitored_s > 0)),
                ("judged time", f"{judged_h:.1f} h"), ("twitches", sum(r.twitches for r in rows)),
                ("rate", "-" if total is None else f"{total:.1f} per judged hour"),
                ("trend", tr.describe())]),
        "<h2>Rate per day</h2>", f'<img alt="twitches per judged hour per day" src="data:image/png;base64,{chart}">',
        "<p><small>Judged time is the time the detector could tell whether a twitch happened (rest or light "
        "activity); rates leave out the rest. Sessions stored without judged time count their time with "
        "data.</small></p>",
        "<h2>Since when</h2>",
        _table(since, ("rule", "first day met", "last day met", f"days met in these {days}", "days met in all"))
        if since else "<p>No rule was met in the history.</p>",
        "<h2>Every day</h2>",
        _table(day_rows, ("day", "sessions", "monitored (h)", "judged (h)", "twitches", "per judged hour",
                          "strongest (g)", "alerts raised")),
        "<p><small>Made by twitchsense from its history. Measurements, not a diagnosis.</small></p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_days_report(path: str | Path, con: sqlite3.Connection, days: int, until: str | None = None,
                      source: str = "") -> Path:
    """Write the report over many days (:func:`render_days_report`) to ``path``."""
    path = Path(path)
    path.write_text(render_days_report(con, days, until, source), encoding="utf-8")
    return path
