"""LZ4 frame (with content checksum), levels 0-16 (default 0 = fast mode), 64 KiB window."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import lz4.frame as _lz4f

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import Source, StreamingCodec, decode_frame, refuse_trailing


class Lz4Compressor(StreamingCodec, ContainerCompressor):
    family = "lz4"
    window = 64 * 1024

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 16, 0), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        return _lz4f.compress(data, compression_level=self.level, content_checksum=True, store_size=True)

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        d = _lz4f.LZ4FrameDecompressor()
        yield from decode_frame(d, src, piece)
        refuse_trailing(d, src, "lz4")

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        enc = _lz4f.LZ4FrameCompressor(compression_level=self.level, content_checksum=True)
        yield enc.begin(size or 0)  # 0: size unknown, not stored
        for chunk in chunks:
            yield enc.compress(chunk)
        yield enc.flush()


def _make(level=None, flags=(), headerless=False):
    refuse_flags("lz4", flags)
    return Lz4Compressor(level, headerless=headerless)


register("lz4", _make, "LZ4 frame, levels 0-16 (default 0, fast), 64 KiB window")
