"""The ``lm`` coder's per-group PPMd fallback: record choice, round trips, damaged PPMd records,
pricing that agrees with the stream, and the previous container version."""

from __future__ import annotations

import dataclasses
import io
import zlib
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("constriction")

from kcomp.compressors import get_compressor  # noqa: E402
from kcomp.errors import CorruptStreamError, OutputLimitError  # noqa: E402
from kcomp.lm_coder import LMCompressor  # noqa: E402
from kcomp.lm_coder.container import (  # noqa: E402
    HEADER_BITS,
    HEADER_BYTES,
    RECORD_BYTES,
    RECORD_CODED,
    RECORD_PPMD,
    RECORD_RAW,
    read_header,
)
from kcomp.lm_coder.fallback import PRIME_BYTES, Fallback, lm_record_bits  # noqa: E402
from kcomp.lm_coder.model import ByteGPT, ModelConfig  # noqa: E402

FORTUNES = Path("/usr/share/games/fortunes")


def _fortunes(lang: str, size: int) -> bytes:
    folder = FORTUNES / lang
    if not folder.is_dir():
        pytest.skip(f"fortunes-{lang} not installed")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.suffix and not p.is_symlink())
    return b"".join(p.read_bytes() for p in files)[:size]


def tiny_coder(*, group: int = 4, chunk: int = 64, **options) -> LMCompressor:
    """A random tiny transformer in small groups: fast, and PPMd often beats it."""
    torch.manual_seed(0)
    model = ByteGPT(ModelConfig(block_size=64, n_layer=2, n_head=2, n_embd=32)).eval()
    c = LMCompressor(model=model, device="cpu", **options)
    c.coder.group, c.coder.chunk = group, chunk
    return c


def records(stream: bytes) -> list[tuple[int, int, int]]:
    """(kind, payload offset, payload size) of every record of a stream."""
    out, pos = [], HEADER_BYTES
    while pos < len(stream):
        size = int.from_bytes(stream[pos + 1 : pos + 5], "little")
        out.append((stream[pos], pos + RECORD_BYTES, size))
        pos += RECORD_BYTES + size
    return out


@pytest.fixture(scope="module")
def mixed() -> bytes:
    """English, German and Russian text, random bytes and zeros: every record kind occurs."""
    english = Path("/usr/share/common-licenses/GPL-3").read_bytes()[:1500]
    rng = np.random.default_rng(11)
    return english + _fortunes("de", 1500) + rng.bytes(600) + _fortunes("ru", 1500) + bytes(400)


@pytest.fixture(scope="module")
def tiny() -> LMCompressor:
    return tiny_coder()


# -- choice and round trips -----------------------------------------------------------------------
def test_fallback_groups_round_trip_and_every_kind_occurs(tiny, mixed):
    stream = tiny.compress(mixed)
    kinds = {kind for kind, _, _ in records(stream)}
    assert kinds == {RECORD_CODED, RECORD_RAW, RECORD_PPMD}, kinds
    assert tiny.decompress(stream) == mixed
    sink = io.BytesIO()
    assert tiny.decompress_stream(io.BytesIO(stream), sink) == len(mixed) and sink.getvalue() == mixed


@pytest.mark.parametrize("lang", ["de", "ru"])
def test_other_languages_cost_about_ppmd(lang):
    """Far from its (random) model, lm costs about PPMd primed with the text before each group."""
    data = _fortunes(lang, 6000)
    tiny = tiny_coder(group=16)
    stream = tiny.compress(data)
    assert tiny.decompress(stream) == data
    kinds = [kind for kind, _, _ in records(stream)]
    assert kinds.count(RECORD_PPMD) >= len(kinds) - 1
    assert 8 * len(stream) < 0.95 * tiny_coder(group=16, ppmd_fallback=False).size_bits(data)
    # one PPMd over the whole input, plus what each group's record and PPMd flush cost
    framing = HEADER_BYTES + len(kinds) * (RECORD_BYTES + 4 + 5)
    assert len(stream) < 1.03 * len(get_compressor("ppmd:12").compress(data)) + framing


def test_random_bytes_stay_raw(tiny):
    data = np.random.default_rng(2).bytes(3000)
    stream = tiny.compress(data)
    assert {kind for kind, _, _ in records(stream)} == {RECORD_RAW}
    assert tiny.decompress(stream) == data


def test_pretrained_lm_close_to_ppmd_on_russian():
    data = _fortunes("ru", 12000)
    lm = LMCompressor(device="cpu")
    bits = lm.size_bits(data)
    assert bits <= 1.05 * get_compressor("ppmd").size_bits(data)
    assert bits < 0.92 * LMCompressor(device="cpu", ppmd_fallback=False).size_bits(data)  # measured 0.87


def test_determinism(mixed):
    assert tiny_coder().compress(mixed) == tiny_coder().compress(mixed)


def test_priming_uses_the_bytes_before_the_group():
    text = _fortunes("de", 8000)
    primed, fresh = Fallback(), Fallback()
    primed.advance(text[:6000])
    payload = primed.encode(text[6000:])
    assert len(payload) < 0.9 * len(fresh.encode(text[6000:]))
    assert primed.decode(payload, 2000, "g") == text[6000:]
    with pytest.raises(CorruptStreamError):
        fresh.decode(payload, 2000, "g")  # without the same window it cannot decode
    primed.advance(bytes(PRIME_BYTES))
    assert len(primed.window) == PRIME_BYTES


