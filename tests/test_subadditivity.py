"""Subadditivity check: shared information, controls at ~0, window warnings, sweeps."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from kcomp import K, get_compressor, subadditivity
from kcomp.cli import main
from kcomp.errors import InputError
from kcomp.score import compressor_usable
from kcomp.subadditivity import measure_pair, rng_shuffle

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _read(name: str) -> bytes:
    p = STDLIB / name
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p.read_bytes()


@pytest.fixture(scope="module")
def related_pair() -> tuple[bytes, bytes]:
    """Two real option parsers from the standard library (shared vocabulary and idioms)."""
    return _read("optparse.py")[:20_000], _read("argparse.py")[:20_000]


@pytest.fixture(scope="module")
def prose_pair(debian_texts) -> tuple[bytes, bytes]:
    """Two disjoint halves of the Debian descriptions: same language, different texts."""
    return "\n".join(debian_texts[:60]).encode(), "\n".join(debian_texts[300:360]).encode()


def test_measure_pair_matches_the_definitions(related_pair):
    x, y = related_pair
    comp = get_compressor("zstd:19")
    m = measure_pair(comp, x, y)
    assert m.C_x == K(x, "zstd:19") and m.C_y == K(y, "zstd:19")
    assert m.C_xy == comp.size_bits(x + y) and m.C_yx == comp.size_bits(y + x)
    assert m.c_hat == m.C_xy - m.C_x - m.C_y
    assert m.mutual_information == m.C_x + m.C_y - min(m.C_xy, m.C_yx)
    assert m.y_given_x == m.C_xy - m.C_x
    assert m.ncd == pytest.approx((m.C_xy - min(m.C_x, m.C_y)) / max(m.C_x, m.C_y))


@pytest.mark.parametrize("which", ["related_pair", "prose_pair"])
def test_real_pairs_share_information_and_controls_show_none(which, request):
    x, y = request.getfixturevalue(which)
    r = subadditivity(x, y, ["gzip", "zstd:19", "lzma"], seed=0)
    for c in r.results:
        p, rnd, shf = c.pair, c.random_control, c.shuffle_control
        # subadditivity: coding them together saves bits, clearly above both controls
        assert p.c_hat < 0 and p.mutual_information > 0
        assert c.signal_over_controls > 0.03 * p.C_y, (c.spec, p, rnd, shf)
        assert p.y_given_x < p.C_y
        # controls: about zero shared information (codec noise only: gzip's block choices put
        # it a few percent below zero when random bytes follow text), NCD about 1
        for ctrl in (rnd, shf):
            assert abs(ctrl.mutual_information) < 0.05 * (ctrl.C_x + ctrl.C_y), (c.spec, ctrl)
            assert ctrl.mutual_information < 0.3 * p.mutual_information, (c.spec, ctrl)
            assert ctrl.ncd > 0.97
        assert rnd.C_y >= 8 * len(y) * 0.99  # random bytes: incompressible
        assert not c.exceeds_window


def test_identical_inputs_share_almost_everything(related_pair):
    x = related_pair[0]
    r = subadditivity(x, x, ["lzma", "zstd:19"])
    for c in r.results:
        assert c.pair.mutual_information > 0.9 * c.pair.C_x
        assert c.pair.ncd < 0.1
    assert any("identical" in w for w in r.warnings)


def test_window_warning_fires_for_gzip_only_past_32k():
    x, y = _read("argparse.py"), _read("optparse.py")
    assert len(x) > 40_000 and len(y) > 40_000
    big = subadditivity(x, y, ["gzip", "zstd:19"])
    gz, zs = big.results
    assert gz.exceeds_window and not zs.exceeds_window
    assert any(w.startswith("gzip:9:") and "window" in w for w in big.warnings)
    assert not any(w.startswith("zstd:19:") for w in big.warnings)
    small = subadditivity(x[:8000], y[:8000], ["gzip"])
    assert not small.results[0].exceeds_window and not small.warnings
    assert "⚠" in big.to_markdown()


def test_size_sweep_shows_gzip_savings_fading_past_its_window():
    x = b"".join(_read(n) for n in ("argparse.py", "optparse.py", "getopt.py"))
    # Y is X with its halves swapped: all of Y repeats X, but far apart in XY
    half = len(x) // 2
    y = x[half:] + x[:half]
    r = subadditivity(x, y, ["gzip", "lzma"], sizes=[4_000, 16_000, 120_000, 10**9])
    gz, lz = r.results
    sizes = [row["size"] for row in gz.sweep]
    assert sizes == sorted(sizes) and sizes[-1] == min(len(x), len(y))
    assert any("clipped" in w for w in r.warnings)
    frac_gz = [row["savings_fraction"] for row in gz.sweep]
    frac_lz = [row["savings_fraction"] for row in lz.sweep]
    # lzma (64 MiB window) keeps finding the repeat; gzip (32 KiB) loses it at large sizes
    assert frac_lz[-1] > 0.8
    assert frac_gz[-1] < 0.5 * frac_lz[-1]
    assert [row["exceeds_window"] for row in gz.sweep] == [False, False, True, True]
    # at full size Y repeats all of X: far above what the random control shows
    assert lz.sweep[-1]["I"] > 20 * abs(lz.sweep[-1]["I_random"])


def test_outputs_json_markdown_plots(prose_pair, tmp_path):
    x, y = prose_pair
    r = subadditivity(x, y, ["gzip", "zstd:19"], sizes=[2000, 8000])
    d = r.to_dict()
    json.dumps(d)
    assert d["units"] == "bits" and len(d["compressors"]) == 2
    assert set(d["compressors"][0]) >= {"pair", "random_control", "shuffle_control", "sweep", "window"}
    md = r.to_markdown()
    assert "c_hat" in md and "I, Y=random" in md and "Savings vs size" in md
    paths = r.plot(tmp_path)
    assert [Path(p).name for p in paths] == ["subadd_bars.png", "subadd_sweep.png"]
    assert all(Path(p).read_bytes()[:4] == b"\x89PNG" for p in paths)


def test_inputs_and_errors(tmp_path, related_pair):
    x, y = related_pair
    fx, fy = tmp_path / "x.py", tmp_path / "y.py"
    fx.write_bytes(x)
    fy.write_bytes(y)
    a = subadditivity(fx, fy, ["gzip"])
    b = subadditivity(x, y, ["gzip"])
    assert a.results[0].pair == b.results[0].pair and a.x_label == str(fx)
    assert subadditivity(x.decode(), y.decode(), ["gzip"]).results[0].pair == b.results[0].pair
    with pytest.raises(InputError, match="non-empty"):
        subadditivity(b"", y, ["gzip"])
    with pytest.raises(InputError, match="no such file"):
        subadditivity(tmp_path / "missing", y, ["gzip"])
    with pytest.raises(InputError, match="directory"):
        subadditivity(tmp_path, y, ["gzip"])
    with pytest.raises(InputError, match="sizes"):
        subadditivity(x, y, ["gzip"], sizes=[0])
    # seeded controls
    s = rng_shuffle(y, 3)
    assert sorted(s) == sorted(y) and s != y and s == rng_shuffle(y, 3)


def test_cli_subadd(tmp_path, related_pair, capsys):
    x, y = related_pair
    fx, fy = tmp_path / "x.py", tmp_path / "y.py"
    fx.write_bytes(x)
    fy.write_bytes(y)
    rc = main(["subadd", str(fx), str(fy), "-c", "gzip", "-c", "lzma", "--sizes", "1K,4K", "--json",
               "--plot-dir", str(tmp_path / "p")])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert [c["spec"] for c in d["compressors"]] == ["gzip:9", "lzma:9"]
    assert [row["size"] for row in d["compressors"][0]["sweep"]] == [1024, 4096]
    assert (tmp_path / "p" / "subadd_sweep.png").exists()
    assert main(["subadd", str(fx), str(tmp_path / "nope"), "-c", "gzip"]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.skipif(not compressor_usable("lm:online"), reason="lm:online is not installed/usable here")
def test_lm_online_learns_on_x_then_y(prose_pair):
    x, y = prose_pair
    r = subadditivity(x[:3000], y[:3000], ["lm:online"])
    p = r.results[0].pair
    assert p.y_given_x < p.C_y  # the model that read X first codes Y in fewer bits
    assert r.results[0].signal_over_controls > 0
