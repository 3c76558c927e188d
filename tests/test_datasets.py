"""Dataset loaders: leak-free splits (no shared group, no shared text), sizes, clear errors."""

from __future__ import annotations

import gzip
import json
import warnings
from collections import Counter
from pathlib import Path

import pytest

import kcomp.datasets as ds
from kcomp.datasets import (
    DEBIAN_SECTIONS, DatasetUnavailableError, group_split, list_datasets, load_dataset, load_debian_topics,
    load_fortunes_language, load_gettext_language,
)
from kcomp.errors import InputError
from kcomp.io import iter_records


def _check_no_leak(splits):
    (Xtr, ytr), (Xte, yte) = splits
    assert len(Xtr) == len(ytr) == len(splits.train_groups)
    assert len(Xte) == len(yte) == len(splits.test_groups)
    assert not set(splits.train_groups) & set(splits.test_groups), "a group is on both sides"
    assert not set(Xtr) & set(Xte), "a text is on both sides"
    assert len(set(Xtr)) == len(Xtr) and len(set(Xte)) == len(Xte), "duplicates within a side"


def test_bundled_sample_is_small_real_and_leak_free():
    path = ds.BUNDLED_DEBIAN_SAMPLE
    assert path.is_file() and path.stat().st_size < 1_000_000
    s = load_debian_topics(None, None, source="bundled")
    _check_no_leak(s)
    (Xtr, ytr), (Xte, yte) = s
    assert Counter(ytr) == {c: 100 for c in DEBIAN_SECTIONS}
    assert Counter(yte) == {c: 20 for c in DEBIAN_SECTIONS}


def test_bundled_subsets_balanced_and_seeded():
    a = load_debian_topics(120, 24, source="bundled", seed=0)
    b = load_debian_topics(120, 24, source="bundled", seed=0)
    c = load_debian_topics(120, 24, source="bundled", seed=1)
    _check_no_leak(a)
    assert a == b and a != c
    assert Counter(a[0][1]) == {s: 10 for s in DEBIAN_SECTIONS}
    assert Counter(a[1][1]) == {s: 2 for s in DEBIAN_SECTIONS}
    sub = load_debian_topics(30, 6, source="bundled", sections=["games", "fonts", "mail"])
    assert set(sub[0][1]) == {"games", "fonts", "mail"} and len(sub[0][0]) == 30
    with pytest.warns(UserWarning, match="fewer than"):
        load_debian_topics(2400, 24, source="bundled")
    with pytest.raises(InputError, match="no section"):
        load_debian_topics(10, 2, source="bundled", sections=["libs"])


@pytest.mark.skipif(ds.find_shared_data() is None, reason="shared data (debian-descriptions.jsonl.gz) not found")
def test_shared_debian_split_by_source():
    s = load_debian_topics(600, 120, seed=3, source="shared", max_per_source=2)
    _check_no_leak(s)
    assert len(s[0][0]) == 600 and len(s[1][0]) == 120
    assert max(Counter(s.train_groups).values()) <= 2 and max(Counter(s.test_groups).values()) <= 2
    assert Counter(s[1][1]) == {c: 10 for c in DEBIAN_SECTIONS}


def test_group_split_dedups_and_keeps_groups_whole():
    recs = []
    for g in range(60):
        lab = "ab"[g % 2]
        recs += [(f"text {g} {j}", lab, f"g{g}") for j in range(3)]
    recs += [("shared text", "a", "g0"), ("shared text", "a", "g7")]  # exact duplicate, two groups
    recs += [("ambiguous", "a", "g1"), ("ambiguous", "b", "g2")]  # conflicting labels: dropped
    s = group_split(recs, 40, 10, seed=0)
    _check_no_leak(s)
    assert "ambiguous" not in s[0][0] + s[1][0]
    assert s.info["n_conflicting_texts_dropped"] == 1
    assert Counter(s[0][1]) == {"a": 20, "b": 20} and Counter(s[1][1]) == {"a": 5, "b": 5}
    capped = group_split(recs, 40, 10, seed=0, max_per_group=1)
    assert max(Counter(capped.train_groups).values()) == 1


