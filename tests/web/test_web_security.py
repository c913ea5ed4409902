"""The web app's guards against a real server: token (401), CSRF and same origin on POST, allowed
methods and hosts, paths that leave the configured folders (404), validated inputs, parameterised SQL."""

from __future__ import annotations

import json
import sqlite3

import pytest

from web_helpers import (  # noqa: F401 (fixtures are used by name)
    demo_folder, history, post_headers, request, seed_history, serve)
from twitchsense.web.app import WebConfig
from twitchsense.web.security import Guard, inside


def test_loopback_needs_no_token_but_other_hosts_get_one(history, serve):
    s = serve(WebConfig(db=history))
    assert request(s, "GET", "/")[0] == 200
    g = Guard.for_host("0.0.0.0", None)
    assert g.token and len(g.token) >= 16
    assert Guard.for_host("127.0.0.1", None).token is None
    with pytest.raises(Exception, match="at least 8"):
        Guard.for_host("0.0.0.0", "short")


def test_requests_without_the_token_get_401(history, serve):
    s = serve(WebConfig(db=history, guard=Guard(host="127.0.0.1", token="secret-token-123")))
    assert request(s, "GET", "/")[0] == 401
    assert request(s, "GET", "/static/app.css")[0] == 401
    assert request(s, "GET", "/?token=wrong-token-456")[0] == 401
    assert request(s, "GET", "/", headers={"cookie": "twitchsense_token=wrong"})[0] == 401
    status, headers, _ = request(s, "GET", "/session/1?token=secret-token-123")
    assert status == 303 and headers["location"] == "/session/1"
    cookie = headers["set-cookie"].split(";")[0]
    assert "HttpOnly" in headers["set-cookie"] and "SameSite=Strict" in headers["set-cookie"]
    assert request(s, "GET", "/", headers={"cookie": cookie})[0] == 200
    assert request(s, "GET", "/", headers={"authorization": "Bearer secret-token-123"})[0] == 200


def test_post_needs_the_csrf_token_and_the_same_origin(demo_folder, serve):
    s = serve(WebConfig(recordings=[demo_folder]))
    path = "/api/review/decide/0/frequent-twitching.csv"
    body = json.dumps({"onset": 15.54, "duration": 0.03, "label": "twitch", "kind": ""}).encode()
    csrf = s.config.guard.csrf
    assert request(s, "POST", path, body, post_headers(s, None))[0] == 403
    assert request(s, "POST", path, body, post_headers(s, "forged"))[0] == 403
    assert request(s, "POST", path, body, post_headers(s, csrf, "http://evil.example"))[0] == 403
    assert request(s, "POST", path, body, post_headers(s, csrf, None))[0] == 403  # neither Origin nor Referer
    assert not (demo_folder / "frequent-twitching.events.csv").read_text().count("reviewed")
    assert request(s, "POST", path, body, post_headers(s, csrf))[0] == 200
    assert "reviewed" in (demo_folder / "frequent-twitching.events.csv").read_text()
    # a GET never changes state, other methods are refused
    assert request(s, "GET", path)[0] == 405
    assert request(s, "PUT", path, body, post_headers(s, csrf))[0] == 405
    assert request(s, "DELETE", path, None, post_headers(s, csrf))[0] == 405


def test_loopback_server_refuses_foreign_host_headers(history, serve):
    s = serve(WebConfig(db=history))
    assert request(s, "GET", "/", headers={"Host": "attacker.example"})[0] == 400
    assert request(s, "GET", "/", headers={"Host": f"localhost:{s.port}"})[0] == 200


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/..%2Fapp.py", "/static/%2e%2e/security.py",
    "/review/0/../../../etc/passwd.csv", "/api/review/candidates/0/../frequent-twitching.csv",
    "/api/review/candidates/0/..%2F..%2Fetc%2Fpasswd.csv", "/api/review/candidates/0//etc/passwd.csv",
    "/api/review/candidates/5/frequent-twitching.csv", "/api/review/candidates/x/frequent-twitching.csv",
    "/api/review/candidates/0/frequent-twitching.events.csv", "/session/abc", "/session/99",
])
def test_paths_outside_the_configured_folders_get_404(demo_folder, history, serve, path):
    s = serve(WebConfig(db=history, recordings=[demo_folder]))
    status, _, text = request(s, "GET", path)
    assert status == 404, (path, status, text[:200])
    assert "root:" not in text


def test_inside_keeps_to_the_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "r.csv").write_text("t,ax,ay,az\n")
    (tmp_path / "secret.csv").write_text("x")
    (tmp_path / "a" / "link.csv").symlink_to(tmp_path / "secret.csv")
    assert inside(tmp_path / "a", "r.csv") == (tmp_path / "a" / "r.csv").resolve()
    for bad in ("../secret.csv", "/etc/passwd", "link.csv", "", "x/../../secret.csv"):
        assert inside(tmp_path / "a", bad) is None, bad


@pytest.mark.parametrize("body,status", [
    ({"onset": 15.54, "label": "bogus"}, 422),
    ({"onset": "15.54", "label": "twitch"}, 422),
    ({"onset": 1e9, "label": "twitch"}, 422),
    ({"onset": 15.54, "label": "twitch", "kind": "<script>"}, 422),
    ({"onset": 15.54, "duration": -1, "label": "twitch"}, 422),
    ([1, 2], 422),
])
def test_decisions_are_validated(demo_folder, serve, body, status):
    s = serve(WebConfig(recordings=[demo_folder]))
    before = (demo_folder / "frequent-twitching.events.csv").read_text()
    got = request(s, "POST", "/api/review/decide/0/frequent-twitching.csv", json.dumps(body).encode(),
                  post_headers(s, s.config.guard.csrf))
    assert got[0] == status, got
    assert (demo_folder / "frequent-twitching.events.csv").read_text() == before


def test_bodies_must_be_small_json(demo_folder, serve):
    s = serve(WebConfig(recordings=[demo_folder]))
    path = "/api/review/decide/0/frequent-twitching.csv"
    h = post_headers(s, s.config.guard.csrf)
    assert request(s, "POST", path, b"onset=1", {**h, "content-type": "application/x-www-form-urlencoded"})[0] == 415
    assert request(s, "POST", path, b"{" + b" " * 10000 + b"}", h)[0] == 413
    assert request(s, "POST", path, b"{not json", h)[0] == 422
    assert request(s, "GET", "/api/review/wave/0/frequent-twitching.csv?t=abc")[0] == 422


def test_names_with_sql_are_stored_and_shown_as_text(tmp_path, serve):
    evil = "x'); DROP TABLE events; --<b>"
    db = seed_history(tmp_path / "h.sqlite", name_prefix=evil)
    s = serve(WebConfig(db=db))
    status, _, text = request(s, "GET", "/")
    assert status == 200
    assert "x&#39;); DROP TABLE events; --&lt;b&gt;-1" in text
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 37
    con.close()
