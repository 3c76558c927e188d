"""The lm codec on a GPU: throughput at >= 4 MiB, bits, exact round trips, determinism and the
refusal of a cross-device decode, in one short run (device time is scarce).

Only the repository travels to a GPU machine, so the input is written here first (4 MiB of
held-out English: *Persuasion*, the GPL-3, held-out fortunes, Revelation, held-out Debian
descriptions and dictionary entries; none of it was trained on) into a git-ignored folder that
the device run carries:

    python bench/lm_cuda_check.py --write-input bench/.device/held_out.txt
    python bench/lm_cuda_check.py --input bench/.device/held_out.txt          # on the GPU machine

``scripts/device_prep.sh`` does the first, and also fetches the wheels the GPU machine lacks
(constriction, pyppmd, zstandard, brotli, lz4, ...); its header has the device command.

Rows: the default ``lm`` on CUDA (the torch mixer, 512 KiB groups) at the full size; the
compiled mixer on CUDA (``MixConfig(engine="numba")``, CPU-side mixing: the previous CUDA path)
and the default on the CPU at 512 KiB, for its bits; gzip, brotli, xz and ppmd on the full size
in the same run. Results: bench/results/lm_cuda_check.json.
``--device cpu --size 65536`` runs the same script here (a check of the script, not of a GPU).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import held_out_english, save_results, timed_call  # noqa: E402

SIZE = 4 << 20


def measure(name: str, lm, data: bytes, *, decode: bool = True) -> dict:
    """Encode (twice: determinism), decode and size_bits of ``data``: kB/s and bits/byte."""
    stream, encode_s, _ = timed_call(lm.compress, data)
    row = {"row": name, "device": lm.coder.device, "engine": lm.coder.mix.engine, "group": lm.coder.group,
           "threads": lm.coder.threads, "bytes": len(data), "bits_per_byte": 8 * len(stream) / len(data),
           "encode_kBps": len(data) / encode_s / 1e3}
    if decode:
        out, decode_s, _ = timed_call(lm.decompress, stream)
        row.update(round_trip=out == data, decode_kBps=len(data) / decode_s / 1e3,
                   deterministic=lm.compress(data) == stream)
    bits, price_s, _ = timed_call(lm.size_bits, data)
    row.update(size_bits_kBps=len(data) / price_s / 1e3, size_bits_minus_stream=(bits - 8 * len(stream)) / len(data))
    print(row, flush=True)
    return row


def classical(data: bytes) -> list[dict]:
    """gzip, brotli, xz and ppmd on ``data``: bits/byte and compress kB/s."""
    from kcomp.compressors import get_compressor

    rows = []
    for spec in ("gzip:9", "brotli:11", "xz:9", "ppmd"):
        stream, seconds, _ = timed_call(get_compressor(spec).compress, data)
        rows.append({"row": spec, "device": "cpu", "bytes": len(data), "bits_per_byte": 8 * len(stream) / len(data),
                     "encode_kBps": len(data) / seconds / 1e3})
        print(rows[-1], flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-input", metavar="FILE", help="write the held-out input here and stop")
    ap.add_argument("--input", metavar="FILE", help="the input written by --write-input")
    ap.add_argument("--size", type=int, default=SIZE, help="bytes coded by the main row (default 4 MiB)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--name", default="lm_cuda_check", help="results file bench/results/NAME.json")
    args = ap.parse_args(argv)
    if args.write_input:
        Path(args.write_input).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write_input).write_bytes(held_out_english(SIZE))
        return 0

    import torch

    from kcomp.lm_coder import DeviceMismatchError, LMCompressor
    from kcomp.lm_coder.mix import MixConfig

    data = Path(args.input).read_bytes() if args.input else held_out_english(args.size)
    data, part = data[: args.size], data[: min(args.size, 512 << 10)]
    print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
          torch.cuda.get_device_name(0) if torch.cuda.is_available() else "", flush=True)
    default = LMCompressor(device=args.device)
    default.compress(data[:20000])  # warm up: weights, kernels, numba
    rows = [measure("default", default, data),
            measure("compiled mixer", LMCompressor(device=args.device, mix=MixConfig(engine="numba")), part),
            measure("default, CPU", LMCompressor(device="cpu"), part, decode=False), *classical(data)]
    try:
        LMCompressor(device="cpu").decompress(default.compress(data[:2000]))
        refusal = "CPU decoded a stream of " + args.device
    except DeviceMismatchError as exc:
        refusal = f"refused: {exc}"
    print("cross-device decode:", refusal, flush=True)
    from kcomp.lm_coder.tensor_step import GRAPH_COUNTS

    graphs = f"CUDA graphs: {GRAPH_COUNTS['captured']} groups captured, {GRAPH_COUNTS['failed']} failed (eager)"
    print(graphs, flush=True)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    columns = ["row", "device", "engine", "group", "bytes", "bits/byte", "encode kB/s", "decode kB/s",
               "size_bits kB/s", "size_bits - stream", "round trip", "deterministic"]
    keys = ["row", "device", "engine", "group", "bytes", "bits_per_byte", "encode_kBps", "decode_kBps",
            "size_bits_kBps", "size_bits_minus_stream", "round_trip", "deterministic"]
    table = [[row.get(key, "") for key in keys] for row in rows]
    save_results(args.name, command="python bench/lm_cuda_check.py " + " ".join(argv or sys.argv[1:]),
                 tables=[{"title": f"lm on {args.device} ({gpu}, torch {torch.__version__})", "columns": columns,
                          "rows": table}],
                 notes=f"Cross-device decode: {refusal}. {graphs}.", rows=rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
