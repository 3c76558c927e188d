"""The fast path of ``size_bits``: teacher-forced code lengths, without coding.

The coder steps the transformer one byte at a time (a KV cache), because the decoder has to. To
PRICE bytes no decoder is needed: batched forward passes over a whole group give the
transformer's log-probabilities of every byte at once, and the context mixer then runs over them
step by step (:meth:`~kcomp.lm_coder.mix.ContextMixer.price_group`, in the coder's lanes). On the
CPU the forward passes use a bfloat16 copy of the model (oneDNN's fused linear+GELU in the MLP)
over fixed parts of :data:`PART_CHUNKS` chunks, in parallel threads. Groups are priced one after
the other: overlapping one group's mixer with the next group's forward pass was measured slower
on 2 cores (both are memory-bound and evict each other's caches).

The numbers are an ESTIMATE of the stream's size, not bit-identical to it: the batched forward
rounds differently from the coder's steps (bf16 matmuls against fp32 ones with a bf16 cache).
Documented bound: :data:`STREAM_TOLERANCE_BITS_PER_BYTE` (+ 64 bits per group, tested); measured
on held-out English by ``bench/lm_speed.py`` (its table's "size_bits − stream" column).
The record choice (range code, PPMd or raw) is made from these bits, so near a tie it can differ
from the encoder's (by less than the tie's margin). Nothing may rely on exact equality.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: documented bound on |size_bits - 8 * len(compress)| / len(data) (bits/byte), on top of a few
#: bits per group of range-coder termination
STREAM_TOLERANCE_BITS_PER_BYTE = 0.01


#: chunks per forward pass: small passes keep their activations in the CPU's cache (32 chunks of
#: 192 bytes priced ~20% faster than halves of a 341-chunk group, measured on 2 cores; 16 and 64
#: were no faster)
PART_CHUNKS = 32


def teacher_forced_log_probs(model, rows: np.ndarray, span: int, device: str, threads: int = 1,
                             as_tensor: bool = False):
    """(span, chunks, 256) float32 log-probabilities of every byte of ``rows`` (chunks, >= span),
    time-major: the mixer reads one position of every chunk at a time, contiguously. A numpy
    array, or with ``as_tensor`` a torch tensor on ``device`` (for the torch mixer: on CUDA the
    numbers never leave the GPU).

    On the CPU the chunks are priced in fixed parts of :data:`PART_CHUNKS` by ``threads``
    parallel threads, each with one torch thread (the numbers do not depend on ``threads``)."""
    if str(device).startswith("cuda"):
        logp = _log_probs_tensor(model, rows[:, :span], device)
        return logp if as_tensor else logp.cpu().numpy()
    out = np.empty((span, len(rows), 256), dtype=np.float32)

    def price(lo: int) -> None:
        hi = min(lo + PART_CHUNKS, len(rows))
        _log_probs(model, rows[lo:hi, :span], device, out[:, lo:hi])

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(price, range(0, len(rows), PART_CHUNKS)))
    if as_tensor:
        import torch

        return torch.from_numpy(out)
    return out


def _log_probs(model, rows: np.ndarray, device: str, out: np.ndarray) -> None:
    """One batched bfloat16 forward pass over ``rows``; writes the time-major float32
    log-probabilities into ``out`` (span, len(rows), 256)."""
    import torch

    torch.from_numpy(out).copy_(_log_probs_tensor(model, rows, device))


def _log_probs_tensor(model, rows: np.ndarray, device: str):
    """One batched bfloat16 forward pass over ``rows``: the time-major float32 log-probabilities
    (span, len(rows), 256), a tensor on ``device``."""
    import torch

    from kcomp.lm_coder.model import shifted_inputs

    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    # a bfloat16 model (the pricing copy) runs as it is: autocast would only add casts around its
    # layer norms (same numbers, ~8% slower); a float32 one (lm:adapt, lm:online) is autocast
    autocast = next(model.parameters()).dtype != torch.bfloat16
    with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16, enabled=autocast):
        logits = model(torch.from_numpy(shifted_inputs(rows)).to(device))
    with torch.inference_mode():
        if not bool(torch.isfinite(logits.sum(dtype=torch.float32))):  # any inf or nan makes the sum one
            from kcomp.errors import KcompError

            raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
        # log-softmax in float32 straight from the bfloat16 logits (the caller's copy transposes)
        logp = torch.log_softmax(logits, dim=-1, dtype=torch.float32).transpose(0, 1)
    return logp if logp.device.type == "cpu" else logp.contiguous()
