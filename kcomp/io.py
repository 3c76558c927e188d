"""Reading collections of texts from disk: directories, .txt, .jsonl, .csv (optionally .gz)."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

from kcomp.errors import InputError

TEXT_FIELDS = ("text", "content", "sentence", "document", "body")


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict", newline="")
    return open(path, encoding="utf-8", errors="strict", newline="")


def _base_suffix(path: Path) -> str:
    return Path(path.stem).suffix.lower() if path.suffix == ".gz" else path.suffix.lower()


def iter_records(path: str | Path) -> Iterator[dict]:
    """Yield dict rows from a .jsonl or .csv file (optionally gzipped)."""
    path = Path(path)
    kind = _base_suffix(path)
    try:
        with _open_text(path) as fh:
            if kind in (".jsonl", ".ndjson", ".json"):
                for n, line in enumerate(fh, 1):
                    if line.strip():
                        try:
                            row = json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise InputError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
                        if not isinstance(row, dict):
                            raise InputError(f"{path}:{n}: each line must be a JSON object")
                        yield row
            elif kind in (".csv", ".tsv"):
                yield from csv.DictReader(fh, delimiter="\t" if kind == ".tsv" else ",")
            else:
                raise InputError(f"{path}: expected .jsonl or .csv, got {kind or 'no extension'}")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "pass a directory of files to treat samples as raw bytes") from exc


def pick_field(row: dict, field: str | None, path: Path | str) -> str:
    if field is not None:
        if field not in row:
            raise InputError(f"{path}: no field {field!r}; fields are {', '.join(map(str, row))}")
        return row[field]
    for name in TEXT_FIELDS:
        if name in row:
            return row[name]
    raise InputError(f"{path}: cannot guess the text field among {', '.join(map(str, row))}; pass --field")


def iter_texts(path: str | Path, field: str | None = None) -> Iterator[str | bytes]:
    """Yield samples from ``path`` without loading everything at once.

    * a directory: one sample per regular file (raw bytes), in sorted order, recursively;
    * ``.txt``: one sample per non-empty line (str);
    * ``.jsonl``/``.csv``: the text field (``field``, or the first of text/content/...).
    Any of these may be gzipped (``.txt.gz``...).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        if not files:
            raise InputError(f"{path}: directory holds no files")
        for p in files:
            yield p.read_bytes()
        return
    kind = _base_suffix(path)
    if kind in (".jsonl", ".ndjson", ".json", ".csv", ".tsv"):
        for row in iter_records(path):
            value = pick_field(row, field, path)
            if not isinstance(value, str):
                raise InputError(f"{path}: field value must be a string, got {type(value).__name__}")
            yield value
        return
    try:
        with _open_text(path) as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line:
                    yield line
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_texts(path: str | Path, field: str | None = None, limit: int | None = None) -> list[str | bytes]:
    """All samples of ``path`` (see :func:`iter_texts`), at most ``limit``; refuses an empty set."""
    out = []
    for t in iter_texts(path, field):
        out.append(t)
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise InputError(f"{path}: holds no samples")
    return out
