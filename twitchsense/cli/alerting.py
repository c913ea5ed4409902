"""``history``: per-day counts, rates, strengths and the multi-day alert rules' state."""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

from ..alerts import load_rules
from ..alerts.rules import DaysRule
from ..history import connect, daily_summary, days_met, default_db_path


def register(sub: argparse._SubParsersAction) -> None:
    p = add_history(sub)
    p.set_defaults(func=run_history)


def add_history(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from .common import add_command
    p = add_command(sub, "history", "per-day twitch counts, rates, strengths and multi-day alert state",
                    "twitchsense history --days 14\ntwitchsense history --db night.sqlite --days 7",
                    description="Per-day twitch counts, monitored hours, rates, strengths and alerts "
                                "from the history database, and the state of the multi-day rules "
                                "(e.g. 'frequent' on 3 of the last 7 days). Measurements, not a diagnosis.")
    p.add_argument("--db", type=Path, default=None,
                   help=f"the history database (default: {default_db_path()})")
    p.add_argument("--days", type=int, default=14, help="how many days to show (default 14)")
    p.add_argument("--until", default=None, metavar="YYYY-MM-DD",
                   help="last day shown (default: the latest day with data)")
    p.add_argument("--rules", type=Path, default=None,
                   help="rule file whose multi-day rules are judged (default: the shipped rules)")
    return p


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f} g"


def run_history(args: argparse.Namespace) -> int:
    from ..errors import TwitchsenseError
    if args.days < 1:
        raise TwitchsenseError(f"--days must be 1 or more, got {args.days}")
    if args.until is not None:
        try:
            date.fromisoformat(args.until)
        except ValueError:
            raise TwitchsenseError(f"--until must be a date like 2026-03-01, got '{args.until}'") from None
    rules = load_rules(args.rules)
    db = args.db or default_db_path()
    con = connect(db, create=False)
    rows = daily_summary(con, args.days, args.until)
    print(f"history: {db}")
    print(f"{'day':<12}{'sessions':>9}{'monitored':>11}{'twitches':>10}{'rate/h':>9}{'rate/min':>10}"
          f"{'mean peak':>11}{'max peak':>10}  alerts raised")
    for r in rows:
        rate = r.rate_per_hour
        alerts = ", ".join(f"{n} {lvl}" for lvl, n in sorted(r.alerts.items())) if r.alerts else "-"
        mon = f"{r.monitored_s / 3600:.1f} h" if r.monitored_s else "-"
        print(f"{r.day:<12}{r.sessions:>9}{mon:>11}{r.twitches:>10}"
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
    con.close()
    print("Measurements, not a diagnosis: take this table to a doctor if twitching is frequent, strong "
          "or lasts for days.")
    return 0


# ---- the alert stage and sinks of the live commands (replay, stream) ---------------------------
def add_alert_options(p: argparse.ArgumentParser, live: bool) -> None:
    """Options of ``replay``/``stream`` for the alert engine, the history and the sinks."""
    g = p.add_argument_group("alerts, history and outputs")
    g.add_argument("--rules", type=Path, metavar="FILE",
                   help="alert rule file (default: the shipped default_rules.toml)")
    g.add_argument("--jsonl", metavar="FILE", help="write events, alert changes and link events as JSON "
                   "lines to FILE (appended), or '-' for stdout (the terminal output then goes to stderr)")
    g.add_argument("--db", type=Path, metavar="FILE",
                   help=f"history database (default for stream: {default_db_path()}; replay stores "
                        "history only when --db is given)")
    if live:
        g.add_argument("--no-history", action="store_true", help="do not store this session in the history")
    g.add_argument("--state", type=Path, metavar="FILE",
                   help="alert state file, so a restart continues where it stopped (default for stream: "
                        "beside the history database; replay keeps no state unless given)")
    g.add_argument("--mqtt", metavar="HOST[:PORT]", help="publish events and alerts to this MQTT broker "
                   "(needs the extra 'mqtt'; user and password from TWITCHSENSE_MQTT_USER/_PASSWORD)")
    g.add_argument("--mqtt-prefix", default="twitchsense", metavar="PREFIX",
                   help="MQTT topic prefix (default twitchsense): PREFIX/SESSION/events, /alerts, /alert/RULE")
    g.add_argument("--on-alert", metavar="COMMAND",
                   help="run COMMAND for every announced alert (split into arguments like a shell would, "
                        "but never run by one); {level}, {rule}, {detail}, {guidance} are filled in and "
                        "TWITCHSENSE_LEVEL, _RULE, _DETAIL... are set")
    g.add_argument("--session", metavar="NAME", help="session name in the history and MQTT topics "
                   "(default: the recording's name, or 'live')")


def terminal_view(args: argparse.Namespace) -> bool:
    """True when the one-screen live view takes the terminal (stdout a TTY, not --quiet, no --jsonl -)."""
    import sys
    return sys.stdout.isatty() and not getattr(args, "quiet", False) and getattr(args, "jsonl", None) != "-"


def alerting_for(args: argparse.Namespace, source, name: str, live: bool):
    """The alert engine and the sinks the options ask for: ``(engine, sinks)``.

    Sinks get the source's live ``meta`` so the session's start time, known only
    after a board's first samples, dates everything.
    """
    import shlex
    import sys

    from ..alerts import AlertEngine
    from ..errors import TwitchsenseError
    from ..history import HistorySink
    from ..io.sessionclock import SessionClock
    from ..live.sinks.terminal import TerminalSink

    rules = load_rules(args.rules)
    meta = source.meta
    clock = SessionClock(meta=meta)
    session = args.session or str(meta.get("session") or name)
    history = not getattr(args, "no_history", False) if live else args.db is not None
    db = args.db or default_db_path()
    state = args.state
    if state is None and live:
        state = db.with_name(db.stem + ".alert-state.json")
    engine = AlertEngine(rules, state_path=state, meta=meta, clock=clock)
    out = sys.stderr if args.jsonl == "-" else sys.stdout
    view = terminal_view(args)
    sinks: list = [TerminalSink(out, tty=view, clock=clock, session=session, show_events=not args.quiet,
                                show_link=False)]
    if args.jsonl:
        from ..live.sinks.jsonl import JsonLinesSink
        sinks.append(JsonLinesSink(args.jsonl, clock, session=session))
    if history:
        sinks.append(HistorySink(db, meta, name=session, source=name))
    if args.on_alert:
        from ..live.sinks.command import CommandSink
        try:
            argv = shlex.split(args.on_alert)
        except ValueError as exc:
            raise TwitchsenseError(f"--on-alert: cannot split the command into arguments ({exc})") from None
        sinks.append(CommandSink(argv, clock, session=session))
    if args.mqtt:
        import os

        from ..live.sinks.mqtt import MqttSink, parse_broker
        host, port = parse_broker(args.mqtt)
        sinks.append(MqttSink(host, port, prefix=args.mqtt_prefix, session=session, clock=clock,
                              username=os.environ.get("TWITCHSENSE_MQTT_USER"),
                              password=os.environ.get("TWITCHSENSE_MQTT_PASSWORD")))
    return engine, sinks
