"""Real text-classification datasets with leak-free train/test splits.

Every loader returns a :class:`Splits`: ``(X_train, y_train), (X_test, y_test) = load_...()``,
with ``.train_groups``/``.test_groups`` (the unit the split was made on) and ``.info``.

The splits are built the same way everywhere (:func:`group_split`):

1. exact duplicate texts are collapsed; a text seen under two labels is dropped;
2. samples are grouped (Debian source package, fortune text, gettext msgid) and whole
   groups go to one side, so no group and no identical text is in both train and test;
3. the test side takes groups (in seeded random order) until every class has its quota;
   each side is then sampled per class, balanced, with a seeded RNG.

``n_train``/``n_test`` are totals, spread evenly over the classes (the first ``n % C`` classes,
in sorted order, get one more). ``None`` keeps everything available on that side. A class
with fewer samples than its quota keeps what it has and a warning says so.

Data locations (the one lookup, :func:`find_shared_data`): shared data files are looked up in
the directory ``$KCOMP_DATA``, then in ``../shared/data`` next to the repository, then in
``../shared/data`` and ``./shared/data`` from the working directory. A small frozen real
sample ships inside the package (``source="bundled"``) so the demos run anywhere. System data
of Debian packages is read from the well-known paths :data:`FORTUNES_DIR` and
:data:`LOCALE_DIR` (both overridable per call); kcomp holds no other machine path.
"""

from __future__ import annotations

import gettext
import os
import re
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from kcomp.errors import InputError

__all__ = [
    "Splits", "DatasetUnavailableError", "DEBIAN_SECTIONS", "FORTUNE_LANGUAGES", "GETTEXT_LANGUAGES",
    "load_debian_topics", "load_fortunes_language", "load_gettext_language", "load_dataset",
    "list_datasets", "group_split", "find_shared_data", "BUNDLED_DEBIAN_SAMPLE",
]

#: 12 topical sections of the Debian archive (others are mostly about packaging, not topic)
DEBIAN_SECTIONS = ("database", "editors", "electronics", "fonts", "games", "graphics", "hamradio", "mail",
                   "math", "science", "sound", "video")
DEBIAN_FILE = "debian-descriptions.jsonl.gz"
BUNDLED_DEBIAN_SAMPLE = Path(__file__).parent / "data" / "debian_topics_sample.jsonl.gz"

FORTUNES_DIR = Path("/usr/share/games/fortunes")
#: language -> (Debian package, paths relative to FORTUNES_DIR; a directory means every file in it)
FORTUNE_LANGUAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "en": ("fortunes", ("@english",)),  # the regular top-level files of 'fortunes'/'fortunes-min'
    "de": ("fortunes-de", ("de",)),
    "es": ("fortunes-es", ("es",)),
    "it": ("fortunes-it", ("it",)),
    "ru": ("fortunes-ru", ("ru",)),
    "pl": ("fortunes-pl", ("pl",)),
    "cs": ("fortunes-cs", ("cs",)),
    "zh": ("fortunes-zh", ("chinese", "tang300", "song100")),
    "pt": ("fortunes-br", ("brasil",)),
}
#: top-level fortune files that are not English (they belong to fortunes-zh / fortunes-br)
_NON_ENGLISH_TOP = {"chinese", "tang300", "song100", "brasil"}
#: files in a language directory written in another language
_FORTUNE_EXCLUDE = {"cs": {"klasik-sk"}}  # Slovak classics shipped in fortunes-cs

LOCALE_DIR = Path("/usr/share/locale")
#: 12 languages with large catalogues on a stock Debian: 8 Latin-script, 4 Cyrillic (two close
#: pairs, ru/uk and cs/pl, keep it from being trivial)
GETTEXT_LANGUAGES = ("cs", "de", "es", "fr", "it", "nl", "pl", "pt", "ru", "sv", "tr", "uk")


class DatasetUnavailableError(InputError):
    """The files a loader reads are not on this machine; the message says what to install."""


