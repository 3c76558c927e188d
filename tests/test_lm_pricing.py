"""The fast pricing path of ``lm`` (kcomp.lm_coder.pricing): teacher-forced forward passes in
fixed parts, a bfloat16 copy of the model with oneDNN's fused linear+GELU, and the context mixer
stepped in lanes. Each must give the numbers of the plain path (exactly, or within the documented
tolerance for the bfloat16 forward)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("constriction")
pytest.importorskip("numba")

from kcomp.lm_coder import LMCompressor  # noqa: E402
from kcomp.lm_coder import model as model_module  # noqa: E402
from kcomp.lm_coder.coder import lane_bounds, price_in_lanes  # noqa: E402
from kcomp.lm_coder.mix import ContextMixer, MixConfig  # noqa: E402
from kcomp.lm_coder.model import ByteGPT, ModelConfig, shifted_inputs  # noqa: E402
from kcomp.lm_coder.pricing import (  # noqa: E402
    PART_CHUNKS,
    STREAM_TOLERANCE_BITS_PER_BYTE,
    teacher_forced_log_probs,
)

TINY = ModelConfig(block_size=64, n_layer=2, n_head=2, n_embd=32, alibi=True)


def tiny_model(seed: int = 0) -> ByteGPT:
    torch.manual_seed(seed)
    return ByteGPT(TINY).eval()


@pytest.fixture(scope="module")
def prose_rows(real_files) -> np.ndarray:
    """Real prose as 80 chunks of 32 bytes (more than two lanes' worth and two forward parts)."""
    data = real_files["prose"][: 80 * 32]
    assert len(data) == 80 * 32
    return np.frombuffer(data, dtype=np.uint8).reshape(80, 32).copy()


def test_log_probs_are_time_major_and_do_not_depend_on_threads(prose_rows):
    model = tiny_model()
    one = teacher_forced_log_probs(model, prose_rows, 32, "cpu", threads=1)
    two = teacher_forced_log_probs(model, prose_rows, 32, "cpu", threads=2)
    assert one.shape == (32, 80, 256) and len(prose_rows) > 2 * PART_CHUNKS
    np.testing.assert_array_equal(one, two)
    with torch.inference_mode():  # same numbers as one pass over every chunk, position-major
        whole = torch.log_softmax(model(torch.from_numpy(shifted_inputs(prose_rows))).float(), dim=-1)
    np.testing.assert_allclose(one, whole.transpose(0, 1).numpy(), atol=0.05)
    np.testing.assert_allclose(np.exp(one).sum(-1), 1.0, rtol=1e-4)


def test_mixer_lanes_price_like_the_compiled_loop(prose_rows):
    """Lanes call the coder's own step kernels; the one-lane loop is compiled as a whole and may
    round differently in the last float bits (it is an estimate either way), never more."""
    logp = teacher_forced_log_probs(tiny_model(), prose_rows, 32, "cpu")
    lengths = [32] * 79 + [20]  # the last chunk short: it drops out of the later steps
    one, lanes = ContextMixer(MixConfig()), ContextMixer(MixConfig())
    bits_one = one.price_group(logp, prose_rows, lengths)
    assert len(lane_bounds(len(lengths), 2)) == 2
    bits_lanes = price_in_lanes(lanes, logp, prose_rows, lengths, 2)
    np.testing.assert_allclose(bits_lanes, bits_one, rtol=1e-4, atol=1e-5)
    assert np.all(bits_lanes[-1, 20:] == 0) and np.all(bits_lanes[:, :20] > 0)
    np.testing.assert_array_equal(lanes.tables, one.tables)  # the state the next group starts from
    np.testing.assert_allclose(lanes.weights, one.weights, rtol=1e-4)


def test_fused_linear_gelu_matches_the_plain_mlp(prose_rows, monkeypatch):
    if model_module._fused_linear_gelu() is None:
        pytest.skip("this torch build has no oneDNN fused linear")
    model = tiny_model().to(torch.bfloat16)
    fused = teacher_forced_log_probs(model, prose_rows, 32, "cpu")
    monkeypatch.setattr(model_module, "_fused_linear_gelu", lambda: None)  # the plain MLP
    plain = teacher_forced_log_probs(model, prose_rows, 32, "cpu")
    true = prose_rows.T[..., None].astype(np.int64)
    per_byte = [-np.take_along_axis(lp, true, -1).mean() / np.log(2) for lp in (fused, plain)]
    assert abs(per_byte[0] - per_byte[1]) < STREAM_TOLERANCE_BITS_PER_BYTE / 4


def test_default_size_bits_within_tolerance_of_the_stream_over_lanes(real_files):
    """The shipped weights at the default chunk, on a group of >= 64 chunks (two lanes)."""
    lm = LMCompressor(device="cpu")
    data = real_files["prose"][: 64 * lm.coder.chunk]
    assert len(lane_bounds(-(-len(data) // lm.coder.chunk), lm.coder.threads)) == 2
    coded_bits = 8 * len(lm.compress(data))
    assert abs(coded_bits - lm.size_bits(data)) <= STREAM_TOLERANCE_BITS_PER_BYTE * len(data) + 64


def test_closed_mixers_leave_zeroed_tables_and_the_same_prices():
    """size_bits reuses count tables between calls (no page faults on fresh memory): the pooled
    tables come back all zero, and repeated or interleaved calls price exactly the same."""
    from kcomp.lm_coder.mix import _TABLES

    lm = LMCompressor(model=tiny_model(), device="cpu")
    a, b = b"the tables must come back clean " * 40, bytes(range(256)) * 8
    first = (lm.size_bits(a), lm.size_bits(b))
    assert (lm.size_bits(a), lm.size_bits(b)) == first
    assert lm.decompress(lm.compress(b)) == b and lm.size_bits(a) == first[0]
    mixer = ContextMixer(MixConfig())
    assert not mixer.tables.any()  # a pooled table: zeroed rows only, checked whole here
    mixer.close()
    mixer.close()  # twice is harmless
    assert all(not t.any() for free in _TABLES._free.values() for t in free)
