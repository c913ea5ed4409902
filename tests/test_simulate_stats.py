"""Statistical checks of the simulator against the documented ranges (docs/physiology.md).

Many seeded draws per class: amplitude, duration and dominant frequency of every
twitch class and look-alike fall in range; twitch rates per profile match; the
timing process is bursty where it should be. The dominant-frequency estimator
here is independent of the simulator's own calibration: the peak of the summed
3-axis periodogram, zero-padded to 0.004 Hz resolution at 1000 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest

from twitchsense.simulate import PROFILES, plan_session
from twitchsense.simulate import waveforms as W
from twitchsense.simulate.profiles import EVENT_CLASSES
from twitchsense.simulate.render import example_event

FS = 1000.0  # analysis rate: well above every class's band
DRAWS = 25

# documented ranges (docs/physiology.md); frequency None = not a single-frequency signal
DOC = {
    "myoclonic": dict(peak=(0.05, 1.0), freq=(5, 15), dur=(0.05, 0.4)),
    "hypnic": dict(peak=(0.3, 1.5), freq=(3, 8), dur=(0.1, 0.5)),
    "fasciculation": dict(peak=(0.01, 0.06), freq=(12, 30), dur=(0.02, 0.1)),
    "tic": dict(peak=(0.1, 1.0), freq=(3, 10), dur=(0.1, 1.0)),
    "posture": dict(peak=(0.05, 0.5), freq=(0.3, 2.0), dur=(0.5, 10.0)),  # "seconds long"
    "gesture": dict(peak=(0.05, 0.5), freq=(0.3, 2.0), dur=(0.5, 10.0)),
    "brushing": dict(peak=(0.01, 0.1), freq=(3, 10), dur=(10.0, 1e9)),
    "tremor": dict(peak=(0.02, 0.3), freq=(3, 12), dur=(20.0, 1e9)),  # "tens of seconds or more"
    "walk": dict(peak=(0.2, 1.6), freq=(1.6, 2.2), dur=(10.0, 1e9)),  # steps 0.2-0.6 g + heel strikes 0.3-1 g
    "run": dict(peak=(0.6, 4.5), freq=(2.5, 3.2), dur=(10.0, 1e9)),  # not in docs/physiology.md: our own figures
    "typing": dict(peak=(0.01, 0.1), freq=None, dur=(5.0, 1e9)),
    "fidget": dict(peak=(0.01, 0.1), freq=None, dur=(5.0, 1e9)),
    "knock": dict(peak=(0.5, 4.0), freq=None, dur=(0.0, 0.02)),  # "often several g", < 20 ms
    "clap": dict(peak=(0.5, 8.0), freq=None, dur=(0.5, 10.0)),
}
FREQ_TOL = 0.02  # 2 % of the band edge: periodogram resolution and the carrier calibration


def dominant_frequency(acc: np.ndarray, fs: float) -> float:
    nfft = max(1 << 18, 1 << int(np.ceil(np.log2(len(acc) * 4))))
    power = (np.abs(np.fft.rfft(acc, nfft, axis=0)) ** 2).sum(axis=1)
    return float(np.fft.rfftfreq(nfft, 1 / fs)[np.argmax(power)])


def test_every_class_has_documented_ranges():
    assert set(EVENT_CLASSES) == set(DOC)


@pytest.mark.parametrize("name", sorted(DOC))
def test_amplitude_duration_and_frequency_in_documented_range(name):
    doc = DOC[name]
    peaks, durs = [], []
    for seed in range(DRAWS):
        t, acc, row = example_event(name, seed, FS, max_duration_s=25.0)
        assert row["label"] == ("twitch" if name in W.TWITCH_KINDS else name)
        peak = row["peak_g"]
        assert doc["peak"][0] * 0.97 <= peak <= doc["peak"][1] * 1.0001, (seed, peak)
        assert peak == pytest.approx(np.linalg.norm(acc, axis=1).max(), abs=1e-6)
        if name not in ("walk", "run", "typing", "fidget", "brushing", "tremor"):  # bouts were shortened
            assert doc["dur"][0] <= row["duration"] <= doc["dur"][1], (seed, row["duration"])
        if doc["freq"]:
            f = dominant_frequency(acc, FS)
            lo, hi = doc["freq"]
            assert lo * (1 - FREQ_TOL) <= f <= hi * (1 + FREQ_TOL), (seed, f)
        peaks.append(peak)
        durs.append(row["duration"])
    # the draws spread over the range, not one corner of it
    span = doc["peak"][1] - doc["peak"][0]
    assert np.ptp(peaks) > 0.3 * span or name in ("walk", "run", "clap")


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


def test_walking_has_heel_strikes_and_knocks_are_broadband():
    _, acc, _ = example_event("walk", 3, FS, max_duration_s=20.0)
    power = (np.abs(np.fft.rfft(acc, axis=0)) ** 2).sum(axis=1)
    f = np.fft.rfftfreq(len(acc), 1 / FS)
    assert power[(f >= 15) & (f <= 25)].sum() > 0.02 * power.sum()  # heel-strike band
    for seed in range(10):
        for fs in (FS, 100.0):
            _, acc, row = example_event("knock", seed, fs)
            p = (np.abs(np.fft.rfft(acc, 1 << 14, axis=0)) ** 2).sum(axis=1)
            ff = np.fft.rfftfreq(1 << 14, 1 / fs)
            # energy above 30 Hz: most of it at 1 kHz; at 100 Hz a near-impulse (flat: 40 % of 0-50 Hz)
            assert p[ff > 30].sum() > (0.5 if fs == FS else 0.3) * p.sum()
            assert row["duration"] < 0.02 + 1e-9


@pytest.mark.parametrize("name", ["typing", "fidget"])
def test_trains_come_at_3_to_10_per_second(name):
    rates = []
    for seed in range(20):
        r = W.RANGES[name]
        rng = np.random.default_rng(seed)
        rate, freq = rng.uniform(*r["rate_hz"]), rng.uniform(*r["freq_hz"])
        times = W.transient_times(rate, 60.0, freq, seed)
        measured = len(times) / 60.0
        assert 3.0 * 0.8 <= measured <= 10.0 * 1.15
        rates.append(measured / rate)
        assert np.diff(times).min() >= 0.04 - 1e-12
    assert np.mean(rates) == pytest.approx(1.0, abs=0.05)


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
    prof = PROFILES[profile]
    minutes = 600.0
    counts = [len(plan_session(profile, minutes, seed).twitches) for seed in (1, 2, 3)]
    rate = np.sum(counts) / (3 * minutes)
    if prof.twitch_rate_per_min == 0:
        assert rate == 0
        return
    # Poisson: sd = sqrt(N); bouts multiply the variance (a few-fold); 4 sd plus kinds dropped at the ends
    expected = prof.twitch_rate_per_min * 3 * minutes
    sd = np.sqrt(expected) * (4.0 if prof.twitch_bouts else 1.0)
    assert abs(np.sum(counts) - expected) < 4 * sd + 0.02 * expected, (rate, prof.twitch_rate_per_min)


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
    for k, w in PROFILES["sleep-onset"].twitch_kinds.items():
        assert share.get(k, 0) == pytest.approx(w, abs=0.06)
    assert "hypnic" not in {e.kind for e in plan_session("desk-work", 300, seed=2).twitches}


def test_look_alikes_do_not_collide_with_twitches():
    plan = plan_session("healthy-day", 240, seed=4)
    tw = [(e.start, e.start + e.duration) for e in plan.twitches]
    for e in plan.events:
        if e.label in ("knock", "clap", "gesture"):
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
