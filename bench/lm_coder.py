"""The neural coder ``lm`` (pretrained, adapt, online) against classical codecs on held-out real text.

Inputs (``--size`` bytes each, default 32 KiB), none of them seen in training:

* ``prose-gpl3``: English prose, ``/usr/share/common-licenses/GPL-3`` (never in the corpus)
* ``prose-debian``: held-out Debian descriptions (source packages with crc32(source) % 10 == 0)
* ``bible-rev``: the held-out book of Revelation (King James Bible)
* ``python``: held-out Python standard-library files (crc32(name) % 10 == 0)
* ``german``: German fortunes (Debian ``fortunes-de``, ``/usr/share/games/fortunes/de/*``; the
  model was trained on English only)

For each codec: bits/byte of the real stream, encode and decode throughput (bytes/s of original
data, one run, torch at 1 thread) and a lossless check; for ``lm`` also the fast code length
(``size_bits``, no coding). Runs on CPU, plus CUDA when ``torch.cuda.is_available()``.

    python bench/lm_coder.py [--size 32768] [--json bench/results/lm_coder.json]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import machine_info  # noqa: E402

from kcomp.compressors import get_compressor  # noqa: E402

CLASSICAL = ["gzip:9", "bz2:9", "xz:9", "zstd:19", "brotli:11"]


def inputs(size: int) -> dict[str, bytes]:
    from kcomp.lm_coder.data import load_bible, load_descriptions, load_python

    out = {}
    gpl = Path("/usr/share/common-licenses/GPL-3")
    if gpl.exists():
        out["prose-gpl3"] = gpl.read_bytes()[:size]
    out["prose-debian"] = load_descriptions().held_out[:size]
    out["bible-rev"] = load_bible().held_out[:size]
    out["python"] = load_python().held_out[:size]
    de = sorted(p for p in glob.glob("/usr/share/games/fortunes/de/*") if "." not in os.path.basename(p))
    if de:
        out["german"] = b"".join(Path(p).read_bytes() for p in de)[:size]
    else:
        print("german: skipped (apt-get install fortunes-de)", file=sys.stderr)
    return out


def measure(spec, data: bytes) -> dict:
    c = get_compressor(spec) if isinstance(spec, str) else spec
    c.compress(data[:64])  # warm up (loads weights / builds the model)
    t0 = time.perf_counter()
    stream = c.compress(data)
    t1 = time.perf_counter()
    back = c.decompress(stream)
    t2 = time.perf_counter()
    if back != data:
        raise SystemExit(f"{c.spec}: round trip FAILED")
    row = {
        "compressor": c.spec,
        "bytes": len(data),
        "stream_bytes": len(stream),
        "bits_per_byte": 8 * len(stream) / len(data),
        "encode_bytes_per_s": len(data) / (t1 - t0),
        "decode_bytes_per_s": len(data) / (t2 - t1),
    }
    if c.family == "lm":
        t3 = time.perf_counter()
        row["fast_size_bits"] = c.size_bits(data)
        row["fast_bytes_per_s"] = len(data) / (time.perf_counter() - t3)
        row["fast_bits_per_byte"] = row["fast_size_bits"] / len(data)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=32768)
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "lm_coder.json"))
    ap.add_argument("--skip-online", action="store_true", help="skip lm:adapt and lm:online (the slow ones)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    specs = list(CLASSICAL)
    for dev in devices:
        specs.append(f"lm:{dev}")
        if not args.skip_online:
            specs += [f"lm:adapt:{dev}", f"lm:online:{dev}"]
    data = inputs(args.size)
    results = []
    for name, blob in data.items():
        for spec in specs:
            row = measure(spec, blob)
            row["input"] = name
            results.append(row)
            print(f"{name:13s} {row['compressor']:15s} {row['bits_per_byte']:6.3f} bits/byte  "
                  f"enc {row['encode_bytes_per_s'] / 1e3:9.1f} kB/s  dec {row['decode_bytes_per_s'] / 1e3:9.1f} kB/s",
                  file=sys.stderr, flush=True)

    names = list(data)
    header = "| codec | " + " | ".join(names) + " | enc kB/s | dec kB/s |"
    print("\nbits/byte (real streams, headers included), median throughput over the inputs")
    print(header)
    print("|" + "---|" * (len(names) + 3))
    for spec in specs:
        rows = [r for r in results if r["compressor"] == get_compressor(spec).spec]
        by = {r["input"]: r for r in rows}
        enc = sorted(r["encode_bytes_per_s"] for r in rows)[len(rows) // 2] / 1e3
        dec = sorted(r["decode_bytes_per_s"] for r in rows)[len(rows) // 2] / 1e3
        print(f"| {spec} | " + " | ".join(f"{by[n]['bits_per_byte']:.3f}" for n in names) + f" | {enc:.1f} | {dec:.1f} |")

    from kcomp.lm_coder.weights import load_model, model_id, read_metadata, resolve_weights

    meta = read_metadata(resolve_weights(None))
    out = {
        "machine": machine_info(),
        "torch": torch.__version__,
        "torch_threads": 1,
        "devices": devices,
        "input_bytes": args.size,
        "inputs": {n: len(b) for n, b in data.items()},
        "weights": {"name": "byte-gpt-small", "model_id": model_id(load_model()).hex(), "config": json.loads(meta["config"])},
        "results": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
