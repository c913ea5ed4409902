"""``serve``: the local web app; and ``--web`` of ``stream``/``replay``, which runs it beside the pipeline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import TwitchsenseError
from ..history import check_history, default_db_path
from .alerting import history_sink
from .common import add_command

DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(
        sub, "serve", "a local web app: history calendar, sessions, review of detections",
        "twitchsense replay recordings/demo/frequent-twitching.csv --db my.sqlite\n"
        "twitchsense serve --db my.sqlite --recordings recordings/demo\n"
        "twitchsense serve --db my.sqlite --recordings recordings/demo --models models   # switch to your own model\n"
        "twitchsense serve --host 0.0.0.0 --token my-long-secret   # reachable from the phone, token needed",
        description="Serve the history (a calendar of days coloured by twitch rate, the trend over weeks, "
                    "every session with its twitches and alerts) and the review of recordings' detections "
                    "in a browser. Binds 127.0.0.1 unless --host says otherwise; any other host needs a "
                    "token (given with --token, or printed at start). Needs the extra 'web'.")
    p.add_argument("--db", type=Path, default=None, help=f"history database (default: {default_db_path()})")
    p.add_argument("--recordings", type=Path, action="append", default=[], metavar="DIR",
                   help="folder of recordings to review and to find sessions' recordings in (repeatable)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--token", default=None, help="access token (required off loopback; default: a random one)")
    p.add_argument("--model", type=Path, help="model for recordings without NAME.detected.csv (default: the shipped one)")
    p.add_argument("--models", type=Path, metavar="DIR",
                   help="folder of your own models (NAME.skops, e.g. from 'train --base default'): the session page "
                        "can switch a session's detections to one of them and show it beside another")
    p.set_defaults(func=run_serve)


def add_web_options(p: argparse.ArgumentParser) -> None:
    """``--web [PORT]`` (and its host and token) for ``stream``/``replay``."""
    g = p.add_argument_group("web page")
    g.add_argument("--web", type=int, nargs="?", const=DEFAULT_PORT, default=None, metavar="PORT",
                   help=f"show the live page at http://127.0.0.1:PORT/live (default port {DEFAULT_PORT}; 0 picks "
                        "a free one); needs the extra 'web'")
    g.add_argument("--web-host", default="127.0.0.1", help="address of the live page (default 127.0.0.1)")
    g.add_argument("--web-token", default=None, help="access token of the live page (required off loopback)")


def _config(db: Path | None, recordings: list[Path], host: str, token: str | None, model: Path | None = None,
            hub=None, models: Path | None = None):
    from ..web import require_web
    require_web()
    from ..web.app import WebConfig
    from ..web.security import Guard
    for d in recordings:
        if not d.is_dir():
            raise TwitchsenseError(f"--recordings {d}: not a folder")
    if models is not None and not models.is_dir():
        raise TwitchsenseError(f"--models {models}: not a folder")
    return WebConfig(db=db, recordings=list(recordings), hub=hub, guard=Guard.for_host(host, token), model=model,
                     models=models)


def run_serve(args: argparse.Namespace) -> int:
    from ..web.server import WebServer
    db = args.db or default_db_path()
    if args.db is not None and not db.exists():
        raise TwitchsenseError(f"{db}: no history there (run 'twitchsense replay REC.csv --db {db}' first)")
    if db.exists():
        check_history(db)
    config = _config(db if db.exists() else None, args.recordings, args.host, args.token, args.model,
                     models=args.models)
    server = WebServer(config, args.host, args.port)
    print(f"serve: history {db if config.db else '(none yet)'}"
          + (f", recordings {', '.join(map(str, args.recordings))}" if args.recordings else ""), flush=True)
    print(f"serve: open {server.url_with_token('/')}  (Ctrl-C stops)", flush=True)
    server.run()
    return 0


class LiveWeb:
    """The web page of a live run: a hub sink, a marker sink, the server thread and the terminal's ``m`` key."""

    def __init__(self, sinks: list, server=None, keys=None) -> None:
        self.sinks = sinks
        self.server = server
        self.keys = keys

    def close(self) -> None:
        if self.keys is not None:
            self.keys.close()

    def stop(self) -> None:
        self.close()
        if self.server is not None:
            self.server.stop()


def live_web(args: argparse.Namespace, source, session: str, sinks: list, terminal: bool) -> LiveWeb:
    """Sinks for markers (and the live page with ``--web``), given the run's other ``sinks``.

    Markers are recorded when there is somewhere to put them: the recording being
    written (``--record``: ``NAME.events.csv``) or the history. The terminal's ``m``
    key marks in the live view; the page's button with ``--web``.
    """
    from ..io.recording import labels_path
    from ..io.sessionclock import SessionClock
    from ..live.sinks.terminal import TerminalSink
    from ..web.markers import MarkerSink, TerminalKeys

    clock = SessionClock(meta=source.meta)
    history = history_sink(sinks)
    record = getattr(args, "record", None)
    view = next((s for s in sinks if isinstance(s, TerminalSink)), None)
    listeners = [view.on_marker] if view is not None and hasattr(view, "on_marker") else []
    marker = None
    if record is not None or history is not None:
        marker = MarkerSink(clock, labels_path(record) if record is not None else None, history, listeners)
    out: list = [marker] if marker is not None else []
    server = keys = None
    if getattr(args, "web", None) is not None:
        from ..web.live import LiveHub
        from ..web.server import WebServer
        hub = LiveHub(clock, session=session, meta=source.meta)
        hub.marker = marker
        hub.rate = getattr(view, "rate", None)  # the alert engine's rate against the healthy range
        if marker is not None:
            marker.listeners.append(hub.on_marker)
        server = WebServer(_config(None, [], args.web_host, args.web_token, hub=hub), args.web_host, args.web)
        server.start()
        print(f"web: live page at {server.url_with_token('/live')}", file=sys.stderr, flush=True)
        out.insert(0, hub)
    if terminal and marker is not None and TerminalKeys.available():
        keys = TerminalKeys({"m": lambda: marker.press("key")}).start()
        if view is not None:
            view.mark_key = True
    return LiveWeb(out, server, keys)
