"""What every kcomp estimator shares: text and label validation, parameter checks, leakage audit.

Texts are a list (or 1-d array) of ``str`` or ``bytes``, never a mix. Labels are encoded with
scikit-learn's ``LabelEncoder`` (``classes_`` sorted); parameters are checked against each
estimator's ``_parameter_constraints`` (scikit-learn's validation), and any violation is raised
as :class:`kcomp.errors.InputError` with scikit-learn's message.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from kcomp._inputs import texts_and_kind, window_warning
from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError

#: a training set with more than this fraction of rows repeating another row is flagged
DUPLICATE_WARN_FRACTION = 0.01


class LeakageWarning(UserWarning):
    """The data would make accuracy look better than it is (duplicates, train/test overlap)."""


def check_params(estimator: BaseEstimator) -> None:
    """scikit-learn's ``_parameter_constraints`` check, raised as :class:`InputError`."""
    try:
        estimator._validate_params()
    except InvalidParameterError as exc:
        raise InputError(str(exc)) from None


def as_compressor(value, name: str = "compressor") -> Compressor:
    """The Compressor object for a spec string or a Compressor (passed through unchanged)."""
    if not isinstance(value, (str, Compressor)):
        raise InputError(f"{name} must be a compressor spec such as 'gzip' or a Compressor; got {value!r}")
    return get_compressor(value)


def _label_kind(v) -> str:
    if isinstance(v, str):
        return "str"
    if isinstance(v, (bytes, bytearray)):
        return "bytes"
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Real):
        return "nan" if math.isnan(float(v)) else "number"
    return type(v).__name__


def encode_labels(y, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Validate labels; return (classes_ sorted, encoded y, label kind)."""
    if y is None:
        raise InputError("y is required: a label for every training text")
    if isinstance(y, (str, bytes)):
        raise InputError("y must be a sequence of labels, not a single string")
    yl = y.tolist() if isinstance(y, np.ndarray) else list(y)
    if len(yl) != n:
        raise InputError(f"X has {n} texts but y has {len(yl)} labels; they must have the same length")
    kinds = {_label_kind(v) for v in yl}
    if "nan" in kinds:
        raise InputError("y holds NaN labels; drop or fill them before fitting")
    if len(kinds) > 1:
        raise InputError(f"y mixes label types ({', '.join(sorted(kinds))}); use one type, e.g. all str or all int")
    kind = kinds.pop()
    if kind in ("str", "number", "bool"):
        arr = np.asarray(yl)
    else:
        arr = np.empty(n, dtype=object)
        arr[:] = yl
    try:
        check_classification_targets(arr)
        encoder = LabelEncoder().fit(arr)
    except (TypeError, ValueError) as exc:
        raise InputError(f"labels of type {kind} cannot be sorted into classes: {exc}") from None
    return encoder.classes_, encoder.transform(arr).astype(np.int64), kind


def digests(texts: Sequence[bytes]) -> list[bytes]:
    return [hashlib.blake2b(t, digest_size=16).digest() for t in texts]


def audit_train(text_digests: list[bytes], y_idx: np.ndarray, stacklevel: int = 3) -> dict:
    """Count exact duplicates in the training set; warn when they are many or disagree."""
    counts = Counter(text_digests)
    repeated = {d for d, c in counts.items() if c > 1}
    n_dup_rows = sum(counts[d] - 1 for d in repeated)
    labels_of: dict[bytes, set] = {}
    if repeated:
        for d, lab in zip(text_digests, y_idx.tolist()):
            if d in repeated:
                labels_of.setdefault(d, set()).add(lab)
    conflicting = sum(1 for s in labels_of.values() if len(s) > 1)
    n = len(text_digests)
    audit = {"n_train": n, "n_duplicate_rows": n_dup_rows, "n_repeated_texts": len(repeated),
             "n_conflicting_texts": conflicting}
    if n_dup_rows > DUPLICATE_WARN_FRACTION * n or conflicting:
        warnings.warn(
            f"training set: {n_dup_rows} of {n} texts ({100 * n_dup_rows / n:.1f}%) are exact duplicates "
            f"of another training text ({len(repeated)} distinct texts repeated, {conflicting} of them with "
            "conflicting labels). Duplicates inflate cross-validation and leave-one-out scores; "
            "deduplicate before splitting.", LeakageWarning, stacklevel=stacklevel)
    return audit


def audit_test(train_digests: frozenset, texts: Sequence[bytes], stacklevel: int = 3) -> int:
    n_in = sum(1 for d in digests(texts) if d in train_digests)
    if n_in:
        warnings.warn(
            f"{n_in} of {len(texts)} texts to predict also occur verbatim in the training set; "
            "their nearest neighbour is an exact copy, so accuracy on them is inflated "
            "(split by source/group and deduplicate across the split).", LeakageWarning, stacklevel=stacklevel)
    return n_in


def warn_window(compressor: Compressor, texts: Sequence[bytes], what: str, stacklevel: int = 3) -> None:
    """Warn when a class text or neighbour plus a query cannot fit the codec's window."""
    message = window_warning(compressor, (len(t) for t in texts))
    if message:
        warnings.warn(f"{what}: {message}", UserWarning, stacklevel=stacklevel)


class TextEstimatorMixin:
    """Fit-time text/label validation and auditing shared by the classifiers and transformers."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

    def _validate_fit(self, X, y):
        check_params(self)
        Xb, kind = texts_and_kind(X, name="X")
        self.classes_, y_idx, self._label_kind = encode_labels(y, len(Xb))
        self.input_kind_ = kind
        text_digests = digests(Xb)
        self.train_audit_ = audit_train(text_digests, y_idx, stacklevel=4)
        self._train_digests = frozenset(text_digests)
        self.n_features_in_ = 1
        return Xb, y_idx

    def _validate_predict(self, X, audit: bool = True) -> list[bytes]:
        check_is_fitted(self, "classes_")
        Xb, kind = texts_and_kind(X, name="X")
        if kind != self.input_kind_:
            raise InputError(f"X holds {kind} but the estimator was fitted on {self.input_kind_}; "
                             "use one type throughout")
        if audit:
            audit_test(self._train_digests, Xb, stacklevel=4)
        return Xb


class TextClassifierBase(TextEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Validation, auditing and fair scoring shared by the kcomp classifiers."""

    def score(self, X, y, sample_weight=None) -> float:
        """Fair accuracy of :meth:`predict` on (X, y): one label per text, ties never count twice."""
        check_is_fitted(self, "classes_")
        yl = y.tolist() if isinstance(y, np.ndarray) else list(y)
        kinds = {_label_kind(v) for v in yl}
        if kinds - {self._label_kind}:
            raise InputError(f"y holds labels of type {', '.join(sorted(kinds))} but the classifier was fitted "
                             f"on {self._label_kind} labels")
        return super().score(X, y, sample_weight=sample_weight)
