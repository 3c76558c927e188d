"""``kcomp axioms CORPUS``: audit each compressor's Kolmogorov axioms on seeded pieces of a corpus."""

from __future__ import annotations

from kcomp.cli.common import add_compressor_arg, add_json_arg, print_json


def cmd_axioms(args) -> int:
    from kcomp.axioms import axioms

    result = axioms(args.corpus, args.compressors, sizes=args.sizes.split(","), pairs=args.pairs,
                    seed=args.seed, field=args.field, tolerance=args.tolerance)
    if args.plot_dir:
        result.plot(args.plot_dir, prefix=args.plot_prefix)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.to_markdown(), end="")
    return 0


def add_parser(subparsers) -> None:
    from kcomp.axioms import DEFAULT_COMPRESSORS, DEFAULT_PAIRS, DEFAULT_SIZES, DEFAULT_TOLERANCE

    p = subparsers.add_parser(
        "axioms", help="audit compressors' Kolmogorov axioms (idempotency, symmetry, ...) on a corpus",
        description="For each compressor and piece size, draw seeded triples (x, y, z) of disjoint pieces "
        "of CORPUS (different documents where there are several) and report mean, spread and violation rate "
        "of the idempotency gap, symmetry gap, subadditivity slack, monotonicity margin, NCD triangle slack "
        "and distributivity slack, in bits per byte. CORPUS: any input 'kcomp score' reads (a directory: one "
        "document per file; .txt: one per line; .jsonl/.csv with --field; optionally .gz). The lm codec "
        "('-c lm': its transformer sees 512 bytes, its context model the whole input) codes about 13 kB/s on "
        "a CPU core: give it small --sizes.")
    p.add_argument("corpus", metavar="CORPUS")
    add_compressor_arg(p, default=", ".join(DEFAULT_COMPRESSORS), multiple=True)
    p.add_argument("--sizes", default=",".join(DEFAULT_SIZES), metavar="S1,S2,...",
                   help=f"piece sizes in bytes, K/M suffixes are powers of 1024 (default {','.join(DEFAULT_SIZES)})")
    p.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, metavar="N",
                   help=f"seeded draws (x, y, z) per size (default {DEFAULT_PAIRS})")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, metavar="BITS",
                   help="bits per byte idempotency and symmetry may miss by before a draw counts as a "
                   f"violation (default {DEFAULT_TOLERANCE})")
    p.add_argument("--field", help="text column of a .jsonl/.csv corpus (default: text, content, ...)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the draws (default 0)")
    p.add_argument("--plot-dir", metavar="DIR", help="write one PNG per quantity into this directory")
    p.add_argument("--plot-prefix", default="axioms", metavar="NAME", help="file-name prefix of the plots")
    add_json_arg(p)
    p.set_defaults(func=cmd_axioms)
