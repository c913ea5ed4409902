"""Statistical checks of the simulator against the documented ranges (docs/physiology.md, docs/simulator.md).

Many seeded draws per class: amplitude, duration and dominant frequency of every
twitch class and look-alike fall in the documented range; twitch rates per
profile and the bout process match their definitions; the trains come at their
documented rates. No bound is widened to let draws pass: where a sampled figure
can differ from the drawn one, the test allows exactly the difference sampling
makes (derived next to the check), and count tests allow 4 standard errors
estimated from independent sessions. The dominant-frequency estimator here is
independent of the simulator's own calibration: the peak of the summed 3-axis
periodogram, zero-padded to 0.004 Hz resolution at 1000 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.simulate import PROFILES, plan_session
from twitchsense.simulate import waveforms as W
from twitchsense.simulate.plan import BOUT_MEAN_S, PAUSE_MEAN_S, PAUSE_RATE_FACTOR, bout_spans, twitch_onsets
from twitchsense.simulate.profiles import EVENT_CLASSES
from twitchsense.simulate.render import example_event

FS = 1000.0  # analysis rate: well above every smooth class's band
FS_IMPACT = 10_000.0  # impact trains: jolts with a 1 ms rise need a finer grid (see IMPACT_TRAINS)
DRAWS = 25

# documented ranges (docs/physiology.md; look-alikes marked "ours" are docs/simulator.md's own figures);
# frequency None = not a single-frequency signal
DOC = {
    "myoclonic": dict(peak=(0.05, 1.0), freq=(5, 15), dur=(0.05, 0.4)),
    "hypnic": dict(peak=(0.3, 1.5), freq=(3, 8), dur=(0.1, 0.5)),
    "fasciculation": dict(peak=(0.01, 0.06), freq=(12, 30), dur=(0.02, 0.1)),
    "tic": dict(peak=(0.1, 1.0), freq=(3, 10), dur=(0.1, 1.0)),
    # "seconds long"; the label starts at the onset flick, 0.5-2 s before the movement
    "posture": dict(peak=(0.05, 0.5), freq=(0.3, 2.0), dur=(0.5, 10.0)),
    "gesture": dict(peak=(0.05, 0.5), freq=(0.3, 2.0), dur=(0.5, 10.0)),
    "brushing": dict(peak=(0.01, 0.1), freq=(3, 10), dur=(10.0, 1e9)),
    "tremor": dict(peak=(0.02, 0.3), freq=(3, 12), dur=(20.0, 1e9)),  # "tens of seconds or more"
    "walk": dict(peak=(0.2, 1.6), freq=(1.6, 2.2), dur=(10.0, 1e9)),  # steps 0.2-0.6 g + heel strikes 0.3-1 g
    "run": dict(peak=(0.6, 4.5), freq=(2.5, 3.2), dur=(10.0, 1e9)),  # ours: steps 0.6-1.5 g + heel strikes 1-3 g
    "typing": dict(peak=(0.02, 0.2), freq=None, dur=(5.0, 1e9)),  # impacts at the skin
    "fidget": dict(peak=(0.01, 0.1), freq=None, dur=(5.0, 1e9)),
    "knock": dict(peak=(0.5, 4.0), freq=None, dur=(0.0, 0.02)),  # "often several g", < 20 ms
    "clap": dict(peak=(0.5, 8.0), freq=None, dur=(0.5, 10.0)),
    "tapping": dict(peak=(0.03, 0.3), freq=None, dur=(3.0, 1e9)),  # ours
    "fidget-spikes": dict(peak=(0.05, 0.3), freq=None, dur=(5.0, 1e9)),  # ours
    "mouse": dict(peak=(0.01, 0.3), freq=None, dur=(5.0, 1e9)),  # ours
    "phone": dict(peak=(0.005, 0.1), freq=None, dur=(5.0, 1e9)),  # ours
    "eating": dict(peak=(0.05, 0.5), freq=None, dur=(5.0, 1e9)),  # ours
    "gesturing": dict(peak=(0.05, 0.5), freq=None, dur=(5.0, 1e9)),  # ours
    "jump": dict(peak=(1.0, 3.0), freq=None, dur=(0.7, 6.0)),  # dynamic part at the waist; 2-4 g with gravity
    "sit-hard": dict(peak=(1.0, 3.0), freq=None, dur=(1.0, 3.0)),
}
#: Classes whose peak is an impact jolt (a rise of 1 ms or more): sampled at FS_IMPACT, a jolt
#: ``x exp(1 - x)`` loses at most ``(dt / 2 tau)**2 / 2`` of its peak between samples, under 0.2 %.
IMPACT_TRAINS = ("typing", "tapping", "fidget-spikes")
IMPACT_LOSS = 0.002
#: The highest frequency of each smooth class with a documented frequency (its band's top, plus the
#: 15 % upward glide of twitches); a sample at FS misses a peak by at most ``(pi f / FS)**2 / 2``.
F_MAX = {name: (d["freq"][1] * (1 + W.SHAPE_RANGES["glide"][1]) if d["freq"] else 0.0) for name, d in DOC.items()}
FREQ_TOL = 0.01  # 1 % of the band edge: the periodogram's resolution and the carrier calibration (both < 0.1 %)


def dominant_frequency(acc: np.ndarray, fs: float) -> float:
    nfft = max(1 << 18, 1 << int(np.ceil(np.log2(len(acc) * 4))))
    power = (np.abs(np.fft.rfft(acc, nfft, axis=0)) ** 2).sum(axis=1)
    return float(np.fft.rfftfreq(nfft, 1 / fs)[np.argmax(power)])


def test_every_class_has_documented_ranges():
    assert set(EVENT_CLASSES) == set(DOC)


@pytest.mark.parametrize("name", sorted(DOC))
def test_amplitude_duration_and_frequency_in_documented_range(name):
    doc = DOC[name]
    fs = FS_IMPACT if name in IMPACT_TRAINS else FS
    loss = IMPACT_LOSS if name in IMPACT_TRAINS else 0.5 * (np.pi * F_MAX[name] / FS) ** 2
    peaks = []
    for seed in range(DRAWS):
        t, acc, row = example_event(name, seed, fs, max_duration_s=8.0 if name in IMPACT_TRAINS else 25.0)
        assert row["label"] == ("twitch" if name in W.TWITCH_KINDS else name)
        peak = row["peak_g"]
        assert doc["peak"][0] * (1 - loss) <= peak <= doc["peak"][1] * (1 + 1e-9), (seed, peak)
        if name not in ("eating", "gesturing"):  # their peak is their bites' or strokes' (own events)
            assert peak == pytest.approx(np.linalg.norm(acc, axis=1).max(), abs=1e-6)
        if name not in ("walk", "run", "typing", "fidget", "brushing", "tremor", "tapping", "fidget-spikes", "mouse",
                        "phone", "eating", "gesturing"):  # bouts were shortened
            assert doc["dur"][0] <= row["duration"] <= doc["dur"][1], (seed, row["duration"])
        if doc["freq"]:
            f = dominant_frequency(acc, fs)
            lo, hi = doc["freq"]
            assert lo * (1 - FREQ_TOL) <= f <= hi * (1 + FREQ_TOL), (seed, f)
        peaks.append(peak)
    # the draws spread over the range, not one corner of it
    span = doc["peak"][1] - doc["peak"][0]
    assert np.ptp(peaks) > 0.3 * span or name in ("walk", "run", "clap", "gesturing", "eating")


def test_twitch_shapes_vary_within_their_ranges():
    # no single envelope, carrier phase or glide marks a twitch: each shape figure spreads over its range
    rng = np.random.default_rng(4)
    draws = [W.draw_twitch(k, rng) for k in W.TWITCH_KINDS for _ in range(60)]
    for key, (lo, hi) in W.SHAPE_RANGES.items():
        got = np.array([getattr(p, key) for p in draws])
        if key == "phase":
            got = got[got != 0.0]  # a phase that moved the spectral peak off the carrier falls back to 0
            assert got.size > 0.9 * len(draws)
        assert lo - 1e-9 <= got.min() and got.max() <= hi + 1e-9
        assert np.ptp(got) > 0.8 * (hi - lo), key


@pytest.mark.parametrize("kind", sorted(W.TREMOR_BANDS))
def test_tremor_frequency_matches_its_type(kind):
    lo, hi = W.TREMOR_BANDS[kind]
    for seed in range(10):
        _, acc, row = example_event("tremor", seed, 200.0, max_duration_s=20.0, kind=kind)
        assert row["kind"] == kind
        assert lo <= dominant_frequency(acc, 200.0) <= hi


def test_long_bouts_have_their_documented_length():
    # tremor "tens of seconds or more": every complete bout in a long session lasts 20 s or more
    plan = plan_session("tremor", 120, seed=1)
    tremor = [e for e in plan.events if e.label == "tremor"]
    assert len(tremor) >= 10 and all(e.duration >= 20 for e in tremor[:-1])
    walks = [e for e in plan_session("walking", 120, seed=1).events if e.label == "walk"]
    assert len(walks) >= 10 and np.median([e.duration for e in walks]) > 60


def _above_30hz(acc: np.ndarray, fs: float) -> float:
    p = (np.abs(np.fft.rfft(acc, 1 << 14, axis=0)) ** 2).sum(axis=1)
    return float(p[np.fft.rfftfreq(1 << 14, 1 / fs) > 30].sum() / p.sum())


def test_walking_has_heel_strikes_and_knocks_are_broadband():
    _, acc, _ = example_event("walk", 3, FS, max_duration_s=20.0)
    power = (np.abs(np.fft.rfft(acc, axis=0)) ** 2).sum(axis=1)
    f = np.fft.rfftfreq(len(acc), 1 / FS)
    assert power[(f >= 15) & (f <= 25)].sum() > 0.02 * power.sum()  # heel-strike band
    for seed in range(10):
        _, acc, row = example_event("knock", seed, FS)
        assert _above_30hz(acc, FS) > 0.5  # "energy above 30 Hz": most of it, where the sensor sees it
        assert row["duration"] < 0.02 + 1e-9
        # at 100 Hz the band above 30 Hz is 40 % of what the sensor sees: a knock is at least as
        # broadband as a white spectrum (an ideal impulse) there
        _, acc, _ = example_event("knock", seed, 100.0)
        assert _above_30hz(acc, 100.0) >= 1 - 30 / 50


def test_fidget_trains_come_at_3_to_10_per_second():
    lo, hi = W.RANGES["fidget"]["rate_hz"]
    ratios = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rate, freq = rng.uniform(lo, hi), rng.uniform(*W.RANGES["fidget"]["freq_hz"])
        assert lo <= rate <= hi
        times = W.transient_times(rate, 60.0, freq, seed)
        iv = np.diff(times)
        assert iv.min() >= 0.04 - 1e-12  # the 40 ms refractory time
        # the process's mean interval is 1 / rate: 4 standard errors of the mean interval (sd <= mean)
        assert abs(iv.mean() * rate - 1) < 4 / np.sqrt(iv.size)
        ratios.append(len(times) / 60.0 / rate)
    assert np.mean(ratios) == pytest.approx(1.0, abs=4 * np.std(ratios, ddof=1) / np.sqrt(len(ratios)))


def test_typing_is_rhythmic_bursts_of_keys():
    r = W.RANGES["typing"]
    for seed in range(20):
        rng = np.random.default_rng(seed)
        rate = float(rng.uniform(*r["rate_hz"]))
        bursts = W.typing_bursts(rng, rate, 600.0, r["keys"], r["pause_s"])
        sizes = np.array([b.size for b in bursts])
        assert sizes[:-1].min() >= r["keys"][0] and sizes.max() <= r["keys"][1]  # the last one may be cut
        pauses = np.array([b[0] - a[-1] for a, b in zip(bursts, bursts[1:])])
        assert pauses.min() >= r["pause_s"][0] and pauses.max() <= r["pause_s"][1] + 1e-9
        # in-burst intervals are log-normal with mean 1 / rate (CV 0.35): 4 standard errors
        keys = np.concatenate([np.diff(b) for b in bursts])
        assert abs(keys.mean() * rate - 1) < 4 * 0.35 / np.sqrt(keys.size)


def test_keystrokes_are_broadband_impacts_not_bursts():
    # a keystroke is one short impact: under 30 ms above 10 % of its peak, with a spectrum that falls
    # from its lowest frequencies (no peak in 12-30 Hz, where a fasciculation has its ripple)
    r = W.RANGES["typing"]
    t = np.arange(0, 0.5, 1 / FS)
    for decay in np.linspace(*r["decay_s"], 6):
        key = W.impact_shape(t, decay, FS)
        assert np.count_nonzero(key > 0.1 * key.max()) <= 0.030 * FS
        p = np.abs(np.fft.rfft(key, 1 << 14)) ** 2
        f = np.fft.rfftfreq(1 << 14, 1 / FS)
        assert np.all(np.diff(p[(f >= 0.5) & (f <= 60)]) <= 1e-12 * p.max())
    for seed in range(5):  # and in a bout, the keys' peaks are short too
        _, acc, _ = example_event("typing", seed, FS, max_duration_s=10.0)
        above = np.linalg.norm(acc, axis=1) > 0.1 * np.linalg.norm(acc, axis=1).max()
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], above.astype(int), [0]]))))[::2]
        assert np.median(runs) <= 0.030 * FS


def test_breathing_and_heartbeat_are_a_few_mg_at_their_rates():
    t = np.arange(0, 120, 1 / 50.0)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        fb, fh = rng.uniform(0.2, 0.3), rng.uniform(1.0, 1.5)
        b = W.breathing(t, fb, 0.004)
        h = W.heartbeat(t, fh, 0.002)
        assert 0.001 <= np.abs(b).max() <= 0.005 and 0.001 <= np.abs(h).max() <= 0.003
        assert dominant_frequency(b, 50.0) == pytest.approx(fb, abs=0.01)
        assert dominant_frequency(h, 50.0) == pytest.approx(fh, abs=0.02)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_twitch_rate_per_profile_matches(profile):
    # independent sessions; the mean count is within 4 standard errors (from the sessions' own spread)
    prof = PROFILES[profile]
    minutes, sessions = (120.0, 12) if prof.twitch_bouts else (240.0, 8)
    counts = np.array([len(plan_session(profile, minutes, seed).twitches) for seed in range(100, 100 + sessions)])
    expected = prof.twitch_rate_per_min * minutes
    if expected == 0:
        assert counts.sum() == 0
        return
    se = counts.std(ddof=1) / np.sqrt(sessions)
    assert abs(counts.mean() - expected) < 4 * se, (counts.mean(), expected, se)


def test_the_bout_process():
    # bouts and pauses: exponential, means 90 s and 180 s, alternating, contiguous, started stationary
    rng = np.random.default_rng(3)
    spans = [bout_spans(3600.0, rng) for _ in range(200)]
    for s in spans[:20]:
        assert s[0][0] == 0 and s[-1][1] == 3600.0
        assert all(a[1] == b[0] and a[2] != b[2] for a, b in zip(s, s[1:]))
    # lengths of whole spans (the last one of each hour is cut): mean and exponential spread
    for inside, mean in ((True, BOUT_MEAN_S), (False, PAUSE_MEAN_S)):
        d = np.array([b - a for s in spans for a, b, i in s[:-1] if i == inside])
        assert abs(d.mean() - mean) < 4 * mean / np.sqrt(d.size)
        assert d.std() / d.mean() == pytest.approx(1.0, abs=4 / np.sqrt(d.size))  # exponential: CV 1
    f_in = BOUT_MEAN_S / (BOUT_MEAN_S + PAUSE_MEAN_S)
    starts = np.array([s[0][2] for s in spans])
    assert abs(starts.mean() - f_in) < 4 * np.sqrt(f_in * (1 - f_in) / starts.size)


def test_twitches_come_15_times_less_often_between_bouts():
    # the onsets of a bursty profile, against the bout process that made them (the same generator)
    prof = PROFILES["frequent-twitching"]
    inside = outside = t_in = t_out = 0.0
    for seed in range(40):
        spans = bout_spans(3600.0, np.random.default_rng(seed))
        onsets = twitch_onsets(prof, 3600.0, np.random.default_rng(seed))
        for a, b, i in spans:
            k = np.count_nonzero((onsets >= a) & (onsets < b))
            inside, t_in = (inside + k, t_in + b - a) if i else (inside, t_in)
            outside, t_out = (outside, t_out) if i else (outside + k, t_out + b - a)
    r_in, r_out = inside / t_in, outside / t_out
    # the ratio's standard error from the two Poisson counts
    ratio = r_out / r_in
    se = ratio * np.sqrt(1 / inside + 1 / outside)
    assert abs(ratio - PAUSE_RATE_FACTOR) < 4 * se, (ratio, se)


def test_twitch_timing_is_occasional_or_bursty_as_documented():
    def dispersion(profile: str, skip_tics: bool = False) -> float:
        plan = plan_session(profile, 600, seed=7)
        onsets = np.array([e.start for e in plan.twitches if not (skip_tics and e.kind == "tic")])
        per_min = np.bincount((onsets // 60).astype(int), minlength=600)
        return per_min.var() / per_min.mean()

    assert dispersion("rest", skip_tics=True) < 1.3  # Poisson-like (tics come in runs, see below)
    assert dispersion("sleep-onset") < 1.3
    assert dispersion("frequent-twitching") > 3.0  # bouts: over-dispersed counts
    plan = plan_session("frequent-twitching", 120, seed=3)
    starts = np.array([e.start for e in plan.twitches])
    ends = starts + np.array([e.duration for e in plan.twitches])
    assert np.all(starts[1:] > ends[:-1])  # twitches never overlap


def test_twitch_kind_mix_follows_the_profile():
    plan = plan_session("sleep-onset", 600, seed=2)
    kinds = [e.kind for e in plan.twitches]
    share = {k: kinds.count(k) / len(kinds) for k in set(kinds)}
    for k, w in PROFILES["sleep-onset"].twitch_kinds.items():  # binomial: 4 standard errors
        assert share.get(k, 0) == pytest.approx(w, abs=4 * np.sqrt(w * (1 - w) / len(kinds)))
    assert "hypnic" not in {e.kind for e in plan_session("desk-work", 300, seed=2).twitches}


def test_look_alikes_do_not_collide_with_twitches():
    plan = plan_session("healthy-day", 240, seed=4)
    tw = [(e.start, e.start + e.duration) for e in plan.twitches]
    for e in plan.events:
        if e.label in ("knock", "clap", "gesture", "jump", "sit-hard", "transient"):
            assert not any(a < e.start + e.duration and e.start < b for a, b in tw)


def test_a_slow_sensor_barely_sees_fast_twitches():
    # the anti-alias filter: a fasciculation at 25 Hz sampling keeps little of its peak; at 100 Hz nearly all
    peaks = {}
    for rate in (25.0, 100.0, 1000.0):
        got = [example_event("fasciculation", seed, rate)[2]["peak_g"] for seed in range(10)]
        peaks[rate] = np.array(got)
    assert np.all(peaks[25.0] < 0.6 * peaks[1000.0])
    assert np.all(peaks[100.0] > 0.75 * peaks[1000.0])
    assert W.band_limit_gain(30.0, 100.0) > 0.97 and W.band_limit_gain(20.0, 25.0) < 0.15


def test_tics_often_come_in_short_runs():
    plan = plan_session("walking", 600, seed=5)
    tics = np.array([e.start for e in plan.twitches if e.kind == "tic"])
    others = np.array([e.start for e in plan.twitches if e.kind != "tic"])
    gap_tic = np.diff(tics)
    assert np.mean(gap_tic < 3.0) > 0.3  # many tics follow another within seconds
    assert np.mean(np.diff(others) < 3.0) < 0.1  # other twitches are spread out (0.3/min)
