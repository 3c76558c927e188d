"""Fitted estimators keep the Compressor OBJECT and honour it everywhere (issue 10).

A compressor family registered at run time and an ``lm`` with a random-init model (not the
shipped weights) must price exactly what the object prices, for n_jobs 1 and 2 (the object
itself travels to the worker processes, not its spec string).
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from kcomp import get_compressor, register
from kcomp.classifiers import CompressionClassifier, NCDKNNClassifier
from kcomp.compressors import Compressor
from kcomp.datasets import load_debian_topics


class ReversedGzip(Compressor):
    """gzip of the reversed bytes: sizes differ from plain gzip, so a fallback shows."""

    family = "reversedgzip-test"
    window = 32768

    def compress(self, data: bytes) -> bytes:
        return gzip.compress(data[::-1], compresslevel=9, mtime=0)

    def _decompress(self, data: bytes) -> bytes:
        return gzip.decompress(data)[::-1]


@pytest.fixture(scope="module")
def reversed_gzip():
    """The family registered at run time (and removed afterwards, so no other test sees it)."""
    from kcomp.compressors import registry

    register(ReversedGzip.family, lambda level=None, flags=(), headerless=False: ReversedGzip(level),
             "test-only: gzip of reversed bytes", replace=True)
    yield get_compressor(ReversedGzip.family)
    registry._FAMILIES.pop(ReversedGzip.family, None)
    registry._DESCRIPTIONS.pop(ReversedGzip.family, None)
    registry._build.cache_clear()


@pytest.fixture(scope="module")
def data():
    (Xtr, ytr), (Xte, yte) = load_debian_topics(24, 6, source="bundled", seed=2)
    return Xtr, ytr, Xte, yte


def _expected_concat_bits(comp, Xtr, ytr, classes, Xte, cap):
    out = np.empty((len(Xte), len(classes)))
    for j, c in enumerate(classes):
        tail = b" ".join(x.encode() for x, y in zip(Xtr, ytr) if y == c)[-cap:] + b" "
        for i, q in enumerate(Xte):
            out[i, j] = comp.size_bits(tail + q.encode()) - comp.size_bits(tail)
    return out


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_concat_classifier_honours_a_runtime_registered_compressor(data, reversed_gzip, n_jobs):
    Xtr, ytr, Xte, _ = data
    comp = reversed_gzip
    clf = CompressionClassifier(method="concat", compressor=comp, max_class_bytes=30000, n_jobs=n_jobs)
    clf.fit(Xtr, ytr)
    assert clf.compressor_ is comp
    expect = _expected_concat_bits(comp, Xtr, ytr, clf.classes_, Xte, 30000)
    np.testing.assert_array_equal(clf.code_lengths(Xte), expect)
    plain = _expected_concat_bits(get_compressor("gzip"), Xtr, ytr, clf.classes_, Xte, 30000)
    assert not np.array_equal(expect, plain)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_knn_classifier_honours_a_runtime_registered_compressor(data, reversed_gzip, n_jobs):
    from kcomp import ncd

    Xtr, ytr, Xte, _ = data
    comp = reversed_gzip
    clf = NCDKNNClassifier(k=1, compressor=comp, n_jobs=n_jobs).fit(Xtr, ytr)
    assert clf.compressor_ is comp
    dist, _ = clf.kneighbors(Xte, n_neighbors=1)
    expect = [min(ncd(t, q, comp) for t in Xtr) for q in Xte]
    np.testing.assert_allclose(dist[:, 0], expect, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def random_lm():
    pytest.importorskip("torch")
    import torch

    from kcomp.lm_coder import LMCompressor
    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    torch.manual_seed(0)
    return LMCompressor(model=ByteGPT(ModelConfig(block_size=64, n_layer=1, n_head=2, n_embd=32)), device="cpu")


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_lm_class_model_uses_the_given_model_not_the_shipped_weights(data, random_lm, n_jobs):
    Xtr, ytr, Xte, _ = data
    Xtr, ytr, Xte = Xtr[:8], ytr[:8], [x[:80] for x in Xte[:2]]
    clf = CompressionClassifier(method="concat", compressor=random_lm, max_class_bytes=40, n_jobs=n_jobs)
    clf.fit(Xtr, ytr)
    assert clf.compressor_ is random_lm
    expect = _expected_concat_bits(random_lm, Xtr, ytr, clf.classes_, Xte, 40)
    np.testing.assert_allclose(clf.code_lengths(Xte), expect, rtol=1e-9)


def test_stack_with_an_lm_class_model(data, random_lm):
    Xtr, ytr, Xte, _ = data
    keep = [i for c in sorted(set(ytr))[:3] for i in [j for j, y in enumerate(ytr) if y == c][:2]]
    Xtr, ytr = [Xtr[i][:120] for i in keep], [ytr[i] for i in keep]
    clf = CompressionClassifier(method="stack", class_models=("gzip", random_lm), cv=2, random_state=0).fit(Xtr, ytr)
    assert clf.class_models_[1].compressor is random_lm
    assert clf.predict([x[:80] for x in Xte[:2]]).shape == (2,)
