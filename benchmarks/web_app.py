"""The web app's targets (issue #19), measured:

- live: CPU of the pipeline's process at 100 Hz in real time, without and with the live page
  (hub sink + server thread + a page connected in headless Chromium); at 1000 Hz, whether the page
  keeps up (how far its trace lags the stream, points per second it receives);
- home: load time of the home page of a history of one year of daily use (server time of GET /,
  and the browser's time to the load event);
- review: 100 candidates reviewed with the keyboard in the browser, no page reload between them
  (time the tool takes per candidate, so a reviewer's time is their own).

    python -m benchmarks.web_app [--mode quick|full|smoke] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECONDS = {"full": 60.0, "quick": 15.0, "smoke": 3.0}


def year_history(path: Path, days: int = 365, hours_per_day: float = 16.0, rate_per_hour: float = 20.0,
                 seed: int = 0, first: str = "2025-03-01") -> dict:
    """A history of ``days`` days of daily use written by the real history sink (one session a day)."""
    from datetime import date, timedelta

    from twitchsense.live.sinks.history import HistorySink
    from twitchsense.types import Alert, SampleBlock, TwitchEvent

    rng = np.random.default_rng(seed)
    first = date.fromisoformat(first)
    n_events = 0
    for d in range(days):
        day = first + timedelta(days=d)
        span = hours_per_day * 3600.0
        sink = HistorySink(path, {"start_time": f"{day.isoformat()}T07:00:00+01:00", "placement": "wrist"},
                           name=f"day-{day.isoformat()}", source=f"day-{day.isoformat()}", commit_interval_s=60)
        sink.on_samples(SampleBlock(np.array([0.0, span]), np.zeros((2, 3)), np.arange(2), np.full(2, -1)))
        level = rate_per_hour * (1.5 + np.sin(2 * np.pi * d / 90.0))  # slow weekly drift
        n = int(rng.poisson(level * hours_per_day))
        onsets = np.sort(rng.uniform(0.0, span, n))
        kinds = rng.choice(["myoclonic", "fasciculation", "tic", "hypnic"], n)
        sink.on_events([TwitchEvent(float(o), 0.1, float(p), 0.95, str(k), "rest")
                        for o, p, k in zip(onsets, rng.lognormal(-2.5, 0.6, n), kinds)])
        if level > 1.8 * rate_per_hour:
            sink.on_alerts([Alert(3600.0, 3600.0, "warning", "frequent", f"{n} twitches")])
        sink.close()
        n_events += n
    return {"days": days, "sessions": days, "events": n_events}


def get(port: int, path: str) -> tuple[int, bytes]:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def browser_or_none():
    from twitchsense.web.headless import chromium, missing_reason
    why = missing_reason()
    return (None, why) if why else (chromium(1100, 900), None)


def bench_home(tmp: Path, days: int) -> dict:
    from twitchsense.web.app import WebConfig
    from twitchsense.web.server import WebServer
    db = tmp / "year.sqlite"
    t0 = time.perf_counter()
    facts = year_history(db, days)
    seed_s = time.perf_counter() - t0
    server = WebServer(WebConfig(db=db), "127.0.0.1", 0).start()
    try:
        get(server.port, "/")  # warm: imports, templates
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            status, body = get(server.port, "/")
            times.append(time.perf_counter() - t0)
            assert status == 200 and f'id="n-sessions">{facts["sessions"]}<'.encode() in body
        out = {"what": f"home page, {days} days of daily use", **facts, "seed_s": round(seed_s, 1),
               "server_s_median": round(statistics.median(times), 3), "server_s_max": round(max(times), 3),
               "html_kb": round(len(body) / 1024, 1)}
        driver, why = browser_or_none()
        if driver is None:
            out["browser_note"] = f"browser load not measured: {why}"
        else:
            try:
                loads = []
                for _ in range(3):
                    driver.get(server.url + "/")
                    loads.append(driver.execute_script(
                        "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd / 1000;"))
                out["browser_load_s_median"] = round(statistics.median(loads), 3)
            finally:
                driver.quit()
        out["target"] = "< 1 s"
        out["status"] = "ok" if max(out["server_s_max"], out.get("browser_load_s_median", 0)) < 1.0 else "over target"
        return out
    finally:
        server.stop()


def _pipeline(rate: float, seconds: float, web: bool, driver=None) -> dict:
    """Run the live pipeline (replay of a synthetic wrist in real time, shipped detector, alert engine)."""
    from twitchsense.alerts import AlertEngine, load_rules
    from twitchsense.acquisition.sources.replay import ReplaySource
    from twitchsense.acquisition.sources.synthetic import synthetic_recording
    from twitchsense.detection.engine import StreamingDetector
    from twitchsense.detection.model import default_model_path, load_model
    from twitchsense.live.pipeline import Pipeline

    rec = synthetic_recording(rate, seconds=max(seconds + 5, 60.0), seed=1)
    source = ReplaySource(rec, speed=1.0)
    detector = StreamingDetector(load_model(default_model_path()), rate, keep_context=False)
    engine = AlertEngine(load_rules(None), meta=source.meta)
    sinks, server, hub = [], None, None
    if web:
        from twitchsense.web.app import WebConfig
        from twitchsense.web.live import LiveHub
        from twitchsense.web.server import WebServer
        hub = LiveHub(session="bench", meta=source.meta)
        server = WebServer(WebConfig(hub=hub), "127.0.0.1", 0).start()
        sinks.append(hub)
    import threading
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    result: dict = {}
    if driver is not None and server is not None:
        driver.get(server.url + "/live")
    c0, w0 = time.process_time(), time.perf_counter()
    timer.start()
    summary = Pipeline(source, detector=detector, alerts=engine, sinks=sinks).run(stop=stop)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    result.update(rate_hz=rate, seconds=round(wall, 1), samples=summary.samples,
                  cpu_pct=round(100 * cpu / wall, 2), events=summary.events)
    if driver is not None and server is not None:
        page = driver.execute_script(
            "const c = document.querySelectorAll('#events li.event').length;"
            "return [window.__traceLast || null, window.__tracePoints || 0, c];")
        result.update(page_lag_s=None if page[0] is None else round(summary.last_t - page[0], 2),
                      page_points_per_s=round(page[1] / wall, 1), page_events=page[2])
    if server is not None:
        server.stop()
    return result


def bench_live(seconds: float, pairs: int = 1) -> list[dict]:
    """Runs without and with the page alternate ``pairs`` times (the machine is shared); medians."""
    driver, why = browser_or_none()
    rows = []
    try:
        base, with_web = [], []
        for _ in range(pairs):
            base.append(_pipeline(100.0, seconds, web=False)["cpu_pct"])
            run = _pipeline(100.0, seconds, web=True, driver=driver)
            with_web.append(run["cpu_pct"])
        b, w = statistics.median(base), statistics.median(with_web)
        extra = w - b
        rows.append({"what": "live page at 100 Hz: pipeline process CPU", "rate_hz": 100,
                     "cpu_without_pct": round(b, 2), "cpu_with_pct": round(w, 2), "runs_without": base,
                     "runs_with": with_web, "extra_pct_of_core": round(extra, 2),
                     "extra_relative_pct": round(100 * extra / b, 1) if b else None,
                     "page_lag_s": run.get("page_lag_s"), "seconds": run["seconds"],
                     "target": "< 10 % extra CPU", "status": "ok" if extra < 10 else "over target"})
        fast = _pipeline(1000.0, seconds, web=True, driver=driver)
        keeps_up = fast["samples"] >= 0.97 * 1000 * fast["seconds"] and \
            (fast.get("page_lag_s") is None or fast["page_lag_s"] < 1.0)
        rows.append({"what": "live page at 1000 Hz: keeps up", "rate_hz": 1000, "cpu_with_pct": fast["cpu_pct"],
                     "samples_per_s": round(fast["samples"] / fast["seconds"], 1),
                     "page_lag_s": fast.get("page_lag_s"), "page_points_per_s": fast.get("page_points_per_s"),
                     "seconds": fast["seconds"], "target": "keeps up",
                     "status": "ok" if keeps_up else "falls behind"})
        if driver is None:
            for r in rows:
                r["note"] = f"no page connected: {why}"
    finally:
        if driver is not None:
            driver.quit()
    return rows


def bench_review(tmp: Path, n: int = 100) -> dict:
    from twitchsense.io.outputs import write_detections
    from twitchsense.io.recording import read_labels
    from twitchsense.types import TwitchEvent
    from twitchsense.web.app import WebConfig
    from twitchsense.web.server import WebServer
    folder = tmp / "review"
    folder.mkdir()
    src = ROOT / "recordings" / "demo" / "healthy-day"
    for suffix in (".csv", ".json"):
        shutil.copy(f"{src}{suffix}", folder / f"healthy-day{suffix}")
    span = 175.0
    onsets = np.linspace(2.0, span, n)
    write_detections(folder / "healthy-day.detected.csv",
                     [TwitchEvent(float(o), 0.1, 0.08, 0.9, "myoclonic", "rest") for o in onsets])
    (folder / "healthy-day.context.csv").write_text(f"start,end,state,level_g\n0.000,{span + 5:.3f},rest,0.0100\n")
    driver, why = browser_or_none()
    if driver is None:
        return {"what": f"review of {n} candidates", "status": f"not measured: {why}"}
    server = WebServer(WebConfig(recordings=[folder]), "127.0.0.1", 0).start()
    try:
        driver.get(server.url + "/review/0/healthy-day.csv")
        driver.execute_script("window.__sameDocument = true;")
        t_wait = time.perf_counter()
        while driver.execute_script("return document.body.dataset.shown") != "0":
            if time.perf_counter() - t_wait > 60:
                raise RuntimeError("the review page did not show its first candidate")
            time.sleep(0.01)
        body = driver.find_element("tag name", "body")
        per = []
        t0 = time.perf_counter()
        for i in range(n):
            t1 = time.perf_counter()
            body.send_keys("y" if i % 3 else "n")
            want = str(i + 1) if i + 1 < n else None
            while True:
                state = driver.execute_script("return [document.body.dataset.shown, document.body.dataset.state]")
                if (want is not None and state[0] == want) or (want is None and state[1] == "finished"):
                    break
                time.sleep(0.002)
            per.append(time.perf_counter() - t1)
        total = time.perf_counter() - t0
        same = driver.execute_script("return window.__sameDocument === true")
        labels = read_labels(folder / "healthy-day.events.csv")
        written = int((labels["note"] == "reviewed").sum())
        return {"what": f"review of {n} candidates with the keyboard", "candidates": n, "written": written,
                "tool_s_total": round(total, 2), "ms_per_candidate_median": round(1000 * statistics.median(per), 1),
                "ms_per_candidate_max": round(1000 * max(per), 1), "no_reload": bool(same),
                "target": "< 2 min of keyboard work, no reload",
                "status": "ok" if same and written == n and total < 120 else "over target"}
    finally:
        server.stop()
        driver.quit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=sorted(SECONDS), default="quick")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        import starlette  # noqa: F401
    except ImportError:
        print(json.dumps({"status": "not available yet (issue #19): pip install '.[web]'"}))
        return 0
    days = {"full": 365, "quick": 365, "smoke": 20}[args.mode]
    with tempfile.TemporaryDirectory(prefix="twitchsense-web-bench-") as d:
        tmp = Path(d)
        rows = [bench_home(tmp, days), *bench_live(SECONDS[args.mode], 3 if args.mode == "full" else 1),
                bench_review(tmp, 100 if args.mode != "smoke" else 10)]
    if args.json:
        print(json.dumps({"rows": rows}))
    else:
        for r in rows:
            print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
