"""The command-line skeleton: every contract command has --help with an example; exit codes."""

from __future__ import annotations

import pytest

from twitchsense import __version__
from twitchsense.cli import build_parser

CONTRACT_COMMANDS = ["detect", "simulate", "train", "evaluate", "replay", "stream", "record", "ports",
                     "emulate-board", "report", "import", "history"]


def test_top_level_help_lists_every_command(cli):
    res = cli("--help")
    assert res.returncode == 0
    for name in CONTRACT_COMMANDS:
        assert name in res.stdout


@pytest.mark.parametrize("name", CONTRACT_COMMANDS)
def test_each_command_has_help_with_an_example(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[name]
    text = sub.format_help()
    assert "example:" in text and f"twitchsense {name}" in text


def test_version_and_usage_errors(cli):
    res = cli("--version")
    assert res.returncode == 0 and __version__ in res.stdout
    res = cli("no-such-command")
    assert res.returncode == 2 and "invalid choice" in res.stderr
    res = cli("import")
    assert res.returncode == 2 and "required" in res.stderr
    res = cli()
    assert res.returncode == 2


def test_replay_runs_on_a_bundled_recording(cli):
    res = cli("replay", "recordings/real-wrist/s01_01_sw.csv")
    assert res.returncode == 0, res.stderr
    assert "1371 samples" in res.stdout
