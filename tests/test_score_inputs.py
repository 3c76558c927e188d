"""The scorer on the inputs users have (Parquet, HF save_to_disk, Arrow, compressed JSONL/TXT,
directories, binary files), its per-sample rows, bad inputs, and issue 14's numbers."""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from kcomp import score_dataset
from kcomp.cli import main
from kcomp.score.report import ratio_hist, subadd_bars

FAST = {"curve_bytes": 0, "progress": False, "n_jobs": 1}


@pytest.fixture(scope="module")
def texts(debian_texts) -> list[str]:
    return debian_texts[:200]


def _cli_ok(args, capsys) -> dict:
    assert main(["score", *args, "-c", "gzip", "--curve-bytes", "0", "-q", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _cli_error(args, capsys) -> str:
    assert main(["score", *args, "-c", "gzip", "--curve-bytes", "0", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kcomp: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_parquet_arrow_and_save_to_disk(tmp_path, texts, capsys):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = pa.table({"id": list(range(len(texts))), "desc": texts})
    pq.write_table(table, tmp_path / "d.parquet", row_group_size=64)
    feather.write_feather(table, tmp_path / "d.arrow")
    want = score_dataset(texts, ["gzip"], **FAST).compressors[0].total_bits
    for name in ("d.parquet", "d.arrow"):
        d = _cli_ok([str(tmp_path / name), "--field", "desc"], capsys)
        assert d["n_samples"] == len(texts) and d["compressors"][0]["total_bits"] == want
    try:
        import datasets
    except ImportError:  # the HF layout written by hand: state.json + dataset_info.json + Arrow stream shards
        saved = tmp_path / "hf"
        saved.mkdir()
        shard = str(saved / "data-00000-of-00001.arrow")
        with pa.OSFile(shard, "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        (saved / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
        (saved / "dataset_info.json").write_text("{}")
    else:
        saved = tmp_path / "hf"
        datasets.Dataset.from_dict({"id": list(range(len(texts))), "desc": texts}).save_to_disk(str(saved),
                                                                                               num_shards=2)
    d = _cli_ok([str(saved), "--field", "desc"], capsys)
    assert d["n_samples"] == len(texts) and d["compressors"][0]["total_bits"] == want
    err = _cli_error([str(tmp_path / "d.parquet"), "--field", "nope"], capsys)
    assert "no column 'nope'" in err and "desc" in err


def test_compressed_text_directory_and_binary_file(tmp_path, texts, capsys):
    import zstandard

    rows = "".join(json.dumps({"text": t}) + "\n" for t in texts).encode()
    (tmp_path / "d.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(rows))
    (tmp_path / "d.jsonl.gz").write_bytes(gzip.compress(rows))
    lines = [t.replace("\n", " ") for t in texts]
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    for name in ("d.jsonl.zst", "d.jsonl.gz", "d.txt.gz"):
        assert _cli_ok([str(tmp_path / name)], capsys)["n_samples"] == len(texts)
    folder = tmp_path / "dir"
    folder.mkdir()
    for i, t in enumerate(texts[:30]):
        (folder / f"{i:03d}.txt").write_text(t)
    assert _cli_ok([str(folder)], capsys)["n_samples"] == 30
    binary = Path(sys.executable).resolve()  # a real ELF file
    size = binary.stat().st_size
    d = _cli_ok([str(binary), "--binary", "4K"], capsys)
    assert d["n_samples"] == -(-size // 4096) and d["n_bytes"] == size and d["n_binary"] > 0
    err = _cli_error([str(binary)], capsys)  # without --binary: a clear pointer to it
    assert "not UTF-8" in err


def test_python_api_takes_any_iterable(texts):
    a = score_dataset(texts, ["gzip"], **FAST)
    b = score_dataset((t.encode() for t in texts), ["gzip"], **FAST)
    assert a.compressors[0].total_bits == b.compressors[0].total_bits


def test_per_sample_rows_match_the_summary(tmp_path, texts):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    data = list(texts[:150]) + [texts[3], texts[3]]
    near = texts[7].replace("e", "E", 3)
    data.append(near)
    r = score_dataset(data, ["gzip", "zstd:19", "lzma"], **FAST)
    rows = [json.loads(line) for line in r.write_per_sample(tmp_path / "s.jsonl").read_text().splitlines()]
    assert [row["index"] for row in rows] == list(range(len(data)))
    assert [row["bytes"] for row in rows] == [len(t.encode()) for t in data]
    for c in r.compressors:
        bpb = np.array([row[f"bits_per_byte.{c.spec}"] for row in rows])
        assert bpb.mean() / 8 == pytest.approx(c.sample_ratio_framing_free["mean"], rel=1e-12)
        assert np.median(bpb) / 8 == pytest.approx(c.sample_ratio_framing_free["median"], rel=1e-12)
    assert np.median([row["gzip_ratio"] for row in rows]) == pytest.approx(r.gzip_compressibility, rel=1e-12)
    assert rows[150]["exact_dup_group"] == rows[151]["exact_dup_group"] == 3 == rows[3]["exact_dup_group"]
    assert rows[0]["exact_dup_group"] == -1
    assert rows[152]["near_dup_cluster"] == rows[7]["near_dup_cluster"] >= 0
    table = pq.read_table(r.write_per_sample(tmp_path / "s.parquet"))
    assert table.num_rows == len(data)
    assert table.column("bits_per_byte.gzip:9").to_pylist() == [row["bits_per_byte.gzip:9"] for row in rows]


def test_workers_give_the_same_numbers(texts):
    one = score_dataset(texts, ["gzip", "lzma"], curve_bytes=0, progress=False, n_jobs=1, batch_size=16,
                        chunk_bytes=16_384)
    two = score_dataset(texts, ["gzip", "lzma"], curve_bytes=0, progress=False, n_jobs=2, batch_size=16,
                        chunk_bytes=16_384)
    assert one.to_dict() == two.to_dict()
    for k in one.per_sample:
        np.testing.assert_array_equal(one.per_sample[k], two.per_sample[k])


def test_bad_inputs_one_line_exit_2_no_partial_output(tmp_path, texts, capsys):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"desc": t}) + "\n" for t in texts[:20]))
    out = tmp_path / "per.jsonl"
    err = _cli_error([str(rows), "--field", "text", "--per-sample", str(out), "-o", str(tmp_path / "o.json")], capsys)
    assert "no field 'text'" in err
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(rows.read_bytes())[:300])  # truncated download
    assert "cannot read" in _cli_error([str(broken), "--field", "desc", "--per-sample", str(out)], capsys)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert "no samples" in _cli_error([str(empty), "--per-sample", str(out)], capsys)
    assert "no such file" in _cli_error([str(tmp_path / "missing.parquet")], capsys)
    assert ".jsonl or .parquet" in _cli_error([str(rows), "--field", "desc", "--per-sample", str(tmp_path / "x.csv")],
                                              capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jsonl.gz", "empty.txt", "rows.jsonl"]


def test_txt_reports_skipped_blank_lines():
    gpl = Path("/usr/share/common-licenses/GPL-3")
    if not gpl.is_file():
        pytest.skip("common-licenses not installed")
    lines = gpl.read_text().splitlines()
    blank = sum(1 for line in lines if not line.strip("\r\n"))
    r = score_dataset(gpl, ["gzip"], near_dup_threshold=None, **FAST)
    assert r.n_samples == len(lines) - blank and r.skipped == {"blank lines": blank}
    assert f"skipped by the reader: {blank:,} blank lines" in r.to_markdown()


def test_ratio_histogram_announces_its_overflow_bin(texts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    words = [w for t in texts[:40] for w in t.split()][:300]  # single words: gzip ratios far above 3
    r = score_dataset(list(texts[:100]) + words, ["gzip"], near_dup_threshold=None, **FAST)
    fig, ax = plt.subplots()
    over = ratio_hist(r, ax)
    ratios = r.sample_ratios["gzip:9"]
    assert over["gzip:9"] > 0 and over["gzip:9"] == int((ratios > 3.0).sum())
    assert "in the last bin" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_subadd_bars_are_in_bits_like_the_table(texts):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kcomp import subadditivity

    r = subadditivity("\n".join(texts[:40]), "\n".join(texts[20:60]), ["gzip", "zstd:19"])
    fig, ax = plt.subplots()
    subadd_bars(r, ax)
    heights = [p.get_height() for p in ax.patches][:2]
    assert heights == pytest.approx([c.pair.mutual_information for c in r.results])
    assert "bits" in ax.get_ylabel()
    plt.close(fig)


def test_unreliable_fit_is_flagged_not_bold():
    from kcomp.score.fit import fit_power_law
    from kcomp.score.report import fit_line

    rng = np.random.default_rng(0)
    n = np.geomspace(1e3, 1e6, 20)
    flat = fit_power_law(n, 8.0 + rng.normal(0, 0.01, n.size))  # random bytes: nothing to learn
    assert not flat.reliable and "unreliable" in fit_line(flat) and "**" not in fit_line(flat)
    good = fit_power_law(n, 1.5 + 30 * n ** -0.5 + rng.normal(0, 1e-4, n.size))
    assert good.reliable and fit_line(good).count("**") == 2


def test_binary_curve_on_real_elf_is_reported_unreliable_or_sound():
    binary = Path(sys.executable).resolve()
    r = score_dataset(binary, ["gzip"], binary_chunk=4096, curve_compressor="lzma", curve_bytes=256 << 10,
                      near_dup_threshold=None, progress=False, n_jobs=1)
    fit = r.learning_curve.fit
    line = next(x for x in r.to_markdown().splitlines() if x.startswith("Fit L(n)"))
    assert ("**" in line) == fit.reliable
    if not fit.reliable:
        assert "unreliable (" in line



def test_lm_is_not_a_default_for_binary_input(monkeypatch, tmp_path):
    import zlib

    from kcomp import Compressor
    from kcomp.score import driver

    class FakeLM(Compressor):
        family, cost = "lm", "slow"

        def compress(self, data):
            return zlib.compress(data)

        def _decompress(self, data):
            return zlib.decompress(data)

    monkeypatch.setattr(driver, "default_compressors", lambda: ["gzip", FakeLM()])
    folder = tmp_path / "elf"
    folder.mkdir()
    for name in ("ls", "cat", "true"):
        src = shutil.which(name)
        if src:
            shutil.copy(src, folder / name)
    r = score_dataset(folder, progress=False, n_jobs=1, curve_bytes=0)
    assert [c.spec for c in r.compressors] == ["gzip:9"]
    assert any("left out of the defaults" in n and "binary" in n for n in r.notes)
    texts = score_dataset(["some text " * 20, "more text " * 30], progress=False, n_jobs=1, curve_bytes=0)
    assert [c.spec for c in texts.compressors] == ["gzip:9", "lm"]


def test_cli_directory_globs_and_bad_rows(tmp_path, debian_texts, capsys):
    """score reads inputs like every command: cache folders skipped, --exclude, --skip-bad-rows."""
    corpus = tmp_path / "corpus"
    (corpus / "__pycache__").mkdir(parents=True)
    (corpus / "tests").mkdir()
    for i, text in enumerate(debian_texts[:4]):
        (corpus / f"d{i}.txt").write_text(text)
    (corpus / "__pycache__" / "x.pyc").write_bytes(b"\x00cache")
    (corpus / "tests" / "t.txt").write_text(debian_texts[5])
    assert _cli_ok([str(corpus), "--no-near-dups"], capsys)["n_samples"] == 5
    assert _cli_ok([str(corpus), "--no-near-dups", "--exclude", "tests"], capsys)["n_samples"] == 4
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps({"text": t}) for t in [debian_texts[0], None, debian_texts[1]]) + "\n")
    assert "row 2" in _cli_error([str(rows)], capsys)
    assert _cli_ok([str(rows), "--no-near-dups", "--skip-bad-rows"], capsys)["n_samples"] == 2
