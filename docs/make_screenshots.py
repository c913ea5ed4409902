"""Screenshots of every page of the web app, for docs/ and the README: rerun after a change to the pages.

    python docs/make_screenshots.py [--out docs/screenshots] [--only session-models.png ...]

Needs the extras 'web' and 'test' and Debian's chromium + chromium-driver. It builds a
history (120 days of synthetic daily use from benchmarks/web_app.py, then a real
`replay` of the demo frequent-twitching recording) and a small personal model, serves them,
replays the same recording with `--web` for the live page (taken once it shows a possible
twitch, confirmed and retracted ones and a "felt one" marker), and drives each page in headless
Chromium at desktop and phone width. ``--only`` takes just the screenshots named.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.web_app import year_history  # noqa: E402
from twitchsense.io.recording import read_recording, write_recording  # noqa: E402
from twitchsense.web.app import WebConfig  # noqa: E402
from twitchsense.web.headless import chromium, missing_reason  # noqa: E402
from twitchsense.web.server import WebServer  # noqa: E402

DEMO = ROOT / "recordings" / "demo" / "frequent-twitching"
PHONE = (390, 1300)


def twitchsense(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "twitchsense", *args], cwd=ROOT, text=True, **kw)


def wait(driver, script: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not driver.execute_script(script):
        if time.monotonic() > end:
            raise RuntimeError(f"page never got ready: {script}")
        time.sleep(0.1)


ONLY: set[str] = set()  # --only: just these screenshots (by file name)


def personal_model(folder: Path) -> None:
    """``folder/mine.skops``: a personal model of a simulated desk-work wearer whose every detection was
    reviewed (benchmarks/personal_model.py), on a small simulated recipe: for the session page's switch."""
    from benchmarks.personal_model import oracle_review, wearer
    from twitchsense.detection.model import default_model_path, load_model, save_model
    from twitchsense.detection.personal import reviewed_recording, train_personal
    from twitchsense.detection.training import simulated_sessions

    base = load_model(default_model_path())
    reviewed = [reviewed_recording(oracle_review(r, base)) for r in wearer("desk-work", 4, 12.0)]
    model, _ = train_personal(simulated_sessions(1, 2.0, [100.0], 0), reviewed, base, n_splits=3, trees=100,
                              progress=False)
    save_model(model, folder / "mine.skops")


def shoot(driver, url: str, out: Path, size: tuple[int, int], ready: str = "return true", keys: str = "") -> None:
    if ONLY and out.name not in ONLY:
        return
    driver.set_window_size(*size)
    driver.get(url)
    wait(driver, ready)
    for k in keys:
        driver.find_element("tag name", "body").send_keys(k)
        time.sleep(0.4)
    time.sleep(0.6)
    driver.save_screenshot(str(out))
    print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--only", nargs="+", default=[], metavar="NAME", help="just these screenshots, e.g. session-models.png")
    args = ap.parse_args()
    ONLY.update(args.only)
    why = missing_reason()
    if why:
        print(f"make_screenshots: {why}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="twitchsense-shots-") as d:
        tmp = Path(d)
        db, recs = tmp / "history.sqlite", tmp / "recordings"
        recs.mkdir()
        for suffix in (".csv", ".json", ".events.csv"):
            shutil.copy(f"{DEMO}{suffix}", recs / f"frequent-twitching{suffix}")
        year_history(db, days=120, first="2025-09-07")
        env = {**os.environ, "XDG_DATA_HOME": str(tmp)}
        twitchsense("replay", str(recs / "frequent-twitching.csv"), "--db", str(db), "--quiet",
                    "--jsonl", str(tmp / "replay.jsonl"), stdout=subprocess.DEVNULL, env=env).wait()
        first = next(e for e in map(json.loads, (tmp / "replay.jsonl").read_text().splitlines())
                     if e["type"] == "event" and e["status"] == "confirmed")
        with open(recs / "frequent-twitching.events.csv", "a", encoding="utf-8") as f:
            # a "felt one" marker just after the first detection, for the review page
            f.write(f"{first['onset'] + 0.2:.1f},0,felt\n")
        models = tmp / "models"
        models.mkdir()
        if not ONLY or "session-models.png" in ONLY:
            personal_model(models)
        server = WebServer(WebConfig(db=db, recordings=[recs], models=models), "127.0.0.1", 0).start()
        driver = chromium(1200, 900)
        try:
            last = server.url + "/session/121"
            shoot(driver, server.url + "/", args.out / "home.png", (1200, 1500),
                  "return document.querySelector('#trend canvas')")
            shoot(driver, server.url + "/", args.out / "home-phone.png", PHONE,
                  "return document.querySelector('#trend canvas')")
            shoot(driver, last, args.out / "session.png", (1200, 1700),
                  "return document.querySelector('#events-chart canvas')")
            shoot(driver, last + "?model=mine.skops&compare=shipped", args.out / "session-models.png", (1200, 1250),
                  "return document.querySelector('#side-chart canvas')")
            review = server.url + "/review/0/frequent-twitching.csv"
            shoot(driver, review, args.out / "review.png", (1200, 900), "return document.body.dataset.shown", "yn")
            shoot(driver, review, args.out / "review-phone.png", PHONE, "return document.body.dataset.shown")
            if ONLY and not ONLY & {"live.png", "live-phone.png"}:
                return 0
            # live: the demo from minute 0:40 replayed in real time, the page open while it runs
            rec = read_recording(recs / "frequent-twitching.csv")
            keep = (rec.t >= 44.0) & (rec.t < 100.0)
            rec.t, rec.acc, rec.labels = rec.t[keep], rec.acc[keep], rec.labels.iloc[0:0]
            write_recording(tmp / "live.csv", rec)
            p = twitchsense("replay", str(tmp / "live.csv"), "--speed", "1", "--web", "0", "--quiet",
                            "--db", str(tmp / "live.sqlite"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env)
            try:
                url = next(m.group(1) for m in (re.search(r"live page at (\S+)", p.stderr.readline())
                                                  for _ in range(20)) if m)
                driver.set_window_size(1200, 1150)
                driver.get(url)
                # every state a twitch goes through on the page: a verdict of each kind, a "felt one"
                # marker, then a possible twitch still waiting for its verdict (about 3 s) at the top
                wait(driver, "return document.querySelector('#events li.event.retracted')"
                             " && document.querySelectorAll('#events li.event.confirmed').length >= 2", 120)
                driver.find_element("id", "felt").click()
                possible = "return document.querySelector('#events li.event.provisional')"
                wait(driver, possible, 60)
                time.sleep(0.5)  # the trace's next frame
                driver.save_screenshot(str(args.out / "live.png"))
                print(args.out / "live.png")
                driver.set_window_size(*PHONE)
                wait(driver, possible, 60)
                time.sleep(0.5)
                driver.save_screenshot(str(args.out / "live-phone.png"))
                print(args.out / "live-phone.png")
            finally:
                p.send_signal(signal.SIGINT)
                p.wait(timeout=20)
        finally:
            driver.quit()
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
