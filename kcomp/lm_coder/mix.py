"""Adaptive context model mixed with the transformer (geometric mixing, cmix/NNCP style).

The coder advances a *group* of chunks in lockstep: at step ``t`` every active chunk codes its
byte ``t``. The :class:`ContextMixer` sees the same group: before a step it predicts, for every
active chunk, a distribution over the 256 byte values that mixes

* the transformer's log-probabilities, and
* order-``k`` byte-context counts (``k`` in :attr:`MixConfig.orders`), hashed tables SHARED by all
  chunks and all groups of the stream, updated after every step with the bytes of that step,

as ``p(b) ∝ exp(Σ_i w_i log p_i(b))`` with weights learned online (one gradient step on the log
loss per step, summed over the chunks). Each model's weight is chosen by its own confidence
bucket (count models: how often the context was seen; transformer: its top probability), so a
context seen once weighs less than one seen a thousand times. Every symbol keeps at least
``2**-floor_bits`` of probability, so no byte costs less than ~``256 * 2**-floor_bits / ln 2``
bits: that bounds how many bytes a payload can announce (see :data:`MIN_BITS_PER_BYTE`).

Everything here is computed from bytes already coded, in a fixed order with fixed array shapes,
so encoder, decoder and the pricing pass (``size_bits``) compute identical numbers on one
machine. Table updates are integer adds (``np.add.at``: commutative, deterministic).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np

_HASH_MULT = np.uint64(0x9E3779B97F4A7C15)
_N_BUCKETS = 16


@dataclass(frozen=True)
class MixConfig:
    """The whole recipe of the context model and mixer (part of the stream's model id)."""

    orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 12)
    table_bits: int = 15  #: rows of each hashed count table: 2**table_bits contexts
    alpha: float = 0.05  #: additive prior of the count estimates
    count_limit: int = 1023  #: a context's counts are halved when one exceeds this (adaptivity)
    lr: float = 0.005  #: mixer learning rate (per byte)
    nn_weight: float = 1.0  #: initial weight of the transformer
    count_weight: float = 0.2  #: initial weight of every count model
    floor_bits: int = 16  #: every symbol keeps at least 2**-floor_bits of probability

    def __post_init__(self) -> None:
        if not self.orders or any(not 1 <= k <= 16 for k in self.orders):
            raise ValueError(f"MixConfig.orders must be 1..16, got {self.orders!r}")
        if not 8 <= self.table_bits <= 24 or not 8 <= self.floor_bits <= 20:
            raise ValueError("MixConfig: table_bits must be 8..24 and floor_bits 8..20")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def min_bits_per_byte(self) -> float:
        """Fewest bits any byte can cost: the top symbol has at most 1 - 255 * 2**-floor_bits."""
        return -math.log2(1.0 - 255.0 * 2.0**-self.floor_bits)


class ContextMixer:
    """Shared count tables + mixing weights; call :meth:`begin_group`, then per step
    :meth:`contexts`, :meth:`predict` (optional) and :meth:`learn`."""

    def __init__(self, config: MixConfig) -> None:
        self.config = config
        n_models = 1 + len(config.orders)
        self.tables = [np.zeros((1 << config.table_bits, 256), dtype=np.uint16) for _ in config.orders]
        self.weights = np.full((n_models, _N_BUCKETS), config.count_weight, dtype=np.float32)
        self.weights[0] = config.nn_weight
        self._masks = [(np.uint64((1 << (8 * min(k, 8))) - 1), np.uint64((1 << (8 * max(k - 8, 0))) - 1))
                       for k in config.orders]
        self._shift = np.uint64(64 - config.table_bits)
        self._history = np.zeros((2, 0), dtype=np.uint64)  #: last 8 bytes, and the 8 before them
        self._rows: list[np.ndarray] = []
        self._log_count = np.log(np.arange(1 << 16, dtype=np.float64) + config.alpha).astype(np.float32)
        self._floor = np.float32(2.0**-config.floor_bits)
        self._scale = np.float32(1.0 - 256 * 2.0**-config.floor_bits)

    # -- state ----------------------------------------------------------------------------
    def begin_group(self, batch: int) -> None:
        """A new group of ``batch`` chunks: every chunk starts with an empty byte history."""
        self._history = np.zeros((2, batch), dtype=np.uint64)

    def snapshot(self) -> np.ndarray:
        return self.weights.copy()

    def restore(self, weights: np.ndarray) -> None:
        self.weights = weights.copy()

    # -- one step -------------------------------------------------------------------------
    def contexts(self, active: int) -> None:
        """Hash the contexts of the first ``active`` chunks (finished chunks drop off the end)."""
        recent, older = self._history[0, :active], self._history[1, :active]
        self._rows = [
            ((((recent & low) + np.uint64(k)) * _HASH_MULT ^ (older & high)) * _HASH_MULT) >> self._shift
            for k, (low, high) in zip(self.config.orders, self._masks)
        ]
        self._log_models = None

    def predict(self, nn_logp: np.ndarray) -> np.ndarray:
        """Mixed probabilities (active, 256) float32 from the transformer's log-probabilities."""
        cfg = self.config
        logs = [nn_logp]
        buckets = [np.minimum((-nn_logp.max(axis=1) * 4).astype(np.int64), _N_BUCKETS - 1)]
        for table, rows in zip(self.tables, self._rows):
            counts = table[rows]
            total = counts.sum(axis=1, dtype=np.int64)
            log_total = np.log(total.astype(np.float64) + 256 * cfg.alpha).astype(np.float32)
            logs.append(np.take(self._log_count, counts) - log_total[:, None])
            buckets.append(np.minimum(np.frexp(total)[1], _N_BUCKETS - 1).astype(np.int64))
        w = np.stack([self.weights[i, b] for i, b in enumerate(buckets)], axis=1)  # (active, models)
        z = logs[0] * w[:, :1]
        for i in range(1, len(logs)):
            z += logs[i] * w[:, i : i + 1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        self._log_models, self._buckets, self._mixed = logs, buckets, p
        return p * self._scale + self._floor

    def learn(self, symbols: np.ndarray) -> None:
        """Update weights (if :meth:`predict` ran this step), counts and histories with ``symbols``."""
        cfg = self.config
        active = len(symbols)
        sym = symbols.astype(np.int64)
        if self._log_models is not None:
            idx = np.arange(active)
            for i, (logp, bucket) in enumerate(zip(self._log_models, self._buckets)):
                grad = logp[idx, sym] - (self._mixed * logp).sum(axis=1)
                np.add.at(self.weights[i], bucket, np.float32(cfg.lr) * grad.astype(np.float32))
        for table, rows in zip(self.tables, self._rows):
            np.add.at(table, (rows, sym), 1)
            full = np.unique(rows[table[rows, sym] > cfg.count_limit])
            if len(full):
                table[full] >>= 1
        recent = self._history[0, :active]
        self._history[1, :active] = (self._history[1, :active] << np.uint64(8)) | (recent >> np.uint64(56))
        self._history[0, :active] = (recent << np.uint64(8)) | sym.astype(np.uint64)
