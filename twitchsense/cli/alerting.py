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
                   "lines to FILE (appended), or '-' for stdout (the terminal output then goes to stderr). "
                   "Events come twice, as in the live view: 'provisional' at once, then 'confirmed' or "
                   "'retracted' (with its reason) under the same id")
    g.add_argument("--provisional", action="store_true",
                   help="piped or redirected text output: print each possible twitch as it comes out "
                        "(about 0.5 s after it), as well as its verdict. Without it that output has one "
                        "line per twitch, its verdict: 'twitch' (confirmed, counted) or 'retracted (REASON)', "
                        "about 3 s after the twitch. The live view on a terminal always shows both")
    g.add_argument("--db", type=Path, metavar="FILE",
                   help=f"history database (default for stream: {default_db_path()}; replay stores "
                        "history only when --db is given, and a recording replayed again replaces its "
                        "earlier session). The days rules count the days the history holds")
    if live:
        g.add_argument("--no-history", action="store_true",
                       help="write nothing: no history and no alert state (unless --state names a file)")
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


def history_days(db: Path, rules) -> dict[str, set[int]] | None:
    """The days on which the history saw each rule named by a days rule raised (for the engine's
    ``known_days``), or None without a history yet."""
    from ..alerts.rules import DaysRule
    from ..history import connect, known_days
    names = [r.rule for r in rules.rules if isinstance(r, DaysRule)]
    if not names or not db.exists():
        return None
    con = connect(db)
    try:
        return known_days(con, names)
    finally:
        con.close()


def alerting_for(args: argparse.Namespace, source, name: str, live: bool, sinks: list | None = None,
                 recording: Path | None = None):
    """The alert engine and the sinks the options ask for: ``(engine, sinks)``.

    With a history, the engine counts the days the history already holds for the days rules (so
    ``replay --db`` and ``history`` agree without a state file), and a ``recording`` replayed into it
    replaces an earlier session of the same content. ``--no-history`` writes no file at all: no
    history, and no alert state unless ``--state`` names one.

    Sinks get the source's live ``meta`` so the session's start time, known only
    after a board's first samples, dates everything. Each sink is appended to ``sinks``
    as soon as it exists (e.g. a pipeline's, which then closes it), so one that fails to
    open (an MQTT broker out of reach) leaves none of the others open.
    """
    import shlex
    import sys

    from ..alerts import AlertEngine
    from ..errors import TwitchsenseError
    from ..history import fingerprint
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
    if state is None and live and history:  # one per session: streams sharing a history keep their own state
        from ..live.sinks.mqtt import topic_part
        state = db.with_name(f"{db.stem}.alert-state.{topic_part(session)}.json")
    engine = AlertEngine(rules, state_path=state, meta=meta, clock=clock,
                         known_days=history_days(db, rules) if history else None)
    out = sys.stderr if args.jsonl == "-" else sys.stdout
    view = terminal_view(args)
    sinks = [] if sinks is None else sinks
    sinks.append(TerminalSink(out, tty=view, clock=clock, session=session, show_events=not args.quiet,
                              show_link=False, show_provisional=getattr(args, "provisional", False)))
    sinks[-1].rate = engine.rate_against_range
    if args.jsonl:
        from ..live.sinks.jsonl import JsonLinesSink
        sinks.append(JsonLinesSink(args.jsonl, clock, session=session))
    if history:
        sinks.append(HistorySink(db, meta, name=session, source=name,
                                 fingerprint=fingerprint(recording) if recording is not None else None))
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


def history_sink(sinks: list):
    """The :class:`~twitchsense.live.sinks.history.HistorySink` among ``sinks``, or None."""
    from ..live.sinks.history import HistorySink
    return next((s for s in sinks if isinstance(s, HistorySink)), None)


def store_judged_time(sinks: list, detector) -> None:
    """Let the history sink (if any) store the detector's judged time with the session."""
    sink = history_sink(sinks)
    if sink is not None and detector is not None:
        sink.judged = detector.judged_seconds


def say_replaced(sinks: list, out) -> None:
    """One line per earlier session of the same recording that the history sink replaced."""
    sink = history_sink(sinks)
    for r in (sink.replaced if sink is not None else []):
        print(r.describe(sink.path), file=out, flush=True)
