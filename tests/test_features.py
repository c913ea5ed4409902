"""The window-feature transformer: sklearn API, physical meaning, amplitude awareness."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from twitchsense.detection.features import WindowFeatures

from handmade import damped

# Checks that feed generic tabular data (2-10 columns) cannot run as they are: a row must hold 3 axes x
# the row length of signal. Each is run on valid rows below instead (the test named beside it); only
# the one-feature fit is the layout itself (a row of the wrong length is refused).
ON_VALID_ROWS = {
    "check_n_features_in": "test_fit_sets_n_features_in_and_transform_checks_it",
    "check_n_features_in_after_fitting": "test_fit_sets_n_features_in_and_transform_checks_it",
    "check_fit2d_1feature": "test_rows_of_the_wrong_length_are_refused",
    "check_fit2d_predict1d": "test_fit_sets_n_features_in_and_transform_checks_it",
    "check_positive_only_tag_during_fit": "test_transform_of_valid_rows_is_a_pure_function_of_each_row",
    "check_estimators_dtypes": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_dtype_object": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_f_contiguous_array_estimator": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_transformer_data_not_an_array": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_readonly_memmap_input": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_transformer_preserve_dtypes": "test_any_numeric_dtype_and_array_layout_gives_the_same_features",
    "check_estimators_nan_inf": "test_nan_and_inf_are_refused_with_a_clear_error",
    "check_estimators_pickle": "test_pickle_and_skops_round_trips_give_the_same_features",
    "check_transformer_general": "test_transform_of_valid_rows_is_a_pure_function_of_each_row",
    "check_methods_sample_order_invariance": "test_transform_of_valid_rows_is_a_pure_function_of_each_row",
    "check_methods_subset_invariance": "test_transform_of_valid_rows_is_a_pure_function_of_each_row",
    "check_fit2d_1sample": "test_transform_of_valid_rows_is_a_pure_function_of_each_row",
    "check_pipeline_consistency": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_fit_idempotent": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_estimators_fit_returns_self": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_estimators_overwrite_params": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_dont_overwrite_parameters": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_fit_score_takes_y": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_dict_unchanged": "test_fit_is_idempotent_returns_self_and_changes_no_parameter",
    "check_fit_check_is_fitted": "test_fit_sets_n_features_in_and_transform_checks_it",
}
NOT_APPLICABLE = {name: f"rows must be 3 x row_samples of signal: run on valid rows in {test}"
                  for name, test in ON_VALID_ROWS.items()}


def test_sklearn_estimator_checks_where_they_apply():
    check_estimator(WindowFeatures(rate_hz=10, window_s=0.4, context_s=1.0),
                    expected_failed_checks=NOT_APPLICABLE)


def test_every_check_skipped_above_runs_on_valid_rows():
    tests = {name for name in globals() if name.startswith("test_")}
    assert set(ON_VALID_ROWS.values()) <= tests


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


# ---- the layout-free estimator checks, on valid rows ---------------------------------------------------
@pytest.fixture(scope="module")
def rows():
    """Valid rows: twitches of several sizes and frequencies, a tremor-free background."""
    return np.vstack([_rows([a], f=f, seed=i) for i, (a, f) in enumerate(
        [(0.02, 9.0), (0.1, 12.0), (0.5, 6.0), (0.0, 9.0), (0.3, 20.0), (0.05, 30.0)])])


def test_fit_sets_n_features_in_and_transform_checks_it(rows):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    wf = WindowFeatures()
    with pytest.raises(NotFittedError):
        wf.transform(rows)
    wf.fit(rows)
    check_is_fitted(wf)
    assert wf.n_features_in_ == rows.shape[1]
    with pytest.raises(ValueError, match="features"):
        wf.transform(rows[:, :-3])  # other rows than it was fitted on
    with pytest.raises(ValueError, match="2D array"):
        wf.transform(rows[0])  # one row, as a 1-D array


def test_any_numeric_dtype_and_array_layout_gives_the_same_features(rows, tmp_path):
    wf = WindowFeatures().fit(rows)
    ref = wf.transform(rows)
    assert ref.dtype == np.float64
    q = np.round(rows * 1000)  # whole numbers: exact in every dtype below
    ref_q = wf.transform(q)
    for x in (q.astype(np.int32), q.astype(np.int64), q.astype(np.float32), q.astype(object),
              np.asfortranarray(q), q.tolist()):
        out = wf.transform(x)
        assert out.dtype == np.float64 and np.array_equal(out, ref_q, equal_nan=True)
    m = np.lib.format.open_memmap(tmp_path / "rows.npy", mode="w+", dtype=np.float64, shape=rows.shape)
    m[:] = rows
    m.flush()
    ro = np.load(tmp_path / "rows.npy", mmap_mode="r")
    assert not ro.flags.writeable
    assert np.array_equal(WindowFeatures().fit(ro).transform(ro), ref, equal_nan=True)
    bad = rows.astype(object)
    bad[0, 0] = "abc"
    with pytest.raises(ValueError):
        wf.transform(bad)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_are_refused_with_a_clear_error(rows, value):
    bad = rows.copy()
    bad[1, 5] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        WindowFeatures().fit(bad)
    with pytest.raises(ValueError, match="NaN|infinity"):
        WindowFeatures().fit(rows).transform(bad)


def test_pickle_and_skops_round_trips_give_the_same_features(rows, tmp_path):
    import pickle

    import skops.io as sio

    wf = WindowFeatures(window_s=0.3).fit(rows)
    ref = wf.transform(rows)
    for back in (pickle.loads(pickle.dumps(wf)),
                 sio.loads(sio.dumps(wf), trusted=["twitchsense.detection.features.WindowFeatures"])):
        assert back.get_params() == wf.get_params()
        assert np.array_equal(back.transform(rows), ref, equal_nan=True)


def test_transform_of_valid_rows_is_a_pure_function_of_each_row(rows):
    """fit_transform == fit().transform; reordering or subsetting rows reorders or subsets the features
    (to the last bits of the FFTs, which are batched); one row alone fits and transforms."""
    wf = WindowFeatures()
    ref = wf.fit(rows).transform(rows)
    assert np.array_equal(clone(wf).fit_transform(rows), ref, equal_nan=True)
    assert ref.shape == (rows.shape[0], len(wf.get_feature_names_out()))
    order = np.random.default_rng(0).permutation(rows.shape[0])
    np.testing.assert_allclose(wf.transform(rows[order]), ref[order], rtol=1e-9, atol=1e-12)
    for i in range(rows.shape[0]):
        np.testing.assert_allclose(WindowFeatures().fit(rows[i:i + 1]).transform(rows[i:i + 1]), ref[i:i + 1],
                                   rtol=1e-9, atol=1e-12)


def test_fit_is_idempotent_returns_self_and_changes_no_parameter(rows):
    import copy

    wf = WindowFeatures(window_s=0.3, background_hz=0.8)
    params = copy.deepcopy(wf.get_params())
    before = set(vars(wf))
    assert wf.fit(rows, y=np.arange(rows.shape[0])) is wf  # y is accepted, and ignored
    assert wf.get_params() == params
    added = set(vars(wf)) - before
    assert added and all(a.endswith("_") for a in added)  # fit adds only fitted attributes
    first = wf.transform(rows)
    state = copy.deepcopy(vars(wf))
    assert np.array_equal(wf.fit(rows).transform(rows), first, equal_nan=True)
    wf.transform(rows)
    assert vars(wf).keys() == state.keys() and all(
        np.array_equal(vars(wf)[k], v) if isinstance(v, np.ndarray) else vars(wf)[k] == v for k, v in state.items())
    assert np.array_equal(clone(wf).fit(rows).transform(rows), first, equal_nan=True)
