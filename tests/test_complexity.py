"""K, K_joint, K_cond, I and NCD: definitions, ranges and input validation."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcomp import K, K_cond, K_joint, mutual_information, ncd
from kcomp.errors import InputError, UnknownCompressorError

SPECS = ["gzip", "zstd:19", "lzma", "bz2", "brotli:11", "lz4", "ppmd"]


def test_definitions_in_bits(debian_texts_or_bundled):
    x, y = debian_texts_or_bundled[0], debian_texts_or_bundled[1]
    xb, yb = x.encode(), y.encode()
    assert K(x) == 8 * len(gzip.compress(xb))
    assert K_joint(x, y) == 8 * len(gzip.compress(xb + b" " + yb))
    assert K_cond(y, x) == K_joint(x, y) - K(x)
    assert mutual_information(x, y, symmetric=False) == K(x) + K(y) - K_joint(x, y)
    cx, cy, cxy = K(x), K(y), K_joint(x, y)
    assert ncd(x, y) == (cxy - min(cx, cy)) / max(cx, cy)


def test_str_is_utf8_bytes():
    s = "Grüße, 世界"
    assert K(s) == K(s.encode("utf-8"))
    assert ncd(s, "Grüße") == ncd(s.encode(), "Grüße".encode())


@pytest.mark.parametrize("spec", SPECS)
def test_ncd_properties_on_real_text(spec, debian_texts_or_bundled):
    a, b = debian_texts_or_bundled[10], debian_texts_or_bundled[200]
    assert ncd(a, a, spec) < 0.35  # near 0: the second copy is almost free
    d = ncd(a, b, spec)
    assert 0.0 <= d <= 1.15
    assert ncd(a, b, spec, symmetric=True) == ncd(b, a, spec, symmetric=True)
    # related texts are closer than unrelated ones
    assert ncd(a, a + " extra words", spec) < d


def test_shared_information_is_positive_for_related_texts(python_sources):
    x = python_sources[0]
    assert mutual_information(x, x, "zstd:19") > 0.5 * K(x, "zstd:19")
    assert K_cond(x, x, "lzma") < 0.2 * K(x, "lzma")


@settings(max_examples=40, deadline=None)
@given(x=st.binary(min_size=1, max_size=400), y=st.binary(min_size=1, max_size=400))
def test_ncd_range_and_symmetry_random(x, y):
    for spec in ("gzip", "zstd:3", "deflate"):
        d = ncd(x, y, spec)
        assert -0.1 <= d <= 1.3
        assert ncd(x, y, spec, symmetric=True) == ncd(y, x, spec, symmetric=True)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(InputError, match="mix"):
        ncd("text", b"bytes")
    with pytest.raises(InputError, match="str or bytes"):
        K(123)
    with pytest.raises(InputError, match="str or bytes"):
        ncd(["a"], "b")
    with pytest.raises(UnknownCompressorError, match="available"):
        K("x", "snappy")
    with pytest.raises(InputError, match="UTF-8"):
        K("\udcff")  # lone surrogate cannot be UTF-8


def test_empty_inputs_are_defined():
    assert K(b"") == 160  # the 20-byte gzip stream
    assert ncd(b"", b"", separator=b"") == 0.0
    assert ncd(b"", b"") == (168 - 160) / 160  # the separator costs one byte
    from kcomp.complexity import ncd_from_sizes

    assert ncd_from_sizes(0.0, 0.0, 0.0) == 0.0  # 0/0 is defined as 0
