"""Dataset compressibility scorer: orderings, duplicates, redundancy, edge cases, curve fit."""

from __future__ import annotations

import gzip
import json
import random
import sysconfig
import zlib
from pathlib import Path

import numpy as np
import pytest

from kcomp import Compressor, get_compressor, list_compressors, score_dataset
from kcomp.cli import main
from kcomp.errors import InputError
from kcomp.score import fit_power_law, lm_available, prequential_curve
from kcomp.score.pricing import price_batch, shingle_hashes

STDLIB = Path(sysconfig.get_paths()["stdlib"])
CODE_FILES = ["json/decoder.py", "textwrap.py", "bisect.py", "gzip.py", "string.py", "csv.py", "fnmatch.py"]
FAST = {"curve_bytes": 0, "near_dup_threshold": None, "progress": False, "n_jobs": 1}


@pytest.fixture(scope="module")
def code_samples() -> list[bytes]:
    files = [STDLIB / n for n in CODE_FILES if (STDLIB / n).exists()]
    if len(files) < 4:
        pytest.skip("Python standard-library sources not found")
    return [f.read_bytes() for f in files]


@pytest.fixture(scope="module")
def prose(debian_texts) -> list[str]:
    return debian_texts[:300]


def _random_samples(n=150, size=400, seed=0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for _ in range(n)]


# ---------------------------------------------------------------------------------------
def test_lzma_prices_the_real_stream_and_its_exact_framing(code_samples, prose):
    """Issue 14.1: the xz container of a non-empty stream is 54-60 bytes, not the 32 of an
    empty one; lzma:headerless is the raw LZMA2 payload (FORMAT_RAW) itself."""
    import lzma

    payloads = [c[:n] for c in code_samples[:3] for n in (1, 50, 700, 5000, len(c))]
    payloads += [t.encode() for t in prose[:6]] + [b"", bytes(range(256)) * 40]
    for spec in ("lzma", "lzma:6", "xz:9:extreme"):
        comp, bare = get_compressor(spec), get_compressor(spec + ":headerless")
        for p in payloads:
            full, framing = comp.size_and_framing_bits(p)
            assert full == comp.size_bits(p) == 8 * len(comp.compress(p)), (spec, len(p))
            filters = [{"id": lzma.FILTER_LZMA2, "preset": comp._preset, "dict_size": 1 << 26}]
            raw = len(lzma.compress(p, format=lzma.FORMAT_RAW, filters=filters)) if p else 0
            assert bare.size_bits(p) == 8 * raw
            assert full - framing == 8 * raw
            if p:
                assert 54 * 8 <= framing <= 60 * 8


def test_no_shared_figure_exceeds_the_data(prose):
    lines = [line for t in prose for line in t.splitlines() if line.strip()]
    r = score_dataset(lines, ["gzip", "zstd:19", "lzma", "bz2"], **FAST)
    for c in r.compressors:
        assert 0 <= c.shared_bits / 8 <= r.n_bytes, c.spec
        assert c.redundancy < 1
    lz = next(c for c in r.compressors if c.spec == "lzma:9")
    # framing-free per-sample lzma is close to the payload of short lines, not inflated by ~22 B
    assert lz.sample_ratio_framing_free["median"] < 1.2


def test_known_ordering_random_prose_code_repetitive(prose, code_samples):
    rep = [prose[i % 15] for i in range(150)]  # 15 real descriptions, 10 copies each, shuffled
    random.Random(0).shuffle(rep)
    sets = {"random": _random_samples(), "prose": prose, "code": code_samples, "repetitive": rep}
    bpb = {}
    for name, data in sets.items():
        r = score_dataset(data, ["gzip", "lzma", "zstd:19"], **FAST)
        bpb[name] = {c.spec: c.bits_per_byte for c in r.compressors}
    for spec in bpb["random"]:
        order = [bpb[k][spec] for k in ("random", "prose", "code", "repetitive")]
        assert order == sorted(order, reverse=True), (spec, bpb)
    assert bpb["random"]["gzip:9"] > 7.9  # incompressible: about 8 bits/byte plus framing
    assert bpb["repetitive"]["lzma:9"] < 0.5 * bpb["prose"]["lzma:9"]


