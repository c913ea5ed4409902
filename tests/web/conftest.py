"""Fixtures of the web app's tests: a seeded history, a real uvicorn server on a free loopback port,
demo recordings in a temporary folder, and headless Chromium (skipped with the reason when absent)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from web_helpers import DEMO, seed_history


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
