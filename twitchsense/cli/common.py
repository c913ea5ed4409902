"""Pieces every command module uses: parser construction with examples, and planned commands."""

from __future__ import annotations

import argparse
import sys


def add_command(sub: argparse._SubParsersAction, name: str, help: str, example: str,
                description: str | None = None) -> argparse.ArgumentParser:
    """Add a sub-command whose ``--help`` ends with a worked example."""
    return sub.add_parser(
        name, help=help, description=description or help,
        epilog="example:\n" + "\n".join("  " + line for line in example.strip().splitlines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_planned(sub: argparse._SubParsersAction, name: str, help: str, example: str,
                issue: int, what: str) -> argparse.ArgumentParser:
    """A command whose work arrives with a later issue: it says so instead of pretending."""
    p = add_command(sub, name, help + f" [not built yet: issue #{issue}]", example,
                    description=f"{help}\n\nNot built yet: {what} arrives with issue #{issue}.")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        print(f"twitchsense {name}: not built yet: {what} arrives with issue #{issue}.",
              file=sys.stderr)
        return 1

    p.set_defaults(func=run)
    return p
