"""``rules``: show the shipped alert rules, copy them for editing, check a rule file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..alerts import default_rules_path, load_rules
from ..errors import TwitchsenseError
from .common import add_command


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "rules", "show, copy or check alert rule files",
                    "twitchsense rules --show\n"
                    "twitchsense rules --copy my-rules.toml     # then edit it\n"
                    "twitchsense rules --check my-rules.toml\n"
                    "twitchsense replay recordings/demo/frequent-twitching.csv --rules my-rules.toml",
                    description="The alert rules shipped with the package live inside it (after a pip "
                                "install, in site-packages): --show prints them, --copy writes them to a "
                                "file for editing, --check validates a rule file (every rule named, one "
                                "line per problem) and lists its rules.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--show", action="store_true", help="print the shipped rule file")
    what.add_argument("--copy", type=Path, metavar="FILE", help="write the shipped rule file to FILE for editing")
    what.add_argument("--check", type=Path, metavar="FILE", help="validate FILE and list its rules")
    p.add_argument("--force", action="store_true", help="--copy: overwrite FILE if it exists")
    p.set_defaults(func=run_rules)


def run_rules(args: argparse.Namespace) -> int:
    shipped = default_rules_path()
    if args.show:
        sys.stdout.write(shipped.read_text(encoding="utf-8"))
        return 0
    if args.copy is not None:
        if args.copy.exists() and not args.force:
            raise TwitchsenseError(f"--copy {args.copy}: the file exists (choose another name, or --force)")
        try:
            args.copy.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
        except OSError as exc:
            raise TwitchsenseError(f"--copy {args.copy}: cannot write ({exc.strerror or exc})") from None
        print(f"rules: the shipped rules written to {args.copy}; edit it, check it with "
              f"'twitchsense rules --check {args.copy}', use it with --rules {args.copy}")
        return 0
    rules = load_rules(args.check)  # a RuleError names the file, the rule and the problem
    print(f"{args.check}: {len(rules.rules)} rules, valid (hold {rules.hold_s / 60:g} min, "
          f"cool-down {rules.cooldown_s / 60:g} min)")
    for r in rules.rules:
        print(f"  {r.name}: {r.kind}, {r.level}")
    return 0
