"""Compression-based text classifiers and features with the scikit-learn API.

:class:`NCDKNNClassifier`
    k-nearest neighbours under the normalized compression distance (streaming top-k).
:class:`CompressionClassifier`
    class-conditional compression (zstd dictionaries, the class text as a prefix, adaptive word
    models per class, stacked code lengths, or ``method="auto"``: chosen by cross-validation on
    the training data).
:class:`CodeLengthFeatures`, :class:`NCDPrototypeFeatures`
    transformers for a Pipeline: per-class code lengths, NCD to class prototypes.

All take a list (or 1-d array) of ``str`` or ``bytes`` texts, never a mix, and audit the data:
:class:`LeakageWarning` fires when the training set holds many exact duplicates and when test
texts also occur verbatim in the training set. Accuracy is always fair: one label per text.
"""

from kcomp.classifiers._base import LeakageWarning
from kcomp.classifiers.compression import CompressionClassifier
from kcomp.classifiers.features import CodeLengthFeatures, NCDPrototypeFeatures
from kcomp.classifiers.knn import TIE_BREAKS, NCDKNNClassifier

__all__ = ["NCDKNNClassifier", "CompressionClassifier", "CodeLengthFeatures", "NCDPrototypeFeatures",
           "LeakageWarning", "TIE_BREAKS"]
