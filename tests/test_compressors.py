"""Every registered compressor: exact round trips on real files and random bytes, framing,
registry errors, and exact prefix reuse."""

from __future__ import annotations

import gzip
import os
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kcomp
from kcomp.compressors import get_compressor, list_compressors, parse_spec
from kcomp.compressors.deflate import PREFIX_REUSE_MIN_BYTES
from kcomp.errors import CorruptStreamError, UnknownCompressorError

CLASSICAL = [n for n in list_compressors(available_only=True) if not n.startswith("lm")]
SPECS = CLASSICAL + ["zstd:19", "zstd:19:long", "brotli:5", "gzip:1", "deflate:6", "lzma:1:extreme", "ppmd:3"]


@pytest.mark.parametrize("spec", SPECS)
def test_round_trip_real_files(spec, real_files):
    c = get_compressor(spec)
    for name, data in real_files.items():
        blob = c.compress(data)
        assert c.decompress(blob) == data, name
        assert c.raw_size_bits(data) == 8 * len(blob)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("data", [b"", b"\x00", b"a", bytes(range(256)), b"ab" * 5000], ids=["empty", "nul", "a", "256", "repeat"])
def test_round_trip_edge_cases(spec, data):
    c = get_compressor(spec)
    assert c.decompress(c.compress(data)) == data


@pytest.mark.parametrize("spec", CLASSICAL)
@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=3000))
def test_round_trip_random_bytes(spec, data):
    c = get_compressor(spec)
    assert c.decompress(c.compress(data)) == data


@pytest.mark.parametrize("spec", CLASSICAL)
def test_round_trip_incompressible(spec):
    data = random.Random(7).randbytes(100_000)
    c = get_compressor(spec)
    assert c.decompress(c.compress(data)) == data
    assert c.size_bits(data) >= 8 * len(data) * 0.99  # random bytes do not compress


@pytest.mark.parametrize("spec,empty_bytes", [("deflate", 2), ("zlib", 2), ("gzip", 20), ("zstd", 13), ("lzma", 32)])
def test_empty_input_framing(spec, empty_bytes):
    # zstd: 9 B frame + 4 B content checksum (kcomp enables the checksum)
    assert get_compressor(spec).size_bits(b"") == 8 * empty_bytes


def test_gzip_sizes_match_stdlib(debian_texts, python_sources):
    c = get_compressor("gzip")
    for t in debian_texts[:200] + python_sources:
        data = t.encode() if isinstance(t, str) else t
        assert c.size_bits(data) == 8 * len(gzip.compress(data))
        assert c.size_bits(data) == 8 * len(gzip.compress(data, 9))
    assert len(c.compress(b"x")) == len(gzip.compress(b"x"))


@pytest.mark.parametrize("spec", CLASSICAL)
def test_headerless_subtracts_framing(spec):
    full, bare = get_compressor(spec), get_compressor(spec + ":headerless")
    assert bare.headerless and bare.spec.endswith("headerless")
    data = b"the quick brown fox jumps over the lazy dog " * 3
    # the framing of a non-empty stream (xz: 54-60 B, more than its 32-B empty stream; issue 14.1)
    size, framing = full.size_and_framing_bits(data)
    assert size == full.size_bits(data) and 0 <= framing <= size
    assert bare.size_bits(data) == size - framing
    assert bare.size_bits(b"") == max(full.size_bits(b"") - full.overhead_bits, 0)


@pytest.mark.parametrize("spec", ["gzip", "deflate", "gzip:6", "deflate:1", "gzip:headerless"])
def test_prefix_reuse_is_exact(spec, debian_texts, python_sources):
    """joint_size_bits equals compressing prefix+suffix, for short prefixes (compressed
    directly) and long ones (compressed once, then priced from copies of the zlib state)."""
    c = get_compressor(spec)
    texts = [t.encode() for t in debian_texts[:60]] + [p[:5000] for p in python_sources]
    long_prefixes = ["\n".join(debian_texts[100:100 + n]).encode() for n in (15, 40, 120)]
    assert min(map(len, long_prefixes)) >= PREFIX_REUSE_MIN_BYTES
    assert max(map(len, long_prefixes)) > 32 * 1024  # past gzip's window too
    for prefix in texts[:8] + texts[-3:] + long_prefixes:
        got = c.joint_size_bits(prefix + b" ", texts)
        want = np.array([c.size_bits(prefix + b" " + s) for s in texts])
        np.testing.assert_array_equal(got, want)


def test_prefix_reuse_around_the_threshold():
    rng = random.Random(3)
    words = [bytes(rng.choice(b"abcdefgh") for _ in range(rng.randint(2, 7))) for _ in range(3000)]
    text = b" ".join(words)
    c = get_compressor("gzip")
    for n in (PREFIX_REUSE_MIN_BYTES - 1, PREFIX_REUSE_MIN_BYTES, PREFIX_REUSE_MIN_BYTES + 1):
        prefix, suffixes = text[:n], [text[n:n + m] for m in (0, 1, 50, 700, 5000)]
        np.testing.assert_array_equal(c.joint_size_bits(prefix, suffixes), [c.size_bits(prefix + s) for s in suffixes])


@pytest.mark.parametrize("bad", ["nope", "gzipp", "", "zstd:99", "gzip:0:0", "lz4:fast", "gzip:-1", "brotli:12"])
def test_unknown_or_bad_specs_fail_clearly(bad):
    with pytest.raises(UnknownCompressorError) as err:
        get_compressor(bad)
    msg = str(err.value)
    assert ("available" in msg or "range" in msg or "option" in msg or "level" in msg), msg


def test_unknown_name_lists_what_exists():
    with pytest.raises(UnknownCompressorError, match="gzip.*zstd|available: .*gzip"):
        get_compressor("snappy")


def test_spec_parsing_and_canonical_names():
    assert parse_spec("zstd:19:long") == ("zstd", 19, ("long",), False)
    assert get_compressor("zstd:19:long").spec == "zstd:19:long"
    assert get_compressor("gzip").spec == "gzip:9"
    assert get_compressor(get_compressor("bz2")) == get_compressor("bz2:9")
    assert {"gzip", "deflate", "zlib", "bz2", "lzma", "zstd", "brotli", "lz4"} <= set(list_compressors())


def test_compressors_pickle_as_spec():
    import pickle

    c = get_compressor("zstd:19:headerless")
    assert pickle.loads(pickle.dumps(c)) == c


@pytest.mark.parametrize("spec", CLASSICAL)
def test_truncated_and_garbage_streams_raise(spec):
    c = get_compressor(spec)
    data = b"kcomp checks its streams. " * 40 + os.urandom(64)
    blob = c.compress(data)
    for bad in (blob[: len(blob) // 2], blob[:-1], blob[:3], b"", blob + b"junk"):
        with pytest.raises(CorruptStreamError, match="cannot decompress|CRC|short|truncated"):
            c.decompress(bad)


def test_public_api_reexports():
    for name in ("K", "K_joint", "K_cond", "mutual_information", "ncd", "ncd_matrix", "ncd_topk",
                 "get_compressor", "list_compressors", "register", "Compressor"):
        assert hasattr(kcomp, name)


def test_lzma_sizes_match_preset_stream(debian_texts, python_sources):
    """lzma sizes its dictionary to the input; the stream length equals the preset's."""
    import lzma

    c = get_compressor("lzma")
    samples = [t.encode() for t in debian_texts[:40]] + python_sources + ["\n".join(debian_texts).encode()]
    for data in samples:
        assert c.size_bits(data) == 8 * len(lzma.compress(data, format=lzma.FORMAT_XZ, preset=9))
