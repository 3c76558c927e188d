"""Audit a compressor's Kolmogorov axioms on a whole corpus.

Kolmogorov complexity K satisfies, up to small additive terms, the axioms of a "normal
compressor" (Cilibrasi and Vitanyi 2005): idempotency K(xx) = K(x), monotonicity
K(xy) >= K(x), symmetry K(xy) = K(yx), distributivity K(xy) + K(z) <= K(xz) + K(yz), and
subadditivity K(xy) <= K(x) + K(y); NCD built on such a compressor obeys the triangle
inequality. Real codecs break them where they stop seeing the data: gzip past its 32 KiB
window, bzip2 past its 900 kB block, an LM past its context (Cebrian et al. 2005).

:func:`axioms` draws, for each piece size, ``pairs`` seeded triples (x, y, z) of disjoint
pieces of the corpus (from different documents where there are enough of that size; otherwise
from runs of consecutive documents, or from disjoint parts of the whole corpus, as the result
says) and reports, per compressor and size, the mean, spread (standard deviation) and
violation rate of each quantity in :data:`QUANTITIES`. Sizes C(.) are the compressor's
``size_bits``; every rate is in bits per byte of input, so sizes compare.
"""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np

from kcomp._inputs import as_bytes_list
from kcomp._json import json_safe
from kcomp.complexity import ncd_from_sizes
from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError

DEFAULT_COMPRESSORS = ("gzip", "bz2", "zstd:19", "lzma")
DEFAULT_SIZES = ("4K", "16K", "64K", "256K")
DEFAULT_PAIRS = 4
#: bits per byte an equality axiom (idempotency, symmetry) may miss by before it counts as violated
DEFAULT_TOLERANCE = 0.25
#: joins documents that are shorter than a piece (a .txt corpus is read one line per document)
JOIN = b"\n"
PIECES = 3  #: x, y and z: disjoint pieces per draw
#: bytes a codec compresses per byte of piece size in one draw (:func:`measure`: 3 singles, 6 joints)
CODED_PER_PIECE_BYTE = 15
#: a "slow" codec (``cost``) asked to code more than this gets a warning before it starts
SLOW_CODEC_WARN_BYTES = 1 << 20

#: name -> (formula, unit, when a draw counts as a violation)
QUANTITIES = {
    "idempotency_gap": ("(C(xx) - C(x)) / |x|", "bits/byte", "|gap| > tolerance"),
    "symmetry_gap": ("|C(xy) - C(yx)| / |xy|", "bits/byte", "gap > tolerance"),
    "subadditivity_slack": ("(C(x) + C(y) - C(xy)) / |xy|", "bits/byte", "C(xy) > C(x) + C(y) + c0"),
    "monotonicity_margin": ("(C(xy) - C(x)) / |y|", "bits/byte", "C(xy) < C(x)"),
    "triangle_slack": ("NCD(x,z) + NCD(z,y) - NCD(x,y)", "NCD units", "NCD(x,y) > NCD(x,z) + NCD(z,y)"),
    "distributivity_slack": ("(C(xz) + C(yz) - C(xy) - C(z)) / |xyz|", "bits/byte", "C(xy) + C(z) > C(xz) + C(yz)"),
}

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*$", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string such as ``4096``, ``32K``, ``1M`` (K/M/G are powers of 1024)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        n = int(value)
    else:
        match = _SIZE_RE.match(value) if isinstance(value, str) else None
        if match is None:
            raise InputError(f"bad size {value!r}: use bytes with an optional K, M or G suffix "
                             "(powers of 1024), e.g. 4K,16K,64K,256K")
        n = int(float(match[1]) * _MULTIPLIER[match[2].upper()])
    if n < 1:
        raise InputError(f"bad size {value!r}: a piece must hold at least 1 byte")
    return n


