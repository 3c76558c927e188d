"""Where do real compressors stop behaving like Kolmogorov complexity? ``kcomp.axioms`` on real books.

Three runs, each with seeded draws of disjoint pieces (x, y, z), the same pieces for every codec:

* ``kjv``: the King James Bible (Debian ``bible-kjv``: ``bible -f gen1:1-rev22:21``, 4.4 MB, one
  verse a line, so pieces join consecutive verses) with gzip, bz2, zstd:19 and lzma at sizes
  around gzip's 32 KiB window and bzip2's 900 kB block (xx spans two blocks past 450 kB);
* ``python``: large Python standard-library modules (each piece from a different file), the same
  codecs up to 64K: the gzip finding on code rather than prose;
* ``lm``: the byte-level transformer ``lm`` (context 512 bytes) next to gzip and lzma on the book
  of Revelation, which the shipped weights never trained on.

    python bench/axioms.py            # 6-12 minutes on the shared 2-core machine (lzma, zstd:19 at 1M)
    python bench/axioms.py --quick    # smaller sizes and 2 draws, for a smoke run

Writes bench/results/axioms.json and docs/img/axioms_kjv_*.png, docs/img/axioms_lm_*.png.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import REPO, save_results  # noqa: E402

from kcomp.axioms import QUANTITIES, AxiomsResult, axioms  # noqa: E402

CODECS = ["gzip", "bz2", "zstd:19", "lzma"]
KJV_SIZES = ["4K", "16K", "24K", "31K", "32K", "48K", "64K", "256K", "440K", "460K", "512K", "1M"]
PY_SIZES = ["4K", "16K", "31K", "32K", "64K"]
LM_SIZES = ["128", "256", "512", "1K", "2K"]
OTHER_AXIOMS = ("subadditivity_slack", "monotonicity_margin", "triangle_slack", "distributivity_slack")
PY_MODULES = ("typing.py", "argparse.py", "tarfile.py", "inspect.py", "subprocess.py", "mailbox.py", "doctest.py",
              "pydoc.py", "turtle.py", "_pydecimal.py")


def kjv_text() -> str:
    if shutil.which("bible") is None:
        raise SystemExit("the 'bible' program is missing: apt-get install -y bible-kjv")
    return subprocess.run(["bible", "-f", "gen1:1-rev22:21"], capture_output=True, text=True, check=True,
                          timeout=300).stdout


def cell(r: AxiomsResult, spec: str, label: str, name: str) -> str:
    return (f"{r.results[spec][label][name]:.3f} ±{r.spread[spec][label][name]:.3f} "
            f"({100 * r.violation_rate[spec][label][name]:.0f}%)")


def table(r: AxiomsResult, name: str, corpus: str) -> dict:
    formula, unit, rule = QUANTITIES[name]
    specs = list(r.results)
    return {"title": f"{name.replace('_', ' ')} = {formula} on {corpus} ({unit}; mean ± sd over {r.pairs} draws, "
                     f"violation rate: {rule})",
            "columns": ["size"] + [f"{s} (window {r.windows[s]:,} B)" if r.windows[s] else s for s in specs],
            "rows": [[label] + [cell(r, s, label, name) for s in specs] for label in r.sizes]}


def other_axioms_table(r: AxiomsResult, corpus: str) -> dict:
    rows = [[spec, label] + [cell(r, spec, label, n) for n in OTHER_AXIOMS] for spec in r.results for label in r.sizes]
    return {"title": f"the other axioms on {corpus} (mean ± sd, violation rate)",
            "columns": ["compressor", "size"] + [n.replace("_", " ") for n in OTHER_AXIOMS], "rows": rows}


def value(r: AxiomsResult, spec: str, label: str, name: str = "idempotency_gap") -> float:
    return r.results[spec][label][name]


def violations(r: AxiomsResult) -> list[str]:
    """'spec size quantity rate' for every non-zero violation rate of the four inequality axioms."""
    return [f"{spec} at {label}: {name.replace('_', ' ')} {r.results[spec][label][name]:+.4f} {QUANTITIES[name][1]}, "
            f"violated in {100 * r.violation_rate[spec][label][name]:.0f}% of draws"
            for spec in r.results for label in r.sizes for name in OTHER_AXIOMS if r.violation_rate[spec][label][name]]


def notes(kjv: AxiomsResult, py: AxiomsResult, lm: AxiomsResult) -> str:
    """The findings, each with its numbers (recomputed from this run's results)."""
    big = list(kjv.sizes)[-1]
    header = lm.framing_bits["lm"]
    broken = violations(kjv) + violations(lm)
    bz2_small = [value(kjv, "bz2:9", label) for label in list(kjv.sizes)[:9]]
    bz2_boundary = (" bz2's case is its block boundary: xy (1 MiB) is coded as a 900 kB block plus a short one, "
                    "x and y as two 512 KiB blocks each." if kjv.violation_rate["bz2:9"]["512K"]["subadditivity_slack"]
                    else "")
    return "\n".join([
        f"- **gzip breaks idempotency at its window.** On the KJV the second copy of x costs "
        f"{value(kjv, 'gzip:9', '31K'):.3f} bits/byte at 31K (x fits in the 32,506-byte window) and "
        f"{value(kjv, 'gzip:9', '32K'):.2f} at 32K, {value(kjv, 'gzip:9', big):.2f} at {big}: as much as fresh "
        f"text (its monotonicity margin, the cost of a new y after x, is "
        f"{value(kjv, 'gzip:9', '32K', 'monotonicity_margin'):.2f}), i.e. C(xx) ~ 2 C(x). Same on Python "
        f"sources: {value(py, 'gzip:9', '31K'):.3f} at 31K, {value(py, 'gzip:9', '32K'):.2f} at 32K.",
        f"- **lzma and zstd:19 keep it** (windows 64 MiB and 8 MiB): lzma's gap falls from "
        f"{value(kjv, 'lzma:9', '4K'):.3f} bits/byte at 4K to {value(kjv, 'lzma:9', big):.3f} at {big}; zstd:19's "
        f"stays within {max(abs(value(kjv, 'zstd:19', label)) for label in kjv.sizes):.3f}.",
        f"- **bzip2 never quite has it, and loses more of it past half its block.** Inside one 900 kB block "
        f"the BWT still pays {min(bz2_small):.2f}-{max(bz2_small):.2f} bits/byte for the repeat (4K-440K; "
        f"tolerance {kjv.tolerance:g}); once xx spans two blocks it grows: {value(kjv, 'bz2:9', '460K'):.2f} at "
        f"460K (xx = {2 * kjv.sizes['460K'] / 1000:.0f} kB), {value(kjv, 'bz2:9', '512K'):.2f} at 512K, "
        f"{value(kjv, 'bz2:9', '1M'):.2f} at 1M.",
        f"- **bzip2 is exactly symmetric inside a block**: xy and yx have the same rotations, so the BWT "
        f"gives C(xy) = C(yx) (gap {value(kjv, 'bz2:9', '256K', 'symmetry_gap'):.4f} at 256K); once xy spans "
        f"two blocks it is not ({value(kjv, 'bz2:9', '512K', 'symmetry_gap'):.4f} at 512K). The LZ codecs "
        f"show small gaps at every size (gzip {value(kjv, 'gzip:9', '4K', 'symmetry_gap'):.4f} at 4K).",
        "- **Subadditivity, monotonicity, distributivity and the NCD triangle** hold on these disjoint pieces "
        "except: " + ("; ".join(broken) if broken else "nowhere") + "." + bz2_boundary,
        f"- **The lm has no copy mechanism to lose.** On Revelation (held out from its training) its idempotency "
        f"gap is {value(lm, 'lm', '128'):.2f} bits/byte at 128 B, where xx fits its 512-byte context, and "
        f"{value(lm, 'lm', '2K'):.2f} at 2K, against {value(lm, 'lm', '2K', 'monotonicity_margin'):.2f} for "
        f"fresh text after x; gzip on the same pieces: {value(lm, 'gzip:9', '128'):.2f} and "
        f"{value(lm, 'gzip:9', '2K'):.3f}. Past its context it codes in independent 512-byte blocks: symmetry "
        f"gap {value(lm, 'lm', '1K', 'symmetry_gap'):.4f} and subadditivity slack "
        f"{value(lm, 'lm', '1K', 'subadditivity_slack'):.4f} at 1K, exactly its {header:g}-bit header over |xy| "
        f"({header / 2048:.4f}).",
        "- Seconds per codec are in the raw results; the machine was shared with other engineers during the run.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 64K, 2 draws (smoke run)")
    parser.add_argument("--pairs", type=int, default=4)
    args = parser.parse_args()
    pairs = 2 if args.quick else args.pairs
    kjv_sizes = KJV_SIZES[:7] if args.quick else KJV_SIZES
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "kjv.txt"
        text = kjv_text()
        corpus.write_text(text, encoding="utf-8")
        kjv = axioms(corpus, CODECS, sizes=kjv_sizes, pairs=pairs)
    kjv.corpus = "KJV (bible -f gen1:1-rev22:21)"
    print(kjv.to_markdown())
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    py = axioms([(stdlib / m).read_bytes() for m in PY_MODULES], CODECS, sizes=PY_SIZES, pairs=pairs)
    py.corpus = "Python stdlib modules"
    print(py.to_markdown())
    revelation = text[text.index("Rev1:1 "):]
    lm = axioms(revelation.splitlines(), ["lm", "gzip", "lzma"], sizes=LM_SIZES, pairs=pairs)
    lm.corpus = "Revelation (KJV)"
    print(lm.to_markdown())
    for result, prefix in ((kjv, "axioms_kjv"), (lm, "axioms_lm")):
        result.plots = [str(Path(p).relative_to(REPO)) for p in result.plot(REPO / "docs" / "img", prefix=prefix)]
    tables = [table(kjv, "idempotency_gap", "the KJV"), table(kjv, "symmetry_gap", "the KJV"),
              table(py, "idempotency_gap", "Python stdlib modules"), table(lm, "idempotency_gap", "Revelation"),
              other_axioms_table(kjv, "the KJV")]
    command = "python bench/axioms.py" + (" --quick" if args.quick else "")
    out = save_results("axioms", command=command, tables=tables, notes=notes(kjv, py, lm) if not args.quick else "",
                       kjv=kjv.to_dict(), python=py.to_dict(), lm=lm.to_dict())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
