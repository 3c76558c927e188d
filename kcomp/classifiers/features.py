"""Features from compression, for a linear model (usable in a scikit-learn Pipeline).

:class:`CodeLengthFeatures`
    the code length of a text under each class model of several compressors, in bits per
    byte, centred on the mean over classes (so a compressor's overall level does not matter,
    only which classes make the text cheap). ``fit_transform`` cross-fits (like scikit-learn's
    ``TargetEncoder``): a training text is priced by class models built without its fold, so
    the downstream model sees the same kind of numbers it will see at predict time.

:class:`NCDPrototypeFeatures`
    NCD from a text to a few prototype training texts per class: kNN-free prediction whose
    cost is n x n_prototypes compressions instead of n x n_train.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from kcomp._inputs import as_bytes
from kcomp.classifiers._base import TextEstimatorMixin, as_compressor, warn_window
from kcomp.classifiers.class_models import (
    cross_fit_code_lengths,
    make_class_model,
    stratified_folds,
    texts_by_class,
)
from kcomp.compressors import Compressor
from kcomp.engine import ncd_matrix
from kcomp.errors import InputError

#: class models of the features by default: fast ones, plus PPMd order 3 (best on topics here)
DEFAULT_FEATURE_MODELS = ("dict", "gzip", "ppmd:3")


def code_length_features(bits: Sequence[np.ndarray], lengths: np.ndarray) -> np.ndarray:
    """(n, n_models * n_classes): bits per byte minus its mean over classes, model by model."""
    per_byte = [b / np.maximum(lengths, 1)[:, None] for b in bits]
    return np.hstack([p - p.mean(axis=1, keepdims=True) for p in per_byte])


class CodeLengthFeatures(TextEstimatorMixin, TransformerMixin, BaseEstimator):
    """Per-class code lengths of several class models, normalised by text length.

    Parameters
    ----------
    class_models : sequence of class-model specs, default ("dict", "gzip", "ppmd:3")
        ``"dict"`` / ``"dict:zstd:L"`` (zstd dictionary per class), ``"word"`` / ``"word-vs-rest"``
        (adaptive word models), or a compressor spec or :class:`~kcomp.compressors.Compressor`
        object (the class text as prefix, e.g. ``"lm"``).
    cv : int, default 5
        Folds of the cross-fitting in ``fit_transform`` (fewer when a class is smaller).
    random_state : int, RandomState or None
        Shuffling of the cross-fitting folds.
    max_class_bytes : int or None
        Class-text cap of the prefix models (None: the codec's window, at most 64 KiB, less
        room for a typical query).
    separator : str or bytes, default " "
    n_jobs : int, default 1
        joblib workers pricing texts under the prefix models.

    Attributes
    ----------
    classes_, class_models_ (fitted class models), n_features_out_.
    """

    _parameter_constraints: dict = {
        "class_models": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "max_class_bytes": [Interval(Integral, 1, None, closed="left"), None],
        "separator": [str, bytes],
        "n_jobs": [Integral, None],
    }

    def __init__(self, class_models=DEFAULT_FEATURE_MODELS, cv=5, random_state=None, max_class_bytes=None,
                 separator=" ", n_jobs=1):
        self.class_models = class_models
        self.cv = cv
        self.random_state = random_state
        self.max_class_bytes = max_class_bytes
        self.separator = separator
        self.n_jobs = n_jobs

    def _models(self) -> list:
        if isinstance(self.class_models, (str, Compressor)) or len(self.class_models) == 0:
            raise InputError(f"class_models must be a non-empty list of class-model specs; got {self.class_models!r}")
        sep = as_bytes(self.separator, name="separator")
        return [make_class_model(m, separator=sep, max_class_bytes=self.max_class_bytes) for m in self.class_models]

    def _fit_encoded(self, Xb: list[bytes], y_idx: np.ndarray, folds) -> list[np.ndarray]:
        """Fit every class model on all of Xb; return their out-of-fold code lengths (bits)."""
        n_classes = len(self.classes_)
        self.class_models_ = self._models()
        oof = [cross_fit_code_lengths(m, Xb, y_idx, n_classes, folds, self.n_jobs) for m in self.class_models_]
        for m in self.class_models_:
            m.fit(texts_by_class(Xb, y_idx, n_classes))
        self.n_features_out_ = len(self.class_models_) * n_classes
        return oof

    def fit(self, X, y):
        """Build every class model on all of (X, y)."""
        Xb, y_idx = self._validate_fit(X, y)
        self.class_models_ = self._models()
        for m in self.class_models_:
            m.fit(texts_by_class(Xb, y_idx, len(self.classes_)))
        self.n_features_out_ = len(self.class_models_) * len(self.classes_)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, and return cross-fitted features of X (each text priced without its own fold)."""
        Xb, y_idx = self._validate_fit(X, y)
        oof = self._fit_encoded(Xb, y_idx, stratified_folds(y_idx, self.cv, self.random_state))
        return code_length_features(oof, np.array([len(x) for x in Xb]))

    def code_lengths(self, X) -> list[np.ndarray]:
        """Bits of each text under each class, one (n, n_classes) array per class model."""
        Xb = self._validate_predict(X, audit=False)
        return [m.code_lengths(Xb, self.n_jobs) for m in self.class_models_]

    def transform(self, X) -> np.ndarray:
        Xb = self._validate_predict(X, audit=False)
        bits = [m.code_lengths(Xb, self.n_jobs) for m in self.class_models_]
        return code_length_features(bits, np.array([len(x) for x in Xb]))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "class_models_")
        return np.array([f"{m.name}|{c}" for m in self.class_models_ for c in self.classes_], dtype=object)