class Splits(tuple):
    """``((X_train, y_train), (X_test, y_test))`` plus ``train_groups``, ``test_groups``, ``info``."""

    def __new__(cls, train, test, train_groups, test_groups, info):
        self = super().__new__(cls, ((list(train[0]), list(train[1])), (list(test[0]), list(test[1]))))
        self.train_groups = list(train_groups)
        self.test_groups = list(test_groups)
        self.info = dict(info)
        return self

    @property
    def train(self):
        return self[0]

    @property
    def test(self):
        return self[1]

    def __repr__(self) -> str:
        return (f"Splits({self.info.get('name', '?')}: {len(self[0][0])} train, {len(self[1][0])} test, "
                f"{len(set(self[0][1]))} classes)")


# ---------------------------------------------------------------------------------------
# the split
# ---------------------------------------------------------------------------------------
def _quotas(n: int | None, classes: Sequence) -> dict:
    if n is None:
        return {c: None for c in classes}
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"sizes must be non-negative ints or None; got {n!r}")
    base, extra = divmod(int(n), len(classes))
    return {c: base + (1 if i < extra else 0) for i, c in enumerate(classes)}


def group_split(
    records: Iterable[tuple[str, str, str]],
    n_train: int | None,
    n_test: int | None,
    *,
    seed: int = 0,
    max_per_group: int | None = None,
    name: str = "dataset",
) -> Splits:
    """Leak-free split of ``(text, label, group)`` records (see the module docstring).

    ``max_per_group`` caps how many samples one group may contribute to a side, so one big
    group (a source package with 40 near-identical binaries) cannot dominate a class.
    """
    texts: dict[str, list] = {}
    labels_of: dict[str, set] = defaultdict(set)
    n_in = 0
    for text, label, group in records:
        n_in += 1
        labels_of[text].add(label)
        texts.setdefault(text, [label, group])
    conflicting = {t for t, labs in labels_of.items() if len(labs) > 1}
    items = [(t, lab, g) for t, (lab, g) in texts.items() if t not in conflicting]
    if not items:
        raise InputError(f"{name}: no samples left after deduplication")
    classes = sorted({lab for _, lab, _ in items})
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, (_, _, g) in enumerate(items):
        by_group[g].append(i)
    rng = np.random.default_rng(seed)
    groups = sorted(by_group)
    order = rng.permutation(len(groups))
    q_test, q_train = _quotas(n_test, classes), _quotas(n_train, classes)

    have = Counter()
    test_pool, train_pool = [], []
    for gi in order:
        members = by_group[groups[gi]]
        if n_test is None:
            to_test = False
        else:
            to_test = any(have[items[i][1]] < q_test[items[i][1]] for i in members)
        if to_test:
            if max_per_group is not None:  # keep only the members that fill open test slots
                members = [members[j] for j in rng.permutation(len(members))]
                members = [i for i in members if have[items[i][1]] < q_test[items[i][1]]][:max_per_group]
            test_pool.extend(members)  # the rest of the group is dropped: never in train
            for i in members:
                have[items[i][1]] += 1
        else:
            train_pool.extend(members)

    def take(pool, quota):
        per_class: dict = defaultdict(list)
        for i in pool:
            per_class[items[i][1]].append(i)
        chosen, short = [], []
        used = Counter()  # per group, over all classes of this side
        for c in classes:
            idx = per_class.get(c, [])
            idx = [idx[j] for j in rng.permutation(len(idx))]
            if max_per_group is not None:
                kept = []
                for i in idx:
                    if used[items[i][2]] < max_per_group:
                        used[items[i][2]] += 1
                        kept.append(i)
                idx = kept
            want = quota[c]
            if want is not None and len(idx) < want:
                short.append(f"{c} ({len(idx)}/{want})")
            if max_per_group is not None and want is not None:
                for i in idx[want:]:  # counted above but not taken: give the slots back
                    used[items[i][2]] -= 1
            chosen.extend(idx if want is None else idx[:want])
        chosen = [chosen[j] for j in rng.permutation(len(chosen))]
        return chosen, short

    tr, short_tr = take(train_pool, q_train)
    te, short_te = take(test_pool, q_test)
    if short_tr or short_te:
        warnings.warn(f"{name}: some classes have fewer samples than asked: train {', '.join(short_tr) or '-'}; "
                      f"test {', '.join(short_te) or '-'}", UserWarning, stacklevel=3)
    info = {"name": name, "seed": seed, "classes": classes, "n_records": n_in, "n_unique_texts": len(texts),
            "n_conflicting_texts_dropped": len(conflicting), "n_groups": len(groups),
            "n_train": len(tr), "n_test": len(te), "max_per_group": max_per_group}
    return Splits(([items[i][0] for i in tr], [items[i][1] for i in tr]),
                  ([items[i][0] for i in te], [items[i][1] for i in te]),
                  [items[i][2] for i in tr], [items[i][2] for i in te], info)


