"""The command line is a thin layer: its numbers equal the API's."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from kcomp import K, ncd
from kcomp.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_help_lists_commands():
    proc = subprocess.run([sys.executable, "-m", "kcomp", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("compressors", "k", "ncd", "matrix"):
        assert cmd in proc.stdout


def test_k_and_ncd_json(tmp_path, capsys, debian_texts):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(debian_texts[0])
    b.write_text(debian_texts[1])
    code, out, _ = run(capsys, "k", str(a), "-c", "gzip", "-c", "lzma", "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["bits"] == K(debian_texts[0]) and rows[1]["compressor"] == "lzma:9"
    code, out, _ = run(capsys, "ncd", str(a), str(b), "--json")
    assert json.loads(out)["ncd"] == ncd(debian_texts[0], debian_texts[1])


def test_matrix_with_dendrogram(tmp_path, capsys, python_sources):
    d = tmp_path / "docs"
    d.mkdir()
    for i, src in enumerate(python_sources):
        (d / f"f{i}.py").write_bytes(src)
    png = tmp_path / "tree.png"
    code, out, _ = run(capsys, "matrix", str(d), "--json", "--dendrogram", str(png), "-c", "zstd:19")
    res = json.loads(out)
    assert code == 0 and png.stat().st_size > 1000
    m = np.array(res["ncd"])
    assert m.shape == (len(python_sources),) * 2
    assert m[0, 1] == ncd(python_sources[1], python_sources[0], "zstd:19")


def test_errors_are_messages_not_tracebacks(tmp_path, capsys):
    code, _, err = run(capsys, "k", str(tmp_path / "missing"))
    assert code == 2 and "no such file" in err
    with pytest.raises(SystemExit):
        main(["k", "x", "-c", "snappy"])
    assert "available" in capsys.readouterr().err