@dataclass
class AxiomsResult:
    """Per compressor and size label: mean (``results``), standard deviation (``spread``) and
    violation rate (``violation_rate``) of every quantity in :data:`QUANTITIES`."""

    corpus: str
    corpus_bytes: int
    documents: int
    sizes: dict[str, int]  #: label -> piece size in bytes
    pairs: int
    seed: int
    tolerance: float
    windows: dict[str, int | None]  #: spec -> bytes of history the codec sees (None: all)
    framing_bits: dict[str, float]  #: spec -> c0, the codec's fixed framing in bits
    sampling: dict[str, str]  #: label -> how the pieces of that size were cut
    results: dict[str, dict[str, dict[str, float]]]
    spread: dict[str, dict[str, dict[str, float]]]
    violation_rate: dict[str, dict[str, dict[str, float]]]
    seconds: dict[str, float]
    plots: list[str] = dataclass_field(default_factory=list)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["units"] = {name: unit for name, (_, unit, _) in QUANTITIES.items()}
        doc["violation"] = {name: rule for name, (_, _, rule) in QUANTITIES.items()}
        return json_safe(doc)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        return _markdown(self)

    def plot(self, directory: str | Path, *, prefix: str = "axioms") -> list[str]:
        """One PNG per quantity: mean ± spread against piece size, one line per compressor,
        each codec's window marked (dashed) where it falls in the plotted range."""
        self.plots = _plot(self, Path(directory), prefix)
        return self.plots


def _read_corpus(corpus, text_field: str | None) -> tuple[str, list[bytes]]:
    """(label, non-empty documents as bytes) from a path ``kcomp score`` reads or a list of texts."""
    if isinstance(corpus, (str, os.PathLike)):
        from kcomp.io import read_texts

        texts, label = read_texts(corpus, field=text_field), str(corpus)
    else:
        texts, label = corpus, f"<{type(corpus).__name__} of texts>"
    docs = [d for d in as_bytes_list(texts, name="corpus") if d]
    if not docs:
        raise InputError(f"{label}: every document is empty")
    return label, docs


def _join_runs(docs: list[bytes], size: int) -> list[bytes]:
    """Consecutive documents joined (with :data:`JOIN`) into runs of at least ``size`` bytes."""
    runs, current, length = [], [], 0
    for doc in docs:
        current.append(doc)
        length += len(doc) + (len(JOIN) if len(current) > 1 else 0)
        if length >= size:
            runs.append(JOIN.join(current))
            current, length = [], 0
    if current and runs:
        runs[-1] = JOIN.join([runs[-1], *current])
    return runs


