"""gzip (RFC 1952): raw DEFLATE plus a 10-byte header and 8-byte trailer.

Sizes equal ``len(gzip.compress(x, level))`` byte for byte, so NCD values match the
gzip+kNN paper (Jiang et al. 2023) and the npc-gzip package. Empty input costs 20 bytes.
"""

from __future__ import annotations

import gzip as _gzip

from kcomp.compressors.deflate import DeflateCompressor
from kcomp.compressors.registry import refuse_flags, register


class GzipCompressor(DeflateCompressor):
    family = "gzip"
    frame_bytes = 18  # 10-byte header + CRC32 + ISIZE

    def compress(self, data: bytes) -> bytes:
        return _gzip.compress(data, self.level, mtime=0)  # mtime=0: same input, same bytes

    def _decompress(self, data: bytes) -> bytes:
        if len(data) < 18 or data[:2] != b"\x1f\x8b":
            raise ValueError("not a gzip stream (bad magic or shorter than 18 bytes)")
        return _gzip.decompress(data)


def _make(level=None, flags=(), headerless=False):
    refuse_flags("gzip", flags)
    return GzipCompressor(level, headerless=headerless)


register("gzip", _make, "gzip level 9 (default), sizes identical to gzip.compress; exact prefix reuse")
