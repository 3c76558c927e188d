"""Zstandard (with content checksum), levels 1-22 (default 3); flag ``long`` = long-distance
matching with a 128 MiB window. A raw-content dictionary (``zstd_dictionary_size_bits``) prices
y *given a trained dictionary*, which is not C(x+y): never use it as the exact joint size."""

from __future__ import annotations

import zstandard

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register

_LONG_WINDOW_LOG = 27


class ZstdCompressor(ContainerCompressor):
    family = "zstd"

    def __init__(self, level: int | None = None, *, long: bool = False, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 1, 22, 3), headerless=headerless)
        self.long = long
        if long:
            params = zstandard.ZstdCompressionParameters.from_level(
                self.level, window_log=_LONG_WINDOW_LOG, enable_ldm=True, write_checksum=True
            )
            self._cctx = zstandard.ZstdCompressor(compression_params=params)
            self.window = 1 << _LONG_WINDOW_LOG
        else:
            self._cctx = zstandard.ZstdCompressor(level=self.level, write_checksum=True)
            self.window = 1 << zstandard.ZstdCompressionParameters.from_level(self.level).window_log
        self._dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)

    def _flags(self) -> list[str]:
        return ["long"] if self.long else []

    def compress(self, data: bytes) -> bytes:
        return self._cctx.compress(data)

    def _decompress(self, data: bytes) -> bytes:
        # decompressobj checks the frame is complete; one frame only
        d = self._dctx.decompressobj()
        out = d.decompress(data)
        if not d.eof:
            raise ValueError("truncated zstd frame")
        if d.unused_data:
            raise ValueError("trailing bytes after the zstd frame")
        return out


def _make(level=None, flags=(), headerless=False):
    refuse_flags("zstd", flags, ("long",))
    return ZstdCompressor(level, long="long" in flags, headerless=headerless)


register("zstd", _make, "Zstandard, levels 1-22 (default 3), flag 'long' (128 MiB window)")
