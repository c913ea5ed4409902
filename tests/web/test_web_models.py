"""The Session page's model switch (issue 19): the shipped model and the .skops of --models, run on the
session's recording through the trusted loader, side by side with counts and agreement; names outside
the listing get 404, a file that is no trusted model 422."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from web_helpers import DEMO, request, serve  # noqa: F401 (fixtures are used by name)
from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import default_model_path, load_model, save_model
from twitchsense.io.recording import read_recording
from twitchsense.web.app import WebConfig
from twitchsense.web.models import agreement

from handmade import tiny_model


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A history of the demo's frequent-twitching replayed, its recording, and a models folder with one
    model (``mine.skops``): made once for the module."""
    from conftest import run_cli

    tmp = tmp_path_factory.mktemp("models-page")
    recs, models = tmp / "recs", tmp / "models"
    recs.mkdir()
    models.mkdir()
    for suffix in (".csv", ".json", ".events.csv"):
        shutil.copy(DEMO / f"frequent-twitching{suffix}", recs / f"frequent-twitching{suffix}")
    db = tmp / "x.sqlite"
    assert run_cli("replay", recs / "frequent-twitching.csv", "--db", db, "--quiet").returncode == 0
    save_model(tiny_model()[0], models / "mine.skops")
    return db, recs, models


def page_data(html: str) -> dict:
    return json.loads(re.search(r'id="session-data">(.*?)</script>', html, re.S).group(1))


def test_the_session_page_switches_to_a_model_of_the_folder_and_shows_both(folders, serve):
    session_db, demo_folder, models = folders
    s = serve(WebConfig(db=session_db, recordings=[demo_folder], models=models))
    recorded = page_data(request(s, "GET", "/session/1")[2])["events"]
    status, _, html = request(s, "GET", "/session/1?model=mine.skops&compare=shipped")
    assert status == 200, html
    rec = read_recording(demo_folder / "frequent-twitching.csv", labels=False)
    mine = detect_recording(rec, load_model(models / "mine.skops")).events
    shipped = detect_recording(rec, load_model(default_model_path())).events
    data = page_data(html)
    assert [e["onset"] for e in data["events"]] == [e.onset for e in mine]
    assert f'id="n-events">{len(mine)}<' in html and "As recorded live" in html
    side = data["side"]
    assert len(side["a"]["events"]) == len(mine) and len(side["b"]["events"]) == len(shipped)
    assert len(shipped) == len(recorded)  # batch == streaming: the shipped model ran live
    assert side["both"] + side["only_a"] == len(mine) and side["b"]["events"] and side["only_b"] <= len(shipped)
    assert f'id="only-a">{side["only_a"]}<' in html and 'id="agreement">' in html
    assert '<option value="mine.skops" selected>' in html


def test_agreement_matches_with_the_scoring_rules_collar():
    a = [{"onset": 1.0, "duration": 0.2}, {"onset": 5.0, "duration": 0.2}]
    b = [{"onset": 1.35, "duration": 0.1}, {"onset": 9.0, "duration": 0.2}, {"onset": 9.1, "duration": 0.2}]
    ag = agreement(a, b)
    assert (ag["both"], ag["only_a"], ag["only_b"]) == (1, 1, 2) and ag["agreement"] == pytest.approx(0.25)
    assert agreement([], [])["agreement"] is None and agreement(a, [])["only_a"] == 2


@pytest.mark.parametrize("query", ["model=../models/mine.skops", "model=nope.skops", "compare=%2Fetc%2Fpasswd",
                                   "model=mine.card.json"])
def test_model_names_outside_the_folders_listing_get_404(folders, serve, query):
    session_db, demo_folder, models = folders
    s = serve(WebConfig(db=session_db, recordings=[demo_folder], models=models))
    assert request(s, "GET", f"/session/1?{query}")[0] == 404


def test_a_file_that_is_no_trusted_model_is_refused(folders, serve, tmp_path):
    session_db, demo_folder, _ = folders
    models = tmp_path / "models"
    models.mkdir()
    (models / "fake.skops").write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: no skops schema
    s = serve(WebConfig(db=session_db, recordings=[demo_folder], models=models))
    status, _, html = request(s, "GET", "/session/1?model=fake.skops")
    assert status == 422 and "not a skops model file" in html


def test_switching_needs_the_recording(folders, serve):
    session_db, _, models = folders
    s = serve(WebConfig(db=session_db, models=models))
    html = request(s, "GET", "/session/1")[2]
    assert "Switching the model needs the session's recording" in html and 'id="model-form"' not in html
    assert request(s, "GET", "/session/1?model=shipped")[0] == 404


def test_the_switch_is_a_get_behind_the_token(folders, serve):
    from twitchsense.web.security import Guard

    session_db, demo_folder, models = folders
    s = serve(WebConfig(db=session_db, recordings=[demo_folder], models=models, guard=Guard(token="models-secret")))
    assert request(s, "GET", "/session/1?model=mine.skops")[0] == 401
    assert request(s, "GET", "/session/1?model=mine.skops", headers={"authorization": "Bearer models-secret"})[0] == 200
    assert request(s, "POST", "/session/1?model=mine.skops",
                   headers={"authorization": "Bearer models-secret"})[0] == 403  # no CSRF token: nothing changes
