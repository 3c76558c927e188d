"""A small byte-level causal transformer, readable top to bottom (nanoGPT ``model.py`` style).

Vocabulary: the 256 byte values plus one input-only start token ``BOS`` (=256). The model reads
``[BOS, b0, ..., b_{n-2}]`` and returns logits over the 256 byte values for EVERY position, i.e.
the distributions of ``b0 ... b_{n-1}``; the first byte of a chunk is therefore priced too.

Two forward passes share the same weights:

* :meth:`ByteGPT.forward` - teacher-forced over a whole sequence (training, fast code lengths);
* :meth:`ByteGPT.step` - one position at a time with a key/value cache (:class:`KVCache`). The
  arithmetic coder's encoder AND decoder both use this one, so both see bit-identical
  probabilities (the batched pass is numerically close to, but not bitwise equal to, the steps).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
from torch.nn import functional as F

BOS = 256  #: input-only start-of-chunk token
N_SYMBOLS = 256  #: output alphabet: byte values


@dataclass(frozen=True)
class ModelConfig:
    block_size: int = 512  #: context length in bytes (= the coder's chunk length)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    mlp_ratio: int = 4
    #: ALiBi (linear distance penalties per head) instead of learned absolute positions: no
    #: position parameters, so short training windows carry over to the full context
    alibi: bool = False
    #: key/value heads (grouped-query attention; 1 = multi-query): fewer heads make the coder's
    #: key/value cache, read at every step, that much smaller. None: one per query head
    n_kv_head: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "n_kv_head" and v is None:
                continue
            if f.name == "alibi":
                if not isinstance(v, bool):
                    raise ValueError(f"ModelConfig.alibi must be a bool, got {v!r}")
            elif not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"ModelConfig.{f.name} must be a positive int, got {v!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_head % self.kv_heads:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")
        if self.block_size > 65535:
            raise ValueError(f"block_size must be <= 65535, got {self.block_size}")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_head or self.n_head

    def to_json(self) -> str:
        """The config as JSON; ``n_kv_head`` only where set, so a config written before the field
        existed keeps its text (and the weights their model id)."""
        raw = asdict(self)
        if raw["n_kv_head"] is None:
            del raw["n_kv_head"]
        return json.dumps(raw, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        raw = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown ModelConfig field(s): {sorted(unknown)}")
        return cls(**raw)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """ALiBi: head h penalises a distance of d positions by slope_h * d, slopes 2^(-8(h+1)/n_head)."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / n_head) for h in range(n_head)])


def alibi_causal_bias(n_head: int, T: int, device=None) -> torch.Tensor:
    """(1, n_head, T, T) additive attention bias: -slope * distance to the past, -inf to the future."""
    pos = torch.arange(T, device=device, dtype=torch.float32)
    dist = pos.view(-1, 1) - pos.view(1, -1)
    bias = -alibi_slopes(n_head).to(device).view(-1, 1, 1) * dist.clamp(min=0)
    return bias.masked_fill(dist < 0, float("-inf")).unsqueeze(0)


class KVCache:
    """Per-layer key/value buffers for ``batch`` sequences of up to ``block_size`` positions."""

    def __init__(self, config: ModelConfig, batch: int, device, dtype=torch.float32) -> None:
        hd = config.n_embd // config.n_head
        shape = (batch, config.kv_heads, config.block_size, hd)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(config.n_layer)]
        self.pos = 0  #: number of positions already stored
        self.batch = batch
        #: ALiBi rows of every position as slices of one row: entry j is -slope * (block_size - 1 - j)
        dist = torch.arange(config.block_size - 1, -1, -1, dtype=torch.float32)
        self._alibi = (-alibi_slopes(config.n_head).view(-1, 1) * dist).view(1, config.n_head, 1, -1).to(
            device=device, dtype=dtype)

    def alibi_row(self, pos: int) -> torch.Tensor:
        """(1, n_head, 1, pos + 1): -slope * (pos - j) for the cached positions j = 0..pos."""
        return self._alibi[..., self._alibi.shape[-1] - 1 - pos :]

    def shrink(self, batch: int) -> None:
        """Keep only the first ``batch`` sequences (finished sequences are dropped from the end)."""
        if batch < self.batch:
            self.k = [k[:batch] for k in self.k]
            self.v = [v[:batch] for v in self.v]
            self.batch = batch