# ---------------------------------------------------------------------------------------
# Debian package descriptions: topic classification
# ---------------------------------------------------------------------------------------
def find_shared_data(filename: str = DEBIAN_FILE) -> Path | None:
    """Where ``filename`` of the shared data directory is: $KCOMP_DATA, then ../shared/data
    relative to the repository and to the working directory. None when absent."""
    env = os.environ.get("KCOMP_DATA")
    candidates = []
    if env:
        candidates.append(Path(env))
    repo = Path(__file__).resolve().parent.parent
    candidates += [repo.parent / "shared" / "data", Path.cwd().parent / "shared" / "data",
                   Path.cwd() / "shared" / "data"]
    for c in candidates:
        if (c / filename).is_file():
            return c / filename
    return None


def _read_rows(path: Path, fields: Sequence[str] = ("text", "section", "source")) -> list[dict]:
    """The rows of a Debian-descriptions file (via :func:`kcomp.io.iter_records`), each checked
    to hold ``fields``; a row without one is named."""
    from kcomp.io import iter_records

    rows = []
    for n, row in enumerate(iter_records(path), 1):
        missing = [f for f in fields if row.get(f) is None]
        if missing:
            raise InputError(f"{path}: row {n}: no {', '.join(map(repr, missing))} field")
        rows.append(row)
    return rows


def load_debian_topics(
    n_train: int | None = 1000,
    n_test: int | None = 200,
    *,
    sections: Sequence[str] = DEBIAN_SECTIONS,
    seed: int = 0,
    source: str | os.PathLike = "auto",
    max_per_source: int | None = None,
) -> Splits:
    """Topic classification of Debian package descriptions into archive sections.

    Split by *source package* (binaries of one source repeat each other's text), exact texts
    deduplicated. ``source``: ``"shared"`` (the 63k-row snapshot, see
    :func:`find_shared_data`), ``"bundled"`` (the frozen sample inside kcomp: 12 sections x
    100 train + 20 test, already split by source; sizes above that are capped), ``"auto"``
    (shared when found, else bundled), or a path to a ``.jsonl.gz`` with the same fields.
    """
    sections = tuple(sorted(sections))
    if not sections:
        raise InputError("sections is empty")
    if str(source) == "bundled" or (str(source) == "auto" and find_shared_data() is None):
        return _load_bundled(n_train, n_test, sections, seed)
    if str(source) in ("auto", "shared"):
        path = find_shared_data()
        if path is None:
            raise DatasetUnavailableError(
                f"{DEBIAN_FILE} not found: set KCOMP_DATA to the directory holding it (tried $KCOMP_DATA, "
                "../shared/data next to the repository and the working directory), or use source='bundled'")
    else:
        path = Path(source)
        if not path.is_file():
            raise DatasetUnavailableError(f"{path}: no such file")
    rows = _read_rows(path)
    missing = set(sections) - {r["section"] for r in rows}
    if missing:
        raise InputError(f"{path}: no rows in section(s) {', '.join(sorted(missing))}")
    wanted = set(sections)
    recs = ((r["text"], r["section"], r["source"]) for r in rows if r["section"] in wanted)
    out = group_split(recs, n_train, n_test, seed=seed, max_per_group=max_per_source, name="debian_topics")
    out.info.update(source=str(path), split_by="source package")
    return out


