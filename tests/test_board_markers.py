"""The board's marker button (MARK, protocol v1.1) end to end: it reaches the same marker path as the
web button and the ``m`` key: ``NAME.events.csv`` (``label=felt``), the history's ``markers`` table and
the live views. Real processes, a real pty, pyserial and a real SQLite file."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from twitchsense.acquisition.protocol.base import BoardInfo
from twitchsense.io.recording import labels_path, read_labels, read_recording
from twitchsense.io.sessionclock import SessionClock
from twitchsense.live.pipeline import Pipeline
from twitchsense.live.sinks.history import HistorySink
from twitchsense.live.sinks.terminal import TerminalSink
from twitchsense.stages import SourceItem
from twitchsense.types import Marker, SampleBlock
from twitchsense.web.live import LiveHub
from twitchsense.web.markers import MarkerSink

from conftest import ROOT, cli_env, run_cli

needs_pty = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs pseudo-terminals")


def markers_in(db) -> list[tuple[float, str]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT t, source FROM markers ORDER BY t").fetchall()
    finally:
        con.close()


class ScriptedSource:
    """A source of fixed items (what a serial board's supervisor yields), for the pipeline's side."""

    def __init__(self, items: list[SourceItem]) -> None:
        self.items, self.meta = items, {"start_time": "2026-05-04T10:00:00.000+02:00", "sample_rate_hz": 100.0}

    def __iter__(self):
        return iter(self.items)

    def close(self) -> None:
        pass


def block(t0: float, n: int = 100) -> SampleBlock:
    t = t0 + np.arange(n) / 100.0
    return SampleBlock(t, np.tile([0.0, 0.0, 1.0], (n, 1)), np.arange(n, dtype=np.int64), np.full(n, -1, np.int64))


def test_a_board_marker_takes_the_path_of_the_web_button(tmp_path):
    source = ScriptedSource([SourceItem(samples=block(0.0), info=BoardInfo(name="b", protocol_minor=1)),
                             SourceItem(samples=block(1.0), markers=[Marker(1.25, "board")]),
                             SourceItem(samples=block(2.0))])
    clock = SessionClock(meta=source.meta)
    history = HistorySink(tmp_path / "h.sqlite", source.meta, name="s")
    view, hub = TerminalSink(io.StringIO(), tty=False, clock=clock), LiveHub(clock, meta=source.meta)
    marker = MarkerSink(clock, labels_path(tmp_path / "rec.csv"), history, [view.on_marker, hub.on_marker])
    summary = Pipeline(source, sinks=[hub, marker, view, history]).run()
    assert summary.markers == 1
    felt = read_labels(tmp_path / "rec.events.csv")
    assert felt[["onset", "duration", "label", "note"]].values.tolist() == [[1.25, 0.0, "felt", "marker (board)"]]
    assert markers_in(tmp_path / "h.sqlite") == [(1.25, "board")]
    assert marker.markers == [Marker(1.25, "board", "2026-05-04T10:00:01.250+02:00")]
    assert view.n_markers == 1 and "marker: felt one (board)" in view.stream.getvalue()
    sent = [m for _, m in hub.messages if m.get("type") == "marker"]
    assert sent == [{"type": "marker", "t": 1.25, "source": "board", "time": "2026-05-04T10:00:01.250+02:00"}]


@needs_pty
def test_emulated_board_button_to_events_csv_and_history(tmp_path):
    """emulate-board --mark-every on a real pty -> stream --record: the presses at their times."""
    every, rate = 1.0, 100.0
    with open(tmp_path / "board.err", "w") as err:
        board = subprocess.Popen([sys.executable, "-m", "twitchsense", "emulate-board", "--simulate", "--rate",
                                  str(rate), "--link", str(tmp_path / "board"), "--mark-every", str(every),
                                  "--duration", "120"], stdout=subprocess.PIPE, stderr=err, text=True,
                                 env=cli_env(), cwd=ROOT)
    try:
        end = time.monotonic() + 60
        while not (tmp_path / "board").exists():
            assert board.poll() is None and time.monotonic() < end, (tmp_path / "board.err").read_text()
            time.sleep(0.05)
        db, out = tmp_path / "h.sqlite", tmp_path / "x.csv"
        r = run_cli("stream", "--port", tmp_path / "board", "--record", out, "--db", db, "--duration", 6,
                    "--quiet", timeout=120)
        assert r.returncode == 0, r.stderr + r.stdout
    finally:
        board.send_signal(signal.SIGINT)
        board_out = board.communicate(timeout=30)[0]
    assert board.returncode == 0 and "marks " in board_out
    rec = read_recording(out)
    assert rec.t[0] == pytest.approx(0.0, abs=1e-6)  # stream time 0 is the first sample after START
    felt = read_labels(labels_path(out))
    onsets = felt["onset"].to_numpy(float)
    n = len(onsets)
    # every press whose time had been streamed arrived (the last may be in flight when stream stops) ...
    assert n >= 3 and n >= int((rec.t[-1] - 0.2) / every)
    # ... at its time on the board's clock, well within a sample period (the file keeps microseconds)
    np.testing.assert_allclose(onsets, every * np.arange(1, n + 1), atol=0.1 / rate)
    assert set(felt["label"]) == {"felt"} and set(felt["note"]) == {"marker (board)"}
    hist = markers_in(db)
    assert [s for _, s in hist] == ["board"] * n
    np.testing.assert_allclose([t for t, _ in hist], onsets, atol=1e-9)
    assert f"{n} marker{'s' if n > 1 else ''} from the board" in r.stdout


@needs_pty
def test_record_keeps_the_board_markers_and_a_board_without_them_changes_nothing(tmp_path):
    from twitchsense.acquisition.emulator import BoardEmulator
    from twitchsense.acquisition.sources.synthetic import simulated_recording
    rec = simulated_recording(100.0, seconds=20.0, seed=3)
    for every in (0.8, None):
        link = tmp_path / f"board-{every}"
        with BoardEmulator(rec, rate_hz=100.0, link=link, mark_every_s=every, register=False) as emu:
            out = tmp_path / f"rec-{every}.csv"
            r = run_cli("record", "--port", link, "-o", out, "--duration", 3, "--quiet", timeout=60)
            assert r.returncode == 0, r.stderr + r.stdout
        if every is None:  # no MARK: no events file, and the summary line as before
            assert not labels_path(out).exists() and "marker" not in r.stdout
            assert emu.stats["marks"] == 0
            continue
        onsets = read_labels(labels_path(out))["onset"].to_numpy(float)
        assert len(onsets) >= 2 and emu.stats["marks"] >= len(onsets)
        np.testing.assert_allclose(onsets, every * np.arange(1, len(onsets) + 1), atol=1e-3)
