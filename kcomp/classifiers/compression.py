"""Class-conditional compression: a text goes to the class whose training text makes it cheapest.

Prediction costs n_test x n_classes compressions instead of n_test x n_train (kNN), so it is
orders of magnitude faster at predict time. Methods:

``dict`` / ``concat`` / ``word`` / ``word-vs-rest``
    one class model (see :mod:`kcomp.classifiers.class_models` and, for the word-level
    adaptive models, :mod:`kcomp.classifiers.word_model`); the class of minimum code length
    wins (equal lengths: the lowest class index), a uniform class prior.
``stack``
    the code lengths of several class models feed a multinomial logit whose weights are shared
    by the classes (:mod:`kcomp.classifiers.stacking`): the weight of each compressor, how the
    evidence grows with text length, and the class priors are learned on out-of-fold code
    lengths (a text is priced by class models built without it).
``auto``
    chooses among the single class models and the stack by stratified cross-validation on the
    training data only (``best_params_``, ``cv_results_``), then refits the winner on all of it.

Cross-validation prices every training text once (each under class models built without its
fold), or a stratified sample of ``max_cv_texts`` of them on large training sets: its cost is
that of pricing ``min(n, max_cv_texts)`` texts under every class model.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import StratifiedShuffleSplit
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from kcomp._inputs import as_bytes
from kcomp.classifiers._base import TextClassifierBase, as_compressor, warn_window
from kcomp.classifiers.class_models import (
    DictClassModel,
    cross_fit_code_lengths,
    make_class_model,
    stratified_folds,
    texts_by_class,
)
from kcomp.classifiers.stacking import SharedWeightLogit, code_length_tensor
from kcomp.classifiers.word_model import WORD_MODELS, WordClassModel
from kcomp.compressors import Compressor
from kcomp.errors import InputError

SINGLE_METHODS = ("dict", "concat") + WORD_MODELS
METHODS = SINGLE_METHODS + ("stack", "auto")
#: candidates of method="auto" (and the stack's class models) when ``class_models`` is None:
#: fast codecs plus PPMd, the strongest classical byte-level class model measured on text, at a
#: low order (topics: little class text per context) and a higher one (languages), and the two
#: word-level adaptive models (topics: words shared by every class cancel; milliseconds)
DEFAULT_CLASS_MODELS = ("dict", "gzip", "ppmd:2", "ppmd:4") + WORD_MODELS
#: inverse regularisation strengths of the stack tried by method="auto"
AUTO_STACK_CS = (0.1, 1.0, 10.0)


class CompressionClassifier(TextClassifierBase):
    """Classify by the class whose training text makes a query cheapest to compress.

    Parameters
    ----------
    method : {"dict", "concat", "word", "word-vs-rest", "stack", "auto"}, default "dict"
        See the module docstring. ``auto`` is kcomp's best without a benchmark.
    compressor : str or Compressor, optional
        ``dict``: a zstd spec giving the level (default ``zstd:19``). ``concat``: any spec or
        Compressor object (default ``gzip``; ``lm`` makes the byte transformer a class model,
        conditioned on the class text as its prefix). Unused by the other methods.
    class_models : sequence of class-model specs, optional
        ``stack``: its features; ``auto``: its candidates (each alone, and all stacked).
        Default ``("dict", "gzip", "ppmd:2", "ppmd:4", "word", "word-vs-rest")``. Add ``"lm"``
        when the lm extra is installed (slow: kB/s).
    dict_type : {"raw", "trained"}, default "raw"
        ``raw``: the dictionary is the class's text itself (its last ``dict_size`` bytes, zstd
        ``DICT_TYPE_RAWCONTENT``). ``trained``: ``zstandard.train_dictionary`` (COVER); a class
        too small to train on falls back to raw (recorded in ``dict_types_``).
    dict_size : int, default 262144
        Dictionary bytes per class (``dict``).
    max_class_bytes : int or None, default None
        Class-text cap of prefix models; None: the codec's window (at most 64 KiB) less room
        for a query as long as most training texts, so class text and query share the window.
    temperature : float, default 1.0
        ``dict``/``concat``: ``predict_proba`` is softmax(-bits * ln 2 / temperature).
    separator : str or bytes, default " "
        Joins a class's training texts, and the class text to the query.
    C : float, default 1.0
        ``stack``: inverse L2 strength of the shared-weight logit (``auto`` tries 0.1, 1, 10).
    cv : int, default 5
        Folds of the cross-fitting (``stack``) and of the selection (``auto``); fewer when the
        smallest class is smaller (at least 2 texts per class are needed).
    max_cv_texts : int or None, default 600
        ``stack``/``auto``: at most this many training texts (a stratified sample) are priced
        out of fold to fit the stack and score the candidates; None: all. The class models
        are always built from all training texts (of the other folds; all of them when refit).
    random_state : int, RandomState or None
        Fold shuffling and the sample: the same seed gives the same choice and predictions.
    n_jobs : int, default 1
        joblib workers pricing texts under prefix models (the compressor object travels).

    Attributes
    ----------
    classes_, compressor_ (the Compressor object, single-model methods), class_models_,
    dict_types_ (``dict``), class_bytes_, train_audit_, stack_ (``stack``: its ``coef_`` per
    feature of ``stack_feature_names_``, ``intercept_`` per class); with ``auto``: ``best_params_``,
    ``best_score_``, ``cv_results_`` (``params``, ``mean_test_score``, ``std_test_score``,
    ``rank_test_score``, ``split{i}_test_score``), ``method_`` (the method refitted).
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(set(METHODS))],
        "compressor": [str, Compressor, None],
        "class_models": ["array-like", None],
        "dict_type": [StrOptions({"raw", "trained"})],
        "dict_size": [Interval(Integral, 256, None, closed="left")],
        "max_class_bytes": [Interval(Integral, 1, None, closed="left"), None],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "separator": [str, bytes],
        "C": [Interval(Real, 0, None, closed="neither")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_cv_texts": [Interval(Integral, 20, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, method="dict", compressor=None, class_models=None, dict_type="raw", dict_size=262144,
                 max_class_bytes=None, temperature=1.0, separator=" ", C=1.0, cv=5, max_cv_texts=600, random_state=None,
                 n_jobs=1):
        self.method = method
        self.compressor = compressor
        self.class_models = class_models
        self.dict_type = dict_type
        self.dict_size = dict_size
        self.max_class_bytes = max_class_bytes
        self.temperature = temperature
        self.separator = separator
        self.C = C
        self.cv = cv
        self.max_cv_texts = max_cv_texts
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fit ------------------------------------------------------------------------------
    def _single_model(self, spec):
        sep = as_bytes(self.separator, name="separator")
        return make_class_model(spec, separator=sep, dict_type=self.dict_type, dict_size=self.dict_size,
                                max_class_bytes=self.max_class_bytes)

    def fit(self, X, y):
        """Build the class models (``auto``: choose the method by cross-validation first)."""
        Xb, y_idx = self._validate_fit(X, y)
        as_bytes(self.separator, name="separator")
        if self.method in ("dict", "concat"):
            default = "zstd:19" if self.method == "dict" else "gzip"
            comp = as_compressor(self.compressor or default)
            model = (DictClassModel(comp, dict_type=self.dict_type, dict_size=self.dict_size,
                                    separator=as_bytes(self.separator)) if self.method == "dict"
                     else self._single_model(comp))
            self._fit_single(model, Xb, y_idx)
        elif self.method in WORD_MODELS:
            self._fit_single(self._single_model(self.method), Xb, y_idx)
        elif self.method == "stack":
            models, priced, _, oof = self._cross_fit(Xb, y_idx)
            self._fit_stack(models, Xb, y_idx, priced, oof, float(self.C))
        else:
            self._fit_auto(Xb, y_idx)
        return self

    def _fit_single(self, model, Xb, y_idx) -> None:
        if not isinstance(model, (DictClassModel, WordClassModel)):
            warn_window(model.compressor, Xb, "CompressionClassifier")
        self.method_ = model.params["method"]
        self.compressor_ = model.compressor
        self.class_models_ = [model.fit(texts_by_class(Xb, y_idx, len(self.classes_)))]
        self.class_bytes_ = model.class_bytes
        if self.method_ == "dict":
            self.dict_types_ = model.dict_types

    def _cross_fit(self, Xb, y_idx):
        """Out-of-fold code lengths of every class model for the priced sample of the training
        texts. Returns (the class models, the sample's indices, its folds in sample positions,
        one (sample size, n_classes) array of bits per model)."""
        specs = DEFAULT_CLASS_MODELS if self.class_models is None else self.class_models
        if isinstance(specs, (str, bytes, Compressor)) or len(specs) == 0:
            raise InputError(f"class_models must be a non-empty list of class-model specs; got {specs!r}")
        models = [self._single_model(s) for s in specs]
        folds = stratified_folds(y_idx, self.cv, self.random_state)
        priced = _priced_sample(y_idx, self.max_cv_texts, self.random_state)
        position = np.full(len(Xb), -1)
        position[priced] = np.arange(len(priced))
        sample_folds = [(tr, va[position[va] >= 0]) for tr, va in folds]
        n_classes = len(self.classes_)
        oof = [cross_fit_code_lengths(m, Xb, y_idx, n_classes, sample_folds, self.n_jobs)[priced] for m in models]
        local_folds = [(position[np.setdiff1d(priced, va)], position[va]) for _, va in sample_folds]
        return models, priced, local_folds, oof

    def _fit_stack(self, models, Xb, y_idx, priced, oof, C: float) -> None:
        """Class models refitted on all data; the logit learns on out-of-fold code lengths
        (the kind of numbers it meets at predict time)."""
        self.method_ = "stack"
        self.class_models_ = [m.fit(texts_by_class(Xb, y_idx, len(self.classes_))) for m in models]
        self.class_bytes_ = [m.class_bytes for m in self.class_models_]
        self.ref_bytes_ = float(np.mean(_lengths(Xb)))
        self.stack_ = SharedWeightLogit(C).fit(code_length_tensor(oof, _lengths(Xb)[priced], self.ref_bytes_),
                                               y_idx[priced])
        self.stack_feature_names_ = [f"{m.name}|{unit}" for m in models for unit in ("bits/byte", "bits/ref")]

    def _stack_features(self, Xb) -> np.ndarray:
        bits = [m.code_lengths(Xb, self.n_jobs) for m in self.class_models_]
        return code_length_tensor(bits, _lengths(Xb), self.ref_bytes_)

    def _fit_auto(self, Xb, y_idx) -> None:
        """Cross-validate every class model alone and all of them stacked, from one set of
        out-of-fold code lengths per model; refit the best (ties: the earlier candidate)."""
        models, priced, folds, oof = self._cross_fit(Xb, y_idx)
        y_priced = y_idx[priced]
        candidates, fold_scores = [], []
        for model, bits in zip(models, oof):
            candidates.append(model.params)
            fold_scores.append([_accuracy(np.argmin(bits[va], axis=1), y_priced[va]) for _, va in folds])
        feats = code_length_tensor(oof, _lengths(Xb)[priced], float(np.mean(_lengths(Xb))))
        for C in AUTO_STACK_CS:
            candidates.append({"method": "stack", "C": C, "class_models": [m.name for m in models]})
            fold_scores.append([_accuracy(SharedWeightLogit(C).fit(feats[tr], y_priced[tr]).predict(feats[va]),
                                          y_priced[va]) for tr, va in folds])
        self.cv_results_ = _cv_results(candidates, np.array(fold_scores))
        best = int(np.argmax(self.cv_results_["mean_test_score"]))  # first of the best
        self.best_params_ = candidates[best]
        self.best_score_ = float(self.cv_results_["mean_test_score"][best])
        if best < len(models):
            self._fit_single(models[best], Xb, y_idx)
        else:
            self._fit_stack(models, Xb, y_idx, priced, oof, candidates[best]["C"])

    # -- predict --------------------------------------------------------------------------
    def code_lengths(self, X) -> np.ndarray:
        """Bits to code each text given each class's model, shape (n, n_classes)
        (single-model methods; a stack has one such array per model in ``class_models_``)."""
        check_is_fitted(self, "classes_")
        if self.method_ == "stack":
            raise InputError("a stacked classifier has several class models: use "
                             "clf.class_models_[i].code_lengths(texts as bytes)")
        Xb = self._validate_predict(X)
        return self.class_models_[0].code_lengths(Xb, self.n_jobs)

    def decision_function(self, X) -> np.ndarray:
        """Larger is more likely, shape (n, n_classes): minus the code lengths in bits, or the stack's scores."""
        check_is_fitted(self, "classes_")
        if self.method_ == "stack":
            return self.stack_.decision_function(self._stack_features(self._validate_predict(X)))
        return -self.code_lengths(X)

    def predict(self, X) -> np.ndarray:
        """One label per text: minimum code length (equal lengths: lowest class) or the stack's argmax."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Stack: the logistic regression's probabilities. Otherwise softmax(-bits * ln 2 / temperature)."""
        check_is_fitted(self, "classes_")
        if self.method_ == "stack":
            return self.stack_.predict_proba(self._stack_features(self._validate_predict(X)))
        z = -self.code_lengths(X) * (math.log(2.0) / float(self.temperature))
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def _lengths(Xb) -> np.ndarray:
    return np.array([len(x) for x in Xb])


