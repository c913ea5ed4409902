""""Still" is defined once (the context's activity level): the detector's context, the injector and
the alert engine's not-worn rule see it in the same places."""

from __future__ import annotations

import numpy as np

from twitchsense.alerts import AlertEngine, parse_rules
from twitchsense.detection.config import DetectorConfig
from twitchsense.detection.context import ActivityMeter, activity_levels, is_still
from twitchsense.detection.engine import DetectionEngine
from twitchsense.detection.features import WindowFeatures
from twitchsense.simulate import still_mask

from handmade import handmade, rule_file


def moving_then_still() -> tuple:
    """Quiet, 10 s of light 6 Hz movement (0.03 g), quiet again; 100 Hz, the detector's own rate."""
    rec = handmade(120, minutes=0.75, n_twitch=0, tremor=False)
    light = (rec.t >= 15.0) & (rec.t < 25.0)
    rec.acc[light, 0] += 0.03 * np.sin(2 * np.pi * 6.0 * rec.t[light])
    return rec


def test_the_injector_finds_still_where_the_context_says_rest():
    rec = moving_then_still()
    eng = DetectionEngine(WindowFeatures(), DetectorConfig(), rec.sample_rate_hz)
    eng.push(rec.t, rec.acc)
    eng.flush()
    rest = np.zeros(rec.n_samples, dtype=bool)
    for span in eng.context_spans():
        if span.state == "rest":
            rest |= (rec.t >= span.start - 1e-9) & (rec.t < span.end - 1e-9)
    mask = still_mask(rec)
    # the median over 2.25 s rises once movement fills half of it
    assert 0.4 < mask.mean() < 0.9 and not mask[(rec.t >= 16.5) & (rec.t < 25.0)].any()
    # the mask leaves the ends out; the context calls the first 2.25 s "cannot tell" (no past)
    inside = (rec.t >= DetectorConfig().start_unjudged_s) & (rec.t < rec.t[-1] - 0.3)
    assert np.array_equal(mask[inside], rest[inside])


def test_not_worn_measures_movement_as_the_context_does():
    """The rule's still_g on the activity level: the light movement is movement at 0.01 g, and
    stillness at 0.05 g, exactly as the block levels say."""
    rec = moving_then_still()
    levels, _ = activity_levels(rec.acc, rec.sample_rate_hz)
    moving = ~is_still(levels, 0.01)
    assert moving.any() and is_still(levels, 0.05).all()
    for still_g, expect_last in ((0.01, 0.25 * (np.flatnonzero(moving)[-1] + 1)), (0.05, None)):
        rules = parse_rules(rule_file({"name": "nw", "kind": "not-worn", "level": "info", "minutes": 60,
                                       "still_g": still_g}))
        eng = AlertEngine(rules, meta={"sample_rate_hz": 100.0})
        for i in range(0, rec.n_samples, 25):  # 0.25 s chunks: each chunk completes one block
            eng.on_samples(rec.t[i:i + 25], rec.acc[i:i + 25])
        last = eng._last_movement_t
        assert (last is None) if expect_last is None else abs(last - (expect_last - 0.01)) < 1e-9


def test_activity_levels_are_the_same_however_the_samples_arrive():
    rec = moving_then_still()
    whole, _ = activity_levels(rec.acc, rec.sample_rate_hz)
    meter = ActivityMeter(rec.sample_rate_hz, rec.acc[0])
    pieces = [meter.push(rec.acc[i:i + n])[1] for i, n in ((0, 7), (7, 1000), (1007, 1), (1008, 10_000))]
    np.testing.assert_array_equal(np.concatenate(pieces), whole[:sum(p.size for p in pieces)])


def test_still_around_needs_every_block_within_two_seconds_either_side_under_30_mg():
    from twitchsense.simulate.inject import still_around

    rec = moving_then_still()
    rec.acc[(rec.t >= 15.0) & (rec.t < 25.0), 0] *= 3.0  # 0.09 g: clearly moving
    mask = still_around(rec)
    assert not mask[(rec.t >= 13.2) & (rec.t < 26.8)].any()  # within 2 s of the movement
    assert mask[(rec.t >= 3.0) & (rec.t < 12.5)].all() and mask[(rec.t >= 28.0) & (rec.t < 42.0)].all()
    assert not mask[rec.t < 2.0].any() and not mask[rec.t > rec.t[-1] - 2.0].any()  # no past or future to judge


def test_twitches_injected_where_asked_keep_their_distance():
    from twitchsense.simulate import inject_twitches
    from twitchsense.simulate.inject import still_around

    rec = handmade(121, minutes=3.0, n_twitch=0, tremor=False)
    where = still_around(rec)
    where[(rec.t >= 60.0) & (rec.t < 120.0)] = False
    out = inject_twitches(rec, 3, rate_per_min=20.0, where=where, min_gap_s=4.5)
    tw = out.labels[out.labels["label"] == "twitch"]
    assert len(tw) >= 10
    assert not ((tw["onset"] >= 59.0) & (tw["onset"] < 120.0)).any()
    gaps = tw["onset"].to_numpy()[1:] - (tw["onset"] + tw["duration"]).to_numpy()[:-1]
    assert gaps.min() >= 4.5
