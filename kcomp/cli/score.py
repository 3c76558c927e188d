"""``kcomp score PATH`` (dataset compressibility) and ``kcomp subadd X Y`` (subadditivity check)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kcomp.cli.common import (
    add_compressor_arg, add_directory_args, add_json_arg, print_json, report_skipped, text_source,
)


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from exc
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return n


def _size(value: str) -> int:
    """Bytes, with an optional K/M suffix (powers of 1024): 4096, 32K, 1M."""
    v = value.strip().upper().rstrip("B")
    mult = 1
    if v.endswith(("K", "M")):
        mult = 1024 if v.endswith("K") else 1 << 20
        v = v[:-1]
    try:
        n = int(float(v) * mult)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a size such as 4096, 32K or 1M, got {value!r}") from exc
    if n < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {value!r}")
    return n


def _size_or_zero(value: str) -> int:
    return 0 if value.strip() == "0" else _size(value)


def _sizes(value: str) -> list[int]:
    return [_size(v) for v in value.split(",") if v.strip()]


def _write_outputs(result, args, prefix: str) -> None:
    if args.plot_dir:
        result.plot(args.plot_dir, prefix=prefix)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(result.to_markdown(), encoding="utf-8")
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(result.to_json() + "\n", encoding="utf-8")
    if args.json:
        print_json(result.to_dict())
    else:
        sys.stdout.write(result.to_markdown())


# -- kcomp score ----------------------------------------------------------------------------
def cmd_score(args) -> int:
    from kcomp.score import score_dataset
    from kcomp.score.per_sample import check_path

    if args.per_sample:
        check_path(Path(args.per_sample))
    data = args.path if args.binary else text_source(args, args.path)
    result = score_dataset(
        data, args.compressors, field=args.field, binary_chunk=args.binary, sample=args.sample, seed=args.seed,
        n_jobs=args.n_jobs,
        chunk_bytes=args.chunk_bytes, near_dup_threshold=None if args.no_near_dups else args.near_dup_threshold,
        near_dup_compressor=args.near_dup_compressor, lsh_threshold=args.lsh_threshold,
        curve_compressor=args.curve_compressor, curve_bytes=args.curve_bytes, lm_bytes=args.lm_bytes,
        progress=False if args.quiet else None)
    if not args.binary:
        report_skipped(data)
    if args.per_sample:
        result.write_per_sample(args.per_sample)
    _write_outputs(result, args, args.plot_prefix or "score")
    return 0


# -- kcomp subadd ---------------------------------------------------------------------------
def cmd_subadd(args) -> int:
    from kcomp.errors import InputError
    from kcomp.subadditivity import subadditivity

    for p in (args.x, args.y):
        if not Path(p).is_file():
            raise InputError(f"{p}: no such file")
    result = subadditivity(Path(args.x), Path(args.y), args.compressors, sizes=args.sizes, seed=args.seed)
    _write_outputs(result, args, args.plot_prefix or "subadd")
    return 0


def _add_outputs(p: argparse.ArgumentParser) -> None:
    add_json_arg(p)
    p.add_argument("--output", "-o", metavar="FILE.json", help="also write the JSON result to this file")
    p.add_argument("--markdown", metavar="FILE.md", help="also write the Markdown report to this file")
    p.add_argument("--plot-dir", metavar="DIR", help="write PNG plots into this directory")
    p.add_argument("--plot-prefix", metavar="NAME", help="file-name prefix of the plots")
    p.add_argument("--seed", type=int, default=0, help="random seed (sampling, orders, controls; default 0)")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "score", help="how compressible (redundant, duplicated, learnable) is a dataset",
        description="Score a dataset's compressibility: bits/byte and ratio per compressor, per-sample ratio "
        "quantiles (median gzip ratio = Pandey 2024 gzip-compressibility), cross-sample redundancy, exact and "
        "near duplicates (MinHash/LSH + NCD), least/most compressible samples and a prequential learning "
        "curve fitted with L(n) = E + A n^-b. PATH: a directory (one raw-bytes sample per file), a .txt "
        "(one sample per line), .jsonl/.csv, Parquet, Arrow or a Hugging Face save_to_disk folder (--field); "
        "text files may be .gz/.zst; any file with --binary (fixed-size chunks). Default compressors: gzip, "
        "zstd:19, lzma (+ lm on a CUDA device; -c lm adds it anywhere).")
    p.add_argument("path", metavar="PATH")
    add_compressor_arg(p, default="gzip, zstd:19, lzma (+ lm on CUDA)", multiple=True)
    p.add_argument("--field", help="text column of a .jsonl/.csv/Parquet/Arrow file (default: text, content, ...)")
    p.add_argument("--skip-bad-rows", action="store_true",
                   help="skip rows whose text field is missing, null or not a string (counted and reported)")
    add_directory_args(p)
    p.add_argument("--binary", type=_size, nargs="?", const=4096, metavar="SIZE",
                   help="read PATH as raw bytes in fixed-size chunks (default 4K), one sample each")
    p.add_argument("--per-sample", metavar="FILE", help="write one row of scores per sample (.jsonl or .parquet)")
    p.add_argument("--n-jobs", "-j", type=int, metavar="N",
                   help="worker processes for the per-sample work (default: the cores, at most 8; -1: all)")
    p.add_argument("--sample", type=_positive_int, metavar="N",
                   help="score a uniform random sample of N samples (reservoir; for huge sets)")
    p.add_argument("--chunk-bytes", type=_size, default=4 << 20, metavar="SIZE",
                   help="the concatenation is compressed in chunks of this size (default 4M)")
    p.add_argument("--near-dup-threshold", type=float, default=0.3, metavar="NCD",
                   help="NCD at or below which an LSH candidate pair is a near duplicate (default 0.3)")
    p.add_argument("--near-dup-compressor", default="gzip", metavar="SPEC", help="compressor of that NCD (gzip)")
    p.add_argument("--lsh-threshold", type=float, default=0.5, metavar="J",
                   help="MinHash LSH Jaccard threshold of the candidate prefilter (default 0.5)")
    p.add_argument("--no-near-dups", action="store_true", help="skip the near-duplicate search")
    p.add_argument("--curve-compressor", metavar="SPEC",
                   help="adaptive model of the learning curve (default: lm:online on CUDA, else ppmd, else lzma)")
    p.add_argument("--curve-bytes", type=_size_or_zero, metavar="SIZE",
                   help="bytes used by the learning curve (default 2M; 256K for lm); 0 skips the curve")
    p.add_argument("--lm-bytes", type=_size, default=256 << 10, metavar="SIZE",
                   help="the neural lm compressor (slow on a CPU) prices a random subset of about this many "
                   "bytes (default 256K)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    _add_outputs(p)
    p.set_defaults(func=cmd_score)

    q = subparsers.add_parser(
        "subadd", help="subadditivity check: C(XY) vs C(X) + C(Y), with controls",
        description="For each compressor: C(X), C(Y), C(XY), C(YX), c_hat = C(XY) - C(X) - C(Y), "
        "I(X:Y) = C(X) + C(Y) - min(C(XY), C(YX)) and NCD, in bits, next to two controls (Y replaced by "
        "random bytes, and by a shuffle of its bytes). Warns when an input exceeds a codec's window. "
        "Default compressors: gzip, zstd:19, brotli:11, lzma (+ lm:online when installed).")
    q.add_argument("x", metavar="X", help="a file (read as bytes)")
    q.add_argument("y", metavar="Y", help="a file (read as bytes)")
    add_compressor_arg(q, default="gzip, zstd:19, brotli:11, lzma (+ lm:online)", multiple=True)
    q.add_argument("--sizes", type=_sizes, metavar="S1,S2,...",
                   help="sweep prefixes of X and Y of these sizes (e.g. 1K,4K,16K,64K,256K) for a savings-vs-size plot")
    _add_outputs(q)
    q.set_defaults(func=cmd_subadd)
