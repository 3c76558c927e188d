"""The neural coder ``lm``: lossless round trips, fast code lengths, damaged streams, devices, weights."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("constriction")
pytest.importorskip("safetensors")
pytest.importorskip("numba")

from kcomp.compressors import get_compressor  # noqa: E402
from kcomp.errors import CorruptStreamError, InputError, OutputLimitError, UnknownCompressorError  # noqa: E402
from kcomp.lm_coder import (  # noqa: E402
    AdaptConfig,
    DeviceMismatchError,
    LMCompressor,
    OnlineConfig,
    WeightsError,
    load_model,
    model_id,
    prequential_code_lengths,
    save_model,
)
from kcomp.lm_coder.container import HEADER_BITS, HEADER_BYTES, RECORD_BYTES, read_header  # noqa: E402
from kcomp.lm_coder.model import ByteGPT, ModelConfig, chunk_inputs  # noqa: E402
from kcomp.lm_coder.pricing import STREAM_TOLERANCE_BITS_PER_BYTE  # noqa: E402

TINY = ModelConfig(block_size=64, n_layer=2, n_head=2, n_embd=32)
SMALL_ONLINE = OnlineConfig(block_size=64, n_layer=1, n_head=2, n_embd=32, group_chunks=2, steps_per_update=2)


def parse_header(stream: bytes):
    return read_header(stream, len(stream))


def n_groups(c: LMCompressor, data: bytes) -> int:
    return -(-len(data) // (c.coder.chunk * c.coder.group))


def tiny_model(seed: int = 0) -> ByteGPT:
    torch.manual_seed(seed)
    return ByteGPT(TINY).eval()


@pytest.fixture(scope="module")
def tiny() -> LMCompressor:
    return LMCompressor(model=tiny_model(0), device="cpu")


@pytest.fixture(scope="module")
def pretrained() -> LMCompressor:
    return LMCompressor(device="cpu")


@pytest.fixture(scope="module")
def samples(real_files) -> dict[str, bytes]:
    out = {
        "prose": real_files["prose"][:1500],
        "code": real_files["py0"][:1500] if "py0" in real_files else b"",
        "json": real_files["json"][:800],
        "random": np.random.default_rng(7).bytes(700),
        "zeros": bytes(300),
        "one": b"x",
    }
    if "binary_gz" in real_files:
        out["binary"] = real_files["binary_gz"][:900]
    iso = Path("/usr/share/iso-codes/json/iso_3166-1.json")
    if iso.exists():
        out["iso_json"] = iso.read_bytes()[:1200]
    return {k: v for k, v in out.items() if v}


# -- model --------------------------------------------------------------------------------------
@pytest.mark.parametrize("alibi,kv_heads", [(False, None), (True, None), (True, 1), (False, 2)])
def test_stepwise_matches_teacher_forced(alibi, kv_heads):
    torch.manual_seed(1)
    m = ByteGPT(ModelConfig(block_size=64, n_layer=2, n_head=4, n_embd=32, alibi=alibi, n_kv_head=kv_heads)).eval()
    data = b"The quick brown fox jumps over the lazy dog. " * 2
    data = data[: TINY.block_size]
    full = m(chunk_inputs(data))[0]
    cache = m.new_cache(1)
    steps = [m.step(tok.view(1), cache)[0] for tok in chunk_inputs(data)[0]]
    step_logits = torch.stack(steps)
    assert full.shape == (len(data), 256)
    assert torch.allclose(full, step_logits, atol=1e-4), (full - step_logits).abs().max()
    with pytest.raises(ValueError):
        m.step(torch.zeros(1, dtype=torch.int64), cache)  # cache full


def test_config_validation():
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError):
        ModelConfig(n_layer=0)
    with pytest.raises(ValueError, match="alibi"):
        ModelConfig(alibi=1)
    assert ModelConfig.from_json(ModelConfig(alibi=True).to_json()).alibi is True
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        ModelConfig(n_head=4, n_kv_head=3)
    with pytest.raises(ValueError, match="n_kv_head"):
        ModelConfig(n_head=4, n_kv_head=0)
    # weights written before n_kv_head existed keep their config text, hence their model id
    assert "n_kv_head" not in ModelConfig().to_json()
    assert ModelConfig.from_json(ModelConfig(n_kv_head=1).to_json()).kv_heads == 1
    assert "wpe.weight" not in ByteGPT(ModelConfig(block_size=32, n_layer=1, n_head=2, n_embd=16, alibi=True)).state_dict()


def test_multi_query_model_round_trips_with_a_smaller_cache(samples):
    torch.manual_seed(3)
    mqa = ByteGPT(ModelConfig(block_size=64, n_layer=2, n_head=4, n_embd=32, alibi=True, n_kv_head=1)).eval()
    assert mqa.new_cache(5).k[0].shape == (5, 1, 64, 8)
    lm = LMCompressor(model=mqa, device="cpu")
    data = samples["prose"][:3000]
    assert lm.decompress(lm.compress(data)) == data


# -- round trips --------------------------------------------------------------------------------
def test_round_trip_real_and_random(tiny, samples):
    for name, data in samples.items():
        stream = tiny.compress(data)
        assert tiny.decompress(stream) == data, name


def test_empty_input(tiny):
    stream = tiny.compress(b"")
    assert len(stream) == HEADER_BYTES
    assert tiny.decompress(stream) == b""
    assert tiny.size_bits(b"") == HEADER_BITS
    headerless = LMCompressor(model=tiny_model(0), device="cpu", headerless=True)
    assert headerless.size_bits(b"") == 0.0
    assert headerless.overhead_bits == HEADER_BITS


def test_pretrained_round_trip_and_beats_raw(pretrained, samples):
    data = samples["prose"]
    stream = pretrained.compress(data)
    assert pretrained.decompress(stream) == data
    # trained on English: far below 8 bits/byte on (unseen) prose
    assert 8 * len(stream) / len(data) < 3.2
    assert get_compressor("lm:cpu").decompress(stream) == data


def test_default_lm_beats_xz_and_ppmd_on_unseen_prose():
    import lzma

    gpl = Path("/usr/share/common-licenses/GPL-3")
    if not gpl.exists():
        pytest.skip("/usr/share/common-licenses/GPL-3 not present")
    data = gpl.read_bytes()  # licence prose: nothing under common-licenses is in the training corpus
    lm_bits = get_compressor("lm:cpu").size_bits(data)
    assert lm_bits < 8 * len(lzma.compress(data, preset=9))
    assert lm_bits < 0.95 * get_compressor("ppmd").size_bits(data)  # measured: 12.9% fewer bits


def test_multiple_batches_and_partial_chunk():
    c = LMCompressor(model=tiny_model(2), device="cpu")
    c.coder.group, c.coder.chunk = 3, 16  # several groups of chunks plus a short last chunk
    data = (b"abcdefghij" * 100)[: 16 * 7 + 5]
    stream = c.compress(data)
    assert parse_header(stream).n_groups == 3
    assert c.decompress(stream) == data


def test_determinism(samples):
    data = samples["prose"]
    a = LMCompressor(model=tiny_model(0), device="cpu").compress(data)
    b = LMCompressor(model=tiny_model(0), device="cpu").compress(data)
    assert a == b
    assert LMCompressor(model=tiny_model(0), device="cpu").size_bits(data) == LMCompressor(
        model=tiny_model(0), device="cpu").size_bits(data)


@pytest.mark.parametrize("threads", [2, 3])
def test_thread_count_is_recorded_and_honoured(samples, threads, monkeypatch):
    """The chunks of a group step in ``threads`` lanes; the decoder follows the stream's count."""
    from kcomp.lm_coder import coder as coder_module

    monkeypatch.setattr(coder_module, "MIN_LANE_CHUNKS", 1)
    assert coder_module.lane_bounds(3, threads) == [(0, 1), (1, 3)] if threads == 2 else [(0, 1), (1, 2), (2, 3)]
    data = samples["prose"][:1400]  # 22 chunks of 64: groups of 3 chunks, the last chunk short
    coder = LMCompressor(model=tiny_model(0), device="cpu", threads=threads)
    coder.coder.group = 3
    stream = coder.compress(data)
    assert parse_header(stream).threads == threads
    assert coder.compress(data) == stream
    assert LMCompressor(model=tiny_model(0), device="cpu", threads=1).decompress(stream) == data
    assert coder.decompress(stream) == data


