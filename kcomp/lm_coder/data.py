"""The offline training corpus of the shipped ``lm`` weights, with its exact train/held-out split.

Sources (all real text written by people, installable offline on Debian):

=============  =====================================================  ==========================================
source         where                                                  held out (never trained on)
=============  =====================================================  ==========================================
descriptions   ``/work/shared/data/debian-descriptions.jsonl.gz``     rows whose ``source`` package has
               (``text`` field, one document per row)                 ``crc32(source) % 10 == 0``
fortunes       English fortune files ``/usr/share/games/fortunes/*``  the files ``literature`` and ``wisdom``
               (Debian ``fortunes``; ``off/`` and non-English dirs
               are not used)
bible          King James Bible (Debian ``bible-kjv``,                the book of Revelation (from the line
               ``bible gen1:1-rev22:21``)                             ``Revelation 1`` to the end)
python         Python 3.11 standard library, top-level ``*.py`` of    files whose name has
               ``/root/.pyenv/versions/3.11.7/lib/python3.11``         ``crc32(name) % 10 == 0``
=============  =====================================================  ==========================================

Nothing under ``/usr/share/common-licenses`` or ``fortunes/de`` is used for training: the bench
uses them as text the model has never seen (English licence prose, German).
"""

from __future__ import annotations

import glob
import gzip
import json
import os
import shutil
import subprocess
import zlib
from dataclasses import dataclass

DESCRIPTIONS = os.environ.get(
    "KCOMP_DESCRIPTIONS",
    os.path.join(os.environ.get("KCOMP_DATA", "/work/shared/data"), "debian-descriptions.jsonl.gz"),
)
FORTUNES_DIR = "/usr/share/games/fortunes"
FORTUNES_HELD_OUT = ("literature", "wisdom")
PYTHON_LIB = os.environ.get("KCOMP_PYTHON_LIB", "/root/.pyenv/versions/3.11.7/lib/python3.11")
BIBLE_HELD_OUT_MARK = b"Revelation 1\n"


@dataclass
class Split:
    train: bytes
    held_out: bytes


def _held_by_hash(name: str) -> bool:
    return zlib.crc32(name.encode("utf-8")) % 10 == 0


def load_descriptions(path: str = DESCRIPTIONS) -> Split:
    train, held = [], []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            doc = row["text"].encode("utf-8") + b"\n\n"
            (held if _held_by_hash(row["source"]) else train).append(doc)
    return Split(b"".join(train), b"".join(held))


def load_fortunes(directory: str = FORTUNES_DIR) -> Split:
    train, held = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        name = os.path.basename(path)
        if not os.path.isfile(path) or "." in name:  # skip .dat indexes and .u8 links
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        (held if name in FORTUNES_HELD_OUT else train).append(data)
    return Split(b"".join(train), b"".join(held))


def load_bible() -> Split:
    exe = shutil.which("bible") or "/usr/bin/bible"
    if not os.path.exists(exe):
        raise FileNotFoundError("the 'bible' program is missing: apt-get install -y bible-kjv")
    text = subprocess.run([exe, "gen1:1-rev22:21"], check=True, capture_output=True).stdout
    cut = text.find(BIBLE_HELD_OUT_MARK)
    if cut < 0:
        raise ValueError("could not find the start of Revelation in the bible-kjv output")
    return Split(text[:cut], text[cut:])


def load_python(directory: str = PYTHON_LIB) -> Split:
    train, held = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.py"))):
        with open(path, "rb") as fh:
            data = fh.read()
        (held if _held_by_hash(os.path.basename(path)) else train).append(data)
    if not train:
        raise FileNotFoundError(f"no *.py files under {directory}")
    return Split(b"".join(train), b"".join(held))


LOADERS = {
    "descriptions": load_descriptions,
    "fortunes": load_fortunes,
    "bible": load_bible,
    "python": load_python,
}


def load_corpus(sources=None) -> dict[str, Split]:
    """Load every source (or the named ones) -> {name: Split(train, held_out)}."""
    names = list(LOADERS) if sources is None else list(sources)
    out = {}
    for name in names:
        if name not in LOADERS:
            raise ValueError(f"unknown corpus source {name!r}; known: {', '.join(LOADERS)}")
        out[name] = LOADERS[name]()
    return out
