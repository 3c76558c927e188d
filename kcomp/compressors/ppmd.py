"""PPMd variant H (7-Zip's Ppmd7, via pyppmd), model order 2-64 as the level (default 6), 16 MiB model memory
(the model restarts when it is full). Prediction by partial matching: an adaptive context
model with escapes, not an LZ coder; the smallest classical sizes on prose and source code in
``bench/compressors.py``. kcomp frames it as varint(length) + payload + CRC32 so decoding is
exact and checked."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from kcomp.compressors.base import ContainerCompressor, append_crc32, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import Source, StreamingCodec, check_crc32_trailer

_MEM = 16 << 20
#: pyppmd 1.x mis-codes large one-shot calls (measured here: wrong output or "Corrupted input
#: data" from ~50 kB of compressed binary on); feeding it in small pieces is exact.
PIECE_BYTES = 8192
#: bytes the range coder writes at the end, not all of which the decoder needs
FLUSH_BYTES = 5


def _missing() -> str | None:
    try:
        import pyppmd  # noqa: F401
    except ImportError:
        return "pip install pyppmd"
    return None


def encode_in_pieces(encoder, data: bytes) -> bytes:
    """``encoder.encode(data)`` fed in :data:`PIECE_BYTES`-byte pieces (pyppmd mis-codes large calls)."""
    return b"".join(encoder.encode(data[i:i + PIECE_BYTES]) for i in range(0, len(data), PIECE_BYTES))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(src: Source) -> int:
    n = shift = 0
    for _ in range(10):
        b = src.read(1)
        if not b:
            break
        n |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            return n
    raise ValueError("bad length header")


class PpmdCompressor(StreamingCodec, ContainerCompressor):
    family = "ppmd"
    window = _MEM  # model memory, restarted when full
    encode_needs_size = True  # the header holds the input length

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 2, 64, 6), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        import pyppmd

        enc = pyppmd.Ppmd7Encoder(self.level, _MEM)
        payload = encode_in_pieces(enc, data) + enc.flush()
        return append_crc32(_varint(len(data)) + payload, data)

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        import pyppmd

        size = src.remaining_size()
        body = Source(src, trailer_size=4)
        length = _read_varint(body)
        # PPMd never beats ~2,710:1 (measured on 10 MB runs), so a larger declared length is
        # a corrupted header, refused before the decoder is asked to produce it
        if size is not None and length > 4096 * size + 65536:
            raise ValueError(f"declared length {length} is implausible for {size} coded bytes")
        dec = pyppmd.Ppmd7Decoder(self.level, _MEM)
        n = crc = 0
        while n < length:
            # Always pass the next piece, even when the decoder still holds input: pyppmd 1.3's
            # decode(b"") while it holds input fails mid-stream ("No Memory", measured on 40 MB
            # of zeros); it is only used once the input is exhausted, where it is reliable.
            data = body.read(PIECE_BYTES)
            out = dec.decode(data, min(piece, length - n))
            if out:
                n += len(out)
                crc = zlib.crc32(out, crc)
                yield out
            elif not data:
                raise ValueError(f"truncated: decoded {n} of {length} bytes")
        # the range coder's flush (5 bytes) may be left unread after the last symbol; more is not ours
        if len(body.read(FLUSH_BYTES + 1)) > FLUSH_BYTES:
            raise ValueError("trailing bytes after the ppmd stream")
        check_crc32_trailer(body, crc, self.spec)

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        import pyppmd

        enc = pyppmd.Ppmd7Encoder(self.level, _MEM)
        yield _varint(size)
        crc = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            yield encode_in_pieces(enc, chunk)
        yield enc.flush() + crc.to_bytes(4, "little")


def _make(level=None, flags=(), headerless=False):
    refuse_flags("ppmd", flags)
    return PpmdCompressor(level, headerless=headerless)


register("ppmd", _make, "PPMd var. H (7-Zip) via pyppmd, order 2-64 (default 6)", availability=_missing)
