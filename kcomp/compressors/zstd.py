"""Zstandard (with content checksum), levels 1-22 (default 3); flag ``long`` = long-distance
matching with a 128 MiB window. The codec contexts are per thread (zstandard's are not
thread-safe and :func:`~kcomp.get_compressor` shares one instance per spec) and are rebuilt,
not pickled, when the compressor travels to a worker. A trained dictionary
(``CompressionClassifier(method="dict")``) prices y *given that dictionary*, which is not
C(x+y): never use it as the exact joint size."""

from __future__ import annotations

import threading

import zstandard

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register

_LONG_WINDOW_LOG = 27


class ZstdCompressor(ContainerCompressor):
    family = "zstd"
    _unpicklable = ("_contexts",)

    def __init__(self, level: int | None = None, *, long: bool = False, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 1, 22, 3), headerless=headerless)
        self.long = long
        if long:
            self.window = 1 << _LONG_WINDOW_LOG
        else:
            self.window = 1 << zstandard.ZstdCompressionParameters.from_level(self.level).window_log
        self._restore()

    def _restore(self) -> None:
        self._contexts = threading.local()  # filled lazily, one (cctx, dctx) pair per thread

    @property
    def _cctx(self) -> zstandard.ZstdCompressor:
        ctx = getattr(self._contexts, "cctx", None)
        if ctx is None:
            if self.long:
                params = zstandard.ZstdCompressionParameters.from_level(
                    self.level, window_log=_LONG_WINDOW_LOG, enable_ldm=True, write_checksum=True
                )
                ctx = zstandard.ZstdCompressor(compression_params=params)
            else:
                ctx = zstandard.ZstdCompressor(level=self.level, write_checksum=True)
            self._contexts.cctx = ctx
        return ctx

    @property
    def _dctx(self) -> zstandard.ZstdDecompressor:
        ctx = getattr(self._contexts, "dctx", None)
        if ctx is None:
            ctx = self._contexts.dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)
        return ctx

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
