"""What the GPU's geometry costs in bits: the torch mixer and larger groups, priced on the CPU.

On CUDA ``lm`` mixes with the torch mixer (``MixConfig(engine="torch")``) over groups of
512 KiB (2,731 chunks stepped together), where the CPU's compiled mixer steps groups of 64 KiB
(342 chunks). A chunk only learns from the bytes of other chunks coded at EARLIER steps, so
larger groups cost bits. This prices 512 KiB of held-out English and of held-out Python (the
bytes the range coder would be given, ``payload_bits``, PPMd fallback off) both ways and with
the groups in between. CPU seconds are shown but say nothing of a GPU (bench/lm_cuda_check.py).

    python bench/lm_torch_mixer.py [--size BYTES]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import held_out_english, save_results  # noqa: E402

ROWS = [("numba", 342), ("torch", 342), ("torch", 1024), ("torch", 2731)]  #: (engine, chunks a group)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512 << 10)
    args = ap.parse_args(argv)

    from kcomp.lm_coder import LMCompressor
    from kcomp.lm_coder.coder import LMCoder
    from kcomp.lm_coder.data import load_python
    from kcomp.lm_coder.mix import MixConfig

    inputs = {"held-out English": held_out_english(args.size), "held-out Python": load_python().held_out[: args.size]}
    model = LMCompressor(device="cpu").coder.model
    rows = []
    for name, data in inputs.items():
        baseline = None
        for engine, group in ROWS:
            coder = LMCoder(model, mix=MixConfig(engine=engine), device="cpu", ppmd_fallback=False)
            coder.group = group  # pricing only: 2,731 chunks is a CUDA stream's group, over a CPU stream's limit
            t0 = time.perf_counter()
            bits = coder.payload_bits(data) / len(data)
            seconds = time.perf_counter() - t0
            baseline = baseline or bits
            rows.append([name, len(data), engine, group, group * coder.chunk, round(bits, 4),
                         f"{100 * (bits / baseline - 1):+.2f}%", round(seconds, 1)])
            print(rows[-1], flush=True)
    columns = ["input", "bytes", "mixer", "chunks a group", "group bytes", "bits/byte", "vs compiled, 342",
               "CPU s"]
    save_results("lm_torch_mixer", command="python bench/lm_torch_mixer.py " + " ".join(argv or sys.argv[1:]),
                 tables=[{"title": "bits of the GPU geometry (priced on the CPU)", "columns": columns, "rows": rows}],
                 notes="The CUDA default is the torch mixer with 2,731 chunks a group (512 KiB); the CPU "
                       "default is the compiled mixer with 342 (64 KiB).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