def _priced_sample(y_idx: np.ndarray, max_texts: int | None, random_state) -> np.ndarray:
    """Sorted indices of at most ``max_texts`` texts, a stratified sample (all when fewer)."""
    if max_texts is None or len(y_idx) <= max_texts:
        return np.arange(len(y_idx))
    if max_texts < len(np.unique(y_idx)):
        raise InputError(f"max_cv_texts={max_texts} is fewer than the {len(np.unique(y_idx))} classes")
    split = StratifiedShuffleSplit(n_splits=1, train_size=max_texts, random_state=random_state)
    return np.sort(next(split.split(np.zeros(len(y_idx)), y_idx))[0])


def _accuracy(pred_idx: np.ndarray, y_idx: np.ndarray) -> float:
    return float(np.mean(pred_idx == y_idx))


def _cv_results(candidates: list[dict], scores: np.ndarray) -> dict:
    """``GridSearchCV``-shaped results: params, per-split and mean/std scores, ranks."""
    mean = scores.mean(axis=1)
    order = sorted(range(len(mean)), key=lambda i: (-mean[i], i))
    rank = np.empty(len(mean), dtype=np.int64)
    rank[order] = np.arange(1, len(mean) + 1)
    out = {"params": candidates, "mean_test_score": mean, "std_test_score": scores.std(axis=1),
           "rank_test_score": rank}
    for i in range(scores.shape[1]):
        out[f"split{i}_test_score"] = scores[:, i]
    return out