def _load_bundled(n_train, n_test, sections, seed) -> Splits:
    if not BUNDLED_DEBIAN_SAMPLE.is_file():
        raise DatasetUnavailableError(f"the bundled sample {BUNDLED_DEBIAN_SAMPLE} is missing from this "
                                      "installation; run scripts/freeze_sample.py or reinstall kcomp")
    rows = [r for r in _read_rows(BUNDLED_DEBIAN_SAMPLE) if r["section"] in set(sections)]
    missing = set(sections) - {r["section"] for r in rows}
    if missing:
        raise InputError(f"the bundled sample has no section(s) {', '.join(sorted(missing))}; "
                         f"it holds {', '.join(DEBIAN_SECTIONS)}")
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        part = [r for r in rows if r["split"] == split]
        q = _quotas(n, list(sections))
        chosen = []
        for c in sections:
            idx = [i for i, r in enumerate(part) if r["section"] == c]
            idx = [idx[j] for j in rng.permutation(len(idx))]
            if q[c] is not None and len(idx) < q[c]:
                warnings.warn(f"bundled sample: section {c} has {len(idx)} {split} rows, fewer than the "
                              f"{q[c]} asked; use source='shared' for larger sets", UserWarning, stacklevel=3)
            chosen.extend(idx if q[c] is None else idx[:q[c]])
        chosen = [chosen[j] for j in rng.permutation(len(chosen))]
        out[split] = [part[i] for i in chosen]
    info = {"name": "debian_topics", "source": "bundled", "split_by": "source package", "seed": seed,
            "classes": list(sections), "n_train": len(out["train"]), "n_test": len(out["test"])}
    return Splits(([r["text"] for r in out["train"]], [r["section"] for r in out["train"]]),
                  ([r["text"] for r in out["test"]], [r["section"] for r in out["test"]]),
                  [r["source"] for r in out["train"]], [r["source"] for r in out["test"]], info)


