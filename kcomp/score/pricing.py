"""Per-sample work, run in worker processes: each sample's size under every compressor (full
stream and the codec's framing), its BLAKE2 digest and its MinHash signature (datasketch), and
the sizes of whole-set chunks. Everything here is a pure function of its arguments."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from kcomp.compressors import Compressor, get_compressor, list_compressors

DEFAULT_COMPRESSORS = ("gzip", "zstd:19", "lzma")
SEPARATOR = b"\n"  #: joins samples in the concatenation and the learning-curve stream
SHINGLE = 5  #: byte n-gram length of the MinHash shingles
MINHASH_SCHEME = "affine32"

_USABLE: dict[str, bool] = {}


def compressor_usable(spec: str) -> bool:
    """True when ``spec`` is registered, its dependencies are installed, and it can price a
    probe string (e.g. ``lm`` needs its weights). Cached per process."""
    if spec not in _USABLE:
        ok = spec.split(":")[0] in list_compressors(available_only=True)
        if ok:
            try:
                get_compressor(spec).size_bits(b"kcomp probe")
            except Exception:  # noqa: BLE001 - any failure means "do not use it by default"
                ok = False
        _USABLE[spec] = ok
    return _USABLE[spec]


def lm_available(spec: str = "lm") -> bool:
    """True when the ``lm`` compressor (or ``lm:online``) is installed and usable here."""
    return compressor_usable(spec)


def _cuda() -> bool:
    """True on a machine with a usable CUDA device. Without an NVIDIA driver, torch (about
    250 MB resident) is not even imported."""
    import importlib.util
    import os

    if not os.path.exists("/proc/driver/nvidia/version") or importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def default_compressors() -> list[str]:
    """gzip, zstd:19, lzma; plus ``lm`` when it is usable and a CUDA device makes it affordable
    (its ``cost`` is "slow": about 10 kB/s on a CPU, where ``-c lm`` still adds it)."""
    return list(DEFAULT_COMPRESSORS) + (["lm"] if _cuda() and lm_available("lm") else [])


def default_curve_compressor() -> str:
    """The adaptive model of the learning curve: ``lm:online`` on a CUDA device, else PPMd
    (order 6: a context model with a smooth, byte-exact prequential cost), else lzma."""
    if _cuda() and lm_available("lm:online"):
        return "lm:online"
    return "ppmd" if "ppmd" in list_compressors(available_only=True) else "lzma"


def framed_bits(comp: Compressor, data: bytes) -> tuple[float, float]:
    """(full stream bits, container framing bits) of ``data`` under ``comp``."""
    return comp.size_and_framing_bits(data)


def shingle_hashes(data: bytes, k: int = SHINGLE) -> np.ndarray:
    """32-bit hashes of the byte k-grams of ``data`` (vectorised polynomial hash), the inputs
    of the MinHash signature."""
    a = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    if a.size < k:
        return np.empty(0, dtype=np.uint64)
    m = a.size - k + 1
    h = np.zeros(m, dtype=np.uint64)
    for j in range(k):
        h = h * np.uint64(1099511628211) + a[j:j + m] + np.uint64(1)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return h & np.uint64(0xFFFFFFFF)


def minhash(num_perm: int, seed: int):
    """An empty datasketch MinHash whose hash function takes the precomputed shingle hashes."""
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=seed, hashfunc=int, scheme=MINHASH_SCHEME)


@dataclass
class PricedBatch:
    """What the workers return for a batch of consecutive samples (arrays in sample order)."""

    lengths: np.ndarray  #: bytes per sample
    bits: np.ndarray  #: (n, compressors) full-stream bits
    framing: np.ndarray  #: (n, compressors) container bits inside those streams
    digests: list[bytes]  #: blake2b-128 of each sample
    signatures: np.ndarray | None  #: (n, num_perm) MinHash values; rows of short samples are unused
    binary: np.ndarray  #: True where the sample is not UTF-8 text or holds NUL bytes


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not UTF-8 text or that hold NUL bytes."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def price_batch(samples: list[bytes], comps: list[Compressor], num_perm: int | None, seed: int) -> PricedBatch:
    """Sizes, framing, digests and MinHash signatures of a batch (run in a worker)."""
    n, nc = len(samples), len(comps)
    bits = np.zeros((n, nc))
    framing = np.zeros((n, nc))
    for i, x in enumerate(samples):
        for k, c in enumerate(comps):
            bits[i, k], framing[i, k] = framed_bits(c, x)
    sigs = None
    if num_perm:
        template = minhash(num_perm, seed)
        sigs = np.empty((n, num_perm), dtype=np.uint32)
        for i, x in enumerate(samples):
            m = template.copy()
            hashes = shingle_hashes(x)
            for lo in range(0, hashes.size, 4096):  # bounded temporaries (shingles x num_perm)
                m.update_batch(hashes[lo:lo + 4096].tolist())
            sigs[i] = m.hashvalues
    return PricedBatch(np.fromiter(map(len, samples), dtype=np.int64, count=n), bits, framing,
                       [hashlib.blake2b(x, digest_size=16).digest() for x in samples], sigs,
                       np.fromiter(map(looks_binary, samples), dtype=bool, count=n))


def price_chunk(blob: bytes, comps: list[Compressor]) -> tuple[np.ndarray, np.ndarray]:
    """(full bits, framing bits) of one whole-set chunk under every compressor (in a worker)."""
    out = np.array([framed_bits(c, blob) for c in comps]).reshape(-1, 2)
    return out[:, 0], out[:, 1]


def ncd_batch(pairs: list[tuple[bytes, bytes]], comp: Compressor, sizes: np.ndarray | None = None,
              separator: bytes = b" ") -> np.ndarray:
    """NCD of each (x, y) pair: (C(x sep y) - min C) / max C with ``comp`` (in a worker);
    ``sizes`` (pairs x 2, bits): C(x) and C(y) when already known."""
    from kcomp.complexity import ncd_from_sizes

    out = np.empty(len(pairs))
    for i, (x, y) in enumerate(pairs):
        cx, cy = (comp.size_bits(x), comp.size_bits(y)) if sizes is None else sizes[i]
        out[i] = ncd_from_sizes(cx, cy, comp.size_bits(x + separator + y))
    return out
