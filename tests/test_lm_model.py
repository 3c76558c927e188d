"""The ``lm`` model family: attention, code lengths, the training script, weights files, corpus readers."""

from __future__ import annotations

import gzip
import json
import math
import struct
import zlib
from dataclasses import asdict

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from kcomp.lm_coder import data as corpus_data  # noqa: E402
from kcomp.lm_coder.model import BOS, ByteGPT, ModelConfig, alibi_slopes, chunk_inputs  # noqa: E402
from kcomp.lm_coder.train import SIZES, BASE_CONFIG, code_length_bits, pool_kv_heads, train  # noqa: E402
from kcomp.lm_coder.weights import (  # noqa: E402
    DEFAULT_WEIGHTS,
    WeightsError,
    load_model,
    model_id,
    read_metadata,
    save_model,
    weights_path,
)

CFG = ModelConfig(block_size=32, n_layer=2, n_head=2, n_embd=16, alibi=True)


def _model(seed=0, config=CFG):
    torch.manual_seed(seed)
    return ByteGPT(config).eval()


def _reference_attention(attn, x):
    """Plain softmax attention with explicit ALiBi distances and a causal mask."""
    B, T, C = x.shape
    q, k, v = attn._split(x)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
    pos = torch.arange(T, dtype=torch.float32)
    dist = pos.view(-1, 1) - pos.view(1, -1)
    att = att - alibi_slopes(attn.n_head).view(1, -1, 1, 1) * dist.clamp(min=0)
    att = att.masked_fill(dist < 0, float("-inf")).softmax(-1)
    return attn.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))


def test_fused_attention_matches_reference():
    from kcomp.lm_coder.model import alibi_causal_bias

    m = _model(3)
    x = torch.randn(3, 20, CFG.n_embd)
    attn = m.blocks[0].attn
    with torch.no_grad():
        fused = attn(x, alibi_causal_bias(CFG.n_head, 20))
        ref = _reference_attention(attn, x)
    assert torch.allclose(fused, ref, atol=1e-5), (fused - ref).abs().max()


def test_code_length_bits_prices_every_byte_chunk_by_chunk():
    m = _model(1)
    data = bytes(range(256)) * 3 + b"tail"  # 772 bytes: 24 full chunks + a 4-byte tail
    expected = 0.0
    for i in range(0, len(data), CFG.block_size):
        chunk = data[i : i + CFG.block_size]
        x = torch.tensor([[BOS, *chunk[:-1]]])
        logp = torch.log_softmax(m(x)[0].double(), -1)
        expected -= logp[torch.arange(len(chunk)), torch.tensor(list(chunk))].sum().item() / math.log(2)
    got = code_length_bits(m, data, batch=5)
    assert got == pytest.approx(expected, rel=1e-5)
    assert code_length_bits(m, b"") == 0.0


def test_family_sizes_grow():
    params = [ByteGPT(ModelConfig(**{**BASE_CONFIG, **cfg})).num_params() for cfg in SIZES.values()]
    assert params == sorted(params) and len(set(params)) == len(params) >= 3


# -- weights files --------------------------------------------------------------------------------
def test_default_weights_carry_config_recipe_and_data_digest():
    path = weights_path(DEFAULT_WEIGHTS)
    meta = read_metadata(path)
    recipe = json.loads(meta["recipe"])
    model = load_model(DEFAULT_WEIGHTS)
    assert ModelConfig.from_json(meta["config"]) == model.config
    assert recipe["params"] == model.num_params() and recipe["steps_done"] == recipe["steps"]
    assert len(recipe["data_digest"]) == 16 and recipe["threads"] == 1 and recipe["history"]
    assert recipe["command"].startswith("python -m kcomp.lm_coder.train")


