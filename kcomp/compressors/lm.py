"""Neural compressor ``lm``: a byte-level transformer mixed with an adaptive context model,
driving a range coder (:mod:`kcomp.lm_coder`).

Specs: ``lm`` (shipped pretrained weights), ``lm:adapt`` (shipped weights that keep learning on
the data they code: dynamic evaluation), ``lm:online`` (seeded random init that learns while it
codes: prequential code length, no weights). Flags: ``cpu`` / ``cuda`` pin the device (default:
CUDA when present), ``weights=PATH`` uses other weights (``lm:weights=my.safetensors``),
``headerless``. Needs the ``lm`` extra (torch, constriction, safetensors); none of them is
imported until the codec is first used.
"""

from __future__ import annotations

import importlib.util
import io
import os
import zlib
from collections.abc import Sequence
from functools import partial
from typing import BinaryIO

import numpy as np

from kcomp._inputs import to_bytes
from kcomp.compressors.base import Compressor
from kcomp.compressors.registry import refuse_flags, register
from kcomp.errors import InputError, UnknownCompressorError
from kcomp.lm_coder.coder import AdaptConfig, LMCoder, OnlineConfig
from kcomp.lm_coder.mix import MixConfig
from kcomp.lm_coder.container import HEADER_BITS, HEADER_BYTES, MODE_ADAPT, MODE_ONLINE, MODE_PRETRAINED, iter_records

_NEEDS = ("torch", "constriction", "safetensors", "numba")
_as_bytes = partial(to_bytes, name="lm input", allow_str=False)  # the lm codec takes bytes only