# -- pricing --------------------------------------------------------------------------------------
def test_pricing_makes_the_encoders_choice(tiny, mixed):
    stream = tiny.compress(mixed)
    fast = tiny.size_bits(mixed)
    found = records(stream)
    assert abs(8 * len(stream) - fast) <= 64 * len(found)
    bits = tiny.code_lengths(mixed)
    assert abs(bits.sum() + HEADER_BITS + 8 * RECORD_BYTES * len(found) - fast) <= 32 * len(found)
    group = tiny.coder.chunk * tiny.coder.group
    for index, (kind, _, size) in enumerate(found):
        own = bits[index * group : (index + 1) * group]
        if kind == RECORD_PPMD:  # its payload's bits, spread evenly
            assert np.allclose(own, 8 * size / len(own))
        elif kind == RECORD_RAW:
            assert (own == 8).all()
        else:
            assert own.std() > 0 and abs(own.sum() - 8 * size) <= 64


def test_joint_size_bits_with_fallback_groups(tiny, mixed):
    prefix, suffixes = mixed[:2000], [mixed[3000:3700], b"", mixed[-500:]]
    assert tiny.joint_size_bits(prefix, suffixes).tolist() == [tiny.size_bits(prefix + s) for s in suffixes]


def test_record_choice_ties_and_sizes():
    fallback = Fallback()
    lm_bits = np.full(100, 0.5)
    assert lm_record_bits(lm_bits) == 64.0  # 51 bits -> two 32-bit words
    assert fallback.choose(b"\x00" * 100, lm_bits).kind == RECORD_CODED
    assert fallback.choose(b"ab" * 50, np.full(100, 8.0)).kind == RECORD_PPMD
    noise = np.random.default_rng(0).bytes(100)
    assert fallback.choose(noise, np.full(100, 7.9)).kind == RECORD_RAW  # 800 bits ties the range code
    assert Fallback(enabled=False).choose(b"ab" * 50, np.full(100, 8.0)).kind == RECORD_RAW


# -- damaged PPMd records -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ppmd_stream(tiny) -> tuple[bytes, bytes, int, int]:
    data = _fortunes("de", 2000)
    stream = tiny.compress(data)
    kind, offset, size = next(r for r in records(stream) if r[0] == RECORD_PPMD)
    return data, stream, offset, size


def test_corrupted_ppmd_payload_is_refused(tiny, ppmd_stream):
    data, stream, offset, size = ppmd_stream
    for where in (offset, offset + 4, offset + size // 2, offset + size - 1):
        for bit in (0, 7):
            bad = bytearray(stream)
            bad[where] ^= 1 << bit
            with pytest.raises(CorruptStreamError, match="PPMd payload fails its CRC32"):
                tiny.decompress(bytes(bad))


def test_truncated_or_resized_ppmd_record_is_refused(tiny, ppmd_stream):
    data, stream, offset, size = ppmd_stream
    with pytest.raises(CorruptStreamError):
        tiny.decompress(stream[: offset + size // 2])
    n_bytes = tiny.coder.chunk * tiny.coder.group
    for declared in (0, 4, n_bytes, 2**32 - 1):
        bad = bytearray(stream)
        bad[offset - 4 : offset] = declared.to_bytes(4, "little")
        with pytest.raises(CorruptStreamError, match="PPMd payload|cut short|trailing|truncated"):
            tiny.decompress(bytes(bad))
    # a shorter PPMd code under a matching CRC: the decoder runs out of code, or the stream's CRC fails
    code = stream[offset + 4 : offset + size - 12]
    cut = (stream[: offset - 4] + (len(code) + 4).to_bytes(4, "little") + zlib.crc32(code).to_bytes(4, "little")
           + code + stream[offset + size :])
    with pytest.raises(CorruptStreamError):
        tiny.decompress(cut)


def test_max_output_is_honoured_before_ppmd_runs(tiny, ppmd_stream):
    data, stream, _, _ = ppmd_stream
    with pytest.raises(OutputLimitError):
        tiny.decompress(stream, max_output=len(data) - 1)
    assert tiny.decompress(stream, max_output=len(data)) == data


# -- container versions ---------------------------------------------------------------------------
def _as_version(stream: bytes, data: bytes, version: int) -> bytes:
    header = dataclasses.replace(read_header(stream, len(stream)), version=version)
    header = dataclasses.replace(header, crc32=header.stream_crc(zlib.crc32(data)))
    return header.pack() + stream[HEADER_BYTES:]


def test_version_2_streams_still_decode_and_cannot_hold_ppmd(tiny, mixed):
    data = mixed[:2500]
    old_style = tiny_coder(ppmd_fallback=False).compress(data)  # version 2 held only these records
    assert old_style[4] == 3 and RECORD_PPMD not in {k for k, _, _ in records(old_style)}
    assert tiny.decompress(_as_version(old_style, data, 2)) == data
    with_ppmd = tiny.compress(data)
    assert RECORD_PPMD in {k for k, _, _ in records(with_ppmd)}
    with pytest.raises(CorruptStreamError, match="unknown record kind 2 .format version 2"):
        tiny.decompress(_as_version(with_ppmd, data, 2))
