"""The ``twitchsense`` command line: one sub-command per job, each with ``--help`` and an example.

Each module in this package registers its commands; errors a user can act on
(:class:`~twitchsense.errors.TwitchsenseError`) print one line to stderr and exit 1,
usage errors exit 2, and a bug prints one line too (``--debug`` shows the traceback). A
:class:`~twitchsense.errors.TwitchsenseWarning` prints one line to stderr and the command goes on.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Sequence

from .. import __version__
from ..dependencies import check_scikit_learn
from ..errors import TwitchsenseError, TwitchsenseWarning, describe_os_error


def command_modules() -> tuple:
    """The command modules, in the order their commands appear in ``--help``. Imported here, not at the top:
    they bring in numpy and scipy, and a Ctrl-C during that start-up is then the command's, one line."""
    from . import acquire, detection, files, history, report, rules, simulation, web

    return (files, simulation, detection, acquire, history, report, rules, web)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twitchsense",
        description="Detect muscle twitches in wearable accelerometer data: live from a sensor "
                    "board, from recorded sessions, and with detectors you train yourself.",
        epilog="example:\n  twitchsense replay recordings/demo/frequent-twitching.csv\n\n"
               "Run 'twitchsense COMMAND --help' for the options and an example of each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"twitchsense {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for module in command_modules():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twitchsense`` console script; returns the exit code."""
    try:
        parser = build_parser()
    except KeyboardInterrupt:
        print("twitchsense: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    show = warnings.showwarning

    def one_line(message, category, *rest) -> None:  # our warnings: one line each, no source location
        if issubclass(category, TwitchsenseWarning):
            print(f"twitchsense {args.command}: warning: {message}", file=sys.stderr)
        else:
            show(message, category, *rest)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", TwitchsenseWarning)
            warnings.showwarning = one_line
            check_scikit_learn()
            return int(args.func(args) or 0)
    except TwitchsenseError as exc:
        print(f"twitchsense {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"twitchsense {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, not a traceback, unless --debug
        if isinstance(exc, OSError) and exc.filename is not None:  # a file or folder: unwritable, missing...
            print(f"twitchsense {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
            return 1
        if args.debug:
            raise
        print(f"twitchsense {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(run with --debug for the traceback and please report it)", file=sys.stderr)
        return 1