def test_whole_set_numbers_and_pandey_metric(prose):
    r = score_dataset(prose, ["gzip", "zstd:19"], **FAST)
    data = [t.encode() for t in prose]
    manual = np.median([len(gzip.compress(x, 9, mtime=0)) / len(x) for x in data])
    assert r.gzip_compressibility == pytest.approx(manual)
    gz = r.compressors[0]
    assert gz.sample_ratio["median"] == pytest.approx(manual)
    concat = b"\n".join(data)
    assert r.n_bytes == sum(map(len, data))
    assert gz.total_bits == 8 * len(gzip.compress(concat, 9, mtime=0))  # one chunk here
    assert gz.bits_per_byte == pytest.approx(gz.total_bits / len(concat))
    assert gz.ratio == pytest.approx(gz.bits_per_byte / 8)
    # sharing: framing-free sums, so concatenating related descriptions must save bits
    assert gz.sum_sample_bits > gz.concat_bits > 0
    assert 0 < gz.redundancy < 1
    assert gz.sees_bytes == get_compressor("gzip").window


def test_redundancy_rises_with_repeats_and_window_is_noted(prose):
    distinct = score_dataset(prose[:150], ["gzip", "lzma"], **FAST)
    repeated = score_dataset(prose[:50] * 3, ["gzip", "lzma"], **FAST)
    for a, b in zip(distinct.compressors, repeated.compressors):
        # samples share language statistics too, so distinct ones are already redundant; three
        # copies of each must leave much less unshared
        assert (1 - b.redundancy) < 0.6 * (1 - a.redundancy)
    # 150 descriptions are about 50 KB, past gzip's 32 KB window: the report says so
    assert any("gzip:9: window" in n for n in distinct.notes)
    assert not any("lzma:9: window" in n for n in distinct.notes)


def test_chunked_concatenation_streams(prose):
    r = score_dataset(prose, ["zstd:19"], chunk_bytes=8192, **FAST)
    c = r.compressors[0]
    assert c.n_chunks > 5 and c.sees_bytes == 8192
    one = score_dataset(prose, ["zstd:19"], **FAST).compressors[0]
    assert c.concat_bits > one.concat_bits  # chunks cannot share across their borders
    assert any("chunks" in n for n in r.notes)


