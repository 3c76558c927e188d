"""Markdown reports and PNG plots of the scorer and of the subadditivity check (one place for
both: number formatting, tables, figures)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from kcomp.score.pricing import SHINGLE

HIST_CAP = 3.0  #: ratio histogram: values above this land in one announced overflow bin


def human(n: int | None) -> str:
    """Bytes as B/KiB/MiB/GiB; None means an unbounded window."""
    if n is None:
        return "unbounded"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.4g} {unit}"
    return f"{n} B"


def short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else "\u2026" + s[-(n - 1):]


def md(s: str) -> str:
    """Text made safe inside a Markdown code span / table cell."""
    return s.replace("`", "'").replace("|", "\\|")


@contextmanager
def figure(path: Path, size=(6, 3.6)):
    """A matplotlib (Agg) figure and axes, saved to ``path`` and closed on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=size, dpi=100)
    try:
        yield ax
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------------------
# kcomp score
# ---------------------------------------------------------------------------------------
def _compressor_table(r) -> list[str]:
    out = [("| compressor | bits/byte | ratio | median sample ratio (framing-free) | q05 / q95 sample ratio | "
            "shared across samples | window | chunk |"), "|---|---|---|---|---|---|---|---|"]
    for c in r.compressors:
        sr = c.sample_ratio
        red = "n/a" if c.redundancy is None else f"{100 * c.redundancy:.1f}% ({c.shared_bits / 8:,.0f} B)"
        q = f"{sr['q05']:.3f} / {sr['q95']:.3f}" if sr else "n/a"
        med = f"{sr['median']:.3f} ({c.sample_ratio_framing_free['median']:.3f})" if sr else "n/a"
        name = c.spec if c.n_samples_scored >= r.n_samples else f"{c.spec} (subset: {c.n_samples_scored:,})"
        out.append(f"| {name} | {c.bits_per_byte:.3f} | {c.ratio:.4f} | {med} | {q} | {red} | "
                   f"{human(c.window)} | {human(c.chunk_bytes)} |")
    out += ["", ("Shared = sum of per-sample sizes minus the size of their concatenation (container framing "
                 "removed from both), i.e. bits the samples share. The concatenation is compressed in "
                 "chunks; a codec only finds repeats within min(window, chunk) bytes.")]
    return out


def _duplicates(r) -> list[str]:
    ed, nd = r.exact_duplicates, r.near_duplicates
    out = ["", "## Duplicates", ""]
    if ed.get("available", True):
        out.append(f"- exact: {ed['n_duplicate_samples']:,} samples are copies of an earlier one "
                   f"({100 * ed['fraction']:.2f}%), in {ed['n_groups']:,} groups")
        out += [f"  - x{ex['count']} (first at #{ex['first_index']}): `{md(ex['preview'])}`"
                for ex in ed.get("examples", [])[:3]]
    else:
        out.append(f"- exact: {ed.get('reason', 'n/a')}")
    if nd.get("available", True):
        out.append(f"- near (NCD[{nd['compressor']}] <= {nd['threshold']}, MinHash/LSH Jaccard prefilter "
                   f">= {nd['lsh_threshold']} on byte {SHINGLE}-grams): {nd['n_pairs']:,} pairs among "
                   f"{nd['n_candidates']:,} LSH candidates; {nd['n_samples_involved']:,} samples in "
                   f"{nd['n_clusters']:,} clusters")
        out += [f"  - NCD {ex['ncd']:.3f}: #{ex['i']} `{md(ex['preview_i'])}`  vs #{ex['j']} `{md(ex['preview_j'])}`"
                for ex in nd.get("examples", [])[:3]]
    else:
        out.append(f"- near: {nd.get('reason', 'n/a')}")
    return out


def _outliers(r) -> list[str]:
    out = ["", (f"## Outliers ({r.outlier_compressor}, framing-free bits/byte vs the typical value "
                "at the same length)"), ""]
    for title, rows in (("least compressible (noise?)", r.least_compressible),
                        ("most compressible (boilerplate?)", r.most_compressible)):
        out += [f"**{title}**", ""]
        out += [f"- #{row['index']} {row['bits_per_byte']:.2f} bits/byte (typical "
                f"{row['expected_bits_per_byte']:.2f}), {row['bytes']} B: `{md(row['preview'])}`" for row in rows]
        out.append("")
    return out


def fit_line(f) -> str:
    """The fitted law, in bold only when the fit is reliable (else the reasons)."""
    body = (f"E = {f.E:.3f} ± {f.E_se:.3f} bits/byte, A = {f.A:.3g} ± {f.A_se:.2g}, b = {f.b:.3f} ± "
            f"{f.b_se:.3f} (R² = {f.r2:.3f}, {f.n_points} points)")
    reasons = f.unreliable_reasons()
    if not reasons:
        return f"Fit L(n) = E + A n^-b: **{body}**"
    return f"Fit L(n) = E + A n^-b is unreliable ({'; '.join(reasons)}): {body}"


