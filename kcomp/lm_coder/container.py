"""The ``lm`` stream format (version 3; version 2 still decodes) and its validation, before any
model runs.

All integers little endian. A 36-byte header, then one record per group of chunks::

    0  magic        4  b"KCLM"
    4  version      1  3 (2: the same without PPMd records)
    5  mode         1  0 = pretrained, 1 = online, 2 = adapt
    6  device       1  0 = cpu, 1 = cuda (device class the probabilities were computed on)
    7  threads      1  lanes of chunks the coder stepped in parallel (the decoder uses the same)
    8  model id     8  SHA-256 prefix of weights/recipe + mixer recipe
    16 length       8  original length in bytes
    24 chunk        2  chunk length in bytes (<= the model's context)
    26 group        2  chunks coded together in lockstep (one range coder per group)
    28 n_chunks     4  ceil(length / chunk): checked against length
    32 crc32        4  CRC32 of the original bytes continued over header bytes 0..31, checked
                       after decoding (so a damaged header field that still decodes is caught)

    record: kind (1 byte: 0 = range coded, 1 = stored raw, 2 = PPMd), size (u32), then ``size``
            bytes (coded: the range coder's 32-bit words; raw: exactly the group's bytes; PPMd:
            CRC32 of the PPMd code, then the group coded by PPMd primed with the input before it,
            see :mod:`kcomp.lm_coder.fallback`; fewer bytes than the group)

Every group but the last holds ``group * chunk`` bytes, so the records' number and raw sizes
follow from the header. A coded record of ``size`` bytes can hold at most
``(8 * size + 64) / min_bits_per_byte`` bytes: the mixer keeps every symbol at least
``2**-floor_bits`` likely, so no byte costs less than ``min_bits_per_byte`` bits, and a range
coder's output is shorter than the information it carries by at most its 64-bit state. Every
check here runs before the decoder allocates output or runs the model.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from kcomp.errors import CorruptStreamError, InputError

MAGIC = b"KCLM"
VERSION = 3
READABLE_VERSIONS = (2, 3)  #: version 2 is version 3 without PPMd records
MODE_PRETRAINED = 0
MODE_ONLINE = 1
MODE_ADAPT = 2
MODES = {MODE_PRETRAINED: "pretrained", MODE_ONLINE: "online", MODE_ADAPT: "adapt"}
DEVICES = {0: "cpu", 1: "cuda"}
_DEVICE_CODES = {v: k for k, v in DEVICES.items()}
_HEADER = struct.Struct("<4sBBBB8sQHHII")
_RECORD = struct.Struct("<BI")
HEADER_BYTES = _HEADER.size  # 36
HEADER_BITS = 8 * HEADER_BYTES
RECORD_BYTES = _RECORD.size  # 5
RECORD_CODED = 0
RECORD_RAW = 1
RECORD_PPMD = 2
MAX_THREADS = 64
MAX_GROUP_CHUNKS = 1024  #: bounds the decoder's memory (KV cache of one group)
#: CUDA streams (the torch mixer's large groups) may hold up to this many chunks a group: a GPU
#: step costs about the same for any number of chunks; a CPU decoder refuses them by device class
MAX_GROUP_CHUNKS_CUDA = 4096
CODER_SLACK_BITS = 64  #: a range coder's output may undercut the information it carries by its state


def max_group_chunks(device_class: str) -> int:
    """Most chunks a group of a stream coded on ``device_class`` ("cpu"/"cuda") may hold."""
    return MAX_GROUP_CHUNKS_CUDA if device_class == "cuda" else MAX_GROUP_CHUNKS


@dataclass(frozen=True)
class Header:
    mode: int
    device: str
    threads: int
    model_id: bytes
    length: int
    chunk: int
    group: int
    n_chunks: int
    crc32: int
    version: int = VERSION

    def pack(self) -> bytes:
        return _HEADER.pack(MAGIC, self.version, self.mode, _DEVICE_CODES[self.device], self.threads, self.model_id,
                            self.length, self.chunk, self.group, self.n_chunks, self.crc32)

    def stream_crc(self, data_crc: int) -> int:
        """The CRC32 a stream with this header carries for data whose own CRC32 is ``data_crc``."""
        return zlib.crc32(self.pack()[: HEADER_BYTES - 4], data_crc)

    @property
    def group_bytes(self) -> int:
        return self.group * self.chunk

    @property
    def n_groups(self) -> int:
        return -(-self.length // self.group_bytes)

    def group_span(self, index: int) -> tuple[int, int]:
        start = index * self.group_bytes
        return start, min(start + self.group_bytes, self.length)


def pack_record(kind: int, payload: bytes) -> bytes:
    return _RECORD.pack(kind, len(payload)) + payload


def read_header(head: bytes, stream_bytes: int | None) -> Header:
    """Validate the fixed header; ``stream_bytes`` (when known) bounds what it may announce."""
    if not isinstance(head, (bytes, bytearray, memoryview)):
        raise InputError(f"an lm stream must be bytes, got {type(head).__name__}")
    if len(head) >= 4 and bytes(head[:4]) != MAGIC:
        raise CorruptStreamError(f"lm: bad magic {bytes(head[:4])!r}, expected {MAGIC!r}: not an lm stream")
    if len(head) >= 5 and head[4] not in READABLE_VERSIONS:
        raise CorruptStreamError(
            f"lm: this stream is in format version {head[4]}; this kcomp reads only versions "
            f"{', '.join(map(str, READABLE_VERSIONS))} (decode it with the kcomp release that wrote it)"
        )
    if len(head) < HEADER_BYTES:
        raise CorruptStreamError(f"lm: stream of {len(head)} bytes is shorter than the {HEADER_BYTES}-byte header (truncated?)")
    _, version, mode, dev, threads, mid, length, chunk, group, n_chunks, crc = _HEADER.unpack_from(bytes(head))
    if mode not in MODES:
        raise CorruptStreamError(f"lm: unknown coding mode {mode}")
    if dev not in DEVICES:
        raise CorruptStreamError(f"lm: unknown device class code {dev}")
    if not 1 <= threads <= MAX_THREADS:
        raise CorruptStreamError(f"lm: thread count {threads} in header is outside 1..{MAX_THREADS}")
    if chunk < 1 or not 1 <= group <= max_group_chunks(DEVICES[dev]):
        raise CorruptStreamError(f"lm: chunk length {chunk} / group of {group} chunks cannot occur")
    if n_chunks != -(-length // chunk):
        raise CorruptStreamError(
            f"lm: header is inconsistent ({length} bytes cannot make {n_chunks} chunks of {chunk}): corrupted"
        )
    header = Header(mode, DEVICES[dev], threads, mid, length, chunk, group, n_chunks, crc, version)
    smallest = HEADER_BYTES + header.n_groups * (RECORD_BYTES + 1)
    if stream_bytes is not None and stream_bytes < smallest:
        raise CorruptStreamError(
            f"lm: the header announces {length:,} bytes in {header.n_groups:,} groups, which needs at least "
            f"{smallest:,} stream bytes; the stream has {stream_bytes:,} (truncated or corrupted)"
        )
    return header


def iter_records(src: BinaryIO, header: Header, min_bits_per_byte: float) -> Iterator[tuple[int, bytes]]:
    """Read and validate the records of ``header.n_groups`` groups: yields (kind, payload)."""
    for index in range(header.n_groups):
        start, end = header.group_span(index)
        raw = src.read(RECORD_BYTES)
        if len(raw) < RECORD_BYTES:
            raise CorruptStreamError(f"lm: stream ends before group {index + 1} of {header.n_groups} (truncated)")
        kind, size = _RECORD.unpack(raw)
        _check_record(index, kind, size, end - start, min_bits_per_byte, header.version)
        payload = src.read(size)
        if len(payload) < size:
            raise CorruptStreamError(f"lm: group {index + 1} of {header.n_groups} is cut short (truncated)")
        yield kind, payload
    if src.read(1):
        raise CorruptStreamError("lm: trailing data after the last group: the stream is corrupted")


def _check_record(index: int, kind: int, size: int, n_bytes: int, min_bits_per_byte: float, version: int) -> None:
    where = f"lm: group {index + 1}"
    if kind == RECORD_RAW:
        if size != n_bytes:
            raise CorruptStreamError(f"{where} is stored raw with {size} bytes but holds {n_bytes}: corrupted")
    elif kind == RECORD_CODED:
        if size < 4 or size % 4:
            raise CorruptStreamError(f"{where}: coded payload of {size} bytes is not whole 32-bit words")
        most = math.floor((8 * size + CODER_SLACK_BITS) / min_bits_per_byte)
        if n_bytes > most:
            raise CorruptStreamError(
                f"{where}: {size} coded bytes cannot hold {n_bytes:,} bytes (at most {most:,}): corrupted"
            )
    elif kind == RECORD_PPMD and version >= 3:
        if not 5 <= size < n_bytes:  # a CRC32 and at least one byte of PPMd code
            raise CorruptStreamError(
                f"{where}: PPMd payload of {size} bytes for {n_bytes} bytes cannot occur (the encoder "
                "stores a group raw unless PPMd is smaller): corrupted")
    else:
        raise CorruptStreamError(f"{where}: unknown record kind {kind} (format version {version})")
