"""bzip2 (Burrows-Wheeler), block size level x 100 kB; levels 1-9, default 9. Has CRCs."""

from __future__ import annotations

import bz2 as _bz2

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register


class Bz2Compressor(ContainerCompressor):
    family = "bz2"

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 1, 9, 9), headerless=headerless)
        self.window = self.level * 100_000

    def compress(self, data: bytes) -> bytes:
        return _bz2.compress(data, self.level)

    def _decompress(self, data: bytes) -> bytes:
        d = _bz2.BZ2Decompressor()
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated bz2 stream")
        if d.unused_data:
            raise ValueError("trailing bytes after the bz2 stream")
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("bz2", flags)
    return Bz2Compressor(level, headerless=headerless)


register("bz2", _make, "bzip2, levels 1-9 (default 9, 900 kB blocks)")