def _curve(lc) -> list[str]:
    out = ["## Learning curve (prequential)", ""]
    if lc is None:
        return out + ["not computed"]
    out += [f"{lc.method}; {lc.bytes_used:,} bytes from {lc.n_samples_used:,} samples in random order.", ""]
    if lc.fit is not None:
        out.append(fit_line(lc.fit))
    if lc.note:
        out.append(f"note: {lc.note}")
    k = 1 if len(lc.bits_per_byte) > 1 else 0
    out += ["", f"code length: {lc.bits_per_byte[k]:.3f} bits/byte early (n ~ {lc.n[k]:,.0f}) -> "
                f"{lc.bits_per_byte[-1]:.3f} at n ~ {lc.n[-1]:,.0f}"]
    return out


def score_markdown(r) -> str:
    out = [f"# Compressibility of `{r.source}`", ""]
    samp = f" (uniform random sample of {r.n_seen:,} seen)" if r.sampled else ""
    skipped = "".join(f"; skipped by the reader: {v:,} {k}" for k, v in r.skipped.items())
    out.append(f"{r.n_samples:,} samples{samp}, {r.n_bytes:,} bytes; {r.n_empty} empty, "
               f"{r.n_binary} binary (non-UTF-8 or NUL){skipped}.")
    if r.gzip_compressibility is not None:
        out += ["", f"**gzip-compressibility (Pandey 2024, median per-sample gzip ratio): "
                    f"{r.gzip_compressibility:.4f}**"]
    out += ["", "## Compressors", ""] + _compressor_table(r) + _duplicates(r) + _outliers(r) + _curve(r.learning_curve)
    for title, items in (("Warnings", r.warnings), ("Notes", r.notes)):
        if items:
            out += ["", f"## {title}", ""] + [f"- {w}" for w in items]
    if r.plots:
        out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in r.plots]
    return "\n".join(out) + "\n"


def ratio_hist(r, ax) -> dict[str, int]:
    """Per-sample ratio histograms on ``ax``; values past the cap (3.0, or the 99.5th
    percentile) land in the last bin, announced in the legend and title. Returns spec -> count
    in that overflow bin."""
    allr = [np.asarray(v) for v in r.sample_ratios.values() if len(v)]
    overflow: dict[str, int] = {}
    if allr:
        pooled = np.concatenate(allr)
        hi = float(min(np.quantile(pooled, 0.995) * 1.05, HIST_CAP))
        lo = float(max(pooled.min() * 0.95, 0.0))
        hi = max(hi, lo + 1e-3)
        bins = np.linspace(lo, hi, 50)
        for spec, v in r.sample_ratios.items():
            v = np.asarray(v)
            if not v.size:
                continue
            over = overflow[spec] = int((v > hi).sum())
            label = spec if v.size >= r.n_samples - r.n_empty else f"{spec} ({v.size:,} samples)"
            if over:
                label += f"; {over:,} > {hi:.2f} in the last bin"
            ax.hist(np.clip(v, lo, hi), bins=bins, histtype="step", lw=1.5, label=label, density=True)
        ax.legend(fontsize=7)
        if (pooled > hi).any():
            ax.set_title(f"{short(r.source)}: {r.n_samples:,} samples (last bin: ratios > {hi:.2f})", fontsize=9)
        else:
            ax.set_title(f"{short(r.source)}: {r.n_samples:,} samples", fontsize=9)
    ax.set_xlabel("per-sample ratio C(x)/|x| (compressed / original)")
    ax.set_ylabel("density")
    return overflow


