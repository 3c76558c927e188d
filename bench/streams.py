"""Peak memory of decompressing a bomb (N MiB of zeros) per codec: in memory vs streaming.

For each classical codec, N MiB of zeros is compressed (fast levels) and then decompressed in a
fresh process three ways, measuring peak RSS (VmHWM) and wall time:

* in memory: ``c.decompress(open(f).read())`` then written out, what ``kcomp decompress`` did
  before it streamed (the baseline);
* ``kcomp decompress`` (streaming, constant memory), output checked byte for byte;
* ``kcomp decompress --max-output 100M``: stops with one line, no file left.

    python bench/streams.py --mib 1024
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._util import REPO, save_results  # noqa: E402

SPECS = ("gzip:6", "deflate:6", "bz2:1", "lzma:0", "zstd:3", "brotli:1", "lz4", "ppmd:2")

_HWM = """import atexit, sys, time
t0 = time.perf_counter()
def report():
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1]
    print(f"BENCH {int(hwm) * 1024} {time.perf_counter() - t0:.3f}", file=sys.stderr)
atexit.register(report)
"""
_IN_MEMORY = _HWM + """from kcomp import get_compressor
spec, src, dst = sys.argv[1:4]
data = open(src, "rb").read()
open(dst, "wb").write(get_compressor(spec).decompress(data))
"""
_CLI = _HWM + """from kcomp.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(code: str, args: list[str]) -> tuple[int, int, float, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True)
    *lines, last = proc.stderr.splitlines()
    _, rss, secs = last.split()
    return proc.returncode, int(rss), float(secs), "\n".join(lines)


def _zeros_sha256(n: int) -> str:
    h = hashlib.sha256()
    for _ in range(n >> 20):
        h.update(bytes(1 << 20))
    return h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def bench_spec(spec: str, n: int, folder: Path, expected: str) -> list:
    from kcomp import get_compressor

    zeros, bomb, out = folder / "zeros", folder / "bomb", folder / "out"
    with open(zeros, "wb") as fh:
        fh.truncate(n)
    with open(zeros, "rb") as src, open(bomb, "wb") as dst:
        get_compressor(spec).compress_stream(src, dst)
    zeros.unlink()
    code, mem_rss, mem_s, err = _run(_IN_MEMORY, [spec, str(bomb), str(out)])
    in_memory = f"{mem_rss / 2**20:,.0f}" if code == 0 else f"failed: {err.splitlines()[-1][:60]}"
    out.unlink(missing_ok=True)
    code, rss, secs, err = _run(_CLI, ["decompress", "-c", spec, str(bomb), "-o", str(out), "--max-output", "0"])
    exact = code == 0 and out.stat().st_size == n and _sha256(out) == expected
    out.unlink(missing_ok=True)
    lim_code, _, lim_s, lim_err = _run(_CLI, ["decompress", "-c", spec, str(bomb), "-o", str(out), "--max-output", "100M"])
    stopped = lim_code == 2 and lim_err.count("\n") == 0 and not out.exists()
    row = [spec, f"{bomb.stat().st_size:,}", in_memory, f"{mem_s:.1f}", f"{rss / 2**20:,.0f}", f"{secs:.1f}",
           "yes" if exact else "NO", f"{'yes' if stopped else 'NO'} ({lim_s:.2f} s)"]
    bomb.unlink()
    print(" | ".join(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="MiB of zeros per bomb (default 1024)")
    ap.add_argument("--specs", nargs="*", default=list(SPECS))
    args = ap.parse_args()
    n = args.mib << 20
    expected = _zeros_sha256(n)
    with tempfile.TemporaryDirectory(dir=REPO / "bench") as tmp:
        rows = [bench_spec(spec, n, Path(tmp), expected) for spec in args.specs]
    columns = ["codec", "bomb (bytes)", "in memory: peak RSS (MiB)", "in memory (s)", "kcomp decompress: peak RSS (MiB)",
               "kcomp decompress (s)", "exact output", "--max-output 100M stops, no file"]
    command = "python bench/streams.py " + " ".join(sys.argv[1:])
    save_results("streams", command=command.strip(),
                 tables=[{"title": f"Decompressing {args.mib} MiB of zeros (a decompression bomb)",
                          "columns": columns, "rows": rows}],
                 notes="Peak RSS is VmHWM of a fresh process (Python + kcomp imports are ~45 MiB of it). "
                       "'In memory' is the pre-streaming path (read, decompress, write). 2-core machine "
                       "shared with other jobs: times may be inflated.")


if __name__ == "__main__":
    main()
