"""Scaling of the NCD engine: time vs problem size (pairs) and vs workers, local vs Dask.

Workload: ``ncd_topk`` (k=5, the kNN classifier's inner loop) of Q real Debian package
descriptions against R others, for several Q (pairs = Q x R), on

* ``processes``: the local process pool, ``n_jobs`` = 1, 2, ...
* ``dask``: a ``dask.distributed`` ``LocalCluster`` of 1, 2, ... single-threaded worker
  processes (cluster start-up is not timed; shipping the texts to the workers is).

Every run's top-k is checked to be identical to the first configuration's. Reported per run:
seconds (best of --repeat), microseconds per pair, speed-up over 1 worker of the same backend
and parallel efficiency (speed-up / workers). A least-squares line time = a + b * pairs per
configuration shows the cost is linear in pairs (R^2 and the fixed cost a).

    python bench/scale.py [--queries 40,80,160,320] [--references 800] [--workers 1,2]
                          [--compressor gzip] [--repeat 2]      # -> bench/results/scale.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from _util import debian_texts, save_results  # noqa: E402
from benchmarks_doc import render_table  # noqa: E402

from kcomp.engine import ncd_topk  # noqa: E402

K = 5


def fit_line(pairs: list[int], seconds: list[float]) -> dict:
    x, y = np.asarray(pairs, float), np.asarray(seconds, float)
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    ss_res, ss_tot = float(((y - pred) ** 2).sum()), float(((y - y.mean()) ** 2).sum())
    return {"fixed_s": float(a), "us_per_pair": float(b * 1e6), "r2": 1.0 - ss_res / ss_tot if ss_tot else 1.0}


def tables(doc: dict) -> list[dict]:
    """Time per configuration and the linear fits (rendered by scripts/benchmarks_doc.py)."""
    runs = {"title": f"ncd_topk (k={doc['k']}), {doc['compressor']}, {doc['references']} references, "
                     f"best of {doc['repeat']}",
            "columns": ["backend", "workers", "pairs", "seconds", "us/pair", "speed-up", "efficiency"],
            "rows": [[r["backend"], r["workers"], r["pairs"], round(r["seconds"], 3), round(r["us_per_pair"], 2),
                      f"{r['speedup']:.2f}x", f"{r['efficiency']:.0%}"] for r in doc["rows"]]}
    fits = {"title": "time = a + b * pairs, least squares per configuration",
            "columns": ["backend/workers", "a (s)", "b (us/pair)", "R^2"],
            "rows": [[key, round(f["fixed_s"], 3), round(f["us_per_pair"], 2), round(f["r2"], 4)]
                     for key, f in doc["linear_fits"].items()]}
    return [runs, fits]


def run_one(queries, refs, spec, backend, n_jobs, repeat):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = ncd_topk(queries, refs, K, spec, backend=backend, n_jobs=n_jobs, progress=False)
        best = min(best, time.perf_counter() - t)
    return best, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", default="40,80,160,320", help="comma-separated query counts (problem sizes)")
    ap.add_argument("--references", type=int, default=800)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--compressor", default="gzip")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-dask", action="store_true", help="local processes only")
    args = ap.parse_args(argv)

    q_sizes = [int(v) for v in args.queries.split(",")]
    workers = [int(v) for v in args.workers.split(",")]
    texts = debian_texts(max(q_sizes) + args.references)
    refs, pool = texts[:args.references], texts[args.references:]
    print(f"{len(refs)} references, queries {q_sizes}, k={K}, {args.compressor}; "
          f"mean text {np.mean([len(t.encode()) for t in texts]):.0f} bytes; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f} at start", file=sys.stderr)

    backends = [("processes", w) for w in workers]
    if not args.no_dask:
        backends += [("dask", w) for w in workers]
    rows, reference = [], {}
    for name, w in backends:
        cluster = client = None
        if name == "dask":
            import distributed

            t = time.perf_counter()
            cluster = distributed.LocalCluster(n_workers=w, threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=40)
            client = distributed.Client(cluster, set_as_default=False)
            client.wait_for_workers(w)
            print(f"dask LocalCluster of {w} worker(s) started in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        try:
            for nq in q_sizes:
                queries = pool[:nq]
                secs, (d, i) = run_one(queries, refs, args.compressor, client if client else name, w, args.repeat)
                if nq in reference:  # identical results, whatever the backend and worker count
                    assert np.array_equal(reference[nq][0], d) and np.array_equal(reference[nq][1], i), (name, w, nq)
                else:
                    reference[nq] = (d, i)
                pairs = nq * len(refs)
                rows.append({"backend": name, "workers": w, "queries": nq, "references": len(refs), "pairs": pairs,
                             "seconds": secs, "us_per_pair": secs / pairs * 1e6, "load_avg_1m": os.getloadavg()[0]})
                print(f"  {name:9s} workers={w} pairs={pairs:7d}  {secs:7.3f}s  {secs / pairs * 1e6:6.2f} us/pair",
                      file=sys.stderr)
        finally:
            if client is not None:
                import logging

                logging.getLogger("distributed").setLevel(logging.CRITICAL)  # shutdown chatter
                client.close()
                cluster.close()
                logging.getLogger("distributed").setLevel(logging.WARNING)

    # speed-up and efficiency against 1 worker of the same backend, same size
    base = {(r["backend"], r["pairs"]): r["seconds"] for r in rows if r["workers"] == min(workers)}
    for r in rows:
        sp = base[(r["backend"], r["pairs"])] / r["seconds"] * min(workers)
        r["speedup"] = sp
        r["efficiency"] = sp / r["workers"]
    fits = {}
    for name, w in backends:
        sel = [r for r in rows if r["backend"] == name and r["workers"] == w]
        fits[f"{name}/{w}"] = fit_line([r["pairs"] for r in sel], [r["seconds"] for r in sel])

    raw = {
        "compressor": args.compressor, "k": K, "references": len(refs), "queries": q_sizes, "repeat": args.repeat,
        "data": "Debian package descriptions (shared/data/debian-descriptions.jsonl.gz), one per source package",
        "load_avg_1m_end": os.getloadavg()[0], "rows": rows, "linear_fits": fits,
        "identical_results_across_backends": True,
    }
    notes = (f"One shared {os.cpu_count()}-CPU machine (load average {raw['load_avg_1m_end']:.1f} at the end: other "
             "jobs were running), so timings are indicative. Every configuration's top-k was identical.")
    command = " ".join(["python bench/scale.py", *(argv if argv is not None else sys.argv[1:])])
    path = save_results("scale", command=command, tables=tables(raw), notes=notes, **raw)
    print("\n\n".join(render_table(t) for t in tables(raw)))
    print(f"\nsaved {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
