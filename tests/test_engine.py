"""The NCD engine equals the one-pair reference exactly, in every mode, with any compressor
object (custom LM weights, a family registered at run time), in-process and in workers."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import (PoisonedGzip, SaltedZlib, assert_engine_honours, brute, make_salted, random_lm,
                            reference_topk)

from kcomp import ncd_matrix, ncd_topk, register
from kcomp.backends import WorkerLostError
from kcomp.engine import merge_topk
from kcomp.errors import InputError


@pytest.fixture(scope="module")
def sets(debian_texts_or_bundled):
    return debian_texts_or_bundled[:25], debian_texts_or_bundled[100:190]


@pytest.mark.parametrize("n_jobs", [1, 2])
@pytest.mark.parametrize("spec", ["gzip", "zstd:3", "deflate:headerless"])
def test_matrix_equals_brute_force(sets, spec, n_jobs):
    A, B = sets
    np.testing.assert_array_equal(ncd_matrix(A, B, spec, n_jobs=n_jobs), brute(A, B, spec))


def test_matrix_symmetric_and_square(sets):
    A, _ = sets
    m = ncd_matrix(A, compressor="gzip", symmetric=True, block_size=7)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(m, brute(A, A, symmetric=True))
    assert np.all(np.diag(m) < 0.3)


@pytest.mark.parametrize("n_jobs,block", [(1, None), (2, None), (1, 4), (2, 3)])
def test_topk_equals_sorted_matrix(sets, n_jobs, block):
    A, B = sets
    M = brute(A, B)
    d, i = ncd_topk(A, B, 5, n_jobs=n_jobs, block_size=block)
    rd, ri = reference_topk(M, 5)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(d, rd)


def test_topk_ties_prefer_lower_index():
    refs = ["same text", "same text", "same text", "other"]
    d, i = ncd_topk(["same text"], refs, 2)
    assert list(i[0]) == [0, 1] and d[0, 0] == d[0, 1]


def test_topk_leave_one_out(sets):
    _, B = sets
    M = brute(B, B)
    np.fill_diagonal(M, np.inf)
    rd, ri = reference_topk(M, 3)
    d, i = ncd_topk(B, B, 3, exclude_self=True, n_jobs=2)
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_array_equal(d, rd)


def test_merge_topk_is_order_independent():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 4, size=(5, 12)).astype(float)
    idx = np.broadcast_to(np.arange(12), d.shape)
    a = merge_topk(d[:, :6], idx[:, :6], d[:, 6:], idx[:, 6:], 4)
    b = merge_topk(d[:, 6:], idx[:, 6:], d[:, :6], idx[:, :6], 4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_engine_errors(sets):
    A, B = sets
    with pytest.raises(InputError, match="larger than"):
        ncd_topk(A, B[:3], 4)
    with pytest.raises(InputError, match="positive"):
        ncd_topk(A, B, 0)
    with pytest.raises(InputError, match="mix"):
        ncd_matrix(["a", b"b"])
    with pytest.raises(InputError, match="str but"):
        ncd_matrix(["a"], [b"b"])
    with pytest.raises(InputError, match="empty"):
        ncd_matrix([])
    with pytest.raises(InputError, match="single"):
        ncd_matrix("abc")
    with pytest.raises(InputError, match="n_jobs"):
        ncd_matrix(A, B, n_jobs=0)
    for bad in (0, True, 2.5):
        with pytest.raises(InputError, match="block_size"):
            ncd_topk(A, B, 1, block_size=bad)


# ---------------------------------------------------------------------------------------
# the compressor object reaches the workers (not its spec, rebuilt from the registry)
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def salted():
    """A family registered at run time, and an object of it with state its spec does not carry."""
    register("salted", make_salted, "test-only: zlib over salt + data", replace=True)
    return SaltedZlib(salt=b"a salt that the spec 'salted' does not name; " * 3)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_compressor_registered_at_run_time_keeps_its_state(sets, salted, n_jobs):
    A, B = sets[0][:6], sets[1][:9]
    M = assert_engine_honours(salted, A, B, n_jobs=n_jobs)
    assert not np.array_equal(M, brute(A, B, "salted"))  # the salt matters: the spec alone differs


@pytest.mark.parametrize("given_as, n_jobs", [("model", 1), ("model", 2), ("weights", 2)])
def test_lm_with_custom_weights_prices_with_them(tmp_path, given_as, n_jobs):
    pytest.importorskip("torch")
    comp = random_lm()
    if given_as == "weights":  # the same random model, saved and named by path
        from kcomp.lm_coder import LMCompressor
        from kcomp.lm_coder.weights import save_model

        comp = LMCompressor(weights=save_model(comp.coder.model, tmp_path / "mine.safetensors"), device="cpu")
    A, B = ["the quick brown fox", "jumps over the lazy dog"], ["a lazy dog sleeps", "quick brown foxes", "hello"]
    M = assert_engine_honours(comp, A, B, n_jobs=n_jobs)
    assert np.abs(M - brute(A, B, "lm:cpu")).min() > 0.05  # not the shipped weights


def test_dead_worker_raises_worker_lost_error(sets):
    A, B = sets
    poisoned = PoisonedGzip(poison=A[7].encode())  # the worker pricing query 7 kills itself
    with pytest.raises(WorkerLostError, match="worker process died.*checkpoint_dir"):
        ncd_matrix(A, B, poisoned, n_jobs=2, block_size=2, progress=False)
