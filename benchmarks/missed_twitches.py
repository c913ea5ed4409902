"""Where the detector loses true twitches (>= 0.02 g): by stage, class, strength, rate and context.

Every true twitch of at least ``FLOOR_G`` is put in the first stage that loses it:

1. ``found``: a confirmed event overlaps it (the contract's rule: 0.1 s collar);
2. ``retracted:REASON``: only a retracted event overlaps it (the confirmation stage);
3. ``cannot tell``: the context is ``active`` at its peak (windows there are not classified);
4. ``never a candidate``: no candidate window's centre lies on it (the gate did not open);
5. ``below threshold``: candidate windows on it, none scored at or above the model's threshold;
6. ``merged / extent``: a window on it reached the threshold, yet no event overlaps it (the window's
   peak joined a neighbouring event, or the event's extent lies elsewhere).

Sessions: the quality benchmark's (``--development``: seeds from 10 000, for decisions; default: the
held-out seeds, for figures only), or labelled recording folders (``--folders DIR...``).

    python -m benchmarks.missed_twitches [--development] [--sessions 4] [--minutes 10] [--model PATH]
    python -m benchmarks.missed_twitches --folders DIR [DIR ...] [--model PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import default_model_path, load_model
from twitchsense.detection.scoring import COLLAR_S, FLOOR_G, STRENGTH_BANDS, band_name
from twitchsense.detection.training import POS_PAD_S, candidate_windows
from twitchsense.io.recording import find_recordings, read_recording

STAGES = ("found", "retracted", "cannot tell", "never a candidate", "below threshold", "merged / extent")


def _band(pk: float) -> str:
    return next(band_name(lo, hi) for lo, hi in STRENGTH_BANDS if lo <= pk < hi)


def _overlapping(events: list, on: float, end: float) -> list:
    """The events overlapping ``[on, end]`` by the contract's rule (both widened by ``COLLAR_S``)."""
    return [e for e in events if e.onset - COLLAR_S <= end + COLLAR_S and on - COLLAR_S <= e.end + COLLAR_S]


def twitch_stages(rec, model) -> list[dict]:
    """One row per true twitch >= FLOOR_G of ``rec``: its class, strength, context and losing stage."""
    lab = rec.labels
    if lab is None or not len(lab):
        return []
    tw = lab[(lab["label"] == "twitch") & (lab["peak_g"].astype(float) >= FLOOR_G)]
    if not len(tw):
        return []
    res = detect_recording(rec, model)
    cw = candidate_windows(rec, model.features, model.config)
    t, X, _, _ = cw.arrays()
    p = model.score_windows(X)[0] if t.size else np.zeros(0)
    thr = model.config.threshold
    spans = res.context
    rows = []
    for _, r in tw.iterrows():
        on, end = float(r["onset"]), float(r["onset"]) + float(r["duration"])
        mid = 0.5 * (on + end)
        ctx = next((s.state for s in spans if s.start <= mid < s.end), "cannot tell")
        ctx = "cannot tell" if ctx == "active" else ctx

        on_it = (t >= on - POS_PAD_S) & (t <= end + POS_PAD_S)
        pmax = float(p[on_it].max()) if on_it.any() else float("nan")
        retracted = _overlapping(res.retracted, on, end)
        if _overlapping(res.events, on, end):
            stage = "found"
        elif retracted:
            stage = "retracted:" + retracted[0].reason
        elif ctx == "cannot tell":
            stage = "cannot tell"
        elif not on_it.any():
            stage = "never a candidate"
        elif pmax < thr:
            stage = "below threshold"
        else:
            stage = "merged / extent"
        rows.append({"recording": rec.name, "rate_hz": round(rec.sample_rate_hz),
                     "profile": (rec.meta.get("simulation") or {}).get("profile", rec.name),
                     "kind": str(r.get("kind", "twitch")), "peak_g": float(r["peak_g"]),
                     "band": _band(float(r["peak_g"])), "context": ctx, "stage": stage, "p_max": pmax,
                     "onset": on})
    return rows


def breakdown(rows: list[dict]) -> str:
    """Markdown tables: losing stage by class, strength band, rate and context."""
    out = []
    stage_names = sorted({r["stage"] for r in rows}, key=lambda s: (STAGES.index(s.split(":")[0]), s))
    for by in ("kind", "band", "rate_hz", "context", "profile"):
        groups: dict = defaultdict(Counter)
        for r in rows:
            groups[r[by]][r["stage"]] += 1
        out.append(f"| {by} | n | sens. | " + " | ".join(stage_names) + " |")
        out.append("|---" * (3 + len(stage_names)) + "|")
        for g in sorted(groups, key=str):
            c = groups[g]
            n = sum(c.values())
            out.append(f"| {g} | {n} | {c['found'] / n:.3f} | " + " | ".join(str(c[s]) for s in stage_names) + " |")
        c = Counter(r["stage"] for r in rows)
        n = len(rows)
        out.append(f"| all | {n} | {c['found'] / max(n, 1):.3f} | " + " | ".join(str(c[s]) for s in stage_names) + " |")
        out.append("")
    below = [r["p_max"] for r in rows if r["stage"] == "below threshold"]
    if below:
        q = np.percentile(below, [10, 50, 90])
        out.append(f"below threshold: highest window probability p10 {q[0]:.2f}, median {q[1]:.2f}, p90 {q[2]:.2f}")
    return "\n".join(out)


def main() -> None:
    from benchmarks.quality import session_seeds
    from twitchsense.simulate import simulate_session

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folders", nargs="*", type=Path)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--development", action="store_true")
    ap.add_argument("--model")
    ap.add_argument("--json", type=Path, help="also write the per-twitch rows here")
    args = ap.parse_args()
    model = load_model(args.model or default_model_path())
    rows: list[dict] = []
    if args.folders:
        for path in find_recordings(args.folders):
            rows += twitch_stages(read_recording(path), model)
    else:
        for prof, seed, rate in session_seeds(args.sessions, args.development):
            rows += twitch_stages(simulate_session(prof, args.minutes, seed, rate_hz=rate), model)
    print(breakdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
