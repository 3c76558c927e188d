"""The context model of ``MixConfig(engine="torch")``: :class:`~kcomp.lm_coder.mix.ContextMixer`'s
model as a fixed sequence of tensor operations over a whole step, for a GPU.

On the CPU the compiled kernels (:mod:`kcomp.lm_coder.mix_kernels`) walk the chunks of a step
one by one. On a GPU that loop would cost a transfer of the transformer's log-probabilities at
every step and a CPU core per ~250 kB/s; here the whole step is ~70 tensor operations on the
device, whatever the number of chunks, and one transfer leaves it (the mixed probabilities, for
the range coder). Groups on CUDA are therefore large (see ``coder.TENSOR_GROUP_BYTES``).

The model is the same: the same hashed contexts (bit for bit), counts with the additive prior,
confidence buckets, geometric mixing with weights learned by one averaged gradient step per
step, and the probability floor. Two things differ, so it is its own recipe (its own model id):
the counts are int16 and a step's bytes are added all at once (a row that then passes
``count_limit`` is halved once; the compiled kernels add and halve chunk by chunk), and the
gradient is summed in float32. Every operation is deterministic on one device (integer adds,
fixed-shape reductions), so encoder and decoder on one machine compute the same bits.
"""

from __future__ import annotations

import numpy as np

from kcomp.errors import KcompError
from kcomp.lm_coder.mix import MixConfig, _log_counts
from kcomp.lm_coder.mix_kernels import HASH_MULT, N_BUCKETS