# ---------------------------------------------------------------------------------------
# fortunes: language identification
# ---------------------------------------------------------------------------------------
def _norm_key(text: str) -> str:
    """Grouping key: letters and digits only, case-folded, accents kept (near-duplicates
    differing in spacing, punctuation or line breaks share a key)."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text).casefold() if ch.isalnum())


def _fortune_files(lang: str, root: Path) -> list[Path]:
    pkg, parts = FORTUNE_LANGUAGES[lang]
    files = []
    for part in parts:
        if part == "@english":
            cand = [p for p in root.iterdir() if p.is_file() and not p.is_symlink() and p.suffix not in (".dat", ".u8")
                    and p.name not in _NON_ENGLISH_TOP]
        else:
            p = root / part
            if p.is_dir():
                cand = [q for q in p.iterdir() if q.is_file() and q.suffix not in (".dat", ".u8")
                        and q.name not in _FORTUNE_EXCLUDE.get(lang, set())]
            else:
                cand = [p] if p.is_file() else []
        files.extend(sorted(cand))
    return files


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _read_fortunes(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        u8 = path.with_name(path.name + ".u8")
        text = u8.read_bytes().decode("utf-8") if u8.is_file() else raw.decode("latin-1")
    text = _ANSI.sub("", text)  # colour codes (fortunes-zh) would give the language away
    return [e.strip("\n") for e in re.split(r"(?m)^%\s*$", text)]


def load_fortunes_language(
    n_train: int | None = 1000,
    n_test: int | None = 200,
    *,
    languages: Sequence[str] = tuple(FORTUNE_LANGUAGES),
    seed: int = 0,
    min_chars: int = 20,
    max_chars: int = 1000,
    root: str | os.PathLike = FORTUNES_DIR,
) -> Splits:
    """Language identification on Debian fortune cookies (9 languages by default).

    Entries are split on ``%`` lines; entries shorter than ``min_chars``, longer than
    ``max_chars`` or less than half letters (ASCII art) are dropped. Groups are normalised
    texts (letters/digits, case-folded), so the same fortune with different spacing or
    punctuation, which recurs across files, never straddles the split.
    """
    root = Path(root)
    unknown = set(languages) - set(FORTUNE_LANGUAGES)
    if unknown:
        raise InputError(f"unknown fortune language(s) {', '.join(sorted(unknown))}; known: {', '.join(FORTUNE_LANGUAGES)}")
    files = {lang: _fortune_files(lang, root) if root.is_dir() else [] for lang in languages}
    missing = [FORTUNE_LANGUAGES[lang][0] for lang, f in files.items() if not f]
    if missing:
        raise DatasetUnavailableError(
            f"fortune files for {', '.join(lang for lang, f in files.items() if not f)} are not installed under {root}; "
            f"install them with: apt-get install {' '.join(missing)}")

    def records():
        for lang in sorted(languages):
            for path in files[lang]:
                for e in _read_fortunes(path):
                    if not (min_chars <= len(e) <= max_chars):
                        continue
                    if sum(ch.isalpha() for ch in e) < 0.5 * len(e):
                        continue
                    yield e, lang, _norm_key(e)[:300]

    out = group_split(records(), n_train, n_test, seed=seed, name="fortunes_language")
    out.info.update(source=str(root), split_by="normalised entry text",
                    packages=sorted({FORTUNE_LANGUAGES[lang][0] for lang in languages}))
    return out


# ---------------------------------------------------------------------------------------
# gettext catalogues: language identification
# ---------------------------------------------------------------------------------------
_ACCEL = re.compile(r"[_&~]")


def _msgid_key(msgid) -> str:
    if isinstance(msgid, tuple):  # plural forms: (msgid, n)
        msgid = msgid[0]
    return _norm_key(_ACCEL.sub("", msgid))


def load_gettext_language(
    n_train: int | None = 1000,
    n_test: int | None = 200,
    *,
    languages: Sequence[str] = GETTEXT_LANGUAGES,
    seed: int = 0,
    min_chars: int = 20,
    max_chars: int = 1000,
    locale_dir: str | os.PathLike = LOCALE_DIR,
) -> Splits:
    """Language identification on translated UI strings (msgstr) of installed gettext catalogues.

    What leaks, and what is done about it:

    * one message translated into several languages shares placeholders, option names,
      URLs and product names; all translations of a msgid (normalised: accelerators ``_&~``,
      case and punctuation removed) form one group, kept on one side of the split;
    * the same translation repeated by many packages is an exact duplicate: deduplicated;
    * an untranslated msgstr (equal to its msgid) or one text filed under two languages says
      nothing about the language: dropped.

    Only the base language directory is read (``pt``, not ``pt_BR``); catalogues that
    cannot be parsed (wrong charset header) are skipped and counted in ``info``.
    """
    locale_dir = Path(locale_dir)
    catalogues = {lang: sorted((locale_dir / lang / "LC_MESSAGES").glob("*.mo")) for lang in languages}
    empty = [lang for lang, c in catalogues.items() if not c]
    if empty:
        raise DatasetUnavailableError(
            f"no gettext catalogues (*.mo) for {', '.join(empty)} under {locale_dir}; they come with translated "
            "packages, e.g. apt-get install iso-codes libglib2.0-data coreutils tar (and do not set "
            "path-exclude=/usr/share/locale/* in /etc/dpkg/dpkg.cfg.d)")
    skipped = []

    def records():
        for lang in sorted(languages):
            for path in catalogues[lang]:
                try:
                    with open(path, "rb") as fh:
                        cat = gettext.GNUTranslations(fh)._catalog
                except Exception:  # a catalogue with a wrong charset header or a damaged file
                    skipped.append(str(path))
                    continue
                for msgid, msgstr in cat.items():
                    mid = msgid[0] if isinstance(msgid, tuple) else msgid
                    if not mid or not isinstance(msgstr, str):
                        continue
                    s = msgstr.strip()
                    if not (min_chars <= len(s) <= max_chars) or s == mid.strip():
                        continue
                    yield s, lang, _msgid_key(msgid)[:300]

    out = group_split(records(), n_train, n_test, seed=seed, name="gettext_language")
    out.info.update(source=str(locale_dir), split_by="normalised msgid", skipped_catalogues=len(skipped))
    return out


# ---------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------
_DATASETS: dict[str, tuple[Callable[..., Splits], str]] = {
    "debian_topics": (load_debian_topics, "Debian package descriptions -> 12 archive sections (split by source)"),
    "fortunes_language": (load_fortunes_language, "Debian fortune cookies -> 9 languages (apt-get install fortunes-*)"),
    "gettext_language": (load_gettext_language, "installed gettext UI strings -> 12 languages (split by msgid)"),
}


def list_datasets() -> dict[str, str]:
    """Dataset name -> one-line description."""
    return {name: desc for name, (_, desc) in _DATASETS.items()}


def load_dataset(name: str, *args, **kwargs) -> Splits:
    """Load a dataset by name (see :func:`list_datasets`); arguments go to its loader."""
    key = name.replace("-", "_")
    if key not in _DATASETS:
        raise InputError(f"unknown dataset {name!r}; available: {', '.join(_DATASETS)}")
    return _DATASETS[key][0](*args, **kwargs)
