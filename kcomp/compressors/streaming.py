"""Constant-memory coding for the classical codecs: bounded decompression and streaming.

A codec that mixes in :class:`StreamingCodec` writes two generators: ``_decode_pieces`` reads
its stream from a :class:`Source` in chunks of :data:`CHUNK` bytes and yields output pieces of
at most ``piece`` bytes; ``_encode_pieces`` turns input chunks into stream pieces. One pump
drives them for ``decompress`` (into memory), ``decompress_stream`` and ``compress_stream``
(file to file), so memory stays constant whatever a stream claims, and ``max_output`` stops a
decompression bomb once about that many bytes exist: never more than ``max_output`` plus one
piece (at most ``min(CHUNK, max_output + 1)`` bytes; brotli rounds its pieces up to 32 KiB).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from kcomp.compressors.base import check_max_output
from kcomp.errors import CorruptStreamError, InputError, OutputLimitError

#: bytes read from a source per step, and the largest output piece a decoder yields
CHUNK = 1 << 20


class _ReadError(Exception):
    """An I/O error of the source, kept apart from the codec's own (bz2 raises OSError too)."""


class Source:
    """A readable binary stream with push-back, optionally holding back a fixed-size trailer.

    ``trailer_size`` bytes at the very end (a CRC32 after the codec's own stream) never come out
    of :meth:`read`; :meth:`trailer` returns them once everything before has been read.
    """

    def __init__(self, fileobj: BinaryIO, trailer_size: int = 0) -> None:
        self._fileobj = fileobj
        self._pending = b""
        self._trailer_size = trailer_size
        self._held = b""

    def _raw_read(self, n: int) -> bytes:
        try:
            return self._fileobj.read(n)
        except OSError as exc:
            raise _ReadError(exc) from exc

    def read(self, n: int = CHUNK) -> bytes:
        if self._pending:
            out, self._pending = self._pending[:n], self._pending[n:]
            return out
        while True:
            data = self._raw_read(n)
            if not self._trailer_size or not data:
                return data
            buf = self._held + data
            cut = max(len(buf) - self._trailer_size, 0)
            out, self._held = buf[:cut], buf[cut:]
            if out:
                return out

    def unread(self, data: bytes) -> None:
        self._pending = bytes(data) + self._pending

    def at_end(self) -> bool:
        data = self.read(1)
        self.unread(data)
        return not data

    def trailer(self) -> bytes:
        """The held-back trailer; call when :meth:`read` has returned everything before it."""
        if len(self._held) < self._trailer_size:
            raise ValueError(f"stream too short to hold its {self._trailer_size}-byte trailer")
        return self._held

    def remaining_size(self) -> int | None:
        """Bytes left in a seekable source (trailer included), else None."""
        f = self._fileobj
        try:
            if not f.seekable():
                return None
            pos = f.tell()
            end = f.seek(0, io.SEEK_END)
            f.seek(pos)
        except (OSError, ValueError, AttributeError):
            return None
        return end - pos + len(self._pending) + len(self._held)


def decode_frame(decoder, src: Source, piece: int) -> Iterator[bytes]:
    """Run a decompressor with the bz2/lzma/lz4/zstd interface (``decompress(data, max_length)``,
    ``needs_input``, ``eof``) to the end of its frame, yielding pieces of at most ``piece`` bytes."""
    while not decoder.eof:
        wanted = decoder.needs_input
        data = src.read(CHUNK) if wanted else b""
        out = decoder.decompress(data, piece)
        if out:
            yield out
        elif wanted and not data:
            raise ValueError("truncated stream (input ends before the end-of-stream marker)")


def refuse_trailing(decoder, src: Source, name: str) -> None:
    """After a frame: push back what the decoder read past it and refuse any trailing bytes."""
    src.unread(decoder.unused_data or b"")
    if not src.at_end():
        raise ValueError(f"trailing bytes after the {name} stream")


class ZlibDecoder:
    """``zlib.decompressobj`` with the ``needs_input`` interface of the other decompressors."""

    def __init__(self, wbits: int) -> None:
        import zlib

        self._d = zlib.decompressobj(wbits)

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int) -> bytes:
        return self._d.decompress(self._d.unconsumed_tail + data, max_length)


def check_crc32_trailer(src: Source, crc: int, spec: str) -> None:
    """Refuse bytes left before the 4-byte CRC32 trailer, then compare it with ``crc``."""
    if src.read(1):
        raise ValueError("trailing bytes after the coded stream")
    if int.from_bytes(src.trailer(), "little") != crc:
        raise CorruptStreamError(f"{spec}: CRC32 mismatch, the stream is corrupted")


class StreamingCodec:
    """Mixin (before the Compressor base) giving a codec bounded and streaming coding."""

    streams = True
    #: True when the stream's header holds the input length: a non-seekable input is then
    #: spooled to a temporary file first (disk, not memory)
    encode_needs_size = False

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        raise NotImplementedError

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        raise NotImplementedError

    # -- decoding ---------------------------------------------------------------------------
    def _decompress(self, data: bytes) -> bytes:
        return self._decompress_bounded(data, None)

    def _decompress_bounded(self, data: bytes, max_output: int | None) -> bytes:
        out = io.BytesIO()
        self._pump(io.BytesIO(data), out.write, max_output)
        return out.getvalue()

    def decompress_stream(self, src: BinaryIO, dst: BinaryIO, *, max_output: int | None = None) -> int:
        """Decompress ``src`` into ``dst`` in constant memory; returns bytes written."""
        check_max_output(max_output)
        return self._pump(src, dst.write, max_output)

    def _pump(self, fileobj: BinaryIO, write, max_output: int | None) -> int:
        piece = CHUNK if max_output is None else min(CHUNK, max_output + 1)
        pieces = self._decode_pieces(Source(fileobj), piece)
        total = 0
        while True:
            try:
                out = next(pieces, None)
            except CorruptStreamError:
                raise
            except _ReadError as exc:
                raise exc.__cause__ from None
            except Exception as exc:  # every codec has its own error classes
                raise CorruptStreamError(f"{self.spec}: cannot decompress ({type(exc).__name__}: {exc})") from exc
            if out is None:
                return total
            total += len(out)
            if max_output is not None and total > max_output:
                raise OutputLimitError(f"{self.spec}: output exceeds max_output={max_output:,} bytes")
            write(out)

    # -- encoding ---------------------------------------------------------------------------
    def compress_stream(self, src: BinaryIO, dst: BinaryIO) -> tuple[int, int]:
        """Compress ``src`` into ``dst`` in constant memory; returns (bytes read, bytes written)."""
        size = Source(src).remaining_size()
        if size is None and self.encode_needs_size:
            with tempfile.TemporaryFile() as spool:
                shutil.copyfileobj(src, spool, CHUNK)
                spool.seek(0)
                return self.compress_stream(spool, dst)
        source = Source(src)
        n_in = 0

        def chunks() -> Iterator[bytes]:
            nonlocal n_in
            while chunk := source.read(CHUNK):
                n_in += len(chunk)
                yield chunk
            if size is not None and n_in != size:
                raise InputError(f"the input changed size while being compressed ({size:,} -> {n_in:,} bytes)")

        n_out = 0
        try:
            for out in self._encode_pieces(chunks(), size):
                dst.write(out)
                n_out += len(out)
        except _ReadError as exc:
            raise exc.__cause__ from None
        return n_in, n_out
