"""Feature extraction and window classification against peers, on the same windows.

The project's extractor, TSFEL and tsfresh each turn the SAME rows (see
:mod:`benchmarks.window_set`) into features; each feature set is scored with
the SAME classifier under the same subject-wise cross-validation. MiniRocket
(sktime) is run as a window classifier of its own (its usual ridge
classifier), and the project's threshold baseline is scored on the same rows.
Extraction times are measured pair by pair: the project's extractor is timed
right before each peer, and the ratio project/peer comes from that pair.
Everything runs in one process on one core (TSFEL ``n_jobs=None``, tsfresh
``n_jobs=0``, numba threads limited to 1), so the comparison is like for like.

    python -m benchmarks.peers [--windows 300] [--json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
import warnings

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from benchmarks.common import shipped_model  # noqa: E402
from benchmarks.window_set import WindowSet, build_window_set  # noqa: E402

NOT_INSTALLED = "peer not installed (pip install '.[bench]')"
SKIPPED = "skipped (--without-peers)"
CV_FOLDS = 3


def _classifier():
    """The project's classifier (issue #6), with leaves small enough for a few hundred windows.

    The shipped model's ``min_samples_leaf=40`` suits its tens of thousands of
    training windows; on ~150 it would allow no split at all and every feature
    set would score the same constant guess.
    """
    try:
        from twitchsense.detection.training import make_classifier
        return make_classifier(seed=0).set_params(min_samples_leaf=5)
    except ImportError:
        from sklearn.ensemble import HistGradientBoostingClassifier
        return HistGradientBoostingClassifier(max_iter=200, min_samples_leaf=5, random_state=0)


def project_features():
    """The shipped model's window-feature transformer, else a default one, else None (issue #6)."""
    model = shipped_model()
    if model is not None:
        return model.features
    try:
        from twitchsense.detection.features import WindowFeatures
        return WindowFeatures()
    except ImportError:
        return None


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def window_scores(y: np.ndarray, pred: np.ndarray) -> dict:
    """Window-level precision, recall (sensitivity) and F1 of the twitch class."""
    tp = int(np.sum((pred == 1) & (y == 1)))
    fp = int(np.sum((pred == 1) & (y == 0)))
    fn = int(np.sum((pred == 0) & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "sensitivity": round(recall, 3), "f1": round(f1, 3)}


def cv_predict(make_model, F: np.ndarray, ws: WindowSet) -> np.ndarray:
    """Out-of-fold predictions, folds split by subject (never by window)."""
    from sklearn.model_selection import GroupKFold

    F = np.where(np.isfinite(F), F, np.nan)
    pred = np.zeros(len(ws.y), int)
    folds = min(CV_FOLDS, len(set(ws.groups)))
    for train, test in GroupKFold(n_splits=folds).split(F, ws.y, ws.groups):
        model = make_model()
        if len(set(ws.y[train])) < 2:
            pred[test] = int(ws.y[train][0])
            continue
        keep = np.sum(np.isfinite(F[train]), axis=0) >= 2  # all-NaN columns break the binning
        model.fit(F[train][:, keep], ws.y[train])
        pred[test] = model.predict(F[test][:, keep])
    return pred


# --------------------------------------------------------------------------- extractors
def project_extractor(est):
    """The project's window extractor as a function rows -> features, or None (issue #6)."""
    if est is None:
        return None
    return lambda X: est.fit(X.reshape(len(X), -1)).transform(X.reshape(len(X), -1))


def tsfel_extractor(ws: WindowSet):
    """TSFEL with its default configuration of every domain, one window per DataFrame."""
    if importlib.util.find_spec("tsfel") is None:
        return None
    import pandas as pd
    import tsfel

    cfg = tsfel.get_features_by_domain()

    def run(X: np.ndarray) -> np.ndarray:
        frames = [pd.DataFrame(x.T, columns=["x", "y", "z"]) for x in X]
        out = tsfel.time_series_features_extractor(cfg, frames, fs=ws.rate_hz, verbose=0, n_jobs=None)
        return out.to_numpy(dtype=float)

    return run


def tsfresh_extractor(ws: WindowSet):
    """tsfresh with ``EfficientFCParameters`` (its recommended set without the costliest features)."""
    if importlib.util.find_spec("tsfresh") is None:
        return None
    import pandas as pd
    from tsfresh import extract_features
    from tsfresh.feature_extraction import EfficientFCParameters

    params = EfficientFCParameters()

    def run(X: np.ndarray) -> np.ndarray:
        n, _, L = X.shape
        long = pd.DataFrame({"id": np.repeat(np.arange(n), L), "time": np.tile(np.arange(L), n),
                             "x": X[:, 0].ravel(), "y": X[:, 1].ravel(), "z": X[:, 2].ravel()})
        out = extract_features(long, column_id="id", column_sort="time", default_fc_parameters=params,
                               n_jobs=0, disable_progressbar=True)
        return out.sort_index().to_numpy(dtype=float)

    return run


PEERS = {
    "TSFEL (all default features)": tsfel_extractor,
    "tsfresh (EfficientFCParameters)": tsfresh_extractor,
}


def minirocket_row(ws: WindowSet, project=None) -> dict:
    """MiniRocket (sktime) + ridge classifier, the method's usual pairing; numba JIT timed apart."""
    name = "MiniRocket (sktime) + RidgeClassifierCV"
    if importlib.util.find_spec("sktime") is None or importlib.util.find_spec("numba") is None:
        return {"method": name, "status": NOT_INSTALLED}
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sktime.transformations.panel.rocket import MiniRocketMultivariate

    _, warm_s = _timed(lambda: MiniRocketMultivariate(random_state=0).fit_transform(ws.X[:4]))
    pair_project_s = _timed(project, ws.X)[1] if project is not None else None
    rocket, fit_s = _timed(lambda: MiniRocketMultivariate(random_state=0).fit(ws.X))
    F, transform_s = _timed(lambda: np.asarray(rocket.transform(ws.X), dtype=float))
    pred = cv_predict(lambda: make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))), F, ws)
    peer_s = fit_s + transform_s
    row = {"method": name, "status": "ok", "features": int(F.shape[1]), "extract_s": round(peer_s, 3),
           "ms_per_window": round(1000 * peer_s / len(ws.y), 3), "jit_warmup_s": round(warm_s, 1),
           **window_scores(ws.y, pred), "note": f"first use (numba compile, cached after): {warm_s:.1f} s, not counted"}
    if pair_project_s is not None:
        row["project_s_in_pair"] = round(pair_project_s, 3)
        row["project_over_peer"] = round(pair_project_s / peer_s, 5)
    return row


