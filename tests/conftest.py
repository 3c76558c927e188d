"""Shared fixtures: small samples of real data (Debian descriptions, Python sources)."""

from __future__ import annotations

import gzip
import json
import sysconfig
from pathlib import Path

import pytest

from kcomp.datasets import find_shared_data

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The shared data directory ($KCOMP_DATA, then ../shared/data), or None."""
    path = find_shared_data()
    return None if path is None else path.parent


@pytest.fixture(scope="session")
def debian_rows() -> list[dict]:
    """The first 600 rows of the Debian package descriptions (real English text)."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("shared/data/debian-descriptions.jsonl.gz not found (set KCOMP_DATA)")
    rows = []
    with gzip.open(d / "debian-descriptions.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            rows.append(json.loads(line))
            if len(rows) >= 600:
                break
    return rows


@pytest.fixture(scope="session")
def debian_texts(debian_rows) -> list[str]:
    return [r["text"] for r in debian_rows]


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


@pytest.fixture(scope="session")
def debian_topics_small():
    """Bundled real Debian descriptions: 12 sections, 4 train + 1 test each, as (Xtr, ytr, Xte, yte)."""
    from kcomp.datasets import load_debian_topics

    (Xtr, ytr), (Xte, yte) = load_debian_topics(48, 12, source="bundled", seed=1)
    return Xtr, ytr, Xte, yte


@pytest.fixture(scope="session")
def debian_topics_medium():
    """Bundled real Debian descriptions: 1,200 train / 240 test over 12 sections."""
    from kcomp.datasets import load_debian_topics

    (Xtr, ytr), (Xte, yte) = load_debian_topics(1200, 240, source="bundled", seed=0)
    return Xtr, ytr, Xte, yte
