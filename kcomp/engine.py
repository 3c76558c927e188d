"""Exact, fast NCD engine: full matrices and a streaming top-k that never holds the matrix.

Convention (one for the whole engine): rows are *queries* A, columns are *references* B, and
the joint size is C(B[j] + sep + A[i]): the query coded after the reference, as in Jiang et
al. (2023) and npc-gzip. So ``ncd_matrix(A, B)[i, j] == ncd(B[j], A[i])``, and with
``symmetric=True`` the joint is min(C(b.a), C(a.b)) and the order no longer matters.

Work is cut into (query block x reference block) tasks. Each text's C(x) is computed once;
each reference is handed to ``Compressor.joint_size_bits`` with the whole query block, so a
codec with exact prefix reuse (deflate/gzip, for long references) compresses it once. The
compressor object itself goes to the workers (custom LM weights, compressors registered at run
time and subclasses with extra state price there exactly as in ``ncd()``). Tasks run in worker
processes (threads do not scale: most codecs hold the GIL), and only ``2 * n_jobs`` task
results are alive at a time, so memory is bounded by the block size, not by the number of pairs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kcomp._inputs import as_bytes, as_bytes_list, check_same_kind
from kcomp._progress import progress_bar
from kcomp.backends import (  # noqa: F401  (LocalExecutor, resolve_n_jobs: re-exported)
    DaskExecutor,
    LocalExecutor,
    WorkerLostError,
    make_executor,
    resolve_n_jobs,
    worker_state,
)
from kcomp.compressors import Compressor, get_compressor
from kcomp.constants import DEFAULT_COMPRESSOR, DEFAULT_SEPARATOR
from kcomp.errors import InputError, KcompError

log = logging.getLogger(__name__)


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
# task execution: see kcomp.backends (local process pool by default, or Dask)
# ---------------------------------------------------------------------------------------
def _task_sizes(which: str, lo: int, hi: int) -> tuple[str, int, np.ndarray]:
    w = worker_state()
    return which, lo, sizes_bits(w["compressor"], w[which][lo:hi])


def _task_block(r0: int, r1: int, c0: int, c1: int, k: int | None, c_queries: np.ndarray, c_refs: np.ndarray):
    """One (query rows r0:r1) x (reference cols c0:c1) block: full NCD, or its top-k.

    ``c_queries``/``c_refs`` are the precomputed C(x) of exactly those rows and columns."""
    w = worker_state()
    joint = joint_block(w["compressor"], w["queries"][r0:r1], w["references"][c0:c1], w["separator"], w["symmetric"])
    dist = ncd_from_size_arrays(c_queries, c_refs, joint)
    if k is None:
        return r0, c0, dist
    kk = min(k, c1 - c0)
    idx = np.broadcast_to(np.arange(c0, c1, dtype=np.int64), dist.shape)
    order = np.lexsort((idx, dist), axis=-1)[:, :kk]
    return r0, c0, (np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1))


def _progress(total: int, desc: str, progress: bool | None):
    return progress_bar(total, desc=desc, unit="pair", progress=progress, unit_scale=True)


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
            if not isinstance(block_size, (int, np.integer)) or isinstance(block_size, bool) or block_size < 1:
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

    def n_tasks(self, n_rows: int, n_cols: int) -> int:
        return math.ceil(n_rows / self.rows) * math.ceil(n_cols / self.cols)


def _prepare(queries, references, compressor, separator):
    comp = get_compressor(compressor)
    q = as_bytes_list(queries, name="queries")
    if references is None:
        r, same = q, True
    else:
        check_same_kind(list(queries)[:1], list(references)[:1], names=("queries", "references"))
        r, same = as_bytes_list(references, name="references"), False
    return comp, q, r, same, as_bytes(separator, name="separator")


# ---------------------------------------------------------------------------------------
# checkpoints: resumable runs
# ---------------------------------------------------------------------------------------
CHECKPOINT_FORMAT = 1


class CheckpointMismatchError(KcompError, ValueError):
    """``checkpoint_dir`` holds a run with other inputs or parameters than this one."""


def _inputs_digest(q: list[bytes], r: list[bytes], same: bool) -> str:
    h = hashlib.sha256(b"kcomp-ncd-inputs-v1")
    for group in (q,) if same else (q, r):
        h.update(len(group).to_bytes(8, "little"))
        for t in group:
            h.update(len(t).to_bytes(8, "little"))
            h.update(t)
    return h.hexdigest()


def _atomic_write(path: Path, write: Callable) -> None:
    """Write via a temporary file in the same directory, then rename: never a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _codec_versions() -> dict:
    import zlib

    return {"kcomp": _kcomp_version(), "zlib": zlib.ZLIB_RUNTIME_VERSION, "numpy": np.__version__}


