"""``kcomp select CANDIDATES --target TARGET -n N -o OUT``: compression-based data selection."""

from __future__ import annotations

import json
from pathlib import Path

from kcomp.errors import InputError


def _texts(rows: list[dict], field: str | None, path: str) -> list[str | bytes]:
    from kcomp.io import pick_field

    out = []
    for i, row in enumerate(rows):
        value = pick_field(row, field, path)
        if not isinstance(value, (str, bytes)):
            raise InputError(f"{path}: row {i}: the text field holds {type(value).__name__}, expected text")
        out.append(value)
    return out


def _write(rows: list[dict], out: Path) -> None:
    """Write the chosen rows (.jsonl or .parquet); a failure leaves no partial file."""
    from kcomp.io import atomic_output

    with atomic_output(out) as tmp:
        if out.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(rows), tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)


def cmd_select(args) -> int:
    from kcomp.io import iter_rows, iter_texts
    from kcomp.select import select

    out = Path(args.output)
    if out.suffix.lower() not in (".jsonl", ".parquet"):
        raise InputError(f"{out}: the output must end in .jsonl or .parquet")
    rows = list(iter_rows(args.candidates))
    if not rows:
        raise InputError(f"{args.candidates}: holds no rows")
    target = list(iter_texts(args.target, args.target_field or args.field))
    if not target:
        raise InputError(f"{args.target}: holds no samples")
    chosen = select(_texts(rows, args.field, args.candidates), target, args.n, method=args.method.replace("-", "_"),
                    level=args.level, redundancy=args.redundancy, seed=args.seed)
    _write([dict(rows[i], **{args.score_field: float(s)}) for i, s in zip(chosen.indices, chosen.scores)], out)
    print(f"kcomp select: wrote {len(chosen.indices):,} of {len(rows):,} rows to {out} "
          f"({chosen.method}; lower {args.score_field} = more like the target)")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "select", help="pick the candidate rows most like a target set (compression-based data selection)",
        description="Rank CANDIDATES by how much the TARGET set helps zstd compress them and write the best N rows "
        "unchanged, with their score. cross-entropy (default): (C(x|target) - C(x|random candidates)) / |x| bits "
        "per byte (Moore-Lewis); similarity: C(x|target) / C(x) (ZIP-FIT-style). --redundancy penalises rows that "
        "the already selected ones explain (Entropy-Law-style greedy). Inputs: JSONL/CSV/Parquet/Arrow/text files "
        "or HF save_to_disk folders.")
    p.add_argument("candidates", metavar="CANDIDATES")
    p.add_argument("--target", "-t", required=True, metavar="TARGET", help="examples of the data wanted")
    p.add_argument("-n", type=int, required=True, metavar="N", help="number of rows to keep")
    p.add_argument("--output", "-o", required=True, metavar="OUT", help="output file (.jsonl or .parquet)")
    p.add_argument("--field", help="text field of the candidates (default: text, content, ...)")
    p.add_argument("--target-field", help="text field of the target (default: --field)")
    p.add_argument("--method", choices=("cross-entropy", "similarity"), default="cross-entropy")
    p.add_argument("--redundancy", type=float, default=0.0, metavar="W",
                   help="weight of the redundancy penalty (0: none; 1 is a strong setting)")
    p.add_argument("--level", type=int, default=19, help="zstd level (default 19)")
    p.add_argument("--score-field", default="kcomp_select_score", help="name of the added score field")
    p.add_argument("--seed", type=int, default=0, help="seed of the reference sample (default 0)")
    p.set_defaults(func=cmd_select)
