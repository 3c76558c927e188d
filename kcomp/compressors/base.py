"""The one protocol every kcomp compressor implements.

Sizes are in **bits**. Classical codecs give ``8 * len(compress(x))``; the LM coder gives the
ideal code length (a float). ``overhead_bits`` is the fixed framing a codec adds even to empty
input; with ``headerless=True`` it is subtracted so tiny strings are not dominated by headers.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from kcomp.errors import CorruptStreamError, InputError, OutputLimitError


class Compressor(ABC):
    """A lossless compressor that also prices data in bits.

    Subclasses set ``family`` and implement :meth:`compress` / :meth:`_decompress`.
    ``spec`` is the canonical string that :func:`kcomp.get_compressor` accepts back.
    """

    family: str = ""
    #: bytes of history the codec can exploit (``None``: the whole input). Past this, C(xy)
    #: stops seeing x while coding y, so K(y|x) estimates degrade: a codec property.
    window: int | None = None
    #: True when :meth:`joint_size_bits` is cheaper than compressing each prefix+suffix.
    has_prefix_reuse: bool = False
    #: True when the codec learns while it codes and :meth:`prequential_code_lengths` returns
    #: the prequential (online) cost of every byte; drivers such as the learning curve use it.
    prequential: bool = False
    #: "fast" (MB/s: classical codecs) or "slow" (kB/s: the LM); drivers price "slow" codecs on
    #: a subset and leave them out of per-pair defaults.
    cost: str = "fast"
    #: True when :meth:`compress_stream` / :meth:`decompress_stream` run in constant memory.
    streams: bool = False
    #: attributes left out when pickling (codec contexts that cannot be pickled);
    #: :meth:`_restore` rebuilds them after unpickling
    _unpicklable: tuple[str, ...] = ()

    def __init__(self, level: int | None = None, *, headerless: bool = False) -> None:
        self.level = level
        self.headerless = headerless

    # -- identity -------------------------------------------------------------------------
    @property
    def spec(self) -> str:
        parts = [self.family]
        if self.level is not None:
            parts.append(str(self.level))
        parts.extend(self._flags())
        if self.headerless:
            parts.append("headerless")
        return ":".join(parts)

    def _flags(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"get_compressor({self.spec!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compressor) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    @property
    def fingerprint(self) -> str:
        """What this compressor computes, for checkpoints: the spec, plus anything the spec does
        not say (an LM's weights). Equal fingerprints mean equal sizes."""
        return self.spec

    # -- pickling: the object itself travels to worker processes ----------------------------
    # (class + attributes, so custom weights, extra state and classes registered at run time
    # survive; rebuilding from the spec would lose them)
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for name in self._unpicklable:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._restore()

    def _restore(self) -> None:
        """Rebuild the attributes named in ``_unpicklable`` (codecs with contexts override)."""

    # -- codec ----------------------------------------------------------------------------
    @abstractmethod
    def compress(self, data: bytes) -> bytes:
        """Compress ``data`` into a self-contained stream."""

    def decompress(self, data: bytes, *, max_output: int | None = None) -> bytes:
        """Invert :meth:`compress` exactly; a damaged stream raises :class:`CorruptStreamError`.

        ``max_output`` (bytes): refuse with :class:`OutputLimitError` a stream that would
        decompress to more, having allocated no more than about that much.
        """
        if max_output is not None and (isinstance(max_output, bool) or not isinstance(max_output, int)
                                       or max_output < 0):
            raise InputError(f"max_output must be a non-negative int (bytes) or None; got {max_output!r}")
        try:
            return self._decompress_bounded(data, max_output)
        except CorruptStreamError:
            raise
        except Exception as exc:  # every codec has its own error classes
            raise CorruptStreamError(f"{self.spec}: cannot decompress ({type(exc).__name__}: {exc})") from exc

    @abstractmethod
    def _decompress(self, data: bytes) -> bytes:
        ...

    def _decompress_bounded(self, data: bytes, max_output: int | None) -> bytes:
        """Decompress with an output cap. Codecs override this to stop *before* allocating past
        ``max_output``; this fallback decodes fully, then checks."""
        out = self._decompress(data)
        if max_output is not None and len(out) > max_output:
            raise OutputLimitError(f"{self.spec}: output exceeds max_output={max_output:,} bytes")
        return out

    # -- streaming (files of any size) -----------------------------------------------------
    def compress_stream(self, src: BinaryIO, dst: BinaryIO) -> tuple[int, int]:
        """Compress the readable binary ``src`` into ``dst``; returns (bytes read, bytes written).
        Codecs with ``streams = True`` do this in constant memory; this fallback reads it all."""
        data = src.read()
        out = self.compress(data)
        dst.write(out)
        return len(data), len(out)

    def decompress_stream(self, src: BinaryIO, dst: BinaryIO, *, max_output: int | None = None) -> int:
        """Decompress ``src`` into ``dst``; returns bytes written. Same errors as :meth:`decompress`."""
        out = self.decompress(src.read(), max_output=max_output)
        dst.write(out)
        return len(out)

    # -- pricing --------------------------------------------------------------------------
    @property
    def overhead_bits(self) -> float:
        """Fixed framing in bits that :attr:`headerless` removes (0 for headerless codecs)."""
        return 0.0

    def raw_size_bits(self, data: bytes) -> float:
        """Size of the full stream in bits, framing included."""
        return 8.0 * len(self.compress(data))

    def size_bits(self, data: bytes) -> float:
        """C(data) in bits, with framing removed when ``headerless``."""
        bits = self.raw_size_bits(data)
        return max(bits - self.overhead_bits, 0.0) if self.headerless else bits

    def joint_size_bits(self, prefix: bytes, suffixes: Sequence[bytes]) -> np.ndarray:
        """C(prefix + s) in bits for every s in ``suffixes``.

        Codecs with ``has_prefix_reuse`` compress ``prefix`` once and reuse that state;
        the result must equal ``[size_bits(prefix + s) for s in suffixes]`` exactly.
        """
        return np.array([self.size_bits(prefix + s) for s in suffixes], dtype=np.float64)

    def prequential_code_lengths(self, data: bytes) -> np.ndarray:
        """Bits of every byte of ``data`` coded online, each priced by what the codec learned from
        the bytes before it. Codecs with ``prequential = True`` implement this."""
        raise InputError(f"{self.spec} is not prequential: it has no per-byte online code lengths")


def check_level(family: str, level: int | None, lo: int, hi: int, default: int) -> int:
    """Return ``level`` (or ``default``), refusing values outside [lo, hi] with a clear error."""
    from kcomp.errors import UnknownCompressorError

    if level is None:
        return default
    if not lo <= level <= hi:
        raise UnknownCompressorError(f"{family}: level {level} is out of range; use {lo}..{hi} (default {default})")
    return level


class ContainerCompressor(Compressor):
    """A codec whose framing is priced as the size of its empty-input stream."""

    @functools.cached_property
    def overhead_bits(self) -> float:
        return 8.0 * len(self.compress(b""))


def append_crc32(payload: bytes, original: bytes) -> bytes:
    """Append CRC32(original) (4 bytes, little endian) to a codec stream that has no checksum."""
    import zlib

    return payload + zlib.crc32(original).to_bytes(4, "little")


def split_crc32(data: bytes) -> tuple[bytes, int]:
    """Split a stream made by :func:`append_crc32` into (payload, expected CRC32)."""
    if len(data) < 4:
        raise CorruptStreamError(f"stream of {len(data)} bytes is too short to hold its CRC32 trailer")
    return data[:-4], int.from_bytes(data[-4:], "little")


def verify_crc32(original: bytes, expected: int, spec: str) -> bytes:
    import zlib

    if zlib.crc32(original) != expected:
        raise CorruptStreamError(f"{spec}: CRC32 mismatch, the stream is corrupted")
    return original
