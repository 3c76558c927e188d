"""PPMd variant H (7-Zip's Ppmd7, via pyppmd), model order 2-64 as the level (default 6), 16 MiB model memory
(the model restarts when it is full). Prediction by partial matching: an adaptive context
model with escapes, not an LZ coder; the smallest classical sizes on prose and source code in
``bench/compressors.py``.

pyppmd 1.3 is not safe on damaged input: a flipped bit can crash the whole process (SIGSEGV,
measured here) or raise MemoryError/SystemError. So no byte reaches pyppmd before a checksum
over it has been verified. The frame (format version 1)::

    "kP" | version (1) | order | varint(input length) | block ... | CRC32 of the decoded data

Every block is CRC32 (4 bytes, little endian) + up to :data:`BLOCK_BYTES` bytes of PPMd code;
all blocks but the last hold exactly :data:`BLOCK_BYTES` (the last is shorter, maybe empty).
A block's CRC32 runs over the header and all code up to the block's end, so a block is verified
(header, order and length included: they configure pyppmd) before it is fed to the decoder, and
blocks cannot be reordered or spliced in from another stream; decoding stays piece by piece in
constant memory. The CRC32 of the decoded data then checks pyppmd's own output.

Guaranteed: a stream damaged by accident (bit flips, truncation, appended or spliced bytes,
random data) is refused with :class:`~kcomp.errors.CorruptStreamError` before pyppmd sees a
damaged byte (up to CRC32's 2**-32 chance of a miss per block); errors pyppmd raises anyway
become CorruptStreamError too. NOT guaranteed: a stream *crafted* with valid checksums over
hostile PPMd code still reaches pyppmd's bugs; decode untrusted streams in a separate process
if an attacker may write them. The unversioned frame of earlier kcomp versions (length + PPMd +
CRC32 of the output) is refused with a message naming it: it cannot be checked before pyppmd
runs.

Framing: 9 bytes more than that old frame on every stream, plus 4 bytes per 64 KiB of code past
the first block; ``headerless`` subtracts the empty-input stream, so NCD sizes of inputs whose
code fits one block carry no framing at all (the varint length aside, as before).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from kcomp.compressors.base import ContainerCompressor, check_level
from kcomp.compressors.registry import refuse_flags, register
from kcomp.compressors.streaming import Source, StreamingCodec, check_crc32_trailer
from kcomp.errors import CorruptStreamError

_MEM = 16 << 20
#: pyppmd 1.x mis-codes large one-shot calls (measured here: wrong output or "Corrupted input
#: data" from ~50 kB of compressed binary on); feeding it in small pieces is exact.
PIECE_BYTES = 8192
#: bytes the range coder writes at the end, not all of which the decoder needs
FLUSH_BYTES = 5
#: a checked record starts with the CRC32 of what it covers
CRC_BYTES = 4
#: PPMd code bytes per checked block of the ``ppmd`` frame
BLOCK_BYTES = 1 << 16
MAGIC = b"kP"
VERSION = 1
#: what pyppmd raises on damaged input it does not crash on
PYPPMD_ERRORS = (ValueError, RuntimeError, EOFError, MemoryError, SystemError)


def _missing() -> str | None:
    try:
        import pyppmd  # noqa: F401
    except ImportError:
        return "pip install pyppmd"
    return None


def in_pieces(data: bytes) -> Iterator[bytes]:
    """``data`` in :data:`PIECE_BYTES`-byte pieces (pyppmd mis-codes large calls)."""
    return (data[i:i + PIECE_BYTES] for i in range(0, len(data), PIECE_BYTES))


def encode_in_pieces(encoder, data: bytes) -> bytes:
    """``encoder.encode(data)`` fed in :data:`PIECE_BYTES`-byte pieces."""
    return b"".join(encoder.encode(piece) for piece in in_pieces(data))


# -- the guard: checked records, and a decode loop that turns pyppmd's errors into ours -----------
def seal(code: bytes, crc: int = 0) -> tuple[bytes, int]:
    """(CRC32 + ``code``, that CRC32): the CRC32 continues ``crc`` (what came before) over ``code``."""
    crc = zlib.crc32(code, crc)
    return crc.to_bytes(CRC_BYTES, "little") + code, crc


def unseal(record: bytes, crc: int, where: str) -> tuple[bytes, int]:
    """The code inside a :func:`seal` record and its CRC32, or CorruptStreamError if it fails."""
    code = record[CRC_BYTES:]
    expected = zlib.crc32(code, crc)
    if len(record) < CRC_BYTES or expected != int.from_bytes(record[:CRC_BYTES], "little"):
        raise CorruptStreamError(f"{where}: PPMd payload fails its CRC32: corrupted")
    return code, expected


def run_decoder(decoder, code: Iterator[bytes], length: int, piece: int, where: str) -> Iterator[bytes]:
    """The ``length`` bytes that pyppmd ``decoder`` makes of the (verified) ``code`` pieces, in
    pieces of at most ``piece`` bytes; damage pyppmd reports, a cut code or more than the range
    coder's flush left over raises CorruptStreamError."""
    n = 0
    while n < length:
        # Always pass the next piece, even when the decoder still holds input: pyppmd 1.3's
        # decode(b"") while it holds input fails mid-stream ("No Memory", measured on 40 MB
        # of zeros); it is only used once the input is exhausted, where it is reliable.
        data = next(code, b"")
        try:
            out = decoder.decode(data, min(piece, length - n))
        except PYPPMD_ERRORS as exc:
            raise CorruptStreamError(f"{where}: PPMd code cannot be decoded ({type(exc).__name__}: {exc}): "
                                     "corrupted") from exc
        if out:
            n += len(out)
            yield out
        elif not data:
            raise CorruptStreamError(f"{where}: PPMd code ends after {n:,} of its {length:,} bytes "
                                     "(truncated or corrupted)")
    # the range coder's flush may be left unread after the last symbol; more is not ours
    if sum(len(rest) for rest in code) > FLUSH_BYTES:
        raise CorruptStreamError(f"{where}: trailing bytes after the PPMd code")


