"""``history``: per-day counts, rates, strengths and the multi-day alert rules' state."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from ..alerts import load_rules
from ..alerts.rules import DaysRule
from ..errors import TwitchsenseError
from ..history import connect, daily_summary, days_met, default_db_path, export_days
from .common import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_history(sub)
    p.set_defaults(func=run_history)


def add_history(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = add_command(sub, "history", "per-day twitch counts, rates, strengths and multi-day alert state",
                    "twitchsense history --days 14\ntwitchsense history --db night.sqlite --days 7\n"
                    "twitchsense history --db history.sqlite --days 30 --export history.csv",
                    description="Per-day twitch counts, monitored and judged hours, rates per judged hour, strengths and alerts "
                                "from the history database, and the state of the multi-day rules "
                                "(e.g. 'frequent' on 3 of the last 7 days). Measurements, not a diagnosis.")
    p.add_argument("--db", type=Path, default=None,
                   help=f"the history database (default: {default_db_path()})")
    p.add_argument("--days", type=int, default=14, help="how many days to show (default 14)")
    p.add_argument("--until", default=None, metavar="YYYY-MM-DD",
                   help="last day shown (default: the latest day with data)")
    p.add_argument("--export", type=Path, default=None, metavar="FILE.csv",
                   help="also write the days shown to a CSV file (one row per day)")
    p.add_argument("--rules", type=Path, default=None,
                   help="rule file whose multi-day rules are judged (default: the shipped rules)")
    return p


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} g"


def check_days(days: int, until: str | None) -> None:
    """``--days`` and ``--until`` of the commands that read days from the history, or one clear error."""
    if days < 1:
        raise TwitchsenseError(f"--days must be 1 or more, got {days}")
    if until is not None:
        try:
            date.fromisoformat(until)
        except ValueError:
            raise TwitchsenseError(f"--until must be a date like 2026-03-01, got '{until}'") from None


def run_history(args: argparse.Namespace) -> int:
    check_days(args.days, args.until)
    rules = load_rules(args.rules)
    db = args.db or default_db_path()
    con = connect(db, create=False)
    rows = daily_summary(con, args.days, args.until)
    print(f"history: {db} (rates per judged hour: the time the detector could judge)")
    print(f"{'day':<12}{'sessions':>9}{'monitored':>11}{'judged':>9}{'twitches':>10}{'rate/h':>9}{'rate/min':>10}"
          f"{'mean peak':>11}{'max peak':>10}  alerts raised")
    for r in rows:
        rate = r.rate_per_hour
        alerts = ", ".join(f"{n} {lvl}" for lvl, n in sorted(r.alerts.items())) if r.alerts else "-"
        mon = f"{r.monitored_s / 3600:.1f} h" if r.monitored_s else "-"
        judged = f"{r.judged_s / 3600:.1f} h" if r.monitored_s else "-"
        print(f"{r.day:<12}{r.sessions:>9}{mon:>11}{judged:>9}{r.twitches:>10}"
              f"{'-' if rate is None else f'{rate:.1f}':>9}{'-' if rate is None else f'{rate / 60:.2f}':>10}"
              f"{_g(r.mean_peak_g):>11}{_g(r.max_peak_g):>10}  {alerts}")
    multi = [r for r in rules.rules if isinstance(r, DaysRule)]
    if multi:
        end = date.fromisoformat(rows[-1].day)
        print("multi-day rules (days on which the named rule's condition held):")
        for r in multi:
            met = days_met(con, r.rule)
            window = {(end - timedelta(days=i)).isoformat() for i in range(r.of_days)}
            n = len(met & window)
            state = "MET" if n >= r.min_days else "not met"
            print(f"  {r.name}: '{r.rule}' on {n} of the last {r.of_days} days to {end} "
                  f"(threshold {r.min_days}): {state} [{r.level}]")
    if args.export is not None:
        try:
            n = export_days(con, args.export, args.days, args.until)
        except OSError as exc:
            raise TwitchsenseError(f"--export {args.export}: cannot write ({exc.strerror or exc})") from None
        print(f"history: {n} days written to {args.export}")
    con.close()
    print("Measurements, not a diagnosis: take this table to a doctor if twitching is frequent, strong "
          "or lasts for days.")
    return 0
