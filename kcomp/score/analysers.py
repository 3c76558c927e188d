"""Small analysers of the scorer. Each ``observe``s the priced samples batch by batch (in input
order) and ``finish``es into its part of the report; the driver (:mod:`kcomp.score.driver`)
feeds them. What they keep per sample is a few numbers (sizes, a 16-byte digest, one MinHash
signature), so memory stays small next to the data."""

from __future__ import annotations

import numpy as np

from kcomp.compressors import Compressor
from kcomp.score.pricing import PricedBatch, SHINGLE
from kcomp.score.result import CompressorScore


def quantiles(x: np.ndarray) -> dict:
    """min, q05, q25, median, q75, q95, max and mean of ``x`` ({} when empty)."""
    if x.size == 0:
        return {}
    qs = np.quantile(x, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    keys = ("min", "q05", "q25", "median", "q75", "q95", "max")
    return dict({k: float(v) for k, v in zip(keys, qs)}, mean=float(x.mean()))


class Sizes:
    """Per-sample lengths, full-stream bits and framing bits under every priced compressor."""

    def __init__(self) -> None:
        self._parts: list[PricedBatch] = []
        self.lengths = self.bits = self.framing = None
        self.n_binary = 0

    def observe(self, batch: PricedBatch) -> None:
        self._parts.append(PricedBatch(batch.lengths, batch.bits, batch.framing, [], None, batch.binary))
        self.n_binary += int(batch.binary[batch.lengths > 0].sum())

    def finish(self, n_columns: int) -> None:
        parts = self._parts
        self.lengths = np.concatenate([p.lengths for p in parts]) if parts else np.zeros(0, np.int64)
        self.bits = np.concatenate([p.bits for p in parts]) if parts else np.zeros((0, n_columns))
        self.framing = np.concatenate([p.framing for p in parts]) if parts else np.zeros((0, n_columns))
        self.binary = np.concatenate([p.binary for p in parts]) if parts else np.zeros(0, bool)
        self._parts = []


class Concatenation:
    """The whole set compressed as chunks of ``chunk_bytes`` (streamed): sums over chunks."""

    def __init__(self, n_columns: int) -> None:
        self.bits = np.zeros(n_columns)
        self.framing = np.zeros(n_columns)
        self.n_chunks = 0
        self.seconds = 0.0

    def observe(self, chunk: tuple[np.ndarray, np.ndarray]) -> None:
        self.bits += chunk[0]
        self.framing += chunk[1]
        self.n_chunks += 1


def summarize(c: Compressor, bits: np.ndarray, framing: np.ndarray, lens: np.ndarray, concat_bits: float,
              concat_framing: float, concat_len: int, n_chunks: int, chunk_bytes: int,
              seconds: float) -> CompressorScore:
    """One compressor's row from per-sample full-stream ``bits`` and ``framing`` (both bits)."""
    n = int(lens.size)
    ne = lens > 0
    free = np.maximum(bits - framing, 0.0)
    concat_free = concat_bits - concat_framing
    sum_free = float(free.sum())
    shared = sum_free - concat_free
    sees = chunk_bytes if c.window is None else min(c.window, chunk_bytes)
    return CompressorScore(
        spec=c.spec, window=c.window, total_bits=concat_bits,
        bits_per_byte=concat_bits / concat_len if concat_len else float("nan"),
        ratio=concat_bits / 8.0 / concat_len if concat_len else float("nan"),
        sample_ratio=quantiles(bits[ne] / 8.0 / lens[ne]),
        sample_ratio_framing_free=quantiles(free[ne] / 8.0 / lens[ne]),
        sum_sample_bits=sum_free, concat_bits=concat_free,
        shared_bits=shared if n > 1 else 0.0,
        redundancy=(shared / sum_free if sum_free > 0 else None) if n > 1 else None,
        chunk_bytes=chunk_bytes, n_chunks=n_chunks, sees_bytes=sees, seconds=seconds,
        n_samples_scored=n, bytes_scored=int(lens.sum()))


class ExactDuplicates:
    """BLAKE2 digests: the group of each sample (index of its first copy, -1 when unique)."""

    def __init__(self) -> None:
        self._first: dict[bytes, int] = {}
        self._groups: list[np.ndarray] = []
        self.n = 0

    def observe(self, batch: PricedBatch) -> None:
        out = np.empty(len(batch.digests), dtype=np.int64)
        for k, d in enumerate(batch.digests):
            out[k] = self._first.setdefault(d, self.n + k)
        self._groups.append(out)
        self.n += len(batch.digests)

    def finish(self) -> np.ndarray:
        """Per sample: index of the first sample with the same bytes (itself when first)."""
        first = np.concatenate(self._groups) if self._groups else np.zeros(0, np.int64)
        self._first.clear()
        return first


def exact_examples(first: np.ndarray, n_examples: int) -> list[int]:
    """First indices of the largest duplicate groups (the report's examples)."""
    counts = np.bincount(first, minlength=first.size)
    dup_firsts = np.flatnonzero(counts > 1)
    return dup_firsts[np.lexsort((dup_firsts, -counts[dup_firsts]))][:n_examples].tolist()


def exact_report(first: np.ndarray, n_examples: int, previews: dict, orig) -> tuple[dict, np.ndarray]:
    """The exact-duplicate summary and the per-sample group id (first index, -1 if unique)."""
    n = first.size
    if n < 2:
        return {"available": False, "reason": "needs at least 2 samples"}, np.full(n, -1)
    counts = np.bincount(first, minlength=n)
    group = np.where(counts[first] > 1, first, -1)
    n_extra = int(n - np.unique(first).size)
    return {"available": True, "n_groups": int((counts > 1).sum()), "n_duplicate_samples": n_extra,
            "fraction": n_extra / n, "hash": "blake2b-128 of the sample bytes",
            "examples": [{"count": int(counts[f]), "first_index": orig(f), "preview": previews.get(f, "")}
                         for f in exact_examples(first, n_examples)]}, group


class NearDuplicateCandidates:
    """MinHash signatures (datasketch) of the samples that are not exact copies, and LSH
    candidate pairs from them: the bands of datasketch's ``MinHashLSH`` for the threshold, each
    bucketed by sorting (a Python set per bucket, as ``MinHashLSH`` keeps, measured 300 MB at
    63k samples; sorting keeps it to the signatures)."""

    def __init__(self, lsh_threshold: float, num_perm: int) -> None:
        from datasketch import MinHashLSH

        self.hashranges = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm).hashranges
        self.min_jaccard = 0.8 * lsh_threshold
        self._ids: list[np.ndarray] = []
        self._sigs: list[np.ndarray] = []

    def observe(self, batch: PricedBatch, start: int, first: np.ndarray) -> None:
        idx = start + np.arange(len(batch.lengths))
        keep = (batch.lengths >= 2 * SHINGLE) & (first == idx)  # exact copies are counted elsewhere
        self._ids.append(idx[keep])
        self._sigs.append(batch.signatures[keep])

    def finish(self, max_per_sample: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(earlier, later, estimated Jaccard) candidate pairs; at most ``max_per_sample``
        earlier partners per sample (the most similar). Pairs whose estimated Jaccard is below
        0.8 x the LSH threshold (a band collision of dissimilar samples) are dropped."""
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, np.int64)
        sigs = np.concatenate(self._sigs) if self._sigs else np.zeros((0, 1), np.uint32)
        self._ids = self._sigs = []
        m = max(ids.size, 1)
        keys = np.zeros(0, np.int64)  # pair (earlier, later) positions as one int: earlier * m + later
        for lo, hi in self.hashranges:
            band = np.ascontiguousarray(sigs[:, lo:hi]).view(np.dtype((np.void, 4 * (hi - lo)))).ravel()
            order = np.argsort(band, kind="stable")
            sb = band[order]
            found = []
            for lag in range(1, max_per_sample + 1):
                same = np.flatnonzero(sb[lag:] == sb[:-lag])
                if not same.size:
                    break
                x, y = order[same], order[same + lag]
                found.append(np.minimum(x, y).astype(np.int64) * m + np.maximum(x, y))
            if found:
                keys = np.union1d(keys, np.concatenate(found))
        p = np.stack([keys // m, keys % m], axis=1)
        jac = np.concatenate([(sigs[p[k:k + 65536, 0]] == sigs[p[k:k + 65536, 1]]).mean(axis=1)
                              for k in range(0, len(p), 65536)] or [np.zeros(0)])
        p, jac = p[jac >= self.min_jaccard], jac[jac >= self.min_jaccard]  # chance band collisions
        later = p[:, 1]
        rank = np.lexsort((-jac, later))  # by later sample, most similar first
        p, jac, later = p[rank], jac[rank], later[rank]
        starts = np.searchsorted(later, later, side="left")
        keep = (np.arange(later.size) - starts) < max_per_sample
        return ids[p[keep, 0]], ids[p[keep, 1]], jac[keep]


def clusters(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the near-duplicate graph (scipy): the cluster id of each sample,
    -1 for samples in no pair."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if not a.size:
        return np.full(n, -1)
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    involved = np.zeros(n, bool)
    involved[a] = involved[b] = True
    return np.where(involved, labels, -1)


def outliers(lengths: np.ndarray, free_bits: np.ndarray, min_bytes: int, n_out: int) -> dict[str, list]:
    """Least / most compressible samples: framing-free bits/byte ranked by the residual from
    the typical value at the same length (a quadratic fit in log length): short samples always
    compress worse, so ranking raw bits/byte would only list the shortest."""
    rows: dict[str, list] = {"least": [], "most": []}
    elig = np.flatnonzero(lengths >= min_bytes)
    if elig.size < 2:
        return rows
    bpb = free_bits[elig] / lengths[elig]
    loglen = np.log(lengths[elig].astype(float))
    distinct = np.unique(loglen).size
    deg = 2 if distinct > 3 else (1 if distinct > 1 else 0)
    expected = np.polyval(np.polyfit(loglen, bpb, deg), loglen) if deg else np.full(bpb.size, bpb.mean())
    resid = bpb - expected
    order = np.argsort(resid, kind="stable")
    k = min(n_out, elig.size // 2)
    for key, picks in (("least", order[::-1][:k]), ("most", order[:k])):
        rows[key] = [(int(elig[p]), float(bpb[p]), float(expected[p]), float(resid[p])) for p in picks]
    return rows
