"""Where NCD tasks run: a local process pool (default) or a Dask cluster.

An executor is built from a *payload* (the texts, the compressor object and the joint options),
ships it to its workers **once**, and runs ``fn(*task)`` for each task tuple with
:meth:`map_unordered`, yielding results as they finish. Task functions read the payload
through :func:`worker_state`, so the same kernels run unchanged on every backend.

* ``"processes"`` (default): :class:`LocalExecutor`, in this process (``n_jobs=1``) or a pool
  of ``n_jobs`` worker processes; the payload is handed to each process at start-up. The
  compressor itself travels (pickled as its class and attributes), so custom weights and
  compressors registered at run time price on the workers exactly as in the caller.
* ``"dask"``: :class:`DaskExecutor` on ``dask.distributed``; the payload is scattered to
  every worker (``broadcast=True``), tasks are submitted with a bounded number in flight and
  streamed back with ``as_completed``. A worker that dies has its tasks re-run elsewhere by
  the scheduler. Accepts a ``Client``, a ``Cluster``, a scheduler address
  (``"tcp://host:8786"``) or ``"dask"`` (the current default client, else a new
  ``LocalCluster`` of ``n_jobs`` single-threaded worker processes).

Only the driver ever assembles results, so the full matrix is built only by ``ncd_matrix``.
"""

from __future__ import annotations

import copy
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from kcomp.errors import InputError, KcompError

BACKENDS = ("processes", "dask")

_DASK_MISSING = (
    "backend='dask' needs dask.distributed, which is not installed: pip install 'kcomp[dask]'"
)


class WorkerLostError(KcompError, RuntimeError):
    """A worker process died (killed, out of memory, crashed) and the run cannot go on."""


# ---------------------------------------------------------------------------------------
# worker-side state
# ---------------------------------------------------------------------------------------
#: payload of this worker process (local pool)
_WORKER: dict = {}
#: per-thread override (Dask workers may run several jobs and threads at once)
_LOCAL = threading.local()


def _init_worker(payload: dict) -> None:
    _WORKER.clear()
    _WORKER.update(payload)


def _init_pool_worker(payload: dict) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which terminates the pool
    _init_worker(payload)


def worker_state() -> dict:
    """The payload (texts, ``compressor``, joint options) of the task running in this thread."""
    state = getattr(_LOCAL, "state", None)
    return state if state is not None else _WORKER


def resolve_n_jobs(n_jobs: int | None) -> int:
    """None/1 -> 1 process (in-process); -1 -> all cores; n -> n."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise InputError(f"n_jobs must be a positive int or -1 (all cores), got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


# ---------------------------------------------------------------------------------------
# local process pool
# ---------------------------------------------------------------------------------------
class LocalExecutor:
    """Runs tasks in this process (n_jobs=1) or in a pool of worker processes.

    At most ``2 * n_jobs`` tasks are in flight, so memory is bounded by the block size. A
    worker that dies (killed, out of memory) raises :class:`WorkerLostError` instead of
    hanging; the pool is not restarted (use ``checkpoint_dir`` to resume the run).
    """

    backend = "processes"

    def __init__(self, payload: dict, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self.n_workers = n_jobs
        self.payload = payload
        self.pool = None
        self._failed = False
        if n_jobs > 1:
            import multiprocessing as mp

            # fork is cheapest; torch (the lm codec) is not fork-safe once its threads exist
            method = "spawn" if "torch" in sys.modules or sys.platform != "linux" else "fork"
            self.pool = ProcessPoolExecutor(n_jobs, mp_context=mp.get_context(method),
                                            initializer=_init_pool_worker, initargs=(payload,))
        else:
            _init_worker(payload)

    def map_unordered(self, fn: Callable, tasks: Iterable[tuple]) -> Iterator:
        """Yield ``fn(*t)`` for every task, in completion order."""
        if self.pool is None:
            for t in tasks:
                yield fn(*t)
            return
        tasks = iter(tasks)
        pending = set()
        try:
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
        except BaseException as exc:
            self._failed = True
            if not isinstance(exc, BrokenProcessPool):
                raise
            raise WorkerLostError(
                f"a worker process died during the run ({exc}); it may have been killed or run out of "
                "memory. Lower n_jobs or block_size, and pass checkpoint_dir=... to resume without "
                "recomputing finished blocks"
            ) from exc
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            if self._failed:
                # after a failed task (notably one that could not be pickled) a clean shutdown
                # can wait forever on CPython's pool manager: stop the workers instead
                procs = list((getattr(pool, "_processes", None) or {}).values())
                pool.shutdown(wait=False, cancel_futures=True)
                for p in procs:
                    if p.is_alive():
                        p.terminate()
                for p in procs:
                    p.join(10)
            else:
                pool.shutdown(wait=True, cancel_futures=True)
        _WORKER.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------------------
def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise KcompError(_DASK_MISSING) from exc
    return distributed


#: this thread's own copy of a run's compressor on a Dask worker (a compressor's state need not
#: be thread-safe), keyed by the run's token; the scattered payload is shared by the threads
_DASK_COMPRESSOR = threading.local()


_MALLOC_TUNED = False


def _tune_malloc() -> None:
    """Undo the tiny glibc trim threshold that Dask nannies give their workers.

    Nannies start workers with ``MALLOC_TRIM_THRESHOLD_=65536`` so that freed memory goes
    back to the OS. Tasks run in a worker *thread*, whose malloc arena is then shrunk and
    regrown around every codec state a compressor allocates and frees: measured 1.7x slower
    NCD blocks (gzip, 16-core host). A 64 MiB threshold keeps at most that much free memory
    per arena and restores the speed of a plain process.
    """
    global _MALLOC_TUNED
    _MALLOC_TUNED = True
    if not sys.platform.startswith("linux") or not os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-1, 64 << 20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def _dask_call(fn: Callable, payload: dict, *args):
    """Run one task on a Dask worker with ``payload`` installed as this thread's state."""
    if not _MALLOC_TUNED:
        _tune_malloc()
    if getattr(_DASK_COMPRESSOR, "token", None) != payload["token"]:
        _DASK_COMPRESSOR.compressor = copy.deepcopy(payload["compressor"])
        _DASK_COMPRESSOR.token = payload["token"]
    _LOCAL.state = {**payload, "compressor": _DASK_COMPRESSOR.compressor}
    try:
        return fn(*args)
    finally:
        _LOCAL.state = None


