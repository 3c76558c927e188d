"""The ``ppmd`` codec's frame: per-block CRC32s checked before any byte reaches pyppmd, the
version byte, errors pyppmd raises anyway, and ``headerless`` pricing without framing.
(Registry-wide damage tests in a crash-proof sandbox are in test_hardening.py.)"""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path

import pytest

pyppmd = pytest.importorskip("pyppmd")

from kcomp import CorruptStreamError, get_compressor  # noqa: E402
from kcomp.compressors import ppmd  # noqa: E402

CODEC = get_compressor("ppmd")
_DECODER = pyppmd.Ppmd7Decoder


def _text(n: int) -> bytes:
    """``n`` bytes of real source code (kcomp's codecs)."""
    return (b"".join(p.read_bytes() for p in sorted(Path(ppmd.__file__).parent.glob("*.py"))) * 50)[:n]


def _code(data: bytes, order: int = 6) -> bytes:
    """The bare PPMd code of ``data`` (what the frame wraps)."""
    encoder = pyppmd.Ppmd7Encoder(order, 16 << 20)
    return ppmd.encode_in_pieces(encoder, data) + encoder.flush()


def _header_bytes(data: bytes, order: int = 6) -> int:
    return len(ppmd.MAGIC) + 2 + len(ppmd._varint(len(data)))


class _SpyDecoder:
    """A pyppmd decoder that records every byte it is fed."""

    fed: list[bytes] = []

    def __init__(self, order, memory):
        self._decoder = _DECODER(order, memory)

    def decode(self, data, length):
        _SpyDecoder.fed.append(bytes(data))
        return self._decoder.decode(data, length)


def test_multi_block_round_trip_in_memory_and_streaming():
    data = random.Random(1).randbytes(150_000)  # incompressible: 3 blocks of code
    stream = CODEC.compress(data)
    assert len(stream) == _header_bytes(data) + len(_code(data)) + 3 * ppmd.CRC_BYTES + 4
    assert CODEC.decompress(stream) == data
    out = io.BytesIO()
    assert CODEC.decompress_stream(io.BytesIO(stream), out) == len(data) and out.getvalue() == data
    written = io.BytesIO()
    assert CODEC.compress_stream(io.BytesIO(data), written) == (len(data), len(stream))
    assert written.getvalue() == stream


def test_code_of_exactly_one_block_ends_with_an_empty_block():
    data = random.Random(2).randbytes(70_000)
    code = _code(data)
    cut = len(data)
    for _ in range(100):  # shrink until the code is exactly one block
        if len(code) == ppmd.BLOCK_BYTES:
            break
        cut -= max(1, (len(code) - ppmd.BLOCK_BYTES) // 2) if len(code) > ppmd.BLOCK_BYTES else -1
        code = _code(data[:cut])
    assert len(code) == ppmd.BLOCK_BYTES, "no input found whose code is exactly one block"
    stream = CODEC.compress(data[:cut])
    assert len(stream) == _header_bytes(data[:cut]) + ppmd.BLOCK_BYTES + 2 * ppmd.CRC_BYTES + 4
    assert CODEC.decompress(stream) == data[:cut]


def test_a_damaged_block_never_reaches_pyppmd(monkeypatch):
    data = random.Random(3).randbytes(150_000)
    stream = CODEC.compress(data)
    second_block = _header_bytes(data) + ppmd.CRC_BYTES + ppmd.BLOCK_BYTES + ppmd.CRC_BYTES
    monkeypatch.setattr(pyppmd, "Ppmd7Decoder", _SpyDecoder)
    for where in (0, 4, len(stream) - 5):  # order byte, length, last block
        _SpyDecoder.fed = []
        bad = bytearray(stream)
        bad[where] ^= 0x10
        with pytest.raises(CorruptStreamError):
            CODEC.decompress(bytes(bad))
        assert b"".join(_SpyDecoder.fed) in (b"", _code(data)[: 2 * ppmd.BLOCK_BYTES])
    _SpyDecoder.fed = []
    bad = bytearray(stream)
    bad[second_block + 100] ^= 1
    out = io.BytesIO()
    with pytest.raises(CorruptStreamError, match=r"ppmd:6: block 2: PPMd payload fails its CRC32"):
        CODEC.decompress_stream(io.BytesIO(bytes(bad)), out)
    assert b"".join(_SpyDecoder.fed) == _code(data)[: ppmd.BLOCK_BYTES]  # block 1 only
    assert data.startswith(out.getvalue())


def test_blocks_cannot_be_swapped_or_spliced_from_another_stream():
    a, b = (random.Random(seed).randbytes(150_000) for seed in (4, 5))
    sa, sb = CODEC.compress(a), CODEC.compress(b)
    start, size = _header_bytes(a), ppmd.CRC_BYTES + ppmd.BLOCK_BYTES
    swapped = sa[:start] + sa[start + size : start + 2 * size] + sa[start : start + size] + sa[start + 2 * size :]
    spliced = sa[: start + size] + sb[start + size :]
    for bad in (swapped, spliced):
        with pytest.raises(CorruptStreamError, match="block"):
            CODEC.decompress(bad)


def test_the_unversioned_frame_and_other_versions_are_refused_by_name():
    data = _text(3000)
    code = _code(data)
    old_frame = ppmd._varint(len(data)) + code + zlib.crc32(data).to_bytes(4, "little")  # kcomp before v1
    with pytest.raises(CorruptStreamError, match="format version 1 .*unversioned ppmd frame"):
        CODEC.decompress(old_frame)
    stream = CODEC.compress(data)
    with pytest.raises(CorruptStreamError, match="format version 2 is not supported"):
        CODEC.decompress(stream[:2] + b"\x02" + stream[3:])
    for n in range(len(ppmd.MAGIC) + 2):
        with pytest.raises(CorruptStreamError, match="too short"):
            CODEC.decompress(stream[:n])


def test_the_stream_names_its_order():
    data = _text(5000)
    assert get_compressor("ppmd:3").decompress(get_compressor("ppmd:12").compress(data)) == data


@pytest.mark.parametrize("error", [MemoryError("No Memory"), SystemError("error return without exception set"),
                                   ValueError("Corrupted input data")])
def test_errors_pyppmd_raises_become_one_line_corrupt_stream_errors(monkeypatch, error):
    class Failing:
        def __init__(self, order, memory):
            pass

        def decode(self, data, length):
            raise error

    monkeypatch.setattr(pyppmd, "Ppmd7Decoder", Failing)
    with pytest.raises(CorruptStreamError, match=type(error).__name__) as caught:
        CODEC.decompress(CODEC.compress(b"some text"))
    assert len(str(caught.value).splitlines()) == 1


def test_headerless_sizes_hold_no_framing():
    """headerless = full stream minus the empty input's: the PPMd code's own growth and the
    varint's, plus 4 bytes per extra 64 KiB block of code; nothing else."""
    headerless = get_compressor("ppmd:headerless")
    empty_code = len(_code(b""))
    for data in (b"a", _text(1000), _text(60_000), random.Random(6).randbytes(100_000)):
        code = _code(data)
        extra_blocks = len(code) // ppmd.BLOCK_BYTES
        expected = len(code) - empty_code + len(ppmd._varint(len(data))) - 1 + ppmd.CRC_BYTES * extra_blocks
        assert headerless.size_bits(data) == 8.0 * expected
