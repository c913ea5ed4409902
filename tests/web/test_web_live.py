"""The live commands' web and marker options in real processes: `stream --web` serves the live stream,
and the `m` key of the terminal live view (a real pseudo-terminal) records a "felt one" marker."""

from __future__ import annotations

import http.client
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

from web_helpers import DEMO, live_page_url, markers_in
from twitchsense.io.recording import read_labels, read_recording, write_recording


def test_stream_web_serves_the_live_stream(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "twitchsense", "stream", "--simulate", "--rate", "100",
                          "--duration", "20", "--web", "0", "--no-history", "--quiet"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "XDG_DATA_HOME": str(tmp_path)})
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/live", live_page_url(p)).group(1))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("GET", "/live")
        page = c.getresponse()
        assert page.status == 200 and b'id="felt"' in page.read()
        c.request("GET", "/live/stream")
        r = c.getresponse()
        assert r.getheader("content-type").startswith("text/event-stream")
        seen = b""
        end = time.monotonic() + 15
        while b'"type":"trace"' not in seen and time.monotonic() < end:
            seen += r.fp.readline()
        assert b'"type":"trace"' in seen and b'"type":"status"' in seen
        c.close()
    finally:
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=20) == 0


def test_the_m_key_marks_a_felt_twitch_in_the_terminal_view(tmp_path):
    rec = read_recording(DEMO / "frequent-twitching.csv")
    keep = rec.t < 8.0
    rec.t, rec.acc, rec.labels = rec.t[keep], rec.acc[keep], rec.labels.iloc[0:0]
    write_recording(tmp_path / "short.csv", rec)
    db = tmp_path / "h.sqlite"
    leader, follower = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "twitchsense", "replay", str(tmp_path / "short.csv"), "--speed", "1",
                          "--db", str(db), "--record", str(tmp_path / "copy.csv")],
                         stdin=follower, stdout=follower, stderr=subprocess.PIPE,
                         env={**os.environ, "XDG_DATA_HOME": str(tmp_path), "TERM": "xterm"})
    os.close(follower)
    screen = b""
    try:
        end = time.monotonic() + 30
        while b"press m when you feel a twitch" not in screen and time.monotonic() < end:
            if select.select([leader], [], [], 0.2)[0]:
                screen += os.read(leader, 65536)
        assert b"felt markers: 0" in screen
        time.sleep(2.0)
        os.write(leader, b"m")
        while b"felt markers: 1" not in screen and time.monotonic() < end:
            if select.select([leader], [], [], 0.2)[0]:
                screen += os.read(leader, 65536)
        assert b"felt markers: 1" in screen
        assert p.wait(timeout=30) == 0
    finally:
        if p.poll() is None:
            p.kill()
        os.close(leader)
    marks = markers_in(db)
    assert len(marks) == 1 and marks[0][2] == "key" and 1.5 < marks[0][1] < 8.0
    felt = read_labels(tmp_path / "copy.events.csv")
    assert list(felt["label"]) == ["felt"] and abs(felt["onset"][0] - marks[0][1]) < 1e-6