class LMCompressor(Compressor):
    """Arithmetic coding with a byte-level transformer mixed with adaptive context counts.

    Parameters
    ----------
    weights: shipped weights name or a ``.safetensors`` path (pretrained mode; default: shipped).
    model: an in-memory :class:`~kcomp.lm_coder.model.ByteGPT` instead of ``weights``.
    online: prequential mode (no weights): learn while coding, from a seeded random init.
    online_config: :class:`~kcomp.lm_coder.coder.OnlineConfig` (default ``OnlineConfig()``).
    adapt: pretrained weights that keep learning on what they code (``AdaptConfig``).
    device: 'auto' (CUDA when present, else CPU), 'cpu' or 'cuda'.
    threads: lanes of chunks stepped in parallel threads while coding (default 2; 1 with the torch
        mixer, the CUDA default, which steps one lane; recorded in the stream, the decoder uses the same).
    mix: the context-mixing recipe (:class:`~kcomp.lm_coder.mix.MixConfig`); ``None`` codes with
        the transformer alone (for ablations).
    ppmd_fallback: store a group as PPMd when that is smaller (:mod:`kcomp.lm_coder.fallback`);
        ``False`` for ablations. Streams decode either way.
    """

    cost = "slow"
    family = "lm"
    streams = True  #: compress_stream (to a seekable file) and decompress_stream hold one group (+ 256 KiB) at a time

    def __init__(self, *, weights: str | os.PathLike | None = None, model=None, online: bool = False,
                 online_config: OnlineConfig | None = None, adapt: bool = False,
                 adapt_config: AdaptConfig | None = None, device: str = "auto", threads: int | None = None,
                 mix: MixConfig | None = MixConfig(), ppmd_fallback: bool = True, headerless: bool = False) -> None:
        super().__init__(None, headerless=headerless)
        if online and (weights is not None or model is not None):
            raise InputError("lm:online learns from scratch: do not pass weights= or model=")
        if online and adapt:
            raise InputError("choose one of online (from scratch) and adapt (pretrained + learning)")
        if weights is not None and model is not None:
            raise InputError("pass weights= or model=, not both")
        if str(device).lower() not in ("auto", "cpu") and not str(device).lower().startswith("cuda"):
            raise InputError(f"lm: unknown device {device!r}; use 'auto', 'cpu' or 'cuda'")
        self.weights = weights
        self._model = model
        self.online = online
        self.online_config = online_config or OnlineConfig() if online else None
        self.adapt = adapt
        self.adapt_config = adapt_config or AdaptConfig() if adapt else None
        self.device = str(device).lower()
        self.threads = threads
        self.mix = mix
        self.ppmd_fallback = ppmd_fallback
        self._coder: LMCoder | None = None
        self._other: dict[int, LMCoder] = {}
        self.prequential = online or adapt
        self.has_prefix_reuse = not (online or adapt)
        # the context model learns across the whole input, so a byte's cost depends on everything
        # before it in coding order: no window, and no per-chunk reuse of a prefix's cost
        self.window = None

    # -- identity ------------------------------------------------------------------------------
    def _flags(self) -> list[str]:
        flags = ["online"] if self.online else ["adapt"] if self.adapt else []
        if self.device != "auto":
            flags.append("cuda" if self.device.startswith("cuda") else "cpu")
        if self.weights is not None:
            flags.append(f"weights={os.fspath(self.weights)}")
        return flags

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LMCompressor) or other.spec != self.spec:
            return False
        if self.online or (self._model is None and other._model is None):
            return (self.online_config, self.adapt_config, self.mix, self.ppmd_fallback) == (
                other.online_config, other.adapt_config, other.mix, other.ppmd_fallback)
        return (self.coder.model_id, self.ppmd_fallback) == (other.coder.model_id, other.ppmd_fallback)

    def __hash__(self) -> int:
        return hash(self.spec)

    @property
    def fingerprint(self) -> str:
        """The spec plus the model id (weights, or the online recipe): tells custom weights apart."""
        return f"{self.spec}#{self.model_id}" + ("" if self.ppmd_fallback else "#no-ppmd-fallback")

    def __reduce__(self):
        if self._model is not None:
            state = {k: v.detach().cpu().numpy() for k, v in self._model.state_dict().items()}
            return (_rebuild_from_state, (self._model.config.to_json(), state, self._options()))
        return (_rebuild, (self._options(),))

    def _options(self) -> dict:
        return dict(weights=self.weights, online=self.online, online_config=self.online_config, adapt=self.adapt,
                    adapt_config=self.adapt_config, device=self.device, threads=self.threads, mix=self.mix,
                    ppmd_fallback=self.ppmd_fallback, headerless=self.headerless)

    # -- the coder (lazy: loads torch and the weights on first use) ---------------------------
    def _coder_for(self, mode: int) -> LMCoder:
        options = {"mix": self.mix, "ppmd_fallback": self.ppmd_fallback, "device": self.device}
        if self.threads is not None:
            options["threads"] = self.threads
        if mode == MODE_ONLINE:
            return LMCoder(online=self.online_config or OnlineConfig(), **options)
        model = self._model
        if model is None:
            from kcomp.lm_coder.weights import load_model

            model = load_model(self.weights)
        adapt = (self.adapt_config or AdaptConfig()) if mode == MODE_ADAPT else None
        return LMCoder(model, adapt=adapt, **options)

    @property
    def _mode(self) -> int:
        return MODE_ONLINE if self.online else MODE_ADAPT if self.adapt else MODE_PRETRAINED

    @property
    def coder(self) -> LMCoder:
        if self._coder is None:
            self._coder = self._coder_for(self._mode)
        return self._coder

    def _coder_of_stream(self, head: bytes) -> LMCoder:
        """The container says which mode made it: decode with this compressor's coder of that mode."""
        mode = head[5] if len(head) > 5 else self._mode
        if mode == self._mode or mode not in (MODE_PRETRAINED, MODE_ONLINE, MODE_ADAPT):
            return self.coder  # an unknown mode is refused by the coder's header check
        if mode not in self._other:
            self._other[mode] = self._coder_for(mode)
        return self._other[mode]

    @property
    def model_id(self) -> str:
        return self.coder.model_id.hex()

    # -- codec -----------------------------------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        return self.coder.encode(_as_bytes(data))

    def _decompress(self, data: bytes) -> bytes:
        return self._decompress_bounded(data, None)

    def _decompress_bounded(self, data: bytes, max_output: int | None) -> bytes:
        data = _as_bytes(data)
        return self._coder_of_stream(data[:HEADER_BYTES]).decode(data, max_output=max_output)

    def compress_stream(self, src: BinaryIO, dst: BinaryIO) -> tuple[int, int]:
        """Group by group into a seekable ``dst`` (the header, written last, holds the length and
        CRC); memory is one group. A non-seekable ``dst`` gets the whole-input fallback."""
        if not _seekable(dst):
            return super().compress_stream(src, dst)
        coder = self.coder
        size = coder.chunk * coder.group
        start = dst.tell()
        dst.write(bytes(HEADER_BYTES))
        read, crc, written = 0, 0, HEADER_BYTES

        def groups():
            nonlocal read, crc
            while block := src.read(size):
                while len(block) < size and (more := src.read(size - len(block))):
                    block += more  # pipes may return short reads
                read, crc = read + len(block), zlib.crc32(block, crc)
                yield block

        for record in coder.encode_groups(groups()):
            dst.write(record)
            written += len(record)
        end = dst.tell()
        dst.seek(start)
        dst.write(coder.header_for(read, crc).pack())
        dst.seek(end)
        return read, written

    def decompress_stream(self, src: BinaryIO, dst: BinaryIO, *, max_output: int | None = None) -> int:
        """Group by group: memory is one group (``group * chunk`` bytes) plus the PPMd fallback's
        256 KiB window, whatever the length."""
        head = src.read(HEADER_BYTES)
        coder = self._coder_of_stream(head)
        header = coder.open(head, _remaining(src, len(head)), max_output)
        written = 0
        for block in coder.decode_groups(header, iter_records(src, header, coder.min_bits_per_byte)):
            dst.write(block)
            written += len(block)
        return written

    # -- pricing ---------------------------------------------------------------------------
    @property
    def overhead_bits(self) -> float:
        return float(HEADER_BITS)

    def raw_size_bits(self, data: bytes) -> float:
        """Header bits + the records the encoder would write, priced from the coder's own
        probabilities without coding (within a few bits per group of the real stream)."""
        return HEADER_BITS + self.coder.payload_bits(_as_bytes(data))

    def code_lengths(self, data: bytes) -> np.ndarray:
        """Bits of every byte position (the coder's probabilities; 8 in raw-stored groups)."""
        return self.coder.code_lengths(_as_bytes(data))

    def prequential_code_lengths(self, data: bytes) -> np.ndarray:
        """Online/adapt mode's per-position bits: each byte priced by the model trained on what
        precedes its group of chunks."""
        if not (self.online or self.adapt):
            raise InputError("prequential_code_lengths needs lm:online or lm:adapt (this compressor is static)")
        return self.code_lengths(data)

    def joint_size_bits(self, prefix: bytes, suffixes: Sequence[bytes]) -> np.ndarray:
        """Equal to ``[size_bits(prefix + s) for s in suffixes]``; the groups wholly inside
        ``prefix`` are priced once (pretrained mode)."""
        payload = self.coder.joint_payload_bits(_as_bytes(prefix), [_as_bytes(s) for s in suffixes])
        bits = np.array(payload, dtype=np.float64) + HEADER_BITS
        return np.maximum(bits - HEADER_BITS, 0.0) if self.headerless else bits