def _signed(value: int) -> int:
    """A 64-bit pattern as the int64 torch stores it (two's complement)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


class TorchMixer:
    """Count tables and mixing weights on a torch device; the interface of
    :class:`~kcomp.lm_coder.mix.ContextMixer`, with the transformer's log-probabilities given as
    tensors on that device (:attr:`takes_tensors`)."""

    takes_tensors = True  #: predict() and price_group() take device tensors, not numpy arrays

    def __init__(self, config: MixConfig, device) -> None:
        import torch

        self.config = config
        self.device = torch.device(device)
        n_orders, rows = len(config.orders), 1 << config.table_bits
        on = {"device": self.device}
        #: (orders * rows, 256) int16 counts: order k's row r is row k * rows + r
        self.tables = torch.zeros((n_orders * rows, 256), dtype=torch.int16, **on)
        self.weights = torch.full((n_orders + 1, N_BUCKETS), config.count_weight, dtype=torch.float32, **on)
        self.weights[0] = config.nn_weight
        self._orders = torch.tensor(config.orders, dtype=torch.int64, **on).view(-1, 1)
        self._low = torch.tensor([_signed((1 << (8 * min(k, 8))) - 1) for k in config.orders], **on).view(-1, 1)
        self._high = torch.tensor([_signed((1 << (8 * max(k - 8, 0))) - 1) for k in config.orders], **on).view(-1, 1)
        self._offsets = torch.arange(n_orders, dtype=torch.int64, **on).view(-1, 1) * rows
        self._mult, self._shift, self._row_mask = _signed(int(HASH_MULT)), 64 - config.table_bits, rows - 1
        log_count = torch.from_numpy(_log_counts(config.alpha).copy()).to(self.device)
        self._log_d = log_count - log_count[0]  #: log(c + alpha) - log(alpha) of every count c
        self._powers = 2 ** torch.arange(N_BUCKETS - 1, dtype=torch.int32, **on)  #: bucket = bit length
        self._bucket_ids = torch.arange(N_BUCKETS, **on)
        self._floor = 2.0**-config.floor_bits
        self._scale = 1.0 - 256 * 2.0**-config.floor_bits
        self._history = torch.zeros((2, 0), dtype=torch.int64, **on)
        self._predicted = False

    # -- state ----------------------------------------------------------------------------
    def begin_group(self, batch: int) -> None:
        """A new group of ``batch`` chunks: every chunk starts with an empty byte history."""
        import torch

        on = {"device": self.device}
        models = len(self.config.orders) + 1
        self._history = torch.zeros((2, batch), dtype=torch.int64, **on)
        self._rows = torch.zeros((models - 1, batch), dtype=torch.int64, **on)
        self._buckets = torch.zeros((models, batch), dtype=torch.int64, **on)
        self._expected = torch.zeros((models, batch), dtype=torch.float32, **on)
        self._nn_logp = torch.zeros((batch, 256), dtype=torch.float32, **on)
        self._probs = torch.zeros((batch, 256), dtype=torch.float32, **on)
        #: where probs() lands on the host: page-locked on CUDA (a faster copy), else a copy
        pinned = self.device.type == "cuda"
        self._host = torch.empty((batch, 256), dtype=torch.float32, pin_memory=pinned) if pinned else None

    def close(self) -> None:
        """Done with this mixer (its tables are freed; any later use fails)."""
        self.tables = None

    def fork(self) -> "TorchMixer":
        """An independent copy of this mixer's state."""
        import copy

        twin = copy.copy(self)
        for name in ("tables", "weights", "_history"):
            setattr(twin, name, getattr(self, name).clone())
        return twin

    def snapshot(self):
        return self.weights.clone()

    def restore(self, weights) -> None:
        self.weights.copy_(weights)  # in place: a captured CUDA graph keeps reading this tensor

    # -- one step -------------------------------------------------------------------------
    def contexts(self, active: int) -> None:
        """Hash the contexts of the first ``active`` chunks (the compiled kernel's hash, in int64
        arithmetic that wraps as uint64 does; the logical shift is an arithmetic one, masked)."""
        recent, older = self._history[0, :active], self._history[1, :active]
        h = ((recent & self._low) + self._orders) * self._mult
        h = ((h ^ (older & self._high)) * self._mult) >> self._shift
        self._rows[:, :active] = (h & self._row_mask) + self._offsets
        self._predicted = False

    def predict(self, nn_logp, start: int = 0) -> None:
        """Mix the transformer's log-probabilities ``nn_logp`` (n, 256) float32 tensor of chunks
        ``start:start+n`` (see :meth:`probs`)."""
        import torch

        end = start + len(nn_logp)
        rows = self._rows[:, start:end]
        counts = self.tables.index_select(0, rows.reshape(-1)).view(*rows.shape, 256)
        total = counts.sum(-1, dtype=torch.int32)
        logs = self._log_d[counts.long()]  # (orders, n, 256); 0 for unseen symbols and contexts
        top = nn_logp.amax(-1)
        buckets = torch.cat([(-top * 4).long().clamp_(max=N_BUCKETS - 1).view(1, -1),
                             (total.unsqueeze(-1) >= self._powers).sum(-1)])
        w = self.weights.gather(1, buckets)
        z = nn_logp * w[0].unsqueeze(-1) + (logs * w[1:].unsqueeze(-1)).sum(0)
        p = torch.softmax(z, dim=-1)
        self._probs[start:end] = p * self._scale + self._floor
        self._expected[0, start:end] = (p * nn_logp).sum(-1)
        self._expected[1:, start:end] = (p * logs).sum(-1)
        self._buckets[:, start:end] = buckets
        self._nn_logp[start:end] = nn_logp
        self._predicted = True

    def probs(self, active: int) -> np.ndarray:
        """The step's mixed probabilities (active, 256) float32 on the CPU, every symbol at least
        the floor (the step's one transfer); non-finite ones (broken weights) raise."""
        if not self._predicted:
            return np.zeros((active, 256), dtype=np.float32)
        if self._host is None:
            probs = self._probs[:active].cpu().numpy().copy()
        else:
            probs = self._host[:active].copy_(self._probs[:active]).numpy()  # valid until the next step
        if not np.isfinite(probs).all():
            raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
        return probs

    def learn(self, symbols) -> None:
        """Update weights (if :meth:`predict` ran this step), counts and histories with the step's
        ``symbols`` (numpy array or device tensor, one per active chunk)."""
        import torch

        sym = torch.as_tensor(np.ascontiguousarray(symbols, dtype=np.int64) if isinstance(symbols, np.ndarray)
                              else symbols, device=self.device).long()
        if len(sym):
            self._update(sym, None, min(self.config.chunk_lr, self.config.lr / len(sym)), self._predicted)

    def learn_masked(self, symbols, live, step_size) -> None:
        """:meth:`learn` with the shapes of the whole group (for CUDA graphs): ``symbols`` (batch,)
        int64 and ``live`` (batch,) bool device tensors (a finished chunk's byte is not learnt),
        ``step_size`` a 0-d float32 device tensor, ``min(chunk_lr, lr / live chunks)``. The step's
        :meth:`predict` must have run (no Python state decides, so a graph capture can replay it)."""
        self._update(symbols, live, step_size, True)

    def _update(self, sym, live, step_size, learn_weights: bool) -> None:
        """Weights (``learn_weights``), counts and histories of the first ``len(sym)`` chunks;
        ``live``: None (all) or a bool mask of the chunks whose byte is learnt."""
        import torch

        n = len(sym)
        rows = self._rows[:, :n]
        cells = rows * 256 + sym  # (orders, n): the coded symbol's count in each context's row
        if learn_weights:
            self._learn_weights(sym, cells, n, live, step_size)
        adds = (torch.ones(n, dtype=torch.int16, device=self.device) if live is None else live.to(torch.int16))
        self.tables.view(-1).index_put_((cells.reshape(-1),), adds.repeat(len(rows)), accumulate=True)
        touched = rows.reshape(-1)
        counts = self.tables.index_select(0, touched)
        over = counts.amax(-1, keepdim=True) > self.config.count_limit
        self.tables.index_copy_(0, touched, torch.where(over, counts >> 1, counts))
        recent, older = self._history[0, :n], self._history[1, :n]
        low56 = (1 << 56) - 1
        self._history[1, :n] = ((older & low56) << 8) | ((recent >> 56) & 0xFF)
        self._history[0, :n] = ((recent & low56) << 8) | sym
        self._predicted = False

    def _learn_weights(self, sym, cells, n: int, live, step_size) -> None:
        """One gradient step on the log loss, summed over the step's (live) chunks in float32,
        times ``step_size``; the counts are those the prediction read."""
        import torch

        own = torch.cat([self._nn_logp[:n].gather(1, sym.view(-1, 1)).view(1, -1),
                         self._log_d[self.tables.view(-1)[cells].long()]])
        gap = own - self._expected[:, :n]  # (models, n)
        if live is not None:
            gap = gap * live
        hits = self._buckets[:, :n].unsqueeze(-1) == self._bucket_ids  # (models, n, buckets)
        grad = (gap.unsqueeze(-1) * hits).sum(1)
        self.weights += step_size * grad

    # -- a whole group --------------------------------------------------------------------
    def price_group(self, nn_logp, rows: np.ndarray, lengths: list[int]) -> np.ndarray:
        """Bits (chunks, chunk) of a group's bytes ``rows`` given the transformer's time-major
        log-probabilities ``nn_logp`` (chunk, chunks, 256), a tensor on this device: the steps of
        :meth:`predict` and :meth:`learn`, with the bits kept on the device until the end."""
        import torch

        batch, span = len(lengths), max(lengths)
        self.begin_group(batch)
        data = torch.from_numpy(np.ascontiguousarray(rows[:, :span], dtype=np.int64)).to(self.device)
        bits = torch.zeros((span, batch), dtype=torch.float64, device=self.device)
        for t in range(span):
            active = batch if lengths[-1] > t else batch - 1
            self.contexts(active)
            self.predict(nn_logp[t, :active])
            symbols = data[:active, t]
            coded = self._probs[:active].gather(1, symbols.view(-1, 1)).view(-1)
            bits[t, :active] = -torch.log2(coded.double())
            self.learn(symbols)
        out = bits.T.cpu().numpy()
        if not np.isfinite(out).all():
            raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
        return out
