"""Adaptive context model mixed with the transformer (geometric mixing, cmix/NNCP style).

The coder advances a *group* of chunks in lockstep: at step ``t`` every active chunk codes its
byte ``t``. The :class:`ContextMixer` sees the same group: before a step it predicts, for every
active chunk, a distribution over the 256 byte values that mixes

* the transformer's log-probabilities, and
* order-``k`` byte-context counts (``k`` in :attr:`MixConfig.orders`), hashed tables SHARED by all
  chunks and all groups of the stream, updated after every step with the bytes of that step,

as ``p(b) ∝ exp(Σ_i w_i log p_i(b))`` with weights learned online (one gradient step on the log
loss per step, summed over the chunks times ``min(chunk_lr, lr / chunks)``). Each model's
weight is chosen by its own confidence bucket (count models: how often the context was seen;
transformer: its top probability), so a context seen once weighs less than one seen a thousand
times. Every symbol keeps at least
``2**-floor_bits`` of probability, so no byte costs less than ~``256 * 2**-floor_bits / ln 2``
bits: that bounds how many bytes a payload can announce (see :data:`MIN_BITS_PER_BYTE`).

Everything here is computed from bytes already coded, in a fixed order with fixed array shapes,
so encoder, decoder and the pricing pass (``size_bits``) compute identical numbers on one
machine. Table updates are integer adds, chunk by chunk in chunk order (a context's counts are
halved as soon as one passes ``count_limit``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import threading
from dataclasses import asdict, dataclass

import numpy as np

_N_BUCKETS = 16
ENGINES = ("auto", "numba", "torch")


@dataclass(frozen=True)
class MixConfig:
    """The whole recipe of the context model and mixer (part of the stream's model id)."""

    orders: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 12)
    table_bits: int = 15  #: rows of each hashed count table: 2**table_bits contexts
    alpha: float = 0.05  #: additive prior of the count estimates
    #: a context's counts are halved when one exceeds this (adaptivity); at most 2**count_bits - 2
    count_limit: int = 254
    #: mixer learning rate per step: the step's gradient is summed over its chunks and scaled by
    #: ``min(chunk_lr, lr / chunks)``, so a large group takes an AVERAGED step (the group size does
    #: not scale it) and a small one ``chunk_lr`` per chunk (chosen on licences, C headers and
    #: Spanish fortunes, 512 B to 128 KiB)
    lr: float = 0.25
    chunk_lr: float = 0.01
    nn_weight: float = 1.0  #: initial weight of the transformer
    count_weight: float = 0.2  #: initial weight of every count model
    floor_bits: int = 16  #: every symbol keeps at least 2**-floor_bits of probability
    #: bits of every count: 8 (uint8 tables, half the memory the mixer reads at every byte: its
    #: pricing lanes ~15% faster for the same bits on held-out prose) or 16 (the recipe before, see
    #: :data:`LEGACY_MIXES`)
    count_bits: int = 8
    #: how the model runs: "numba" (compiled per-chunk kernels, the CPU's), "torch" (whole-step
    #: tensor operations on the coder's device, :mod:`kcomp.lm_coder.mix_torch`: the GPU's; its own
    #: recipe) or "auto" (torch on CUDA, numba elsewhere; resolved by the coder, see :meth:`for_device`)
    engine: str = "auto"

    def __post_init__(self) -> None:
        if not self.orders or any(not 1 <= k <= 16 for k in self.orders):
            raise ValueError(f"MixConfig.orders must be 1..16, got {self.orders!r}")
        if not 8 <= self.table_bits <= 24 or not 8 <= self.floor_bits <= 20:
            raise ValueError("MixConfig: table_bits must be 8..24 and floor_bits 8..20")
        if self.count_bits not in (8, 16) or not 1 <= self.count_limit <= 2**self.count_bits - 2:
            raise ValueError(f"MixConfig: count_bits must be 8 or 16 and count_limit 1..2**count_bits - 2, "
                             f"got {self.count_bits} and {self.count_limit}")
        if self.engine not in ENGINES:
            raise ValueError(f"MixConfig: engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")

    def for_device(self, device_class: str) -> "MixConfig":
        """This recipe with its engine decided: "auto" is torch on "cuda", numba on "cpu"."""
        if self.engine != "auto":
            return self
        return dataclasses.replace(self, engine="torch" if device_class == "cuda" else "numba")

    @property
    def count_dtype(self):
        return np.uint8 if self.count_bits == 8 else np.uint16

    def to_json(self) -> str:
        """The recipe as JSON (part of the model id); 16-bit counts leave ``count_bits`` out, so the
        recipe written before the field existed keeps its text and its streams their model id (so
        does the numba engine's). An "auto" engine has no id: resolve it first (:meth:`for_device`)."""
        if self.engine == "auto":
            raise ValueError("MixConfig: resolve engine='auto' with for_device() before taking the recipe's id")
        raw = asdict(self)
        if raw["count_bits"] == 16:
            del raw["count_bits"]
        if raw["engine"] == "numba":
            del raw["engine"]
        return json.dumps(raw, sort_keys=True)

    @property
    def min_bits_per_byte(self) -> float:
        """Fewest bits any byte can cost: the top symbol has at most 1 - 255 * 2**-floor_bits."""
        return -math.log2(1.0 - 255.0 * 2.0**-self.floor_bits)


