"""``detect``, ``train`` and ``evaluate``: the twitch detector."""

from __future__ import annotations

import argparse

from .common import add_planned


def register(sub: argparse._SubParsersAction) -> None:
    add_planned(sub, "detect", "find twitch events in recordings (writes NAME.detected.csv, NAME.alerts.csv)",
                "twitchsense detect recordings/demo -o out/", 6, "the detector and its shipped model")
    add_planned(sub, "train", "train a detector from labelled recordings",
                "twitchsense train recordings/demo ../shared/data -o models/mine.skops", 6, "training")
    add_planned(sub, "evaluate", "score a detector on labelled recordings (event-level F1, false alarms/h)",
                "twitchsense evaluate recordings/demo --model models/default.skops", 6, "evaluation")
