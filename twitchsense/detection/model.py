"""Model files: skops (never pickle), a model card beside and inside, safe and checked loading.

A model file ``NAME.skops`` holds a plain dict: the fitted feature transformer,
the classifier, its classes, the detector configuration and the card. Before
anything is built, loading reads the file's schema and refuses it unless every
node is a plain container, a number array or one of exactly the object types
that ``twitchsense train`` writes (:data:`MODEL_TYPES`); functions, methods,
partials, operators and every other type are refused, so a file from a stranger
cannot run code. Then the classifier's class is checked with ``isinstance``,
and the format version and the feature schema are checked. The card is also
written beside the model as ``NAME.card.md`` (for people) and ``NAME.card.json``
(for tools).
"""

from __future__ import annotations

import json
import platform
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..dependencies import check_scikit_learn
from ..errors import ModelError
from .config import DetectorConfig
from .features import WindowFeatures

FORMAT = "twitchsense-model"
#: 2: the detector configuration is saved whole (every setting that decides events; no legacy defaults)
FORMAT_VERSION = 2

#: Exactly the object types ``twitchsense train`` writes into a model file, by qualified name:
#: the gradient-boosted trees and their parts, and the feature transformer. A trainer that writes
#: another type adds it here, by name; nothing is trusted by prefix.
MODEL_TYPES = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "_loss.CyHalfBinomialLoss",  # the same Cython losses, as scikit-learn 1.6 names their module
    "_loss.CyHalfMultinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.Interval",
    "numpy.random._generator.Generator",
    "twitchsense.detection.features.WindowFeatures",
})
#: Plain values a schema node may hold, by loader: containers, JSON scalars, number arrays.
_PLAIN_NODES = {
    "DictNode": {"builtins.dict"},
    "ListNode": {"builtins.list"},
    "TupleNode": {"builtins.tuple"},
    "JsonNode": {"builtins.str", "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType"},
    "TypeNode": {"builtins.str", "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType"},
}
#: Loaders that build one of :data:`MODEL_TYPES` (never a function, method, partial or operator).
_OBJECT_LOADERS = {"ObjectNode", "LossNode", "RandomGeneratorNode"}


