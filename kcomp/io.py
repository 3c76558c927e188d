"""Reading collections of texts from disk: directories, .txt, .jsonl, .csv (optionally .gz or
.zst), Parquet and Arrow files, Hugging Face ``save_to_disk`` folders, and binary files in chunks."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kcomp.errors import InputError

TEXT_FIELDS = ("text", "content", "sentence", "document", "body")


def _open_text(path: Path):
    if path.suffix == ".zst":
        import zstandard

        return io.TextIOWrapper(zstandard.open(path, "rb"), encoding="utf-8", errors="strict", newline="")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict", newline="")
    return open(path, encoding="utf-8", errors="strict", newline="")


def _base_suffix(path: Path) -> str:
    return Path(path.stem).suffix.lower() if path.suffix in (".gz", ".zst") else path.suffix.lower()


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
    * ``.jsonl``/``.csv``: the text field (``field``, or the first of text/content/...);
    * Parquet, Arrow and Hugging Face ``save_to_disk`` folders: the ``field`` column (see
      :func:`iter_table_column`).
    Text files may be compressed (``.txt.gz``, ``.jsonl.zst``...). :func:`iter_binary_chunks`
    reads a binary file in fixed-size chunks.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    table_reader = _table_reader(path)
    if table_reader is not None:
        yield from table_reader(path, field)
        return
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
    yield from iter_lines(path)


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


def iter_lines(path: str | Path, skipped: dict | None = None) -> Iterator[str]:
    """Non-blank lines of a text file (optionally .gz/.zst), newline removed. Blank lines are
    skipped; ``skipped["blank lines"]`` (when a dict is given) counts them."""
    path = Path(path)
    blank = 0
    try:
        with _open_text(path) as fh:
            for line in fh:
                line = line.rstrip("\r\n")
                if line:
                    yield line
                else:
                    blank += 1
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); score a binary file "
                         "in fixed-size chunks instead (kcomp score --binary)") from exc
    finally:
        if skipped is not None and blank:
            skipped["blank lines"] = skipped.get("blank lines", 0) + blank


def iter_binary_chunks(path: str | Path, chunk_bytes: int = 4096) -> Iterator[bytes]:
    """A file read as raw bytes in consecutive chunks of ``chunk_bytes`` (the last may be shorter)."""
    path = Path(path)
    if not isinstance(chunk_bytes, int) or isinstance(chunk_bytes, bool) or chunk_bytes < 1:
        raise InputError(f"chunk_bytes must be a positive int, got {chunk_bytes!r}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(chunk_bytes):
                yield chunk
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


_TABLE_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow"}


def _is_hf_saved(path: Path) -> bool:
    return path.is_dir() and (path / "state.json").is_file() and (path / "dataset_info.json").is_file()


def _table_reader(path: Path):
    """The column reader for Parquet/Arrow files and HF save_to_disk folders, else None."""
    if _is_hf_saved(path):
        return iter_table_column
    if path.is_file() and path.suffix.lower() in _TABLE_SUFFIXES:
        return iter_table_column
    return None


def _need_pyarrow(what: str):
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise InputError(f"reading {what} needs pyarrow: pip install 'kcomp[parquet]'") from exc
    return pyarrow


def _record_batches(path: Path):
    """Arrow record batches of a Parquet file, an Arrow IPC file/stream, or the shards of a HF
    ``save_to_disk`` folder (``state.json`` lists them), read batch by batch (bounded memory)."""
    if _is_hf_saved(path):
        _need_pyarrow(f"{path} (a Hugging Face save_to_disk folder)")
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        shards = [path / f["filename"] for f in state.get("_data_files", [])]
        if not shards:
            raise InputError(f"{path}: state.json lists no data files")
        for shard in shards:
            yield from _record_batches(shard)
        return
    if _TABLE_SUFFIXES.get(path.suffix.lower()) == "parquet":
        _need_pyarrow(f"{path} (Parquet)")
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(path).iter_batches(batch_size=4096)
        return
    pa = _need_pyarrow(f"{path} (Arrow)")
    import pyarrow.ipc as ipc

    try:  # HF writes the stream format; Feather v2 is the file format
        reader = ipc.open_stream(pa.memory_map(str(path)))
        yield from reader
    except pa.lib.ArrowInvalid:
        reader = ipc.open_file(pa.memory_map(str(path)))
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def iter_table_column(path: str | Path, field: str | None = None) -> Iterator[str | bytes]:
    """The text (or binary) column of a Parquet/Arrow file or a HF ``save_to_disk`` folder.

    ``field`` names the column (default: the first of text/content/... present). Nulls and
    non-text columns are refused with the row number."""
    path = Path(path)
    row = 0
    column = None
    try:
        for batch in _record_batches(path):
            if column is None:
                column = _pick_column(batch.schema.names, field, path)
            for value in batch.column(column).to_pylist():
                if not isinstance(value, (str, bytes)):
                    kind = "null" if value is None else type(value).__name__
                    raise InputError(f"{path}: row {row}: column {column!r} holds {kind}, expected text or bytes")
                yield value
                row += 1
    except OSError as exc:  # pyarrow's ArrowInvalid/ArrowIOError are OSError/ValueError subclasses
        raise InputError(f"{path}: cannot read as {_TABLE_SUFFIXES.get(path.suffix.lower(), 'Arrow')} "
                         f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from exc
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot read ({str(exc).splitlines()[0]})") from exc


def _pick_column(names: list[str], field: str | None, path: Path) -> str:
    if field is not None:
        if field not in names:
            raise InputError(f"{path}: no column {field!r}; columns are {', '.join(names)}")
        return field
    for name in TEXT_FIELDS:
        if name in names:
            return name
    raise InputError(f"{path}: cannot guess the text column among {', '.join(names)}; pass --field")


def iter_rows(path: str | Path) -> Iterator[dict]:
    """Whole rows, unchanged: JSONL/CSV objects, Parquet/Arrow/HF rows as dicts, and
    ``{"text": line}`` for each non-blank line of a text file."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if _table_reader(path) is not None:
        for batch in _record_batches(path):
            yield from batch.to_pylist()
    elif _base_suffix(path) in (".jsonl", ".ndjson", ".json", ".csv", ".tsv"):
        yield from iter_records(path)
    elif path.is_file():
        for line in iter_lines(path):
            yield {"text": line}
    else:
        raise InputError(f"{path}: expected a JSONL/CSV/Parquet/Arrow/text file or a save_to_disk folder")


@contextmanager
def atomic_output(path: str | Path):
    """A temporary path beside ``path`` that replaces it when the block succeeds and is removed
    when it fails: an interrupted or failed write never leaves a partial file."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