#: earlier recipes whose streams still decode (the decoder finds a stream's recipe by its model
#: id): 16-bit counts halved past 1023, the default until uint8 counts
LEGACY_MIXES = (MixConfig(count_limit=1023, count_bits=16, engine="numba"),)


def _kernels():
    """The compiled kernels (numba is imported on first use, not with kcomp)."""
    from kcomp.lm_coder import mix_kernels

    return mix_kernels


class _TablePool:
    """Zeroed count tables kept between mixers: a fresh 64 MB table costs a page fault for every
    page first written (~10 ms of a 1 KB ``size_bits``); a closed mixer zeroes only the rows it
    wrote and leaves its tables here for the next (at most two per shape, thread safe)."""

    def __init__(self, keep: int = 2) -> None:
        self._free: dict[tuple, list[np.ndarray]] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def take(self, shape: tuple, dtype) -> np.ndarray:
        with self._lock:
            free = self._free.get((shape, np.dtype(dtype)), [])
            if free:
                return free.pop()
        return np.zeros(shape, dtype=dtype)

    def give(self, tables: np.ndarray) -> None:
        with self._lock:
            free = self._free.setdefault((tables.shape, tables.dtype), [])
            if len(free) < self._keep:
                free.append(tables)


_TABLES = _TablePool()


@functools.lru_cache(maxsize=4)
def _log_counts(alpha: float) -> np.ndarray:
    """log(c + alpha) of every count c (read-only: shared by all mixers of one recipe)."""
    table = np.log(np.arange(1 << 16, dtype=np.float64) + alpha).astype(np.float32)
    table.flags.writeable = False
    return table


