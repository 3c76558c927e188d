"""Speed and peak memory of the default ``kcomp score`` on the Debian descriptions: 5k, 20k and
all 63,440 rows (the first N rows of the file), each run in a fresh process.

Peak RSS is sampled every 10 ms over the whole process tree (the CLI and its worker processes,
summed). The machine has 2 cores shared with other jobs: wall times may be inflated by load;
the load average before each run is recorded.

    PYTHONPATH=$PWD python bench/score_speed.py [--sizes 5000,20000,63440]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import PeakRSS, save_results, shared_data_dir  # noqa: E402


class TreeRSS(PeakRSS):
    """PeakRSS of another process's tree; a process that just ended counts as 0."""

    def _rss(self) -> int:
        import psutil

        try:
            return super()._rss()
        except psutil.Error:
            return 0


def run_one(path: Path, out: Path) -> dict:
    import psutil

    cmd = [sys.executable, "-m", "kcomp", "score", str(path), "-q", "--json", "-o", str(out)]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with TreeRSS() as mem:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        mem.proc = psutil.Process(proc.pid)
        rc = proc.wait()
    if rc != 0:
        raise SystemExit(f"kcomp score failed with exit code {rc}")
    return {"seconds": time.perf_counter() - t0, "peak_rss_mb": mem.peak / 2**20, "load_before": load}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,20000,63440")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    src = shared_data_dir() / "debian-descriptions.jsonl.gz"
    with gzip.open(src, "rt", encoding="utf-8") as fh:
        lines = fh.readlines()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"debian_{n}.jsonl.gz"
            with gzip.open(path, "wt", encoding="utf-8") as fh:
                fh.writelines(lines[:n])
            res = run_one(path, Path(tmp) / f"score_{n}.json")
            nbytes = sum(len(line) for line in lines[:n])
            rows.append([f"{min(n, len(lines)):,}", f"{nbytes / 2**20:.1f}", f"{res['seconds']:.1f}",
                         f"{res['peak_rss_mb']:.0f}", f"{res['load_before']:.1f}"])
            print(rows[-1], flush=True)
    save_results(
        "score_speed", command="PYTHONPATH=$PWD python bench/score_speed.py",
        tables=[{"title": "Default `kcomp score` on Debian descriptions (gzip, zstd:19, lzma; ppmd curve)",
                 "columns": ["rows", "JSONL MiB", "wall s", "peak RSS MiB (process tree)", "load avg before"],
                 "rows": rows}],
        notes=("Fresh process per size, the first N rows of debian-descriptions.jsonl.gz. Peak RSS sums the CLI "
               "and its worker processes. 2-core machine shared with other jobs: wall times are upper bounds "
               "when the load average exceeds 2."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
