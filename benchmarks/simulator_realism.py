"""The shipped detector on the simulator's free-living look-alikes and quantised sensors (issue 17).

Three measurements, on fresh seeds (10 000 and up, never used in training):

1. look-alikes: sessions holding one look-alike and nothing else to speak of (no
   twitches), 3 x 20 min each at 30, 50 and 100 Hz with the drawn sensor mix;
   detections overlapping the look-alike (the scoring collar, 0.1 s) per hour of
   it, or per 100 events for point events (jumps, sitting down hard, onset
   flicks, isolated transients on a still limb);
2. the free-living demo recording, and fresh free-living sessions on the same
   1/64 g logger at 30 Hz and on drawn sensors at 100 Hz: detections, false
   alarms per hour and sensitivity;
3. sensitivity on twitches rendered through quantised sensors: the same plans
   (twitches at 3 a minute on a quiet wrist) through 16-bit, 12-bit (3.9 and
   7.8 mg) and 10-bit (15.6 mg, a 1/64 g logger) sensors, at 100 Hz and 30 Hz.

    python -m benchmarks.simulator_realism [--model PATH] [--sessions 3] [--minutes 20]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import default_model_path, load_model
from twitchsense.detection.scoring import COLLAR_S, EXPERIMENTAL_KINDS, STRENGTH_BANDS, Tally, band_name, score_events
from twitchsense.io.recording import read_recording
from twitchsense.simulate import plan_session, render_session
from twitchsense.simulate.corpus import DEMO_DIR, FREE_LIVING
from twitchsense.simulate.plan import rng_for
from twitchsense.simulate.profiles import PROFILES, Profile
from twitchsense.simulate.sensor import SensorModel, draw_sensor

RATES = (30.0, 50.0, 100.0)
BOUTS = ("typing", "tapping", "fidget-spikes", "mouse", "phone", "eating", "gesturing")
QUIET = dict(fidget_g=(0.003, 0.012), transients_per_still_hour=(0.0, 0.0), micro_per_min=2.0)
EVERYDAY = {"myoclonic": 0.4, "fasciculation": 0.4, "tic": 0.2}


def _only(name: str, **kw) -> Profile:
    return Profile(f"only-{name}", name, 0.0, EVERYDAY, **{**QUIET, **kw})


#: One profile per look-alike: the look-alike and nothing else to speak of.
LOOKALIKE_PROFILES = {
    **{b: _only(b, activities={b: 0.7}, placements=("wrist",)) for b in BOUTS},
    "jump": _only("jump", events_per_min={"jump": 1.0}, placements=("waist",)),
    "sit-hard": _only("sit-hard", events_per_min={"sit-hard": 1.0}, placements=("waist",)),
    "flick": _only("flick", events_per_min={"posture": 1.0, "gesture": 1.0}, placements=("wrist",)),
    "transient": _only("transient", placements=("wrist",), transients_per_still_hour=(300.0, 300.0)),
}


def _recorded(plan, t_true: float) -> float:
    """A true time on the board's clock (the recording's ``t``, jitter aside)."""
    return t_true / (1.0 + plan.sensor.clock_ppm * 1e-6)


def _spans(plan, name: str) -> list[tuple[float, float]]:
    """Recorded-time spans of the events a look-alike measurement is about."""
    out = []
    for e in plan.events:
        if name == "flick" and e.label in ("posture", "gesture") and "flick" in e.params:
            out.append((e.start, e.params["move_start"]))  # the flick, up to the movement
        elif name == "transient" and e.label == "transient":
            out.append((e.start, e.start + max(e.duration, 0.03)))
        elif e.label == name:
            out.append((e.start, e.start + e.duration))
    return [(_recorded(plan, a), _recorded(plan, b)) for a, b in out]


def _hits(spans: list[tuple[float, float]], events) -> tuple[int, int]:
    """(detections overlapping any span, spans overlapped by a detection), with the scoring collar."""
    if not spans or not events:
        return 0, 0
    s = np.array(spans)
    d = np.array([(e.onset, e.end) for e in events])
    ov = (d[:, None, 0] - COLLAR_S < s[None, :, 1] + COLLAR_S) & (d[:, None, 1] + COLLAR_S > s[None, :, 0] - COLLAR_S)
    return int(ov.any(axis=1).sum()), int(ov.any(axis=0).sum())


def lookalikes(model, sessions: int, minutes: float) -> list[str]:
    rows = ["| look-alike | sessions, h | its time (h) or events | detections on it | per hour of it | "
            "share of events detected | all detections / h |", "|---|---|---|---|---|---|---|"]
    for name, prof in LOOKALIKE_PROFILES.items():
        hours = on_time = n_ev = n_det = n_hit = n_all = 0.0
        for i in range(sessions):
            seed = 10_000 + 97 * list(LOOKALIKE_PROFILES).index(name) + i
            plan = plan_session(prof, minutes, seed, RATES[i % len(RATES)])
            rec, _ = render_session(plan)
            res = detect_recording(rec, model)
            spans = _spans(plan, name)
            det, hit = _hits(spans, res.events)
            hours += rec.duration_s / 3600
            on_time += sum(b - a for a, b in spans) / 3600
            n_ev += len(spans)
            n_det += det
            n_hit += hit
            n_all += len(res.events)
        point = name in ("jump", "sit-hard", "flick", "transient")
        rows.append(f"| {name} | {sessions}, {hours:.2f} | {f'{int(n_ev)} events' if point else f'{on_time:.2f} h'} | "
                    f"{int(n_det)} | {'-' if point else f'{n_det / on_time:.1f}'} | "
                    f"{f'{n_hit / n_ev:.2f} ({int(n_hit)}/{int(n_ev)})' if point else '-'} | {n_all / hours:.1f} |")
    return rows


def _score_line(name: str, tallies: list[Tally], hours: float, n_det: int) -> str:
    t = sum(tallies, Tally())
    f = t.figures()
    return (f"| {name} | {hours:.2f} | {t.n_true} | {f['sensitivity']:.3f} | {n_det / hours:.1f} | "
            f"{(t.fa_rest + t.fa_activity) / hours:.1f} | {f['false_alarms_per_hour_rest']:.1f} / "
            f"{f['false_alarms_per_hour_activity']:.1f} |")


def free_living(model, sessions: int) -> list[str]:
    rows = ["| recording | h | twitches >= 0.02 g | sensitivity | detections / h | false alarms / h | "
            "at rest / in activity |", "|---|---|---|---|---|---|---|"]
    rec = read_recording(DEMO_DIR / "free-living-wrist.csv")
    res = detect_recording(rec, model)
    rows.append(_score_line("demo `free-living-wrist` (1/64 g logger, 30 Hz)",
                            [score_events(rec.labels, res.events, rec.duration_s)], rec.duration_s / 3600,
                            len(res.events)))
    f = FREE_LIVING
    for label, rate, logger in (("fresh seeds, 1/64 g logger, 30 Hz", 30.0, True),
                                ("fresh seeds, drawn sensors, 100 Hz", 100.0, False)):
        tallies, hours, n = [], 0.0, 0
        for i in range(sessions):
            seed = 10_500 + i + (0 if logger else 50)
            sensor = None
            if logger:
                sensor = dataclasses.replace(draw_sensor(rng_for(seed, "sensor"), "logger"), bits=f["bits"],
                                             range_g=f["range_g"])
            rec, _ = render_session(plan_session("free-living", f["minutes"], seed, rate, sensor))
            res = detect_recording(rec, model)
            tallies.append(score_events(rec.labels, res.events, rec.duration_s))
            hours += rec.duration_s / 3600
            n += len(res.events)
        rows.append(_score_line(f"{label} ({sessions} x {f['minutes']:g} min)", tallies, hours, n))
    return rows


QUANTISED = {"16-bit +/-8 g (0.24 mg)": (16, 8.0), "12-bit +/-8 g (3.9 mg, 1/256 g)": (12, 8.0),
             "12-bit +/-16 g (7.8 mg)": (12, 16.0), "10-bit +/-8 g (15.6 mg, 1/64 g)": (10, 8.0)}


def quantised(model, sessions: int, minutes: float) -> list[str]:
    prof = Profile("dense-rest", "quiet wrist, twitches at 3 a minute", 3.0, EVERYDAY,
                   events_per_min={"posture": 0.3, "gesture": 0.3}, fidget_g=(0.003, 0.012), placements=("wrist",))
    bands = [b for b in STRENGTH_BANDS if b[0] >= 0.02]
    rows = ["| sensor | rate | twitches >= 0.02 g | sensitivity | core classes | " +
            " | ".join(band_name(*b) for b in bands) + " | false alarms / h |",
            "|---|---|---|---|---|" + "---|" * len(bands) + "---|"]
    for rate in (100.0, 30.0):
        for name, (bits, rng_g) in QUANTISED.items():
            tallies, core, hours = [], [], 0.0
            for i in range(sessions):
                seed = 10_700 + i
                base = draw_sensor(rng_for(seed, "sensor"), "board16")
                sensor = dataclasses.replace(base, bits=bits, range_g=rng_g, clock_ppm=0.0, jitter_s=0.0,
                                             gaps_per_hour=0.0, faults_per_hour=0.0, family="quantised")
                rec, _ = render_session(plan_session(prof, minutes, seed, rate, sensor))
                res = detect_recording(rec, model)
                tallies.append(score_events(rec.labels, res.events, rec.duration_s))
                core.append(score_events(rec.labels, res.events, rec.duration_s, optional_kinds=EXPERIMENTAL_KINDS))
                hours += rec.duration_s / 3600
            t, c = sum(tallies, Tally()), sum(core, Tally())
            by_band = t.by_band if hasattr(t, "by_band") else {}
            cells = []
            for b in bands:
                found, total = by_band.get(band_name(*b), (0, 0))
                cells.append(f"{found}/{total}")
            fa = (t.fa_rest + t.fa_activity) / hours
            rows.append(f"| {name} | {rate:g} Hz | {t.n_true} | {t.figures()['sensitivity']:.3f} | "
                        f"{c.figures()['sensitivity']:.3f} | " + " | ".join(cells) + f" | {fa:.1f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model")
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--minutes", type=float, default=20.0)
    args = ap.parse_args()
    model = load_model(args.model or default_model_path())
    print("## Look-alikes\n")
    print("\n".join(lookalikes(model, args.sessions, args.minutes)))
    print("\n## Free living\n")
    print("\n".join(free_living(model, max(2, args.sessions + 1))))
    print("\n## Twitches through quantised sensors\n")
    print("\n".join(quantised(model, args.sessions + 1, args.minutes)))


if __name__ == "__main__":
    main()
