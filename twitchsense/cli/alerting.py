"""``history``: per-day counts, rates and the multi-day alert rules' state."""

from __future__ import annotations

import argparse

from .common import add_planned


def register(sub: argparse._SubParsersAction) -> None:
    add_planned(sub, "history", "per-day twitch counts, rates, strengths and multi-day alert state",
                "twitchsense history --days 14", 7, "the event history")
