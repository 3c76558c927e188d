"""When does pricing C(prefix + s) from a copy of the zlib state beat compressing again?

For prefixes of growing length (real Debian descriptions joined), prices 200 real suffixes
three ways and checks they agree exactly:
  direct      len(zlib.compress(prefix + s, 9, -15)) for each s,
  full copy   compressobj(9, DEFLATED, -15) fed the prefix once, then .copy() per suffix,
  kcomp       get_compressor("deflate").joint_size_bits(prefix, suffixes) (picks one of the two).
Also the small-window state (wbits 10, memLevel 4), exact only for joints under 762 bytes,
on suffixes short enough for it. Prints microseconds per pair (best of --repeat).

    python bench/prefix_reuse.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import debian_texts, machine_info  # noqa: E402

from kcomp import get_compressor  # noqa: E402


def best(fn, repeat):
    t, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def direct(prefix, suffixes, wbits=-15):
    return [len(zlib.compress(prefix + s, 9, wbits)) for s in suffixes]


def copied(prefix, suffixes, wbits=-15, mem_level=8):
    base = zlib.compressobj(9, zlib.DEFLATED, wbits, mem_level)
    head = len(base.compress(prefix))
    out = []
    for s in suffixes:
        c = base.copy()
        out.append(head + len(c.compress(s)) + len(c.flush()))
    return out


def tables(doc: dict) -> list[dict]:
    """The timing table from the raw rows (rendered by scripts/benchmarks_doc.py)."""
    rows = [[r["prefix_bytes"], round(r["direct_us"], 1), round(r["copy_us"], 1), round(r["kcomp_us"], 1),
             f"{r['direct_us'] / r['copy_us']:.2f}x"] for r in doc["rows"]]
    sw = doc["small_window"]
    return [{"title": "C(prefix + s) for 200 real suffixes, us per pair (best of runs)",
             "columns": ["prefix bytes", "direct", "state copy", "kcomp (chooses)", "copy speed-up"], "rows": rows},
            {"title": f"small-window state (exact only under 762 B): {sw['prefix_bytes']} B prefix, "
                      f"{sw['suffix_bytes']} B suffixes",
             "columns": ["direct us/pair", "small-window copy us/pair"],
             "rows": [[round(sw["direct_us"], 2), round(sw["small_window_copy_us"], 2)]]}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", default=str(Path(__file__).parent / "results" / "prefix_reuse.json"))
    args = ap.parse_args()
    texts = [t.encode() for t in debian_texts(1000)]
    corpus = b" ".join(texts[200:])
    suffixes = texts[:200]
    deflate = get_compressor("deflate")
    rows = []
    print("| prefix bytes | direct us/pair | full-state copy us/pair | kcomp joint_size_bits us/pair | copy speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for n in (256, 1024, 2048, 4096, 8192, 32768):
        prefix = corpus[-n:]
        td, a = best(lambda: direct(prefix, suffixes), args.repeat)
        tc, b = best(lambda: copied(prefix, suffixes), args.repeat)
        tk, c = best(lambda: deflate.joint_size_bits(prefix, suffixes), args.repeat)
        assert a == b == [int(v) // 8 for v in c], "sizes differ"
        per = 1e6 / len(suffixes)
        rows.append({"prefix_bytes": n, "direct_us": td * per, "copy_us": tc * per, "kcomp_us": tk * per})
        print(f"| {n:,} | {td * per:.1f} | {tc * per:.1f} | {tk * per:.1f} | {td / tc:.2f}x |")
    short = [s[:200] for s in suffixes]
    prefix = corpus[-300:]
    td, a = best(lambda: direct(prefix, short), args.repeat)
    ts, b = best(lambda: copied(prefix, short, wbits=-10, mem_level=4), args.repeat)
    assert a == b, "small-window sizes differ under 762 bytes"
    small = {"prefix_bytes": 300, "suffix_bytes": 200, "direct_us": td * 1e6 / len(short),
             "small_window_copy_us": ts * 1e6 / len(short)}
    print(f"\nsmall-window state (wbits 10, memLevel 4; exact under 762 B), 300 B prefix + 200 B suffixes: "
          f"direct {small['direct_us']:.1f} us/pair, small-window copy {small['small_window_copy_us']:.1f} us/pair")
    Path(args.json).write_text(json.dumps({"machine": machine_info(), "rows": rows, "small_window": small}, indent=2))


if __name__ == "__main__":
    main()