def baseline_row(ws: WindowSet) -> dict:
    """The project's transparent band-energy baseline (issue #6) on the same rows.

    A row counts as "twitch" when the baseline detects an event overlapping the
    row's centre +/- 0.2 s (the twitch sits there in positive rows).
    """
    name = "twitchsense band-energy baseline (no training)"
    try:
        from twitchsense.detection.baseline import BandEnergyDetector
    except ImportError:
        return {"method": name, "status": "not available yet (issue #6)"}
    from twitchsense.io.recording import Recording

    det = BandEnergyDetector()
    L = ws.X.shape[2]
    t = np.arange(L) / ws.rate_hz
    centre = t[L // 2]
    t0 = time.perf_counter()
    pred = np.zeros(len(ws.y), int)
    for i, x in enumerate(ws.X):
        events = det.detect(Recording(t=t, acc=np.ascontiguousarray(x.T), meta={"sample_rate_hz": ws.rate_hz}))
        pred[i] = any(e.onset - 0.2 <= centre <= e.onset + e.duration + 0.2 for e in events)
    seconds = time.perf_counter() - t0
    return {"method": name, "status": "ok", "features": "-", "ms_per_window": round(1000 * seconds / len(ws.y), 3),
            **window_scores(ws.y, pred)}


def run(n_windows: int, seed: int = 0, with_peers: bool = True) -> dict:
    """Build the window set, extract with every method, score with the same classifier."""
    warnings.filterwarnings("ignore")
    est = project_features()
    rate, L, before = (float(est.rate_hz), int(est.row_samples), int(est.before_samples)) if est is not None \
        else (100.0, 500, 250)
    ws = build_window_set(n_windows, rate_hz=rate, row_samples=L, seed=seed, before_samples=before)
    project = project_extractor(est)
    result = {"windows": int(len(ws.y)), "positives": int(ws.y.sum()), "subjects": int(len(set(ws.groups))),
              "row_s": ws.X.shape[2] / ws.rate_hz, "rate_hz": ws.rate_hz, "twitch_source": ws.twitch_source,
              "classifier": " ".join(repr(_classifier()).split()), "cv": f"GroupKFold({CV_FOLDS}) by subject", "rows": []}
    rows = result["rows"]
    if project is None:
        rows.append({"method": "twitchsense WindowFeatures", "status": "not available yet (issue #6)"})
    else:
        F, _ = _timed(project, ws.X[:8])  # first call: imports and filter design, not counted
        F, project_s = _timed(project, ws.X)
        pred = cv_predict(_classifier, F, ws)
        rows.append({"method": "twitchsense WindowFeatures", "status": "ok", "features": int(F.shape[1]),
                     "extract_s": round(project_s, 3), "ms_per_window": round(1000 * project_s / len(ws.y), 3),
                     **window_scores(ws.y, pred)})
    for name, factory in PEERS.items():
        extractor = factory(ws) if with_peers else None
        if extractor is None:
            rows.append({"method": name, "status": NOT_INSTALLED if with_peers else SKIPPED})
            continue
        extractor(ws.X[:2])  # warm-up: lazy imports inside the peer
        pair_project_s = _timed(project, ws.X)[1] if project is not None else None
        F, peer_s = _timed(extractor, ws.X)
        pred = cv_predict(_classifier, F, ws)
        row = {"method": name, "status": "ok", "features": int(F.shape[1]), "extract_s": round(peer_s, 3),
               "ms_per_window": round(1000 * peer_s / len(ws.y), 3), **window_scores(ws.y, pred)}
        if pair_project_s is not None:
            row["project_s_in_pair"] = round(pair_project_s, 3)
            row["project_over_peer"] = round(pair_project_s / peer_s, 5)
        rows.append(row)
    rows.append(minirocket_row(ws, project) if with_peers else
                {"method": "MiniRocket (sktime) + RidgeClassifierCV", "status": SKIPPED})
    rows.append(baseline_row(ws))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--without-peers", action="store_true", help="only the project's own rows")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    result = run(args.windows, args.seed, with_peers=not args.without_peers)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['windows']} windows ({result['positives']} twitches, {result['subjects']} subjects), "
          f"classifier {result['classifier']}, {result['cv']}")
    for row in result["rows"]:
        print(row)


if __name__ == "__main__":
    main()
