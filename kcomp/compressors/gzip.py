"""gzip (RFC 1952): raw DEFLATE plus a 10-byte header and 8-byte trailer.

Sizes equal ``len(gzip.compress(x, level))`` byte for byte, so NCD values match the
gzip+kNN paper (Jiang et al. 2023) and the npc-gzip package. Empty input costs 20 bytes.
"""

from __future__ import annotations

import gzip as _gzip
import zlib
from collections.abc import Iterable, Iterator

from kcomp.compressors.deflate import DeflateCompressor
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import CHUNK, Source, ZlibDecoder, decode_frame

_MAGIC = b"\x1f\x8b"


class GzipCompressor(DeflateCompressor):
    family = "gzip"
    frame_bytes = 18  # 10-byte header + CRC32 + ISIZE

    def compress(self, data: bytes) -> bytes:
        return _gzip.compress(data, self.level, mtime=0)  # mtime=0: same input, same bytes

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        """Every member of the file, NUL padding between/after members allowed (as gzip.decompress)."""
        head = src.read(2)
        if head != _MAGIC:
            raise ValueError("not a gzip stream (bad magic)")
        src.unread(head)
        while True:
            d = ZlibDecoder(31)
            yield from decode_frame(d, src, piece)
            src.unread(d.unused_data)
            if not _skip_nul_padding(src):
                return

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        # the stream gzip.compress(mtime=0) writes on Python 3.11 (later versions set the OS byte
        # of the header to 255 instead of the host's)
        enc = zlib.compressobj(self.level, zlib.DEFLATED, 31)
        for chunk in chunks:
            yield enc.compress(chunk)
        yield enc.flush()


def _skip_nul_padding(src: Source) -> bool:
    """Skip NUL bytes; True when another member follows, False at the end of the stream."""
    while data := src.read(CHUNK):
        rest = data.lstrip(b"\0")
        if rest:
            src.unread(rest)
            return True
    return False


def _make(level=None, flags=(), headerless=False):
    refuse_flags("gzip", flags)
    return GzipCompressor(level, headerless=headerless)


register("gzip", _make, "gzip level 9 (default), sizes identical to gzip.compress; exact prefix reuse")
