"""The options of the live commands (``replay``, ``stream``) for alerts, history and outputs, and the
alert engine and sinks they ask for."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..alerts import load_rules
from ..history import default_db_path


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
                        "beside the history database, one per --session; replay keeps no state unless given)")
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


def alerting_for(args: argparse.Namespace, source, name: str, live: bool, sinks: list | None = None):
    """The alert engine and the sinks the options ask for: ``(engine, sinks)``.

    Sinks get the source's live ``meta`` so the session's start time, known only
    after a board's first samples, dates everything. Each sink is appended to ``sinks``
    as soon as it exists (e.g. a pipeline's, which then closes it), so one that fails to
    open (an MQTT broker out of reach) leaves none of the others open.
    """
    import shlex
    import sys

    from ..alerts import AlertEngine
    from ..errors import TwitchsenseError
    from ..io.sessionclock import SessionClock
    from ..live.sinks.history import HistorySink
    from ..live.sinks.terminal import TerminalSink

    rules = load_rules(args.rules)
    meta = source.meta
    clock = SessionClock(meta=meta)
    session = args.session or str(meta.get("session") or name)
    history = not getattr(args, "no_history", False) if live else args.db is not None
    db = args.db or default_db_path()
    state = args.state
    if state is None and live:  # one per session: streams sharing a history keep their own alert state
        from ..live.sinks.mqtt import topic_part
        state = db.with_name(f"{db.stem}.alert-state.{topic_part(session)}.json")
    engine = AlertEngine(rules, state_path=state, meta=meta, clock=clock)
    out = sys.stderr if args.jsonl == "-" else sys.stdout
    view = terminal_view(args)
    sinks = [] if sinks is None else sinks
    sinks.append(TerminalSink(out, tty=view, clock=clock, session=session, show_events=not args.quiet,
                              show_link=False))
    sinks[-1].rate = engine.rate_against_range
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