class ContextMixer:
    """Shared count tables + mixing weights; call :meth:`begin_group`, then per step
    :meth:`contexts`, :meth:`predict` (optional), :meth:`probs` and :meth:`learn` (numba kernels in
    :mod:`kcomp.lm_coder.mix_kernels`), or :meth:`price_group` for a whole group at once."""

    takes_tensors = False  #: predict() and price_group() take numpy arrays (see the torch engine)

    def __init__(self, config: MixConfig) -> None:
        _kernels()  # fail early when numba is missing
        self.config = config
        n_orders = len(config.orders)
        self.tables = _TABLES.take((n_orders, 1 << config.table_bits, 256), config.count_dtype)
        self._touched = np.zeros((n_orders, 1 << config.table_bits), dtype=np.bool_)  #: rows written
        self.weights = np.full((n_orders + 1, _N_BUCKETS), config.count_weight, dtype=np.float32)
        self.weights[0] = config.nn_weight
        self._orders = np.array(config.orders, dtype=np.int64)
        self._low = np.array([(1 << (8 * min(k, 8))) - 1 for k in config.orders], dtype=np.uint64)
        self._high = np.array([(1 << (8 * max(k - 8, 0))) - 1 for k in config.orders], dtype=np.uint64)
        self._shift = np.uint64(64 - config.table_bits)
        self._history = np.zeros((2, 0), dtype=np.uint64)  #: last 8 bytes, and the 8 before them
        self._log_count = _log_counts(config.alpha)
        self._floor = np.float32(2.0**-config.floor_bits)
        self._scale = np.float32(1.0 - 256 * 2.0**-config.floor_bits)
        self._predicted = False

    # -- state ----------------------------------------------------------------------------
    def begin_group(self, batch: int) -> None:
        """A new group of ``batch`` chunks: every chunk starts with an empty byte history."""
        self._history = np.zeros((2, batch), dtype=np.uint64)
        self._rows = np.zeros((len(self.config.orders), batch), dtype=np.int64)
        self._buckets = np.zeros((batch, len(self.config.orders) + 1), dtype=np.int64)
        self._expected = np.zeros((batch, len(self.config.orders) + 1), dtype=np.float32)
        self._probs = np.zeros((batch, 256), dtype=np.float32)
        self._nn_logp = np.zeros((batch, 256), dtype=np.float32)

    def close(self) -> None:
        """Done with this mixer: zero the rows it wrote and leave its tables for the next one
        (any later use of this mixer fails)."""
        if self.tables is None:
            return
        for k, rows in enumerate(self._touched):
            self.tables[k, np.flatnonzero(rows)] = 0
        _TABLES.give(self.tables)
        self.tables = None

    def fork(self) -> "ContextMixer":
        """An independent copy of this mixer's state (its tables in pooled memory: close it after
        use); only the rows this mixer wrote are copied, the others are zero in both."""
        twin = copy.copy(self)
        twin.tables = _TABLES.take(self.tables.shape, self.tables.dtype)
        for k, rows in enumerate(self._touched):
            written = np.flatnonzero(rows)
            twin.tables[k, written] = self.tables[k, written]
        for name in ("_touched", "weights", "_history"):
            setattr(twin, name, getattr(self, name).copy())
        return twin

    def snapshot(self) -> np.ndarray:
        return self.weights.copy()

    def restore(self, weights: np.ndarray) -> None:
        self.weights = weights.copy()

    # -- one step -------------------------------------------------------------------------
    def contexts(self, active: int) -> None:
        """Hash the contexts of the first ``active`` chunks (finished chunks drop off the end)."""
        _kernels().hash_contexts(self._history, active, self._orders, self._low, self._high, self._shift,
                                 self._rows)
        self._predicted = False

    def predict(self, nn_logp: np.ndarray, start: int = 0) -> None:
        """Mix the transformer's log-probabilities ``nn_logp`` (n, 256) of chunks ``start:start+n``
        (see :meth:`probs`); calls for disjoint chunks may run in parallel threads."""
        end = start + len(nn_logp)
        self._nn_logp[start:end] = nn_logp
        _kernels().predict(self.tables, self._rows[:, start:end], self._nn_logp[start:end], self.weights,
                           self._log_count, self._scale, self._floor, self._buckets[start:end],
                           self._expected[start:end], self._probs[start:end])
        self._predicted = True

    def probs(self, active: int) -> np.ndarray:
        """The step's mixed probabilities (active, 256) float32, every symbol at least the floor."""
        return self._probs[:active]

    def learn(self, symbols: np.ndarray) -> None:
        """Update weights (if :meth:`predict` ran this step), counts and histories with ``symbols``."""
        cfg = self.config
        _kernels().learn(self.tables, self._rows, np.ascontiguousarray(symbols, dtype=np.int32), self.weights,
                         self._predicted, self._nn_logp[: len(symbols)], self._log_count, self._buckets,
                         self._expected, cfg.lr, cfg.chunk_lr, cfg.count_limit, self._history, self._touched)
        self._predicted = False

    # -- a whole group --------------------------------------------------------------------
    def price_group(self, nn_logp: np.ndarray, rows: np.ndarray, lengths: list[int]) -> np.ndarray:
        """Bits (chunks, chunk) of a group's bytes ``rows`` given the transformer's time-major
        log-probabilities ``nn_logp`` (chunk, chunks, 256): the arithmetic of :meth:`predict` and
        :meth:`learn` step by step, in one compiled loop (the coder's lanes:
        :func:`kcomp.lm_coder.coder.price_in_lanes`)."""
        cfg = self.config
        self.begin_group(len(lengths))
        bits = np.zeros(rows.shape)
        _kernels().price_group(self.tables, self.weights, self._history, self._orders, self._low, self._high,
                               self._shift, np.ascontiguousarray(nn_logp, dtype=np.float32),
                               np.ascontiguousarray(rows), np.array(lengths, dtype=np.int64), self._log_count,
                               self._scale, self._floor, cfg.lr, cfg.chunk_lr, cfg.count_limit, bits, self._touched)
        return bits
