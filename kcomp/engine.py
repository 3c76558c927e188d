"""Exact, fast NCD engine: full matrices and a streaming top-k that never holds the matrix.

Convention (one for the whole engine): rows are *queries* A, columns are *references* B, and
the joint size is C(B[j] + sep + A[i]): the query coded after the reference, as in Jiang et
al. (2023) and npc-gzip. So ``ncd_matrix(A, B)[i, j] == ncd(B[j], A[i])``, and with
``symmetric=True`` the joint is min(C(b.a), C(a.b)) and the order no longer matters.

Work is cut into (query block x reference block) tasks. Each text's C(x) is computed once;
codecs with exact prefix reuse (deflate/gzip) compress each reference once per task and price
every query from a copy of that state. Tasks run in worker processes (threads do not scale:
most codecs hold the GIL), and only ``2 * n_jobs`` task results are alive at a time, so
memory is bounded by the block size, not by the number of pairs.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from kcomp._inputs import as_bytes, as_bytes_list, check_same_kind
from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError

DEFAULT_SEPARATOR = b" "


# ---------------------------------------------------------------------------------------
# pure block kernels (run in workers; no global state except the worker payload)
# ---------------------------------------------------------------------------------------
def sizes_bits(compressor: Compressor, texts: Sequence[bytes]) -> np.ndarray:
    """C(x) in bits for each text (float64)."""
    return np.fromiter((compressor.size_bits(t) for t in texts), dtype=np.float64, count=len(texts))


def joint_block(
    compressor: Compressor,
    queries: Sequence[bytes],
    references: Sequence[bytes],
    separator: bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
) -> np.ndarray:
    """Joint sizes in bits, shape (len(queries), len(references)): C(ref + sep + query)."""
    out = np.empty((len(queries), len(references)), dtype=np.float64)
    for j, ref in enumerate(references):
        out[:, j] = compressor.joint_size_bits(ref + separator, queries)
    if symmetric:
        for i, q in enumerate(queries):
            np.minimum(out[i], compressor.joint_size_bits(q + separator, references), out=out[i])
    return out


def ncd_from_size_arrays(c_query: np.ndarray, c_ref: np.ndarray, joint: np.ndarray) -> np.ndarray:
    """Vectorised NCD: (C(xy) - min) / max, broadcasting queries over rows; 0/0 gives 0."""
    cq = c_query[:, None]
    cr = c_ref[None, :]
    hi = np.maximum(cq, cr)
    lo = np.minimum(cq, cr)
    return np.divide(joint - lo, hi, out=np.zeros_like(joint), where=hi > 0)


def merge_topk(
    dist_a: np.ndarray, idx_a: np.ndarray, dist_b: np.ndarray, idx_b: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two candidate sets row-wise, keeping the k smallest by (distance, index).

    Ties in distance are broken by the smaller reference index, so the result does not
    depend on the order in which blocks finish.
    """
    dist = np.concatenate([dist_a, dist_b], axis=1)
    idx = np.concatenate([idx_a, idx_b], axis=1)
    order = np.lexsort((idx, dist), axis=-1)[:, :k]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1)


# ---------------------------------------------------------------------------------------
# task execution: a local process pool (the default backend)
# ---------------------------------------------------------------------------------------
_WORKER: dict = {}


def _init_worker(payload: dict) -> None:
    _WORKER.clear()
    _WORKER.update(payload)
    _WORKER["compressor"] = get_compressor(payload["spec"])


def _task_sizes(which: str, lo: int, hi: int) -> tuple[str, int, np.ndarray]:
    w = _WORKER
    return which, lo, sizes_bits(w["compressor"], w[which][lo:hi])


def _task_block(r0: int, r1: int, c0: int, c1: int, k: int | None, c_queries: np.ndarray, c_refs: np.ndarray):
    """One (query rows r0:r1) x (reference cols c0:c1) block: full NCD, or its top-k.

    ``c_queries``/``c_refs`` are the precomputed C(x) of exactly those rows and columns."""
    w = _WORKER
    joint = joint_block(w["compressor"], w["queries"][r0:r1], w["references"][c0:c1], w["separator"], w["symmetric"])
    dist = ncd_from_size_arrays(c_queries, c_refs, joint)
    if k is None:
        return r0, c0, dist
    kk = min(k, c1 - c0)
    idx = np.broadcast_to(np.arange(c0, c1, dtype=np.int64), dist.shape)
    order = np.lexsort((idx, dist), axis=-1)[:, :kk]
    return r0, c0, (np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1))


