"""The web app in a real browser (headless Chromium) against real servers: home counts, the live page of
`replay --web` with the "felt one" button, a keyboard review, and the token and CSRF rules."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from web_helpers import (  # noqa: F401 (fixtures are used by name)
    browser, demo_folder, history, live_page_url, markers_in, serve, session_rows)
from twitchsense.io.recording import read_labels, read_recording, write_recording
from twitchsense.web.app import WebConfig
from twitchsense.web.security import Guard

pytestmark = pytest.mark.slow


def wait_for(driver, script: str, timeout: float = 20.0, *args):
    """Poll ``script`` (JavaScript returning a value) in the page until it is truthy."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def test_home_page_shows_the_seeded_counts(browser, history, serve):
    s = serve(WebConfig(db=history))
    browser.get(s.url + "/")
    assert browser.find_element("id", "n-sessions").text == "3"
    assert browser.find_element("id", "n-twitches").text == "37"
    assert session_rows(browser.page_source) == {"night-1": 30, "night-2": 0, "night-3": 7}
    assert wait_for(browser, "return document.querySelector('#trend canvas') !== null")
    browser.get(s.url + "/session/1")
    assert browser.find_element("id", "n-events").text == "30"
    assert wait_for(browser, "return document.querySelector('#events-chart canvas') !== null")
    assert browser.get_log("browser") == []  # no script error, no missing asset


