"""The offline training corpus of the shipped ``lm`` weights, with its exact train/held-out split.

Every source is real text written by people and installs offline (Debian packages, the project's
shared data folder, the running Python's standard library). Held-out parts are whole documents
(files, books, dictionary entries, package descriptions), never random lines, and are never
trained on:

============  ===========================================================  =====================================
source        where (Debian package)                                       held out (never trained on)
============  ===========================================================  =====================================
descriptions  ``debian-descriptions.jsonl.gz`` in the shared data folder   rows whose ``source`` package has
              (:func:`kcomp.datasets.find_shared_data`), ``text`` field    ``crc32(source) % 10 == 0``
fortunes      English fortune files (``fortunes``; top-level files only)   the files ``literature`` and ``wisdom``
bible         King James Bible (``bible-kjv``, ``bible gen1:1-rev22:21``)  the book of Revelation
python        top-level ``*.py`` of the running Python's stdlib            files with ``crc32(name) % 10 == 0``
              (``sysconfig.get_paths()["stdlib"]``)
austen        Jane Austen's six novels (``r-cran-janeaustenr``; read from  the whole novel *Persuasion*
              its R data file, no R needed)
dictionaries  GCIDE, the Jargon File, The Devil's Dictionary (``dict-gcide``,  entries whose headword has
              ``dict-jargon``, ``dict-devil``) and WordNet glosses          ``crc32(headword) % 10 == 0``
              (``wordnet-base``)                                           (WordNet: synset offset)
docs          Debian Reference and Debian FAQ as text (``debian-reference-en``,  files with
              ``debian-faq``), ``doc-debian`` texts, English manual pages   ``crc32(name) % 10 == 0``
              (troff source, ``/usr/share/man/man[1-8]``)
============  ===========================================================  =====================================

Nothing under ``/usr/share/common-licenses`` or ``fortunes/de`` is used for training: the bench
uses them as text the model has never seen (English licence prose, German).
"""

from __future__ import annotations

import base64
import glob
import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

from kcomp.datasets import FORTUNES_DIR

# Debian system paths (the packages named in the module docstring install them here)
FORTUNES_HELD_OUT = ("literature", "wisdom")
BIBLE_HELD_OUT_MARK = b"Revelation 1\n"
AUSTEN_RDATA = "/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
AUSTEN_HELD_OUT = ("PERSUASION",)  #: titles, compared in upper case
DICTD_DIR = "/usr/share/dictd"
DICTD_NAMES = ("gcide", "jargon", "devil")
WORDNET_DIR = "/usr/share/wordnet"
DEBIAN_DOC_FILES = (
    "/usr/share/doc/debian-reference-en/docs/debian-reference.en.txt.gz",
    "/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz",
)
DEBIAN_DOC_GLOB = "/usr/share/doc/debian/*.txt*"
MAN_GLOB = "/usr/share/man/man[1-8]/*.gz"
DESCRIPTIONS_FILE = "debian-descriptions.jsonl.gz"
APT_PACKAGES = ("fortunes", "bible-kjv", "r-cran-janeaustenr", "dict-gcide", "dict-jargon", "dict-devil",
                "wordnet-base", "debian-reference-en", "debian-faq", "doc-debian", "manpages")


class CorpusSourceMissing(FileNotFoundError):
    """A corpus source is not installed; the message names the Debian package to install."""


@dataclass
class Split:
    train: bytes
    held_out: bytes


def _held_by_hash(name: str) -> bool:
    return zlib.crc32(name.encode("utf-8")) % 10 == 0