# -- the registry codec's frame -------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_exact(src: Source, n: int) -> bytes:
    """Up to ``n`` bytes; fewer only at the end of ``src``."""
    out = bytearray()
    while len(out) < n and (data := src.read(n - len(out))):
        out += data
    return bytes(out)


def _read_header(src: Source, spec: str) -> tuple[int, int, int]:
    """(order, input length, CRC32 of the header bytes) of a version-1 frame; refuses others."""
    head = _read_exact(src, len(MAGIC) + 2)
    if len(head) < len(MAGIC) + 2:
        raise CorruptStreamError(f"{spec}: stream of {len(head)} bytes is too short for its header (truncated)")
    if head[:len(MAGIC)] != MAGIC:
        raise CorruptStreamError(
            f"{spec}: not a ppmd stream of format version {VERSION} (no {MAGIC.decode()!r} magic); the "
            "unversioned ppmd frame of earlier kcomp versions is refused (pyppmd can crash on it if "
            "damaged): decode it with that kcomp and compress again")
    version, order = head[len(MAGIC):]
    if version != VERSION:
        raise CorruptStreamError(f"{spec}: ppmd format version {version} is not supported (this kcomp "
                                 f"reads version {VERSION})")
    if not 2 <= order <= 64:
        raise CorruptStreamError(f"{spec}: PPMd order {order} in the header is not 2..64: corrupted")
    raw = bytearray()
    for _ in range(10):
        raw += src.read(1)
        if not raw or not raw[-1] & 0x80:
            break
    if not raw or raw[-1] & 0x80:
        raise CorruptStreamError(f"{spec}: bad length header: corrupted")
    length = sum((b & 0x7F) << (7 * i) for i, b in enumerate(raw))
    return order, length, zlib.crc32(bytes(raw), zlib.crc32(head))


def _seal_blocks(pieces: Iterable[bytes], crc: int) -> Iterator[bytes]:
    """The frame's blocks: full :data:`BLOCK_BYTES` blocks, then a shorter (maybe empty) last one."""
    pending = bytearray()
    for piece in pieces:
        pending += piece
        while len(pending) >= BLOCK_BYTES:
            record, crc = seal(bytes(pending[:BLOCK_BYTES]), crc)
            del pending[:BLOCK_BYTES]
            yield record
    yield seal(bytes(pending), crc)[0]


def _verified_code(body: Source, crc: int, spec: str) -> Iterator[bytes]:
    """The frame's PPMd code in pieces, every block checked before any of its bytes comes out."""
    index = 0
    while True:
        record = _read_exact(body, CRC_BYTES + BLOCK_BYTES)
        index += 1
        code, crc = unseal(record, crc, f"{spec}: block {index}")
        yield from in_pieces(code)
        if len(record) < CRC_BYTES + BLOCK_BYTES:
            return


class PpmdCompressor(StreamingCodec, ContainerCompressor):
    family = "ppmd"
    window = _MEM  # model memory, restarted when full
    encode_needs_size = True  # the header holds the input length

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        super().__init__(check_level(self.family, level, 2, 64, 6), headerless=headerless)

    def compress(self, data: bytes) -> bytes:
        return b"".join(self._encode_pieces([data], len(data)))

    def _decode_pieces(self, src: Source, piece: int) -> Iterator[bytes]:
        import pyppmd

        size = src.remaining_size()
        order, length, crc = _read_header(src, self.spec)
        # PPMd never beats ~2,710:1 (measured on 10 MB runs), so a larger declared length is
        # a corrupted header, refused before the decoder is asked to produce it
        if size is not None and length > 4096 * size + 65536:
            raise CorruptStreamError(f"{self.spec}: declared length {length} is implausible for {size} coded bytes")
        body = Source(src, trailer_size=4)
        decoder = pyppmd.Ppmd7Decoder(order, _MEM)
        out_crc = 0
        for out in run_decoder(decoder, _verified_code(body, crc, self.spec), length, piece, self.spec):
            out_crc = zlib.crc32(out, out_crc)
            yield out
        check_crc32_trailer(body, out_crc, self.spec)

    def _encode_pieces(self, chunks: Iterable[bytes], size: int | None) -> Iterator[bytes]:
        import pyppmd

        encoder = pyppmd.Ppmd7Encoder(self.level, _MEM)
        header = MAGIC + bytes([VERSION, self.level]) + _varint(size)
        yield header
        data_crc = 0

        def code() -> Iterator[bytes]:
            nonlocal data_crc
            for chunk in chunks:
                data_crc = zlib.crc32(chunk, data_crc)
                yield encode_in_pieces(encoder, chunk)
            yield encoder.flush()

        yield from _seal_blocks(code(), zlib.crc32(header))
        yield data_crc.to_bytes(4, "little")


def _make(level=None, flags=(), headerless=False):
    refuse_flags("ppmd", flags)
    return PpmdCompressor(level, headerless=headerless)


register("ppmd", _make, "PPMd var. H (7-Zip) via pyppmd, order 2-64 (default 6)", availability=_missing)
