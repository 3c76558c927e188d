"""Throughput of the default ``lm`` on held-out English: encode, decode and ``size_bits``.

Input: Jane Austen's *Persuasion* (held out of training), then the GPL-3 and the held-out
fortunes to reach the larger sizes. For each size: bits/byte of the real stream, how far the
``size_bits`` estimate is from it, and kB/s per wall-clock second and per CPU second of this
process (the machine may be shared: the load average is recorded).

    python bench/lm_speed.py [--sizes 131072 524288] [--threads N] [--chunk BYTES] [--group CHUNKS] [--weights W] [--repeat N]

``--chunk``/``--group`` override the coder's defaults (ablations: the stream records both).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import held_out_english, save_results, timed_call  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[131072, 524288])
    ap.add_argument("--threads", type=int, default=None, help="lanes of chunks stepped in parallel (default: the coder's)")
    ap.add_argument("--chunk", type=int, default=None, help="bytes per chunk (default: the coder's)")
    ap.add_argument("--group", type=int, default=None, help="chunks per group (default: the coder's)")
    ap.add_argument("--weights", default=None, help="lm weights (default: the shipped default)")
    ap.add_argument("--repeat", type=int, default=1, help="fastest of this many calls per measure (short inputs)")
    ap.add_argument("--name", default="lm_speed", help="results file bench/results/NAME.json")
    args = ap.parse_args(argv)

    from kcomp.lm_coder import LMCompressor

    text = held_out_english(max(args.sizes))
    lm = LMCompressor(device="cpu", threads=args.threads, weights=args.weights)
    lm.coder.chunk = args.chunk or lm.coder.chunk
    lm.coder.group = args.group or lm.coder.group
    lm.compress(text[:64])  # loads the weights, compiles the mixer kernels
    load_before = os.getloadavg()
    rows = []
    for size in args.sizes:
        data = text[:size]
        stream, *t_enc = timed_call(lm.compress, data, repeat=args.repeat)
        back, *t_dec = timed_call(lm.decompress, stream, repeat=args.repeat)
        if back != data:
            raise SystemExit("lm: round trip FAILED")
        bits, *t_size = timed_call(lm.size_bits, data, repeat=args.repeat)
        row = [len(data), round(8 * len(stream) / len(data), 4), round((bits - 8 * len(stream)) / len(data), 5)]
        for wall, cpu in (t_enc, t_dec, t_size):
            row += [round(len(data) / wall / 1e3, 1), round(len(data) / cpu / 1e3, 1)]
        rows.append(row)
        print(" | ".join(str(x) for x in row), file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    columns = ["bytes", "bits/byte (stream)", "size_bits − stream (bits/byte)",
               "encode kB/s (wall)", "encode kB/CPU-s", "decode kB/s (wall)", "decode kB/CPU-s",
               "size_bits kB/s (wall)", "size_bits kB/CPU-s"]
    print("\n| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(x) for x in row) + " |")
    notes = (f"CPU ({os.cpu_count()} cores), {lm.coder.threads} lane(s) of chunks in parallel threads (torch at "
             f"one thread each), chunk {lm.coder.chunk}, "
             f"groups of {lm.coder.group} chunks; held-out English (Persuasion, then GPL-3 and held-out "
             f"fortunes). Load average {load_before[0]:.1f} before and {load_after[0]:.1f} after: on a "
             "shared machine wall-clock throughput is understated. kB/CPU-s counts the CPU time of all "
             "this process's threads.")
    print("\n" + notes)
    options = "".join(f" --{name} {value}" for name, value in
                      (("threads", args.threads), ("chunk", args.chunk), ("group", args.group),
                       ("weights", args.weights), ("repeat", args.repeat if args.repeat > 1 else None),
                       ("name", args.name))
                      if value and value != "lm_speed")
    save_results(args.name, command=f"python bench/lm_speed.py --sizes {' '.join(map(str, args.sizes))}{options}",
                 tables=[{"title": "lm throughput on held-out English (original bytes per second)",
                          "columns": columns, "rows": rows}],
                 notes=notes, model_id=lm.model_id, weights=str(args.weights or "shipped default"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