@dataclass
class TwitchModel:
    """A trained detector: feature transformer + classifier + detector configuration + card.

    ``classes[0]`` is ``"none"`` (no twitch); the others are twitch classes
    (``twitch`` alone when the training labels had no classes).
    """

    features: WindowFeatures
    classifier: object          # twitch (1) or not (0)
    classes: tuple
    config: DetectorConfig
    card: dict = field(default_factory=dict)
    kind_classifier: object = None  # which twitch class (index into classes[1:]), when known

    @property
    def kinds(self) -> tuple[str, ...]:
        """Twitch classes the model tells apart (empty when it only knows ``twitch``)."""
        k = tuple(self.classes[1:])
        return () if k == ("twitch",) else k

    def score_windows(self, F: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Window features -> (probability of a twitch, probabilities of each twitch class).

        With ``threshold``, the class probabilities are computed only for the windows whose
        twitch probability reaches it (the others' rows are NaN): the detector reads no other,
        and they are the same figures as without it (the trees score each row on its own).
        """
        n_kinds = len(self.classes) - 1
        with one_thread():
            p = self.classifier.predict_proba(F)[:, 1]
            if threshold is None:
                return p, kind_probabilities(self.kind_classifier, F, n_kinds)
            hit = p >= threshold
            cp = np.full((F.shape[0], n_kinds), np.nan)
            if hit.any():
                cp[hit] = kind_probabilities(self.kind_classifier, F[hit], n_kinds)
            return p, cp

    def twitch_upper_bound(self, F: np.ndarray, unknown: np.ndarray) -> np.ndarray | None:
        """An upper bound of :meth:`score_windows`' twitch probability from features whose
        ``unknown`` columns are not computed yet (``None`` when the classifier allows none).

        Valid for gradient-boosted trees: in a copy of every tree, a split on an unknown
        feature becomes a leaf holding the largest value below it, so each tree's value,
        hence the (monotone) sum and probability, can only grow.
        """
        key = tuple(int(i) for i in unknown)
        cache = self.__dict__.setdefault("_bound_models", {})
        if key not in cache:
            cache[key] = bounding_classifier(self.classifier, key)
        bound = cache[key]
        if bound is None:
            return None
        X = np.array(F, dtype=np.float64)
        X[:, list(key)] = 0.0  # never read: every split on them is now a leaf
        with one_thread():
            return bound.predict_proba(X)[:, 1]


_THREADS = None


def one_thread():
    """Context in which the trees predict on one thread: the detector scores a few windows at a
    time, and waking a thread team for each small batch costs far more than it saves (on a busy
    machine, 30 x more)."""
    global _THREADS
    if _THREADS is None:
        from threadpoolctl import ThreadpoolController

        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1, user_api="openmp")


def bounding_classifier(classifier, unknown: tuple[int, ...]):
    """A copy of a binary ``HistGradientBoostingClassifier`` whose trees never split on ``unknown``
    features (each such split replaced by a leaf of its subtree's largest value); ``None`` for
    any other classifier."""
    import copy

    from sklearn.ensemble import HistGradientBoostingClassifier

    if not isinstance(classifier, HistGradientBoostingClassifier) or len(getattr(classifier, "classes_", ())) != 2:
        return None
    bound = copy.deepcopy(classifier)
    drop = np.asarray(unknown, dtype=np.int64)
    for (pred,) in bound._predictors:
        nodes = pred.nodes
        leaf = nodes["is_leaf"].astype(bool)
        # largest leaf value under each node; children always come after their parent
        smax = nodes["value"].copy()
        for i in range(nodes.size - 1, -1, -1):
            if not leaf[i]:
                smax[i] = max(smax[nodes["left"][i]], smax[nodes["right"][i]])
        cut = ~leaf & np.isin(nodes["feature_idx"], drop)
        nodes["value"][cut] = smax[cut]
        nodes["is_leaf"][cut] = 1
    return bound


def kind_probabilities(kind_classifier, F: np.ndarray, n_kinds: int) -> np.ndarray:
    """``(m, n_kinds)`` class probabilities of twitch windows (uniform without a class model)."""
    cp = np.full((F.shape[0], n_kinds), 1.0 / n_kinds)
    if kind_classifier is not None and F.shape[0]:
        cp[:] = 0.0
        cp[:, kind_classifier.classes_] = kind_classifier.predict_proba(F)
    return cp


def default_model_path() -> Path:
    """The shipped model: ``$TWITCHSENSE_MODEL``, else ``default.skops`` of the package's data
    (``twitchsense/data``, read through :mod:`importlib.resources`, so any kind of install finds it).
    Never a file of the working directory: running in a downloaded folder loads no model lying there."""
    import os

    env = os.environ.get("TWITCHSENSE_MODEL")
    if env:
        return Path(env)
    p = _shipped_path()
    if p.is_file():
        return p
    raise ModelError(f"no model given and the shipped model was not found at {p} "
                     "(a broken install? reinstall twitchsense, set TWITCHSENSE_MODEL or pass --model)")


def _shipped_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("twitchsense") / "data" / "default.skops"))


def _is_shipped(path: Path) -> bool:
    try:
        return Path(path).resolve() == _shipped_path().resolve()
    except OSError:
        return False


def _versions() -> dict:
    import scipy
    import sklearn
    import skops

    from .. import __version__
    return {"twitchsense": __version__, "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "skops": skops.__version__, "python": platform.python_version()}


def card_paths(model_path: str | Path) -> tuple[Path, Path]:
    """``NAME.skops`` -> (``NAME.card.md``, ``NAME.card.json``)."""
    p = Path(model_path)
    stem = p.name[: -len(".skops")] if p.name.endswith(".skops") else p.stem
    return p.with_name(stem + ".card.md"), p.with_name(stem + ".card.json")


def save_model(model: TwitchModel, path: str | Path) -> None:
    """Write ``NAME.skops`` plus its card (``NAME.card.md``, ``NAME.card.json``)."""
    import skops.io as sio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    card = dict(model.card)
    card.setdefault("versions", _versions())
    card["format"] = FORMAT
    card["format_version"] = FORMAT_VERSION
    card["classes"] = list(model.classes)
    card["features"] = {"params": _plain(model.features.get_params()),
                        "names": list(model.features.get_feature_names_out())}
    card["detector"] = model.config.to_dict()
    model.card = card
    obj = {"format": FORMAT, "format_version": FORMAT_VERSION, "features": model.features,
           "classifier": model.classifier, "kind_classifier": model.kind_classifier,
           "classes": list(model.classes),
           "config": model.config.to_dict(), "card_json": json.dumps(card, sort_keys=True)}
    tmp = path.with_name(path.name + ".tmp")
    sio.dump(obj, tmp)
    tmp.replace(path)
    md, js = card_paths(path)
    js.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    md.write_text(render_card(card, path.name), encoding="utf-8")


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


def load_model(path: str | Path) -> TwitchModel:
    """Load a model file, refusing untrusted types and incompatible formats with a clear message."""
    import skops.io as sio

    check_scikit_learn()
    from sklearn.ensemble import HistGradientBoostingClassifier

    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path}: is a folder, not a model file (give the .skops file inside it)")
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        bad = untrusted_nodes(path)
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # not a zip / not a skops file
        raise ModelError(f"{path}: not a skops model file ({type(exc).__name__}: {exc})") from None
    bad += [t for t in untrusted if t not in MODEL_TYPES and t not in bad]
    if bad:
        raise ModelError(f"{path}: refusing to load: the file would create types twitchsense does not "
                         f"trust ({', '.join(sorted(bad)[:5])}{' ...' if len(bad) > 5 else ''}); "
                         "only models saved by 'twitchsense train' are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise ModelError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ModelError(f"{path}: not a twitchsense model (no '{FORMAT}' marker)")
    if obj.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format version {obj.get('format_version')!r} is not supported "
                         f"(this twitchsense reads version {FORMAT_VERSION}); retrain it with 'twitchsense train'")
    features, clf = obj.get("features"), obj.get("classifier")
    if type(features) is not WindowFeatures or not isinstance(clf, HistGradientBoostingClassifier):
        raise ModelError(f"{path}: not a model 'twitchsense train' writes (its feature transformer or "
                         f"classifier is {type(features).__name__} / {type(clf).__name__})")
    n_feat = len(features._names())
    if getattr(clf, "n_features_in_", n_feat) != n_feat:
        raise ModelError(f"{path}: incompatible model: its classifier expects {clf.n_features_in_} features, "
                         f"this twitchsense computes {n_feat}; retrain it with 'twitchsense train'")
    card = json.loads(obj.get("card_json") or "{}")
    trained = card.get("versions", {}).get("scikit-learn", "")
    import sklearn
    # The shipped model is run under every declared scikit-learn version by CI (.ci/oldest.txt), so
    # only a user's own model trained under another minor version gets the warning.
    if (trained and trained.split(".")[:2] != sklearn.__version__.split(".")[:2]
            and not _is_shipped(path)):
        print(f"twitchsense: warning: {path.name} was trained with scikit-learn {trained}, this is "
              f"{sklearn.__version__}; retrain if detections look wrong", file=sys.stderr)
    kind_clf = obj.get("kind_classifier")
    if kind_clf is not None and not isinstance(kind_clf, HistGradientBoostingClassifier):
        raise ModelError(f"{path}: not a model 'twitchsense train' writes (its class model is "
                         f"{type(kind_clf).__name__})")
    try:
        config = DetectorConfig.from_dict(obj.get("config") or {})
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{path}: not a model 'twitchsense train' writes ({exc})") from None
    return TwitchModel(features, clf, tuple(obj["classes"]), config, card, kind_clf)


def untrusted_nodes(path: str | Path) -> list[str]:
    """Every type in a skops file's schema that is neither a plain value nor one of :data:`MODEL_TYPES`
    (functions and everything else by name, e.g. ``function numpy.negative``); read before anything is built."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        schema = json.loads(z.read("schema.json"))
    bad: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        loader = node.get("__loader__")
        if loader is None or loader == "CachedNode":  # a reference to a node already checked
            continue
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if loader in _PLAIN_NODES:
            ok = name in _PLAIN_NODES[loader]
        elif loader == "NdArrayNode":  # a number array or a numpy scalar; never an object array
            ok = name == "numpy.ndarray" or (name.startswith("numpy.") and _is_numpy_scalar(name))
            ok = ok and node.get("type") != "json"
        elif loader == "DTypeNode":
            ok = name == "numpy.dtype" or name.startswith("numpy.dtypes.")
        else:
            ok = loader in _OBJECT_LOADERS and name in MODEL_TYPES
        if not ok:
            what = {"FunctionNode": "function", "MethodNode": "method", "PartialNode": "partial",
                    "OperatorFuncNode": "operator"}.get(loader, "")
            label = f"{what} {name}".strip()
            if label not in bad:
                bad.append(label)
    return bad


def _is_numpy_scalar(name: str) -> bool:
    t = getattr(np, name.split(".", 1)[1], None)
    return isinstance(t, type) and issubclass(t, np.generic)


def render_card(card: dict, model_name: str) -> str:
    """The model card as Markdown."""
    lines = [f"# Model card: {model_name}", ""]
    lines += [card.get("summary", "A twitchsense twitch detector."), ""]
    if card.get("training_command") or card.get("cross_validation"):
        lines += ["## How it was trained", ""]
    if card.get("training_command"):
        lines += ["```", card["training_command"], "```", ""]
    if card.get("cross_validation"):
        lines += [f"Cross-validation: {card['cross_validation']}."]
        if card.get("fold_thresholds"):
            lines += [f"Threshold {card['threshold']:g}: {card.get('threshold_rule', '')}; the outer folds' own: "
                      f"{', '.join(f'{t:g}' for t in card['fold_thresholds'])}."]
        if card.get("confirm_checks") is not None:
            dropped = "; ".join(f"{d['check']} dropped ({d['true_twitches_retracted']} true twitches vs "
                                f"{d['false_alarms_retracted']} false alarms retracted by it alone, p {d['sign_test_p']:.2g})"
                                for d in card.get("confirm_checks_dropped") or ())
            lines += [f"Confirmation checks: {', '.join(card['confirm_checks']) or 'none'}"
                      + (f" ({dropped})" if dropped else "") + f"; {card.get('confirm_check_rule', '')}."]
        lines.append("")
    if card.get("training_data"):
        lines += ["## Training data", ""]
        lines += [f"- {item}" for item in card["training_data"]]
        lines.append("")
    if card.get("reviewed_md"):
        lines += ["## Against the shipped model, on the wearer's held-out reviewed sessions", "",
                  "```", card["reviewed_md"], "```", ""]
    if card.get("figures_md"):
        lines += ["## Figures (held-out data only)", "", card["figures_md"], ""]
    if card.get("figures_core_md"):
        lines += ["The same with fasciculations optional, like twitches under 0.02 g (the validated core "
                  "classes alone; docs/physiology.md calls fasciculations an experimental mode near the "
                  "sensor's floor):", "", card["figures_core_md"], ""]
    lines += ["## Detector", "", f"- classes: {', '.join(card.get('classes', []))}"]
    fp = card.get("features", {}).get("params", {})
    lines += [f"- features: {len(card.get('features', {}).get('names', []))} per window; "
              + ", ".join(f"{k}={v}" for k, v in sorted(fp.items()))]
    det = card.get("detector", {})
    lines += ["- detector: " + ", ".join(f"{k}={v}" for k, v in sorted(det.items()))]
    if card.get("classifier"):
        lines += [f"- classifier: {card['classifier']}"]
    lines += ["", "## Versions", ""]
    lines += [f"- {k} {v}" for k, v in card.get("versions", {}).items()]
    if card.get("notes"):
        lines += ["", "## Notes", "", card["notes"]]
    return "\n".join(lines) + "\n"

