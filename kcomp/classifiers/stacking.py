"""The stack of ``CompressionClassifier``: a multinomial logit over class-model code lengths.

The score of class c for a text is ``intercept_c - sum_f coef_f * F[c, f]``, where ``F[c, f]``
are code-length features of the text under class c's models (two per class model: bits per
byte of the text, and bits per mean training text length, both centred over the classes and
scaled to unit RMS on the training data). The weights are shared by all classes (a
conditional logit): the model learns how much to trust each compressor, how the evidence
grows with text length, and a bias per class, with ``n_features + n_classes`` parameters
instead of ``n_features x n_classes`` for a per-class logistic regression. The minimum
code length of one model is the special case of one positive weight and no bias, so the
stack generalises every single class model's ``argmin`` rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax


def code_length_tensor(bits: Sequence[np.ndarray], lengths: np.ndarray, ref_bytes: float) -> np.ndarray:
    """(n, n_classes, 2 * n_models): per model, centred bits per byte and bits per ``ref_bytes``."""
    feats = []
    for b in bits:
        centred = b - b.mean(axis=1, keepdims=True)
        feats.append(centred / np.maximum(lengths, 1)[:, None])
        feats.append(centred / max(float(ref_bytes), 1.0))
    return np.stack(feats, axis=2)


class SharedWeightLogit:
    """L2-regularised conditional logit: ``sum of NLL + ||coef||^2 / (2 C)`` (scikit-learn's
    convention for ``C``), fitted by L-BFGS from zero weights (deterministic)."""

    def __init__(self, C: float = 1.0) -> None:
        self.C = float(C)

    def _scores(self, F: np.ndarray) -> np.ndarray:
        return self.intercept_ - (F / self.scale_) @ self.coef_

    def fit(self, F: np.ndarray, y_idx: np.ndarray) -> "SharedWeightLogit":
        """F: (n, n_classes, n_features) code-length features; y_idx: class indices."""
        n, n_classes, n_feat = F.shape
        self.scale_ = np.sqrt(np.mean(F ** 2, axis=(0, 1))) + 1e-12
        Fs = F / self.scale_
        rows = np.arange(n)

        def objective(p):
            coef, intercept = p[:n_feat], p[n_feat:]
            s = intercept - Fs @ coef
            lse = logsumexp(s, axis=1)
            resid = np.exp(s - lse[:, None])
            resid[rows, y_idx] -= 1.0  # d NLL / d score
            loss = float(np.sum(lse - s[rows, y_idx])) + coef @ coef / (2 * self.C)
            grad_coef = -np.einsum("nc,ncf->f", resid, Fs) + coef / self.C
            return loss, np.concatenate([grad_coef, resid.sum(axis=0)])

        res = minimize(objective, np.zeros(n_feat + n_classes), jac=True, method="L-BFGS-B",
                       options={"maxiter": 1000})
        self.coef_, self.intercept_ = res.x[:n_feat], res.x[n_feat:]
        return self

    def decision_function(self, F: np.ndarray) -> np.ndarray:
        return self._scores(F)

    def predict(self, F: np.ndarray) -> np.ndarray:
        """Class indices (equal scores: the lowest index)."""
        return np.argmax(self._scores(F), axis=1)

    def predict_proba(self, F: np.ndarray) -> np.ndarray:
        return softmax(self._scores(F), axis=1)