def _kcomp_version() -> str:
    import kcomp  # at call time: kcomp/__init__ imports this module

    return kcomp.__version__


class Checkpoint:
    """A run's finished blocks on disk, so a killed run resumes where it stopped.

    Layout of ``root``: ``manifest.json`` (the run's parameters, one run per directory),
    ``sizes.npz`` (every C(x)) and ``blocks-<key>/r<row>-c<col>.npy`` (an NCD block) or
    ``.npz`` (a top-k block), where ``key`` hashes the inputs, compressor spec (and its
    fingerprint when the spec does not say everything, e.g. custom LM weights), parameters
    and blocking. Every file is written to a temporary name and renamed, so a crash never
    leaves a half-written block. A resume with other inputs or parameters is refused with
    :class:`CheckpointMismatchError`; a resume with another ``n_jobs`` or backend reuses
    the stored blocking (results do not depend on either).
    """

    def __init__(self, root: str | os.PathLike, params: dict, blocking_for: Callable[[], "Blocking"],
                 explicit_blocking: "Blocking | None") -> None:
        self.root = Path(root)
        self.params = params
        manifest_path = self.root / "manifest.json"
        old = None
        if manifest_path.exists():
            try:
                old = json.loads(manifest_path.read_text())
            except (OSError, ValueError) as exc:
                raise CheckpointMismatchError(f"checkpoint {self.root}: unreadable manifest.json ({exc}); "
                                              "delete the directory or use another one") from exc
        elif self.root.exists() and not self.root.is_dir():
            raise InputError(f"checkpoint_dir {self.root} exists and is not a directory")
        if old is not None:
            self._check(old)
            stored = Blocking(*old["blocking"])
            if explicit_blocking is not None and explicit_blocking != stored:
                raise CheckpointMismatchError(
                    f"checkpoint {self.root} was cut into blocks of {stored.rows} x {stored.cols} but this run asks "
                    f"for block_size={explicit_blocking.rows}; leave block_size unset to resume, or use a new "
                    "directory")
            self.blocking = stored
            for name, version in _codec_versions().items():
                if old.get("versions", {}).get(name) not in (None, version):
                    log.warning("checkpoint %s was written with %s %s, this is %s: sizes may differ between "
                                "old and new blocks", self.root, name, old["versions"][name], version)
        else:
            self.blocking = explicit_blocking if explicit_blocking is not None else blocking_for()
        blob = json.dumps({**params, "blocking": [self.blocking.rows, self.blocking.cols]}, sort_keys=True)
        self.key = hashlib.sha256(blob.encode()).hexdigest()[:16]
        self.dir = self.root / f"blocks-{self.key}"
        self.dir.mkdir(parents=True, exist_ok=True)
        if old is None:
            self._write_manifest(complete=False)
        self._clean_stale_tmp()
        self.ext = ".npy" if params["k"] is None else ".npz"
        self.loaded = self.computed = 0

    # -- manifest -------------------------------------------------------------------------
    def _check(self, old: dict) -> None:
        if old.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointMismatchError(f"checkpoint {self.root} has format {old.get('format')!r}, this kcomp "
                                          f"writes {CHECKPOINT_FORMAT}; use a new directory")
        stored = old.get("params", {})
        diffs = []
        for name in [*self.params, *(n for n in stored if n not in self.params)]:
            value = self.params.get(name)
            if stored.get(name) != value:
                if name == "inputs_sha256":
                    diffs.append("the input texts differ (other texts, or another order)")
                else:
                    diffs.append(f"{name}: checkpoint has {stored.get(name)!r}, this run {value!r}")
        if diffs:
            raise CheckpointMismatchError(
                f"checkpoint {self.root} belongs to another run, refusing to resume: " + "; ".join(diffs)
                + ". Use a new checkpoint directory, or delete this one to start over")

    def _write_manifest(self, complete: bool) -> None:
        manifest = {
            "format": CHECKPOINT_FORMAT,
            "params": self.params,
            "blocking": [self.blocking.rows, self.blocking.cols],
            "key": self.key,
            "complete": complete,
            "versions": _codec_versions(),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        data = (json.dumps(manifest, indent=2) + "\n").encode()
        _atomic_write(self.root / "manifest.json", lambda f: f.write(data))

    def mark_complete(self) -> None:
        self._write_manifest(complete=True)

    def _clean_stale_tmp(self) -> None:
        cutoff = time.time() - 3600  # a live writer renames within seconds
        for d in (self.root, self.dir):
            for p in d.glob(".*.tmp"):
                try:
                    if p.stat().st_mtime < cutoff:
                        p.unlink()
                except OSError:
                    pass

    # -- sizes ----------------------------------------------------------------------------
    def load_sizes(self, nq: int, nr: int) -> tuple[np.ndarray, np.ndarray] | None:
        path = self.root / "sizes.npz"
        if not path.exists():
            return None
        try:
            with np.load(path) as z:
                cq, cr = z["queries"], z["references"]
        except Exception as exc:  # damaged file: recompute
            log.warning("checkpoint %s: cannot read sizes.npz (%s), recomputing", self.root, exc)
            return None
        if cq.shape != (nq,) or cr.shape != (nr,):
            return None
        return cq, cr

    def save_sizes(self, cq: np.ndarray, cr: np.ndarray) -> None:
        _atomic_write(self.root / "sizes.npz", lambda f: np.savez(f, queries=cq, references=cr))

    # -- blocks ---------------------------------------------------------------------------
    def _path(self, r0: int, c0: int) -> Path:
        return self.dir / f"r{r0}-c{c0}{self.ext}"

    def finished(self) -> set[str]:
        return {p.name for p in self.dir.iterdir() if p.suffix == self.ext and not p.name.startswith(".")}

    def load(self, r0: int, r1: int, c0: int, c1: int):
        """The stored result of a block, or None when it is missing or damaged."""
        path = self._path(r0, c0)
        k = self.params["k"]
        try:
            if k is None:
                res = np.load(path, allow_pickle=False)
                ok = res.shape == (r1 - r0, c1 - c0) and res.dtype == np.float64
            else:
                with np.load(path, allow_pickle=False) as z:
                    res = (z["d"], z["i"])
                shape = (r1 - r0, min(k, c1 - c0))
                ok = res[0].shape == shape and res[1].shape == shape and res[1].dtype == np.int64
        except Exception as exc:
            log.warning("checkpoint block %s is unreadable (%s): recomputing it", path, exc)
            return None
        if not ok:
            log.warning("checkpoint block %s has the wrong shape: recomputing it", path)
            return None
        self.loaded += 1
        return res

    def save(self, r0: int, c0: int, res) -> None:
        if self.params["k"] is None:
            _atomic_write(self._path(r0, c0), lambda f: np.save(f, res, allow_pickle=False))
        else:
            _atomic_write(self._path(r0, c0), lambda f: np.savez(f, d=res[0], i=res[1]))
        self.computed += 1


# ---------------------------------------------------------------------------------------
# one run: executor (opened only when there is work), sizes, blocks
# ---------------------------------------------------------------------------------------
class _Run:
    def __init__(self, comp, q, r, same, sep, symmetric, *, n_jobs, backend, block_size, k, exclude_self,
                 checkpoint_dir, kind) -> None:
        self.q, self.r, self.same = q, r, same
        self.n_jobs, self.backend = n_jobs, backend
        self.payload = {"compressor": comp, "queries": q, "references": r, "separator": sep, "symmetric": symmetric}
        self._ex = None
        if backend is None or backend == "processes":
            resolve_n_jobs(n_jobs)  # validate early
        explicit = Blocking.choose(len(q), len(r), 1, block_size) if block_size is not None else None
        choose = lambda: Blocking.choose(len(q), len(r), self.workers, None)  # noqa: E731
        self.ck = None
        try:  # choosing the blocking may start a Dask executor: close it if anything fails
            if checkpoint_dir is not None:
                params = {
                    "kind": kind, "compressor": comp.spec, "separator": sep.hex(), "symmetric": bool(symmetric),
                    "k": k, "exclude_self": bool(exclude_self), "n_queries": len(q), "n_references": len(r),
                    "same_list": bool(same), "inputs_sha256": _inputs_digest(q, r, same),
                }
                if comp.fingerprint != comp.spec:  # what the spec does not say (custom LM weights)
                    params["compressor_fingerprint"] = comp.fingerprint
                self.ck = Checkpoint(checkpoint_dir, params, choose, explicit)
                self.blocking = self.ck.blocking
            else:
                self.blocking = explicit if explicit is not None else choose()
        except BaseException:
            self.close()
            raise

    @property
    def workers(self) -> int:
        """Parallel slots of the backend (opens a Dask executor to ask the cluster)."""
        if self.backend is None or self.backend == "processes":
            return resolve_n_jobs(self.n_jobs)
        return self.executor.n_workers

    @property
    def executor(self):
        if self._ex is None:
            self._ex = make_executor(self.payload, self.n_jobs, self.backend)
        return self._ex

    def close(self) -> None:
        if self._ex is not None:
            self._ex.close()
            self._ex = None

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """C(x) once per text (loaded from the checkpoint when there is one)."""
        q, r, same = self.q, self.r, self.same
        if self.ck is not None:
            got = self.ck.load_sizes(len(q), len(r))
            if got is not None:
                return got
        ex = self.executor
        out = {"queries": np.empty(len(q)), "references": np.empty(len(r))}
        step = max(1, math.ceil(len(q) / (4 * ex.n_workers)))
        tasks = [("queries", lo, min(lo + step, len(q))) for lo in range(0, len(q), step)]
        if not same:
            step_r = max(1, math.ceil(len(r) / (4 * ex.n_workers)))
            tasks += [("references", lo, min(lo + step_r, len(r))) for lo in range(0, len(r), step_r)]
        for which, lo, arr in ex.map_unordered(_task_sizes, tasks):
            out[which][lo:lo + len(arr)] = arr
        if same:
            out["references"] = out["queries"]
        if self.ck is not None:
            self.ck.save_sizes(out["queries"], out["references"])
        return out["queries"], out["references"]

    def blocks(self, k: int | None) -> Iterator[tuple[int, int, object]]:
        """(r0, c0, result) for every block: stored ones first, then the rest as they finish."""
        cq, cr = self.sizes()
        ck = self.ck
        done: set[tuple[int, int]] = set()
        if ck is not None:
            names = ck.finished()
            for t in self.blocking.tasks(cq, cr, k):
                r0, r1, c0, c1 = t[:4]
                if ck._path(r0, c0).name in names:
                    res = ck.load(r0, r1, c0, c1)
                    if res is not None:
                        done.add((r0, c0))
                        yield r0, c0, res
            n_total = self.blocking.n_tasks(len(cq), len(cr))
            if done:
                log.info("checkpoint %s: %d of %d blocks already done, computing the other %d",
                         ck.root, len(done), n_total, n_total - len(done))
        todo = (t for t in self.blocking.tasks(cq, cr, k) if (t[0], t[2]) not in done)
        first = next(todo, None)
        if first is None:
            if ck is not None:
                ck.mark_complete()
            return
        for r0, c0, res in self.executor.map_unordered(_task_block, itertools.chain([first], todo)):
            if ck is not None:
                ck.save(r0, c0, res)
            yield r0, c0, res
        if ck is not None:
            ck.mark_complete()


def ncd_matrix(
    A: Sequence[str | bytes],
    B: Sequence[str | bytes] | None = None,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
    n_jobs: int | None = 1,
    block_size: int | None = None,
    progress: bool | None = None,
    backend=None,
    checkpoint_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """NCD matrix of shape (len(A), len(B)) (B defaults to A), float64.

    Entry [i, j] uses the joint C(B[j] + sep + A[i]) (see module docstring). ``n_jobs``
    worker processes; ``progress`` shows a bar (default: when stderr is a terminal).

    ``backend``: ``"processes"`` (default, a local pool of ``n_jobs`` processes), ``"dask"``
    (the default ``dask.distributed`` client, else a new LocalCluster of ``n_jobs`` workers),
    a scheduler address ``"tcp://host:8786"``, or a ``Client``; results are identical.
    ``checkpoint_dir``: write each finished block there and, when the directory already
    holds part of this same run, load those blocks instead of recomputing them.
    """
    comp, q, r, same, sep = _prepare(A, B, compressor, separator)
    run = _Run(comp, q, r, same, sep, symmetric, n_jobs=n_jobs, backend=backend, block_size=block_size, k=None,
               exclude_self=False, checkpoint_dir=checkpoint_dir, kind="matrix")
    out = np.empty((len(q), len(r)), dtype=np.float64)
    try:
        with _progress(len(q) * len(r), "NCD matrix", progress) as bar:
            for r0, c0, dist in run.blocks(None):
                out[r0:r0 + dist.shape[0], c0:c0 + dist.shape[1]] = dist
                bar.update(dist.size)
    finally:
        run.close()
    return out


def ncd_topk(
    queries: Sequence[str | bytes],
    references: Sequence[str | bytes],
    k: int,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
    n_jobs: int | None = 1,
    block_size: int | None = None,
    progress: bool | None = None,
    exclude_self: bool = False,
    backend=None,
    checkpoint_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest references of each query by NCD, never holding the full matrix.

    Returns ``(distances, indices)``, both (len(queries), k), sorted by distance and, among
    equal distances, by reference index. ``exclude_self`` (queries is references, the same
    list) skips the diagonal, for leave-one-out. Memory: O(len(queries) * k) plus one block
    per worker. ``backend`` and ``checkpoint_dir`` as in :func:`ncd_matrix` (a checkpoint
    stores each block's top-k, not its full distances).
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
    kk = int(k) + 1 if exclude_self else int(k)
    run = _Run(comp, q, r, same, sep, symmetric, n_jobs=n_jobs, backend=backend, block_size=block_size, k=kk,
               exclude_self=exclude_self, checkpoint_dir=checkpoint_dir, kind="topk")
    acc_d: dict[int, np.ndarray] = {}
    acc_i: dict[int, np.ndarray] = {}
    try:
        with _progress(len(q) * len(r), "NCD top-k", progress) as bar:
            for r0, c0, (d, i) in run.blocks(kk):
                if r0 in acc_d:
                    acc_d[r0], acc_i[r0] = merge_topk(acc_d[r0], acc_i[r0], d, i, kk)
                else:
                    acc_d[r0], acc_i[r0] = d, i
                bar.update(d.shape[0] * min(run.blocking.cols, len(r) - c0))
    finally:
        run.close()
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