# -- code lengths -------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["tiny", "pretrained"])
def test_size_bits_agrees_with_coded_size(which, tiny, pretrained, samples):
    c = tiny if which == "tiny" else pretrained
    for name in ("prose", "code", "random"):
        data = samples[name]
        coded_bits = 8 * len(c.compress(data))
        fast = c.size_bits(data)
        groups = n_groups(c, data)
        # size_bits is teacher-forced (an estimate, see kcomp.lm_coder.pricing); one range coder
        # per group: at most one 32-bit word of flush + padding, plus quantisation
        assert abs(coded_bits - fast) <= STREAM_TOLERANCE_BITS_PER_BYTE * len(data) + 64 * groups, (name, coded_bits, fast)
        per_pos = c.code_lengths(data)
        assert per_pos.shape == (len(data),)
        # a range-coded record is 32 * ceil((bits + 1) / 32): 1 to 33 bits over its bytes' sum
        assert abs(per_pos.sum() + HEADER_BITS + 8 * RECORD_BYTES * groups - fast) <= 33 * groups


@pytest.mark.parametrize("headerless", [False, True])
def test_joint_size_bits_equals_size_bits(samples, headerless):
    c = LMCompressor(model=tiny_model(0), device="cpu", headerless=headerless)
    c.coder.group, c.coder.chunk = 2, 64  # prefix spans two whole groups and part of a third
    assert c.has_prefix_reuse
    prefix = samples["prose"][:300]
    suffixes = [samples["code"][:100], b"", samples["random"][:70]]
    joint = c.joint_size_bits(prefix, suffixes)
    assert joint.tolist() == [c.size_bits(prefix + s) for s in suffixes]
    short = LMCompressor(model=tiny_model(0), device="cpu", headerless=headerless)  # no whole group shared
    assert short.joint_size_bits(prefix, suffixes).tolist() == [short.size_bits(prefix + s) for s in suffixes]


