"""Compressors that exist only in the tests (a helper module, importable by worker processes).

* :class:`SaltedZlib`: state the spec does not carry (a salt that changes every size), for a
  family registered at run time; rebuilt from its spec on a worker, it would price differently.
* :class:`PoisonedGzip`: gzip that SIGKILLs the process pricing the joint sizes of one text: a
  deterministic worker death (or run death, in-process) instead of a timing race.
* :func:`random_lm`: ``LMCompressor`` around a tiny, seeded, randomly initialised model.
"""

from __future__ import annotations

import os
import signal
import zlib

from kcomp.compressors.base import Compressor
from kcomp.compressors.gzip import GzipCompressor


class SaltedZlib(Compressor):
    """zlib over ``salt + data``: every size depends on the salt, which the spec does not name."""

    family = "salted"

    def __init__(self, salt: bytes = b"", *, headerless: bool = False) -> None:
        super().__init__(None, headerless=headerless)
        self.salt = salt

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(self.salt + data, 9)

    def _decompress(self, data: bytes) -> bytes:
        out = zlib.decompress(data)
        if not out.startswith(self.salt):
            raise ValueError("stream was made with another salt")
        return out[len(self.salt):]


def make_salted(level=None, flags=(), headerless=False) -> SaltedZlib:
    """Registry factory of ``salted``: always the empty salt."""
    return SaltedZlib(headerless=headerless)


class PoisonedGzip(GzipCompressor):
    """gzip (same spec) that SIGKILLs its own process when asked for joint sizes with ``poison``
    among the suffixes (the queries of an NCD block). With ``once_marker`` only the first
    process to get there dies (it creates that file), so a retried task succeeds."""

    def __init__(self, poison: bytes, once_marker: str | None = None) -> None:
        super().__init__()
        self.poison = poison
        self.once_marker = once_marker

    def joint_size_bits(self, prefix, suffixes):
        if self.poison in suffixes and self._first_to_die():
            os.kill(os.getpid(), signal.SIGKILL)
        return super().joint_size_bits(prefix, suffixes)

    def _first_to_die(self) -> bool:
        if self.once_marker is None:
            return True
        try:
            os.close(os.open(self.once_marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True


def random_lm(seed: int = 0):
    """An ``LMCompressor`` (CPU) around a seeded random 1-layer model: prices unlike shipped ``lm``."""
    import torch

    from kcomp.lm_coder.compressor import LMCompressor
    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    torch.manual_seed(seed)
    model = ByteGPT(ModelConfig(block_size=64, n_layer=1, n_head=2, n_embd=32)).eval()
    return LMCompressor(model=model, device="cpu")