def test_weights_that_do_not_match_their_config_are_refused(tmp_path):
    from safetensors.torch import save_file

    path = save_model(_model(), tmp_path / "ok.safetensors", recipe={"note": "test"})
    assert model_id(load_model(path)) == model_id(_model())
    tensors = {k: v.contiguous() for k, v in _model().state_dict().items()}
    wider = ModelConfig(block_size=32, n_layer=2, n_head=2, n_embd=24, alibi=True)
    save_file(tensors, str(tmp_path / "wide.safetensors"), metadata={"format": "kcomp-lm/1", "config": wider.to_json()})
    with pytest.raises(WeightsError, match="shape"):
        load_model(tmp_path / "wide.safetensors")
    learned_positions = ModelConfig(block_size=32, n_layer=2, n_head=2, n_embd=16, alibi=False)
    save_file(tensors, str(tmp_path / "pos.safetensors"),
              metadata={"format": "kcomp-lm/1", "config": learned_positions.to_json()})
    with pytest.raises(WeightsError, match="missing.*wpe"):
        load_model(tmp_path / "pos.safetensors")
    tensors["lm_head.bias"] = torch.full_like(tensors["lm_head.bias"], float("nan"))
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata={"format": "kcomp-lm/1", "config": CFG.to_json()})
    with pytest.raises(WeightsError, match="NaN"):
        load_model(tmp_path / "nan.safetensors")


# -- training script ------------------------------------------------------------------------------
def test_training_is_deterministic_and_records_its_recipe(tmp_path):
    kwargs = dict(steps=6, tokens_per_step=256, config=asdict(CFG), mix={"python": 1.0}, evals=2,
                  seq_schedule=((0.0, 16), (0.5, 32)), log=lambda m: None)
    r1 = train(tmp_path / "a.safetensors", **kwargs)
    r2 = train(tmp_path / "b.safetensors", **kwargs)
    a, b = load_model(tmp_path / "a.safetensors"), load_model(tmp_path / "b.safetensors")
    assert model_id(a) == model_id(b)
    assert r1["data_digest"] == r2["data_digest"] and r1["steps_done"] == 6 and not r1["stopped_early"]
    assert [h["step"] for h in r1["history"]] == [3, 6] and r1["tokens_seen"] == 6 * 256
    assert json.loads(read_metadata(tmp_path / "a.safetensors")["recipe"])["history"] == r1["history"]
    held = r1["final_held_out_bits_per_byte"]["python"]
    assert 0 < held < 8.5  # an untrained-ish model is near 8 bits/byte, never far above



def test_training_continues_from_weights_and_records_where_it_started(tmp_path):
    base = dict(tokens_per_step=256, mix={"python": 1.0}, evals=1, log=lambda m: None)
    train(tmp_path / "a.safetensors", steps=3, config=asdict(CFG), seq_schedule=((0.0, 16),), **base)
    start = load_model(tmp_path / "a.safetensors")
    recipe = train(tmp_path / "b.safetensors", steps=2, init=str(tmp_path / "a.safetensors"), cpu_bf16=True, **base)
    after = load_model(tmp_path / "b.safetensors")
    assert after.config == start.config and model_id(after) != model_id(start)
    assert recipe["init"]["model_id"] == model_id(start).hex() and recipe["init"]["recipe"]["steps"] == 3
    assert recipe["tokens_seen"] == 5 * 256 and recipe["history"][-1]["bytes_seen"] == 5 * 256
    assert recipe["bf16_autocast"] and recipe["seq_schedule"] == [[0.0, CFG.block_size]]
    # uptraining into one key/value head: recorded, and the saved weights load as multi-query
    pooled = train(tmp_path / "c.safetensors", steps=1, init=str(tmp_path / "a.safetensors"), kv_heads=1, **base)
    assert pooled["init"]["pooled_kv_heads"] == 1 and load_model(tmp_path / "c.safetensors").config.kv_heads == 1
    with pytest.raises(ValueError, match="n_kv_head"):
        train(None, steps=1, config=asdict(CFG), kv_heads=1, **base)


def test_pooled_kv_heads_keep_a_model_whose_heads_already_agree():
    """Mean-pooling identical key/value heads changes nothing: the pooled model computes the same."""
    torch.manual_seed(5)
    mha = ByteGPT(ModelConfig(block_size=32, n_layer=2, n_head=4, n_embd=32, alibi=True)).eval()
    C, hd = 32, 8
    with torch.no_grad():
        for block in mha.blocks:
            w, b = block.attn.c_attn.weight, block.attn.c_attn.bias
            for part in (slice(C, 2 * C), slice(2 * C, 3 * C)):
                w[part] = w[part][:hd].repeat(4, 1)
                b[part] = b[part][:hd].repeat(4)
    x = chunk_inputs(b"grouped-query attention, pooled")
    for kv_heads in (2, 1):
        pooled = pool_kv_heads(mha, kv_heads).eval()
        assert pooled.config.kv_heads == kv_heads and pooled.num_params() < mha.num_params()
        assert torch.allclose(pooled(x), mha(x), atol=1e-5)
    with pytest.raises(ValueError, match="cannot pool"):
        pool_kv_heads(mha, 3)


