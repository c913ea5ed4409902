"""``report``: a picture-rich report of a session for the wearer and a doctor."""

from __future__ import annotations

import argparse

from .common import add_planned


def register(sub: argparse._SubParsersAction) -> None:
    add_planned(sub, "report", "a picture-rich report of a session for the wearer and a doctor",
                "twitchsense report out/session.detected.csv -o report.html", 7, "the session report")
