"""Neural compression: a byte-level transformer mixed with adaptive context counts, driving a range
coder (``lm`` / ``lm:adapt`` / ``lm:online``).

>>> from kcomp.lm_coder import LMCompressor
>>> c = LMCompressor()                      # shipped weights, CUDA if present else CPU
>>> c.decompress(c.compress(b"hello")) == b"hello"
True

Public API: :class:`LMCompressor`, :func:`load_model`, :func:`save_model`, :func:`train`,
:func:`prequential_code_lengths`, :class:`OnlineConfig`, :class:`AdaptConfig`, :class:`LMCoder`. torch is imported
lazily (only when a model is built or loaded).
"""

from kcomp.lm_coder.coder import AdaptConfig, DeviceMismatchError, LMCoder, OnlineConfig
from kcomp.lm_coder.mix import MixConfig
from kcomp.lm_coder.weights import WeightsError, load_model, model_id, save_model


def __getattr__(name: str):
    # the Compressor lives in kcomp.compressors.lm, which imports this package: re-export lazily
    if name in ("LMCompressor", "prequential_code_lengths"):
        from kcomp.compressors import lm

        return getattr(lm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(*args, **kwargs):
    """Train weights on the offline corpus; see :func:`kcomp.lm_coder.train.train`."""
    from kcomp.lm_coder.train import train as _train

    return _train(*args, **kwargs)


__all__ = [
    "AdaptConfig",
    "DeviceMismatchError",
    "LMCoder",
    "LMCompressor",
    "MixConfig",
    "OnlineConfig",
    "WeightsError",
    "load_model",
    "model_id",
    "prequential_code_lengths",
    "save_model",
    "train",
]
