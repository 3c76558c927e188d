"""LZ4 frame (with content checksum), levels 0-16 (default 0 = fast mode), 64 KiB window."""

from __future__ import annotations

import lz4.frame as _lz4f

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register


class Lz4Compressor(ContainerCompressor):
    family = "lz4"
    window = 64 * 1024

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 16, 0), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        return _lz4f.compress(data, compression_level=self.level, content_checksum=True, store_size=True)

    def _decompress(self, data: bytes) -> bytes:
        d = _lz4f.LZ4FrameDecompressor()
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated lz4 frame")
        if d.unused_data:
            raise ValueError("trailing bytes after the lz4 frame")
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("lz4", flags)
    return Lz4Compressor(level, headerless=headerless)


register("lz4", _make, "LZ4 frame, levels 0-16 (default 0, fast), 64 KiB window")