def _require(path: str | Path, package: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise CorpusSourceMissing(f"{path} is missing: apt-get install -y {package}")
    return path


def _split_documents(docs) -> Split:
    """docs: iterable of (held_out: bool, bytes) -> Split, keeping document order."""
    train, held = [], []
    for is_held, doc in docs:
        (held if is_held else train).append(doc)
    return Split(b"".join(train), b"".join(held))


def load_descriptions() -> Split:
    from kcomp.datasets import find_shared_data

    path = find_shared_data(DESCRIPTIONS_FILE)
    if path is None:
        raise CorpusSourceMissing(f"{DESCRIPTIONS_FILE} not found: set $KCOMP_DATA or put it in ../shared/data")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = (json.loads(line) for line in fh)
        return _split_documents((_held_by_hash(r["source"]), r["text"].encode("utf-8") + b"\n\n") for r in rows)


def load_fortunes(directory: str | Path = FORTUNES_DIR) -> Split:
    _require(directory, "fortunes")
    paths = [p for p in sorted(Path(directory).glob("*")) if p.is_file() and "." not in p.name]  # no .dat/.u8
    return _split_documents((p.name in FORTUNES_HELD_OUT, p.read_bytes()) for p in paths)


def load_bible() -> Split:
    exe = shutil.which("bible")
    if exe is None:
        raise CorpusSourceMissing("the 'bible' program is missing: apt-get install -y bible-kjv")
    text = subprocess.run([exe, "gen1:1-rev22:21"], check=True, capture_output=True).stdout
    cut = text.find(BIBLE_HELD_OUT_MARK)
    if cut < 0:
        raise ValueError("could not find the start of Revelation in the bible-kjv output")
    return Split(text[:cut], text[cut:])


def load_python(directory: str | None = None) -> Split:
    directory = directory or sysconfig.get_paths()["stdlib"]
    paths = sorted(Path(directory).glob("*.py"))
    if not paths:
        raise CorpusSourceMissing(f"no *.py files under {directory}")
    return _split_documents((_held_by_hash(p.name), p.read_bytes()) for p in paths)


def _r_character_vector(blob: bytes) -> list[bytes]:
    """The strings of one R-serialised (XDR, version 3) character vector."""
    if blob[:2] != b"X\n":
        raise ValueError("not an XDR R serialisation")
    (enc_len,) = struct.unpack_from(">i", blob, 14)
    pos = 18 + enc_len
    flags, n = struct.unpack_from(">ii", blob, pos)
    if flags & 0xFF != 16:  # STRSXP
        raise ValueError(f"expected a character vector, got R type {flags & 0xFF}")
    pos += 8
    out = []
    for _ in range(n):
        _, length = struct.unpack_from(">ii", blob, pos)
        pos += 8
        if length >= 0:
            out.append(blob[pos : pos + length])
            pos += length
    return out


def austen_novels(path: str | None = None) -> dict[str, bytes]:
    """{title: text} of the novels in janeaustenr's lazy-load database (zlib-compressed records)."""
    data = _require(path or AUSTEN_RDATA, "r-cran-janeaustenr").read_bytes()
    novels, pos = {}, 0
    while pos < len(data):
        inflate = zlib.decompressobj()
        blob = inflate.decompress(data[pos + 4 :])
        pos = len(data) - len(inflate.unused_data)
        lines = _r_character_vector(blob)
        novels[next(line for line in lines if line.strip()).strip().decode()] = b"\n".join(lines) + b"\n"
    return novels


def load_austen() -> Split:
    return _split_documents((title.upper() in AUSTEN_HELD_OUT, text) for title, text in austen_novels().items())


_DICTD_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _dictd_number(text: str) -> int:
    value = 0
    for ch in text.encode("ascii"):
        value = value * 64 + _DICTD_B64.index(ch)
    return value


def _dictd_entries(name: str):
    """(headword, entry bytes) of a dictd database, each entry once, skipping the 00-database ones."""
    index = _require(os.path.join(DICTD_DIR, f"{name}.index"), f"dict-{name}")
    with gzip.open(os.path.join(DICTD_DIR, f"{name}.dict.dz"), "rb") as fh:  # dictzip is gzip
        text = fh.read()
    seen = set()
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        head, offset, length = line.split("\t")[:3]
        start = _dictd_number(offset)
        if head.startswith("00database") or start in seen:
            continue
        seen.add(start)
        yield head, text[start : start + _dictd_number(length)] + b"\n"


def _wordnet_glosses():
    """(synset offset, 'lemmas: gloss') of every WordNet 3.0 synset."""
    _require(WORDNET_DIR, "wordnet-base")
    for part in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(WORDNET_DIR, f"data.{part}"), "rb") as fh:
            for line in fh:
                if line.startswith(b"  ") or b" | " not in line:
                    continue  # licence header
                head, gloss = line.rstrip().split(b" | ", 1)
                fields = head.split()
                lemmas = [w.replace(b"_", b" ") for w in fields[4 : 4 + 2 * int(fields[3], 16) : 2]]
                yield fields[0].decode() + part, b", ".join(lemmas) + b": " + gloss + b"\n"


def load_dictionaries() -> Split:
    entries = [e for name in DICTD_NAMES for e in _dictd_entries(name)] + list(_wordnet_glosses())
    return _split_documents((_held_by_hash(head), text) for head, text in entries)


def _read_maybe_gz(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def load_docs() -> Split:
    paths = [_require(p, "debian-reference-en debian-faq") for p in DEBIAN_DOC_FILES]
    paths += sorted(Path(p) for p in glob.glob(DEBIAN_DOC_GLOB))
    paths += sorted(Path(p) for p in glob.glob(MAN_GLOB) if not os.path.islink(p))
    return _split_documents((_held_by_hash(p.name), _read_maybe_gz(p)) for p in paths)


LOADERS = {
    "descriptions": load_descriptions,
    "fortunes": load_fortunes,
    "bible": load_bible,
    "python": load_python,
    "austen": load_austen,
    "dictionaries": load_dictionaries,
    "docs": load_docs,
}


def load_corpus(sources=None) -> dict[str, Split]:
    """Load every source (or the named ones) -> {name: Split(train, held_out)}."""
    names = list(LOADERS) if sources is None else list(sources)
    unknown = [n for n in names if n not in LOADERS]
    if unknown:
        raise ValueError(f"unknown corpus source(s) {unknown}; known: {', '.join(LOADERS)}")
    return {name: LOADERS[name]() for name in names}


def corpus_digest(corpus: dict[str, Split]) -> str:
    """SHA-256 (hex, first 16 digits) over every source's train and held-out bytes."""
    h = hashlib.sha256()
    for name in sorted(corpus):
        for part in (corpus[name].train, corpus[name].held_out):
            h.update(name.encode() + struct.pack("<Q", len(part)))
            h.update(part)
    return h.hexdigest()[:16]
