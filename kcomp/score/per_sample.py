"""Per-sample scores, one row per sample in input order: what a user filters on."""

from __future__ import annotations

import math
from pathlib import Path

from kcomp.errors import InputError

FORMATS = (".jsonl", ".parquet")


def rows(result) -> list[dict]:
    """Dicts with index, bytes, ``bits_per_byte.SPEC`` (framing-free; None where not priced),
    gzip_ratio, exact_dup_group (index of the first copy, -1 if unique) and near_dup_cluster
    (-1 if in none)."""
    cols = result.per_sample
    names = list(cols)
    lists = [cols[k].tolist() for k in names]
    out = []
    for values in zip(*lists):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in zip(names, values)})
    return out


def check_path(path: Path) -> None:
    """Refuse an unsupported extension before any work is done."""
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"{path}: per-sample output must end in .jsonl or .parquet")
    if path.suffix.lower() == ".parquet":
        from kcomp.io import _need_pyarrow

        _need_pyarrow("writing Parquet")


def write(result, path: Path) -> Path:
    """Write :func:`rows` to ``path`` (.jsonl or .parquet); a failure leaves no partial file."""
    import json

    from kcomp.io import atomic_output

    check_path(path)
    with atomic_output(path) as tmp:
        if path.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table(dict(result.per_sample)), tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as fh:
                for row in rows(result):
                    fh.write(json.dumps(row) + "\n")
    return path
