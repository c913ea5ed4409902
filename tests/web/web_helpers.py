"""Helpers and fixtures of the web app's tests: a seeded history written by the real history sink, raw HTTP
requests, a real uvicorn server on a free loopback port, demo recordings in a temporary folder, and headless
Chromium (skipped with the reason when absent). Test modules import the fixtures they use by name (no
conftest.py here: it would shadow the suite's own for ``from conftest import ...``)."""

from __future__ import annotations

import http.client
import re
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from twitchsense.live.sinks.history import HistorySink
from twitchsense.types import Alert, SampleBlock, TwitchEvent

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "recordings" / "demo"

#: (start_time, seconds of data, twitches, alerts raised): three days, the second with none
SESSIONS = [("2026-03-02T08:00:00+01:00", 3600.0, 30, [("warning", "frequent")]),
            ("2026-03-03T21:30:00+01:00", 1800.0, 0, []),
            ("2026-03-05T10:00:00+01:00", 7200.0, 7, [("info", "twitching")])]


def block(t0: float, t1: float) -> SampleBlock:
    t = np.array([t0, t1])
    return SampleBlock(t, np.zeros((2, 3)), np.arange(2), np.full(2, -1))


def seed_history(path: Path, sessions=SESSIONS, name_prefix: str = "night") -> Path:
    """A real history database written by the real sink: sessions with known counts."""
    for i, (start, span, n, alerts) in enumerate(sessions):
        sink = HistorySink(path, {"start_time": start}, name=f"{name_prefix}-{i + 1}", source=f"{name_prefix}-{i + 1}")
        sink.on_samples(block(0.0, span))
        onsets = np.linspace(10.0, span - 10.0, n)
        sink.on_events([TwitchEvent(float(o), 0.1, 0.05 + 0.01 * (k % 7), 0.9, "myoclonic", "rest")
                        for k, o in enumerate(onsets)])
        for level, rule in alerts:
            sink.on_alerts([Alert(100.0, 100.0, level, rule, f"{n} twitches")])
        sink.close()
    return path


def markers_in(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT session_id, t, source FROM markers ORDER BY t").fetchall()
    finally:
        con.close()


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One raw HTTP request (no client-side path normalisation): ``(status, headers, text)``."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    h = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    out = r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode("utf-8", "replace")
    c.close()
    return out


def post_headers(server, csrf: str | None, origin: str | None = "same") -> dict:
    h = {"content-type": "application/json"}
    if csrf is not None:
        h["x-csrf-token"] = csrf
    if origin == "same":
        h["origin"] = f"http://127.0.0.1:{server.port}"
    elif origin:
        h["origin"] = origin
    return h


def session_rows(html: str) -> dict[str, int]:
    """Session name -> twitch count, as the home page lists them."""
    return {m[0]: int(m[1]) for m in re.findall(
        r'<a href="/session/\d+">([^<]+)</a>.*?<td class="num twitches">(\d+)</td>', html, re.S)}


def live_page_url(proc) -> str:
    """The live page's address, from the first lines ``stream/replay --web`` print on stderr."""
    seen = []
    for _ in range(20):
        line = proc.stderr.readline()
        seen.append(line)
        m = re.search(r"live page at (\S+)", line)
        if m:
            return m.group(1)
        if not line:
            break
    raise AssertionError(f"no live page address in: {seen}")


@pytest.fixture
def history(tmp_path) -> Path:
    return seed_history(tmp_path / "history.sqlite")


@pytest.fixture
def demo_folder(tmp_path) -> Path:
    """frequent-twitching (3 min at 100 Hz, with its labels) copied where the tests may write."""
    folder = tmp_path / "recs"
    folder.mkdir()
    for suffix in (".csv", ".json", ".events.csv"):
        shutil.copy(DEMO / f"frequent-twitching{suffix}", folder / f"frequent-twitching{suffix}")
    return folder


@pytest.fixture
def serve(request):
    """Start a real server for a WebConfig on a free loopback port: ``serve(config) -> WebServer``."""
    from twitchsense.web.server import WebServer
    servers = []

    def start(config, host: str = "127.0.0.1"):
        s = WebServer(config, host, 0).start()
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="session")
def browser():
    from twitchsense.web.headless import chromium, missing_reason
    why = missing_reason()
    if why:
        pytest.skip(f"no headless browser: {why}")
    driver = chromium(1100, 900)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
