"""Shared fixtures: small samples of real data (Debian descriptions, Python sources)."""

from __future__ import annotations

import itertools
import json
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from kcomp.datasets import BUNDLED_DEBIAN_SAMPLE, find_shared_data
from kcomp.io import iter_records

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The shared data directory ($KCOMP_DATA, then ../shared/data), or None."""
    path = find_shared_data()
    return None if path is None else path.parent


def _first_rows(path: Path, n: int | None = None) -> list[dict]:
    return list(itertools.islice(iter_records(path), n))


@pytest.fixture(scope="session")
def debian_rows() -> list[dict]:
    """The first 600 rows of the Debian package descriptions (real English text)."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("shared/data/debian-descriptions.jsonl.gz not found (set KCOMP_DATA)")
    return _first_rows(d / "debian-descriptions.jsonl.gz", 600)


@pytest.fixture(scope="session")
def debian_texts(debian_rows) -> list[str]:
    return [r["text"] for r in debian_rows]


@pytest.fixture(scope="session")
def debian_rows_or_bundled() -> list[dict]:
    """600 Debian description rows ("text", "section"): the shared data's first rows when it is
    present, else the sample bundled with kcomp in a seeded shuffle. For tests that need real
    text, not those exact rows: they run everywhere instead of skipping."""
    d = shared_data_dir()
    if d is not None:
        return _first_rows(d / "debian-descriptions.jsonl.gz", 600)
    rows = _first_rows(BUNDLED_DEBIAN_SAMPLE)
    return [rows[i] for i in np.random.default_rng(0).permutation(len(rows))[:600]]


@pytest.fixture(scope="session")
def debian_texts_or_bundled(debian_rows_or_bundled) -> list[str]:
    return [r["text"] for r in debian_rows_or_bundled]


@pytest.fixture(scope="session")
def python_sources() -> list[bytes]:
    """A few real Python standard-library files as bytes."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [stdlib / n for n in ("json/decoder.py", "textwrap.py", "bisect.py", "gzip.py", "string.py")]
    return [f.read_bytes() for f in files if f.exists()]


@pytest.fixture(scope="session")
def real_files(debian_texts, python_sources) -> dict[str, bytes]:
    """Named real payloads: prose, code, JSON, and the gzip'd data file itself (binary)."""
    out = {f"py{i}": b for i, b in enumerate(python_sources)}
    out["prose"] = "\n".join(debian_texts[:80]).encode()
    out["json"] = json.dumps(debian_texts[:30], ensure_ascii=False).encode()
    d = shared_data_dir()
    if d is not None:
        out["binary_gz"] = (d / "debian-descriptions.jsonl.gz").read_bytes()[:200_000]
    return out
