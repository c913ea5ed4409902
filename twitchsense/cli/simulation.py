"""``simulate``: labelled recordings from the physiological simulator."""

from __future__ import annotations

import argparse

from .common import add_planned


def register(sub: argparse._SubParsersAction) -> None:
    add_planned(sub, "simulate", "write labelled recordings from the physiological simulator",
                "twitchsense simulate out/ --minutes 5 --seed 1 --profile frequent-twitching",
                5, "the physiological simulator")