def test_exact_and_near_duplicates_found(prose):
    base = list(prose[:200])
    rng = random.Random(1)
    victims = [3, 40, 77, 120]
    near = []
    for v in victims:
        chars = list(base[v])
        for pos in rng.sample(range(len(chars)), max(2, len(chars) // 50)):
            chars[pos] = "#"
        near.append("".join(chars))
    data = base + [base[10], base[55], base[10]] + near
    r0 = score_dataset(base, ["gzip"], curve_bytes=0, progress=False)
    r = score_dataset(data, ["gzip"], curve_bytes=0, progress=False)
    ed, nd = r.exact_duplicates, r.near_duplicates
    assert ed["n_duplicate_samples"] == r0.exact_duplicates["n_duplicate_samples"] + 3
    assert any(ex["count"] >= 3 for ex in ed["examples"])
    found = set()
    # every injected near copy must be paired with its original (check all pairs, not examples)
    full = score_dataset(data, ["gzip"], curve_bytes=0, progress=False, n_examples=10_000)
    pairs = {(ex["i"], ex["j"]) for ex in full.near_duplicates["examples"]}
    for k, v in enumerate(victims):
        if (v, 203 + k) in pairs:
            found.add(v)
    assert found == set(victims), (pairs, nd)
    assert all(ex["ncd"] <= 0.3 for ex in full.near_duplicates["examples"])
    # no all-pairs scan: LSH proposes a small fraction of the n(n-1)/2 pairs
    n = len(data)
    assert nd["n_candidates"] < 0.05 * n * (n - 1) / 2


def test_outliers_flag_noise_and_boilerplate(prose):
    data = list(prose[:200])
    rng = random.Random(5)  # printable-ASCII noise: ~6.6 bits/char, prose of that length ~4.5 with gzip
    noise = "".join(chr(rng.randrange(33, 127)) for _ in range(600))
    data[17] = noise
    data[90] = "the same words " * 40
    r = score_dataset(data, ["gzip"], **FAST)
    assert r.least_compressible[0]["index"] == 17
    assert r.most_compressible[0]["index"] == 90
    assert r.least_compressible[0]["bits_per_byte"] > r.most_compressible[0]["bits_per_byte"]


def test_sample_option_reservoir(prose):
    r = score_dataset(prose, ["gzip"], sample=60, seed=3, **FAST)
    assert (r.n_samples, r.n_seen, r.sampled) == (60, len(prose), True)
    again = score_dataset(prose, ["gzip"], sample=60, seed=3, **FAST)
    assert again.compressors[0].total_bits == r.compressors[0].total_bits  # seeded: reproducible
    other = score_dataset(prose, ["gzip"], sample=60, seed=4, **FAST)
    assert other.compressors[0].total_bits != r.compressors[0].total_bits
    assert score_dataset(prose[:10], ["gzip"], sample=60, **FAST).sampled is False


# ---------------------------------------------------------------------------------------
# edge cases: clear messages
# ---------------------------------------------------------------------------------------
def test_empty_inputs_are_refused(tmp_path):
    with pytest.raises(InputError, match="no samples"):
        score_dataset([], ["gzip"], **FAST)
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(InputError, match="no samples"):
        score_dataset(tmp_path / "empty.txt", ["gzip"], **FAST)
    with pytest.raises(InputError, match="empty"):
        score_dataset(["", ""], ["gzip"], **FAST)
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="no files"):
        score_dataset(tmp_path / "d", ["gzip"], **FAST)
    with pytest.raises(InputError, match="no such file"):
        score_dataset(tmp_path / "missing.jsonl", ["gzip"], **FAST)


def test_one_sample(prose):
    r = score_dataset([prose[0] * 3], ["gzip"], progress=False, curve_bytes=0)
    assert r.n_samples == 1
    assert r.compressors[0].redundancy is None
    assert r.exact_duplicates["available"] is False and r.near_duplicates["available"] is False
    assert any("only one sample" in w for w in r.warnings)
    assert "n/a" in r.to_markdown()


def test_binary_directory_and_non_utf8_text(tmp_path, code_samples):
    d = tmp_path / "mixed"
    d.mkdir()
    for i, c in enumerate(code_samples[:3]):
        (d / f"code{i}.py").write_bytes(c)
    (d / "blob.bin").write_bytes(bytes(range(256)) * 8)
    (d / "latin1.txt").write_bytes("caf\xe9 cr\xe8me br\xfbl\xe9e ".encode("latin-1") * 20)
    r = score_dataset(d, ["gzip"], **FAST)
    assert r.n_samples == 5 and r.n_binary == 2
    assert any("look binary" in w for w in r.warnings)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9\nna\xefve\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        score_dataset(bad, ["gzip"], **FAST)
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_bytes(b'{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        score_dataset(bad_jsonl, ["gzip"], **FAST)
    with pytest.raises(InputError, match="mix str and bytes"):
        score_dataset(["abc", b"def"], ["gzip"], **FAST)


def test_jsonl_field_and_txt_inputs(tmp_path, debian_rows):
    p = tmp_path / "rows.jsonl.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        for row in debian_rows[:80]:
            fh.write(json.dumps({"desc": row["text"], "section": row["section"]}) + "\n")
    r = score_dataset(p, ["gzip"], field="desc", **FAST)
    assert r.n_samples == 80
    with pytest.raises(InputError, match="no field"):
        score_dataset(p, ["gzip"], field="nope", **FAST)
    t = tmp_path / "lines.txt"
    t.write_text("\n".join(row["text"].replace("\n", " ") for row in debian_rows[:50]) + "\n")
    assert score_dataset(t, ["gzip"], **FAST).n_samples == 50


# ---------------------------------------------------------------------------------------
# learning curve and its fit
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("E,A,b", [(1.8, 40.0, 0.45), (0.5, 6.0, 0.3), (3.0, 300.0, 0.9)])
def test_power_law_fit_recovers_known_parameters(E, A, b):
    rng = np.random.default_rng(0)
    n = np.geomspace(1e3, 1e7, 30)
    L = E + A * n ** -b
    fit = fit_power_law(n, L * (1 + rng.normal(0, 0.004, n.size)))
    assert fit.E == pytest.approx(E, rel=0.05, abs=0.03)
    assert fit.b == pytest.approx(b, rel=0.1)
    assert fit.A == pytest.approx(A, rel=0.5)
    for est, se, true in ((fit.E, fit.E_se, E), (fit.b, fit.b_se, b)):
        assert 0 < se < np.inf and abs(est - true) < 5 * se + 1e-3
    assert fit.r2 > 0.99
    exact = fit_power_law(n, L)
    assert exact.E == pytest.approx(E, rel=1e-3) and exact.b == pytest.approx(b, rel=1e-3)


def test_power_law_fit_needs_points():
    with pytest.raises(InputError, match="at least 4"):
        fit_power_law([1, 2, 3], [3, 2, 1])


@pytest.mark.parametrize("spec", ["lzma", "ppmd"])
def test_prequential_curve_falls_on_real_text(prose, spec):
    if spec == "ppmd" and "ppmd" not in list_compressors(available_only=True):
        pytest.skip("pyppmd not installed")
    shuffled = list(prose)  # the file is sorted by package name: neighbours repeat each other
    random.Random(0).shuffle(shuffled)
    stream = "\n".join(shuffled).encode()
    c = prequential_curve(stream, spec)
    assert c.grid[-1] == len(stream)
    rate = np.asarray(c.bits_per_byte)
    assert rate[1:4].mean() > rate[-3:].mean() + 0.5  # it learns: later bytes are cheaper
    assert c.fit is not None and c.fit.E < rate[1:4].mean()
    # the marginal costs add back up to C(stream) minus framing
    comp = get_compressor(spec)
    widths = np.diff([0] + c.grid)
    full, framing = comp.size_and_framing_bits(stream)
    assert float(np.sum(rate * widths)) == pytest.approx(full - framing)
    with pytest.raises(InputError, match="at least"):
        prequential_curve(b"tiny", spec)


def test_full_report_json_markdown_plots(prose, tmp_path):
    r = score_dataset(prose, ["gzip", "zstd:19"], curve_compressor="lzma", curve_bytes=60_000, progress=False)
    d = r.to_dict()
    json.dumps(d)  # serialisable
    assert d["gzip_compressibility_pandey2024"] == r.gzip_compressibility
    assert r.learning_curve is not None and r.learning_curve.bytes_used <= 60_000
    assert d["learning_curve"]["fit"]["E"] is not None
    md = r.to_markdown()
    assert "gzip-compressibility (Pandey 2024" in md and "E + A n^-b" in md and "| zstd:19 |" in md
    paths = r.plot(tmp_path)
    assert {Path(p).name for p in paths} == {"score_ratio_hist.png", "score_learning_curve.png"}
    for p in paths:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_minhash_signatures_estimate_jaccard(prose):
    a, b = prose[0].encode(), prose[0][: len(prose[0]) // 2].encode() + prose[1].encode()
    batch = price_batch([a, b], [get_compressor("gzip")], 256, 0)
    ha, hb = set(shingle_hashes(a).tolist()), set(shingle_hashes(b).tolist())
    true = len(ha & hb) / len(ha | hb)
    assert abs(float(np.mean(batch.signatures[0] == batch.signatures[1])) - true) < 0.1
    again = price_batch([a], [get_compressor("gzip")], 256, 0)
    assert np.array_equal(again.signatures[0], batch.signatures[0])


def test_cli_score(tmp_path, debian_rows, capsys):
    p = tmp_path / "d.jsonl"
    p.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in debian_rows[:120]))
    out = tmp_path / "o.json"
    rc = main(["score", str(p), "-c", "gzip", "-c", "zstd:19", "--curve-bytes", "0", "-q", "--json",
               "--output", str(out), "--plot-dir", str(tmp_path / "plots")])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["n_samples"] == 120 and [c["spec"] for c in d["compressors"]] == ["gzip:9", "zstd:19"]
    assert json.loads(out.read_text())["n_samples"] == 120
    assert (tmp_path / "plots" / "score_ratio_hist.png").exists()
    assert main(["score", str(tmp_path / "missing.txt"), "-c", "gzip"]) == 2
    assert "no such file" in capsys.readouterr().err


class _FakeSlow(Compressor):
    """Stands in for the neural ``lm``: its ``cost = "slow"`` is what triggers subsetting."""

    family = "lm"
    window = None
    cost = "slow"

    @property
    def spec(self) -> str:
        return "lm:fake-zlib"

    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data, 9)

    def _decompress(self, data: bytes) -> bytes:
        return zlib.decompress(data)


