"""Model files: skops round trip with card, untrusted and incompatible files refused with a clear message."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio

from twitchsense.detection.engine import detect_recording
from twitchsense.detection.model import FORMAT, FORMAT_VERSION, card_paths, load_model, save_model
from twitchsense.errors import ModelError
from twitchsense.io.recording import write_recording
from twitchsense.types import TwitchEvent

from handmade import handmade, tiny_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model, _ = tiny_model()
    path = tmp_path_factory.mktemp("m") / "tiny.skops"
    save_model(model, path)
    return model, path


def test_round_trip_gives_the_same_detections_and_writes_a_card(saved):
    model, path = saved
    loaded = load_model(path)
    rec = handmade(201, minutes=1.0)
    assert detect_recording(rec, loaded).events == detect_recording(rec, model).events
    md, js = card_paths(path)
    card = json.loads(js.read_text())
    assert card["format"] == FORMAT and card["detector"]["threshold"] == model.config.threshold
    assert "scikit-learn" in card["versions"] and card["features"]["params"]["rate_hz"] == 100.0
    assert "held_out_figures" in card and "Model card" in md.read_text()
    assert not zipfile.ZipFile(path).testzip()  # a skops zip, not a pickle


def test_a_file_with_untrusted_types_is_refused(tmp_path):
    path = tmp_path / "evil.skops"
    sio.dump({"format": FORMAT, "format_version": 1,
              "payload": TwitchEvent(0.0, 0.1, 0.1, 0.9)}, path)
    with pytest.raises(ModelError, match=r"refusing to load.*twitchsense\.types\.TwitchEvent"):
        load_model(path)


def _shipped_dict():
    """The shipped model file's content, as a stranger would start from it."""
    from twitchsense.detection.model import default_model_path

    trusted = sio.get_untrusted_types(file=default_model_path())
    return sio.load(default_model_path(), trusted=trusted)


def _crafted_files(tmp_path):
    """Model files a stranger could hand out: each must be refused before anything runs."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    files = {}
    obj = _shipped_dict()
    # the shipped model, its classifier wrapped so that predict calls a function of the file's choice
    obj["classifier"] = Pipeline([("f", FunctionTransformer(np.negative)), ("clf", obj["classifier"])])
    files["wrapped"] = obj
    obj = _shipped_dict()
    obj["classifier"] = Pipeline([("clf", obj["classifier"])])  # scikit-learn's own types, but not ours
    files["pipeline"] = obj
    obj = _shipped_dict()
    obj["extra"] = TwitchEvent(0.0, 0.1, 0.1, 0.9)  # an unknown type
    files["unknown"] = obj
    obj = _shipped_dict()
    obj["extra"] = np.load  # a plain function
    files["function"] = obj
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.skops"
        sio.dump(content, paths[name])
    return paths


def test_crafted_model_files_are_refused_with_one_line_and_exit_1(tmp_path, cli):
    paths = _crafted_files(tmp_path)
    rec = tmp_path / "rec.csv"
    write_recording(rec, handmade(11, minutes=0.2))
    expected = {"wrapped": r"function numpy\.[\w.]*negative", "pipeline": r"sklearn\.pipeline\.Pipeline",
                "unknown": r"twitchsense\.types\.TwitchEvent", "function": r"function numpy\.[\w.]*load"}
    for name, path in paths.items():
        with pytest.raises(ModelError, match="refusing to load.*" + expected[name]):
            load_model(path)
        res = cli("detect", rec, "-o", tmp_path / "out", "--model", path)
        assert res.returncode == 1, (name, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "refusing to load" in lines[0] and "Traceback" not in res.stderr, lines
        assert not (tmp_path / "out" / "rec.detected.csv").exists()


def test_a_classifier_that_is_not_ours_is_refused_after_loading(tmp_path):
    """Even a type on the list in the wrong place is refused: the classifier is checked by class."""

    obj = _shipped_dict()
    obj["classifier"], obj["features"] = obj["features"], obj["classifier"]
    path = tmp_path / "swapped.skops"
    sio.dump(obj, path)
    with pytest.raises(ModelError, match="not a model 'twitchsense train' writes"):
        load_model(path)


def test_no_model_is_picked_up_from_the_working_directory(tmp_path, monkeypatch):
    from twitchsense.detection.model import default_model_path

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default.skops").write_bytes(b"a stranger's file")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TWITCHSENSE_MODEL", raising=False)
    p = default_model_path()
    assert p.resolve().parent.name == "data" and p.resolve().parent.parent.name == "twitchsense"
    assert load_model(p).classifier is not None


def test_a_pickle_renamed_to_skops_is_refused(tmp_path):
    path = tmp_path / "pickled.skops"
    path.write_bytes(pickle.dumps({"format": FORMAT}))
    with pytest.raises(ModelError, match="not a skops model file"):
        load_model(path)


def test_incompatible_or_foreign_files_are_refused(tmp_path, saved):
    model, _ = saved
    p = tmp_path / "future.skops"
    sio.dump({"format": FORMAT, "format_version": 99}, p)
    with pytest.raises(ModelError, match="format version 99 is not supported"):
        load_model(p)
    p = tmp_path / "other.skops"
    sio.dump({"weights": np.zeros(3)}, p)
    with pytest.raises(ModelError, match="not a twitchsense model"):
        load_model(p)
    p = tmp_path / "mismatch.skops"
    sio.dump({"format": FORMAT, "format_version": FORMAT_VERSION, "features": model.features,
              "classifier": model.classifier.__class__().fit(np.zeros((4, 5)), [0, 1, 0, 1]),
              "classes": ["none", "twitch"], "config": {}}, p)
    with pytest.raises(ModelError, match="expects 5 features"):
        load_model(p)
    p = tmp_path / "partial.skops"  # a setting that decides events is missing: never filled in from code
    sio.dump({"format": FORMAT, "format_version": FORMAT_VERSION, "features": model.features,
              "classifier": model.classifier, "classes": list(model.classes),
              "config": {k: v for k, v in model.config.to_dict().items() if k != "merge_s"}}, p)
    with pytest.raises(ModelError, match="partial.skops: not a model 'twitchsense train' writes .*without merge_s"):
        load_model(p)
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "missing.skops")
    with pytest.raises(ModelError, match="is a folder, not a model file"):  # was "not found" (qa)
        load_model(tmp_path)


def test_class_probabilities_only_for_windows_at_the_threshold_and_the_same_there():
    from twitchsense.detection.model import default_model_path
    from twitchsense.detection.training import candidate_windows

    model = load_model(default_model_path())  # the shipped model tells twitch classes apart
    assert model.kind_classifier is not None and len(model.kinds) > 1
    rec = handmade(105, minutes=1.0)
    _, X, _, _ = candidate_windows(rec, model.features, model.config).arrays()
    thr = model.config.threshold
    p, cp = model.score_windows(X)
    p_thr, cp_thr = model.score_windows(X, threshold=thr)
    hit = p >= thr
    assert 0 < hit.sum() < hit.size
    assert np.array_equal(p_thr, p)
    assert np.array_equal(cp_thr[hit], cp[hit])  # bit for bit where the detector reads them
    assert np.isnan(cp_thr[~hit]).all()
