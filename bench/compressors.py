"""The compressor table: ratio and speed of every registered codec on real data.

Corpora: 1 MB of Debian package descriptions (English prose), 1 MB of Python standard-library
source, and 256 kB of random bytes. Speeds are MB/s of original data, best of --repeat runs.

    python bench/compressors.py [--size 1000000] [--json bench/results/compressors.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import sysconfig
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import debian_texts, machine_info  # noqa: E402

from kcomp import get_compressor, list_compressors  # noqa: E402

SPECS = ["deflate", "gzip", "bz2", "lzma", "zstd:3", "zstd:19", "zstd:19:long", "brotli:11", "lz4", "ppmd"]


def corpora(size: int) -> dict[str, bytes]:
    prose = "\n".join(debian_texts(4000)).encode()[:size]
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = b"".join(p.read_bytes() for p in sorted(stdlib.glob("*.py")))[:size]
    rand = os.urandom(size // 4)
    return {"prose (Debian descriptions)": prose, "Python source": code, "random bytes": rand}


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def tables(doc: dict) -> list[dict]:
    """One table per corpus from the raw rows (rendered by scripts/benchmarks_doc.py)."""
    rows = doc["results"]
    out = []
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        mine = [r for r in rows if r["corpus"] == corpus]
        out.append({"title": f"{corpus}, {mine[0]['bytes']:,} bytes (best of 3, one core)",
                    "columns": ["compressor", "bits/byte", "ratio", "compress MB/s", "decompress MB/s"],
                    "rows": [[f"`{r['compressor']}`", round(r["bits_per_byte"], 3), round(r["ratio"], 2),
                              round(r["compress_MBps"], 1), round(r["decompress_MBps"], 1)] for r in mine]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / "compressors.json"))
    args = ap.parse_args()
    available = set(list_compressors(available_only=True))
    specs = [s for s in SPECS if s.split(":")[0] in available]
    rows = []
    for corpus, data in corpora(args.size).items():
        for spec in specs:
            c = get_compressor(spec)
            blob = c.compress(data)
            assert c.decompress(blob) == data, spec
            tc = best_time(lambda: c.compress(data), args.repeat)
            td = best_time(lambda: c.decompress(blob), args.repeat)
            rows.append({"corpus": corpus, "compressor": c.spec, "bytes": len(data), "compressed": len(blob),
                         "bits_per_byte": 8 * len(blob) / len(data), "ratio": len(data) / len(blob),
                         "compress_MBps": len(data) / tc / 1e6, "decompress_MBps": len(data) / td / 1e6})
    for corpus in dict.fromkeys(r["corpus"] for r in rows):
        print(f"\n{corpus}, {rows[[r['corpus'] for r in rows].index(corpus)]['bytes']:,} bytes\n")
        print("| compressor | bits/byte | ratio | compress MB/s | decompress MB/s |")
        print("|---|---:|---:|---:|---:|")
        for r in (r for r in rows if r["corpus"] == corpus):
            print(f"| {r['compressor']} | {r['bits_per_byte']:.3f} | {r['ratio']:.2f} | "
                  f"{r['compress_MBps']:.1f} | {r['decompress_MBps']:.1f} |")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": machine_info(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