def test_missing_sources_say_what_to_install(tmp_path, monkeypatch):
    with pytest.raises(DatasetUnavailableError, match=r"apt-get install fortunes fortunes-de .*fortunes-br"):
        load_fortunes_language(root=tmp_path)
    with pytest.raises(DatasetUnavailableError, match="apt-get install"):
        load_gettext_language(locale_dir=tmp_path)
    monkeypatch.setattr(ds, "find_shared_data", lambda filename=ds.DEBIAN_FILE: None)
    with pytest.raises(DatasetUnavailableError, match="KCOMP_DATA"):
        load_debian_topics(source="shared")
    with pytest.raises(DatasetUnavailableError, match="no such file"):
        load_debian_topics(source=tmp_path / "nope.jsonl.gz")
    # auto falls back to the bundled sample
    assert load_debian_topics(24, 12, source="auto").info["source"] == "bundled"


def test_find_shared_data_honours_env(tmp_path, monkeypatch):
    (tmp_path / ds.DEBIAN_FILE).write_bytes(b"")
    monkeypatch.setenv("KCOMP_DATA", str(tmp_path))
    assert ds.find_shared_data() == tmp_path / ds.DEBIAN_FILE


def test_find_shared_data_looks_beside_the_working_directory(tmp_path, monkeypatch):
    """Without $KCOMP_DATA: ../shared/data from the working directory (a clone beside shared/)."""
    monkeypatch.delenv("KCOMP_DATA", raising=False)
    data = tmp_path / "shared" / "data"
    data.mkdir(parents=True)
    (data / "probe.txt").write_text("x")
    (tmp_path / "clone").mkdir()
    monkeypatch.chdir(tmp_path / "clone")
    assert ds.find_shared_data("probe.txt").resolve() == (data / "probe.txt").resolve()
    monkeypatch.setenv("KCOMP_DATA", str(tmp_path / "elsewhere"))  # env first, then the fallbacks
    assert ds.find_shared_data("probe.txt").resolve() == (data / "probe.txt").resolve()
    assert ds.find_shared_data("absent.txt") is None


def test_bad_rows_of_a_debian_file_are_named(tmp_path):
    rows = [dict(r) for r, _ in zip(iter_records(ds.BUNDLED_DEBIAN_SAMPLE), range(5))]
    rows[3]["section"] = None
    path = tmp_path / "d.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in rows)
    with pytest.raises(InputError, match=r"row 4: no 'section' field"):
        load_debian_topics(2, 1, source=path)


def test_registry():
    assert set(list_datasets()) == {"debian_topics", "fortunes_language", "gettext_language"}
    s = load_dataset("debian-topics", 24, 12, source="bundled")
    assert len(s[0][0]) == 24
    with pytest.raises(InputError, match="unknown dataset"):
        load_dataset("ag_news")


_FORTUNES = all(ds._fortune_files(lang, ds.FORTUNES_DIR) for lang in ds.FORTUNE_LANGUAGES) \
    if ds.FORTUNES_DIR.is_dir() else False


@pytest.mark.skipif(not _FORTUNES, reason="fortune files missing: apt-get install fortunes fortunes-de fortunes-es "
                    "fortunes-it fortunes-ru fortunes-pl fortunes-cs fortunes-zh fortunes-br")
def test_fortunes_language_split():
    s = load_fortunes_language(270, 90, seed=0)
    _check_no_leak(s)
    assert Counter(s[0][1]) == {lang: 30 for lang in ds.FORTUNE_LANGUAGES}
    # groups are normalised texts: near-duplicates (spacing, case, punctuation) cannot straddle
    keys_tr = {ds._norm_key(t)[:300] for t in s[0][0]}
    assert not keys_tr & {ds._norm_key(t)[:300] for t in s[1][0]}
    assert all(20 <= len(t) <= 1000 for t in s[0][0] + s[1][0])


def _gettext_ok():
    return all(list((ds.LOCALE_DIR / lang / "LC_MESSAGES").glob("*.mo")) for lang in ds.GETTEXT_LANGUAGES)


@pytest.mark.skipif(not _gettext_ok(), reason="gettext catalogues for the default languages are not installed")
def test_gettext_language_split():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = load_gettext_language(240, 60, seed=0, languages=("de", "fr", "ru", "uk"))
    _check_no_leak(s)
    assert set(s[0][1]) == {"de", "fr", "ru", "uk"}
    assert Counter(s[1][1]) == {lang: 15 for lang in ("de", "fr", "ru", "uk")}


def test_missing_gettext_language_is_named(tmp_path):
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    Path(tmp_path / "de" / "LC_MESSAGES" / "x.mo").write_bytes(b"")
    with pytest.raises(DatasetUnavailableError, match=r"for fr under"):
        load_gettext_language(locale_dir=tmp_path, languages=("de", "fr"))