def _units(docs: list[bytes], size: int, label: str) -> tuple[list[bytes], str]:
    """Disjoint stretches of the corpus, each at least ``size`` bytes, and how they were made."""
    whole = [d for d in docs if len(d) >= size]
    if len(whole) >= PIECES:
        return whole, f"x, y, z cut from 3 different documents (of {len(whole)} that hold {label})"
    runs = _join_runs(docs, size)
    if len(runs) >= PIECES:
        return runs, (f"fewer than 3 documents hold {label}: x, y, z cut from 3 different runs of consecutive "
                      f"documents joined by a newline ({len(runs):,} runs)")
    stream = JOIN.join(docs)
    parts = len(stream) // size
    if parts < PIECES:
        raise InputError(f"size {label} ({size:,} B) is too big for this corpus: x, y and z need "
                         f"{PIECES} disjoint pieces ({PIECES * size:,} B) but it holds {len(stream):,} B; "
                         f"use sizes up to {len(stream) // PIECES:,} B")
    bounds = [len(stream) * i // parts for i in range(parts + 1)]
    return [stream[a:b] for a, b in zip(bounds, bounds[1:])], (
        f"fewer than 3 documents of {label}: x, y, z cut from 3 different parts of the whole corpus "
        f"({parts} disjoint parts)")


def _draw(units: list[bytes], size: int, pairs: int, seed: int) -> list[tuple[bytes, bytes, bytes]]:
    """``pairs`` triples of pieces of ``size`` bytes from 3 distinct units, seeded per size."""
    rng = np.random.default_rng([seed, size])
    draws = []
    for _ in range(pairs):
        picked = rng.choice(len(units), PIECES, replace=False)
        pieces = []
        for u in picked:
            start = int(rng.integers(0, len(units[u]) - size + 1))
            pieces.append(units[u][start:start + size])
        draws.append(tuple(pieces))
    return draws


def measure(comp: Compressor, x: bytes, y: bytes, z: bytes, tolerance: float = DEFAULT_TOLERANCE) -> tuple[dict, dict]:
    """(quantities, violations) for one triple of equal-length pieces; see :data:`QUANTITIES`."""
    n = len(x)
    cx, cy, cz = comp.size_bits(x), comp.size_bits(y), comp.size_bits(z)
    cxx, cxy, cxz = comp.joint_size_bits(x, [x, y, z])
    cyx, cyz = comp.joint_size_bits(y, [x, z])
    czy = comp.joint_size_bits(z, [y])[0]
    ncd_xy, ncd_xz, ncd_zy = ncd_from_sizes(cx, cy, cxy), ncd_from_sizes(cx, cz, cxz), ncd_from_sizes(cz, cy, czy)
    q = {
        "idempotency_gap": (cxx - cx) / n,
        "symmetry_gap": abs(cxy - cyx) / (2 * n),
        "subadditivity_slack": (cx + cy - cxy) / (2 * n),
        "monotonicity_margin": (cxy - cx) / n,
        "triangle_slack": ncd_xz + ncd_zy - ncd_xy,
        "distributivity_slack": (cxz + cyz - cxy - cz) / (3 * n),
    }
    violated = {
        "idempotency_gap": abs(q["idempotency_gap"]) > tolerance,
        "symmetry_gap": q["symmetry_gap"] > tolerance,
        "subadditivity_slack": cxy > cx + cy + comp.overhead_bits,
        "monotonicity_margin": cxy < cx,
        "triangle_slack": q["triangle_slack"] < -1e-12,
        "distributivity_slack": cxy + cz > cxz + cyz,
    }
    return q, violated


def _summaries(rows: list[tuple[dict, dict]]) -> tuple[dict, dict, dict]:
    """Mean, standard deviation (ddof=1) and violation rate of each quantity over the draws."""
    values = {name: np.array([q[name] for q, _ in rows]) for name in QUANTITIES}
    mean = {name: float(v.mean()) for name, v in values.items()}
    spread = {name: float(v.std(ddof=1)) for name, v in values.items()}
    rate = {name: float(np.mean([bad[name] for _, bad in rows])) for name in QUANTITIES}
    return mean, spread, rate


def _check_options(sizes, pairs, tolerance, seed) -> dict[str, int]:
    if isinstance(sizes, (str, bytes)) or not sizes:
        raise InputError("sizes must be a non-empty list such as ['4K', '16K'] (or ints, bytes)")
    labels = {str(s).strip(): parse_size(s) for s in sizes}
    if len(labels) < len(sizes):
        raise InputError(f"sizes repeat a label: {list(sizes)}")
    if isinstance(pairs, bool) or not isinstance(pairs, (int, np.integer)) or pairs < 2:
        raise InputError(f"pairs must be an int >= 2 (a spread needs two draws), got {pairs!r}")
    if not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise InputError(f"tolerance must be a number >= 0 (bits per byte), got {tolerance!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an int >= 0, got {seed!r}")
    return labels


def _warn_slow(comps: list[Compressor], coded_bytes: int) -> None:
    for comp in comps:
        if comp.cost == "slow" and coded_bytes > SLOW_CODEC_WARN_BYTES:
            warnings.warn(f"{comp.spec} is a slow codec and will code {coded_bytes / 1e6:.1f} MB here "
                          f"({CODED_PER_PIECE_BYTE} x pairs x the sum of sizes): minutes on a CPU; small sizes "
                          "such as 256,512,1K,2K show its window", stacklevel=3)


def axioms(
    corpus: str | os.PathLike | Sequence[str | bytes],
    compressors: Sequence[str | Compressor] | None = None,
    sizes: Sequence[int | str] = DEFAULT_SIZES,
    pairs: int = DEFAULT_PAIRS,
    *,
    seed: int = 0,
    field: str | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> AxiomsResult:
    """Measure idempotency, symmetry, subadditivity, monotonicity, distributivity and the NCD
    triangle inequality of each compressor on seeded pieces of ``corpus``.

    ``corpus``: a path ``kcomp score`` reads (directory: one document per file; ``.txt``: one per
    line; ``.jsonl``/``.csv`` with ``field``; optionally gzipped) or a list of str/bytes.
    ``sizes``: piece sizes, ints (bytes) or strings such as ``"32K"``; they label the results.
    ``pairs``: draws (x, y, z) per size, the same pieces for every compressor.
    ``tolerance``: bits per byte an equality axiom may miss by before a draw counts as violated.
    """
    labels = _check_options(sizes, pairs, tolerance, seed)
    comps = list(dict.fromkeys(get_compressor(c) for c in (DEFAULT_COMPRESSORS if compressors is None else compressors)))
    if not comps:
        raise InputError("at least one compressor is needed")
    name, docs = _read_corpus(corpus, field)
    draws, sampling = {}, {}
    for label, size in labels.items():
        units, sampling[label] = _units(docs, size, label)
        draws[label] = _draw(units, size, pairs, seed)
    _warn_slow(comps, CODED_PER_PIECE_BYTE * pairs * sum(labels.values()))
    results, spread, rates, seconds = {}, {}, {}, {}
    for comp in comps:
        start = time.perf_counter()
        per_size = {label: _summaries([measure(comp, *d, tolerance) for d in ds]) for label, ds in draws.items()}
        seconds[comp.spec] = time.perf_counter() - start
        results[comp.spec] = {label: s[0] for label, s in per_size.items()}
        spread[comp.spec] = {label: s[1] for label, s in per_size.items()}
        rates[comp.spec] = {label: s[2] for label, s in per_size.items()}
    return AxiomsResult(
        corpus=name, corpus_bytes=sum(map(len, docs)), documents=len(docs), sizes=labels, pairs=int(pairs),
        seed=seed, tolerance=float(tolerance), windows={c.spec: c.window for c in comps},
        framing_bits={c.spec: c.overhead_bits for c in comps}, sampling=sampling, results=results,
        spread=spread, violation_rate=rates, seconds=seconds)

def _window_text(window: int | None) -> str:
    return "all input" if window is None else f"{window:,} B"


def _markdown(res: AxiomsResult) -> str:
    names = list(QUANTITIES)
    out = [f"# Kolmogorov axioms on `{res.corpus}` ({res.documents:,} documents, {res.corpus_bytes:,} B)", "",
           (f"{res.pairs} seeded draws (x, y, z) of disjoint pieces per size (seed {res.seed}), the same for every "
            "compressor. Cell: mean ± standard deviation over the draws · violation rate. Bits per byte "
            f"(triangle: NCD units); an equality axiom counts as violated beyond {res.tolerance:g} bits/byte."), "",
           "| compressor | window | size | " + " | ".join(n.replace("_", " ") for n in names) + " |",
           "|---|---|---|" + "---|" * len(names)]
    for spec, per_size in res.results.items():
        for label, means in per_size.items():
            cells = [f"{means[n]:.3f} ±{res.spread[spec][label][n]:.3f} · {100 * res.violation_rate[spec][label][n]:.0f}%"
                     for n in names]
            out.append(f"| {spec} | {_window_text(res.windows[spec])} | {label} | " + " | ".join(cells) + " |")
    out += ["", "For K itself every gap is about 0 and every slack or margin >= 0. Columns and violations:", ""]
    out += [f"- {n.replace('_', ' ')} = {formula} ({unit}); violated when {rule}" for n, (formula, unit, rule)
            in QUANTITIES.items()]
    out += [f"- c0 = the codec's framing: " + ", ".join(f"{s} {b:g} bits" for s, b in res.framing_bits.items()), "",
            "## Pieces", ""] + [f"- {label} ({res.sizes[label]:,} B): {how}" for label, how in res.sampling.items()]
    out += ["", "Seconds per compressor: " + ", ".join(f"{s} {t:.1f}" for s, t in res.seconds.items())]
    if res.plots:
        out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in res.plots]
    return "\n".join(out) + "\n"


def _plot(res: AxiomsResult, directory: Path, prefix: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    labels, sizes = list(res.sizes), list(res.sizes.values())
    paths = []
    for name, (formula, unit, _) in QUANTITIES.items():
        fig, ax = plt.subplots(figsize=(6.4, 3.8), dpi=100)
        for spec, per_size in res.results.items():
            window = res.windows[spec]
            bars = ax.errorbar(sizes, [per_size[label][name] for label in labels], capsize=2, marker="o", ms=3,
                               yerr=[res.spread[spec][label][name] for label in labels],
                               label=f"{spec} (window {_window_text(window)})")
            if window is not None and min(sizes) / 2 <= window <= max(sizes) * 2:
                ax.axvline(window, color=bars[0].get_color(), ls="--", lw=0.9)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, labels, rotation=45, fontsize=7)
        ax.minorticks_off()
        ax.axhline(0, color="black", lw=0.6)
        ax.set_xlabel("piece size |x| (dashed: the codec's window, where in range)")
        ax.set_ylabel(f"{name.replace('_', ' ')} ({unit})")
        ax.set_title(f"{formula}, mean ± sd over {res.pairs} draws: {Path(res.corpus).name}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = directory / f"{prefix}_{name}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(str(path))
    return paths


__all__ = ["AxiomsResult", "QUANTITIES", "axioms", "measure", "parse_size"]