class StaticKVCache(KVCache):
    """A :class:`KVCache` whose steps all have the same shapes and read no Python position (for
    CUDA graphs): a step attends over all ``block_size`` positions, those after the current one
    masked, at the position held in the device tensor :attr:`position` (set it before a step).
    The short last chunk of a group is not dropped (no :meth:`shrink`): its outputs are unused."""

    def __init__(self, config: ModelConfig, batch: int, device, dtype=torch.float32) -> None:
        super().__init__(config, batch, device, dtype)
        self.position = torch.zeros(1, dtype=torch.int64, device=device)
        bias = alibi_causal_bias(config.n_head, config.block_size)[0]  # (n_head, p, j)
        if not config.alibi:  # the causal mask alone
            bias = bias.masked_fill(torch.isfinite(bias), 0.0)
        #: (block_size, n_head, block_size): row p is position p's bias over every cached position
        self.masks = bias.transpose(0, 1).contiguous().to(device=device, dtype=dtype)

    def shrink(self, batch: int) -> None:
        raise ValueError("a StaticKVCache keeps its shapes: mask finished sequences instead")


class CausalSelfAttention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.n_kv_head = config.kv_heads
        self.n_embd = config.n_embd
        self.kv_dim = config.n_embd // config.n_head * config.kv_heads
        self.c_attn = nn.Linear(config.n_embd, config.n_embd + 2 * self.kv_dim)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.alibi = config.alibi
        if config.alibi:
            self.register_buffer("slopes", alibi_slopes(config.n_head).view(1, -1, 1, 1), persistent=False)

    def _split(self, x: torch.Tensor):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split([self.n_embd, self.kv_dim, self.kv_dim], dim=2)
        hd = C // self.n_head
        return [t.view(B, T, -1, hd).transpose(1, 2) for t in (q, k, v)]

    @property
    def grouped(self) -> bool:
        """Fewer key/value heads than query heads (torch's ``enable_gqa``)."""
        return self.n_kv_head != self.n_head

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """x: (B, T, C); bias: the (1, n_head, T, T) ALiBi + causal bias, or None (plain causal)."""
        B, T, C = x.shape
        q, k, v = self._split(x)
        if bias is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=self.grouped)
        else:  # a 4-d float mask keeps torch's fused (flash) CPU kernel
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), enable_gqa=self.grouped)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def step(self, x: torch.Tensor, k_buf: torch.Tensor, v_buf: torch.Tensor, pos: int | torch.Tensor,
             bias: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, 1, C); writes this position's key/value at ``pos`` and attends to 0..pos.

        ``bias``: the (1, n_head, 1, pos + 1) ALiBi row of this position (see
        :meth:`ByteGPT.step`), or None (no positional bias: all the cache is the past). ``pos``
        a (1,) device tensor: fixed shapes (:class:`StaticKVCache`), ``bias`` then spans the
        whole cache and masks the positions after ``pos``.
        """
        B, _, C = x.shape
        q, k, v = self._split(x)
        if isinstance(pos, torch.Tensor):
            k_buf.index_copy_(2, pos, k.to(k_buf.dtype))
            v_buf.index_copy_(2, pos, v.to(v_buf.dtype))
            keys, values = k_buf, v_buf
        else:
            k_buf[:, :, pos : pos + 1] = k
            v_buf[:, :, pos : pos + 1] = v
            keys, values = k_buf[:, :, : pos + 1], v_buf[:, :, : pos + 1]
        # torch's fused CPU kernel over the cache slice: no (B, n_head, 1, pos + 1) temporaries.
        # The query heads that share a key/value head are that head's queries (B, kv, group, hd):
        # one pass over the cached keys serves them all
        group = self.n_head // self.n_kv_head
        q = q.to(k_buf.dtype).reshape(B, self.n_kv_head, group, -1)
        if bias is not None:
            bias = bias.reshape(1, self.n_kv_head, group, -1)
        y = F.scaled_dot_product_attention(q, keys, values, attn_mask=bias)
        return self.c_proj(y.reshape(B, 1, C).to(x.dtype))


@functools.cache
def _fused_linear_gelu():
    """oneDNN's bfloat16 linear with a fused GELU (the op torch's inductor emits on CPU), or None
    where this torch build lacks it (probed once on a tiny input)."""
    try:
        op = torch.ops.mkldnn._linear_pointwise
        with torch.no_grad():
            probe = torch.ones(2, 4, dtype=torch.bfloat16)
            op(probe, torch.ones(3, 4, dtype=torch.bfloat16), torch.zeros(3, dtype=torch.bfloat16), "gelu", [], "none")
        return op
    except (AttributeError, RuntimeError, NotImplementedError):
        return None


class MLP(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, config.mlp_ratio * config.n_embd)
        self.c_proj = nn.Linear(config.mlp_ratio * config.n_embd, config.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.bfloat16 and x.device.type == "cpu" and not torch.is_grad_enabled():
            fused = _fused_linear_gelu()  # bfloat16 inference on the CPU (pricing): ~35% faster
            if fused is not None:
                return self.c_proj(fused(x, self.c_fc.weight, self.c_fc.bias, "gelu", [], "none"))
        return self.c_proj(F.gelu(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), bias)
        return x + self.mlp(self.ln_2(x))

    def step(self, x, k_buf, v_buf, pos: int | torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn.step(self.ln_1(x), k_buf, v_buf, pos, bias)
        return x + self.mlp(self.ln_2(x))


class ByteGPT(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(N_SYMBOLS + 1, config.n_embd)  # +1: BOS
        self.wpe = None if config.alibi else nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, N_SYMBOLS)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # GPT-2 scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """idx: (B, T) int64 with values in 0..256 -> logits (B, T, 256) for every position."""
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence of {T} positions exceeds block_size {self.config.block_size}")
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(T, device=idx.device))
        bias = alibi_causal_bias(self.config.n_head, T, idx.device) if self.config.alibi else None
        for block in self.blocks:
            x = block(x, bias)
        return self.lm_head(self.ln_f(x))

    def new_cache(self, batch: int) -> KVCache:
        p = self.wte.weight
        return KVCache(self.config, batch, p.device, p.dtype)

    @torch.no_grad()
    def step(self, tokens: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """One incremental position: tokens (B,) int64 at position ``cache.pos`` -> logits (B, 256).

        ``B`` may be smaller than at the previous step (call :meth:`KVCache.shrink` first). With a
        :class:`StaticKVCache` the position is ``cache.position`` (the caller sets it) and every
        step has the same shapes.
        """
        if isinstance(cache, StaticKVCache):
            return self._static_step(tokens, cache)
        pos = cache.pos
        if pos >= self.config.block_size:
            raise ValueError(f"KV cache is full ({self.config.block_size} positions)")
        if tokens.shape[0] != cache.batch:
            raise ValueError(f"step got {tokens.shape[0]} tokens for a cache of batch {cache.batch}")
        x = self.wte(tokens.view(-1, 1))
        if self.wpe is not None:
            x = x + self.wpe.weight[pos : pos + 1]
        bias = None
        if self.config.alibi:  # -slope * distance of every cached position 0..pos to pos
            bias = cache.alibi_row(pos)
        for block, k_buf, v_buf in zip(self.blocks, cache.k, cache.v):
            x = block.step(x, k_buf, v_buf, pos, bias)
        cache.pos = pos + 1
        return self.lm_head(self.ln_f(x))[:, 0, :]

    def _static_step(self, tokens: torch.Tensor, cache: StaticKVCache) -> torch.Tensor:
        x = self.wte(tokens.view(-1, 1))
        if self.wpe is not None:
            x = x + self.wpe(cache.position)
        mask = cache.masks.index_select(0, cache.position).unsqueeze(2)  # (1, n_head, 1, block_size)
        for block, k_buf, v_buf in zip(self.blocks, cache.k, cache.v):
            x = block.step(x, k_buf, v_buf, cache.position, mask)
        return self.lm_head(self.ln_f(x))[:, 0, :]


def shifted_inputs(rows):
    """The model inputs of byte rows (n, T): ``[BOS] + row[:-1]`` per row, an int64 numpy array."""
    import numpy as np

    x = np.empty(rows.shape, dtype=np.int64)
    x[:, 0] = BOS
    x[:, 1:] = rows[:, :-1]
    return x


def chunk_inputs(chunk: bytes, device=None) -> torch.Tensor:
    """The model input for one chunk: ``[BOS] + chunk[:-1]`` as a (1, len) int64 tensor."""
    import numpy as np

    return torch.from_numpy(shifted_inputs(np.frombuffer(chunk, dtype=np.uint8).reshape(1, -1))).to(device)