def test_slow_lm_family_prices_a_seeded_subset(prose):
    fake = _FakeSlow()
    r = score_dataset(prose, ["gzip", fake], lm_bytes=20_000, **FAST)
    gz, lm = r.compressors
    assert gz.n_samples_scored == len(prose) and gz.bytes_scored == r.n_bytes
    assert 0 < lm.n_samples_scored < len(prose) and 20_000 <= lm.bytes_scored + lm.n_samples_scored < 23_000
    assert any("lm:fake-zlib" in note and "subset" in note for note in r.notes)
    assert "(subset:" in r.to_markdown()
    # same codec as zlib inside gzip: per-sample ratios agree up to the 12 bytes of gzip framing
    assert lm.sample_ratio_framing_free["median"] == pytest.approx(gz.sample_ratio_framing_free["median"], abs=0.05)
    again = score_dataset(prose, ["gzip", fake], lm_bytes=20_000, **FAST).compressors[1]
    assert again.total_bits == lm.total_bits  # seeded subset
    whole = score_dataset(prose[:20], [fake], lm_bytes=10**9, **FAST).compressors[0]
    assert whole.n_samples_scored == 20


@pytest.mark.skipif(not lm_available("lm"), reason="the lm compressor (with weights) is not installed")
def test_real_lm_row(prose):
    r = score_dataset(prose[:60], ["gzip", "lm"], lm_bytes=8_000, **FAST)
    lm = r.compressors[1]
    assert lm.spec.startswith("lm") and 0 < lm.bits_per_byte < 8 and lm.n_samples_scored < 60
