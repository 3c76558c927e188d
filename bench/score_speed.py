"""Speed and peak memory of the default ``kcomp score`` on the Debian descriptions: 5k, 20k and
all 63,440 rows (the first N rows of the file), each run in a fresh process.

Memory is sampled every 50 ms over the process tree (the CLI and its worker processes): the
sum of PSS (shared pages split between processes) and the largest single-process RSS; CPU
seconds are each process's user + system time, last seen (so the final 50 ms may be missed). The
machine has 2 cores shared with other jobs: wall times may be inflated by load;
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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import save_results, shared_data_dir  # noqa: E402


class TreeMemory:
    """Peak memory of a process tree, sampled every 50 ms: the sum of PSS (proportional set
    size: shared library pages split between the processes that map them, so the sum is the
    tree's real footprint) and the largest single-process RSS."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.pss = self.rss = 0
        self.cpu: dict[int, float] = {}  #: pid -> user + system seconds, last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                infos = [p.memory_full_info() for p in procs]
                for p in procs:
                    t = p.cpu_times()
                    self.cpu[p.pid] = t.user + t.system
                self.pss = max(self.pss, sum(m.pss for m in infos))
                self.rss = max(self.rss, max(m.rss for m in infos))
            except psutil.Error:
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_one(path: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "kcomp", "score", str(path), "-q", "--json", "-o", str(out)]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    mem = TreeMemory(proc.pid)
    rc = proc.wait()
    seconds = time.perf_counter() - t0
    mem.stop()
    cpu = sum(mem.cpu.values())
    if rc != 0:
        raise SystemExit(f"kcomp score failed with exit code {rc}")
    return {"seconds": seconds, "cpu_seconds": cpu, "pss_mb": mem.pss / 2**20, "rss_mb": mem.rss / 2**20,
            "load_before": load}


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
                         f"{res['cpu_seconds']:.1f}", f"{res['pss_mb']:.0f}", f"{res['rss_mb']:.0f}",
                         f"{res['load_before']:.1f}"])
            print(rows[-1], flush=True)
    save_results(
        "score_speed", command="PYTHONPATH=$PWD python bench/score_speed.py",
        tables=[{"title": "Default `kcomp score` on Debian descriptions (gzip, zstd:19, lzma; ppmd curve)",
                 "columns": ["rows", "JSONL MiB", "wall s", "CPU s (user+sys, CLI + workers)",
                             "peak memory MiB (sum of PSS, CLI + workers)", "largest process RSS MiB",
                             "load avg before"],
                 "rows": rows}],
        notes=("Fresh process per size, the first N rows of debian-descriptions.jsonl.gz. Memory: peak of the sum "
               "of PSS over the CLI and its worker processes, and the largest single process. 2-core machine "
               "shared with other jobs: wall times are upper bounds when the load average exceeds 2; CPU seconds "
               "do not depend on the load (on an idle 2-core machine the wall time is about CPU / 2)."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