def _curve_plot(lc, source: str, path: Path) -> None:
    with figure(path) as ax:
        ax.plot(lc.n, lc.bits_per_byte, "o", ms=4, label=f"{lc.compressor} (prequential)")
        if lc.fit is not None:
            xs = np.geomspace(min(lc.n[1:] or lc.n), max(lc.n), 200)
            f = lc.fit
            tag = "" if f.reliable else " (unreliable fit)"
            ax.plot(xs, f.predict(xs), "-", label=f"E + A n^-b: E={f.E:.2f}, b={f.b:.2f}{tag}")
            ax.axhline(f.E, ls=":", color="gray", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("bytes seen (n)")
        ax.set_ylabel("code length (bits/byte)")
        ax.set_title(f"learning curve: {short(source)}", fontsize=9)
        ax.legend(fontsize=8)


def score_plots(r, directory: Path, prefix: str) -> list[str]:
    paths = [directory / f"{prefix}_ratio_hist.png"]
    with figure(paths[0]) as ax:
        ratio_hist(r, ax)
    if r.learning_curve is not None:
        paths.append(directory / f"{prefix}_learning_curve.png")
        _curve_plot(r.learning_curve, r.source, paths[1])
    return [str(p) for p in paths]


# ---------------------------------------------------------------------------------------
# kcomp subadd
# ---------------------------------------------------------------------------------------
def subadd_markdown(r) -> str:
    out = [f"# Subadditivity: X = `{r.x_label}` ({r.x_bytes:,} B), Y = `{r.y_label}` ({r.y_bytes:,} B)", "",
           ("| compressor | window | C(X) | C(Y) | C(XY) | C(YX) | c_hat = C(XY)-C(X)-C(Y) | I(X:Y) | "
            "NCD | C(Y) vs C(Y\\|X) | I, Y=random | I, Y=shuffled |"),
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in r.results:
        p, rc, sc = c.pair, c.random_control, c.shuffle_control
        flag = " ⚠" if c.exceeds_window else ""
        out.append(f"| {c.spec} | {human(c.window)}{flag} | {p.C_x:,.0f} | {p.C_y:,.0f} | {p.C_xy:,.0f} | "
                   f"{p.C_yx:,.0f} | {p.c_hat:,.0f} | {p.mutual_information:,.0f} "
                   f"({100 * p.savings_fraction:.1f}%) | {p.ncd:.3f} | {p.C_y:,.0f} -> {p.y_given_x:,.0f} | "
                   f"{rc.mutual_information:,.0f} | {sc.mutual_information:,.0f} |")
    out += ["", ("Sizes in bits. I(X:Y) = C(X) + C(Y) - min(C(XY), C(YX)); the percentage is I / min(C(X), C(Y)). "
                 "Controls replace Y by random bytes of the same length, or by a shuffle of Y's bytes: "
                 "they show the codec's I for inputs that share no information.")]
    sweeps = [c for c in r.results if c.sweep]
    if sweeps:
        out += ["", "## Savings vs size (I(X[:s] : Y[:s]) in bits; random / shuffled controls)", "",
                "| size | " + " | ".join(c.spec for c in sweeps) + " |", "|---|" + "---|" * len(sweeps)]
        for k, row in enumerate(sweeps[0].sweep):
            cells = [f"{c.sweep[k]['I']:,.0f} ({c.sweep[k]['I_random']:,.0f} / {c.sweep[k]['I_shuffle']:,.0f})"
                     for c in sweeps]
            out.append(f"| {human(row['size'])} | " + " | ".join(cells) + " |")
    if r.warnings:
        out += ["", "## Warnings", ""] + [f"- {w}" for w in r.warnings]
    if r.plots:
        out += ["", "## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in r.plots]
    return "\n".join(out) + "\n"


def subadd_bars(r, ax) -> None:
    """I(X:Y) and its controls per compressor on ``ax``, in bits (the unit of the table)."""
    specs = [c.spec for c in r.results]
    xs = np.arange(len(specs))
    w = 0.27
    ax.bar(xs - w, [c.pair.mutual_information for c in r.results], w, label="I(X:Y)")
    ax.bar(xs, [c.random_control.mutual_information for c in r.results], w, label="Y = random")
    ax.bar(xs + w, [c.shuffle_control.mutual_information for c in r.results], w, label="Y = shuffled")
    ax.set_xticks(xs, [s + (" ⚠" if c.exceeds_window else "") for s, c in zip(specs, r.results)], fontsize=8)
    ax.set_ylabel("shared information (bits)")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_title(f"C(X)+C(Y)-C(X,Y): {r.x_label[-28:]} / {r.y_label[-28:]}", fontsize=9)
    ax.legend(fontsize=8)


def _subadd_sweep(sweeps, path: Path) -> None:
    with figure(path) as ax:
        for c in sweeps:
            s = [row["size"] for row in c.sweep]
            line, = ax.plot(s, [row["savings_fraction"] for row in c.sweep], "o-", ms=3, label=c.spec)
            ax.plot(s, [row["savings_fraction_random"] for row in c.sweep], ":", color=line.get_color(), lw=1)
            if c.window and c.window <= 2 * max(s):
                ax.axvline(c.window, color=line.get_color(), ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("prefix size s of X and Y (bytes); dashed: codec window (if in range)")
        ax.set_ylabel("I(X[:s]:Y[:s]) / min C")
        ax.set_title("savings vs size (dotted: Y = random control)", fontsize=9)
        ax.legend(fontsize=8)


def subadd_plots(r, directory: Path, prefix: str) -> list[str]:
    paths = [directory / f"{prefix}_bars.png"]
    with figure(paths[0], size=(6, 3.4)) as ax:
        subadd_bars(r, ax)
    sweeps = [c for c in r.results if c.sweep]
    if sweeps:
        paths.append(directory / f"{prefix}_sweep.png")
        _subadd_sweep(sweeps, paths[1])
    return [str(p) for p in paths]
