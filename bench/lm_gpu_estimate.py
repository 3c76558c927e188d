"""What a GPU step of ``lm`` leaves to the host, measured on this CPU: the inputs of the estimate
of the CUDA path's speed in kcomp/lm_coder/README.md (no GPU measures it here).

1. The host's share of one step of a CUDA group (2,731 chunks): pricing the step's bytes, range
   coding (or decoding) them with constriction and setting the next step's bytes, exactly as
   ``tensor_step.run_tensor_group`` does between two graph replays (random probabilities: the
   coder's cost does not depend on them).
2. The operations one step of the torch mixer's loop dispatches (model step and mixer), counted
   with torch's profiler on the CPU; without a CUDA graph each is a launch, with one the whole
   step is one replay.

    python bench/lm_gpu_estimate.py
"""

from __future__ import annotations

import collections
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import held_out_english, save_results  # noqa: E402

BATCH, SPAN = 2731, 192  #: a CUDA group: 512 KiB in chunks of 192 bytes
#: torch ops that only make views or empty buffers (no kernel of their own)
VIEWS = {"aten::view", "aten::slice", "aten::reshape", "aten::transpose", "aten::unsqueeze", "aten::select",
         "aten::alias", "aten::split", "aten::split_with_sizes", "aten::detach", "aten::expand", "aten::as_strided",
         "aten::lift_fresh", "aten::t", "aten::_reshape_alias", "aten::resolve_conj", "aten::resolve_neg",
         "aten::numpy_T", "aten::empty", "aten::empty_like"}


def host_share() -> tuple[float, float]:
    """Milliseconds of host work per step to encode and to decode a CUDA group's step."""
    import constriction

    from kcomp.lm_coder.coder import _family, price_step
    from kcomp.lm_coder.tensor_step import _StepInputs

    rng = np.random.default_rng(0)
    probs = rng.random((BATCH, 256)).astype(np.float32) ** 8
    probs = probs / probs.sum(1, keepdims=True) * (1 - 256 * 2.0**-16) + 2.0**-16
    rows = rng.integers(0, 256, (BATCH, SPAN)).astype(np.uint8)
    price, family, inputs = price_step(rows, np.zeros(rows.shape)), _family(), _StepInputs(BATCH, "cpu")
    encoder = constriction.stream.queue.RangeEncoder()
    t0 = time.perf_counter()
    for t in range(SPAN):
        symbols = price(t, probs)
        encoder.encode(symbols, family, probs)
        inputs.set(symbols, BATCH, 0.001)
    encode = (time.perf_counter() - t0) / SPAN
    decoder = constriction.stream.queue.RangeDecoder(encoder.get_compressed())
    t0 = time.perf_counter()
    for t in range(SPAN):
        symbols = np.asarray(decoder.decode(family, probs), dtype=np.int32)
        rows[:, t] = symbols
        inputs.set(symbols, BATCH, 0.001)
    decode = (time.perf_counter() - t0) / SPAN
    return 1e3 * encode, 1e3 * decode


def operations_per_step() -> tuple[float, float, collections.Counter]:
    """Top-level torch ops per step of the torch mixer's coding loop, all and without views."""
    from torch.profiler import ProfilerActivity, profile

    from kcomp.lm_coder import LMCompressor
    from kcomp.lm_coder.mix import MixConfig

    lm = LMCompressor(device="cpu", mix=MixConfig(engine="torch"))
    lm.coder.group = 64  # one group of 64 full chunks: 192 steps
    text = held_out_english(64 * lm.coder.chunk)
    lm.compress(text)  # warm up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        lm.compress(text)
    top = [e.name for e in prof.events() if e.cpu_parent is None and e.name.startswith("aten::")]
    kernels = collections.Counter(name for name in top if name not in VIEWS)
    return len(top) / SPAN, sum(kernels.values()) / SPAN, kernels


def main(argv=None) -> int:
    encode_ms, decode_ms = host_share()
    print(f"host share of a step of {BATCH} chunks: encode {encode_ms:.3f} ms, decode {decode_ms:.3f} ms", flush=True)
    ops, kernels, counts = operations_per_step()
    print(f"torch ops per step: {ops:.0f}, without views {kernels:.0f}", flush=True)
    rows = [["host share of a step, encode (ms)", round(encode_ms, 3)],
            ["host share of a step, decode (ms)", round(decode_ms, 3)],
            ["bytes a second the host alone allows, decode (MB/s)", round(BATCH / decode_ms / 1e3, 2)],
            ["torch ops dispatched per step (eager)", round(ops)],
            ["of which not views (kernels on a GPU)", round(kernels)]]
    save_results("lm_gpu_estimate", command="python bench/lm_gpu_estimate.py",
                 tables=[{"title": f"a CUDA step's host side, measured on this CPU ({BATCH} chunks)",
                          "columns": ["measure", "value"], "rows": rows}],
                 notes="Inputs of the GPU speed estimate in kcomp/lm_coder/README.md; no GPU measured here.",
                 op_counts=dict(counts.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
