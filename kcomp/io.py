"""Reading collections of texts from disk: the one place files become samples.

* a directory: one raw-bytes sample per regular file, recursively, in sorted order; hidden
  files and folders (``.git``, ``.venv``...) and cache folders (``__pycache__``...) are skipped,
  and ``include``/``exclude`` globs pick files further;
* ``.txt`` (or any other name): one sample per non-empty line (str);
* ``.jsonl``/``.ndjson``: one JSON object per line; ``.json``: a JSON array of objects (or of
  strings), or JSON lines; ``.csv``/``.tsv``: a header row, then rows;
* any of these compressed: ``.gz``, ``.zst``, ``.bz2``, ``.xz`` (``data.jsonl.gz``...).

Row errors name the row ("data.jsonl: row 18: field 'text' is null"); ``skip_bad_rows=True``
skips such rows instead and counts them in :attr:`TextSource.stats`.
"""

from __future__ import annotations

import bz2
import csv
import fnmatch
import gzip
import io
import json
import lzma
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field as dc_field
from pathlib import Path

from kcomp.errors import InputError

#: field names tried, in order, when no text field is given
TEXT_FIELDS = ("text", "content", "sentence", "document", "body")
#: folders skipped in a directory input besides hidden ones (names starting with '.')
CACHE_DIRS = frozenset({"__pycache__", "node_modules", "__MACOSX"})
#: record formats, by base suffix (after removing a compression suffix)
RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv")
_OPENERS = {".gz": gzip.open, ".zst": None, ".bz2": bz2.open, ".xz": lzma.open}