def test_str_input_refused(tiny):
    with pytest.raises(InputError):
        tiny.compress("text")  # type: ignore[arg-type]


# -- damaged streams ----------------------------------------------------------------------------
def test_corruption_is_detected(tiny, samples):
    data = samples["prose"]
    stream = tiny.compress(data)
    positions = [0, 4, 5, 6, 7, 10, 16, 20, 24, 26, 28, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + 3,
                 len(stream) // 2, len(stream) - 5]
    for pos in positions:
        bad = bytearray(stream)
        bad[pos] ^= 0x55
        with pytest.raises(CorruptStreamError):
            tiny.decompress(bytes(bad))


def test_truncation_and_trailing_data(tiny, samples):
    stream = tiny.compress(samples["prose"])
    for cut in (0, 3, HEADER_BYTES - 1, HEADER_BYTES, HEADER_BYTES + 4, len(stream) - 4, len(stream) - 1):
        with pytest.raises(CorruptStreamError):
            tiny.decompress(stream[:cut])
    with pytest.raises(CorruptStreamError):
        tiny.decompress(stream + b"\0\0\0\0")
    with pytest.raises(CorruptStreamError):
        tiny.decompress(stream + b"\x01\x02\x03\x04")
    with pytest.raises(CorruptStreamError):
        tiny.decompress(tiny.compress(b"") + b"\1\2\3\4")


def test_wrong_model_is_refused(samples):
    data = samples["prose"]
    stream = LMCompressor(model=tiny_model(0), device="cpu").compress(data)
    other = LMCompressor(model=tiny_model(1), device="cpu")
    with pytest.raises(CorruptStreamError, match="model"):
        other.decompress(stream)
    # an online stream decoded by an online coder with another recipe
    online_stream = LMCompressor(online=True, online_config=SMALL_ONLINE, device="cpu").compress(data[:200])
    with pytest.raises(CorruptStreamError, match="model"):
        LMCompressor(online=True, online_config=OnlineConfig(seed=5, block_size=64, n_layer=1, n_head=2,
                                                             n_embd=32, group_chunks=2)).decompress(online_stream)


def test_streams_of_the_previous_mixer_recipe_decode(samples):
    """Streams written with 16-bit counts (the recipe before uint8 counts) carry that recipe's
    model id; a default coder finds it and decodes them, whole and streamed."""
    import io

    from kcomp.lm_coder.mix import LEGACY_MIXES, MixConfig

    data = samples["prose"] + samples["code"]
    old = LMCompressor(model=tiny_model(0), device="cpu", mix=LEGACY_MIXES[0])
    new = LMCompressor(model=tiny_model(0), device="cpu")
    stream = old.compress(data)
    assert stream != new.compress(data) and new.decompress(stream) == data
    out = io.BytesIO()
    assert new.decompress_stream(io.BytesIO(stream), out) == len(data) and out.getvalue() == data
    assert "count_bits" not in LEGACY_MIXES[0].to_json()  # its text, hence its streams' model id, as before
    with pytest.raises(ValueError, match="count_limit"):
        MixConfig(count_bits=8, count_limit=255)  # 255 + 1 would wrap before the halving


def test_stream_of_other_shipped_weights_names_them(samples):
    """A stream made with other shipped weights (say, an earlier default) says which to decode with."""
    stream = LMCompressor(weights="byte-gpt-micro", device="cpu").compress(samples["prose"][:300])
    with pytest.raises(CorruptStreamError, match="lm:weights=byte-gpt-micro"):
        LMCompressor(model=tiny_model(0), device="cpu").decompress(stream)


def test_other_codec_stream_refused(tiny):
    with pytest.raises(CorruptStreamError, match="magic"):
        tiny.decompress(get_compressor("zstd").compress(b"hello world" * 10))


def test_device_class_recorded_and_enforced(tiny, samples):
    stream = tiny.compress(samples["prose"][:200])
    header = parse_header(stream)
    assert header.device == "cpu"
    cuda_stream = bytearray(stream)
    cuda_stream[6] = 1  # claim it was coded on CUDA
    if torch.cuda.is_available():
        with pytest.raises(DeviceMismatchError):
            tiny.decompress(bytes(cuda_stream))  # pinned to cpu
    else:
        with pytest.raises(DeviceMismatchError, match="cuda"):
            LMCompressor(model=tiny_model(0), device="auto").decompress(bytes(cuda_stream))


@pytest.mark.gpu
def test_gpu_round_trip(samples):
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    c = LMCompressor(model=tiny_model(0), device="cuda")
    data = samples["prose"]
    stream = c.compress(data)
    assert parse_header(stream).device == "cuda"
    assert c.decompress(stream) == data
    assert c.compress(data) == stream
    with pytest.raises(DeviceMismatchError):
        LMCompressor(model=tiny_model(0), device="cpu").decompress(stream)
    online = LMCompressor(online=True, online_config=SMALL_ONLINE, device="cuda")
    assert online.decompress(online.compress(data)) == data


# -- online (prequential) mode ------------------------------------------------------------------
def test_online_round_trip_and_learning(samples):
    c = LMCompressor(online=True, online_config=SMALL_ONLINE, device="cpu")
    data = samples["prose"]
    stream = c.compress(data)
    assert c.decompress(stream) == data
    assert parse_header(stream).mode == 1
    assert c.compress(data) == stream  # deterministic, learning included
    bits = c.prequential_code_lengths(data)
    assert bits.shape == (len(data),)
    groups = n_groups(c, data)
    assert abs(bits.sum() + HEADER_BITS + 8 * RECORD_BYTES * groups - c.raw_size_bits(data)) <= 33 * groups  # whole words of bits + 1
    assert abs(8 * len(stream) - c.raw_size_bits(data)) <= 0.001 * len(stream) * 8 + 64 * groups
    # it learns: repeated text gets much cheaper the second time round
    rep = samples["prose"][:256] * 6
    curve = c.prequential_code_lengths(rep)
    assert curve[-256:].mean() < 0.8 * curve[:256].mean()


def test_adapt_round_trip_and_learning(samples):
    cfg = AdaptConfig(group_chunks=2, steps_per_update=1, lr=3e-3)
    c = LMCompressor(model=tiny_model(0), adapt=True, adapt_config=cfg, device="cpu")
    data = samples["prose"]
    stream = c.compress(data)
    assert parse_header(stream).mode == 2
    assert c.decompress(stream) == data
    assert abs(8 * len(stream) - c.raw_size_bits(data)) <= 0.001 * len(stream) * 8 + 64 * n_groups(c, data)
    static = LMCompressor(model=tiny_model(0), device="cpu")
    # the transformer's own learning, without the context model (which alone prices repeats ~free)
    learning = LMCompressor(model=tiny_model(0), adapt=True, adapt_config=cfg, mix=None, ppmd_fallback=False,
                            device="cpu")
    frozen = LMCompressor(model=tiny_model(0), adapt=True, adapt_config=AdaptConfig(group_chunks=2, lr=0.0),
                          mix=None, ppmd_fallback=False, device="cpu")
    rep = samples["prose"][:128] * 8
    assert learning.raw_size_bits(rep) < 0.95 * frozen.raw_size_bits(rep)
    assert c.raw_size_bits(rep) < 0.5 * learning.raw_size_bits(rep)  # the context model learns repeats
    with pytest.raises(CorruptStreamError, match="model"):
        static.decompress(stream)  # same weights, but another learning recipe
    assert get_compressor("lm:adapt").spec == "lm:adapt"


def test_online_default_spec_and_function():
    c = get_compressor("lm:online")
    assert c.spec == "lm:online" and c.window is None
    data = b"Online mode needs no weights. " * 4
    assert c.decompress(c.compress(data)) == data
    assert np.allclose(prequential_code_lengths(data, device="cpu"), c.prequential_code_lengths(data))
    with pytest.raises(InputError):
        LMCompressor(model=tiny_model(0)).prequential_code_lengths(data)


def test_container_identifies_its_mode(samples):
    data = samples["prose"][:100]
    online_stream = get_compressor("lm:online").compress(data)
    assert get_compressor("lm").decompress(online_stream) == data


# -- registry, pickling, lazy import ------------------------------------------------------------
def test_registry_specs():
    assert get_compressor("lm").spec == "lm"
    assert get_compressor("lm:online:headerless").spec == "lm:online:headerless"
    assert get_compressor("lm:cpu").spec == "lm:cpu"
    assert get_compressor("lm:weights=/Some/Path.safetensors").weights == "/Some/Path.safetensors"
    assert get_compressor("LM:Weights=/A/B:CPU").spec == "lm:cpu:weights=/A/B"
    for bad in ("lm:3", "lm:turbo", "lm:cpu:cuda", "lm:online:adapt", "lm:online:weights=x", "lm:weights="):
        with pytest.raises(UnknownCompressorError):
            get_compressor(bad)


def test_pickle_round_trip(samples):
    c = LMCompressor(model=tiny_model(3), device="cpu")
    clone = pickle.loads(pickle.dumps(c))
    assert clone.model_id == c.model_id
    assert clone.decompress(c.compress(samples["prose"][:200])) == samples["prose"][:200]
    assert pickle.loads(pickle.dumps(get_compressor("lm:online"))).spec == "lm:online"


def test_importing_compressors_does_not_import_torch():
    code = ("import sys, kcomp.compressors, kcomp.lm_coder; c = kcomp.compressors.get_compressor('lm'); "
            "assert c.cost == 'slow' and c.window is None and not c.prequential; "
            "assert kcomp.lm_coder.LMCompressor is type(c); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


# -- weights ------------------------------------------------------------------------------------
def test_shipped_weights_are_safetensors_with_metadata():
    from kcomp.lm_coder.weights import DEFAULT_WEIGHTS, WEIGHTS_DIR, read_metadata, weights_path

    # the seven-size family (4.9 MB), the previous default (its streams decode) and the longer
    # runs of the scaling figure: a budget, so that nothing large slips into the package
    assert sum(p.stat().st_size for p in WEIGHTS_DIR.glob("*.safetensors")) < 12 * 2**20
    raw = weights_path(DEFAULT_WEIGHTS).read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + header_len])  # safetensors: a JSON header, no pickle
    assert header["__metadata__"]["format"] == "kcomp-lm/1"
    recipe = json.loads(read_metadata(weights_path(DEFAULT_WEIGHTS))["recipe"])
    assert recipe["final_held_out_bits_per_byte"]["descriptions"] < 4.0


