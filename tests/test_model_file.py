"""Model files: skops round trip with card, untrusted and incompatible files refused with a clear message."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pytest
import skops.io as sio

from handmade import handmade, tiny_model
from twitchsense.detector import detect_recording
from twitchsense.errors import ModelError
from twitchsense.events import TwitchEvent
from twitchsense.model_file import FORMAT, card_paths, load_model, save_model


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
    with pytest.raises(ModelError, match=r"refusing to load.*twitchsense\.events\.TwitchEvent"):
        load_model(path)


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
    sio.dump({"format": FORMAT, "format_version": 1, "features": model.features,
              "classifier": model.classifier.__class__().fit(np.zeros((4, 5)), [0, 1, 0, 1]),
              "classes": ["none", "twitch"], "config": {}}, p)
    with pytest.raises(ModelError, match="expects 5 features"):
        load_model(p)
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "missing.skops")


def test_class_probabilities_only_for_windows_at_the_threshold_and_the_same_there():
    from twitchsense.detector import candidate_windows
    from twitchsense.model_file import default_model_path

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
