"""bzip2 (Burrows-Wheeler), block size level x 100 kB; levels 1-9, default 9. Has CRCs."""

from __future__ import annotations

import bz2 as _bz2
from collections.abc import Iterable, Iterator

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import Source, StreamingCodec, decode_frame, refuse_trailing


class Bz2Compressor(StreamingCodec, ContainerCompressor):
    family = "bz2"

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 1, 9, 9), headerless=headerless)
        self.window = self.level * 100_000

    def compress(self, data: bytes) -> bytes:
        return _bz2.compress(data, self.level)

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        d = _bz2.BZ2Decompressor()
        yield from decode_frame(d, src, piece)
        refuse_trailing(d, src, "bz2")

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        enc = _bz2.BZ2Compressor(self.level)
        for chunk in chunks:
            yield enc.compress(chunk)
        yield enc.flush()


def _make(level=None, flags=(), headerless=False):
    refuse_flags("bz2", flags)
    return Bz2Compressor(level, headerless=headerless)


register("bz2", _make, "bzip2, levels 1-9 (default 9, 900 kB blocks)")
