"""Brotli, quality 0-11 (default 11), 4 MiB window. Brotli has no checksum, so kcomp
appends CRC32 of the original (4 bytes) to detect corruption: empty input costs 5 bytes."""

from __future__ import annotations

import brotli as _brotli

from kcomp.compressors.base import ContainerCompressor, append_crc32, check_level, split_crc32, verify_crc32
from kcomp.compressors.registry import refuse_flags, register


class BrotliCompressor(ContainerCompressor):
    family = "brotli"
    window = (1 << 22) - 16

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 11, 11), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        return append_crc32(_brotli.compress(data, quality=self.level), data)

    def _decompress(self, data: bytes) -> bytes:
        payload, crc = split_crc32(data)
        return verify_crc32(_brotli.decompress(payload), crc, self.spec)


def _make(level=None, flags=(), headerless=False):
    refuse_flags("brotli", flags)
    return BrotliCompressor(level, headerless=headerless)


register("brotli", _make, "Brotli, quality 0-11 (default 11), + CRC32 trailer")