class DaskExecutor:
    """Runs tasks on a ``dask.distributed`` cluster, streaming results with ``as_completed``.

    ``client``: a ``distributed.Client``; a ``Cluster`` or a scheduler address string (a
    client is opened and closed by this executor); ``"dask"`` or ``None``: the current
    default client if there is one, else a new ``LocalCluster(n_workers=n_jobs,
    threads_per_worker=1, processes=True)`` that lives as long as this executor.

    ``max_in_flight`` bounds the tasks submitted but not yet consumed (default four times the
    cluster's threads, at least 8: a round trip through the scheduler costs more than a
    local pool's), so results never pile up on the driver.
    """

    backend = "dask"

    def __init__(self, payload: dict, client=None, *, n_jobs: int = 1, max_in_flight: int | None = None) -> None:
        distributed = _import_distributed()
        self._owned: list = []  # things to close, innermost last
        if client is None or (isinstance(client, str) and client == "dask"):
            try:
                client = distributed.get_client()
            except ValueError:  # no default client: start a private local cluster
                cluster = distributed.LocalCluster(
                    n_workers=max(1, n_jobs), threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=40,
                )
                client = distributed.Client(cluster, set_as_default=False)
                self._owned += [cluster, client]
        elif isinstance(client, str):
            try:
                client = distributed.Client(client, set_as_default=False, timeout="30s")
            except OSError as exc:
                raise KcompError(f"cannot connect to the Dask scheduler at {client!r}: {exc}") from exc
            self._owned.append(client)
        elif not isinstance(client, distributed.Client):
            if isinstance(client, distributed.deploy.Cluster):
                client = distributed.Client(client, set_as_default=False)
                self._owned.append(client)
            else:
                raise InputError(f"backend must be 'processes', 'dask', a scheduler address, a dask Client or "
                                 f"Cluster; got {type(client).__name__}")
        self.client = client
        self._distributed = distributed
        self._payload = None
        try:
            threads = sum(client.nthreads().values())
            if threads == 0:  # workers may still be arriving (adaptive / just-started clusters)
                client.wait_for_workers(1, timeout=120)
                threads = sum(client.nthreads().values())
            self.n_workers = max(1, threads)
            self.n_jobs = self.n_workers
            self.max_in_flight = max_in_flight or max(8, 4 * self.n_workers)
            self._token = uuid.uuid4().hex[:12]
            # ship the texts and the compressor once to every worker; tasks refer to this future
            [self._payload] = client.scatter([{**payload, "token": self._token}], broadcast=True, hash=False)
        except BaseException:
            self.close()
            raise

    def map_unordered(self, fn: Callable, tasks: Iterable[tuple]) -> Iterator:
        """Yield ``fn(*t)`` for every task, in completion order."""
        distributed = self._distributed
        client = self.client
        name = getattr(fn, "__name__", "task").lstrip("_")
        counter = iter(range(1 << 62))

        def submit(t):
            return client.submit(_dask_call, fn, self._payload, *t, pure=False,
                                 key=f"kcomp-{name}-{self._token}-{next(counter)}")

        tasks = iter(tasks)
        pending: set = set()
        ac = distributed.as_completed(loop=client.loop)
        try:
            for t in tasks:
                fut = submit(t)
                pending.add(fut)
                ac.add(fut)
                if len(pending) >= self.max_in_flight:
                    break
            for fut in ac:
                pending.discard(fut)
                try:
                    result = fut.result()
                except distributed.KilledWorker as exc:
                    raise WorkerLostError(
                        f"Dask gave up on a task after it killed several workers ({exc}); a block may "
                        "need more memory than a worker has: lower block_size"
                    ) from exc
                fut.release()
                nxt = next(tasks, None)
                if nxt is not None:
                    new = submit(nxt)
                    pending.add(new)
                    ac.add(new)
                yield result
        finally:
            if pending:
                client.cancel(list(pending))

    def close(self) -> None:
        payload, self._payload = getattr(self, "_payload", None), None
        if payload is not None:
            try:
                payload.release()
            except Exception:  # the client may already be closed
                pass
        while self._owned:
            obj = self._owned.pop()
            try:
                obj.close()
            except Exception:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_executor(payload: dict, n_jobs: int | None = 1, backend=None):
    """Build the executor for ``backend`` (see the module docstring)."""
    if backend is None or (isinstance(backend, str) and backend == "processes"):
        return LocalExecutor(payload, resolve_n_jobs(n_jobs))
    if isinstance(backend, str):
        if backend == "dask":
            return DaskExecutor(payload, "dask", n_jobs=resolve_n_jobs(n_jobs))
        if "://" in backend or (":" in backend and backend.rsplit(":", 1)[1].isdigit()):
            return DaskExecutor(payload, backend)
        raise InputError(f"unknown backend {backend!r}: use 'processes' (default), 'dask', a Dask scheduler "
                         "address such as 'tcp://host:8786', or a dask.distributed Client")
    return DaskExecutor(payload, backend)
