"""Every benchmark in one run: throughput and scaling, decoder, latency, memory, peers, quality.

    python -m benchmarks [--quick] [--out benchmarks/results.md]

Each measurement whose peak memory matters runs in a fresh process. Results go
to ``results.json`` and ``results.md`` beside ``--out``, plots to ``plots/``
there. A part of the project that is not built yet gets a row saying so; a
part that is built but whose benchmark fails makes the run exit 1 (after the
files are written), so the quick run in CI keeps the scripts from rotting. A
run that writes the repository's ``benchmarks/results.json`` also regenerates
the README's figures table and docs/speed.md from it (``benchmarks.figures``).
``--quick`` uses small sizes (under 2 minutes on a 2-core machine); the full
mode takes 10-20 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.common import NO_MODEL
from benchmarks.machine import describe_machine

HERE = Path(__file__).resolve().parent
SHIPPED_MODEL = HERE.parent / "twitchsense" / "data" / "default.skops"


@dataclass(frozen=True)
class Sizes:
    """How much work each section does in one mode."""

    mode: str
    hours: tuple[float, ...]          # recording lengths for load, features, detect, simulate
    cli_hours: tuple[float, ...]      # lengths for the whole `detect` command
    decode_samples: int
    latency_s: float
    event_latency_min: float
    live_hours: float
    live_block_s: float
    peer_windows: int
    quality_per_profile: int
    quality_minutes: float
    quality_real_limit: int           # 0: every real recording
    timeout_s: float
    with_peers: bool = True

    @property
    def quick(self) -> bool:
        return self.mode != "full"


FULL = Sizes("full", hours=(1.0, 6.0, 24.0), cli_hours=(24.0,), decode_samples=2_000_000, latency_s=30,
             event_latency_min=10.0, live_hours=24.0, live_block_s=1.0, peer_windows=200, quality_per_profile=4,
             quality_minutes=10.0, quality_real_limit=0, timeout_s=1800)
QUICK = Sizes("quick", hours=(0.05, 0.2), cli_hours=(0.2,), decode_samples=300_000, latency_s=3,
              event_latency_min=1.0, live_hours=0.1, live_block_s=1.0, peer_windows=16, quality_per_profile=1,
              quality_minutes=2.0, quality_real_limit=30, timeout_s=120)
#: every section with tiny sizes (the test suite's check that nothing is broken; figures meaningless)
SMOKE = Sizes("smoke", hours=(0.02, 0.05), cli_hours=(0.02,), decode_samples=50_000, latency_s=1,
              event_latency_min=0.5, live_hours=0.02, live_block_s=1.0, peer_windows=12, quality_per_profile=1,
              quality_minutes=0.5, quality_real_limit=6, timeout_s=120)


class NotBuilt(Exception):
    """A part of the project (or its benchmark script) has not landed yet."""


def missing(issue: int) -> str:
    return f"not available yet (issue #{issue})"


def have(module: str) -> bool:
    """True when ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def measure(module: str, *args: str, timeout: float, issue: int) -> dict:
    """Run ``python -m module args --json`` in a fresh process; its last JSON line."""
    if not have(module):
        raise NotBuilt(missing(issue))
    try:
        out = subprocess.run([sys.executable, "-m", module, *args, "--json"], capture_output=True,
                             text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"{module} took longer than {timeout:g} s") from exc
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{module} {' '.join(args)} failed: {tail}")
    try:
        res = json.loads(out.stdout)  # one JSON document, maybe indented
    except ValueError:
        lines = [ln for ln in out.stdout.strip().splitlines() if ln.startswith(("{", "["))]
        if not lines:
            raise RuntimeError(f"{module} printed no JSON result") from None
        res = json.loads(lines[-1])
    if isinstance(res, dict) and str(res.get("status", "")).startswith("not available yet"):
        raise NotBuilt(res["status"])
    return res


def section(title: str, columns: list[tuple[str, str]], rows: list[dict], note: str = "",
            status: str = "ok", **extra) -> dict:
    """A results section: ``columns`` are (key, header) pairs; rows are dicts keyed the same."""
    return {"title": title, "status": status, "note": note, "columns": columns, "rows": rows, **extra}


