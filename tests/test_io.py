"""Reading inputs (kcomp.io, kcomp._inputs) and the CLI items of issue 14 that depend on it,
each reproduced on real data: the bundled Debian sample, Python sources, the GPL text."""

from __future__ import annotations

import json
import py_compile
import re
import shutil
import subprocess
import sys
import sysconfig
import warnings
from pathlib import Path

import numpy as np
import pytest

import kcomp
from kcomp import ncd
from kcomp._inputs import SameKindEncoder, as_bytes_list, texts_and_kind, to_bytes, window_warning
from kcomp.cli import main
from kcomp.datasets import BUNDLED_DEBIAN_SAMPLE
from kcomp.errors import InputError
from kcomp.io import TextSource, iter_records, list_files, read_texts

REPO = Path(__file__).resolve().parents[1]
GPL3 = Path("/usr/share/common-licenses/GPL-3")  # base-files: on every Debian system
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def sample_rows() -> list[dict]:
    """The first 12 rows of the bundled real Debian sample."""
    rows = []
    for row in iter_records(BUNDLED_DEBIAN_SAMPLE):
        rows.append(row)
        if len(rows) == 12:
            return rows


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- the input boundary --------------------------------------------------------------------
def test_to_bytes_names_the_item():
    assert to_bytes("café") == "café".encode() and to_bytes(bytearray(b"ab")) == b"ab"
    with pytest.raises(InputError, match=r"sample #18 must be str or bytes, got null"):
        to_bytes(None, name="sample", index=18)
    with pytest.raises(InputError, match=r"sample #2 is a str that cannot be encoded as UTF-8"):
        to_bytes("\udcff", name="sample", index=2)
    with pytest.raises(InputError, match="must be bytes"):
        to_bytes("text", name="lm input", allow_str=False)
    with pytest.raises(InputError, match=r"texts mixes str and bytes \(texts\[1\] is bytes, texts\[0\] is str\)"):
        as_bytes_list(["a", b"b"])
    with pytest.raises(InputError, match="texts is empty"):
        as_bytes_list([])
    assert texts_and_kind(np.array([["a"], ["b"]], dtype=object)) == ([b"a", b"b"], "str")
    encode = SameKindEncoder(name="sample")
    assert encode(b"x", 0) == b"x"
    with pytest.raises(InputError, match=r"sample #5 is str, sample #0 is bytes"):
        encode("y", 5)


def test_lm_codec_refuses_text_through_the_boundary():
    pytest.importorskip("torch")
    with pytest.raises(InputError, match="lm input must be bytes"):
        kcomp.get_compressor("lm").compress("text")


# -- readers -------------------------------------------------------------------------------
def test_formats_agree(tmp_path, sample_rows):
    """.jsonl, .json (array), .csv and compressed copies give the same samples."""
    import zstandard

    texts = [r["text"] for r in sample_rows]
    _write_jsonl(tmp_path / "d.jsonl", sample_rows)
    (tmp_path / "d.json").write_text(json.dumps(sample_rows), encoding="utf-8")
    import csv

    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(sample_rows[0]))
        w.writeheader()
        w.writerows(sample_rows)
    (tmp_path / "d.jsonl.zst").write_bytes(zstandard.compress((tmp_path / "d.jsonl").read_bytes()))
    for name in ("d.jsonl", "d.json", "d.csv", "d.jsonl.zst"):
        assert read_texts(tmp_path / name) == texts, name
    assert read_texts(BUNDLED_DEBIAN_SAMPLE, limit=12) == texts


def test_bad_rows_are_named_and_can_be_skipped(tmp_path, sample_rows, capsys):
    rows = [dict(r) for r in sample_rows]
    rows[2]["text"] = None
    del rows[5]["text"]
    path = _write_jsonl(tmp_path / "d.jsonl", rows)
    with pytest.raises(InputError, match=r"row 3: field 'text' is null, expected a string"):
        read_texts(path)
    only_missing = _write_jsonl(tmp_path / "m.jsonl", [r for i, r in enumerate(rows) if i != 2])
    with pytest.raises(InputError, match=r"row 5: no field 'text'; fields are section, source, split"):
        read_texts(only_missing, "text")
    source = TextSource(path, skip_bad_rows=True)
    assert len(list(source)) == 10 and source.stats.bad_rows == 2
    assert "skipped 2 bad row(s) (first: row 3: field 'text' is null" in source.stats.summary()
    code, _, err = run(capsys, "matrix", path)
    assert code == 2 and "row 3: field 'text' is null" in err and "--skip-bad-rows" in err
    code, out, err = run(capsys, "matrix", path, "--skip-bad-rows", "--json")
    assert code == 0 and len(json.loads(out)["ncd"]) == 10
    assert "kcomp: note: skipped 2 bad row(s)" in err


def test_non_utf8_text_names_the_line(tmp_path):
    lines = GPL3.read_text().splitlines()[:5]
    raw = "\n".join(lines).encode() + "\ncaf\xe9\n".encode("latin-1")
    (tmp_path / "t.txt").write_bytes(raw)
    with pytest.raises(InputError, match=r"t.txt: line 6: not UTF-8"):
        read_texts(tmp_path / "t.txt")


def _project_dir(root: Path) -> Path:
    """A copy of the stdlib json package with its __pycache__ and a .git folder, as on disk."""
    proj = root / "proj"
    shutil.copytree(STDLIB / "json", proj, ignore=shutil.ignore_patterns("__pycache__"))
    for py in proj.glob("*.py"):
        py_compile.compile(str(py), cfile=str(proj / "__pycache__" / (py.stem + ".cpython.pyc")))
    (proj / ".git").mkdir()
    (proj / ".git" / "config").write_text("[core]\n")
    (proj / ".hidden.py").write_text("x = 1\n")
    return proj


