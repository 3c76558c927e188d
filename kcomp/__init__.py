"""kcomp: compression-based learning, practical approximations of Kolmogorov complexity.

All sizes and information quantities are in **bits**. Submodules load on first use:
``kcomp.datasets`` (labelled datasets with leak-free splits), ``kcomp.io`` (reading texts from
files and directories), ``kcomp.classifiers``.
"""

import importlib

from kcomp._inputs import window_warning
from kcomp.complexity import K, K_cond, K_joint, mutual_information, ncd
from kcomp.compressors import Compressor, describe_compressors, get_compressor, list_compressors, register
from kcomp.engine import ncd_matrix, ncd_topk
from kcomp.errors import CorruptStreamError, InputError, KcompError, OutputLimitError, UnknownCompressorError
from kcomp.files import compress_file, decompress_file
from kcomp.axioms import axioms  # noqa: F401
from kcomp.score import score_dataset; from kcomp.subadditivity import subadditivity  # noqa: E702,F401
from kcomp.select import select  # noqa: F401

__version__ = "0.1.0"

__all__ = [
    "K", "K_cond", "K_joint", "mutual_information", "ncd",
    "Compressor", "describe_compressors", "get_compressor", "list_compressors", "register",
    "ncd_matrix", "ncd_topk", "compress_file", "decompress_file", "score_dataset", "subadditivity", "select", "axioms",
    "CorruptStreamError", "InputError", "KcompError", "OutputLimitError", "UnknownCompressorError",
    "NCDKNNClassifier", "CompressionClassifier", "CodeLengthFeatures", "NCDPrototypeFeatures",
    "window_warning", "datasets", "io",
]

#: submodules reachable as ``kcomp.NAME`` without an explicit import (loaded on first use)
_LAZY_MODULES = ("datasets", "io", "classifiers")


def __getattr__(name):  # classifiers import scikit-learn (~1 s): load them on first use only
    if name in ("NCDKNNClassifier", "CompressionClassifier", "CodeLengthFeatures", "NCDPrototypeFeatures"):
        from kcomp import classifiers

        return getattr(classifiers, name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"kcomp.{name}")
    raise AttributeError(f"module 'kcomp' has no attribute {name!r}")
