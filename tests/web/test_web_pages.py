"""What the pages and their JSON say, against a real server (no browser): home counts and rate basis,
session, review decisions in NAME.events.csv, markers, the live hub's decimation, `evaluate` and `serve`."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd

from web_helpers import (  # noqa: F401 (fixtures are used by name)
    block, demo_folder, history, markers_in, post_headers, request, seed_history, serve,
    session_rows)
from twitchsense.io.recording import read_labels
from twitchsense.live.sinks.history import HistorySink
from twitchsense.types import SampleBlock
from twitchsense.web.app import WebConfig
from twitchsense.web.live import DISPLAY_HZ, LiveHub
from twitchsense.web.markers import MarkerSink, marker_agreement


def test_home_counts_every_session_and_says_which_hours(history, serve):
    s = serve(WebConfig(db=history))
    status, _, html = request(s, "GET", "/")
    assert status == 200
    assert re.search(r'id="n-sessions">3<', html) and re.search(r'id="n-twitches">37<', html)
    assert session_rows(html) == {"night-1": 30, "night-2": 0, "night-3": 7}
    assert "per hour with data (this history records no judged time)" in html
    assert 'data-day="2026-03-02"' in html and "30 twitches in 1.0 h = 30.0 /h" in html
    assert "2026-03-03: 0 twitches in 30 min = 0.0 /h" in html
    assert "2026-03-04: no data" in html
    assert re.search(r"<td>frequent</td><td>2026-03-02</td>", html)  # since when
    assert "2026-03-02 08:00 +01:00" in html  # local time with the UTC offset


def test_home_uses_judged_time_when_the_history_has_it(history, serve):
    con = sqlite3.connect(history)
    con.execute("UPDATE sessions SET judged_s = 900 WHERE name = 'night-1'")  # 15 judged minutes of 60
    con.execute("UPDATE sessions SET judged_s = last_t - first_t WHERE name != 'night-1'")
    con.commit()
    con.close()
    s = serve(WebConfig(db=history))
    html = request(s, "GET", "/")[2]
    assert "per judged hour" in html and "no judged time" not in html
    assert "30 twitches in 15 min = 120.0 /h" in html


def test_the_session_page_always_shows_the_rate_and_says_when_there_is_no_healthy_range(history, serve):
    """The rate against the healthy range is the report's and the live view's wording (one function):
    the rate is shown with or without a range for the placement and with or without judged time."""
    from twitchsense.alerts.reference import against_range, reference_range

    s = serve(WebConfig(db=history))
    healthy = re.search(r'id="vs-healthy">([^<]+)<', request(s, "GET", "/session/1")[2]).group(1)
    assert healthy.startswith("30/h with data") and "the recording does not say where the sensor was worn" in healthy
    con = sqlite3.connect(history)
    con.execute("UPDATE sessions SET judged_s = 900, meta = ? WHERE name = 'night-1'", (json.dumps({"placement": "left ankle"}),))
    con.execute("UPDATE sessions SET judged_s = 1800, meta = ? WHERE name = 'night-3'", (json.dumps({"placement": "waist"}),))
    con.commit()
    con.close()
    html = request(s, "GET", "/session/1")[2]
    healthy = re.search(r'id="vs-healthy">([^<]+)<', html).group(1)
    assert healthy.startswith("120/judged h") and "no healthy range for the ankle" in healthy
    assert healthy == against_range(120.0, "left ankle").replace("'", "&#39;")
    healthy = re.search(r'id="vs-healthy">([^<]+)<', request(s, "GET", "/session/3")[2]).group(1)
    assert healthy.startswith("14/judged h: ") and f"healthy waist p50 ({reference_range('waist').p50:.0f}" in healthy


def test_a_fresh_replay_shows_at_once(tmp_path, demo_folder, serve, cli):
    db = tmp_path / "x.sqlite"
    r = cli("replay", str(demo_folder / "frequent-twitching.csv"), "--db", str(db), "--quiet")
    assert r.returncode == 0, r.stderr
    n = int(re.search(r", (\d+) twitch(?:es)?, \d+ alert change", r.stdout).group(1))
    s = serve(WebConfig(db=db))
    html = request(s, "GET", "/")[2]
    session = json.loads((demo_folder / "frequent-twitching.json").read_text())["session"]
    assert session_rows(html) == {session: n}
    page = request(s, "GET", "/session/1")[2]
    assert f'id="n-events">{n}<' in page and "twitching" in page


def test_session_page_and_report(tmp_path, demo_folder, serve, cli):
    db = tmp_path / "x.sqlite"
    assert cli("replay", str(demo_folder / "frequent-twitching.csv"), "--db", str(db), "--quiet").returncode == 0
    s = serve(WebConfig(db=db))
    page = request(s, "GET", "/session/1")[2]
    assert "Context spans are not in the history" in page and "/session/1/report" not in page
    healthy = re.search(r'id="vs-healthy">([^<]+)<', page).group(1)  # the rate against the healthy range, or why not
    assert "healthy" in healthy
    assert request(s, "GET", "/session/1/report")[0] == 404
    s2 = serve(WebConfig(db=db, recordings=[demo_folder]))
    page = request(s2, "GET", "/session/1")[2]
    data = json.loads(re.search(r'id="session-data">(.*?)</script>', page, re.S).group(1))
    assert {c["state"] for c in data["context"]} <= {"rest", "light", "active"} and data["context"]
    status, _, report = request(s2, "GET", "/session/1/report")
    assert status == 200 and "Twitch report: frequent-twitching" in report


def test_review_decisions_go_to_the_labels_file_and_keep_the_others(demo_folder, serve):
    labels = demo_folder / "frequent-twitching.events.csv"
    before = read_labels(labels)
    s = serve(WebConfig(recordings=[demo_folder]))
    cands = json.loads(request(s, "GET", "/api/review/candidates/0/frequent-twitching.csv")[2])
    dets = [c for c in cands["candidates"] if c["type"] == "detection"]
    assert len(dets) >= 5 and all(c["decision"] is None for c in dets)
    h = post_headers(s, s.config.guard.csrf)
    path = "/api/review/decide/0/frequent-twitching.csv"
    a, b = dets[0], dets[1]
    for body in ({"onset": a["onset"], "duration": a["duration"], "label": "twitch", "kind": "tic", "peak_g": 0.06},
                 {"onset": b["onset"], "duration": b["duration"], "label": "not-twitch", "kind": ""},
                 {"onset": a["onset"], "duration": a["duration"], "label": "twitch", "kind": "fasciculation"}):
        assert request(s, "POST", path, json.dumps(body).encode(), h)[0] == 200
    after = read_labels(labels)
    reviewed = after[after["note"] == "reviewed"].sort_values("onset")
    assert list(reviewed["label"]) == ["twitch", "not-twitch"]  # the second answer on a replaced the first
    assert list(reviewed["kind"].fillna("")) == ["fasciculation", ""]
    assert np.allclose(reviewed["onset"], [a["onset"], b["onset"]])
    kept = after[after["note"] != "reviewed"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept[list(before.columns)], before.reset_index(drop=True), check_dtype=False)
    cands = json.loads(request(s, "GET", "/api/review/candidates/0/frequent-twitching.csv")[2])
    decided = {c["onset"]: c["decision"] for c in cands["candidates"] if c["decision"]}
    assert decided == {a["onset"]: {"label": "twitch", "kind": "fasciculation"},
                       b["onset"]: {"label": "not-twitch", "kind": ""}}
    # undo: the decision's row goes, the others stay
    assert request(s, "POST", path, json.dumps({"onset": b["onset"], "label": None}).encode(), h)[0] == 200
    assert list(read_labels(labels).query("note == 'reviewed'")["label"]) == ["twitch"]
    assert not [p for p in demo_folder.iterdir() if p.name.endswith(".tmp")]
    wave = json.loads(request(s, "GET", f"/api/review/wave/0/frequent-twitching.csv?t={a['onset']}")[2])
    assert len(wave["t"]) == 600 and min(wave["t"]) >= -3.0 and max(wave["t"]) < 3.0  # +-3 s at 100 Hz
    assert {len(wave[k]) for k in "xyzm"} == {600}


def marker_times(folder) -> tuple[float, float]:
    """Two marker times for the demo recording: 0.3 s after its first detection with no other within 4 s,
    and the middle of its longest stretch without a detection (more than 2 s from every one)."""
    from twitchsense.detection.engine import detect_recording
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.io.recording import read_recording

    rec = read_recording(folder / "frequent-twitching.csv", labels=False)
    onsets = np.array([e.onset for e in detect_recording(rec, load_model(default_model_path())).events])
    edges = np.concatenate([[rec.t[0]], onsets, [rec.t[-1]]])
    i = int(np.argmax(np.diff(edges)))
    assert edges[i + 1] - edges[i] > 5.0
    alone = next(o for o in onsets if np.sum(np.abs(onsets - o) <= 4.0) == 1)
    return round(float(alone) + 0.3, 2), round(float(edges[i] + edges[i + 1]) / 2, 2)


def test_markers_are_candidates_with_their_nearest_detection(demo_folder, serve):
    labels = demo_folder / "frequent-twitching.events.csv"
    table = read_labels(labels)
    near, far = marker_times(demo_folder)
    extra = pd.DataFrame([{"onset": near, "duration": 0.0, "label": "felt"},
                          {"onset": far, "duration": 0.0, "label": "felt"}])
    pd.concat([table, extra]).to_csv(labels, index=False)
    s = serve(WebConfig(recordings=[demo_folder]))
    cands = json.loads(request(s, "GET", "/api/review/candidates/0/frequent-twitching.csv")[2])
    marks = sorted((c for c in cands["candidates"] if c["type"] == "marker"), key=lambda m: m["marker_t"] != near)
    assert [m["marker_t"] for m in marks] == [near, far]
    assert marks[0]["nearest"]["onset"] == marks[0]["onset"] and abs(marks[0]["nearest"]["offset_s"]) <= 2
    assert marks[1]["nearest"] is None and marks[1]["onset"] == far
    n_det = sum(c["type"] == "detection" for c in cands["candidates"])
    assert cands["markers"] == {"markers": 2, "with_detection": 1, "detections": n_det,
                                "without_marker": n_det - 1, "within_s": 2.0}


def test_marker_agreement_counts():
    a = marker_agreement([10.0, 50.0, 99.0], [11.5, 48.0, 70.0], [11.6, 48.1, 70.1])
    assert a == {"markers": 3, "with_detection": 2, "detections": 3, "without_marker": 1, "within_s": 2.0}
    assert marker_agreement([], [1.0])["without_marker"] == 1


def test_marker_sink_writes_the_labels_file_and_the_history(tmp_path):
    db = tmp_path / "h.sqlite"
    hist = HistorySink(db, {"start_time": "2026-03-02T08:00:00+01:00"}, name="live")
    seen = []
    sink = MarkerSink(labels_path=tmp_path / "rec.events.csv", history=hist, listeners=[seen.append])
    assert sink.press("web") is None  # no stream time yet
    sink.on_samples(block(0.0, 5.0))
    m1 = sink.press("web")  # the history has no session row yet: kept until it has
    hist.on_samples(block(5.0, 6.0))
    sink.on_samples(block(5.0, 12.5))
    m2 = sink.press("key")
    sink.close()
    hist.close()
    assert (m1.t, m2.t) == (5.0, 12.5) and seen == [m1, m2]
    lab = read_labels(tmp_path / "rec.events.csv")
    assert list(lab["label"]) == ["felt", "felt"] and list(lab["onset"]) == [5.0, 12.5]
    assert markers_in(db) == [(1, 5.0, "web"), (1, 12.5, "key")]


def test_live_hub_decimates_a_1000_hz_stream_and_keeps_spikes():
    hub = LiveHub(meta={"sample_rate_hz": 1000.0})
    t = np.arange(5000) / 1000.0
    acc = np.tile([0.0, 0.0, 1.0], (5000, 1))
    acc[2500, 0] = 0.8  # a 1 ms spike
    for i in range(0, 5000, 250):
        hub.on_samples(SampleBlock(t[i:i + 250], acc[i:i + 250], np.arange(250), np.full(250, -1)))
    seq, trace, _ = hub.since(-1)
    assert len(trace["t"]) <= 2 * DISPLAY_HZ * 5 + 2
    assert max(trace["x"]) == 0.8
    seq2, trace2, _ = hub.since(seq)
    assert trace2 is None and seq2 == seq


def test_evaluate_reports_the_markers(demo_folder, cli):
    labels = demo_folder / "frequent-twitching.events.csv"
    table = read_labels(labels)
    near, far = marker_times(demo_folder)
    pd.concat([table, pd.DataFrame([{"onset": near, "duration": 0.0, "label": "felt"},
                                    {"onset": far, "duration": 0.0, "label": "felt"}])]).to_csv(labels, index=False)
    r = cli("evaluate", str(demo_folder), "--no-baseline")
    assert r.returncode == 0, r.stderr
    m = re.search(r"markers \(felt\): 2, 1 with a detection within 2 s; detections without a marker: (\d+) of (\d+)",
                  r.stdout)
    assert m and int(m.group(1)) == int(m.group(2)) - 1, r.stdout
    r = cli("evaluate", str(demo_folder), "--no-baseline", "--json")
    assert json.loads(r.stdout)["markers"]["with_detection"] == 1


def test_serve_errors_and_token(tmp_path, cli):
    r = cli("serve", "--db", str(tmp_path / "none.sqlite"))
    assert r.returncode == 1 and "no history there" in r.stderr and "Traceback" not in r.stderr
    r = cli("serve", "--recordings", str(tmp_path / "nope"), "--db", str(seed_history(tmp_path / "h.sqlite")))
    assert r.returncode == 1 and "not a folder" in r.stderr
    p = subprocess.Popen([sys.executable, "-m", "twitchsense", "serve", "--db", str(tmp_path / "h.sqlite"),
                          "--host", "0.0.0.0", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
    try:
        lines = [p.stdout.readline(), p.stdout.readline()]
        url = re.search(r"open (http://\S+)", lines[1]).group(1)
        assert re.search(r"\?token=[\w-]{16,}$", url), lines
    finally:
        p.terminate()
        p.wait(timeout=10)


def test_the_web_app_reads_a_history_whose_name_holds_a_hash(tmp_path, serve):
    # "hist #1.sqlite" went into an SQLite URI as it was: '#' cut the name and every page was a 500
    import shutil

    db = tmp_path / "my hist é #1?.sqlite"
    shutil.move(seed_history(tmp_path / "seeded.sqlite"), db)
    status, _, html = request(serve(WebConfig(db=db)), "GET", "/")
    assert status == 200 and 'id="n-sessions">3<' in html
