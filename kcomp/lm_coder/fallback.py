"""Per-group fallback of the ``lm`` coder: every group is also coded by PPMd, and the cheapest of
the transformer+mixer code, the PPMd code and the raw bytes becomes the group's record.

Far from the model's training data (another language, code, binary) the transformer can cost
more than a classical context model; this keeps ``lm`` within a few header bytes per group of
PPMd there, while English text keeps the transformer's code.

The PPMd side is PPMd var. H (pyppmd) of order :data:`PPMD_ORDER` whose model is PRIMED with the
:data:`PRIME_BYTES` input bytes before the group (whatever records held them; the decoder has
them too): the primed encoder's output for the prime is dropped from the record and rebuilt by
the decoder, which re-encodes the prime, appends the record and decodes prime + group. An
unprimed PPMd per 64 KiB group cost 4-8 % more than one PPMd over the whole input (measured on
German, Russian and Chinese fortunes and Python); primed, ``lm`` ends 0-5 % below the registry's
``ppmd`` on those inputs (``bench/lm_coder.py``). A 64 KiB group costs ~60 ms of CPU to encode
with PPMd (~1 % of the transformer's time) and ~110 ms to decode.

A PPMd record is the CRC32 of the PPMd bytes (4 bytes, little endian), then the PPMd bytes: the
decoder checks it before pyppmd sees them, because pyppmd 1.3 can crash the process (SIGSEGV,
measured here) on damaged input. The check and the decode loop are the registry ``ppmd`` codec's
guard (:func:`kcomp.compressors.ppmd.seal`, :func:`~kcomp.compressors.ppmd.unseal`,
:func:`~kcomp.compressors.ppmd.run_decoder`). A stream crafted to carry a matching CRC over
hostile PPMd bytes is not covered by this check.

The record choice is a function of the coder's probabilities and the PPMd size only, so the
pricing pass (``size_bits``, ``code_lengths``) makes the same choice as the encoder: the range
code is counted as ``32 * ceil((bits + 1) / 32)`` bits (its whole 32-bit words), PPMd as its
payload bytes, raw as 8 bits a byte; ties go to raw, then to the range code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kcomp.compressors.ppmd import encode_in_pieces, in_pieces, run_decoder, seal, unseal
from kcomp.errors import CorruptStreamError
from kcomp.lm_coder.container import RECORD_CODED, RECORD_PPMD, RECORD_RAW

PPMD_ORDER = 12  #: orders 8..24 primed with 256 KiB were within 1% of each other; 12 is fast
PPMD_MEMORY = 16 << 20  #: bytes of PPMd model (64 MiB measured no smaller)
PRIME_BYTES = 256 << 10  #: input bytes before a group that prime its PPMd model (part of the format)


def lm_record_bits(bits: np.ndarray) -> float:
    """Payload bits of a range-coded record whose bytes cost ``bits``: whole 32-bit words."""
    return 32.0 * math.ceil((float(bits.sum()) + 1) / 32)


@dataclass(frozen=True)
class Choice:
    """The record a group gets: ``kind``, its payload ``record_bits`` and, for PPMd, the payload."""

    kind: int
    record_bits: float
    ppmd: bytes

    def code_lengths(self, lm_bits: np.ndarray) -> np.ndarray:
        """Bits of every byte of the group: the coder's own (range coded), 8 (raw), or the PPMd
        payload's bits spread evenly over the group's bytes (PPMd gives no per-byte split)."""
        if self.kind == RECORD_CODED:
            return lm_bits
        return np.full(len(lm_bits), 8.0 if self.kind == RECORD_RAW else self.record_bits / len(lm_bits))


class Fallback:
    """The PPMd side of one stream: encoder, decoder and pricing each keep one, and call
    :meth:`advance` with every group's bytes in order. ``enabled=False`` (ablations: the
    transformer's own cost) offers only the range code and raw bytes."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.window = b""  #: the last PRIME_BYTES input bytes

    def advance(self, block: bytes) -> None:
        if self.enabled:
            self.window = (self.window + block)[-PRIME_BYTES:]

    def _primed_encoder(self):
        """A PPMd encoder that has coded the window, and its output for it."""
        import pyppmd

        encoder = pyppmd.Ppmd7Encoder(PPMD_ORDER, PPMD_MEMORY)
        return encoder, encode_in_pieces(encoder, self.window)

    def encode(self, block: bytes) -> bytes:
        """The PPMd record payload of ``block``: CRC32 of the PPMd bytes, then those bytes."""
        encoder, _ = self._primed_encoder()
        return seal(encode_in_pieces(encoder, block) + encoder.flush())[0]

    def choose(self, block: bytes, lm_bits: np.ndarray) -> Choice:
        """The cheapest record for ``block`` whose bytes cost ``lm_bits`` under the coder."""
        ppmd = self.encode(block) if self.enabled else b""
        options = [(8.0 * len(block), RECORD_RAW), (lm_record_bits(lm_bits), RECORD_CODED)]
        if self.enabled:
            options.append((8.0 * len(ppmd), RECORD_PPMD))
        bits, kind = min(options, key=lambda option: option[0])  # ties: the first listed
        return Choice(kind, bits, ppmd if kind == RECORD_PPMD else b"")

    def decode(self, payload: bytes, n_bytes: int, where: str) -> bytes:
        """The ``n_bytes`` bytes of a PPMd record; a damaged payload raises CorruptStreamError."""
        import pyppmd

        code, _ = unseal(payload, 0, where)
        prime = self._primed_encoder()[1]
        decoder = pyppmd.Ppmd7Decoder(PPMD_ORDER, PPMD_MEMORY)
        total = len(self.window) + n_bytes
        out = b"".join(run_decoder(decoder, in_pieces(prime + code), total, total, where))
        if out[: len(self.window)] != self.window:
            raise CorruptStreamError(f"{where}: PPMd payload does not match its stream position: corrupted")
        return out[len(self.window) :]
