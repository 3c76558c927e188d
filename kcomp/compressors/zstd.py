"""Zstandard (with content checksum), levels 1-22 (default 3); flag ``long`` = long-distance
matching with a 128 MiB window. The codec contexts are per thread (zstandard's are not
thread-safe and :func:`~kcomp.get_compressor` shares one instance per spec) and are rebuilt,
not pickled, when the compressor travels to a worker. A trained dictionary
(``CompressionClassifier(method="dict")``) prices y *given that dictionary*, which is not
C(x+y): never use it as the exact joint size."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

import zstandard

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import Source, StreamingCodec, decode_frame, refuse_trailing

try:  # decoding needs max_length, which zstandard's decompressobj lacks (stdlib from 3.14)
    from compression import zstd as _zstd_decoding
except ImportError:
    from backports import zstd as _zstd_decoding

_LONG_WINDOW_LOG = 27


class ZstdCompressor(StreamingCodec, ContainerCompressor):
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
        self._contexts = threading.local()  # filled lazily, one compression context per thread

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

    def _flags(self) -> list[str]:
        return ["long"] if self.long else []

    def compress(self, data: bytes) -> bytes:
        return self._cctx.compress(data)

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        # one frame; libzstd's default window cap (128 MiB, = the 'long' window) refuses a frame
        # that claims a bigger window instead of allocating it
        d = _zstd_decoding.ZstdDecompressor()
        yield from decode_frame(d, src, piece)
        refuse_trailing(d, src, "zstd")

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        enc = self._cctx.compressobj(size=-1 if size is None else size)
        for chunk in chunks:
            yield enc.compress(chunk)
        yield enc.flush()


def _make(level=None, flags=(), headerless=False):
    refuse_flags("zstd", flags, ("long",))
    return ZstdCompressor(level, long="long" in flags, headerless=headerless)


register("zstd", _make, "Zstandard, levels 1-22 (default 3), flag 'long' (128 MiB window)")
