"""Brotli, quality 0-11 (default 11), 4 MiB window. Brotli has no checksum, so kcomp
appends CRC32 of the original (4 bytes) to detect corruption: empty input costs 5 bytes."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import brotli as _brotli

from kcomp.compressors.base import ContainerCompressor, append_crc32, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import CHUNK, Source, StreamingCodec, check_crc32_trailer


class BrotliCompressor(StreamingCodec, ContainerCompressor):
    family = "brotli"
    window = (1 << 22) - 16

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 0, 11, 11), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        return append_crc32(_brotli.compress(data, quality=self.level), data)

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        body = Source(src, trailer_size=4)
        d = _brotli.Decompressor()
        crc = 0
        while not d.is_finished():
            wanted = d.can_accept_more_data()
            data = body.read(CHUNK) if wanted else b""
            out = d.process(data, output_buffer_limit=piece)  # pieces round up to 32 KiB
            if out:
                crc = zlib.crc32(out, crc)
                yield out
            elif wanted and not data:
                raise ValueError("truncated brotli stream")
        check_crc32_trailer(body, crc, self.spec)

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        enc = _brotli.Compressor(quality=self.level)
        crc = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            yield enc.process(chunk)
        yield enc.finish() + crc.to_bytes(4, "little")


def _make(level=None, flags=(), headerless=False):
    refuse_flags("brotli", flags)
    return BrotliCompressor(level, headerless=headerless)


register("brotli", _make, "Brotli, quality 0-11 (default 11), + CRC32 trailer")
