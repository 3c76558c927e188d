"""Dataset compressibility scorer: how much structure a collection of samples holds, in bits.

:func:`score_dataset` streams a dataset (directory, .txt, .jsonl/.csv, or a Python list) and,
for each compressor, reports:

* **whole-set size**: bits per byte of the concatenated samples and the ratio
  ``compressed / original`` (1.0 = incompressible, lower = more structure);
* **per-sample ratios** ``C(sample) / len(sample)`` (full codec stream, framing included, as
  ``gzip.compress`` does): median and quantiles. The median gzip ratio is the
  *gzip-compressibility* of Pandey (2024), "gzip predicts data-dependent scaling laws";
* **cross-sample redundancy**: ``sum_i C(s_i)`` vs ``C(s_1 \\n s_2 \\n ...)``, both with the
  codec's fixed framing removed, so only shared content counts. The concatenation is
  compressed in chunks of at most ``chunk_bytes`` (streaming); the codec only sees repeats
  within ``min(window, chunk)`` bytes, and that bound is reported with the number;
* **duplicates**: exact (BLAKE2 hashes) and near (MinHash/LSH on byte 5-gram shingles as a
  prefilter, then exact NCD on the candidate pairs only: no all-pairs scan);
* **outliers**: the least compressible samples (likely noise) and the most compressible
  (boilerplate): framing-free bits per byte ranked by the residual from the typical value at
  the same length (a quadratic fit in log length), among samples of >= ``min_outlier_bytes``;
* **learning curve**: prequential code length per byte as the data is seen, from the marginal
  cost ``C(prefix_{k+1}) - C(prefix_k)`` over a geometric grid of prefixes of a random-order
  subset of the samples, fitted with ``L(n) = E + A n^-b`` (:func:`fit_power_law`). The online
  ``lm`` compressor is used when it is installed (its per-position prequential code lengths);
  otherwise an adaptive classical model: PPMd order 6 (16 MiB model memory; smoother and
  cheaper than LZ codecs, whose block framing makes small-n marginals noisy), else ``lzma``.

Memory: samples are streamed twice (the second pass fetches only the near-duplicate candidates
and the learning-curve subset); what is kept per sample is its length and one size per
compressor (a few dozen bytes), plus one MinHash signature for the LSH index. Use
``sample=N`` (reservoir sampling) for very large sets.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kcomp.complexity import ncd_from_sizes
from kcomp.compressors import Compressor, get_compressor, list_compressors
from kcomp._json import json_safe
from kcomp.errors import InputError

DEFAULT_COMPRESSORS = ("gzip", "zstd:19", "brotli:11", "lzma")
SEPARATOR = b"\n"  #: joins samples in the concatenation and the learning-curve stream
NCD_SEPARATOR = b" "  #: kcomp.ncd's default separator
SHINGLE = 5  #: byte n-gram length of the MinHash shingles
PREVIEW_CHARS = 160


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------
_USABLE: dict[str, bool] = {}


def compressor_usable(spec: str) -> bool:
    """True when ``spec`` is registered, its dependencies are installed, and it can price a
    probe string (e.g. ``lm`` needs its weights). Cached per process."""
    if spec not in _USABLE:
        family = spec.split(":")[0]
        ok = family in list_compressors(available_only=True)
        if ok:
            try:
                get_compressor(spec).size_bits(b"kcomp probe")
            except Exception:  # noqa: BLE001 - any failure means "do not use it by default"
                ok = False
        _USABLE[spec] = ok
    return _USABLE[spec]


def lm_available(spec: str = "lm") -> bool:
    """True when the ``lm`` compressor (or ``lm:online``) is installed and usable here."""
    return compressor_usable(spec)


def default_compressors() -> list[str]:
    """gzip, zstd:19, brotli:11, lzma; plus ``lm`` when it is installed and has weights."""
    return list(DEFAULT_COMPRESSORS) + (["lm"] if lm_available("lm") else [])


def default_curve_compressor() -> str:
    """The adaptive model behind the learning curve: ``lm:online`` if usable, else PPMd
    (order 6: a context model with a smooth, byte-exact prequential cost), else lzma."""
    if lm_available("lm:online"):
        return "lm:online"
    return "ppmd" if "ppmd" in list_compressors(available_only=True) else "lzma"


def size_bits(comp: Compressor, data: bytes) -> float:
    """``comp.size_bits(data)`` (lzma sizes its dictionary to the input itself: fast on small data)."""
    return comp.size_bits(data)


def framing_bits(comp: Compressor) -> float:
    """Bits of fixed framing the codec adds to every stream (0 when already headerless)."""
    return 0.0 if comp.headerless else float(comp.overhead_bits)


def preview(data: bytes, n: int = PREVIEW_CHARS) -> str:
    """A short printable excerpt (UTF-8 with replacement, control characters escaped)."""
    text = data[: 4 * n].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in text)
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not UTF-8 text or that hold NUL bytes."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _quantiles(x: np.ndarray) -> dict:
    if x.size == 0:
        return {}
    qs = np.quantile(x, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    return {"min": float(qs[0]), "q05": float(qs[1]), "q25": float(qs[2]), "median": float(qs[3]),
            "q75": float(qs[4]), "q95": float(qs[5]), "max": float(qs[6]), "mean": float(x.mean())}


def shingle_hashes(data: bytes, k: int = SHINGLE) -> np.ndarray:
    """32-bit hashes of the byte k-grams of ``data`` (vectorised polynomial hash)."""
    a = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    if a.size < k:
        return np.empty(0, dtype=np.uint64)
    m = a.size - k + 1
    h = np.zeros(m, dtype=np.uint64)
    for j in range(k):
        h = h * np.uint64(1099511628211) + a[j:j + m] + np.uint64(1)
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(32)
    return h & np.uint64(0xFFFFFFFF)


class MinHasher:
    """MinHash signatures from multiply-add-shift hashes h_i(x) = ((a_i x + b_i) mod 2^64) >> 32."""

    def __init__(self, num_perm: int = 64, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.num_perm = num_perm
        self.a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        out = np.full(self.num_perm, 0xFFFFFFFF, dtype=np.uint32)
        for lo in range(0, hashes.size, 4096):  # bounded temporaries for long samples
            h = hashes[lo:lo + 4096, None]
            with np.errstate(over="ignore"):
                v = ((h * self.a[None, :] + self.b[None, :]) >> np.uint64(32)).min(axis=0)
            np.minimum(out, v.astype(np.uint32), out=out)
        return out


# ---------------------------------------------------------------------------------------
# power-law fit
# ---------------------------------------------------------------------------------------
@dataclass
class PowerLawFit:
    """``L(n) = E + A * n**-b`` fitted by least squares; ``*_se`` are standard errors."""

    E: float
    A: float
    b: float
    E_se: float
    A_se: float
    b_se: float
    r2: float
    n_points: int
    method: str = "scipy.optimize.curve_fit (weighted when sigma is given); std errors from the covariance matrix"

    def predict(self, n) -> np.ndarray:
        return self.E + self.A * np.asarray(n, dtype=float) ** (-self.b)

    def to_dict(self) -> dict:
        return asdict(self)


def _power_law(n, E, A, b):
    return E + A * np.power(n, -b)


def fit_power_law(n: Sequence[float], L: Sequence[float], *, sigma: Sequence[float] | None = None) -> PowerLawFit:
    """Fit ``L(n) = E + A n^-b`` (E, A >= 0, 0 < b <= 5) with scipy's curve_fit.

    Standard errors are the square roots of the covariance diagonal (inf when the fit is
    degenerate, e.g. a flat curve where b is unidentifiable). Raises InputError for fewer
    than 4 finite points.
    """
    from scipy.optimize import curve_fit

    n = np.asarray(n, dtype=float)
    L = np.asarray(L, dtype=float)
    ok = np.isfinite(n) & np.isfinite(L) & (n > 0)
    n, L = n[ok], L[ok]
    if n.size < 4:
        raise InputError(f"a power-law fit needs at least 4 points, got {n.size}")
    sig = None if sigma is None else np.asarray(sigma, dtype=float)[ok]
    order = np.argsort(n)
    n, L = n[order], L[order]
    if sig is not None:
        sig = sig[order]
    E0 = max(float(L.min()) * 0.9, 0.0)
    best = None
    for b0 in (0.2, 0.5, 1.0, 2.0):  # a few starts: the loss surface is not convex in b
        A0 = max(float(L[0] - E0) * n[0] ** b0, 1e-9)
        try:
            popt, pcov = curve_fit(_power_law, n, L, p0=(E0, A0, b0), sigma=sig,
                                   bounds=([0.0, 0.0, 1e-4], [np.inf, np.inf, 5.0]), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        resid = L - _power_law(n, *popt)
        sse = float(np.sum(resid**2 if sig is None else (resid / sig) ** 2))
        if best is None or sse < best[0]:
            best = (sse, popt, pcov)
    if best is None:
        raise InputError("the power-law fit did not converge")
    sse, popt, pcov = best
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, np.inf)
    se = np.where(np.isfinite(se), se, np.inf)
    resid = L - _power_law(n, *popt)
    ss_tot = float(np.sum((L - L.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return PowerLawFit(float(popt[0]), float(popt[1]), float(popt[2]), float(se[0]), float(se[1]),
                       float(se[2]), r2, int(n.size))


# ---------------------------------------------------------------------------------------
# prequential learning curve
# ---------------------------------------------------------------------------------------
@dataclass
class LearningCurve:
    """Code length per byte (bits) as the data is seen, and its power-law fit."""

    compressor: str
    n: list[float]  #: position (bytes seen), geometric middle of each grid interval
    bits_per_byte: list[float]  #: marginal cost of the bytes in that interval, per byte
    grid: list[int]  #: prefix lengths where C(prefix) was measured
    bytes_used: int
    n_samples_used: int
    fit: PowerLawFit | None
    method: str
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["fit"] = None if self.fit is None else self.fit.to_dict()
        return d


def prequential_curve(stream: bytes, compressor: str | Compressor, *, points: int = 24,
                      min_prefix: int = 1024, n_samples: int = 0) -> LearningCurve:
    """Marginal code length per byte of ``stream`` over a geometric grid of prefixes.

    L at interval [n_k, n_{k+1}) is ``(C(stream[:n_{k+1}]) - C(stream[:n_k])) / (n_{k+1} - n_k)``:
    the cost of the new bytes given everything before (prequential / online coding), for any
    adaptive codec; fixed framing cancels in the difference. Total work is about 3-4x
    ``len(stream)``. With a compressor that exposes per-position code lengths
    (``lm:online``'s ``prequential_code_lengths``), those are summed over the same intervals instead (one pass).
    """
    comp = get_compressor(compressor)
    total = len(stream)
    lo = max(min(min_prefix, total // 64), 64)
    if total < 4 * lo or total < 512:
        raise InputError(f"a learning curve needs at least {max(4 * lo, 512)} bytes, got {total}")
    grid = np.unique(np.round(np.geomspace(lo, total, points + 1)).astype(np.int64))
    grid = np.concatenate([[0], grid])
    per_pos = getattr(comp, "prequential_code_lengths", None) if getattr(comp, "online", False) else None
    if callable(per_pos):
        bits = np.asarray(per_pos(stream), dtype=float)
        cum = np.concatenate([[0.0], np.cumsum(bits)])
        sizes = cum[grid]
        method = f"{comp.spec}: per-position prequential code lengths summed over a geometric grid"
    else:
        sizes = np.array([0.0] + [size_bits(comp, stream[:g]) - framing_bits(comp) for g in grid[1:]])
        method = (f"{comp.spec}: marginal cost C(prefix + next) - C(prefix) over a geometric grid "
                  f"of {len(grid) - 1} prefixes (framing removed)")
    widths = np.diff(grid).astype(float)
    rate = np.diff(sizes) / widths
    mid = np.sqrt(np.maximum(grid[:-1], 1) * grid[1:].astype(float))
    mid[0] = grid[1] / 2.0  # first interval starts at 0
    # the first interval (from an empty model) is kept in the curve but not in the fit: it
    # averages over too wide a range of n to sit at one position
    fit = None
    note = ""
    try:
        # the mean cost of w bytes has variance ~ 1/w: weight wide intervals more
        fit = fit_power_law(mid[1:], rate[1:], sigma=1.0 / np.sqrt(widths[1:]))
    except InputError as exc:
        note = str(exc)
    return LearningCurve(comp.spec, mid.tolist(), rate.tolist(), grid[1:].tolist(), total, n_samples, fit,
                         method, note)


# ---------------------------------------------------------------------------------------
# result types
# ---------------------------------------------------------------------------------------
@dataclass
class CompressorScore:
    spec: str
    window: int | None  #: bytes of history the codec can use (None: unbounded)
    total_bits: float  #: C(concatenation), sum over chunks, framing included
    bits_per_byte: float  #: total_bits / bytes of the concatenation
    ratio: float  #: compressed / original of the whole set
    sample_ratio: dict  #: quantiles of C(sample)/len(sample) over non-empty samples
    sample_ratio_framing_free: dict  #: the same with the codec's fixed framing removed
    sum_sample_bits: float  #: sum of C(sample), framing removed
    concat_bits: float  #: C(concatenation), framing removed
    shared_bits: float  #: sum_sample_bits - concat_bits: what samples share (in bits)
    redundancy: float | None  #: shared_bits / sum_sample_bits (None with < 2 samples)
    chunk_bytes: int
    n_chunks: int
    sees_bytes: int  #: min(window, chunk_bytes): farthest repeat the codec can exploit
    seconds: float = 0.0
    n_samples_scored: int = 0  #: samples this compressor priced (< all for slow ones: see lm_bytes)
    bytes_scored: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ScoreResult:
    source: str
    n_samples: int
    n_bytes: int
    n_empty: int
    n_binary: int
    n_seen: int  #: samples in the stream (> n_samples when sampled)
    sampled: bool
    compressors: list[CompressorScore]
    gzip_compressibility: float | None  #: Pandey (2024): median per-sample gzip ratio
    exact_duplicates: dict
    near_duplicates: dict
    least_compressible: list[dict]
    most_compressible: list[dict]
    outlier_compressor: str
    learning_curve: LearningCurve | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sample_ratios: dict = field(default_factory=dict, repr=False)  #: spec -> per-sample ratios (for plots)
    plots: list[str] = field(default_factory=list)

    # -- exports --------------------------------------------------------------------------
    def to_dict(self, *, include_sample_ratios: bool = False) -> dict:
        d = {
            "source": self.source, "n_samples": self.n_samples, "n_bytes": self.n_bytes,
            "n_empty": self.n_empty, "n_binary": self.n_binary, "n_seen": self.n_seen,
            "sampled": self.sampled,
            "gzip_compressibility_pandey2024": self.gzip_compressibility,
            "compressors": [c.to_dict() for c in self.compressors],
            "exact_duplicates": self.exact_duplicates, "near_duplicates": self.near_duplicates,
            "outlier_compressor": self.outlier_compressor,
            "least_compressible": self.least_compressible, "most_compressible": self.most_compressible,
            "learning_curve": None if self.learning_curve is None else self.learning_curve.to_dict(),
            "warnings": list(self.warnings), "notes": list(self.notes), "plots": list(self.plots),
            "units": "sizes in bits; ratio = compressed bytes / original bytes",
        }
        if include_sample_ratios:
            d["sample_ratios"] = {k: np.asarray(v).tolist() for k, v in self.sample_ratios.items()}
        return json_safe(d)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(**kw), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        out = [f"# Compressibility of `{self.source}`", ""]
        samp = f" (uniform random sample of {self.n_seen:,} seen)" if self.sampled else ""
        out.append(f"{self.n_samples:,} samples{samp}, {self.n_bytes:,} bytes; "
                   f"{self.n_empty} empty, {self.n_binary} binary (non-UTF-8 or NUL).")
        if self.gzip_compressibility is not None:
            out.append("")
            out.append(f"**gzip-compressibility (Pandey 2024, median per-sample gzip ratio): "
                       f"{self.gzip_compressibility:.4f}**")
        out += ["", "## Compressors", "",
                ("| compressor | bits/byte | ratio | median sample ratio (framing-free) | q05 / q95 sample ratio | "
                "shared across samples | window | chunk |"),
                "|---|---|---|---|---|---|---|---|"]
        for c in self.compressors:
            sr = c.sample_ratio
            red = "n/a" if c.redundancy is None else f"{100 * c.redundancy:.1f}% ({c.shared_bits / 8:,.0f} B)"
            q = f"{sr['q05']:.3f} / {sr['q95']:.3f}" if sr else "n/a"
            med = f"{sr['median']:.3f} ({c.sample_ratio_framing_free['median']:.3f})" if sr else "n/a"
            name = c.spec if c.n_samples_scored >= self.n_samples else f"{c.spec} (subset: {c.n_samples_scored:,})"
            out.append(f"| {name} | {c.bits_per_byte:.3f} | {c.ratio:.4f} | {med} | {q} | {red} | "
                       f"{_human(c.window)} | {_human(c.chunk_bytes)} |")
        out += ["", ("Shared = sum of per-sample sizes minus the size of their concatenation (framing "
                "removed from both), i.e. bits the samples share. The concatenation is compressed in "
                "chunks; a codec only finds repeats within min(window, chunk) bytes.")]
        ed, nd = self.exact_duplicates, self.near_duplicates
        out += ["", "## Duplicates", ""]
        if ed.get("available", True):
            out.append(f"- exact: {ed['n_duplicate_samples']:,} samples are copies of an earlier one "
                       f"({100 * ed['fraction']:.2f}%), in {ed['n_groups']:,} groups")
            for ex in ed.get("examples", [])[:3]:
                out.append(f"  - x{ex['count']} (first at #{ex['first_index']}): `{_md(ex['preview'])}`")
        else:
            out.append(f"- exact: {ed.get('reason', 'n/a')}")
        if nd.get("available", True):
            out.append(f"- near (NCD[{nd['compressor']}] <= {nd['threshold']}, MinHash/LSH Jaccard prefilter "
                       f">= {nd['lsh_threshold']} on byte {SHINGLE}-grams): {nd['n_pairs']:,} pairs among "
                       f"{nd['n_candidates']:,} LSH candidates; {nd['n_samples_involved']:,} samples in "
                       f"{nd['n_clusters']:,} clusters")
            for ex in nd.get("examples", [])[:3]:
                out.append(f"  - NCD {ex['ncd']:.3f}: #{ex['i']} `{_md(ex['preview_i'])}`  vs #{ex['j']} "
                           f"`{_md(ex['preview_j'])}`")
        else:
            out.append(f"- near: {nd.get('reason', 'n/a')}")
        out += ["", (f"## Outliers ({self.outlier_compressor}, framing-free bits/byte vs the typical value "
                "at the same length)"), ""]
        for title, rows in (("least compressible (noise?)", self.least_compressible),
                            ("most compressible (boilerplate?)", self.most_compressible)):
            out.append(f"**{title}**")
            out.append("")
            for r in rows:
                out.append(f"- #{r['index']} {r['bits_per_byte']:.2f} bits/byte (typical "
                           f"{r['expected_bits_per_byte']:.2f}), {r['bytes']} B: `{_md(r['preview'])}`")
            out.append("")
        lc = self.learning_curve
        out += ["## Learning curve (prequential)", ""]
        if lc is None:
            out.append("not computed")
        else:
            out.append(f"{lc.method}; {lc.bytes_used:,} bytes from {lc.n_samples_used:,} samples in random order.")
            out.append("")
            if lc.fit is not None:
                f = lc.fit
                out.append(f"Fit L(n) = E + A n^-b: **E = {f.E:.3f} ± {f.E_se:.3f} bits/byte**, "
                           f"A = {f.A:.3g} ± {f.A_se:.2g}, b = {f.b:.3f} ± {f.b_se:.3f} (R² = {f.r2:.3f}, "
                           f"{f.n_points} points)")
            if lc.note:
                out.append(f"note: {lc.note}")
            first, last = lc.bits_per_byte[1] if len(lc.bits_per_byte) > 1 else lc.bits_per_byte[0], lc.bits_per_byte[-1]
            out.append("")
            out.append(f"code length: {first:.3f} bits/byte early (n ~ {lc.n[1 if len(lc.n) > 1 else 0]:,.0f}) -> "
                       f"{last:.3f} at n ~ {lc.n[-1]:,.0f}")
        if self.warnings:
            out += ["", "## Warnings", ""] + [f"- {w}" for w in self.warnings]
        if self.notes:
            out += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        if self.plots:
            out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in self.plots]
        return "\n".join(out) + "\n"

    def plot(self, directory: str | Path, *, prefix: str = "score") -> list[str]:
        """Write ``{prefix}_ratio_hist.png`` and ``{prefix}_learning_curve.png``; returns the paths."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
        allr = [np.asarray(v) for v in self.sample_ratios.values() if len(v)]
        if allr:
            hi = float(min(np.quantile(np.concatenate(allr), 0.995) * 1.05, 3.0))
            lo = float(max(np.concatenate(allr).min() * 0.95, 0.0))
            bins = np.linspace(lo, max(hi, lo + 1e-3), 50)
            for spec, r in self.sample_ratios.items():
                if len(r):
                    label = spec if len(r) >= self.n_samples - self.n_empty else f"{spec} ({len(r):,} samples)"
                    ax.hist(np.clip(r, lo, hi), bins=bins, histtype="step", lw=1.5, label=label, density=True)
            ax.legend(fontsize=8)
        ax.set_xlabel("per-sample ratio C(x)/|x| (compressed / original)")
        ax.set_ylabel("density")
        ax.set_title(f"{_short(self.source)}: {self.n_samples:,} samples", fontsize=9)
        fig.tight_layout()
        p = directory / f"{prefix}_ratio_hist.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(str(p))
        lc = self.learning_curve
        if lc is not None:
            fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
            ax.plot(lc.n, lc.bits_per_byte, "o", ms=4, label=f"{lc.compressor} (prequential)")
            if lc.fit is not None:
                xs = np.geomspace(min(lc.n[1:] or lc.n), max(lc.n), 200)
                f = lc.fit
                ax.plot(xs, f.predict(xs), "-", label=f"E + A n^-b: E={f.E:.2f}, b={f.b:.2f}")
                ax.axhline(f.E, ls=":", color="gray", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("bytes seen (n)")
            ax.set_ylabel("code length (bits/byte)")
            ax.set_title(f"learning curve: {_short(self.source)}", fontsize=9)
            ax.legend(fontsize=8)
            fig.tight_layout()
            p = directory / f"{prefix}_learning_curve.png"
            fig.savefig(p)
            plt.close(fig)
            paths.append(str(p))
        self.plots = paths
        return paths


def _human(n: int | None) -> str:
    if n is None:
        return "unbounded"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} B"


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else "\u2026" + s[-(n - 1):]


def _md(s: str) -> str:
    return s.replace("`", "'").replace("|", "\\|")


# ---------------------------------------------------------------------------------------
# sources
# ---------------------------------------------------------------------------------------
def _to_bytes(item, kinds: set, i: int) -> bytes:
    if isinstance(item, str):
        kinds.add("str")
        try:
            return item.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputError(f"sample #{i} is a str that cannot be encoded as UTF-8: {exc}") from exc
    if isinstance(item, (bytes, bytearray, memoryview)):
        kinds.add("bytes")
        return bytes(item)
    raise InputError(f"sample #{i} must be str or bytes, got {type(item).__name__}")


def _make_source(data, field_name: str | None) -> tuple[str, Callable[[], Iterator]]:
    """A re-iterable source: (label, factory returning a fresh iterator of str/bytes)."""
    if isinstance(data, (str, Path)):
        from kcomp.io import iter_texts

        path = Path(data)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        return str(path), (lambda: iter_texts(path, field_name))
    if isinstance(data, (bytes, bytearray)):
        raise InputError("pass a list of samples (or a path), not a single bytes object")
    if isinstance(data, Iterator):
        data = list(data)  # a one-shot iterator: it has to be held to be read twice
    if not isinstance(data, Iterable):
        raise InputError(f"data must be a path or a list of str/bytes samples, got {type(data).__name__}")
    return f"<{type(data).__name__} of samples>", (lambda: iter(data))


def _reservoir(it: Iterable, k: int, seed: int, bar=None) -> tuple[list[tuple[int, object]], int]:
    """Uniform sample of k (index, item) pairs from a stream of unknown length (Algorithm L)."""
    rng = random.Random(seed)
    res: list[tuple[int, object]] = []
    n = 0
    w = math.exp(math.log(rng.random()) / k)
    nxt = k + int(math.log(rng.random()) / math.log(1 - w)) if k else 0
    for n, item in enumerate(it):
        if bar is not None:
            bar.update(1)
        if n < k:
            res.append((n, item))
        elif n == nxt:
            res[rng.randrange(k)] = (n, item)
            w *= math.exp(math.log(rng.random()) / k)
            nxt = n + 1 + int(math.log(rng.random()) / math.log(1 - w))
    total = n + 1 if (res or n) else 0
    res.sort(key=lambda t: t[0])
    return res, total


def _summarize(c: Compressor, s: np.ndarray, lens: np.ndarray, concat_raw: float, concat_len: int, n_chunks: int,
               fr: float, chunk_bytes: int, seconds: float) -> CompressorScore:
    """One compressor's row from per-sample sizes ``s`` (bits) of samples of lengths ``lens``."""
    n = int(lens.size)
    ne = lens > 0
    concat_ff = concat_raw - fr * n_chunks
    sum_hl = float(np.sum(s - fr))
    shared = sum_hl - concat_ff
    sees = chunk_bytes if c.window is None else min(c.window, chunk_bytes)
    return CompressorScore(
        spec=c.spec, window=c.window, total_bits=concat_raw,
        bits_per_byte=concat_raw / concat_len if concat_len else float("nan"),
        ratio=concat_raw / 8.0 / concat_len if concat_len else float("nan"),
        sample_ratio=_quantiles(s[ne] / 8.0 / lens[ne]),
        sample_ratio_framing_free=_quantiles(np.maximum(s[ne] - fr, 0) / 8.0 / lens[ne]),
        sum_sample_bits=sum_hl, concat_bits=concat_ff,
        shared_bits=shared if n > 1 else 0.0,
        redundancy=(shared / sum_hl if sum_hl > 0 else None) if n > 1 else None,
        chunk_bytes=chunk_bytes, n_chunks=n_chunks, sees_bytes=sees, seconds=seconds,
        n_samples_scored=n, bytes_scored=int(lens.sum()))


# ---------------------------------------------------------------------------------------
# the scorer
# ---------------------------------------------------------------------------------------
def score_dataset(
    data,
    compressors: Sequence[str | Compressor] | None = None,
    *,
    field: str | None = None,
    sample: int | None = None,
    seed: int = 0,
    chunk_bytes: int = 4 << 20,
    near_dup_threshold: float = 0.3,
    near_dup_compressor: str | Compressor = "gzip",
    lsh_threshold: float = 0.5,
    num_perm: int = 64,
    max_candidates_per_sample: int = 20,
    curve_compressor: str | Compressor | None = None,
    curve_bytes: int | None = None,
    lm_bytes: int = 256 << 10,
    n_outliers: int = 5,
    min_outlier_bytes: int = 64,
    n_examples: int = 5,
    progress: bool | None = None,
) -> ScoreResult:
    """Score how compressible (structured, redundant) a dataset is; see the module docstring.

    ``data``: a path (directory: one raw-bytes sample per file; ``.txt``: one sample per line;
    ``.jsonl``/``.csv``: the ``field`` column; optionally ``.gz``) or a list of str/bytes.
    ``sample``: score a uniform random sample of that many samples (reservoir; holds them).
    ``curve_compressor``: the adaptive model of the learning curve (default: ``lm:online`` when
    installed, else ``ppmd``, else ``lzma``); ``curve_bytes`` caps its data (default 2 MiB, 256 KiB for lm);
    0 disables it. ``lm_bytes``: slow neural compressors (family ``lm``) price a seeded random
    subset of samples of about this many bytes (all samples when the set is smaller); their
    row says how many. ``near_dup_threshold``: NCD at or below which a candidate pair is a near
    duplicate; ``near_dup_threshold=None`` disables near-duplicate search.
    """
    import time

    from tqdm.auto import tqdm

    specs = default_compressors() if compressors is None else list(compressors)
    if not specs:
        raise InputError("at least one compressor is needed")
    comps = [get_compressor(c) for c in specs]
    if len({c.spec for c in comps}) != len(comps):
        raise InputError(f"compressors repeat: {[c.spec for c in comps]}")
    gz = get_compressor("gzip")
    gz_idx = next((k for k, c in enumerate(comps) if c.spec == gz.spec), None)
    slow = [k for k, c in enumerate(comps) if c.family == "lm"]  # ~20 KB/s on a CPU: subset only
    fast = [k for k in range(len(comps)) if k not in slow]
    if slow and (not isinstance(lm_bytes, (int, np.integer)) or lm_bytes < 1):
        raise InputError(f"lm_bytes must be a positive int, got {lm_bytes!r}")
    nd_comp = get_compressor(near_dup_compressor)
    if sample is not None and (not isinstance(sample, int) or sample < 1):
        raise InputError(f"sample must be a positive int, got {sample!r}")
    if chunk_bytes < 1024:
        raise InputError(f"chunk_bytes must be at least 1024, got {chunk_bytes}")
    if curve_bytes is not None and (not isinstance(curve_bytes, (int, np.integer)) or curve_bytes < 0):
        raise InputError(f"curve_bytes must be a non-negative int (0 skips the curve), got {curve_bytes!r}")
    if curve_compressor is not None:
        get_compressor(curve_compressor)  # fail fast on a bad spec, before the long pass
    if near_dup_threshold is not None and not 0 <= near_dup_threshold <= 2:
        raise InputError(f"near_dup_threshold is an NCD, expected 0..2, got {near_dup_threshold!r}")
    if not 0 < lsh_threshold < 1:
        raise InputError(f"lsh_threshold is a Jaccard similarity in (0, 1), got {lsh_threshold!r}")
    label, factory = _make_source(data, field)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    warnings: list[str] = []
    notes: list[str] = []

    # ---- optional reservoir sample ------------------------------------------------------
    n_seen = None
    index_map: list[int] | None = None
    if sample is not None:
        with tqdm(desc="sampling", unit="sample", disable=disable, leave=False) as bar:
            res, n_seen = _reservoir(factory(), sample, seed, bar)
        if n_seen > sample:
            index_map = [i for i, _ in res]
            items = [x for _, x in res]
            factory = lambda: iter(items)
            notes.append(f"scored a uniform random sample (reservoir, seed {seed}) of {sample:,} of the "
                         f"{n_seen:,} samples; indices refer to the full stream")
        else:
            items = [x for _, x in res]
            factory = lambda: iter(items)
    orig = (lambda i: index_map[i]) if index_map is not None else (lambda i: i)

    # ---- pass 1: per-sample sizes, chunked concatenation, hashes, MinHash/LSH --------------
    nc = len(comps)
    lengths = array("q")  # compact per-sample numbers: 8 bytes each
    sizes = [array("d") for _ in comps]
    gz_sizes = array("d")
    concat_raw_bits = np.zeros(nc)
    n_chunks = 0
    chunk: list[bytes] = []
    chunk_len = 0
    seconds = np.zeros(nc)
    fr = np.array([framing_bits(c) for c in comps])
    kinds: set = set()
    n_empty = n_binary = 0
    exact: dict[bytes, list] = {}  # digest -> [first index, count]
    n_exact_extra = 0
    hasher = MinHasher(num_perm, seed)
    lsh = None
    cand_pairs: list[tuple[int, int, float]] = []
    n_lsh_truncated = 0
    if near_dup_threshold is not None:
        from datasketch import MinHash, MinHashLSH

        lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
        template = MinHash(num_perm=num_perm, seed=seed)
        sigs: dict[int, np.ndarray] = {}

    def flush():
        nonlocal chunk, chunk_len, n_chunks
        if not chunk:
            return
        blob = SEPARATOR.join(chunk)
        for k in fast:
            c = comps[k]
            t0 = time.perf_counter()
            b = size_bits(c, blob)
            seconds[k] += time.perf_counter() - t0
            concat_raw_bits[k] += b
        n_chunks += 1
        chunk, chunk_len = [], 0

    total = len(items) if sample is not None else (len(data) if hasattr(data, "__len__") and not isinstance(data, (str, Path)) else None)
    with tqdm(total=total, desc="scoring", unit="sample", disable=disable, leave=False) as bar:
        for i, item in enumerate(factory()):
            x = _to_bytes(item, kinds, orig(i))
            if len(kinds) > 1:
                raise InputError("samples mix str and bytes; pass all str (UTF-8) or all bytes")
            lengths.append(len(x))
            if not x:
                n_empty += 1
            elif kinds == {"bytes"} and looks_binary(x):
                n_binary += 1
            for k in fast:
                t0 = time.perf_counter()
                sizes[k].append(size_bits(comps[k], x))
                seconds[k] += time.perf_counter() - t0
            gz_sizes.append(sizes[gz_idx][-1] if gz_idx is not None else gz.size_bits(x))
            # whole-set concatenation, chunked
            if chunk and chunk_len + len(x) + 1 > chunk_bytes:
                flush()
            chunk.append(x)
            chunk_len += len(x) + 1
            # exact duplicates
            dg = hashlib.blake2b(x, digest_size=16).digest()
            slot = exact.get(dg)
            if slot is not None:
                if slot[1] == 1:
                    slot.append(preview(x))  # the preview is only kept for duplicated samples
                slot[1] += 1
                n_exact_extra += 1
            else:
                exact[dg] = [i, 1]
            # near-duplicate candidates (exact copies are counted above, not here)
            if lsh is not None and slot is None and len(x) >= 2 * SHINGLE:
                sig = hasher.signature(shingle_hashes(x))
                m = template.copy()
                m.hashvalues = sig
                found = lsh.query(m)
                if found:
                    found = np.fromiter(found, dtype=np.int64, count=len(found))
                    jac = (np.stack([sigs[j] for j in found]) == sig).mean(axis=1)
                    if found.size > max_candidates_per_sample:  # keep the most similar
                        n_lsh_truncated += 1
                        keep = np.lexsort((found, -jac))[:max_candidates_per_sample]
                        found, jac = found[keep], jac[keep]
                    cand_pairs.extend(zip(found.tolist(), [i] * found.size, jac.tolist()))
                lsh.insert(i, m)
                sigs[i] = sig
            bar.update(1)
        flush()
    n = len(lengths)
    if n == 0:
        raise InputError(f"{label}: holds no samples (nothing to score)")
    lengths_a = np.asarray(lengths, dtype=np.int64)
    n_bytes = int(lengths_a.sum())
    if n_bytes == 0:
        raise InputError(f"{label}: all {n} samples are empty (0 bytes): nothing to score")
    if lsh is not None:
        del lsh, sigs
    if n_empty:
        warnings.append(f"{n_empty} of {n} samples are empty (0 bytes): left out of the per-sample ratios")
    if n_binary:
        warnings.append(f"{n_binary} of {n} samples look binary (not UTF-8, or NUL bytes): scores are "
                        "about raw bytes, and text-oriented codecs (and lm) may behave unlike on text")
    if n == 1:
        warnings.append("only one sample: cross-sample redundancy and duplicates need at least 2 samples")

    # ---- per-compressor summaries ---------------------------------------------------------
    nonempty = lengths_a > 0
    concat_len = n_bytes + max(n - n_chunks, 0)  # samples plus the separators inside each chunk
    results = []
    sample_ratios = {}
    results: list[CompressorScore | None] = [None] * len(comps)
    for k in fast:
        c = comps[k]
        results[k] = _summarize(c, np.asarray(sizes[k]), lengths_a, float(concat_raw_bits[k]), concat_len,
                                n_chunks, fr[k], chunk_bytes, float(seconds[k]))
        sample_ratios[c.spec] = np.asarray(sizes[k])[nonempty] / 8.0 / lengths_a[nonempty]
        sees = results[k].sees_bytes
        if c.window is not None and n_bytes > c.window and n > 1:
            notes.append(f"{c.spec}: window {_human(c.window)} < dataset {_human(n_bytes)}: its cross-sample "
                         f"redundancy only counts repeats within {_human(sees)} of each other")
    if n_chunks > 1:
        notes.append(f"the concatenation was compressed in {n_chunks} chunks of <= {_human(chunk_bytes)} "
                     "(streaming, bounded memory): repeats across chunks are not counted")
    # ---- outliers: framing-free bits/byte, ranked by the residual given the sample length
    # (short samples always compress worse: ranking raw bits/byte would only list the shortest)
    out_bits = np.asarray(gz_sizes) - framing_bits(gz)
    elig = np.flatnonzero(lengths_a >= min_outlier_bytes)
    outlier_rows: dict[str, list] = {"least": [], "most": []}
    if elig.size >= 2:
        bpb = out_bits[elig] / lengths_a[elig]
        loglen = np.log(lengths_a[elig].astype(float))
        deg = 2 if np.unique(loglen).size > 3 else (1 if np.unique(loglen).size > 1 else 0)
        expected = np.polyval(np.polyfit(loglen, bpb, deg), loglen) if deg else np.full(bpb.size, bpb.mean())
        resid = bpb - expected
        order = np.argsort(resid, kind="stable")
        k_out = min(n_outliers, elig.size // 2 if elig.size > 1 else 1)
        for key, picks in (("least", order[::-1][:k_out]), ("most", order[:k_out])):
            outlier_rows[key] = [(int(elig[p]), float(bpb[p]), float(expected[p]), float(resid[p])) for p in picks]
    gz_ratios = np.asarray(gz_sizes)[nonempty] / 8.0 / lengths_a[nonempty]
    gzip_compressibility = float(np.median(gz_ratios)) if gz_ratios.size else None
    del sizes, gz_sizes

    # ---- exact duplicates ---------------------------------------------------------------
    if n > 1:
        groups = [(v[1], v[0], v[2]) for v in exact.values() if v[1] > 1]
        groups.sort(key=lambda g: (-g[0], g[1]))
        exact_dup = {"available": True, "n_groups": len(groups), "n_duplicate_samples": n_exact_extra,
                     "fraction": n_exact_extra / n, "hash": "blake2b-128 of the sample bytes",
                     "examples": [{"count": cnt, "first_index": orig(first), "preview": pv}
                                  for cnt, first, pv in groups[:n_examples]]}
    else:
        exact_dup = {"available": False, "reason": "needs at least 2 samples"}
    del exact

    # ---- learning-curve subset (random order, capped bytes) --------------------------------
    curve_comp = None
    if curve_bytes is None or curve_bytes > 0:
        curve_spec = curve_compressor if curve_compressor is not None else default_curve_compressor()
        curve_comp = get_compressor(curve_spec)
        if curve_bytes is None:
            curve_bytes = (256 << 10) if curve_comp.family == "lm" else (2 << 20)
    rng = np.random.default_rng(seed)
    curve_take: dict[int, int] = {}  # sample index -> position in the curve stream
    if curve_comp is not None:
        perm = rng.permutation(n)
        acc = 0
        for pos, j in enumerate(perm):
            if lengths_a[j] == 0:
                continue
            curve_take[int(j)] = pos
            acc += int(lengths_a[j]) + 1
            if acc >= curve_bytes:
                break
        del perm

    slow_take: set[int] = set()  # the random subset the slow (lm) compressors price
    if slow:
        acc = 0
        for j in np.random.default_rng(seed + 1).permutation(n):
            slow_take.add(int(j))
            acc += int(lengths_a[j]) + 1
            if acc >= lm_bytes:
                break
    slow_texts: dict[int, bytes] = {}

    # ---- pass 2: fetch candidate texts and the curve subset, exact NCD on candidates -------
    need_until: dict[int, int] = {}
    by_second: dict[int, list[tuple[int, float]]] = {}
    for j, i, jac in cand_pairs:
        need_until[j] = max(need_until.get(j, -1), i)
        by_second.setdefault(i, []).append((j, jac))
    n_candidates = len(cand_pairs)
    del cand_pairs
    held: dict[int, bytes] = {}
    curve_parts: dict[int, bytes] = {}
    near_pairs: list[tuple[float, int, int, float]] = []
    c_nd: dict[int, float] = {}
    want_preview = {r[0] for rows_ in outlier_rows.values() for r in rows_}
    previews: dict[int, str] = {}
    if need_until or curve_take or want_preview or slow_take:
        with tqdm(total=n, desc="duplicates + curve", unit="sample", disable=disable, leave=False) as bar:
            for i, item in enumerate(factory()):
                if i >= n:
                    break
                if i in need_until or i in by_second or i in curve_take or i in want_preview or i in slow_take:
                    x = _to_bytes(item, set(), orig(i))
                    if i in slow_take:
                        slow_texts[i] = x
                    if i in want_preview:
                        previews[i] = preview(x)
                    if i in curve_take:
                        curve_parts[curve_take[i]] = x
                    if i in by_second:
                        ci = c_nd.get(i)
                        if ci is None:
                            ci = c_nd[i] = size_bits(nd_comp, x)
                        for j, jac in by_second.pop(i):
                            y = held[j]
                            d = ncd_from_sizes(c_nd[j], ci, size_bits(nd_comp, y + NCD_SEPARATOR + x))
                            if d <= near_dup_threshold:
                                near_pairs.append((d, j, i, jac))
                            if need_until.get(j) == i:
                                held.pop(j, None)
                                c_nd.pop(j, None)
                                need_until.pop(j)
                    if i in need_until:
                        held[i] = x
                        c_nd.setdefault(i, size_bits(nd_comp, x))
                    else:
                        c_nd.pop(i, None)
                bar.update(1)
    del held
    for k in slow:
        c = comps[k]
        idx = sorted(slow_texts)
        t0 = time.perf_counter()
        s_arr = np.array([size_bits(c, slow_texts[i]) for i in idx], dtype=float)
        raw = 0.0
        nch = 0
        buf: list[bytes] = []
        blen = 0
        for i in idx + [None]:
            x = None if i is None else slow_texts[i]
            if buf and (x is None or blen + len(x) + 1 > chunk_bytes):
                raw += size_bits(c, SEPARATOR.join(buf))
                nch += 1
                buf, blen = [], 0
            if x is not None:
                buf.append(x)
                blen += len(x) + 1
        lens = lengths_a[idx] if idx else np.zeros(0, dtype=np.int64)
        clen = int(lens.sum()) + max(len(idx) - nch, 0)
        results[k] = _summarize(c, s_arr, lens, raw, clen, nch, framing_bits(c), chunk_bytes,
                                time.perf_counter() - t0)
        ne = lens > 0
        sample_ratios[c.spec] = s_arr[ne] / 8.0 / lens[ne]
        if len(idx) < n:
            notes.append(f"{c.spec} (slow on a CPU) priced a seeded random subset of {len(idx):,} samples "
                         f"({_human(int(lens.sum()))}; lm_bytes / --lm-bytes), not all {n:,}")
    del slow_texts
    if near_dup_threshold is None:
        near_dup = {"available": False, "reason": "disabled (near_dup_threshold=None)"}
    elif n < 2:
        near_dup = {"available": False, "reason": "needs at least 2 samples"}
    else:
        parent = {}

        def find(a):
            while parent.get(a, a) != a:
                parent[a] = parent.get(parent[a], parent[a])
                a = parent[a]
            return a

        for _, j, i, _ in near_pairs:
            ra, rb = find(j), find(i)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        involved = {j for _, j, _, _ in near_pairs} | {i for _, _, i, _ in near_pairs}
        clusters = {find(a) for a in involved}
        near_pairs.sort()
        examples = []
        if near_pairs:
            want = set()
            for d, j, i, jac in near_pairs[:n_examples]:
                want.update((j, i))
            texts = _fetch(factory, want, n)
            examples = [{"i": orig(j), "j": orig(i), "ncd": d, "jaccard_estimate": jac,
                         "preview_i": preview(texts[j]), "preview_j": preview(texts[i])}
                        for d, j, i, jac in near_pairs[:n_examples]]
        near_dup = {"available": True, "compressor": nd_comp.spec, "threshold": near_dup_threshold,
                    "lsh_threshold": lsh_threshold, "num_perm": num_perm, "shingle_bytes": SHINGLE,
                    "n_candidates": n_candidates, "n_pairs": len(near_pairs),
                    "n_samples_involved": len(involved), "n_clusters": len(clusters),
                    "fraction_involved": len(involved) / n,
                    "ncd_quantiles": _quantiles(np.array([p[0] for p in near_pairs])),
                    "examples": examples,
                    "method": "MinHash LSH candidates (exact copies excluded), then exact NCD on each pair"}
        if n_lsh_truncated:
            near_dup["note"] = (f"{n_lsh_truncated} samples had more than {max_candidates_per_sample} LSH "
                                "candidates; only the most similar were checked")
        if nd_comp.window is not None and int(lengths_a.max()) > nd_comp.window:
            warnings.append(f"some samples exceed {nd_comp.spec}'s {_human(nd_comp.window)} window: their NCD "
                            "underestimates similarity (a codec limit), near duplicates may be missed")

    # ---- learning curve ------------------------------------------------------------------
    curve = None
    if curve_take:
        stream = SEPARATOR.join(curve_parts[p] for p in sorted(curve_parts))[:curve_bytes]
        try:
            curve = prequential_curve(stream, curve_comp, n_samples=len(curve_parts))
            if curve.fit is None:
                warnings.append(f"learning curve: {curve.note}")
        except InputError as exc:
            warnings.append(f"learning curve not computed: {exc}")
        del stream
    del curve_parts

    def rows(key):
        return [{"index": orig(i), "bits_per_byte": b, "expected_bits_per_byte": e, "residual": r,
                 "bytes": int(lengths_a[i]), "preview": previews.get(i, "")} for i, b, e, r in outlier_rows[key]]

    for c in results:
        if c.redundancy is not None and c.redundancy < 0:
            notes.append(f"{c.spec}: the concatenation costs more than the samples coded one by one (negative "
                         f"sharing): the codec gains nothing across samples and loses its fresh start at each "
                         f"sample border (window {_human(c.window)})")
    return ScoreResult(
        source=label, n_samples=n, n_bytes=n_bytes, n_empty=n_empty, n_binary=n_binary,
        n_seen=n_seen if n_seen is not None else n, sampled=index_map is not None, compressors=results,
        gzip_compressibility=gzip_compressibility, exact_duplicates=exact_dup, near_duplicates=near_dup,
        least_compressible=rows("least"), most_compressible=rows("most"),
        outlier_compressor=gz.spec, learning_curve=curve, warnings=warnings, notes=notes,
        sample_ratios=sample_ratios)


def _fetch(factory, want: set[int], n: int) -> dict[int, bytes]:
    out = {}
    if not want:
        return out
    for i, item in enumerate(factory()):
        if i >= n:
            break
        if i in want:
            out[i] = _to_bytes(item, set(), i)
            if len(out) == len(want):
                break
    return out