class NCDPrototypeFeatures(TextEstimatorMixin, TransformerMixin, BaseEstimator):
    """NCD from each text to ``n_per_class`` prototype training texts of every class.

    Prototypes are drawn at random (``random_state``) from each class's training texts.
    ``fit_transform`` replaces a prototype's distance to itself (0) by the mean distance of
    the other training texts to it, so the downstream model is not taught that 0 means
    "same class". Cost of ``transform``: n x n_prototypes joint compressions.

    Parameters
    ----------
    n_per_class : int, default 8
    compressor : str or Compressor, default "gzip"
    random_state : int, RandomState or None
    separator : str or bytes, default " "
    n_jobs : int, default 1

    Attributes
    ----------
    classes_, compressor_ (the Compressor object), prototype_labels_, prototype_indices_.
    """

    _parameter_constraints: dict = {
        "n_per_class": [Interval(Integral, 1, None, closed="left")],
        "compressor": [str, Compressor],
        "random_state": ["random_state"],
        "separator": [str, bytes],
        "n_jobs": [Integral, None],
    }

    def __init__(self, n_per_class=8, compressor="gzip", random_state=None, separator=" ", n_jobs=1):
        self.n_per_class = n_per_class
        self.compressor = compressor
        self.random_state = random_state
        self.separator = separator
        self.n_jobs = n_jobs

    def _fit(self, X, y) -> list[bytes]:
        Xb, y_idx = self._validate_fit(X, y)
        self.compressor_ = as_compressor(self.compressor)
        warn_window(self.compressor_, Xb, "NCDPrototypeFeatures")
        rng = check_random_state(self.random_state)
        chosen = []
        for c in range(len(self.classes_)):
            members = np.flatnonzero(y_idx == c)
            chosen.extend(rng.choice(members, size=min(self.n_per_class, len(members)), replace=False).tolist())
        self.prototype_indices_ = np.array(chosen)
        self.prototype_labels_ = self.classes_[y_idx[self.prototype_indices_]]
        self._prototypes = [Xb[i] for i in chosen]
        self.n_features_out_ = len(chosen)
        return Xb

    def fit(self, X, y):
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        Xb = self._fit(X, y)
        dist = self._ncd(Xb)
        rows, cols = self.prototype_indices_, np.arange(len(self.prototype_indices_))
        dist[rows, cols] = np.nan
        col_mean = np.nanmean(dist, axis=0) if len(Xb) > 1 else np.zeros(len(cols))
        dist[rows, cols] = col_mean
        return dist

    def _ncd(self, Xb: list[bytes]) -> np.ndarray:
        return ncd_matrix(Xb, self._prototypes, self.compressor_, separator=self.separator, n_jobs=self.n_jobs)

    def transform(self, X) -> np.ndarray:
        return self._ncd(self._validate_predict(X, audit=False))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "prototype_indices_")
        return np.array([f"ncd|{c}|{i}" for c, i in zip(self.prototype_labels_, self.prototype_indices_)],
                        dtype=object)