def test_save_load_round_trip(tmp_path):
    m = tiny_model(4)
    path = save_model(m, tmp_path / "t.safetensors", recipe={"note": "test"})
    loaded = load_model(path)
    assert model_id(loaded) == model_id(m)
    assert LMCompressor(weights=str(path), device="cpu").coder.base_id == model_id(m)


def test_mismatched_weights_give_clear_errors(tmp_path):
    from safetensors.torch import save_file

    m = tiny_model(0)
    state = {k: v.contiguous() for k, v in m.state_dict().items()}
    bigger = ModelConfig(block_size=64, n_layer=2, n_head=2, n_embd=48)
    save_file(state, str(tmp_path / "shape.safetensors"), metadata={"format": "kcomp-lm/1", "config": bigger.to_json()})
    with pytest.raises(WeightsError, match="shape"):
        load_model(tmp_path / "shape.safetensors")
    deeper = ModelConfig(block_size=64, n_layer=3, n_head=2, n_embd=32)
    save_file(state, str(tmp_path / "depth.safetensors"), metadata={"format": "kcomp-lm/1", "config": deeper.to_json()})
    with pytest.raises(WeightsError, match="missing"):
        load_model(tmp_path / "depth.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightsError):
        load_model(tmp_path / "junk.safetensors")
    with pytest.raises(WeightsError, match="not found"):
        load_model("no-such-weights")
    save_file(state, str(tmp_path / "nometa.safetensors"))
    with pytest.raises(WeightsError, match="format"):
        load_model(tmp_path / "nometa.safetensors")


# -- CLI ----------------------------------------------------------------------------------------
def test_cli_compress_decompress(tmp_path, samples):
    from kcomp.cli import main

    src = tmp_path / "prose.txt"
    src.write_bytes(samples["prose"][:600])
    assert main(["compress", str(src), "-c", "lm", "-o", str(tmp_path / "p.kc"), "-q"]) == 0
    assert main(["decompress", str(tmp_path / "p.kc"), "-o", str(tmp_path / "back.txt")]) == 0
    assert (tmp_path / "back.txt").read_bytes() == src.read_bytes()
    assert main(["compress", str(src), "-c", "gzip", "-q"]) == 0
    assert main(["decompress", str(src) + ".kc", "-c", "gzip", "-o", str(tmp_path / "g.txt")]) == 0
    assert (tmp_path / "g.txt").read_bytes() == src.read_bytes()
    assert main(["decompress", str(src) + ".kc", "-o", str(tmp_path / "x")]) == 0  # the .kc header names gzip
    assert (tmp_path / "x").read_bytes() == src.read_bytes()


# -- never much worse than raw; hostile headers (issue 14 item 3, issue 15 item 1) --------------
def _binaries() -> dict[str, bytes]:
    out = {}
    for path in ("/usr/bin/ls", "/usr/bin/env", sys.executable):
        if Path(path).exists():
            out[Path(path).name] = Path(path).read_bytes()[4096:4096 + 6000]
    pyc = sorted(Path(json.__file__).parent.glob("__pycache__/*.pyc"))
    if pyc:
        out["pyc"] = pyc[0].read_bytes()[:6000]
    out["random"] = np.random.default_rng(3).bytes(5000)
    return out


@pytest.mark.parametrize("which", ["tiny", "pretrained"])
def test_binary_input_costs_at_most_raw_plus_framing(which, tiny, pretrained):
    c = tiny if which == "tiny" else pretrained
    for name, data in _binaries().items():
        stream = c.compress(data)
        framing = HEADER_BYTES + RECORD_BYTES * n_groups(c, data)
        assert len(stream) <= len(data) + framing, (name, len(stream), len(data))
        assert c.decompress(stream) == data, name
        assert c.size_bits(data) <= 8 * (len(data) + framing), name


def test_raw_groups_keep_learning_the_counts(tiny):
    """A raw-stored group still feeds the context model: the decoder replays it identically."""
    c = LMCompressor(model=tiny_model(0), device="cpu", ppmd_fallback=False)
    c.coder.group, c.coder.chunk = 2, 32
    data = np.random.default_rng(5).bytes(64) + b"abcabcabc" * 30 + np.random.default_rng(6).bytes(64) + b"abc" * 40
    stream = c.compress(data)
    kinds = []
    pos = HEADER_BYTES
    while pos < len(stream):
        kinds.append(stream[pos])
        pos += RECORD_BYTES + int.from_bytes(stream[pos + 1 : pos + 5], "little")
    assert 0 in kinds and 1 in kinds  # both record kinds occur
    assert c.decompress(stream) == data


def test_previous_format_version_is_named(tiny):
    stream = bytearray(tiny.compress(b"version check"))
    stream[4] = 1
    with pytest.raises(CorruptStreamError, match="version 1.*only versions 2, 3"):
        tiny.decompress(bytes(stream))


def test_huge_announced_length_is_refused_at_once(tiny):
    import time

    stream = bytearray(tiny.compress(b"a short text, then a lying header"))
    stream[16:24] = (4_000_000_000).to_bytes(8, "little")
    stream[28:32] = (-(-4_000_000_000 // tiny.coder.chunk)).to_bytes(4, "little")
    t0 = time.perf_counter()
    with pytest.raises(CorruptStreamError, match="announces"):
        tiny.decompress(bytes(stream))
    assert time.perf_counter() - t0 < 0.5


def test_max_output_and_streaming_decode(tiny, samples):
    import io

    data = samples["prose"]
    stream = tiny.compress(data)
    with pytest.raises(OutputLimitError):
        tiny.decompress(stream, max_output=len(data) - 1)
    assert tiny.decompress(stream, max_output=len(data)) == data
    c = LMCompressor(model=tiny_model(0), device="cpu")
    c.coder.group, c.coder.chunk = 2, 64
    stream = c.compress(data)
    assert c.streams
    sink = io.BytesIO()
    assert c.compress_stream(io.BytesIO(data), sink) == (len(data), len(stream))
    assert sink.getvalue() == stream  # group by group, header written last: the same bytes
    online = LMCompressor(online=True, online_config=SMALL_ONLINE, device="cpu")
    sink = io.BytesIO()
    online.compress_stream(io.BytesIO(data), sink)
    assert sink.getvalue() == online.compress(data)  # learners skip the update after the last group
    out = io.BytesIO()
    assert c.decompress_stream(io.BytesIO(stream), out) == len(data)
    assert out.getvalue() == data
    with pytest.raises(CorruptStreamError):
        c.decompress_stream(io.BytesIO(stream[:-3]), io.BytesIO())


_HOSTILE_SCRIPT = r"""
import resource, struct, sys, time
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))
resource.setrlimit(resource.RLIMIT_CPU, (240, 240))
import torch
from hypothesis import given, settings, HealthCheck, strategies as st
from kcomp.errors import CorruptStreamError
from kcomp.lm_coder import LMCompressor
from kcomp.lm_coder.model import ByteGPT, ModelConfig

torch.manual_seed(0)
c = LMCompressor(model=ByteGPT(ModelConfig(block_size=64, n_layer=2, n_head=2, n_embd=32)).eval(), device="cpu")
c.coder.group, c.coder.chunk = 2, 32
data = b"Hostile headers must be refused before the model runs. " * 6
good = c.compress(data)
FIELDS = {"mode": (5, "<B"), "threads": (7, "<B"), "model": (8, "<Q"), "length": (16, "<Q"),
          "chunk": (24, "<H"), "group": (26, "<H"), "n_chunks": (28, "<I")}

@settings(max_examples=int(sys.argv[1]), deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from(sorted(FIELDS)), value=st.integers(0, 2**64 - 1), cut=st.integers(0, 400))
def check(field, value, cut):
    pos, fmt = FIELDS[field]
    stream = bytearray(good)
    stream[pos : pos + struct.calcsize(fmt)] = struct.pack(fmt, value % 256 ** struct.calcsize(fmt))
    for s in (bytes(stream), bytes(stream)[: len(stream) - cut]):
        t0 = time.perf_counter()
        try:
            out = c.decompress(s)
        except CorruptStreamError:
            out = None
        assert time.perf_counter() - t0 < 5, (field, value, cut)
        assert out is None or out == data, (field, value, cut)

check()
print("ok")
"""


def test_hostile_headers_and_truncations_under_memory_and_time_caps():
    pytest.importorskip("hypothesis")
    out = subprocess.run([sys.executable, "-c", _HOSTILE_SCRIPT, "60"], capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_cli_train_writes_to_the_working_directory(tmp_path, monkeypatch):
    from kcomp.cli import main
    from kcomp.datasets import find_shared_data
    from kcomp.lm_coder.weights import WEIGHTS_DIR

    if find_shared_data() is None:
        pytest.skip("the training corpus needs shared/data/debian-descriptions.jsonl.gz (set KCOMP_DATA)")

    shipped = {p: p.stat().st_mtime_ns for p in WEIGHTS_DIR.glob("*.safetensors")}
    monkeypatch.chdir(tmp_path)
    config = json.dumps({"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 16, "alibi": True})
    assert main(["train", "--steps", "2", "--config", config]) == 0
    out = tmp_path / "byte-gpt-large.safetensors"  # --size defaults to large
    assert out.exists()
    assert {p: p.stat().st_mtime_ns for p in WEIGHTS_DIR.glob("*.safetensors")} == shipped
    src = tmp_path / "t.txt"
    src.write_bytes(b"weights given by a case-preserving spec " * 3)
    assert main(["compress", str(src), "-c", f"lm:cpu:weights={out}", "-q"]) == 0
    assert main(["decompress", str(tmp_path / "t.txt.kc"), "-o", str(tmp_path / "back.txt")]) == 0  # the .kc header names the weights
    assert (tmp_path / "back.txt").read_bytes() == src.read_bytes()


def test_streams_of_the_previous_chunk_and_group_decode_with_the_defaults(real_files):
    """The previous release wrote 256-byte chunks in groups of 256; the header carries both, so
    a fresh default compressor (192-byte chunks) decodes such a stream, whole or streamed."""
    import io

    data = real_files["prose"][:3000]
    old = LMCompressor(device="cpu")
    old.coder.chunk, old.coder.group = 256, 4  # several groups of the previous chunk length
    stream = old.compress(data)
    header = read_header(stream, len(stream))
    assert (header.chunk, header.group) == (256, 4)
    fresh = LMCompressor(device="cpu")
    assert fresh.coder.chunk == 192 and fresh.decompress(stream) == data
    out = io.BytesIO()
    assert fresh.decompress_stream(io.BytesIO(stream), out) == len(data) and out.getvalue() == data