def test_directories_skip_hidden_and_cache_folders(tmp_path, capsys):
    proj = _project_dir(tmp_path)
    py = sorted(p.name for p in proj.glob("*.py") if not p.name.startswith("."))
    assert [p.name for p in list_files(proj)] == py  # no .pyc, no .git, no dotfile
    assert [p.name for p in list_files(proj, include=["*.py"], exclude=["tool.py"])] == \
        [n for n in py if n != "tool.py"]
    code, out, _ = run(capsys, "matrix", proj, "--json", "-q", "--exclude", "__init__.py")
    names = json.loads(out)["names"]
    assert code == 0 and names == [n for n in py if n != "__init__.py"]


def test_k_reads_a_directory(tmp_path, capsys):
    proj = _project_dir(tmp_path)
    code, out, _ = run(capsys, "k", proj, "--include", "*.py", "-c", "gzip", "--json")
    rows = json.loads(out)
    assert code == 0 and [Path(r["file"]).name for r in rows] == [p.name for p in list_files(proj)]
    assert rows[0]["bits"] == kcomp.K(Path(rows[0]["file"]).read_bytes(), "gzip")


# -- issue 14 item 4: windows --------------------------------------------------------------
@pytest.mark.skipif(not GPL3.is_file(), reason="base-files' GPL-3 text not installed")
def test_window_warning_on_the_gpl(tmp_path, capsys):
    """NCD(GPL-3, GPL-3) with gzip is ~0.9, not ~0, because the 35 KB text exceeds the 32 KiB window."""
    text = GPL3.read_bytes()
    assert ncd(text, text, "gzip") > 0.8 and ncd(text, text, "zstd:19") < 0.05
    msg = window_warning("gzip", [len(text)])
    fits = re.search(r"codecs whose window fits: (.*)$", msg).group(1).split(", ")
    assert "zstd:3" in fits and "lzma:9" in fits and "gzip:9" not in fits
    assert window_warning("zstd:19", [len(text)]) is None
    code, _, err = run(capsys, "ncd", GPL3, GPL3)
    assert code == 0 and "exceeds gzip:9's 32,506-byte window" in err and "zstd" in err
    (tmp_path / "d").mkdir()
    shutil.copy(GPL3, tmp_path / "d" / "a")
    shutil.copy(GPL3, tmp_path / "d" / "b")
    code, _, err = run(capsys, "matrix", tmp_path / "d", "-q")
    assert code == 0 and "window" in err
    code, _, err = run(capsys, "matrix", tmp_path / "d", "-q", "-c", "zstd:19")
    assert code == 0 and err == ""


# -- issue 14 item 12: output --------------------------------------------------------------
@pytest.mark.skipif(not GPL3.is_file(), reason="base-files' GPL-3 text not installed")
def test_k_is_an_integer_with_separators(capsys):
    code, out, _ = run(capsys, "k", GPL3)
    bits = kcomp.K(GPL3.read_bytes())
    assert code == 0 and f"| {round(bits):,} " in out and "e+" not in out


def test_matrix_names_from_a_field(tmp_path, sample_rows, capsys):
    rows = [dict(r, name=f"{r['source']}-{i}") for i, r in enumerate(sample_rows[:4])]
    path = _write_jsonl(tmp_path / "d.jsonl", rows)
    code, out, _ = run(capsys, "matrix", path, "--name-field", "name", "--json", "-q")
    assert code == 0 and json.loads(out)["names"] == [r["name"] for r in rows]
    code, out, _ = run(capsys, "matrix", path, "--name-field", "name", "-q")
    assert rows[0]["name"] in out


def test_license_is_an_spdx_string():
    """setuptools >= 77 deprecates the license table: no warning when the project is configured."""
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        apply_configuration(Distribution(), REPO / "pyproject.toml")
    assert not [w for w in caught if "license" in str(w.message).lower()]


# -- issue 14 item 11 and issue 10: the tour, the data lookup, no machine paths -------------
def test_quicktour_runs_as_pasted():
    proc = subprocess.run([sys.executable, str(REPO / "docs" / "quicktour.py")], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[1] == "160.0" and lines[5] == "(2, 3)"
    acc = float(re.search(r"accuracy ([0-9.]+)", lines[-1]).group(1))
    assert 0.15 < acc <= 1.0  # 12 classes: well above chance (0.083)


def test_datasets_reachable_from_import_kcomp():
    code = "import kcomp, sys; assert 'kcomp.datasets' not in sys.modules; print(kcomp.datasets.list_datasets())"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0 and "debian_topics" in proc.stdout, proc.stderr


_MACHINE_PATH = re.compile(r"""["'](/(?:home|work|root|tmp|opt|srv|mnt|usr|var|etc)/[^"']*)["']""")
#: well-known Debian locations of system data, as named constants (module, constant)
_ALLOWED = {("datasets.py", "/usr/share/games/fortunes"), ("datasets.py", "/usr/share/locale")}


def test_no_machine_paths_in_the_package():
    found = []
    for py in (REPO / "kcomp").rglob("*.py"):
        for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            for path in _MACHINE_PATH.findall(line):
                if (py.name, path) not in _ALLOWED:
                    found.append(f"{py.relative_to(REPO)}:{n}: {path}")
    if found and all(f.startswith("kcomp/lm_coder/data.py:") for f in found):
        pytest.xfail("lm_coder/data.py still hard-codes its corpus paths (issue 14 item 7, the lmmodel branch "
                     "moves them to kcomp.datasets.find_shared_data)")
    assert not found, found
