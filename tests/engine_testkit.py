"""Test kit of the NCD engine (a helper module, importable by worker processes): the one-pair
reference, and compressors that exist only in the tests.

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

import numpy as np

from kcomp import ncd, ncd_matrix, ncd_topk
from kcomp.compressors.base import Compressor
from kcomp.compressors.gzip import GzipCompressor


def brute(A, B, spec="gzip", symmetric=False):
    return np.array([[ncd(b, a, spec, symmetric=symmetric) for b in B] for a in A])


def reference_topk(M, k):
    idx = np.broadcast_to(np.arange(M.shape[1]), M.shape)
    order = np.lexsort((idx, M), axis=-1)[:, :k]
    return np.take_along_axis(M, order, 1), order


def assert_engine_honours(comp, A, B, *, n_jobs=1, backend=None, k=2):
    """ncd_matrix and ncd_topk with ``comp`` equal ncd() with that same object."""
    M = brute(A, B, comp)
    np.testing.assert_array_equal(ncd_matrix(A, B, comp, n_jobs=n_jobs, backend=backend, progress=False), M)
    d, i = ncd_topk(A, B, k, comp, n_jobs=n_jobs, backend=backend, progress=False)
    rd, ri = reference_topk(M, k)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(d, rd)
    return M


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

    from kcomp.lm_coder import LMCompressor
    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    torch.manual_seed(seed)
    model = ByteGPT(ModelConfig(block_size=64, n_layer=1, n_head=2, n_embd=32)).eval()
    return LMCompressor(model=model, device="cpu")
