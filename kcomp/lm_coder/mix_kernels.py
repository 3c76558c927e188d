"""Compiled (numba) kernels of :class:`~kcomp.lm_coder.mix.ContextMixer`: one step of the
context model for a whole group of chunks, and a whole group's pricing loop.

Loops run chunk by chunk in a fixed order. :func:`predict` is compiled with fast math (its sums
over the 256 symbols are vectorized, in an order fixed by the compiled code): one machine with
one numba version computes the same bits every time (encoder and decoder share these functions);
another CPU may round differently, which the stream's CRC reports, as it does for torch.
Shapes: ``K`` count orders, ``M = K + 1`` mixed models (the transformer first), ``B`` chunks.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

N_BUCKETS = 16
HASH_MULT = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, nogil=True)
def hash_contexts(history, active, orders, low_masks, high_masks, shift, rows):
    """rows[k, b]: table row of order ``orders[k]``'s context of chunk ``b`` (< ``active``)."""
    for k in range(orders.shape[0]):
        order = np.uint64(orders[k])
        for b in range(active):
            h = ((history[0, b] & low_masks[k]) + order) * HASH_MULT
            rows[k, b] = np.int64(((h ^ (history[1, b] & high_masks[k])) * HASH_MULT) >> shift)


@njit(cache=True, nogil=True)
def _bit_length(n):
    length = 0
    while n > 0:
        n >>= 1
        length += 1
    return length


@njit(cache=True, nogil=True, fastmath=True)
def predict(tables, rows, nn_logp, weights, log_count, scale, floor, buckets, expected, probs):
    """Mixed, floored probabilities ``probs`` (active, 256) float32 of every active chunk.

    A count model's log-probabilities are ``log(c_s + alpha) - log(total + 256 alpha)``; the
    second term is the same for every symbol, so it changes neither the mixture nor the weights'
    gradient and is left out: ``d_s = log(c_s + alpha) - log(alpha)`` (0 for unseen symbols, and
    an unseen context contributes nothing). Also keeps, for :func:`learn`, each model's
    confidence bucket and its expected ``d`` under the mixture (``expected``).
    """
    n_orders = tables.shape[0]
    logs = np.empty((n_orders + 1, 256), dtype=np.float32)
    z = np.empty(256, dtype=np.float32)
    seen = np.empty(n_orders + 1, dtype=np.bool_)
    for b in range(nn_logp.shape[0]):
        top = nn_logp[b, 0]
        for s in range(256):
            top = max(top, nn_logp[b, s])
        buckets[b, 0] = min(np.int64(-top * np.float32(4.0)), N_BUCKETS - 1)
        w = weights[0, buckets[b, 0]]
        for s in range(256):
            logs[0, s] = nn_logp[b, s]
            z[s] = nn_logp[b, s] * w
        seen[0] = True
        for k in range(n_orders):
            counts = tables[k, rows[k, b]]
            total = 0
            for s in range(256):
                total += np.int32(counts[s])
            buckets[b, k + 1] = min(_bit_length(total), N_BUCKETS - 1)
            seen[k + 1] = total > 0
            if total > 0:
                w = weights[k + 1, buckets[b, k + 1]]
                for s in range(256):
                    logs[k + 1, s] = log_count[counts[s]] - log_count[0]
                    z[s] += logs[k + 1, s] * w
        zmax = z.max()
        norm = np.float32(0.0)
        for s in range(256):
            z[s] = np.float32(math.exp(z[s] - zmax))
            norm += z[s]
        for s in range(256):
            z[s] = z[s] / norm
            probs[b, s] = z[s] * scale + floor
        for i in range(n_orders + 1):
            acc = np.float32(0.0)
            if seen[i]:
                for s in range(256):
                    acc += z[s] * logs[i, s]
            expected[b, i] = acc


@njit(cache=True, nogil=True)
def learn(tables, rows, symbols, weights, predicted, nn_logp, log_count, buckets, expected, lr, chunk_lr,
          count_limit, history, touched):
    """One step's update with the coded ``symbols`` (active,): the mixing weights (when
    ``predicted``: a gradient step on the log loss summed over the chunks, times
    ``min(chunk_lr, lr / chunks)``: an average over the chunks of a large step), then the counts
    chunk by chunk (a row is halved when a count passes ``count_limit``; ``touched[k, row]``
    records every row written), then the histories."""
    active = symbols.shape[0]
    n_orders = tables.shape[0]
    if predicted and active > 0:
        grad = np.zeros((n_orders + 1, N_BUCKETS), dtype=np.float64)
        for b in range(active):
            sym = symbols[b]
            grad[0, buckets[b, 0]] += nn_logp[b, sym] - expected[b, 0]
            for k in range(n_orders):
                own = log_count[tables[k, rows[k, b], sym]] - log_count[0]
                grad[k + 1, buckets[b, k + 1]] += own - expected[b, k + 1]
        step = min(chunk_lr, lr / active)
        for i in range(n_orders + 1):
            for j in range(N_BUCKETS):
                weights[i, j] += np.float32(step * grad[i, j])
    for b in range(active):
        sym = symbols[b]
        for k in range(n_orders):
            row = rows[k, b]
            touched[k, row] = True
            tables[k, row, sym] += 1
            if tables[k, row, sym] > count_limit:
                for s in range(256):
                    tables[k, row, s] >>= 1
        recent = history[0, b]
        history[1, b] = (history[1, b] << np.uint64(8)) | (recent >> np.uint64(56))
        history[0, b] = (recent << np.uint64(8)) | np.uint64(sym)


@njit(cache=True, nogil=True)
def price_group(tables, weights, history, orders, low_masks, high_masks, shift, nn_logp, data, lengths,
                log_count, scale, floor, lr, chunk_lr, count_limit, bits, touched):
    """Run a whole group through the mixer: ``nn_logp`` (T, B, 256), time-major, are the
    transformer's log-probabilities of the bytes ``data`` (B, T); ``bits[b, t]`` gets -log2 of the coded
    probability. The arithmetic of :func:`predict` + :func:`learn` step by step (compiled as one
    loop, it may round the last float bits differently from the separate calls: pricing only)."""
    batch, span = data.shape
    n_models = orders.shape[0] + 1
    rows = np.empty((orders.shape[0], batch), dtype=np.int64)
    buckets = np.empty((batch, n_models), dtype=np.int64)
    expected = np.empty((batch, n_models), dtype=np.float32)
    probs = np.empty((batch, 256), dtype=np.float32)
    symbols = np.empty(batch, dtype=np.int32)
    for t in range(span):
        active = batch if lengths[batch - 1] > t else batch - 1
        step_logp = nn_logp[t, :active]
        hash_contexts(history, active, orders, low_masks, high_masks, shift, rows)
        predict(tables, rows, step_logp, weights, log_count, scale, floor, buckets, expected, probs)
        for b in range(active):
            symbols[b] = data[b, t]
            bits[b, t] = -math.log2(np.float64(probs[b, symbols[b]]))
        learn(tables, rows, symbols[:active], weights, True, step_logp, log_count, buckets, expected, lr,
              chunk_lr, count_limit, history, touched)
