"""Class-conditional compression: a text goes to the class whose training text makes it cheapest.

Prediction costs n_test x n_classes compressions instead of n_test x n_train (kNN), so it is
orders of magnitude faster at predict time. Methods:

``dict`` / ``concat``
    one class model (see :mod:`kcomp.classifiers.class_models`); the class of minimum code
    length wins (equal lengths: the lowest class index), a uniform class prior.
``stack``
    :class:`~kcomp.classifiers.features.CodeLengthFeatures` of several class models feed a
    logistic regression: the weights of the compressors and the class priors are learned.
``auto``
    chooses among the single class models and the stack by stratified cross-validation on the
    training data only (``best_params_``, ``cv_results_``), then refits the winner on all of it.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
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
from kcomp.classifiers.features import CodeLengthFeatures, code_length_features
from kcomp.compressors import Compressor
from kcomp.errors import InputError

METHODS = ("dict", "concat", "stack", "auto")
#: candidates of method="auto" (and the stack's class models) when ``class_models`` is None:
#: fast codecs plus low-order PPMd, the strongest classical class model measured on text
DEFAULT_CLASS_MODELS = ("dict", "gzip", "ppmd:2", "ppmd:3")
#: inverse regularisation strengths of the stack tried by method="auto"
AUTO_STACK_CS = (0.1, 1.0)


def _stack_model(C: float):
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))


class CompressionClassifier(TextClassifierBase):
    """Classify by the class whose training text makes a query cheapest to compress.

    Parameters
    ----------
    method : {"dict", "concat", "stack", "auto"}, default "dict"
        See the module docstring. ``auto`` is kcomp's best without a benchmark.
    compressor : str or Compressor, optional
        ``dict``: a zstd spec giving the level (default ``zstd:19``). ``concat``: any spec or
        Compressor object (default ``gzip``; ``lm`` makes the byte transformer a class model,
        conditioned on the class text as its prefix). Unused by ``stack``/``auto``.
    class_models : sequence of class-model specs, optional
        ``stack``: its features; ``auto``: its candidates (each alone, and all stacked).
        Default ``("dict", "gzip", "ppmd:2", "ppmd:3")``. Add ``"lm"`` when the lm extra is
        installed (slow: kB/s).
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
        ``stack``: inverse L2 strength of the logistic regression (``auto`` tries 0.1 and 1).
    cv : int, default 5
        Folds of the cross-fitting (``stack``) and of the selection (``auto``); fewer when the
        smallest class is smaller (at least 2 texts per class are needed).
    random_state : int, RandomState or None
        Fold shuffling: the same seed gives the same choice and the same predictions.
    n_jobs : int, default 1
        joblib workers pricing texts under prefix models (the compressor object travels).

    Attributes
    ----------
    classes_, compressor_ (the Compressor object, single-model methods), class_models_,
    dict_types_ (``dict``), class_bytes_, train_audit_; with ``auto``: ``best_params_``,
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
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, method="dict", compressor=None, class_models=None, dict_type="raw", dict_size=262144,
                 max_class_bytes=None, temperature=1.0, separator=" ", C=1.0, cv=5, random_state=None, n_jobs=1):
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
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fit ------------------------------------------------------------------------------
    def _single_model(self, spec):
        sep = as_bytes(self.separator, name="separator")
        return make_class_model(spec, separator=sep, dict_type=self.dict_type, dict_size=self.dict_size,
                                max_class_bytes=self.max_class_bytes)

    def _features(self) -> CodeLengthFeatures:
        models = DEFAULT_CLASS_MODELS if self.class_models is None else self.class_models
        return CodeLengthFeatures(class_models=models, cv=self.cv, random_state=self.random_state,
                                  max_class_bytes=self.max_class_bytes, separator=self.separator, n_jobs=self.n_jobs)

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
        elif self.method == "stack":
            self._fit_stack(Xb, y_idx, float(self.C))
        else:
            self._fit_auto(Xb, y_idx)
        return self

    def _fit_single(self, model, Xb, y_idx) -> None:
        if not isinstance(model, DictClassModel):
            warn_window(model.compressor, Xb, "CompressionClassifier")
        self.method_ = "dict" if isinstance(model, DictClassModel) else "concat"
        self.compressor_ = model.compressor
        self.class_models_ = [model.fit(texts_by_class(Xb, y_idx, len(self.classes_)))]
        self.class_bytes_ = model.class_bytes
        if self.method_ == "dict":
            self.dict_types_ = model.dict_types

    def _fit_stack(self, Xb, y_idx, C: float, oof=None) -> None:
        """Class models refitted on all data; the logistic regression learns on out-of-fold
        code lengths (computed here, or passed in by ``auto``), the numbers it meets later."""
        if oof is None:
            features = self._features()
            features.classes_ = self.classes_
            oof = features._fit_encoded(Xb, y_idx, stratified_folds(y_idx, self.cv, self.random_state))
            self.class_models_ = features.class_models_
        else:
            self.class_models_ = self._auto_models
            for m in self.class_models_:
                m.fit(texts_by_class(Xb, y_idx, len(self.classes_)))
        self.method_ = "stack"
        self.class_bytes_ = [m.class_bytes for m in self.class_models_]
        self.stack_ = _stack_model(C).fit(code_length_features(oof, _lengths(Xb)), y_idx)

    def _stack_features(self, Xb) -> np.ndarray:
        return code_length_features([m.code_lengths(Xb, self.n_jobs) for m in self.class_models_], _lengths(Xb))

    def _fit_auto(self, Xb, y_idx) -> None:
        """Cross-validate every class model alone and all of them stacked, from one set of
        out-of-fold code lengths per model; refit the best (ties: the earlier candidate)."""
        folds = stratified_folds(y_idx, self.cv, self.random_state)
        specs = DEFAULT_CLASS_MODELS if self.class_models is None else self.class_models
        self._auto_models = [self._single_model(s) for s in specs]
        n_classes = len(self.classes_)
        oof = [cross_fit_code_lengths(m, Xb, y_idx, n_classes, folds, self.n_jobs) for m in self._auto_models]
        candidates, fold_scores = [], []
        for model, bits in zip(self._auto_models, oof):
            params = ({"method": "dict", "compressor": model.compressor.spec} if isinstance(model, DictClassModel)
                      else {"method": "concat", "compressor": model.compressor.spec})
            candidates.append(params)
            fold_scores.append([_accuracy(np.argmin(bits[va], axis=1), y_idx[va]) for _, va in folds])
        feats = code_length_features(oof, _lengths(Xb))
        for C in AUTO_STACK_CS:
            candidates.append({"method": "stack", "C": C, "class_models": [m.name for m in self._auto_models]})
            fold_scores.append([_accuracy(_stack_model(C).fit(feats[tr], y_idx[tr]).predict(feats[va]), y_idx[va])
                                for tr, va in folds])
        self.cv_results_ = _cv_results(candidates, np.array(fold_scores))
        best = int(np.argmax(self.cv_results_["mean_test_score"]))  # first of the best
        self.best_params_ = candidates[best]
        self.best_score_ = float(self.cv_results_["mean_test_score"][best])
        if best < len(self._auto_models):
            self._fit_single(self._auto_models[best], Xb, y_idx)
        else:
            self._fit_stack(Xb, y_idx, candidates[best]["C"], oof=oof)
        del self._auto_models

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
        """Larger is more likely: minus the code lengths in bits, or the stack's logits."""
        check_is_fitted(self, "classes_")
        if self.method_ == "stack":
            return self.stack_.decision_function(self._stack_features(self._validate_predict(X)))
        return -self.code_lengths(X)

    def predict(self, X) -> np.ndarray:
        """One label per text: minimum code length (equal lengths: lowest class) or the stack's argmax."""
        scores = self.decision_function(X)
        if scores.ndim == 1:  # two classes: the logistic regression's single logit
            return self.classes_[(scores > 0).astype(int)]
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