def open_binary(path: str | os.PathLike):
    """Open ``path`` for reading bytes, decompressing ``.gz``/``.zst``/``.bz2``/``.xz`` on the fly."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zst":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    opener = _OPENERS.get(suffix)
    return opener(path, "rb") if opener else open(path, "rb")


def base_suffix(path: str | os.PathLike) -> str:
    """The format suffix under any compression suffix: ``a.jsonl.gz`` -> ``.jsonl``."""
    path = Path(path)
    if path.suffix.lower() in _OPENERS:
        path = Path(path.stem)
    return path.suffix.lower()


# ---------------------------------------------------------------------------------------
# directories
# ---------------------------------------------------------------------------------------
def _matches(rel: str, patterns: Sequence[str], *, dirs: bool) -> bool:
    parts = rel.split("/")
    names = parts if dirs else parts[-1:]
    return any(fnmatch.fnmatchcase(rel, p) or any(fnmatch.fnmatchcase(n, p) for n in names) for p in patterns)


def list_files(root: str | os.PathLike, *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Path]:
    """Regular files under ``root``, sorted by relative path, without hidden or cache folders.

    ``include``: keep only files whose relative path or name matches one of these globs
    (``*.py``, ``src/*``); ``exclude``: drop files whose relative path, name or any parent
    folder matches one (``tests``, ``*.min.js``).
    """
    root = Path(root)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in CACHE_DIRS)
        for name in filenames:
            p = Path(dirpath) / name
            if name.startswith(".") or not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            if include and not _matches(rel, include, dirs=False):
                continue
            if exclude and _matches(rel, exclude, dirs=True):
                continue
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


# ---------------------------------------------------------------------------------------
# record files
# ---------------------------------------------------------------------------------------
def _decode(raw: bytes, path: Path, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {where}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                         "pass a directory of files to treat samples as raw bytes") from exc


def _json_lines(path: Path, fh) -> Iterator[tuple[int, object]]:
    for n, raw in enumerate(fh, 1):
        line = _decode(raw, path, f"line {n}").lstrip("\ufeff") if n == 1 else _decode(raw, path, f"line {n}")
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {n}: not valid JSON ({exc.msg})") from exc


def _json_values(path: Path) -> Iterator[tuple[int, object]]:
    """(row number, value) of a JSON-lines file, or of a JSON array (row = element, from 1)."""
    with open_binary(path) as fh:
        head = fh.peek(64) if hasattr(fh, "peek") else b""
        if not head:  # streams without peek (zstd): read it all, the array case needs that anyway
            data = fh.read()
            fh = io.BytesIO(data)
            head = data[:64]
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
            try:
                values = json.loads(_decode(fh.read(), path, "file"))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: not a valid JSON array ({exc.msg} at line {exc.lineno})") from exc
            yield from enumerate(values, 1)
        else:
            yield from _json_lines(path, fh)


def _csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict]]:
    with open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")  # -sig: Excel's BOM
        n = 0
        try:
            for n, row in enumerate(csv.DictReader(text, delimiter=delimiter), 1):
                yield n, row
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: near row {n + 1}: not UTF-8 text ({exc.reason})") from exc
        except csv.Error as exc:
            raise InputError(f"{path}: row {n + 1}: {exc}") from exc


def _rows(path: Path) -> Iterator[tuple[int, object]]:
    kind = base_suffix(path)
    if kind in (".jsonl", ".ndjson", ".json"):
        return _json_values(path)
    if kind in (".csv", ".tsv"):
        return _csv_rows(path, "\t" if kind == ".tsv" else ",")
    raise InputError(f"{path}: expected .jsonl, .json, .csv or .tsv, got {kind or 'no extension'}")


def iter_records(path: str | os.PathLike) -> Iterator[dict]:
    """Yield dict rows of a .jsonl/.json/.csv/.tsv file (optionally compressed)."""
    path = Path(path)
    _check_exists(path)
    for n, row in _rows(path):
        if not isinstance(row, dict):
            raise InputError(f"{path}: row {n}: expected a JSON object, got {_json_type(row)}")
        yield row


def _json_type(value: object) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


class BadRow(InputError):
    """A row lacks its text field, or the value is null or not a string."""


def pick_field(row: dict, field: str | None, path: Path | str, n: int | None = None) -> str:
    """The text of ``row``: ``field``, or the first of :data:`TEXT_FIELDS`; :class:`BadRow` names
    the row when the field is missing, null or not a string."""
    where = f"{path}: row {n}" if n is not None else str(path)
    if field is None:
        field = next((f for f in TEXT_FIELDS if f in row), None)
        if field is None:
            raise BadRow(f"{where}: cannot guess the text field among {', '.join(map(str, row)) or '(none)'}; "
                         "pass --field")
    if field not in row:
        raise BadRow(f"{where}: no field {field!r}; fields are {', '.join(map(str, row)) or '(none)'}")
    value = row[field]
    if not isinstance(value, str):
        raise BadRow(f"{where}: field {field!r} is {_json_type(value)}, expected a string")
    return value


# ---------------------------------------------------------------------------------------
# samples
# ---------------------------------------------------------------------------------------
@dataclass
class ReadStats:
    """What a pass over a source read and skipped (counts of samples/rows)."""

    samples: int = 0
    blank_lines: int = 0  #: empty lines of a .txt (not samples)
    bad_rows: int = 0  #: rows skipped by ``skip_bad_rows``
    bad_row_examples: list[str] = dc_field(default_factory=list)  #: the first few reasons

    def summary(self) -> str:
        """One line for the user, e.g. 'skipped 3 bad rows (first: row 18: ...)'; '' if nothing."""
        parts = []
        if self.bad_rows:
            parts.append(f"skipped {self.bad_rows:,} bad row(s) (first: {self.bad_row_examples[0]})")
        if self.blank_lines:
            parts.append(f"skipped {self.blank_lines:,} blank line(s)")
        return "; ".join(parts)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")


class TextSource:
    """A re-iterable collection of samples on disk (see the module docstring).

    Iterating yields the samples (str, or bytes for a directory); :meth:`samples` yields
    ``(name, sample)`` pairs: the relative path for a directory's files, else the
    ``name_field`` value, else ``#i`` (0-based). :attr:`stats` describes the last full pass.
    """

    def __init__(self, path: str | os.PathLike, field: str | None = None, *, name_field: str | None = None,
                 include: Sequence[str] = (), exclude: Sequence[str] = (), skip_bad_rows: bool = False) -> None:
        self.path = Path(path)
        self.field, self.name_field = field, name_field
        self.include, self.exclude = tuple(include or ()), tuple(exclude or ())
        self.skip_bad_rows = skip_bad_rows
        self.stats = ReadStats()
        _check_exists(self.path)
        if name_field is not None and (self.path.is_dir() or base_suffix(self.path) not in RECORD_SUFFIXES):
            raise InputError(f"{self.path}: a name field needs a .jsonl/.json/.csv input")

    def __repr__(self) -> str:
        return f"TextSource({str(self.path)!r})"

    def __iter__(self) -> Iterator[str | bytes]:
        return (sample for _, sample in self.samples())

    def samples(self) -> Iterator[tuple[str, str | bytes]]:
        self.stats = ReadStats()
        if self.path.is_dir():
            parts = self._files()
        elif base_suffix(self.path) in RECORD_SUFFIXES:
            parts = self._records()
        else:
            parts = self._lines()
        for name, sample in parts:
            self.stats.samples += 1
            yield name, sample

    def _files(self) -> Iterator[tuple[str, bytes]]:
        files = list_files(self.path, include=self.include, exclude=self.exclude)
        if not files:
            raise InputError(f"{self.path}: directory holds no files (hidden and cache folders are skipped"
                             + ("; check --include/--exclude)" if self.include or self.exclude else ")"))
        for p in files:
            yield p.relative_to(self.path).as_posix(), p.read_bytes()

    def _records(self) -> Iterator[tuple[str, str]]:
        i = 0
        for n, row in _rows(self.path):
            try:
                if not isinstance(row, (dict, str)):
                    raise BadRow(f"{self.path}: row {n}: expected a JSON object or string, got {_json_type(row)}")
                text = row if isinstance(row, str) else pick_field(row, self.field, self.path, n)
                name = f"#{i}" if self.name_field is None else self._name(row, n)
            except BadRow as exc:
                if not self.skip_bad_rows:
                    raise BadRow(f"{exc} (--skip-bad-rows skips such rows)") from None
                self.stats.bad_rows += 1
                if len(self.stats.bad_row_examples) < 3:
                    self.stats.bad_row_examples.append(str(exc).removeprefix(f"{self.path}: "))
                continue
            i += 1
            yield name, text

    def _name(self, row, n: int) -> str:
        if not isinstance(row, dict) or row.get(self.name_field) is None:
            raise BadRow(f"{self.path}: row {n}: no name field {self.name_field!r}")
        return str(row[self.name_field])

    def _lines(self) -> Iterator[tuple[str, str]]:
        with open_binary(self.path) as fh:
            i = 0
            for n, raw in enumerate(fh, 1):
                line = _decode(raw, self.path, f"line {n}").rstrip("\r\n")
                if not line:
                    self.stats.blank_lines += 1
                    continue
                yield f"#{i}", line
                i += 1

    def read(self, limit: int | None = None) -> tuple[list[str], list[str | bytes]]:
        """``(names, samples)``, at most ``limit`` of them; refuses an empty result."""
        names, texts = [], []
        for name, sample in self.samples():
            names.append(name)
            texts.append(sample)
            if limit is not None and len(texts) >= limit:
                break
        if not texts:
            raise InputError(f"{self.path}: holds no samples" + (f" ({self.stats.summary()})" if self.stats.summary()
                                                               else ""))
        return names, texts


def iter_texts(path: str | os.PathLike, field: str | None = None, **options) -> Iterator[str | bytes]:
    """Yield the samples of ``path`` one at a time (options: see :class:`TextSource`)."""
    return iter(TextSource(path, field, **options))


def read_texts(path: str | os.PathLike, field: str | None = None, limit: int | None = None,
               **options) -> list[str | bytes]:
    """All samples of ``path`` (see :class:`TextSource`), at most ``limit``; refuses an empty set."""
    return TextSource(path, field, **options).read(limit)[1]
