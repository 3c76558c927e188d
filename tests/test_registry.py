"""The compressor registry: families found without a hand-kept list (package modules, plugin
entry points), one shared instance per spec, clear errors for unknown or broken families."""

from __future__ import annotations

import pickle
import sys
import textwrap

import pytest

import kcomp.compressors.registry as registry
from kcomp import K, describe_compressors, get_compressor, list_compressors
from kcomp.errors import UnknownCompressorError


def test_every_codec_module_registers_its_families():
    expected = {"deflate", "zlib", "gzip", "bz2", "lzma", "xz", "zstd", "brotli", "lz4", "ppmd", "lm"}
    assert expected <= set(list_compressors())


def test_one_instance_per_spec_and_specs_stay_apart():
    assert get_compressor("zstd:19") is get_compressor("zstd:19")
    assert get_compressor(" ZSTD:19 ") is get_compressor("zstd:19")
    plain, headerless = get_compressor("gzip"), get_compressor("gzip:headerless")
    assert plain is not headerless and not plain.headerless and headerless.headerless
    assert K(b"", headerless) == 16 and K(b"", plain) == 160  # 18 framing bytes apart, whichever ran first


def test_lm_weights_load_once_per_spec(monkeypatch):
    pytest.importorskip("torch")
    import kcomp.lm_coder.weights as weights

    loads = []
    real = weights.load_model
    monkeypatch.setattr(weights, "load_model", lambda *a, **kw: loads.append(a) or real(*a, **kw))
    registry._build.cache_clear()  # a fresh "lm:cpu", so its first use loads the weights here
    assert K(b"some text", "lm:cpu") == K(b"some text", "lm:cpu") > 0
    assert len(loads) == 1


def test_pickled_compressor_keeps_class_and_state():
    zstd = get_compressor("zstd:19:long")
    copy = pickle.loads(pickle.dumps(zstd))
    assert type(copy) is type(zstd) and copy.spec == "zstd:19:long" and copy is not zstd
    data = b"pickled codecs rebuild their contexts " * 20
    assert copy.decompress(zstd.compress(data)) == data and copy.size_bits(data) == zstd.size_bits(data)


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """An installed distribution declaring two ``kcomp.compressors`` entry points, one broken."""
    (tmp_path / "kcomp_test_plugin.py").write_text(textwrap.dedent('''
        from kcomp.compressors.deflate import DeflateCompressor

        class Plugged(DeflateCompressor):
            family = "plugged"

        def make(level=None, flags=(), headerless=False):
            return Plugged(level, headerless=headerless)
    '''))
    info = tmp_path / "kcomp_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kcomp-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[kcomp.compressors]\nplugged = kcomp_test_plugin:make\n"
                                           "broken = kcomp_no_such_module:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry._load_plugins.cache_clear()
    yield
    for name in ("plugged", "broken"):
        for table in (registry._FAMILIES, registry._DESCRIPTIONS, registry._AVAILABILITY):
            table.pop(name, None)
    sys.modules.pop("kcomp_test_plugin", None)
    registry._load_plugins.cache_clear()
    registry._build.cache_clear()


def test_plugins_come_in_through_entry_points(plugin_dir):
    assert "kcomp_test_plugin" not in sys.modules  # listed without being imported
    assert {"plugged", "broken"} <= set(list_compressors())
    assert describe_compressors()["plugged"] == "plugin kcomp_test_plugin:make"
    c = get_compressor("plugged:6:headerless")
    assert type(c).__name__ == "Plugged" and c.spec == "plugged:6:headerless"
    assert c.size_bits(b"abc" * 50) == get_compressor("deflate:6:headerless").size_bits(b"abc" * 50)
    assert "broken" not in list_compressors(available_only=True)
    with pytest.raises(UnknownCompressorError, match="not usable here: plugin kcomp_no_such_module:make failed"):
        get_compressor("broken")


def test_unknown_family_lists_what_exists():
    with pytest.raises(UnknownCompressorError, match=r"unknown compressor 'snappy'; available: .*gzip.*zstd"):
        get_compressor("snappy")