# --------------------------------------------------------------------------- throughput
STAGES = {
    # stage: (benchmark module, module it needs, issue, extra args, key of the seconds in its JSON)
    "load": ("benchmarks.load_24h", "twitchsense.io.recording", 2, (), "load_s"),
    "features": ("benchmarks.stages_24h", "twitchsense.detection.engine", 6, ("--stage", "features"), "seconds"),
    "detect": ("benchmarks.stages_24h", "twitchsense.detection.engine", 6, ("--stage", "detect"), "seconds"),
    "detect CLI": ("benchmarks.detect_24h", "shipped model", 6, ("--day", "realistic"), "seconds"),
    "simulate": ("benchmarks.simulate_24h", "twitchsense.simulate", 5, (), "simulate_s"),
}


def scaling_exponent(hours: list[float], seconds: list[float]) -> float | None:
    """Slope of log(seconds) against log(hours): 1.0 is linear growth."""
    pts = [(math.log(h), math.log(s)) for h, s in zip(hours, seconds) if s and s > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return round(sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx, 2) if sxx else None


def throughput(sizes: Sizes) -> dict:
    """Load, features and detect at each length: s per 24 h, real-time factor, peak RSS, scaling."""
    rows, curves, errors = [], {}, []
    longest = max(sizes.hours)
    for stage, (module, needs, issue, extra, key) in STAGES.items():
        pts = []
        if module == "benchmarks.stages_24h":
            extra = (*extra, "--of", f"{longest:g}")
        for hours in (sizes.cli_hours if stage == "detect CLI" else sizes.hours):
            try:
                if needs == "shipped model" and not SHIPPED_MODEL.exists():
                    raise NotBuilt(NO_MODEL)
                if needs != "shipped model" and not have(needs):
                    raise NotBuilt(missing(issue))
                if module == "benchmarks.stages_24h":  # write the (cached) recording before the timed run
                    measure(module, "--hours", f"{hours:g}", *extra, "--prepare", timeout=sizes.timeout_s, issue=issue)
                res = measure(module, "--hours", f"{hours:g}", *extra, timeout=sizes.timeout_s, issue=issue)
            except NotBuilt as exc:
                rows.append({"stage": stage, "hours": "-", "status": str(exc)})
                break
            except RuntimeError as exc:
                errors.append(str(exc))
                rows.append({"stage": stage, "hours": hours, "status": f"error: {exc}"})
                continue
            seconds = float(res[key])
            pts.append((hours, seconds))
            rows.append({"stage": stage, "hours": hours, "seconds": round(seconds, 3),
                         "s_per_24h": round(seconds * 24 / hours, 2),
                         "realtime_factor": f"{hours * 3600 / seconds:,.0f}x" if seconds > 0 else "-",
                         "peak_rss_mb": res.get("peak_rss_mb"), "status": "ok"})
        if pts:
            curves[stage] = pts
    scaling = {stage: scaling_exponent([p[0] for p in pts], [p[1] for p in pts]) for stage, pts in curves.items()}
    note = ("100 Hz recordings; each point in a fresh process. load: `benchmarks.load_24h` (CSV of noise plus "
            "gravity); features (resampling, candidate gate, context, window features, no model) and detect "
            "(the same plus the shipped model and events): `benchmarks.stages_24h`, in-process after loading; "
            "detect CLI: `benchmarks.detect_24h`, the whole `twitchsense detect` command (start-up, load, detect, "
            "write) pinned to one core. features/detect use the simulator's healthy-day profile (desk work, "
            "walking, gestures, knocks, twitches), shorter lengths cut from the start of the longest day. Scaling exponent = slope of log(time) vs log(length); 1.0 is "
            "linear. "
            + "; ".join(f"{s}: {e}" for s, e in scaling.items() if e is not None))
    return section("Throughput and scaling", [("stage", "stage"), ("hours", "hours"), ("seconds", "wall s"),
                   ("s_per_24h", "s per 24 h"), ("realtime_factor", "real-time factor"),
                   ("peak_rss_mb", "peak RSS MB"), ("status", "status")], rows, note,
                   status="error" if errors else "ok", curves=curves, scaling=scaling)


# --------------------------------------------------------------------------- live path
def decoder(sizes: Sizes) -> dict:
    """Decoder throughput in samples/s (issue #3's ``benchmarks.decode_speed``)."""
    cols = [("what", "decoder"), ("samples", "samples"), ("samples_per_cpu_s", "samples/s (CPU)"),
            ("samples_per_wall_s", "samples/s (wall)"), ("target", "target samples/s"), ("status", "status")]
    try:
        args = ("--samples", str(sizes.decode_samples)) + (("--repeat", "1") if sizes.quick else ())
        res = measure("benchmarks.decode_speed", *args, timeout=sizes.timeout_s, issue=3)
    except NotBuilt as exc:
        return section("Decoder throughput", cols, [{"what": "wire-protocol decoders", "status": str(exc)}],
                       status="missing")
    row = {"what": f"twitchsense protocol, {res.get('per_frame')} samples/frame, {res.get('chunk_bytes')} B reads",
           **res, "status": "ok"}
    return section("Decoder throughput", cols, [row], "From `python -m benchmarks.decode_speed` (one core).")


def serial_latency(sizes: Sizes) -> dict:
    """Byte arrival to pipeline over a real pseudo-terminal (issue #4), twitch end to event (issue #7)."""
    cols = [("what", "path"), ("n", "n"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms"), ("max_ms", "max ms"),
            ("status", "status")]
    rows, notes = [], []
    try:
        res = measure("benchmarks.serial_latency", "--seconds", f"{sizes.latency_s:g}",
                      timeout=sizes.timeout_s, issue=4)
        rows += [{"what": k.replace("_", " "), **v, "n": f"{v.get('n')} {v.get('unit', '')}".strip(), "status": "ok"}
                 for k, v in res.items() if isinstance(v, dict)]
        notes.append(f"Transport: `python -m benchmarks.serial_latency`, {res.get('seconds')} s at "
                     f"{res.get('rate_hz'):g} Hz over a real pseudo-terminal, the board emulated "
                     "(`twitchsense emulate-board`).")
    except NotBuilt as exc:
        rows.append({"what": "byte arrival to pipeline", "status": str(exc)})
    try:
        res = measure("benchmarks.event_latency", "--minutes", f"{sizes.event_latency_min:g}",
                      timeout=sizes.timeout_s * 2, issue=7)
        for prefix, what in (("", "twitch end to event out of the live pipeline (provisional)"),
                             ("confirmed_", "twitch end to its verdict, confirmed or retracted")):
            ms = {k: round(1000 * res[f"{prefix}latency_{k}_s"], 1)
                  if res.get(f"{prefix}latency_{k}_s") is not None else None for k in ("p50", "p99", "max")}
            rows.append({"what": what, "n": f"{res.get(prefix + 'events')} events",
                         "p50_ms": ms["p50"], "p99_ms": ms["p99"], "max_ms": ms["max"], "status": "ok"})
        notes.append(f"Events: `python -m benchmarks.event_latency`, {sizes.event_latency_min:g} min of the "
                     "frequent-twitching profile in 10 ms blocks through detector and alert engine; each event "
                     "comes out provisional (target p99 < 0.5 s), then confirmed or retracted (p99 < 3.5 s).")
    except NotBuilt as exc:
        rows.append({"what": "twitch end to event", "status": str(exc)})
    return section("Latency", cols, rows, " ".join(notes))


def live_memory(sizes: Sizes) -> dict:
    """Resident memory of the live pipeline over a long replay (benchmarks.live_memory)."""
    cols = [("what", "run"), ("replayed_h", "replayed h"), ("wall_s", "wall s"), ("realtime_factor", "real-time factor"),
            ("cpu_s", "CPU s"), ("rss_start_mb", "RSS start MB"), ("rss_end_mb", "RSS end MB"),
            ("rss_growth_mb_per_h", "growth MB/h"), ("status", "status")]
    try:
        res = measure("benchmarks.live_memory", "--hours", f"{sizes.live_hours:g}", "--block-s",
                      f"{sizes.live_block_s:g}", timeout=sizes.timeout_s * 2, issue=4)
    except NotBuilt as exc:
        return section("Live-path memory", cols, [{"what": "long replay", "status": str(exc)}], status="missing")
    res["status"] = res.get("status", "ok")
    return section("Live-path memory", cols, [res], res.get("note", ""), samples=res.get("samples", []))


# --------------------------------------------------------------------------- peers and quality
def peers(sizes: Sizes) -> dict:
    """Feature extraction and window classification against TSFEL, tsfresh, MiniRocket."""
    from benchmarks.window_set import SHARED_DATA

    if not SHARED_DATA.is_dir():
        return section("Peers: feature extraction and window classification", [("status", "status")],
                       [{"status": f"needs the real recordings in {SHARED_DATA}"}], status="missing")
    extra = () if sizes.with_peers else ("--without-peers",)
    res = measure("benchmarks.peers", "--windows", str(sizes.peer_windows), *extra, timeout=sizes.timeout_s * 2,
                  issue=6)
    cols = [("method", "method"), ("features", "features"), ("ms_per_window", "ms / window"),
            ("project_over_peer", "time ratio project/peer"), ("precision", "precision"),
            ("sensitivity", "sensitivity"), ("f1", "F1"), ("status", "status")]
    note = (f"{res['windows']} windows of {res['row_s']:g} s at {res['rate_hz']:g} Hz ({res['positives']} with a "
            f"twitch added by {res['twitch_source']}; {res['subjects']} subjects of the real recordings of "
            f"docs/data.md). Feature sets scored with the same classifier, {res['classifier']}, "
            f"{res['cv']}; window-level figures. Time ratio measured pair by pair in the same process, "
            "one core each. " + " ".join(r["note"] for r in res["rows"] if r.get("note")))
    bad = [r for r in res["rows"] if r["status"] != "ok"]
    return section("Peers: feature extraction and window classification", cols, res["rows"], note,
                   status="partial" if bad else "ok", meta={k: v for k, v in res.items() if k != "rows"})


def quality(sizes: Sizes) -> dict:
    """Event-level evaluate figures of the shipped model and the baseline (issue #6)."""
    cols = [("detector", "detector"), ("data", "data"), ("hours", "hours"), ("twitches", "twitches"),
            ("sensitivity", "sensitivity"), ("precision", "precision"), ("f1", "F1"),
            ("fa_per_h_rest", "false alarms/h rest"), ("fa_per_h_activity", "false alarms/h activity"),
            ("status", "status")]
    rows, notes, all_rows = [], [], []
    sim = "simulated sessions, held-out seeds (all profiles)"
    try:
        if not SHIPPED_MODEL.exists():
            raise NotBuilt(NO_MODEL)
        res = measure("benchmarks.quality", "--sessions", str(sizes.quality_per_profile), "--minutes",
                      f"{sizes.quality_minutes:g}", timeout=sizes.timeout_s * 2, issue=6)
        if not isinstance(res, dict) or "rows" not in res:
            raise RuntimeError("benchmarks.quality --json gave no rows")
        all_rows = res["rows"]
        everything = [r for r in res["rows"] if "all profiles" in str(r.get("data"))]
        rows += everything or res["rows"]
        notes.append("Simulated: the detector's `benchmarks.quality` (per-profile rows in results.json). "
                     + res.get("note", ""))
    except NotBuilt as exc:
        rows.append({"detector": "shipped model and baseline", "data": sim, "status": str(exc)})
    try:
        res = measure("benchmarks.real_quality", "--real-limit", str(sizes.quality_real_limit),
                      timeout=sizes.timeout_s * 2, issue=6)
        rows += res["rows"]
        notes.append(res.get("note", ""))
    except NotBuilt as exc:
        rows.append({"detector": "shipped model and baseline", "data": "real recordings", "status": str(exc)})
    ok = all(r.get("status") == "ok" for r in rows)
    note = "Event-level, the contract's scoring rule. " + " ".join(n for n in notes if n)
    return section("Detection quality", cols, rows, note, status="ok" if ok else "missing", all_rows=all_rows)


def web_app(sizes: Sizes) -> dict:
    """The web app: live page CPU and keeping up, home page of a year, keyboard review (benchmarks.web_app)."""
    cols = [("what", "what"), ("cpu_without_pct", "CPU % without"), ("cpu_with_pct", "CPU % with page"),
            ("extra_pct_of_core", "extra % of a core"), ("page_lag_s", "page lag s"),
            ("page_points_per_s", "page points/s"), ("server_s_median", "GET / s"),
            ("browser_load_s_median", "browser load s"), ("tool_s_total", "tool s for all"),
            ("ms_per_candidate_median", "ms/candidate"), ("target", "target"), ("status", "status")]
    try:
        res = measure("benchmarks.web_app", "--mode", sizes.mode, timeout=sizes.timeout_s * 4, issue=19)
    except NotBuilt as exc:
        return section("Web app", cols, [{"what": "web app", "status": str(exc)}], status="missing")
    return section("Web app", cols, res["rows"],
                   "From `python -m benchmarks.web_app`: CPU of the live pipeline's process (shipped detector, "
                   "alert engine) in real time without and with the live page open in headless Chromium; the "
                   "home page of a year of daily use; 100 review candidates driven by the keyboard.")


SECTIONS = {
    "throughput": throughput,
    "decoder": decoder,
    "latency": serial_latency,
    "live_memory": live_memory,
    "peers": peers,
    "quality": quality,
    "web": web_app,
}


def run_all(sizes: Sizes, only: list[str] | None = None, log=print) -> dict:
    """Run every section (or ``only`` some); a failing section is recorded, never fatal here."""
    results = {}
    for name, fn in SECTIONS.items():
        if only and name not in only:
            continue
        t0 = time.perf_counter()
        try:
            results[name] = fn(sizes)
        except NotBuilt as exc:
            results[name] = section(name, [("status", "status")], [{"status": str(exc)}], status="missing")
        except Exception as exc:  # noqa: BLE001 - recorded in the table and turned into exit 1
            results[name] = section(name, [("status", "status")], [{"status": f"error: {exc}"}], status="error")
        results[name]["elapsed_s"] = round(time.perf_counter() - t0, 1)
        log(f"{name}: {results[name]['status']} ({results[name]['elapsed_s']} s)")
    return results


def rerun_of(path: Path, doc: dict) -> dict:
    """``doc`` (a run of some sections) merged into the earlier run at ``path`` of the same mode: its
    sections replaced, the rest kept, and a ``reruns`` entry saying which sections, when and at what commit
    (an earlier rerun's entry keeps only the sections not run again)."""
    if not path.exists():
        return doc
    last = json.loads(path.read_text())
    if last.get("mode") != doc["mode"]:
        return doc
    m = doc["machine"]
    rerun = {"sections": list(doc["sections"]), "date_utc": m["date_utc"], "commit": m["commit"],
             "load_avg_1min": m["load_avg_1min"]}
    earlier = [{**r, "sections": [s for s in r["sections"] if s not in doc["sections"]]} for r in last.get("reruns", [])]
    return {**last, "sections": {**last["sections"], **doc["sections"]},
            "reruns": [*(r for r in earlier if r["sections"]), rerun]}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.report import write_report

    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes (CI)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny sizes: only checks that every section runs (the test suite); figures meaningless")
    ap.add_argument("--out", type=Path, default=HERE / "results.md", help="markdown table to write")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), help="run only these sections")
    ap.add_argument("--without-peers", action="store_true",
                    help="skip TSFEL, tsfresh and MiniRocket (the project's own rows still run)")
    args = ap.parse_args(argv)
    sizes = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.without_peers:
        sizes = replace(sizes, with_peers=False)
    command = "python -m benchmarks" + (" --smoke" if args.smoke else " --quick" if args.quick else "") + \
        (" --without-peers" if args.without_peers else "")
    t0 = time.perf_counter()
    machine = describe_machine()
    results = run_all(sizes, args.only, log=lambda m: print(m, file=sys.stderr, flush=True))
    elapsed = round(time.perf_counter() - t0, 1)
    doc = {"mode": sizes.mode, "command": command, "machine": machine, "elapsed_s": elapsed, "sections": results}
    repository = args.out.resolve() == (HERE / "results.md").resolve()
    if repository and args.only:  # a partial run updates its sections of the last run of the same mode, and says so
        doc = rerun_of(args.out.with_suffix(".json"), doc)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    write_report(doc, args.out)
    print(f"wrote {args.out}, {args.out.with_suffix('.json')} and plots in {args.out.parent / 'plots'} "
          f"({elapsed} s)")
    if repository:  # the repository's results: its documents follow
        from benchmarks.figures import real_results, update

        changed = update(doc, real_results())
        print("updated " + ", ".join(str(p.relative_to(HERE.parent)) for p in changed) if changed else
              "README.md and docs/speed.md were up to date")
    failed = [n for n, s in results.items() if s["status"] == "error"]
    if failed:
        print(f"benchmarks failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
