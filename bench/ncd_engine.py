"""NCD engine throughput: kcomp vs npc-gzip vs a naive gzip loop, on real short texts.

The same A x B pair set (queries x references, Debian package descriptions, one per
source package) goes through:
  (i)   npc-gzip's own distance computation (KnnClassifier.predict -> distance matrix),
  (ii)  a naive loop of gzip.compress over every concatenation,
  (iii) kcomp.ncd_matrix with 1 and 2 worker processes (exact prefix reuse).
Each is timed --repeat times (best time kept, the timeit convention), peak RSS of the process
tree is sampled, and the distance matrices are checked to be identical.

    python bench/ncd_engine.py                 # 200 x 1000 pairs -> bench/results/ncd_engine.json
    python bench/ncd_engine.py --queries 500 --references 2000
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _util import PeakRSS, debian_texts, save_results  # noqa: E402
from benchmarks_doc import render_table  # noqa: E402

import kcomp  # noqa: E402


def npc_gzip_distances(A, B):
    from npc_gzip.compressors.gzip_compressor import GZipCompressor
    from npc_gzip.knn_classifier import KnnClassifier

    model = KnnClassifier(compressor=GZipCompressor(), training_inputs=list(B),
                          training_labels=list(range(len(B))), distance_metric="ncd")
    # predict() draws its training columns with np.random.choice(n, n, replace=False), i.e. a
    # random permutation even at sampling_percentage=1.0: replay the draw to undo it
    np.random.seed(0)
    perm = np.random.choice(len(B), len(B), replace=False)
    np.random.seed(0)
    distances, _, _ = model.predict(np.array(A), top_k=1)
    out = np.empty((len(A), len(B)))
    out[:, perm] = np.asarray(distances, dtype=np.float64)
    return out


def naive_gzip_loop(A, B):
    cb = [len(gzip.compress(b.encode())) for b in B]
    out = np.empty((len(A), len(B)))
    for i, a in enumerate(A):
        ab = a.encode()
        ca = len(gzip.compress(ab))
        for j, b in enumerate(B):
            cxy = len(gzip.compress(b.encode() + b" " + ab))
            out[i, j] = (cxy - min(ca, cb[j])) / max(ca, cb[j])
    return out


def tables(doc: dict) -> list[dict]:
    """The throughput table from the raw results (rendered by scripts/benchmarks_doc.py)."""
    title = (f"{doc['queries']} x {doc['references']} = {doc['pairs']:,} pairs of real texts "
             f"(mean {doc['mean_text_bytes']:.0f} bytes), gzip, best of {doc['repeat']}")
    rows = [[r["method"], round(r["pairs_per_s"]), round(r["ratio_vs_npc_gzip"], 2), round(r["seconds"], 2),
             round(r["peak_rss_mb"]), "yes" if r["identical_to_npc_gzip"] else "NO"] for r in doc["results"]]
    return [{"title": title, "columns": ["method", "pairs/s", "x npc-gzip", "seconds", "peak RSS (MB)",
                                         "matrix identical"], "rows": rows}]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--references", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    texts = debian_texts(args.queries + args.references)
    A, B = texts[: args.queries], texts[args.queries:]
    pairs = len(A) * len(B)
    mean_len = np.mean([len(t.encode()) for t in texts])
    print(f"{len(A)} queries x {len(B)} references = {pairs:,} pairs; mean text {mean_len:.0f} bytes; "
          f"best of {args.repeat}")

    methods = {
        "npc-gzip 0.1.1 (KnnClassifier.predict)": lambda: npc_gzip_distances(A, B),
        "naive gzip.compress loop": lambda: naive_gzip_loop(A, B),
        "kcomp ncd_matrix, 1 process": lambda: kcomp.ncd_matrix(A, B, "gzip", n_jobs=1, progress=False),
        "kcomp ncd_matrix, 2 processes": lambda: kcomp.ncd_matrix(A, B, "gzip", n_jobs=2, progress=False),
    }
    results, matrices = [], {}
    for name, fn in methods.items():
        best, peak = float("inf"), 0
        for _ in range(args.repeat):
            with PeakRSS() as mem:
                t = time.perf_counter()
                matrices[name] = fn()
                best = min(best, time.perf_counter() - t)
            peak = max(peak, mem.peak)
        results.append({"method": name, "seconds": best, "pairs_per_s": pairs / best, "peak_rss_mb": peak / 2**20})

    ref = matrices[next(iter(methods))]
    base = results[0]["pairs_per_s"]
    for r in results:
        r["ratio_vs_npc_gzip"] = r["pairs_per_s"] / base
        r["identical_to_npc_gzip"] = bool(np.array_equal(matrices[r["method"]], ref))

    raw = {"pairs": pairs, "queries": len(A), "references": len(B), "mean_text_bytes": float(mean_len),
           "repeat": args.repeat, "load_avg_1m_end": os.getloadavg()[0], "results": results}
    [table] = tables(raw)
    print("\n" + render_table(table))
    notes = (f"One shared 2-core machine (other jobs running: load average {raw['load_avg_1m_end']:.1f} at the "
             "end), so absolute timings are indicative; every row ran in the same process, same pairs.")
    path = save_results("ncd_engine", command=" ".join(["python bench/ncd_engine.py", *sys.argv[1:]]),
                        tables=[table], notes=notes, **raw)
    print(f"saved {path}")
    if not all(r["identical_to_npc_gzip"] for r in results):
        sys.exit("distance matrices differ")


if __name__ == "__main__":
    main()
