"""``kcomp compressors``, ``kcomp k``, ``kcomp ncd``, ``kcomp matrix``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kcomp._inputs import as_bytes, window_warning
from kcomp.cli.common import (
    add_compressor_arg, add_directory_args, add_input_args, add_json_arg, add_n_jobs_arg, add_progress_arg,
    format_bits, format_table, print_json, progress_bar, progress_setting, report_skipped, text_source, warn,
)
from kcomp.errors import InputError


def _read_file(path: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path}: is a directory; this command compares two files")
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    return p.read_bytes()


def _expand(paths: list[str], include: list[str], exclude: list[str]) -> list[str]:
    """Files named on the command line, with every file of a directory argument in its place."""
    from kcomp.io import list_files

    out = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            files = list_files(p, include=include, exclude=exclude)
            if not files:
                raise InputError(f"{path}: directory holds no files (hidden and cache folders are skipped)")
            out += [str(f) for f in files]
        elif p.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or directory")
    return out


# -- kcomp compressors ---------------------------------------------------------------------
def cmd_compressors(args) -> int:
    from kcomp.compressors import describe_compressors, get_compressor, list_compressors

    available = set(list_compressors(available_only=True))
    rows = []
    for name, desc in describe_compressors().items():
        if name in available:
            c = get_compressor(name)
            rows.append({"family": name, "default_spec": c.spec, "window_bytes": c.window,
                         "empty_input_bytes": len(c.compress(b"")), "description": desc, "available": True})
        else:
            rows.append({"family": name, "default_spec": None, "window_bytes": None,
                         "empty_input_bytes": None, "description": desc, "available": False})
    if args.json:
        print_json(rows)
    else:
        print(format_table(["family", "default", "window (B)", "empty input (B)", "description"],
                           [[r["family"], r["default_spec"] or "(not installed)",
                             f"{r['window_bytes']:,}" if r["window_bytes"] else "-",
                             r["empty_input_bytes"] if r["available"] else "-", r["description"]] for r in rows]))
    return 0


# -- kcomp k --------------------------------------------------------------------------------
def cmd_k(args) -> int:
    from kcomp.compressors import get_compressor

    compressors = [get_compressor(spec) for spec in args.compressors or ["gzip"]]
    files = _expand(args.files, args.include, args.exclude)
    rows = []
    with progress_bar(args, len(files), "K", unit="file") as bar:
        for path in files:
            data = Path(path).read_bytes()
            for c in compressors:
                bits = c.size_bits(data)
                rows.append({"file": path, "compressor": c.spec, "bytes": len(data), "bits": bits,
                             "bits_per_byte": bits / len(data) if data else None})
            bar.update(1)
    if args.json:
        print_json(rows)
    else:
        print(format_table(["file", "compressor", "bytes", "K (bits)", "bits/byte"],
                           [[r["file"], r["compressor"], f"{r['bytes']:,}", format_bits(r["bits"]),
                             "-" if r["bits_per_byte"] is None else r["bits_per_byte"]] for r in rows]))
    return 0


# -- kcomp ncd ------------------------------------------------------------------------------
def cmd_ncd(args) -> int:
    from kcomp.complexity import K, K_cond, K_joint, mutual_information, ncd

    x, y = _read_file(args.x), _read_file(args.y)
    c = args.compressor
    sep = args.separator.encode()
    warning = window_warning(c, [len(x), len(y)], separator=sep)
    if warning:
        warn(warning)
    out = {
        "x": args.x, "y": args.y, "compressor": c, "separator": args.separator,
        "K_x_bits": K(x, c), "K_y_bits": K(y, c),
        "K_xy_bits": K_joint(x, y, c, separator=sep, symmetric=args.symmetric),
        "K_y_given_x_bits": K_cond(y, x, c, separator=sep),
        "I_xy_bits": mutual_information(x, y, c, separator=sep),
        "ncd": ncd(x, y, c, separator=sep, symmetric=args.symmetric),
    }
    if args.json:
        print_json(out)
    else:
        print(format_table(["quantity", "value"], [[k, format_bits(v) if k.endswith("_bits") else v]
                                                   for k, v in out.items()], floatfmt=".6g"))
    return 0


# -- kcomp matrix ---------------------------------------------------------------------------
def cmd_matrix(args) -> int:
    from kcomp.engine import ncd_matrix

    source = text_source(args, args.input)
    names, texts = source.read(args.limit)
    report_skipped(source)
    sep = args.separator.encode()
    warning = window_warning(args.compressor, [len(as_bytes(t)) for t in texts], separator=sep)
    if warning:
        warn(warning)
    matrix = ncd_matrix(texts, None, args.compressor, separator=sep, symmetric=args.symmetric,
                        n_jobs=args.n_jobs, progress=progress_setting(args), backend=args.backend,
                        checkpoint_dir=args.checkpoint)
    if args.output:
        np.save(args.output, matrix)
    if args.dendrogram:
        _dendrogram(matrix, names, args.dendrogram, args.compressor)
    if args.json:
        print_json({"compressor": args.compressor, "names": names, "ncd": matrix,
                    "symmetric": args.symmetric, "dendrogram": args.dendrogram})
    else:
        _print_matrix(matrix, names, args)
    return 0


def _print_matrix(matrix: np.ndarray, names: list[str], args) -> None:
    short = [n if len(n) <= 18 else "…" + n[-17:] for n in names]
    if len(names) <= 20:
        print(format_table([""] + short, [[n] + list(row) for n, row in zip(short, matrix)], floatfmt=".3f"))
    else:
        print(f"{len(names)} x {len(names)} NCD matrix ({args.compressor}); "
              f"mean {matrix.mean():.4f}, min off-diagonal {np.min(matrix + np.eye(len(matrix)) * 9):.4f}"
              + (f"; saved to {args.output}" if args.output else "; use --output FILE.npy or --json"))
    if args.dendrogram:
        print(f"dendrogram: {args.dendrogram}")


def _dendrogram(matrix: np.ndarray, names: list[str], out: str, compressor: str) -> None:
    """Average-linkage clustering of the symmetrised NCD matrix, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    if len(names) < 2:
        raise InputError("a dendrogram needs at least 2 samples")
    sym = (matrix + matrix.T) / 2
    np.fill_diagonal(sym, 0.0)
    z = linkage(squareform(np.clip(sym, 0, None), checks=False), method="average")
    fig, ax = plt.subplots(figsize=(8, max(3, 0.25 * len(names))))
    dendrogram(z, labels=names, orientation="right", ax=ax)
    ax.set_xlabel(f"NCD ({compressor}, average linkage)")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def add_parser(sub) -> None:
    p = sub.add_parser("compressors", help="list the registered compressors")
    add_json_arg(p)
    p.set_defaults(func=cmd_compressors)

    p = sub.add_parser("k", help="K(x) estimate (compressed size in bits) of each FILE (or each file of a DIR)",
                       description="Compressed size in bits of each file, for one or more compressors.")
    p.add_argument("files", nargs="+", metavar="FILE_OR_DIR", help="files; a directory stands for each of its files")
    add_compressor_arg(p, multiple=True)
    add_directory_args(p)
    add_progress_arg(p)
    add_json_arg(p)
    p.set_defaults(func=cmd_k)

    p = sub.add_parser("ncd", help="NCD, K(x), K(y), K(x,y), K(y|x), I(x:y) of two files")
    p.add_argument("x", metavar="A")
    p.add_argument("y", metavar="B")
    add_compressor_arg(p)
    p.add_argument("--separator", default=" ", help="bytes put between x and y in the joint (default: one space)")
    p.add_argument("--symmetric", action="store_true", help="joint = min(C(xy), C(yx))")
    add_json_arg(p)
    p.set_defaults(func=cmd_ncd)

    p = sub.add_parser("matrix", help="NCD matrix of a directory (one sample per file) or a .txt/.jsonl/.json/.csv",
                       description="Entry [i, j] is NCD with joint C(sample_j + sep + sample_i).")
    p.add_argument("input", metavar="DIR_OR_FILE")
    add_compressor_arg(p)
    add_input_args(p, name_field=True)
    p.add_argument("--limit", type=int, help="use at most this many samples")
    p.add_argument("--separator", default=" ")
    p.add_argument("--symmetric", action="store_true", help="joint = min(C(xy), C(yx)): a symmetric matrix")
    add_n_jobs_arg(p)
    p.add_argument("--backend", default="processes", metavar="BACKEND",
                   help="'processes' (default), 'dask' (a local Dask cluster of --n-jobs workers) or a Dask "
                        "scheduler address such as tcp://host:8786")
    p.add_argument("--checkpoint", metavar="DIR",
                   help="save finished blocks in DIR; rerunning with the same DIR resumes a killed run")
    p.add_argument("--output", "-o", help="save the matrix as .npy")
    p.add_argument("--dendrogram", metavar="PNG", help="save a hierarchical-clustering dendrogram")
    add_progress_arg(p)
    add_json_arg(p)
    p.set_defaults(func=cmd_matrix)
