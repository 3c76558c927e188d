"""Raw DEFLATE (zlib, headerless) with exact prefix reuse for long prefixes.

``joint_size_bits(prefix, suffixes)`` must equal compressing each ``prefix + s``. For a long
prefix (a long reference in the NCD engine, priced against a whole block of queries; a class's
32 KiB of text in ``CompressionClassifier(method="concat")``) kcomp compresses the prefix once
and prices every suffix from a copy of the zlib state
(``compressobj().copy()``): the same configuration as ``zlib.compress``, so the sizes are
identical, and 8x faster for a 32 KiB prefix. For short prefixes a fresh ``zlib.compress`` is
as fast or faster (``bench/prefix_reuse.py``: zlib keeps the last 262 bytes of the prefix
pending, and copying the 256 KiB level-9 state costs about as much as compressing 1-2 kB; a
small-window state, exact only under 762 bytes, was no faster either), so those are
compressed directly.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from kcomp.compressors.base import Compressor, check_level
from kcomp.compressors.registry import refuse_flags, register

#: prefixes at least this long are compressed once and reused (bench/prefix_reuse.py: the
#: copy wins from ~1-2 kB, 1.2x at 2 KiB, 1.6x at 8 KiB, 8x at 32 KiB)
PREFIX_REUSE_MIN_BYTES = 2048


class DeflateCompressor(Compressor):
    """Raw DEFLATE stream (RFC 1951), no header or checksum: empty input costs 2 bytes."""

    family = "deflate"
    window = 32 * 1024 - 262
    has_prefix_reuse = True
    #: container bytes added around the raw stream (gzip overrides)
    frame_bytes = 0

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 9, 9), headerless=headerless)

    @property
    def overhead_bits(self) -> float:
        return 8.0 * self.frame_bytes

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, self.level, -15)

    def _decompress(self, data: bytes) -> bytes:
        d = zlib.decompressobj(-15)
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated deflate stream (no final block)")
        if d.unused_data:
            raise ValueError(f"{len(d.unused_data)} trailing bytes after the deflate stream")
        return out

    def _raw_deflate_len(self, data: bytes) -> int:
        return len(zlib.compress(data, self.level, -15))

    def raw_size_bits(self, data: bytes) -> float:
        return 8.0 * (self._raw_deflate_len(data) + self.frame_bytes)

    def joint_size_bits(self, prefix: bytes, suffixes: Sequence[bytes]) -> np.ndarray:
        level, extra = self.level, self.frame_bytes
        if len(prefix) >= PREFIX_REUSE_MIN_BYTES and len(suffixes) > 1:
            base = zlib.compressobj(level, zlib.DEFLATED, -15)  # zlib.compress's exact settings
            head = len(base.compress(prefix))
            sizes = []
            for s in suffixes:
                c = base.copy()
                sizes.append(head + len(c.compress(s)) + len(c.flush()))
        else:
            sizes = [len(zlib.compress(prefix + s, level, -15)) for s in suffixes]
        out = 8.0 * (np.asarray(sizes, dtype=np.float64) + extra)
        if self.headerless:
            np.maximum(out - self.overhead_bits, 0.0, out=out)
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("deflate", flags)
    return DeflateCompressor(level, headerless=headerless)


register("deflate", _make, "raw DEFLATE via zlib (no header), levels 0-9, default 9; exact prefix reuse")
register("zlib", _make, "alias of deflate (raw, headerless stream)")
