"""Raw DEFLATE (zlib, headerless) with exact prefix reuse.

``joint_size_bits`` compresses the prefix once and prices each suffix from a copy of the
compressor state (``compressobj().copy()``). Copying zlib's full level-9 state (~256 KB) is
slower than compressing again, so short concatenations use a small-window state instead.
That is exact, not an approximation, under these conditions (checked by tests on real text):

* the window (2**wbits - 262 bytes of match distance) covers the whole concatenation,
* the symbol buffer (2**(memLevel+6) - 1 symbols) holds it, so block splits are identical,
* the hash chains are never cut short: fewer hash bits only add colliding candidates, which
  change nothing while the chain budget exceeds the number of positions. At level 9 the
  budget is 4096 >> 2 = 1024 >= 762, so a small hash (memLevel 4) is safe; at other levels
  the full-size hash (memLevel 8) is kept.

Longer concatenations are compressed directly with the full state: always exact.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from kcomp.compressors.base import Compressor, check_level
from kcomp.compressors.registry import refuse_flags, register

#: largest concatenation (bytes) that the 1 KiB-window state prices exactly
SMALL_STATE_MAX_BYTES = (1 << 10) - 262


class DeflateCompressor(Compressor):
    """Raw DEFLATE stream (RFC 1951), no header or checksum: empty input costs 2 bytes."""

    family = "deflate"
    window = 32 * 1024 - 262
    has_prefix_reuse = True
    #: container bytes added around the raw stream (gzip overrides)
    frame_bytes = 0

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 9, 9), headerless=headerless)
        self._small_mem_level = 4 if self.level == 9 else 8

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
        out = np.empty(len(suffixes), dtype=np.float64)
        base = None
        limit = SMALL_STATE_MAX_BYTES - len(prefix)
        extra = self.frame_bytes
        level = self.level
        for i, s in enumerate(suffixes):
            if len(s) <= limit:
                if base is None:
                    base = zlib.compressobj(level, zlib.DEFLATED, -10, self._small_mem_level)
                    head = len(base.compress(prefix))
                c = base.copy()
                n = head + len(c.compress(s)) + len(c.flush())
            else:
                n = len(zlib.compress(prefix + s, level, -15))
            out[i] = 8.0 * (n + extra)
        if self.headerless:
            np.maximum(out - self.overhead_bits, 0.0, out=out)
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("deflate", flags)
    return DeflateCompressor(level, headerless=headerless)


register("deflate", _make, "raw DEFLATE via zlib (no header), levels 0-9, default 9; exact prefix reuse")
register("zlib", _make, "alias of deflate (raw, headerless stream)")
