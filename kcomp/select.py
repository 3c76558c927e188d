"""Compression-based data selection: pick the candidates that look most like a target set.

A compressor that has seen the target codes target-like text cheaply. With zstd (level 19)
and the target as a raw-content dictionary, for each candidate x (sizes in bits):

* ``similarity`` (ZIP-FIT-style): ``C(x | target) / C(x)``, the share of x the target does not
  explain; lower = closer to the target;
* ``cross_entropy`` (Moore & Lewis 2010, with compressors as the language models):
  ``(C(x | target) - C(x | reference)) / |x|`` in bits per byte, where the reference is a
  seeded random sample of the candidates of the target's size. Subtracting it removes the
  "x is just easy to compress" effect: measured on Debian descriptions (5,000 candidates, 10%
  on-target) precision@500 0.73 against 0.40 for ``similarity`` (``bench/select_debian.py``).

``redundancy > 0`` adds an Entropy-Law-style greedy step: among the best ``4 n`` candidates,
picks are made in rounds, each candidate's score raised by ``redundancy * (1 - C(x | selected)
/ C(x))`` (the share of x that the already selected rows explain), so near-copies of what is
already chosen fall back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kcomp._inputs import as_bytes_list
from kcomp.errors import InputError

METHODS = ("cross_entropy", "similarity")
MAX_DICT_BYTES = 256 << 10  #: the target (and reference) dictionary holds at most this much
ROUNDS = 16  #: greedy rounds of the redundancy penalty


class _DictPricer:
    """zstd sizes in bits with a raw-content dictionary (None: no dictionary)."""

    def __init__(self, dictionary: bytes | None, level: int) -> None:
        import zstandard

        kw = {"level": level, "write_checksum": False, "write_content_size": False, "write_dict_id": False}
        if dictionary:
            kw["dict_data"] = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        self._cctx = zstandard.ZstdCompressor(**kw)

    def bits(self, x: bytes) -> float:
        return 8.0 * len(self._cctx.compress(x))


def _dictionary(texts: list[bytes], rng: np.random.Generator, budget: int) -> bytes:
    """Texts in seeded random order, joined, up to ``budget`` bytes (the end is what zstd's
    window reaches first, so whole texts are kept)."""
    out, size = [], 0
    for i in rng.permutation(len(texts)):
        if size + len(texts[i]) + 1 > budget and out:
            break
        out.append(texts[i])
        size += len(texts[i]) + 1
    return b"\n".join(out)[-budget:]


@dataclass
class Selection:
    """The chosen candidates, best first."""

    indices: np.ndarray  #: positions in the candidate list
    scores: np.ndarray  #: their score (lower = more target-like; see ``method``)
    method: str
    candidate_scores: np.ndarray  #: the base score of every candidate (no redundancy penalty)


def selection_scores(candidates: Iterable, target: Iterable, *, method: str = "cross_entropy", level: int = 19,
                     seed: int = 0, max_dict_bytes: int = MAX_DICT_BYTES) -> np.ndarray:
    """The score of every candidate (lower = more target-like); see the module docstring."""
    cands = as_bytes_list(candidates, name="candidates")
    targ = as_bytes_list(target, name="target")
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    rng = np.random.default_rng(seed)
    target_dict = _dictionary(targ, rng, max_dict_bytes)
    given_target = _DictPricer(target_dict, level)
    if method == "similarity":
        plain = _DictPricer(None, level)
        return np.array([given_target.bits(x) / max(plain.bits(x), 1.0) for x in cands])
    given_ref = _DictPricer(_dictionary(cands, rng, len(target_dict)), level)
    return np.array([(given_target.bits(x) - given_ref.bits(x)) / max(len(x), 1) for x in cands])


def _greedy(cands: list[bytes], base: np.ndarray, n: int, redundancy: float, level: int) -> np.ndarray:
    """Entropy-Law-style picks: rounds over the best 4n, penalising what the picks explain."""
    pool = list(np.argsort(base, kind="stable")[: min(len(cands), 4 * n)])
    plain = _DictPricer(None, level)
    alone = {i: max(plain.bits(cands[i]), 1.0) for i in pool}
    chosen: list[int] = []
    per_round = max(1, math.ceil(n / ROUNDS))
    while len(chosen) < n:
        if chosen:
            given = _DictPricer(b"\n".join(cands[i] for i in chosen)[-MAX_DICT_BYTES:], level)
            explained = np.array([1.0 - given.bits(cands[i]) / alone[i] for i in pool])
        else:
            explained = np.zeros(len(pool))
        penalised = base[pool] + redundancy * explained
        take = np.argsort(penalised, kind="stable")[: min(per_round, n - len(chosen))]
        chosen += [pool[k] for k in take]
        pool = [p for k, p in enumerate(pool) if k not in set(take.tolist())]
    return np.asarray(chosen, dtype=np.int64)


def select(candidates: Iterable, target: Iterable, n: int, *, method: str = "cross_entropy", level: int = 19,
           redundancy: float = 0.0, seed: int = 0) -> Selection:
    """Pick the ``n`` candidates most like ``target`` (both iterables of str/bytes).

    ``method``: ``cross_entropy`` (default) or ``similarity``; ``level``: zstd level;
    ``redundancy``: weight of the penalty on what the already selected rows explain (0: none).
    """
    cands = as_bytes_list(candidates, name="candidates")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(cands):
        raise InputError(f"n must be an int in 1..{len(cands)} (the number of candidates), got {n!r}")
    if not isinstance(redundancy, (int, float)) or redundancy < 0:
        raise InputError(f"redundancy must be a non-negative number, got {redundancy!r}")
    base = selection_scores(cands, target, method=method, level=level, seed=seed)
    if redundancy > 0:
        idx = _greedy(cands, base, int(n), float(redundancy), level)
    else:
        idx = np.argsort(base, kind="stable")[: int(n)]
    return Selection(idx, base[idx], method, base)


__all__ = ["select", "selection_scores", "Selection", "METHODS"]
