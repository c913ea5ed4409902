"""An outside user's hostile run of the commands: each case failed (a traceback, an internal error, a wrong
message or a silent wrong answer) before its fix."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from twitchsense.io.recording import Recording, write_recording

from conftest import make_samples


def recording(folder, name: str = "rec", n: int = 3000, meta: dict | None = None):
    t, acc = make_samples(n)
    p = folder / f"{name}.csv"
    write_recording(p, Recording(t=t, acc=acc, meta=meta or {}))
    return p


def test_ctrl_c_while_a_recording_is_read_stops_the_command_and_blames_no_file(tmp_path, run_main, monkeypatch):
    # A real SIGINT that lands while pandas' C parser reads came out as "could not be parsed as CSV": a good
    # file named bad, and a batch that went on with the next file, exit 1 instead of 130.
    import tqdm

    first, second = recording(tmp_path, "first"), recording(tmp_path, "second")
    update = tqdm.tqdm.update
    sent = []

    def update_then_ctrl_c(self, n=1):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # handled at the parser's next call into Python
        return update(self, n)

    monkeypatch.setattr(tqdm.tqdm, "update", update_then_ctrl_c)
    rc, out, err = run_main("detect", first, second, "-o", tmp_path / "out")
    assert rc == 130
    assert err.strip() == "twitchsense detect: interrupted"
    assert "second" not in out
