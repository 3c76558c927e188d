"""``LMCompressor``: the neural coder behind the :class:`~kcomp.compressors.base.Compressor` protocol.

Spec strings (see :mod:`kcomp.compressors.lm`): ``lm`` (shipped pretrained weights),
``lm:online`` (prequential: learns while coding, no weights), ``lm:adapt`` (shipped weights that
keep learning while coding, i.e. dynamic evaluation), plus optional ``cpu`` / ``cuda``
to pin the device and ``headerless``. torch is imported only when the coder is first used.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial

import numpy as np

from kcomp._inputs import to_bytes
from kcomp.compressors.base import Compressor
from kcomp.errors import CorruptStreamError, InputError
from kcomp.lm_coder.coder import (
    HEADER_BITS,
    MODE_ADAPT,
    MODE_ONLINE,
    MODE_PRETRAINED,
    AdaptConfig,
    LMCoder,
    OnlineConfig,
    parse_header,
)

_lm_bytes = partial(to_bytes, name="lm input", allow_str=False)  # the lm codec takes bytes only


class LMCompressor(Compressor):
    """Arithmetic coding with a byte-level transformer.

    Parameters
    ----------
    weights: shipped weights name or a ``.safetensors`` path (pretrained mode; default: shipped).
    model: an in-memory :class:`~kcomp.lm_coder.model.ByteGPT` instead of ``weights``.
    online: prequential mode (no weights): learn while coding, from a seeded random init.
    online_config: :class:`~kcomp.lm_coder.coder.OnlineConfig` (default ``OnlineConfig()``).
    adapt: pretrained weights that keep learning on what they code (``AdaptConfig``).
    device: 'auto' (CUDA when present, else CPU), 'cpu' or 'cuda'.
    """

    cost = "slow"

    family = "lm"

    def __init__(self, *, weights: str | os.PathLike | None = None, model=None, online: bool = False,
                 online_config: OnlineConfig | None = None, adapt: bool = False,
                 adapt_config: AdaptConfig | None = None, device: str = "auto", threads: int = 1,
                 headerless: bool = False) -> None:
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
        self._coder: LMCoder | None = None
        self._other: dict[int, LMCoder] = {}
        self.has_prefix_reuse = not (online or adapt)
        self.prequential = online or adapt
        if online or adapt:
            self.window = None  # learning carries everything seen so far
        elif model is not None:
            self.window = model.config.block_size
        else:
            self.window = _block_size_from_metadata(weights)  # no torch: read the metadata only

    # -- identity ------------------------------------------------------------------------------
    def _flags(self) -> list[str]:
        flags = ["online"] if self.online else ["adapt"] if self.adapt else []
        if self.device != "auto":
            flags.append("cuda" if self.device.startswith("cuda") else "cpu")
        return flags

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LMCompressor) or other.spec != self.spec:
            return False
        if self.online or (self._model is None and other._model is None and self.weights == other.weights):
            return self.online_config == other.online_config and self.adapt_config == other.adapt_config
        return self.coder.model_id == other.coder.model_id

    def __hash__(self) -> int:
        return hash(self.spec)

    @property
    def fingerprint(self) -> str:
        """The spec plus the model id (weights, or the online recipe): tells custom weights apart."""
        return f"{self.spec}#{self.model_id}"

    def __reduce__(self):
        if self._model is not None:
            state = {k: v.detach().cpu().numpy() for k, v in self._model.state_dict().items()}
            return (_rebuild_from_state, (self._model.config.to_json(), state, self.adapt, self.adapt_config,
                                          self.device, self.threads, self.headerless))
        return (_rebuild, (self.weights, self.online, self.online_config, self.adapt, self.adapt_config,
                           self.device, self.threads, self.headerless))

    # -- the coder (lazy: loads torch and the weights on first use) ---------------------------
    @property
    def coder(self) -> LMCoder:
        if self._coder is None:
            if self.online:
                self._coder = LMCoder(online=self.online_config, device=self.device, threads=self.threads)
            else:
                model = self._model
                if model is None:
                    from kcomp.lm_coder.weights import load_model

                    model = load_model(self.weights)
                self._coder = LMCoder(model, adapt=self.adapt_config, device=self.device, threads=self.threads)
                if not self.adapt:
                    self.window = model.config.block_size
        return self._coder

    @property
    def model_id(self) -> str:
        return self.coder.model_id.hex()

    # -- codec -----------------------------------------------------------------------------
    def compress(self, data: bytes) -> bytes:
        data = _lm_bytes(data)
        return self.coder.encode(data)

    def _decompress(self, data: bytes) -> bytes:
        header, _ = parse_header(data)
        own_mode = MODE_ONLINE if self.online else MODE_ADAPT if self.adapt else MODE_PRETRAINED
        coder = self.coder if header.mode == own_mode else None
        if coder is None:
            # the container says which mode made it: decode with the default coder of that mode
            coder = self._other.get(header.mode)
            if coder is None:
                if header.mode == MODE_ONLINE:
                    coder = LMCoder(online=OnlineConfig(), device=self.device, threads=self.threads)
                else:
                    from kcomp.lm_coder.weights import load_model

                    base = self._model if self._model is not None else load_model(self.weights)
                    adapt = AdaptConfig() if header.mode == MODE_ADAPT else None
                    coder = LMCoder(base, adapt=adapt, device=self.device, threads=self.threads)
                self._other[header.mode] = coder
        return coder.decode(data)

    # -- pricing ---------------------------------------------------------------------------
    @property
    def overhead_bits(self) -> float:
        return float(HEADER_BITS)

    def raw_size_bits(self, data: bytes) -> float:
        """Header bits + the ideal code length sum(-log2 p) (teacher forced; no coding)."""
        return HEADER_BITS + self.coder.payload_bits(_lm_bytes(data))

    def joint_size_bits(self, prefix: bytes, suffixes: Sequence[bytes]) -> np.ndarray:
        # payload_bits memoises per-chunk costs, so the prefix's full chunks are priced once and
        # the result equals size_bits(prefix + s) exactly (same per-chunk computation).
        prefix = _lm_bytes(prefix)
        return np.array([self.size_bits(prefix + _lm_bytes(s)) for s in suffixes], dtype=np.float64)

    def code_lengths(self, data: bytes) -> np.ndarray:
        """Bits of every byte position (pretrained: teacher forced; online: prequential)."""
        return self.coder.code_lengths(_lm_bytes(data))

    def prequential_code_lengths(self, data: bytes) -> np.ndarray:
        """Online/adapt mode's per-position bits: each byte priced by the model trained on what
        precedes its group of chunks. The sum plus :attr:`overhead_bits` is :meth:`raw_size_bits`."""
        if not (self.online or self.adapt):
            raise InputError("prequential_code_lengths needs lm:online or lm:adapt (this compressor is static)")
        return self.code_lengths(data)


def _block_size_from_metadata(weights) -> int | None:
    import json

    from kcomp.lm_coder.weights import read_metadata, resolve_weights

    try:
        return int(json.loads(read_metadata(resolve_weights(weights))["config"])["block_size"])
    except Exception:  # missing/broken weights: reported with a clear error when first used
        return None


def _rebuild(weights, online, online_config, adapt, adapt_config, device, threads, headerless):
    return LMCompressor(weights=weights, online=online, online_config=online_config, adapt=adapt,
                        adapt_config=adapt_config, device=device, threads=threads, headerless=headerless)


def _rebuild_from_state(config_json, state, adapt, adapt_config, device, threads, headerless):
    import torch

    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    model = ByteGPT(ModelConfig.from_json(config_json))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return LMCompressor(model=model.eval(), adapt=adapt, adapt_config=adapt_config, device=device,
                        threads=threads, headerless=headerless)


def prequential_code_lengths(data: bytes, config: OnlineConfig | None = None, device: str = "auto") -> np.ndarray:
    """Bits per byte position of ``data`` under ``lm:online`` (the learning curve of the data)."""
    return LMCompressor(online=True, online_config=config, device=device).prequential_code_lengths(data)


__all__ = ["LMCompressor", "prequential_code_lengths", "CorruptStreamError", "MODE_PRETRAINED", "MODE_ONLINE"]
