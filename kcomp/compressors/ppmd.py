"""PPMd variant H (7-Zip's Ppmd7, via pyppmd), model order 2-64 as the level (default 6), 16 MiB model memory
(the model restarts when it is full). Prediction by partial matching: an adaptive context
model with escapes, not an LZ coder; the smallest classical sizes on prose and source code in
``bench/compressors.py``. kcomp frames it as varint(length) + payload + CRC32 so decoding is
exact and checked."""

from __future__ import annotations

from kcomp.compressors.base import ContainerCompressor, append_crc32, check_level, split_crc32, verify_crc32
from kcomp.compressors.registry import refuse_flags, register

_MEM = 16 << 20
#: pyppmd 1.x mis-codes large one-shot calls (measured here: wrong output or "Corrupted input
#: data" from ~50 kB of compressed binary on); feeding it in small pieces is exact.
_PIECE = 8192


def _missing() -> str | None:
    try:
        import pyppmd  # noqa: F401
    except ImportError:
        return "pip install pyppmd"
    return None


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(data: bytes) -> tuple[int, int]:
    n = shift = 0
    for i, b in enumerate(data[:10]):
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i + 1
    raise ValueError("bad length header")


class PpmdCompressor(ContainerCompressor):
    family = "ppmd"
    window = _MEM  # model memory, restarted when full

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 2, 64, 6), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        import pyppmd

        enc = pyppmd.Ppmd7Encoder(self.level, _MEM)
        pieces = [enc.encode(data[i:i + _PIECE]) for i in range(0, len(data), _PIECE)]
        payload = b"".join(pieces) + enc.flush()
        return append_crc32(_varint(len(data)) + payload, data)

    def _decompress(self, data: bytes) -> bytes:
        import pyppmd

        body, crc = split_crc32(data)
        length, used = _read_varint(body)
        # PPMd never beats ~2,710:1 (measured on 10 MB runs), so a larger declared length is
        # a corrupted header, refused before the decoder is asked to produce it
        if length > 4096 * len(body) + 65536:
            raise ValueError(f"declared length {length} is implausible for {len(body)} coded bytes")
        dec = pyppmd.Ppmd7Decoder(self.level, _MEM)
        coded = body[used:]
        parts: list[bytes] = []
        n = 0
        for i in range(0, len(coded), _PIECE):
            if n >= length:
                break
            part = dec.decode(coded[i:i + _PIECE], length - n)
            parts.append(part)
            n += len(part)
        while n < length:  # drain what the decoder still holds
            part = dec.decode(b"", length - n)
            if not part:
                break
            parts.append(part)
            n += len(part)
        out = b"".join(parts)
        if len(out) != length:
            raise ValueError(f"truncated: decoded {len(out)} of {length} bytes")
        return verify_crc32(out, crc, self.spec)


def _make(level=None, flags=(), headerless=False):
    refuse_flags("ppmd", flags)
    return PpmdCompressor(level, headerless=headerless)


register("ppmd", _make, "PPMd var. H (7-Zip) via pyppmd, order 2-64 (default 6)", availability=_missing)
