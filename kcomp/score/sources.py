"""Where the scorer's samples come from: a path (any reader of :mod:`kcomp.io`), a binary file
in fixed-size chunks, or an iterable of str/bytes; re-iterable, with a best-effort count (for
the progress bar's ETA) and what the reader skipped."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kcomp.errors import InputError


@dataclass
class Source:
    label: str
    factory: Callable[[], Iterator]  #: a fresh iterator of str/bytes on every call
    total: int | None = None  #: number of samples when cheaply known
    reader: object = None  #: the :class:`kcomp.io.TextSource` behind a path, if any

    @property
    def skipped(self) -> dict:
        """What the reader left out in its last full pass, e.g. {"blank lines": 12}."""
        stats = getattr(self.reader, "stats", None)
        if stats is None:
            return {}
        found = {"blank lines": stats.blank_lines, "bad rows": stats.bad_rows}
        return {k: v for k, v in found.items() if v}


def _guarded(label: str, factory: Callable[[], Iterator]) -> Callable[[], Iterator]:
    """The factory, with read errors (permissions, a damaged .gz, a vanished file) turned into
    one-line InputErrors that name the source."""
    import zlib

    def read():
        try:
            yield from factory()
        except (OSError, EOFError, zlib.error) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise InputError(f"{label}: cannot read ({reason})") from exc

    return read


def to_bytes(item, i: int) -> bytes:
    """One sample as bytes (str is UTF-8 encoded); the error names the sample."""
    from kcomp._inputs import as_bytes

    return as_bytes(item, name=f"sample #{i}")


def _count_lines(path: Path) -> int | None:
    from kcomp.io import open_binary

    try:
        with open_binary(path) as fh:
            return sum(1 for line in fh if line.strip())
    except (OSError, EOFError, ValueError):
        return None


def _count(path: Path, binary_chunk: int | None) -> int | None:
    """Number of samples, when it is cheap to know (for the progress bar's ETA)."""
    if binary_chunk:
        return -(-path.stat().st_size // binary_chunk)
    if path.is_dir():
        return None
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        except Exception:  # noqa: BLE001 - the reader reports a bad file properly
            return None
    if path.suffix.lower() in (".txt", ".jsonl", ".ndjson", ".gz", ".zst", ".text", ".md"):
        return _count_lines(path)
    return None


def path_source(path: str | Path, field_name: str | None = None, *, binary_chunk: int | None = None) -> Source:
    """A :class:`Source` over a file or directory (``binary_chunk``: read it as raw bytes in
    chunks of that many bytes)."""
    import os

    from kcomp import io

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read (permission denied)")
    if binary_chunk:
        return Source(str(path), _guarded(str(path), lambda: io.iter_binary_chunks(path, binary_chunk)),
                      _count(path, binary_chunk))
    reader = io.TextSource(path, field_name)
    return Source(str(path), _guarded(str(path), lambda: iter(reader)), _count(path, None), reader)


def make_source(data, field_name: str | None = None, *, binary_chunk: int | None = None) -> Source:
    """A path, a :class:`kcomp.io.TextSource`, or an iterable of str/bytes (a one-shot iterator is
    held to be read twice)."""
    if isinstance(data, (str, Path)):
        return path_source(data, field_name, binary_chunk=binary_chunk)
    from kcomp.io import TextSource

    if isinstance(data, TextSource):  # a reader configured by the caller (globs, bad rows, field)
        return Source(str(data.path), _guarded(str(data.path), lambda: iter(data)), _count(data.path, None), data)
    if isinstance(data, (bytes, bytearray)):
        raise InputError("pass a list of samples (or a path), not a single bytes object")
    if isinstance(data, Iterator):
        data = list(data)
    if not isinstance(data, Iterable):
        raise InputError(f"data must be a path or an iterable of str/bytes samples, got {type(data).__name__}")
    total = len(data) if hasattr(data, "__len__") else None
    return Source(f"<{type(data).__name__} of samples>", lambda: iter(data), total)


def reservoir(it: Iterable, k: int, seed: int, bar=None) -> tuple[list[tuple[int, object]], int]:
    """Uniform sample of k (index, item) pairs from a stream of unknown length (Algorithm L)."""
    rng = random.Random(seed)
    res: list[tuple[int, object]] = []
    n = 0
    w = math.exp(math.log(rng.random()) / k)
    nxt = k + int(math.log(rng.random()) / math.log(1 - w)) if k else 0
    for n, item in enumerate(it):
        if bar is not None:
            bar.update(1)
        if n < k:
            res.append((n, item))
        elif n == nxt:
            res[rng.randrange(k)] = (n, item)
            w *= math.exp(math.log(rng.random()) / k)
            nxt = n + 1 + int(math.log(rng.random()) / math.log(1 - w))
    total = n + 1 if (res or n) else 0
    res.sort(key=lambda t: t[0])
    return res, total
