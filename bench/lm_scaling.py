"""Scaling of the shipped ``lm`` model family: held-out bits/byte against parameters and training bytes.

For every shipped size (``kcomp/lm_coder/weights/byte-gpt-<size>.safetensors``, all trained by
``python -m kcomp.lm_coder.train`` with the recipe in their metadata):

* held-out bits/byte (teacher forced, chunks of the model's whole 512-byte context, each from
  ``BOS``; the coder cuts shorter chunks, for speed) on the first ``--per-source`` bytes of every corpus source's held-out part, never trained
  on (:mod:`kcomp.lm_coder.data`), and on GPL-3 (never in the corpus); the mean over sources is
  fitted as ``L(N) = E + A N^-b`` (:func:`kcomp.score.fit_power_law`);
* held-out bits/byte along training (the checkpoints' evaluation stored in the recipe);
* the LMIC "adjusted" rate on held-out English prose (the whole novel *Persuasion*, Revelation,
  the held-out fortunes and GPL-3): (code length + 8 x weights-file bytes) / input bytes, beside
  ppmd, xz and brotli on the same bytes in the same run;
* raw forward throughput: one batched forward over 128 KiB in 512-byte chunks, torch at 2 threads,
  ``inference_mode``, float32 and bf16 autocast (fastest of 5 rounds, models taking turns).

    python bench/lm_scaling.py [--per-source 65536]

Writes ``bench/results/lm_scaling.json`` and ``docs/img/lm_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _util import REPO, save_results  # noqa: E402

from kcomp.compressors import get_compressor  # noqa: E402
from kcomp.lm_coder.train import SIZES, code_length_bits  # noqa: E402
from kcomp.lm_coder.weights import load_model, read_metadata, weights_path  # noqa: E402

GPL3 = Path("/usr/share/common-licenses/GPL-3")
BASELINES = ("ppmd", "xz:9", "brotli:11")
THROUGHPUT_BYTES = 128 * 1024
#: shipped weights outside the equal-recipe family (measured and tabled, not fitted)
EXTRA_WEIGHTS = ("byte-gpt-tiny-24k", "byte-gpt-medium-48m", "byte-gpt-base-48m", "byte-gpt-large-48m", "byte-gpt-large-mqa")


def held_out_sets(per_source: int) -> tuple[dict[str, bytes], bytes]:
    """({source: first per_source held-out bytes} + GPL-3, the held-out English prose set)."""
    from kcomp.lm_coder.data import load_corpus

    corpus = load_corpus()
    sets = {name: split.held_out[:per_source] for name, split in corpus.items()}
    sets["gpl3"] = GPL3.read_bytes()
    prose = corpus["austen"].held_out + corpus["bible"].held_out + corpus["fortunes"].held_out + sets["gpl3"]
    return sets, prose


def forward_throughput(models: dict, *, autocast: bool, rounds: int = 5) -> dict[str, float]:
    """{name: bytes/s} of one batched forward over 128 KiB in block_size chunks, fastest of
    ``rounds``; the models take turns each round, so a busy spell on a shared machine hits all."""
    import torch

    best = {name: float("inf") for name in models}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for _ in range(rounds):
            for name, model in models.items():
                T = model.config.block_size
                x = torch.randint(0, 256, (THROUGHPUT_BYTES // T, T), generator=torch.Generator().manual_seed(0))
                model(x[:4])
                t0 = time.perf_counter()
                model(x)
                best[name] = min(best[name], time.perf_counter() - t0)
    return {name: THROUGHPUT_BYTES / t for name, t in best.items()}


def measure_size(name: str, sets: dict[str, bytes], prose: bytes) -> dict:
    import torch

    path = weights_path(name)
    model = load_model(path)
    recipe = json.loads(read_metadata(path)["recipe"])
    torch.set_num_threads(1)
    held = {name: code_length_bits(model, data) / len(data) for name, data in sets.items()}
    prose_bits = code_length_bits(model, prose)
    row = {
        "size": name.removeprefix("byte-gpt-"), "params": model.num_params(), "weights_bytes": path.stat().st_size,
        "tokens_seen": recipe["tokens_seen"], "cpu_seconds": recipe.get("cpu_seconds"),
        "held_out": held, "mean_held_out": statistics.mean(v for k, v in held.items() if k != "gpl3"),
        "prose_bits_per_byte": prose_bits / len(prose),
        "prose_adjusted_bits_per_byte": (prose_bits + 8 * path.stat().st_size) / len(prose),
        "history": recipe["history"],
    }
    print(f"{name}: {row['params']:,} params, mean held-out {row['mean_held_out']:.3f} bits/byte", flush=True)
    return row


def add_throughput(rows: list[dict]) -> None:
    """Raw forward speed of every measured model at torch 2 threads, float32 and bf16 autocast."""
    import torch

    torch.set_num_threads(2)
    models = {r["size"]: load_model(weights_path(f"byte-gpt-{r['size']}")) for r in rows}
    for key, autocast in (("forward_fp32_bytes_per_s", False), ("forward_bf16_bytes_per_s", True)):
        for name, speed in forward_throughput(models, autocast=autocast).items():
            next(r for r in rows if r["size"] == name)[key] = speed


def plot(rows: list[dict], fit, out: Path, extra: list[dict] = ()) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6))
    n = np.array([r["params"] for r in rows], dtype=float)
    ax1.plot(n, [r["mean_held_out"] for r in rows], "o", label="held out (mean of sources), 12M bytes")
    for r in extra:  # longer runs: not in the fit
        ax1.plot(r["params"], r["mean_held_out"], "x", ms=8, label=f"{r['size']} ({r['tokens_seen'] / 1e6:.0f}M bytes)")
    if fit is not None:
        grid = np.geomspace(n.min() / 1.5, n.max() * 4, 100)
        ax1.plot(grid, fit.E + fit.A * grid ** -fit.b, "-", alpha=0.6,
                 label=f"fit {fit.E:.2f} + {fit.A:.3g} N^-{fit.b:.2f}")
    ax1.set_xscale("log")
    ax1.set_xlabel("parameters N")
    ax1.set_ylabel("held-out bits/byte")
    ax1.legend(fontsize=7)
    for r in [*rows, *extra]:  # the longer runs continue (or repeat) a family member's curve
        pts = [(h["bytes_seen"], statistics.mean(h["held_out"].values())) for h in r["history"]]
        ax2.plot(*zip(*pts), "o-", ms=3, label=f"{r['size']} ({r['params'] / 1e3:.0f}k)")
    ax2.set_xscale("log")
    ax2.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax2.set_xlabel("training bytes seen")
    ax2.set_ylabel("held-out bits/byte (16 chunks/source)")
    ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def replot(results: Path, out: Path) -> int:
    """Redraw the figure from a saved run (its fit and every model's row)."""
    from types import SimpleNamespace

    saved = json.loads(results.read_text())
    rows = saved["sizes"]
    fit = SimpleNamespace(**saved["fit"]) if saved.get("fit") else None
    plot([r for r in rows if r["size"] in SIZES], fit, out, extra=[r for r in rows if r["size"] not in SIZES])
    return 0


def baseline_rates(prose: bytes) -> dict[str, float]:
    return {spec: 8 * len(get_compressor(spec).compress(prose)) / len(prose) for spec in BASELINES}


def main(argv=None) -> int:
    from kcomp.score import fit_power_law

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-source", type=int, default=65536, help="held-out bytes per source (default 64 KiB)")
    ap.add_argument("--sizes", default=",".join(SIZES), help="comma-separated family sizes (default: all)")
    ap.add_argument("--extra", default=",".join(EXTRA_WEIGHTS), help="other shipped weights to measure (not fitted)")
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from bench/results/lm_scaling.json")
    args = ap.parse_args(argv)
    if args.plot_only:
        return replot(REPO / "bench" / "results" / "lm_scaling.json", REPO / "docs" / "img" / "lm_scaling.png")
    sets, prose = held_out_sets(args.per_source)
    names = [f"byte-gpt-{s}" for s in args.sizes.split(",") if s] + [w for w in args.extra.split(",") if w]
    rows = sorted((measure_size(n, sets, prose) for n in names if weights_path(n).exists()), key=lambda r: r["params"])
    add_throughput(rows)
    family = [r for r in rows if r["size"] in SIZES]
    fit = fit_power_law([r["params"] for r in family], [r["mean_held_out"] for r in family]) if len(family) >= 4 else None
    baselines = baseline_rates(prose)
    img = REPO / "docs" / "img" / "lm_scaling.png"
    plot(family, fit, img, extra=[r for r in rows if r["size"] not in SIZES])
    sources = list(sets)
    tables = [
        {"title": "Held-out bits/byte by model size (teacher forced; lower is better)",
         "columns": ["size", "params", "train bytes", *sources, "mean (no gpl3)"],
         "rows": [[r["size"], r["params"], r["tokens_seen"], *(round(r["held_out"][s], 3) for s in sources),
                   round(r["mean_held_out"], 3)] for r in rows]},
        {"title": f"Held-out English prose ({len(prose):,} bytes): rate and LMIC adjusted rate (weights counted)",
         "columns": ["codec", "weights bytes", "bits/byte", "adjusted bits/byte"],
         "rows": [[f"lm {r['size']}", r["weights_bytes"], round(r["prose_bits_per_byte"], 3),
                   round(r["prose_adjusted_bits_per_byte"], 3)] for r in rows]
         + [[spec, 0, round(v, 3), round(v, 3)] for spec, v in baselines.items()]},
        {"title": "Raw forward throughput (128 KiB in 512-byte chunks, torch 2 threads, fastest of 5, kB/s)",
         "columns": ["size", "params", "float32", "bf16 autocast"],
         "rows": [[r["size"], r["params"], round(r["forward_fp32_bytes_per_s"] / 1e3), round(r["forward_bf16_bytes_per_s"] / 1e3)]
                  for r in rows]},
    ]
    fit_text = "no fit (fewer than 4 sizes)" if fit is None else (
        f"L(N) = {fit.E:.3f} + {fit.A:.4g} N^-{fit.b:.3f} (R^2 {fit.r2:.3f})")
    notes = (f"Power-law fit of the mean held-out bits/byte over parameters: {fit_text}. Plot: "
             f"`docs/img/lm_scaling.png`. Throughput was measured on a 2-core machine shared with other "
             "jobs, so it may be lower than on an idle machine.")
    save_results("lm_scaling", command="python bench/lm_scaling.py " + " ".join(argv or sys.argv[1:]),
                 tables=tables, notes=notes, sizes=rows, baselines=baselines, prose_bytes=len(prose),
                 fit=None if fit is None else {"E": fit.E, "A": fit.A, "b": fit.b, "r2": fit.r2})
    print(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