def test_live_page_shows_twitches_within_2_s_confirms_them_and_records_a_felt_marker(browser, tmp_path, demo_folder):
    """The live page of a real ``replay`` (the detector, the one pipeline): a twitch shows as possible
    (provisional) within 2 s of happening, then in its place as confirmed or retracted (issue 17)."""
    rec = read_recording(demo_folder / "frequent-twitching.csv")
    keep = (rec.t >= 10.0) & (rec.t < 24.0)  # one twitch, 5.5 s into the stream
    rec.t, rec.acc, rec.labels = rec.t[keep], rec.acc[keep], rec.labels.iloc[0:0]
    write_recording(tmp_path / "short.csv", rec)
    db, out = tmp_path / "live.sqlite", tmp_path / "copy.csv"
    p = subprocess.Popen([sys.executable, "-m", "twitchsense", "replay", str(tmp_path / "short.csv"), "--speed", "1",
                          "--web", "0", "--quiet", "--db", str(db), "--record", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
    try:
        browser.get(live_page_url(p))
        loaded = time.time()
        wait_for(browser, "return document.body.dataset.firstWall")
        items = wait_for(browser, "const l = [...document.querySelectorAll('#events li.event')];"
                         "return l.length >= 1 ? l.map(e => [+e.dataset.onset, +e.dataset.seenWall, e.dataset.status])"
                         " : null", 40)
        t0, w0 = (float(browser.execute_script(f"return document.body.dataset.{k}")) for k in ("firstT", "firstWall"))
        late = [(onset, seen - (w0 + onset - t0), status) for onset, seen, status in items if w0 + onset - t0 > loaded]
        assert late, items
        assert all(0 <= lag <= 2.0 and status == "provisional" for _, lag, status in late), late
        verdict = wait_for(browser, "const e = [...document.querySelectorAll('#events li.event')]"
                           ".find(e => +e.dataset.onset === arguments[0]);"
                           "return e && e.dataset.status !== 'provisional' ? [e.dataset.status, Date.now() / 1000] : null",
                           20, late[0][0])
        assert verdict[0] in ("confirmed", "retracted")
        assert 3.0 <= verdict[1] - (w0 + late[0][0] - t0) <= 3.5 + 2.0  # 3 s after the twitch's end, page included
        assert wait_for(browser, "return document.querySelector('#trace canvas') && "
                        "!document.getElementById('felt').disabled")
        browser.find_element("id", "felt").click()
        info = wait_for(browser, "const t = document.getElementById('mark-info').textContent;"
                        "return t.startsWith('Marker recorded') ? t : null")
        marks = markers_in(db)
        assert len(marks) == 1 and marks[0][2] == "web", marks
        felt = read_labels(tmp_path / "copy.events.csv")
        assert list(felt["label"]) == ["felt"] and abs(felt["onset"][0] - marks[0][1]) < 1e-6
        assert "+" in info or "-" in info  # a local time with its offset
        assert wait_for(browser, "return document.querySelector('#events li.marker') !== null")
    finally:
        p.send_signal(signal.SIGINT)
        p.wait(timeout=20)


def test_keyboard_review_writes_the_expected_labels(browser, demo_folder, serve):
    labels = demo_folder / "frequent-twitching.events.csv"
    before = read_labels(labels)
    s = serve(WebConfig(recordings=[demo_folder]))
    browser.get(s.url + "/review/0/frequent-twitching.csv")
    wait_for(browser, "return document.body.dataset.shown === '0'", 60)
    cands = browser.execute_script("return fetch('/api/review/candidates/0/frequent-twitching.csv')"
                                   ".then(r => r.json())")["candidates"]
    body = browser.find_element("tag name", "body")
    from selenium.webdriver.common.keys import Keys
    for k in ("y", "n", "3", "s", "y", "u", "n", Keys.ARROW_LEFT):
        body.send_keys(k)
    wait_for(browser, "return document.body.dataset.saved === '6'")
    wait_for(browser, "return document.body.dataset.shown === '4'")  # back from 5 to 4
    assert "candidate 5 of" in browser.find_element("id", "counts").text
    after = read_labels(labels)
    got = after[after["note"] == "reviewed"]
    assert list(got["onset"]) == [cands[i]["onset"] for i in (0, 1, 2, 4)]
    assert list(got["label"]) == ["twitch", "not-twitch", "twitch", "not-twitch"]
    assert list(got["kind"].fillna("")) == [cands[0]["kind"], "", "fasciculation", ""]
    kept = after[after["note"] != "reviewed"].reset_index(drop=True)
    assert len(kept) == len(before) and list(kept["onset"]) == list(before["onset"])


def test_token_and_csrf_hold_in_the_browser(browser, demo_folder, serve):
    guarded = serve(WebConfig(recordings=[demo_folder], guard=Guard(token="browser-secret-1")))
    browser.delete_all_cookies()
    browser.get(guarded.url + "/review")
    assert "a token is needed" in browser.find_element("tag name", "body").text
    browser.get(guarded.url + "/review?token=browser-secret-1")
    assert browser.current_url == guarded.url + "/review"
    assert "frequent-twitching.csv" in browser.page_source
    post = ("return fetch(arguments[0], {method: 'POST', credentials: 'include', headers: {'content-type': "
            "'application/json', 'x-csrf-token': arguments[1]}, body: arguments[2]}).then(r => r.status)"
            ".catch(e => 'blocked: ' + e)")
    decide = "/api/review/decide/0/frequent-twitching.csv"
    body = json.dumps({"onset": 15.54, "duration": 0.03, "label": "twitch"})
    assert browser.execute_script(post, decide, "wrong", body) == 403
    before = (demo_folder / "frequent-twitching.events.csv").read_text()
    # another site in the same browser, knowing even the CSRF token, cannot change anything
    other = serve(WebConfig(recordings=[demo_folder]))
    browser.get(other.url + "/review")
    status = browser.execute_script(post, guarded.url + decide, guarded.config.guard.csrf, body)
    assert status != 200
    assert (demo_folder / "frequent-twitching.events.csv").read_text() == before
    browser.get(guarded.url + "/review")
    csrf = browser.execute_script("return TS.csrf()")
    assert browser.execute_script(post, decide, csrf, body) == 200
    assert "reviewed" in (demo_folder / "frequent-twitching.events.csv").read_text()


def test_live_page_confirms_and_retracts_provisional_twitches(browser, serve):
    """Events with a status and an id (as the real-life issue's detector emits them) change in place."""
    from twitchsense.types import SampleBlock, TwitchEvent
    from twitchsense.web.live import LiveHub

    hub = LiveHub(session="statuses", meta={"sample_rate_hz": 100.0})
    s = serve(WebConfig(hub=hub))
    browser.get(s.url + "/live")
    wait_for(browser, "return document.getElementById('status').textContent.includes('waiting')")
    t = np.arange(200) / 100.0
    hub.on_samples(SampleBlock(t, np.tile([0.0, 0.0, 1.0], (200, 1)), np.arange(200), np.full(200, -1)))

    def event(eid: int, onset: float, status: str):
        return TwitchEvent(onset=onset, duration=0.1, peak_g=0.08, confidence=0.9, kind="myoclonic", context="rest",
                           status=status, id=eid, reason="train" if status == "retracted" else "")
    statuses = "return [...document.querySelectorAll('#events li.event')].map(e => e.dataset.status).join(',')"
    hub.on_events([event(1, 0.5, "provisional")])
    wait_for(browser, statuses.replace("return ", "return (") + ") === 'provisional'")
    hub.on_events([event(1, 0.5, "confirmed"), event(2, 1.2, "provisional")])
    wait_for(browser, statuses.replace("return ", "return (") + ") === 'provisional,confirmed'")
    hub.on_events([event(2, 1.2, "retracted")])
    wait_for(browser, statuses.replace("return ", "return (") + ") === 'retracted,confirmed'")
    assert hub.status()["twitches"] == 1  # only the confirmed one counts
    assert wait_for(browser, "return document.getElementById('status').textContent.endsWith('· 1 twitch')")


def test_the_session_page_switches_the_model_and_shows_both_side_by_side(browser, demo_folder, serve, tmp_path, cli):
    from selenium.webdriver.support.ui import Select

    from twitchsense.detection.model import save_model
    from handmade import tiny_model

    db, models = tmp_path / "x.sqlite", tmp_path / "models"
    assert cli("replay", demo_folder / "frequent-twitching.csv", "--db", db, "--quiet").returncode == 0
    models.mkdir()
    save_model(tiny_model()[0], models / "mine.skops")
    s = serve(WebConfig(db=db, recordings=[demo_folder], models=models))
    browser.get("about:blank")  # an earlier test's live page stops reconnecting to its stopped server...
    browser.get_log("browser")  # ...and what earlier tests' pages logged is drained
    browser.get(s.url + "/session/1")
    recorded = int(browser.find_element("id", "n-events").text)
    assert browser.find_elements("id", "side") == []
    Select(browser.find_element("id", "model")).select_by_value("mine.skops")  # the page reloads with it
    wait_for(browser, "return location.search === '?model=mine.skops&compare='")
    mine = int(browser.find_element("id", "n-events").text)
    Select(browser.find_element("id", "compare")).select_by_value("shipped")
    wait_for(browser, "return document.querySelector('#side-chart canvas') !== null")
    assert browser.execute_script("return location.search") == "?model=mine.skops&compare=shipped"
    assert int(browser.find_element("id", "n-a").text) == mine == int(browser.find_element("id", "n-events").text)
    assert int(browser.find_element("id", "n-b").text) == recorded  # the shipped model ran live: same events
    side = browser.execute_script("return JSON.parse(document.getElementById('session-data').textContent).side")
    assert side["both"] + side["only_a"] == mine and side["both"] + side["only_b"] <= recorded
    assert browser.find_element("id", "agreement").text.endswith("%")
    assert mine != recorded or side["only_a"] + side["only_b"] > 0  # two different models: they differ somewhere
    assert browser.get_log("browser") == []