# -- corpus readers -------------------------------------------------------------------------------
def test_dictd_reader_skips_database_entries_and_duplicates(tmp_path, monkeypatch):
    text = b"00-database-info blah\nalpha\n  first letter\nbeta\n  second letter\n"
    b64 = corpus_data._DICTD_B64.decode()

    def enc(n):
        return b64[n // 64] + b64[n % 64] if n >= 64 else b64[n]

    a, b = text.index(b"alpha"), text.index(b"beta")
    index = (f"00databaseinfo\t{enc(0)}\t{enc(a)}\nalpha\t{enc(a)}\t{enc(b - a)}\nAlpha\t{enc(a)}\t{enc(b - a)}\n"
             f"beta\t{enc(b)}\t{enc(len(text) - b)}\n")
    (tmp_path / "toy.index").write_text(index)
    (tmp_path / "toy.dict.dz").write_bytes(gzip.compress(text))
    monkeypatch.setattr(corpus_data, "DICTD_DIR", str(tmp_path))
    entries = list(corpus_data._dictd_entries("toy"))
    assert entries == [("alpha", b"alpha\n  first letter\n\n"), ("beta", b"beta\n  second letter\n\n")]


def _r_strings(strings):
    out = b"X\n" + struct.pack(">iii", 3, 0x040201, 0x030500) + struct.pack(">i", 5) + b"UTF-8"
    out += struct.pack(">ii", 16, len(strings))
    for s in strings:
        out += struct.pack(">ii", 0x00040009, -1 if s is None else len(s)) + (s or b"")
    return out


def test_austen_reader_splits_whole_novels(tmp_path, monkeypatch):
    books = [[b"EMMA", b"", b"Emma Woodhouse, handsome, clever, and rich"],
             [b"Persuasion", None, b"Sir Walter Elliot, of Kellynch Hall"]]
    rdb = b""
    for lines in books:
        blob = _r_strings(lines)
        rdb += struct.pack(">I", len(blob)) + zlib.compress(blob)
    (tmp_path / "Rdata.rdb").write_bytes(rdb)
    monkeypatch.setattr(corpus_data, "AUSTEN_RDATA", str(tmp_path / "Rdata.rdb"))
    split = corpus_data.load_austen()
    assert split.train == b"EMMA\n\nEmma Woodhouse, handsome, clever, and rich\n"
    assert split.held_out == b"Persuasion\nSir Walter Elliot, of Kellynch Hall\n"


def test_python_split_is_whole_files_by_name_hash(tmp_path):
    names = [f"mod{i}.py" for i in range(40)]
    for n in names:
        (tmp_path / n).write_bytes(f"# {n}\n".encode())
    split = corpus_data.load_python(str(tmp_path))
    held = [n for n in sorted(names) if zlib.crc32(n.encode()) % 10 == 0]
    assert held and split.held_out == b"".join(f"# {n}\n".encode() for n in held)
    assert not set(split.held_out.splitlines()) & set(split.train.splitlines())


def test_missing_source_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(corpus_data, "WORDNET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(corpus_data.CorpusSourceMissing, match="apt-get install -y wordnet-base"):
        list(corpus_data._wordnet_glosses())
    with pytest.raises(ValueError, match="unknown corpus source"):
        corpus_data.load_corpus(["no-such-source"])


def test_corpus_digest_changes_with_the_split():
    a = {"x": corpus_data.Split(b"ab", b"c")}
    b = {"x": corpus_data.Split(b"a", b"bc")}
    assert corpus_data.corpus_digest(a) != corpus_data.corpus_digest(b)
    assert len(corpus_data.corpus_digest(a)) == 16
