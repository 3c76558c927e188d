"""The neural coder ``lm`` against gzip, brotli, xz and ppmd on real inputs it never trained on.

Inputs (at most ``--size`` bytes each, default 128 KiB; none of them in the training corpus):

* English prose: ``/usr/share/common-licenses/GPL-3``; the held-out fortune files
  ``literature`` + ``wisdom``; held-out Debian descriptions (source packages with
  ``crc32(source) % 10 == 0``); the held-out book of Revelation (King James Bible)
* other languages (the model saw English only): German fortunes (``fortunes-de``), Chinese
  fortunes (``fortunes-zh``: ``chinese``, ``tang300``, ``song100``), Russian fortunes (``fortunes-ru``)
* code: held-out Python standard-library files (``crc32(name) % 10 == 0``)
* binary: a slice of the running Python interpreter's ELF executable

The mixer's settings were chosen on other texts (Apache-2.0 + MPL-2.0 + GFDL-1.3 licences, C
headers from /usr/include, Spanish fortunes), none of them used here.

For every codec: bits/byte of the real stream (headers included) and a lossless check; for
``lm`` also encode, decode and ``size_bits`` (no coding) throughput, the transformer alone (no
context mixing, no PPMd fallback, priced by ``size_bits``) to show what the mixing adds, and
``lm`` without its per-group PPMd fallback (``size_bits``) to show what the fallback adds.

    python bench/lm_coder.py [--size 131072]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import save_results, timed_call  # noqa: E402

from kcomp.compressors import get_compressor  # noqa: E402

CLASSICAL = ["gzip:9", "brotli:11", "xz:9", "ppmd"]
FORTUNES = Path("/usr/share/games/fortunes")


def _fortunes(folder: Path, names=None) -> bytes:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.suffix and not p.is_symlink())
    return b"".join(p.read_bytes() for p in files if names is None or p.name in names)


def _held_out_novel() -> bytes:
    """Jane Austen's *Persuasion* (held out of training; the other five novels are trained on),
    from its middle; empty when ``r-cran-janeaustenr`` is not installed."""
    from kcomp.lm_coder.data import load_austen

    try:
        novel = load_austen().held_out
    except Exception:  # the Debian package is missing: the row is left out
        return b""
    return novel[len(novel) // 3:]


def inputs(size: int) -> dict[str, tuple[str, bytes]]:
    """name -> (kind, bytes): kind is prose, language, code or binary."""
    from kcomp.lm_coder.data import load_bible, load_descriptions, load_fortunes, load_python

    out = {
        "GPL-3": ("prose", Path("/usr/share/common-licenses/GPL-3").read_bytes()),
        "fortunes (held out)": ("prose", load_fortunes().held_out),
        "Debian desc. (held out)": ("prose", load_descriptions().held_out),
        "Revelation": ("prose", load_bible().held_out),
        "Persuasion (held-out novel)": ("prose", _held_out_novel()),
        "German": ("language", _fortunes(FORTUNES / "de")),
        "Chinese": ("language", _fortunes(FORTUNES, {"chinese", "tang300", "song100"})),
        "Russian": ("language", _fortunes(FORTUNES / "ru") if (FORTUNES / "ru").is_dir() else b""),
        "Python (held out)": ("code", load_python().held_out),
        "ELF binary": ("binary", Path(os.path.realpath(sys.executable)).read_bytes()[8192:]),
    }
    return {name: (kind, blob[:size]) for name, (kind, blob) in out.items() if blob}


def measure(spec, data: bytes) -> dict:
    c = get_compressor(spec) if isinstance(spec, str) else spec
    c.compress(data[:64])  # warm up (loads weights)
    stream, *t_enc = timed_call(c.compress, data)
    back, *t_dec = timed_call(c.decompress, stream)
    if back != data:
        raise SystemExit(f"{c.spec}: round trip FAILED")
    row = {"compressor": c.spec, "bytes": len(data), "bits_per_byte": 8 * len(stream) / len(data)}
    if c.family == "lm":
        bits, *t_fast = timed_call(c.size_bits, data)
        row["size_bits_per_byte"] = bits / len(data)
        for what, (wall, cpu) in (("encode", t_enc), ("decode", t_dec), ("size_bits", t_fast)):
            row[f"{what}_kB_per_wall_s"] = len(data) / wall / 1e3
            row[f"{what}_kB_per_cpu_s"] = len(data) / cpu / 1e3
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=131072)
    ap.add_argument("--weights", default=None, help="lm weights (default: the shipped default)")
    ap.add_argument("--group", type=int, default=None, help="chunks per group (ablation; default: the coder's)")
    ap.add_argument("--name", default="lm_coder", help="results file bench/results/NAME.json")
    args = ap.parse_args(argv)

    from kcomp.lm_coder import LMCompressor

    load_before = os.getloadavg()
    data = inputs(args.size)
    lm = LMCompressor(device="cpu", weights=args.weights)
    alone = LMCompressor(device="cpu", mix=None, ppmd_fallback=False, weights=args.weights)
    no_fallback = LMCompressor(device="cpu", ppmd_fallback=False, weights=args.weights)
    for coder in (lm, alone, no_fallback):
        coder.coder.group = args.group or coder.coder.group
    rows, speed = [], []
    for name, (kind, blob) in data.items():
        found = {spec: measure(spec, blob) for spec in CLASSICAL}
        found["lm"] = measure(lm, blob)
        transformer_only = alone.size_bits(blob) / len(blob)
        without_fallback = no_fallback.size_bits(blob) / len(blob)
        ppmd, mine = found["ppmd"]["bits_per_byte"], found["lm"]["bits_per_byte"]
        rows.append([name, kind, len(blob)] + [round(found[s]["bits_per_byte"], 3) for s in CLASSICAL]
                    + [round(transformer_only, 3), round(without_fallback, 3), f"{100 * (without_fallback / ppmd - 1):+.1f}%",
                       round(mine, 3), f"{100 * (mine / ppmd - 1):+.1f}%"])
        r = found["lm"]
        speed.append([name, len(blob)] + [round(r[f"{w}_kB_per_{clock}_s"], 1) for clock in ("cpu", "wall")
                                           for w in ("encode", "decode", "size_bits")]
                     + [round(r["size_bits_per_byte"] - mine, 4)])
        print(" | ".join(str(x) for x in rows[-1]), "|", " | ".join(str(x) for x in speed[-1][2:]),
              file=sys.stderr, flush=True)
    load_after = os.getloadavg()

    columns = ["input", "kind", "bytes"] + CLASSICAL + ["transformer alone", "lm, no PPMd fallback",
                                                        "no fallback vs ppmd", "lm", "lm vs ppmd"]
    speed_columns = ["input", "bytes", "encode kB/CPU-s", "decode kB/CPU-s", "size_bits kB/CPU-s",
                     "encode kB/s (wall)", "decode kB/s (wall)", "size_bits kB/s (wall)",
                     "size_bits − stream (bits/byte)"]
    for title, cols, body in (("bits/byte", columns, rows), ("lm throughput", speed_columns, speed)):
        print(f"\n{title}\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        for row in body:
            print("| " + " | ".join(str(x) for x in row) + " |")
    notes = (f"CPU, {lm.coder.threads} lane(s) of chunks in parallel threads (torch at one thread each), chunk "
             f"{lm.coder.chunk} bytes, groups of "
             f"{lm.coder.group} chunks. Load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
             "the run on a 2-core machine shared with other jobs: wall-clock throughput is understated, so "
             "throughput is also given per CPU second of this process (all its threads; size_bits runs its "
             "forward passes and the mixer's lanes on both cores). 'transformer alone' is the same "
             "coder without the context model and without the PPMd fallback (size_bits); 'lm, no PPMd "
             "fallback' is lm whose groups may only be range coded or raw (size_bits).")
    print("\n" + notes)
    weights_arg = "".join(f" --{name} {value}" for name, value in
                          (("weights", args.weights), ("group", args.group), ("name", args.name))
                          if value and value != "lm_coder")
    save_results(args.name, command=f"python bench/lm_coder.py --size {args.size}{weights_arg}",
                 tables=[{"title": "bits/byte (real streams, headers included)", "columns": columns, "rows": rows},
                         {"title": "lm throughput (original bytes per second)", "columns": speed_columns,
                          "rows": speed}],
                 notes=notes, model_id=lm.model_id, weights=str(lm.weights or "shipped default"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