def _seekable(stream) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False


def _remaining(src: BinaryIO, already: int) -> int | None:
    """Bytes of ``src`` from its start (``already`` read), when it can tell; else None."""
    try:
        here = src.tell()
        end = src.seek(0, io.SEEK_END)
        src.seek(here)
        return end - here + already
    except (OSError, AttributeError, ValueError):
        return None


def _rebuild(options: dict) -> LMCompressor:
    return LMCompressor(**options)


def _rebuild_from_state(config_json: str, state: dict, options: dict) -> LMCompressor:
    import torch

    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    model = ByteGPT(ModelConfig.from_json(config_json))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return LMCompressor(model=model.eval(), **{**options, "weights": None})


def prequential_code_lengths(data: bytes, config: OnlineConfig | None = None, device: str = "auto") -> np.ndarray:
    """Bits per byte position of ``data`` under ``lm:online`` (the learning curve of the data)."""
    return LMCompressor(online=True, online_config=config, device=device).prequential_code_lengths(data)


def availability() -> str | None:
    missing = [m for m in _NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return f"missing {', '.join(missing)}: pip install 'kcomp[lm]'"
    return None


def _make(level=None, flags=(), headerless=False):
    weights = [f.partition("=")[2] for f in flags if f.startswith("weights=")]
    flags = tuple(f for f in flags if not f.startswith("weights="))
    refuse_flags("lm", flags, ("online", "adapt", "cpu", "cuda", "weights=PATH"))
    if level is not None:
        raise UnknownCompressorError("lm: takes no level (use 'lm', 'lm:adapt' or 'lm:online')")
    if "online" in flags and "adapt" in flags:
        raise UnknownCompressorError("lm: give at most one of 'online' and 'adapt'")
    if "cpu" in flags and "cuda" in flags:
        raise UnknownCompressorError("lm: give at most one of 'cpu' and 'cuda'")
    if len(weights) > 1 or (weights and (not weights[0] or "online" in flags)):
        raise UnknownCompressorError("lm: give one non-empty weights=PATH, and not with 'online'")
    device = "cpu" if "cpu" in flags else "cuda" if "cuda" in flags else "auto"
    return LMCompressor(weights=weights[0] if weights else None, online="online" in flags,
                        adapt="adapt" in flags, device=device, headerless=headerless)


register(
    "lm",
    _make,
    "byte-level transformer mixed with adaptive context counts + arithmetic coding; 'lm' = shipped "
    "weights, 'lm:adapt' = shipped weights that keep learning while coding, 'lm:online' = learns from "
    "scratch while coding; 'lm:weights=PATH' = other weights",
    availability=availability,
)
