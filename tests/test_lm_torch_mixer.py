"""The torch mixer (``MixConfig(engine="torch")``, the GPU's): the compiled mixer's model as
whole-step tensor operations. Tested on the CPU: same hashed contexts, nearly the same bits, exact
round trips, its own model id, and the CUDA geometry of the container."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("constriction")
pytest.importorskip("numba")

from kcomp.errors import CorruptStreamError, InputError  # noqa: E402
from kcomp.lm_coder import DeviceMismatchError, LMCompressor  # noqa: E402
from kcomp.lm_coder.coder import group_rows  # noqa: E402
from kcomp.lm_coder.container import HEADER_BYTES, MAX_GROUP_CHUNKS, read_header  # noqa: E402
from kcomp.lm_coder.mix import ContextMixer, MixConfig  # noqa: E402
from kcomp.lm_coder.mix_torch import TorchMixer  # noqa: E402
from kcomp.lm_coder.model import ByteGPT, KVCache, ModelConfig, StaticKVCache  # noqa: E402

TORCH_MIX = MixConfig(engine="torch")


def tiny_model() -> ByteGPT:
    torch.manual_seed(0)
    return ByteGPT(ModelConfig(block_size=64, n_layer=1, n_head=2, n_embd=32)).eval()


@pytest.fixture(scope="module")
def prose(real_files) -> bytes:
    return real_files["prose"][:6000]


def uniform_log_probs(rows: np.ndarray, lengths: list[int]) -> np.ndarray:
    return np.full((max(lengths), len(rows), 256), -np.log(256), dtype=np.float32)


def test_engine_is_resolved_per_device_and_named_in_the_recipe():
    assert MixConfig().for_device("cuda").engine == "torch"
    assert MixConfig().for_device("cpu").engine == "numba"
    assert TORCH_MIX.for_device("cpu") is TORCH_MIX  # an explicit engine stays
    assert "engine" not in MixConfig(engine="numba").to_json()  # the compiled mixer's ids are unchanged
    assert '"engine": "torch"' in TORCH_MIX.to_json()
    with pytest.raises(ValueError, match="for_device"):
        MixConfig().to_json()  # "auto" has no id
    with pytest.raises(ValueError, match="engine"):
        MixConfig(engine="cuda")


def test_contexts_hash_exactly_as_the_compiled_mixer():
    history = np.random.default_rng(3).integers(0, 2**63, size=(2, 50), dtype=np.int64)
    history[:, :5] = -1 - history[:, :5]  # high bits set: the int64 arithmetic must wrap as uint64
    compiled, tensors = ContextMixer(MixConfig(engine="numba")), TorchMixer(TORCH_MIX, "cpu")
    compiled.begin_group(50)
    tensors.begin_group(50)
    compiled._history[:] = history.view(np.uint64)
    tensors._history[:] = torch.from_numpy(history)
    compiled.contexts(50)
    tensors.contexts(50)
    assert np.array_equal(compiled._rows, (tensors._rows - tensors._offsets).numpy())
    compiled.close()


def test_bits_are_close_to_the_compiled_mixer_and_repeat_exactly(prose):
    rows, lengths = group_rows(prose, 96)
    logp = uniform_log_probs(rows, lengths)
    compiled = ContextMixer(MixConfig(engine="numba")).price_group(logp, rows, lengths).sum()
    first = TorchMixer(TORCH_MIX, "cpu").price_group(torch.from_numpy(logp), rows, lengths)
    again = TorchMixer(TORCH_MIX, "cpu").price_group(torch.from_numpy(logp), rows, lengths)
    assert np.array_equal(first, again)
    assert abs(first.sum() / compiled - 1) < 0.005  # the same model; counts added per step, not per chunk
    assert first.sum() < 0.8 * 8 * len(prose)  # it learns the text: far below 8 bits/byte


def test_counts_are_halved_past_the_limit():
    mixer = TorchMixer(dataclasses.replace(TORCH_MIX, table_bits=8, count_limit=20), "cpu")
    mixer.begin_group(3)
    for _ in range(100):  # three chunks, always the same context and byte
        mixer._history.zero_()
        mixer.contexts(3)
        mixer.learn(np.array([7, 7, 7]))
    assert 10 <= int(mixer.tables.max()) <= 20 + 3
    assert int(mixer.tables.sum(-1).max()) == int(mixer.tables.max())  # only byte 7 was ever counted


@pytest.mark.parametrize("alibi,kv_heads", [(True, 1), (True, None), (False, None)])
def test_fixed_shape_steps_compute_what_the_growing_cache_does(alibi, kv_heads):
    """The torch mixer's loop steps the transformer over the whole cache with the later positions
    masked (one shape for every step: CUDA graphs); the numbers are those of the sliced cache."""
    config = ModelConfig(block_size=24, n_layer=2, n_head=4, n_embd=32, alibi=alibi, n_kv_head=kv_heads)
    torch.manual_seed(1)
    model = ByteGPT(config).eval()
    tokens = torch.randint(0, 256, (3, 24))
    growing, fixed = KVCache(config, 3, "cpu"), StaticKVCache(config, 3, "cpu")
    for t in range(24):
        fixed.position.fill_(t)
        torch.testing.assert_close(model.step(tokens[:, t], fixed), model.step(tokens[:, t], growing))
    with pytest.raises(ValueError, match="mask"):
        fixed.shrink(2)


def test_the_torch_mixer_steps_one_lane():
    with pytest.raises(InputError, match="threads must be 1"):
        LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX, threads=2).coder


def test_torch_engine_round_trips_and_prices_its_stream(prose, real_files):
    c = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    assert (c.coder.threads, c.coder.group) == (1, MAX_GROUP_CHUNKS)  # one lane, large groups (the CPU's limit)
    for data in (prose, np.random.default_rng(5).bytes(3000), real_files["py0"][:4000], b"", b"z"):
        stream = c.compress(data)
        assert c.decompress(stream) == data
        assert c.compress(data) == stream
        if data:
            assert abs(c.size_bits(data) - 8 * len(stream)) <= 0.01 * len(data) + 64 + 8
    small_groups = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    small_groups.coder.group = 20  # several groups: the tables and weights carry across them
    stream = small_groups.compress(prose)
    assert read_header(stream, len(stream)).n_groups > 1
    assert small_groups.decompress(stream) == prose


def test_streaming_with_the_torch_mixer(prose):
    import io

    c = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    c.coder.group = 7
    stream, sink, out = c.compress(prose), io.BytesIO(), io.BytesIO()
    assert c.compress_stream(io.BytesIO(prose), sink) == (len(prose), len(stream))
    assert sink.getvalue() == stream
    assert c.decompress_stream(io.BytesIO(stream), out) == len(prose) and out.getvalue() == prose
    damaged = bytearray(stream)
    damaged[len(stream) // 2] ^= 0x10
    with pytest.raises(CorruptStreamError):
        c.decompress(bytes(damaged))


def test_joint_pricing_forks_the_torch_mixer(prose):
    c = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    c.coder.group = 10
    prefix, suffixes = prose[:3000], [prose[3000:3400], b"", prose[:500]]
    joint = c.coder.joint_payload_bits(prefix, suffixes)
    assert joint == [c.coder.payload_bits(prefix + s) for s in suffixes]


def test_a_coder_of_either_engine_decodes_the_other(prose):
    torch_engine = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    default = LMCompressor(model=tiny_model(), device="cpu")
    assert default.coder.mix.engine == "numba"
    assert default.decompress(torch_engine.compress(prose)) == prose
    assert torch_engine.decompress(default.compress(prose)) == prose
    assert torch_engine.coder.model_id != default.coder.model_id


def test_cuda_streams_may_hold_larger_groups_but_not_cpu_streams(prose):
    c = LMCompressor(model=tiny_model(), device="cpu", mix=TORCH_MIX)
    stream = bytearray(c.compress(prose[:300]))
    stream[26:28] = (2731).to_bytes(2, "little")  # group field: more chunks than a CPU stream may hold
    with pytest.raises(CorruptStreamError, match="group of 2731"):
        read_header(bytes(stream[:HEADER_BYTES]), len(stream))
    stream[6] = 1  # a CUDA stream may
    assert read_header(bytes(stream[:HEADER_BYTES]), len(stream)).group == 2731
    if not torch.cuda.is_available():
        with pytest.raises(DeviceMismatchError, match="cuda"):
            LMCompressor(model=tiny_model(), device="auto").decompress(bytes(stream))


@pytest.mark.gpu
def test_cuda_defaults_to_the_torch_mixer_and_large_groups(prose):
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    from kcomp.lm_coder.tensor_step import GRAPH_COUNTS

    c = LMCompressor(model=tiny_model(), device="cuda")
    assert (c.coder.mix.engine, c.coder.threads) == ("torch", 1)
    data = prose * 40
    captured = GRAPH_COUNTS["captured"]
    stream = c.compress(data)
    assert GRAPH_COUNTS["captured"] > captured, "the steps ran eagerly: CUDA graph capture failed (see the log)"
    assert c.decompress(stream) == data
    assert c.compress(data) == stream
    assert abs(c.size_bits(data) - 8 * len(stream)) <= 0.01 * len(data) + 64 * read_header(stream, len(stream)).n_groups


@pytest.mark.parametrize("mode", ["online", "adapt"])
def test_learning_modes_round_trip_with_the_torch_mixer(prose, mode):
    from kcomp.lm_coder import OnlineConfig

    if mode == "online":
        c = LMCompressor(online=True, device="cpu", mix=TORCH_MIX,
                         online_config=OnlineConfig(block_size=64, n_layer=1, n_head=2, n_embd=32, group_chunks=2))
    else:
        c = LMCompressor(model=tiny_model(), adapt=True, device="cpu", mix=TORCH_MIX)
    data = prose[:1500]
    stream = c.compress(data)
    assert read_header(stream, len(stream)).n_groups > 1
    assert c.decompress(stream) == data
