"""backend='dask': same results as the local process pool, texts and the compressor object shipped
once, worker loss survived."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from engine_testkit import PoisonedGzip, SaltedZlib, assert_engine_honours, make_salted, random_lm  # noqa: E402

from kcomp import get_compressor, register  # noqa: E402
from kcomp.backends import DaskExecutor, make_executor  # noqa: E402
from kcomp.engine import ncd_matrix, ncd_topk  # noqa: E402
from kcomp.errors import InputError, KcompError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40)
    yield cl
    cl.close()


@pytest.fixture(scope="module")
def client(cluster):
    c = distributed.Client(cluster, set_as_default=False)
    c.wait_for_workers(2, timeout=60)
    yield c
    c.close()


@pytest.fixture
def texts(debian_texts_or_bundled):
    return debian_texts_or_bundled[:40]


@pytest.mark.parametrize("spec, symmetric", [("gzip", False), ("zstd:3", True), ("bz2", False), ("brotli:5", False)])
def test_matrix_identical_to_local(client, texts, spec, symmetric):
    local = ncd_matrix(texts, compressor=spec, symmetric=symmetric, n_jobs=1, progress=False)
    dask = ncd_matrix(texts, compressor=spec, symmetric=symmetric, backend=client, progress=False)
    np.testing.assert_array_equal(local, dask)


def test_rectangular_bytes_matrix_and_small_blocks(client, texts):
    q = [t.encode() for t in texts[:7]]
    r = [t.encode() + b"\xff\xfe" for t in texts[7:40]]  # not valid UTF-8: bytes all the way
    local = ncd_matrix(q, r, "deflate", progress=False)
    dask = ncd_matrix(q, r, "deflate", backend=client, block_size=2, progress=False)
    assert dask.shape == (7, 33)
    np.testing.assert_array_equal(local, dask)


@pytest.mark.parametrize("how", ["client", "address", "cluster", "default"])
def test_topk_identical_for_every_way_to_name_the_cluster(cluster, client, texts, how):
    backend = {"client": client, "address": cluster.scheduler_address, "cluster": cluster, "default": "dask"}[how]
    local = ncd_topk(texts, texts, 4, "gzip", exclude_self=True, progress=False)
    if how == "default":  # "dask" picks up the current default client
        with distributed.Client(cluster.scheduler_address) as default_client:
            assert distributed.get_client() is default_client
            got = ncd_topk(texts, texts, 4, "gzip", exclude_self=True, backend=backend, progress=False)
    else:
        got = ncd_topk(texts, texts, 4, "gzip", exclude_self=True, backend=backend, progress=False)
    np.testing.assert_array_equal(local[0], got[0])
    np.testing.assert_array_equal(local[1], got[1])


def test_texts_are_scattered_once_and_tasks_stay_small(client, texts, monkeypatch):
    scatters, submitted = [], []
    real_scatter, real_submit = client.scatter, client.submit

    def scatter(data, *a, **kw):
        scatters.append(kw.get("broadcast"))
        return real_scatter(data, *a, **kw)

    def submit(fn, *args, **kw):
        submitted.append(sum(len(a) for a in args if isinstance(a, (list, tuple, bytes))))
        return real_submit(fn, *args, **kw)

    monkeypatch.setattr(client, "scatter", scatter)
    monkeypatch.setattr(client, "submit", submit)
    d, i = ncd_topk(texts[:10], texts, 3, "gzip", backend=client, progress=False)
    assert scatters == [True]  # one payload, broadcast to every worker
    assert submitted and max(submitted) == 0  # no text travels with a task
    ref = ncd_topk(texts[:10], texts, 3, "gzip", progress=False)
    np.testing.assert_array_equal(i, ref[1])


def test_results_stream_with_bounded_tasks_in_flight(client, monkeypatch):
    submitted = []
    real_submit = client.submit
    monkeypatch.setattr(client, "submit", lambda *a, **kw: submitted.append(1) or real_submit(*a, **kw))
    payload = {"compressor": get_compressor("gzip"), "queries": [b"a"], "references": [b"a"], "separator": b" ",
               "symmetric": False}
    in_flight = []
    with DaskExecutor(payload, client, max_in_flight=3) as ex:
        for n_done, _ in enumerate(ex.map_unordered(time.sleep, [(0.02,)] * 12), start=1):
            in_flight.append(len(submitted) - n_done)
    assert len(submitted) == 12
    assert max(in_flight) <= 3 and in_flight[0] == 3  # streamed: never all 12 submitted at once


def test_own_local_cluster_when_no_client(texts):
    local = ncd_matrix(texts[:15], compressor="lz4", progress=False)
    dask = ncd_matrix(texts[:15], compressor="lz4", backend="dask", n_jobs=2, progress=False)
    np.testing.assert_array_equal(local, dask)


def test_checkpoint_written_on_dask_resumes_locally(client, texts, tmp_path, monkeypatch):
    ck = tmp_path / "ck"
    a = ncd_matrix(texts, compressor="zstd", backend=client, checkpoint_dir=ck, progress=False)
    import kcomp.engine as engine

    def must_not_run(*args):
        raise AssertionError("a finished block was recomputed")

    monkeypatch.setattr(engine, "_task_block", must_not_run)
    b = ncd_matrix(texts, compressor="zstd", checkpoint_dir=ck, progress=False)
    np.testing.assert_array_equal(a, b)


def test_bad_backend_values(texts):
    with pytest.raises(InputError, match="unknown backend"):
        ncd_matrix(texts[:3], backend="threads")
    with pytest.raises(InputError, match="backend must be"):
        make_executor({"compressor": get_compressor("gzip")}, 1, backend=42)


def test_missing_dask_gives_install_hint(monkeypatch, texts):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(KcompError, match=r"pip install 'kcomp\[dask\]'"):
        ncd_matrix(texts[:3], backend="dask")


def test_dask_is_imported_lazily():
    code = ("import sys, kcomp; kcomp.ncd_topk(['ab', 'abc', 'b'], ['ab', 'cd'], 1, n_jobs=1, progress=False); "
            "bad = [m for m in ('dask', 'distributed') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_worker_killed_mid_run_is_retried_on_another(client, texts, tmp_path):
    """One worker process SIGKILLs itself on the block of query 20 (once: a marker file): the
    scheduler re-runs its task elsewhere (the nanny restarts the worker) and the result is exact."""
    expected = ncd_matrix(texts, compressor="gzip", n_jobs=1, progress=False)
    pids = set(client.run(os.getpid).values())
    marker = tmp_path / "died"
    poisoned = PoisonedGzip(texts[20].encode(), once_marker=str(marker))
    got = ncd_matrix(texts, compressor=poisoned, backend=client, block_size=2, progress=False)
    assert marker.exists(), "no worker died: nothing was tested"
    np.testing.assert_array_equal(got, expected)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert len(pids - set(client.run(os.getpid).values())) == 1


def test_compressor_objects_reach_the_workers(client, texts):
    """A family registered at run time only here (the workers never heard of it), with state its
    spec does not carry, and an LM with a random model: both price as ncd() does."""
    register("salted", make_salted, "test-only: zlib over salt + data", replace=True)
    assert_engine_honours(SaltedZlib(salt=b"only the object knows this salt; " * 3), texts[:5], texts[5:14],
                          backend=client)
    pytest.importorskip("torch")
    assert_engine_honours(random_lm(), ["the quick brown fox", "over the lazy dog"], ["a lazy dog", "quick foxes"],
                          backend=client, k=1)


def test_knn_classifier_backend_passthrough(client, debian_rows_or_bundled):
    import warnings

    from kcomp.classifiers import NCDKNNClassifier

    rows = debian_rows_or_bundled[:90]
    X, y = [r["text"] for r in rows], [r["section"] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # leakage audit: the sample has near-duplicate packages
        local = NCDKNNClassifier(k="auto", k_max=5).fit(X[:70], y[:70])
        dask = NCDKNNClassifier(k="auto", k_max=5, backend=client).fit(X[:70], y[:70])
        assert local.k_ == dask.k_ and local.loo_accuracy_ == dask.loo_accuracy_
        np.testing.assert_array_equal(local.kneighbors(X[70:])[1], dask.kneighbors(X[70:])[1])
        assert local.predict(X[70:]).tolist() == dask.predict(X[70:]).tolist()
