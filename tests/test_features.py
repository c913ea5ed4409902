"""The window-feature transformer: sklearn API, physical meaning, amplitude awareness."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from twitchsense.detection.features import WindowFeatures

from handmade import damped

# Checks that feed generic tabular data (2-10 columns) cannot apply: a row must hold
# 3 axes x the row length of signal. Everything else in sklearn's suite must pass.
LAYOUT = "rows must be 3 x row_samples of signal; generic tabular test data does not apply"
NOT_APPLICABLE = {name: LAYOUT for name in [
    "check_n_features_in_after_fitting", "check_positive_only_tag_during_fit", "check_estimators_dtypes",
    "check_dtype_object", "check_pipeline_consistency", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_transformer_data_not_an_array", "check_transformer_general",
    "check_transformer_preserve_dtypes", "check_methods_sample_order_invariance",
    "check_methods_subset_invariance", "check_fit2d_1sample", "check_fit2d_1feature", "check_dict_unchanged",
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
    "check_readonly_memmap_input", "check_estimators_overwrite_params", "check_estimators_fit_returns_self",
   
   
   
    "check_dont_overwrite_parameters", "check_fit_score_takes_y", "check_n_features_in_after_fitting",
]}


def test_sklearn_estimator_checks_where_they_apply():
    check_estimator(WindowFeatures(rate_hz=10, window_s=0.4, context_s=1.0),
                    expected_failed_checks=NOT_APPLICABLE)


def _rows(amps, f=9.0, tau=0.05, noise=0.003, seed=0, wf=None):
    wf = wf or WindowFeatures()
    L = wf.row_samples
    t = np.arange(L) / wf.rate_hz
    rng = np.random.default_rng(seed)
    R = rng.normal(0, noise, (len(amps), 3, L)) + np.array([0, 0, 1.0])[None, :, None]
    for i, a in enumerate(amps):
        R[i, 0] += a * damped(t - wf.before_samples / wf.rate_hz + 0.03, f, tau)
    return R.reshape(len(amps), -1)


def test_features_are_named_finite_and_amplitude_aware():
    wf = WindowFeatures().fit(_rows([0.1]))
    X = wf.transform(_rows([0.02, 0.1, 0.5]))
    names = list(wf.get_feature_names_out())
    assert X.shape == (3, len(names)) and np.isfinite(X).all()
    pk = X[:, names.index("log_peak_g")]
    true_peak = np.array([0.02, 0.1, 0.5]) * np.abs(damped(np.arange(0, 0.3, 0.01), 9.0, 0.05)).max()
    assert np.allclose(10 ** pk, true_peak, rtol=0.25)
    assert np.all(np.diff(X[:, names.index("log_crest")]) > 0)
    # a 9 Hz event puts its power in the 8-15 Hz band
    assert abs(X[2, names.index("spectral_centroid_hz")] - 9.0) < 2.0
    X = wf.transform(_rows([0.5], f=12.0))
    i = np.argmax(X[0, [names.index(n) for n in names if n.startswith("band_")]])
    assert [n for n in names if n.startswith("band_")][i] == "band_8_15hz_share"


def test_periodic_surroundings_are_seen_as_tremor():
    wf = WindowFeatures().fit(_rows([0.1]))
    L = wf.row_samples
    t = np.arange(L) / 100.0
    tremor = np.zeros((1, 3, L)) + np.array([0, 0, 1.0])[None, :, None]
    tremor[0, 1] += 0.05 * np.sin(2 * np.pi * 6 * t)
    F_tremor = wf.transform(tremor.reshape(1, -1))
    F_twitch = wf.transform(_rows([0.1]))
    k = list(wf.get_feature_names_out()).index("tremor_periodicity")
    assert F_tremor[0, k] > 0.8 > F_twitch[0, k]
    assert abs(F_tremor[0, k + 1] - 1 / 6) < 0.02  # tremor_period_s


def test_rows_of_the_wrong_length_are_refused():
    with pytest.raises(ValueError, match="each row must hold 3 x 290 samples"):
        WindowFeatures().fit(np.zeros((2, 30)))
    wf = clone(WindowFeatures(window_s=0.3)).fit(_rows([0.1]))
    assert wf.n_features_out_ == len(wf.get_feature_names_out())


def test_the_surroundings_add_up_in_the_trained_order_bit_for_bit():
    """The fast cut of the surroundings gives the values *and the sums* of boolean indexing:
    its layout makes numpy add in the same order, so the features stay those the model learnt."""
    from twitchsense.detection.features import _surroundings

    rng = np.random.default_rng(3)
    L, before, after = 290, 225, 275
    ctx = np.ones(L, dtype=bool)
    ctx[before:after] = False
    R = rng.normal(0, 0.3, (37, 3, L)) + 1.0
    hp = rng.normal(0, 0.1, (37, 3, L))[..., ::-1]  # a reversed view, as sosfiltfilt returns
    ref, got = R[:, :, ctx] - hp[:, :, ctx], _surroundings(R, before, after, minus=hp)
    assert np.array_equal(got, ref)
    for stat in (lambda a: np.var(a, axis=-1), lambda a: a[..., :before].mean(axis=-1),
                 lambda a: a[..., before:].mean(axis=-1)):
        assert np.array_equal(stat(got), stat(ref))
    mag = np.sqrt((hp ** 2).sum(axis=1))
    ref, got = mag[:, ctx] ** 2, _surroundings(mag, before, after) ** 2
    assert np.array_equal(np.mean(got, axis=1), np.mean(ref, axis=1))
    assert np.array_equal(np.mean(got[:, :before], axis=1), np.mean(ref[:, :before], axis=1))
