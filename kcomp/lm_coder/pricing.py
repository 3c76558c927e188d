"""The fast path of ``size_bits``: teacher-forced code lengths, without coding.

The coder steps the transformer one byte at a time (a KV cache), because the decoder has to. To
PRICE bytes no decoder is needed: one batched forward pass over a whole group gives the
transformer's log-probabilities of every byte at once (bfloat16 autocast: AMX on CPUs that have
it), and the context mixer then runs over them in one compiled loop
(:meth:`~kcomp.lm_coder.mix.ContextMixer.price_group`). In pretrained mode the forward pass of the
next group runs in a background thread while the mixer prices the current one.

The numbers are an ESTIMATE of the stream's size, not bit-identical to it: the batched forward
rounds differently from the coder's steps (bf16 matmuls against fp32 ones with a bf16 cache).
Documented bound: :data:`STREAM_TOLERANCE_BITS_PER_BYTE` (+ 64 bits per group, tested); measured
on held-out English (``bench/lm_speed.py``): -0.00024 bits/byte at 128 KiB, -0.00006 at 512 KiB.
The record choice (range code, PPMd or raw) is made from these bits, so near a tie it can differ
from the encoder's (by less than the tie's margin). Nothing may rely on exact equality.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: documented bound on |size_bits - 8 * len(compress)| / len(data) (bits/byte), on top of a few
#: bits per group of range-coder termination
STREAM_TOLERANCE_BITS_PER_BYTE = 0.01


def teacher_forced_log_probs(model, rows: np.ndarray, span: int, device: str, threads: int = 1) -> np.ndarray:
    """(chunks, span, 256) float32 log-probabilities of every byte of ``rows`` (chunks, >= span),
    with torch at ``threads`` threads meanwhile (its ops are large here, unlike the coder's steps)."""
    import torch
    from torch.nn import functional as F

    from kcomp.lm_coder.model import shifted_inputs

    x = shifted_inputs(rows[:, :span])
    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode(), torch.autocast(kind, dtype=torch.bfloat16):
            logits = model(torch.from_numpy(x).to(device))
        with torch.inference_mode():
            logp = F.log_softmax(logits.float(), dim=-1).cpu().numpy()
    finally:
        torch.set_num_threads(old_threads)
    if not np.isfinite(logp).all():
        from kcomp.errors import KcompError

        raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
    return logp


#: ``(rows, lengths) -> log-probabilities`` of one group (see :func:`teacher_forced_log_probs`)
LogProbFn = Callable[[np.ndarray, list], np.ndarray]


def pipelined(groups: Iterable[tuple[np.ndarray, list]], log_probs: LogProbFn, ahead: bool
              ) -> Iterator[tuple[np.ndarray, list, np.ndarray]]:
    """``(rows, lengths, log_probs)`` of every group; with ``ahead`` the next group's forward pass
    runs in a background thread while the caller consumes the current one (torch and the
    compiled mixer both release the GIL)."""
    if not ahead:
        for rows, lengths in groups:
            yield rows, lengths, log_probs(rows, lengths)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        previous = None
        for rows, lengths in groups:
            future = pool.submit(log_probs, rows, lengths)  # starts once the previous one is done
            if previous is not None:
                yield previous[0], previous[1], previous[2].result()
            previous = (rows, lengths, future)
        if previous is not None:
            yield previous[0], previous[1], previous[2].result()
