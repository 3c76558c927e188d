"""The coding loop of the torch mixer (:mod:`kcomp.lm_coder.mix_torch`): one lane, every step with
the same shapes, so that on CUDA the steps replay one captured CUDA graph.

A step of a group is: learn the previous step's bytes (mixer weights, counts, histories), hash
the contexts, step the transformer (a :class:`~kcomp.lm_coder.model.StaticKVCache`: the whole
cache, later positions masked), mix. Every tensor it touches keeps its address and shape for the
whole group; what changes from step to step lives in device tensors set before the step: the
previous bytes, the position, which chunks are still coding (the short last chunk of a group
ends early: its later outputs are unused and its bytes are not learnt) and the mixer's step size.
So the launches of one step can be captured once per group and replayed (CUDA graphs: one
launch instead of ~220, the GPU's bottleneck at these sizes); elsewhere, or if capture fails,
the same operations run eagerly. A replay runs the kernels the eager step runs, and encoder and
decoder take the same path, so both see the same numbers; the stream's CRC checks it.
"""

from __future__ import annotations

import collections
import dataclasses
import logging

import numpy as np

#: steps run eagerly before a group's graph is captured (lazy initialisation happens in them)
WARMUP_STEPS = 2
#: groups whose steps were captured as a CUDA graph ("captured") or ran eagerly after a failed
#: capture ("failed"), in this process (``bench/lm_cuda_check.py`` reports them)
GRAPH_COUNTS: collections.Counter = collections.Counter()
_log = logging.getLogger(__name__)


class _StepInputs:
    """The device tensors a step reads, for a group of ``batch`` chunks."""

    def __init__(self, batch: int, device) -> None:
        import torch

        from kcomp.lm_coder.model import BOS

        self.tokens = torch.full((batch,), BOS, dtype=torch.int64, device=device)  #: the previous bytes
        self.live = torch.ones(batch, dtype=torch.bool, device=device)  #: chunks that coded them
        self.step_size = torch.zeros((), dtype=torch.float32, device=device)
        self._host = np.zeros(batch, dtype=np.int64)
        self._live, self._step_size = batch, 0.0  #: what the device tensors hold (no reads back)

    def set(self, symbols: np.ndarray, live: int, step_size: float) -> None:
        """The bytes the first ``live`` chunks coded at the previous step, and the mixer's step."""
        import torch

        self._host[: len(symbols)] = symbols
        self.tokens.copy_(torch.from_numpy(self._host))
        if live != self._live:
            self.live[live:] = False
            self._live = live
        if step_size != self._step_size:
            self.step_size.fill_(step_size)
            self._step_size = step_size


def run_tensor_group(model, mixer, lengths: list[int], device: str, step) -> None:
    """Code one group (``lengths`` of its chunks, only the last may be shorter) with the torch
    mixer: ``step(t, probs)`` codes position ``t`` of the active chunks (see
    :data:`kcomp.lm_coder.coder.StepFn`)."""
    import torch

    from kcomp.lm_coder.coder import KV_DTYPE_NAME
    from kcomp.lm_coder.model import StaticKVCache

    batch, span = len(lengths), max(lengths)
    config = dataclasses.replace(model.config, block_size=span)
    cache = StaticKVCache(config, batch, device, getattr(torch, KV_DTYPE_NAME))
    inputs = _StepInputs(batch, device)
    mixer.begin_group(batch)

    def one_step(learn: bool) -> None:
        if learn:
            mixer.learn_masked(inputs.tokens, inputs.live, inputs.step_size)
        mixer.contexts(batch)
        mixer.predict(torch.log_softmax(model.step(inputs.tokens, cache).float(), dim=-1))

    cuda, graph = str(device).startswith("cuda"), None
    for t in range(span):
        cache.position.fill_(t)
        if cuda and t == WARMUP_STEPS + 1:
            graph = _captured(one_step)  # tried once a group
        if graph is not None:
            graph.replay()
        elif cuda and 0 < t <= WARMUP_STEPS:
            _on_side_stream(one_step)
        else:
            one_step(t > 0)
        active = batch if lengths[-1] > t else batch - 1
        symbols = step(t, mixer.probs(active))
        inputs.set(symbols, active, min(mixer.config.chunk_lr, mixer.config.lr / active))
    mixer.learn_masked(inputs.tokens, inputs.live, inputs.step_size)


def _on_side_stream(one_step) -> None:
    """A warm-up step on a side stream, as CUDA graph capture wants (lazy initialisation, such as
    cuBLAS workspaces, happens outside the capture); the current stream waits for it."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        one_step(True)
    torch.cuda.current_stream().wait_stream(side)


def _captured(one_step):
    """A CUDA graph of ``one_step(True)`` (captured, not run), or None where capture fails (the
    step then runs eagerly: the same operations, so the same numbers)."""
    import torch

    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            one_step(True)
    except RuntimeError as exc:
        torch.cuda.synchronize()
        if not GRAPH_COUNTS["failed"]:
            _log.warning("lm: CUDA graph capture failed, the steps run eagerly (same numbers, slower): %s", exc)
        GRAPH_COUNTS["failed"] += 1
        return None
    GRAPH_COUNTS["captured"] += 1
    return graph