def resolve_n_jobs(n_jobs: int | None) -> int:
    """None/1 -> 1 process (in-process); -1 -> all cores; n -> n."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise InputError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return os.cpu_count() or 1 if n_jobs == -1 else int(n_jobs)


class LocalExecutor:
    """Runs tasks in this process (n_jobs=1) or in a pool of worker processes."""

    def __init__(self, payload: dict, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self.payload = payload
        self.pool = None
        if n_jobs > 1:
            import multiprocessing as mp

            # fork is cheapest; torch (the lm codec) is not fork-safe once its threads exist
            method = "spawn" if "torch" in sys.modules else "fork"
            self.pool = ProcessPoolExecutor(n_jobs, mp_context=mp.get_context(method),
                                            initializer=_init_worker, initargs=(payload,))
        else:
            _init_worker(payload)

    def map_unordered(self, fn: Callable, tasks: Iterable[tuple]) -> Iterator:
        if self.pool is None:
            for t in tasks:
                yield fn(*t)
            return
        tasks = iter(tasks)
        pending = set()
        for t in tasks:  # keep 2 tasks per worker in flight: bounded memory
            pending.add(self.pool.submit(fn, *t))
            if len(pending) >= 2 * self.n_jobs:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(tasks, None)
                if nxt is not None:
                    pending.add(self.pool.submit(fn, *nxt))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        _WORKER.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _progress(total: int, desc: str, progress: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(total=total, desc=desc, unit="pair", unit_scale=True, disable=disable, leave=False)


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Blocking:
    """How an A x B problem is cut into tasks."""

    rows: int
    cols: int

    @staticmethod
    def choose(n_rows: int, n_cols: int, n_jobs: int, block_size: int | None) -> "Blocking":
        """Rows amortise each reference's prefix state; columns bound memory (<= 2048 per
        task) and are split further when there are too few row blocks to feed every worker."""
        if block_size is not None:
            if not isinstance(block_size, (int, np.integer)) or block_size < 1:
                raise InputError(f"block_size must be a positive int, got {block_size!r}")
            return Blocking(int(block_size), min(max(n_cols, 1), 2048))
        rows = max(1, min(256, math.ceil(n_rows / (2 * n_jobs))))
        row_blocks = math.ceil(n_rows / rows)
        col_blocks = max(1, math.ceil(4 * n_jobs / row_blocks)) if n_jobs > 1 else 1
        cols = max(1, min(2048, math.ceil(n_cols / col_blocks)))
        return Blocking(rows, cols)

    def tasks(self, c_queries: np.ndarray, c_refs: np.ndarray, k: int | None) -> Iterator[tuple]:
        """Task argument tuples for :func:`_task_block`, row-major, generated lazily."""
        nq, nr = len(c_queries), len(c_refs)
        for r0 in range(0, nq, self.rows):
            r1 = min(r0 + self.rows, nq)
            for c0 in range(0, nr, self.cols):
                c1 = min(c0 + self.cols, nr)
                yield (r0, r1, c0, c1, k, c_queries[r0:r1], c_refs[c0:c1])


def _prepare(queries, references, compressor, separator):
    comp = get_compressor(compressor)
    q = as_bytes_list(queries, name="queries")
    if references is None:
        r, same = q, True
    else:
        check_same_kind(list(queries)[:1], list(references)[:1], names=("queries", "references"))
        r, same = as_bytes_list(references, name="references"), False
    return comp, q, r, same, as_bytes(separator, name="separator")


def _start(comp, q, r, same, sep, symmetric, n_jobs):
    """Start the executor and compute C(x) once per text; returns (executor, n_jobs, C(q), C(r))."""
    n_jobs = resolve_n_jobs(n_jobs)
    payload = {"spec": comp.spec, "queries": q, "references": r, "separator": sep, "symmetric": symmetric}
    ex = LocalExecutor(payload, n_jobs)
    # C(x) once per distinct text list, spread over the workers
    sizes = {"queries": np.empty(len(q)), "references": np.empty(len(r))}
    step = max(1, math.ceil(len(q) / (4 * n_jobs)))
    tasks = [("queries", lo, min(lo + step, len(q))) for lo in range(0, len(q), step)]
    if not same:
        step_r = max(1, math.ceil(len(r) / (4 * n_jobs)))
        tasks += [("references", lo, min(lo + step_r, len(r))) for lo in range(0, len(r), step_r)]
    for which, lo, arr in ex.map_unordered(_task_sizes, tasks):
        sizes[which][lo:lo + len(arr)] = arr
    if same:
        sizes["references"] = sizes["queries"]
    return ex, n_jobs, sizes["queries"], sizes["references"]


def ncd_matrix(
    A: Sequence[str | bytes],
    B: Sequence[str | bytes] | None = None,
    compressor: str | Compressor = "gzip",
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
    n_jobs: int | None = 1,
    block_size: int | None = None,
    progress: bool | None = None,
) -> np.ndarray:
    """NCD matrix of shape (len(A), len(B)) (B defaults to A), float64.

    Entry [i, j] uses the joint C(B[j] + sep + A[i]) (see module docstring). ``n_jobs``
    worker processes; ``progress`` shows a bar (default: when stderr is a terminal).
    """
    comp, q, r, same, sep = _prepare(A, B, compressor, separator)
    ex, n_jobs, cq, cr = _start(comp, q, r, same, sep, symmetric, n_jobs)
    out = np.empty((len(q), len(r)), dtype=np.float64)
    blk = Blocking.choose(len(q), len(r), n_jobs, block_size)
    tasks = blk.tasks(cq, cr, None)
    with ex, _progress(len(q) * len(r), "NCD matrix", progress) as bar:
        for r0, c0, dist in ex.map_unordered(_task_block, tasks):
            out[r0:r0 + dist.shape[0], c0:c0 + dist.shape[1]] = dist
            bar.update(dist.size)
    return out


def ncd_topk(
    queries: Sequence[str | bytes],
    references: Sequence[str | bytes],
    k: int,
    compressor: str | Compressor = "gzip",
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
    n_jobs: int | None = 1,
    block_size: int | None = None,
    progress: bool | None = None,
    exclude_self: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest references of each query by NCD, never holding the full matrix.

    Returns ``(distances, indices)``, both (len(queries), k), sorted by distance and, among
    equal distances, by reference index. ``exclude_self`` (queries is references, the same
    list) skips the diagonal, for leave-one-out. Memory: O(len(queries) * k) plus one block
    per worker.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise InputError(f"k must be a positive int, got {k!r}")
    if exclude_self:
        if references is not None and references is not queries:
            raise InputError("exclude_self=True needs references to be the same list as queries (or None)")
        references = None
    comp, q, r, same, sep = _prepare(queries, references, compressor, separator)
    n_avail = len(r) - (1 if exclude_self else 0)
    if k > n_avail:
        raise InputError(f"k={k} is larger than the {n_avail} available references")
    kk = k + 1 if exclude_self else k
    ex, n_jobs, cq, cr = _start(comp, q, r, same, sep, symmetric, n_jobs)
    acc_d: dict[int, np.ndarray] = {}
    acc_i: dict[int, np.ndarray] = {}
    blk = Blocking.choose(len(q), len(r), n_jobs, block_size)
    tasks = blk.tasks(cq, cr, kk)
    with ex, _progress(len(q) * len(r), "NCD top-k", progress) as bar:
        for r0, c0, (d, i) in ex.map_unordered(_task_block, tasks):
            if r0 in acc_d:
                acc_d[r0], acc_i[r0] = merge_topk(acc_d[r0], acc_i[r0], d, i, kk)
            else:
                acc_d[r0], acc_i[r0] = d, i
            bar.update(d.shape[0] * min(blk.cols, len(r) - c0))
    best_d = np.empty((len(q), kk))
    best_i = np.empty((len(q), kk), dtype=np.int64)
    for r0, d in acc_d.items():
        best_d[r0:r0 + d.shape[0]] = d
        best_i[r0:r0 + d.shape[0]] = acc_i[r0]
    if exclude_self:  # drop the self match, or the last candidate when self is not among them
        drop = best_i == np.arange(len(q))[:, None]
        drop[~drop.any(axis=1), -1] = True
        best_d = best_d[~drop].reshape(len(q), k)
        best_i = best_i[~drop].reshape(len(q), k)
    return best_d, best_i
