"""Arithmetic coding of bytes with a :class:`~kcomp.lm_coder.model.ByteGPT` mixed with an
adaptive context model (constriction range coder). The stream format is in
:mod:`kcomp.lm_coder.container`.

How a stream is made
--------------------
The input is cut into chunks of ``chunk`` bytes (at most the model's context; the last chunk may
be shorter), and chunks into groups of ``group`` chunks. The chunks of a group advance in
LOCKSTEP: at step ``t`` every chunk codes its byte ``t``, from a batched incremental (KV-cache)
transformer step. Its log-probabilities are mixed with hashed byte-context counts shared by all
chunks and groups (:class:`~kcomp.lm_coder.mix.ContextMixer`), and ONE range coder per group
codes the step's bytes in one call (constriction's ``Categorical(perfect=False)`` with a 2-D
probability array). Every group is also coded by PPMd, and the cheapest of the range code, the
PPMd code and the raw bytes is stored (:mod:`kcomp.lm_coder.fallback`), so far from the model's
training data ``lm`` costs about what PPMd does, and no input much more than 8 bits/byte. The
decoder runs the same computation with the same shapes, so it sees bit-identical probabilities.

``lm:online`` starts from a seeded random init and ``lm:adapt`` from the pretrained weights; both
take ``steps_per_update`` Adam steps on each group after coding it (the decoder makes the same
updates), so the code length includes the cost of learning.

Determinism: the chunks of a group are split into ``threads`` lanes (the number is recorded in
the stream) that step in parallel threads, each lane's numbers depending on its own chunks only;
torch runs with ``torch.use_deterministic_algorithms(True)``; the stream records the device class and a decode
on another class is refused. Another CPU/GPU model of the same class may round differently:
the CRC32 then fails loudly instead of returning wrong bytes.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import io
import json
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from kcomp.errors import CorruptStreamError, InputError, KcompError, OutputLimitError
from kcomp.lm_coder.container import (
    HEADER_BYTES,
    MODE_ADAPT,
    MODE_ONLINE,
    MODE_PRETRAINED,
    MODES,
    RECORD_BYTES,
    RECORD_CODED,
    RECORD_RAW,
    Header,
    iter_records,
    max_group_chunks,
    pack_record,
    read_header,
)
from kcomp.lm_coder.fallback import Fallback
from kcomp.lm_coder.mix import LEGACY_MIXES, ContextMixer, MixConfig
from kcomp.lm_coder.pricing import teacher_forced_log_probs

#: bytes per chunk: the step's attention reads the whole chunk so far, so its cost grows with the
#: chunk; 192 codes 12-16% faster than 256 for 1.1% more bits on held-out English (see the README)
DEFAULT_CHUNK = 192
#: bytes per group for the pretrained model: at least this many, in whole chunks, share one KV
#: cache and one range coder (342 chunks of 192 bytes: 65,664 bytes), so an input of a power of
#: two bytes ends in a nearly full group, not in a few bytes that cost a whole group's steps
GROUP_BYTES = 64 << 10
#: the same with the torch mixer (the GPU's, :mod:`kcomp.lm_coder.mix_torch`): a step costs about
#: the same device time for any number of chunks, so groups are as large as the device class's
#: format limit allows (512 KiB: 2,731 chunks on CUDA; 1,024 chunks elsewhere)
TENSOR_GROUP_BYTES = 512 << 10
#: lanes of chunks stepped in parallel threads while coding (see :func:`run_group`); recorded in
#: the stream, the decoder uses the stream's value. The torch mixer steps a group as one lane
DEFAULT_THREADS = 2


class DeviceMismatchError(CorruptStreamError):
    """The stream was coded on a device class (cpu/cuda) this decoder cannot reproduce."""


# -- devices and determinism ----------------------------------------------------------------------
def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when available else 'cpu'; validates explicit choices."""
    import torch

    device = (device or "auto").lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise KcompError(f"lm: device {device!r} requested but CUDA is not available here")
        return device
    if device != "cpu":
        raise KcompError(f"lm: unknown device {device!r}; use 'auto', 'cpu' or 'cuda'")
    return device


def device_class(device: str) -> str:
    return "cuda" if str(device).startswith("cuda") else "cpu"


@contextlib.contextmanager
def deterministic():
    """One torch thread and deterministic algorithms for the duration of a coding call: the
    stream's ``threads`` are lanes of chunks (:func:`run_group`), never intra-op threads, which
    cost a thread wake-up per small op (far slower on a busy machine)."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32


# -- the shared lockstep pass ---------------------------------------------------------------------
def _family():
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


#: ``step(t, probs)`` codes, decodes or prices position ``t`` of the first ``len(probs)`` chunks
#: with their (active, 256) float32 probabilities and returns their bytes (int32 array)
StepFn = Callable[[int, np.ndarray], np.ndarray]


#: dtype of the coder's key/value cache (the stream's model id says ``kv=bf16``)
KV_DTYPE_NAME = "bfloat16"


#: fewest chunks per lane: smaller lanes cost more in thread hand-offs than they save
MIN_LANE_CHUNKS = 32


def lane_bounds(batch: int, lanes: int) -> list[tuple[int, int]]:
    """The chunks ``lo:hi`` of each lane: at most ``lanes`` contiguous, near-equal parts of
    ``batch`` of at least :data:`MIN_LANE_CHUNKS` chunks each (one lane if ``batch`` is smaller)."""
    lanes = max(1, min(lanes, batch // MIN_LANE_CHUNKS))
    edges = [batch * i // lanes for i in range(lanes + 1)]
    return list(zip(edges[:-1], edges[1:]))


#: ``lane_log_probs(lane, lo, hi, t, previous)``: the transformer's (hi - lo, 256) float32
#: log-probabilities of chunks ``lo:hi`` (lane ``lane``) at step ``t``; ``previous`` holds the
#: bytes of step ``t - 1`` of every chunk then active (None at ``t = 0``)
LaneLogProbs = Callable[[int, int, int, int, "np.ndarray | None"], np.ndarray]


def lockstep(mixer: ContextMixer, lengths: list[int], step: StepFn, bounds: list[tuple[int, int]],
             lane_log_probs: LaneLogProbs | None) -> None:
    """Advance the chunks of one group (only the last may be shorter) one byte a step: the one
    loop of coding, decoding, lane pricing and replay.

    At each step every lane ``lo:hi`` of ``bounds`` gets its log-probabilities and mixer
    predictions in a parallel thread, then the step's bytes are coded (``step``) and learnt in
    chunk order. A lane's numbers depend only on its own chunks, so the result is the same
    whatever the threads' timing. ``lane_log_probs=None``: no prediction (a raw or PPMd group's
    bytes only feed the count tables)."""
    batch = len(lengths)
    mixer.begin_group(batch)
    previous = None

    def advance(lane: int, active: int, t: int) -> None:
        lo, hi = bounds[lane][0], min(bounds[lane][1], active)
        if hi > lo:
            mixer.predict(lane_log_probs(lane, lo, hi, t, previous), start=lo)

    lanes = len(bounds) if lane_log_probs is not None else 0
    with _lane_threads(max(lanes, 1)) as pool:
        for t in range(max(lengths)):
            active = batch if lengths[-1] > t else batch - 1
            mixer.contexts(active)
            others = [pool.submit(advance, lane, active, t) for lane in range(1, lanes)]
            if lanes:
                advance(0, active, t)
            for other in others:
                other.result()
            previous = step(t, mixer.probs(active))
            mixer.learn(previous)


def run_group(model, mixer: ContextMixer, lengths: list[int], device: str, step: StepFn, lanes: int = 1) -> None:
    """Code one group through the transformer: its chunks split into ``lanes`` lanes, each with
    its own KV cache, stepped in parallel threads (one torch thread each; the stream records
    ``lanes`` as its thread count), see :func:`lockstep`."""
    if mixer.takes_tensors:  # the torch mixer: one lane of fixed shapes (CUDA graphs)
        from kcomp.lm_coder.tensor_step import run_tensor_group

        return run_tensor_group(model, mixer, lengths, device, step)
    bounds = lane_bounds(len(lengths), lanes)
    lockstep(mixer, lengths, step, bounds, _transformer_lanes(model, bounds, max(lengths), device))


def _transformer_lanes(model, bounds: list[tuple[int, int]], span: int, device: str) -> LaneLogProbs:
    """The incremental transformer step of every lane (:data:`LaneLogProbs`)."""
    import torch

    from kcomp.lm_coder.model import BOS, KVCache

    param = next(model.parameters())
    # bfloat16 keys/values: the attention over the cache is memory bound, and half the bytes make
    # the whole coder ~30% faster on CPU (same or slightly better bits; part of the model id)
    config = dataclasses.replace(model.config, block_size=span)
    caches = [KVCache(config, hi - lo, param.device, getattr(torch, KV_DTYPE_NAME)) for lo, hi in bounds]
    inference = torch.is_inference_mode_enabled()

    def log_probs(lane: int, lo: int, hi: int, t: int, previous) -> np.ndarray:
        with torch.inference_mode(inference):
            if hi - lo < caches[lane].batch:
                caches[lane].shrink(hi - lo)
            tokens = (torch.full((hi - lo,), BOS, dtype=torch.int64, device=device) if previous is None
                      else torch.from_numpy(previous[lo:hi].astype(np.int64)).to(device))
            logits = model.step(tokens, caches[lane])
            logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
        if not np.isfinite(logp).all():
            raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
        return logp

    return log_probs


def price_in_lanes(mixer: ContextMixer, nn_logp: np.ndarray, rows: np.ndarray, lengths: list[int],
                   lanes: int) -> np.ndarray:
    """Bits (chunks, chunk) of a group's bytes ``rows`` given the transformer's time-major
    log-probabilities ``nn_logp`` (chunk, chunks, 256): the coder's own lanes and kernels, or the
    mixer's compiled whole-group loop where the group makes one lane (it may round the last float
    bits differently: pricing is an estimate either way)."""
    bounds = lane_bounds(len(lengths), lanes)
    if len(bounds) == 1:
        return mixer.price_group(nn_logp, rows, lengths)
    bits = np.zeros(rows.shape)
    lockstep(mixer, lengths, price_step(rows, bits), bounds, lambda lane, lo, hi, t, previous: nn_logp[t, lo:hi])
    return bits


@contextlib.contextmanager
def _lane_threads(lanes: int):
    """A pool for lanes 1.. (lane 0 runs in the caller)."""
    if lanes == 1:
        yield None
        return
    with ThreadPoolExecutor(max_workers=lanes - 1) as pool:
        yield pool


def replay_group(mixer: ContextMixer, rows: np.ndarray, lengths: list[int]) -> None:
    """Feed a raw- or PPMd-stored group's bytes to the count tables exactly as coding them would have."""
    lockstep(mixer, lengths, lambda t, probs: rows[: len(probs), t].astype(np.int32), [(0, len(lengths))], None)


def group_rows(data: bytes, chunk: int) -> tuple[np.ndarray, list[int]]:
    """A group's bytes as a (chunks, chunk) uint8 array (zero padded) and the chunk lengths."""
    n = -(-len(data) // chunk)
    rows = np.zeros(n * chunk, dtype=np.uint8)
    rows[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    lengths = [chunk] * (n - 1) + [len(data) - chunk * (n - 1)]
    return rows.reshape(n, chunk), lengths


def price_step(rows: np.ndarray, bits: np.ndarray) -> StepFn:
    """A step function that records -log2 p of the true bytes into ``bits`` (no coding)."""

    def step(t, probs):
        symbols = rows[: len(probs), t].astype(np.int32)
        bits[: len(probs), t] = -np.log2(probs[np.arange(len(probs)), symbols].astype(np.float64))
        return symbols

    return step


# -- online learning ------------------------------------------------------------------------------
@dataclass(frozen=True)
class OnlineConfig:
    """The whole recipe of ``lm:online``: init seed, model size and the learning schedule."""

    seed: int = 0
    block_size: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    group_chunks: int = 4  #: chunks coded between two updates
    steps_per_update: int = 4
    lr: float = 1e-2

    def model_config(self):
        from kcomp.lm_coder.model import ModelConfig

        return ModelConfig(block_size=self.block_size, n_layer=self.n_layer, n_head=self.n_head, n_embd=self.n_embd)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class AdaptConfig:
    """``lm:adapt``: the pretrained model keeps learning while it codes (dynamic evaluation)."""

    group_chunks: int = 2  #: chunks coded between two updates
    steps_per_update: int = 1
    lr: float = 3e-4

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class OnlineLearner:
    """A model plus its Adam optimizer; encoder, decoder and the code-length pass build the same
    one and make the same updates, so they stay bit-identical."""

    def __init__(self, model, *, lr: float, steps_per_update: int, device: str) -> None:
        import torch

        self.model = model.to(device).eval()
        self.device = device
        self.steps_per_update = steps_per_update
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, foreach=False)

    @classmethod
    def fresh(cls, config: OnlineConfig, device: str) -> "OnlineLearner":
        """Seeded random init (``lm:online``)."""
        import torch

        from kcomp.lm_coder.model import ByteGPT

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            model = ByteGPT(config.model_config())
        return cls(model, lr=config.lr, steps_per_update=config.steps_per_update, device=device)

    @classmethod
    def adapting(cls, base, config: AdaptConfig, device: str) -> "OnlineLearner":
        """A private copy of pretrained ``base`` that learns (``lm:adapt``)."""
        import copy

        model = copy.deepcopy(base).to("cpu")
        return cls(model, lr=config.lr, steps_per_update=config.steps_per_update, device=device)

    def update(self, data: bytes, spans) -> None:
        """``steps_per_update`` Adam steps on the (full-length) chunks ``spans`` of ``data``."""
        import torch
        from torch.nn import functional as F

        from kcomp.lm_coder.model import shifted_inputs

        rows = np.stack([np.frombuffer(data[s:e], dtype=np.uint8) for s, e in spans]).astype(np.int64)
        xt = torch.from_numpy(shifted_inputs(rows)).to(self.device)
        yt = torch.from_numpy(rows).to(self.device)
        self.model.train()
        with torch.enable_grad():
            for _ in range(self.steps_per_update):
                logits = self.model(xt)
                loss = F.cross_entropy(logits.reshape(-1, 256), yt.reshape(-1))
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
        self.model.eval()


def online_model_id(config: OnlineConfig) -> bytes:
    from kcomp.lm_coder.weights import model_id

    learner = OnlineLearner.fresh(config, "cpu")
    h = hashlib.sha256(b"kcomp-lm-online\0" + config.to_json().encode() + model_id(learner.model))
    return h.digest()[:8]


def adapt_model_id(base_id: bytes, config: AdaptConfig) -> bytes:
    return hashlib.sha256(b"kcomp-lm-adapt\0" + config.to_json().encode() + base_id).digest()[:8]


def mixed_model_id(base_id: bytes, mix: MixConfig | None) -> bytes:
    """Model id of a stream: the transformer's id combined with the mixer recipe."""
    recipe = mix.to_json() if mix is not None else "none"
    return hashlib.sha256(b"kcomp-lm-mix\0" + recipe.encode() + b"\0kv=bf16\0mix=v2" + base_id).digest()[:8]


def shipped_weights_of(stream_model_id: bytes) -> str | None:
    """The name of the shipped weights whose pretrained streams carry ``stream_model_id`` under
    the default mixer recipe or an earlier one (a stream made with earlier default weights names
    them), or None."""
    from kcomp.lm_coder.weights import WEIGHTS_DIR, load_model, model_id

    recipes = (MixConfig(engine="numba"), MixConfig(engine="torch"), *LEGACY_MIXES)
    for path in sorted(WEIGHTS_DIR.glob("*.safetensors")):
        try:
            base = model_id(load_model(path))
        except KcompError:
            continue
        if any(mixed_model_id(base, mix) == stream_model_id for mix in recipes):
            return path.stem
    return None


class _NoMixer(ContextMixer):
    """The transformer alone (floored like the mixer): for ablations."""

    def __init__(self) -> None:
        super().__init__(MixConfig(orders=(1,), table_bits=8, engine="numba"))

    def predict(self, nn_logp: np.ndarray, start: int = 0) -> None:
        self._probs[start : start + len(nn_logp)] = np.exp(nn_logp) * self._scale + self._floor

    def price_group(self, nn_logp: np.ndarray, rows: np.ndarray, lengths: list[int]) -> np.ndarray:
        """Time-major ``nn_logp`` (chunk, chunks, 256) -> bits (chunks, chunk)."""
        true_logp = np.take_along_axis(nn_logp, rows.T[..., None].astype(np.int64), axis=-1)[..., 0].T
        return -np.log2((np.exp(true_logp) * self._scale + self._floor).astype(np.float64))


# -- public coder ---------------------------------------------------------------------------------
class LMCoder:
    """Compress/decompress bytes with a pretrained model (``model``) or online (``online``).

    ``device``: 'auto' (CUDA when present), 'cpu' or 'cuda'. ``threads``: lanes of chunks stepped
    in parallel threads while coding (recorded in the stream; the decoder uses the stream's;
    default :data:`DEFAULT_THREADS`, 1 with the torch mixer). ``chunk``: bytes per chunk (default:
    the model's context or :data:`DEFAULT_CHUNK`, whichever is smaller). ``group``: chunks coded
    together (default: :data:`GROUP_BYTES`, :data:`TENSOR_GROUP_BYTES` with the torch mixer).
    ``mix``: the context-mixing recipe (``None``: the transformer alone; its engine "auto" becomes
    the torch mixer on CUDA and the compiled one elsewhere). ``ppmd_fallback``:
    store a group as PPMd when that is smaller (``False``: ablations; any stream decodes either way).
    """

    def __init__(self, model=None, *, online: OnlineConfig | None = None, adapt: AdaptConfig | None = None,
                 mix: MixConfig | None = MixConfig(), device: str = "auto", threads: int | None = None,
                 chunk: int | None = None, group: int | None = None, ppmd_fallback: bool = True) -> None:
        if (model is None) == (online is None):
            raise ValueError("LMCoder needs exactly one of model= (pretrained) or online= (OnlineConfig)")
        if adapt is not None and model is None:
            raise ValueError("adapt= needs a pretrained model=")
        self.requested_device = device
        self.device = resolve_device(device)
        mix = mix.for_device(device_class(self.device)) if mix is not None else None
        tensors = mix is not None and mix.engine == "torch"
        if tensors and threads not in (None, 1):
            raise InputError("lm: the torch mixer steps a group as one lane: threads must be 1 (or unset)")
        self.threads = threads = threads if threads is not None else 1 if tensors else DEFAULT_THREADS
        self.online, self.adapt, self.mix = online, adapt, mix
        self.ppmd_fallback = ppmd_fallback
        self._bf16_copy = None  #: (model, its bfloat16 copy) for pricing, see _pricing_model
        if model is not None:
            from kcomp.lm_coder.weights import model_id

            self.model = model.to(self.device).eval()
            self.base_id = model_id(self.model)
            context = model.config.block_size
            if adapt is None:
                self.mode, recipe_id, default_group = MODE_PRETRAINED, self.base_id, None
            else:
                self.mode, recipe_id, default_group = MODE_ADAPT, adapt_model_id(self.base_id, adapt), adapt.group_chunks
        else:
            self.model = None
            self.mode, recipe_id, default_group = MODE_ONLINE, online_model_id(online), online.group_chunks
            context = online.block_size
        self.recipe_id = recipe_id
        self.model_id = mixed_model_id(recipe_id, mix)
        self.chunk = min(context, DEFAULT_CHUNK) if chunk is None else chunk
        most = max_group_chunks(device_class(self.device))
        if group is None:  # the pretrained model's groups hold GROUP_BYTES whatever the chunk
            group = default_group or min(most, -(-(TENSOR_GROUP_BYTES if tensors else GROUP_BYTES) // self.chunk))
        self.group = group
        if not 1 <= self.chunk <= context or not 1 <= self.group <= most or not 1 <= threads <= 64:
            raise InputError(f"lm: chunk must be 1..{context} (the model's context), group 1..{most}, threads 1..64")

    @property
    def learns(self) -> bool:
        return self.mode != MODE_PRETRAINED

    @property
    def min_bits_per_byte(self) -> float:
        return (self.mix or MixConfig()).min_bits_per_byte

    def _mixer(self, mix: MixConfig | None = None, device: str | None = None) -> ContextMixer:
        """The mixer of recipe ``mix`` (default: this coder's) for a coder on ``device``."""
        mix = mix or self.mix
        if mix is None:
            return _NoMixer()
        if mix.engine == "torch":
            from kcomp.lm_coder.mix_torch import TorchMixer

            return TorchMixer(mix, device or self.device)
        return ContextMixer(mix)

    def stream_mix(self, header: Header) -> MixConfig | None:
        """The mixer recipe a stream was coded with: this coder's, the same with the other engine
        (a stream of the other device class, or of the compiled mixer on CUDA), or an earlier one
        (:data:`~kcomp.lm_coder.mix.LEGACY_MIXES`) whose model id the header carries."""
        if header.model_id == self.model_id:
            return self.mix
        if self.mix is not None:
            other = dataclasses.replace(self.mix, engine="numba" if self.mix.engine == "torch" else "torch")
            for recipe in (other, *LEGACY_MIXES):
                if mixed_model_id(self.recipe_id, recipe) == header.model_id:
                    return recipe
        shipped = shipped_weights_of(header.model_id) if header.mode == MODE_PRETRAINED else None
        hint = f"; it was coded with the shipped weights {shipped!r}: decode with -c lm:weights={shipped}" if shipped else ""
        raise CorruptStreamError(
            f"lm: stream was coded with model {header.model_id.hex()}, this coder has model "
            f"{self.model_id.hex()} (different weights, online recipe or mixer){hint}")

    def _fallback(self) -> Fallback:
        return Fallback(self.ppmd_fallback)

    def _learner(self, device: str) -> OnlineLearner:
        if self.mode == MODE_ONLINE:
            return OnlineLearner.fresh(self.online, device)
        return OnlineLearner.adapting(self.model, self.adapt, device)

    def _coding_model(self, device: str):
        """(model, learner): the learner updates the model after each group (online/adapt)."""
        if self.learns:
            learner = self._learner(device)
            return learner.model, learner
        return (self.model if device == self.device else copy.deepcopy(self.model).to(device)), None

    # ---- coding ----
    def encode(self, data: bytes) -> bytes:
        """The full stream: header + one record per group (range coded, or raw when cheaper)."""
        records = b"".join(self.encode_groups(self._groups(data)))
        return self.header_for(len(data), zlib.crc32(data)).pack() + records

    def header_for(self, length: int, data_crc: int) -> Header:
        """The header of a stream of ``length`` bytes whose CRC32 is ``data_crc``."""
        header = Header(self.mode, device_class(self.device), self.threads, self.model_id, length, self.chunk,
                        self.group, -(-length // self.chunk), 0)
        return dataclasses.replace(header, crc32=header.stream_crc(data_crc))

    def encode_groups(self, groups: Iterable[bytes]) -> Iterator[bytes]:
        """Records of consecutive groups (each ``chunk * group`` bytes, the last may be shorter)."""
        import torch

        mixer, fallback = self._mixer(), self._fallback()
        with deterministic(), torch.inference_mode(not self.learns), contextlib.closing(mixer):
            model, learner = self._coding_model(self.device)
            groups = iter(groups)
            block = next(groups, b"")
            while block:
                following = next(groups, b"")  # learners skip the update after the last group
                yield self._encode_group(model, mixer, fallback, block)
                if learner is not None and following:
                    learner.update(block, _chunk_spans(len(block), self.chunk))
                block = following

    def _encode_group(self, model, mixer: ContextMixer, fallback: Fallback, block: bytes) -> bytes:
        import constriction

        family = _family()
        rows, lengths = group_rows(block, self.chunk)
        weights = mixer.snapshot()
        encoder = constriction.stream.queue.RangeEncoder()
        bits = np.zeros(rows.shape)
        price = price_step(rows, bits)  # the coded bytes' own bits choose the record

        def emit(t, probs):
            symbols = price(t, probs)
            encoder.encode(symbols, family, probs)
            return symbols

        run_group(model, mixer, lengths, self.device, emit, lanes=self.threads)
        choice = fallback.choose(block, bits.reshape(-1)[: len(block)])
        fallback.advance(block)
        if choice.kind == RECORD_CODED:
            return pack_record(RECORD_CODED, np.asarray(encoder.get_compressed(), dtype="<u4").tobytes())
        mixer.restore(weights)  # the decoder only replays the counts of a raw or PPMd group
        return pack_record(choice.kind, block if choice.kind == RECORD_RAW else choice.ppmd)

    def decode(self, stream: bytes, *, max_output: int | None = None) -> bytes:
        """Invert :meth:`encode`; every header and record check runs before the model does."""
        stream = _as_stream(stream)
        header = self.open(stream[:HEADER_BYTES], len(stream), max_output)
        records = list(iter_records(io.BytesIO(stream[HEADER_BYTES:]), header, self.min_bits_per_byte))
        return b"".join(self.decode_groups(header, iter(records)))

    def open(self, head: bytes, stream_bytes: int | None, max_output: int | None) -> Header:
        """Validate a stream's header against this coder and ``max_output`` (bytes)."""
        header = read_header(head, stream_bytes)
        self.check_header(header)
        if max_output is not None and header.length > max_output:
            raise OutputLimitError(f"lm: the stream holds {header.length:,} bytes, over max_output={max_output:,}")
        return header

    def decode_groups(self, header: Header, records: Iterator[tuple[int, bytes]]) -> Iterator[bytes]:
        """Decode group by group (constant memory); the CRC is checked after the last group."""
        import constriction
        import torch

        device = self._decode_device(header.device)
        family = _family()
        crc = 0
        mixer, fallback = self._mixer(self.stream_mix(header), device), Fallback()  # PPMd records decode whatever this coder writes
        with deterministic(), torch.inference_mode(not self.learns), contextlib.closing(mixer):
            model, learner = self._coding_model(device)
            for index, (kind, payload) in enumerate(records):
                start, end = header.group_span(index)
                rows, lengths = group_rows(bytes(end - start), header.chunk)
                if kind != RECORD_CODED:
                    if kind != RECORD_RAW:
                        payload = fallback.decode(payload, end - start, f"lm: group {index + 1}")
                    rows[:] = group_rows(payload, header.chunk)[0]
                    replay_group(mixer, rows, lengths)
                else:
                    decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(payload, dtype="<u4").astype(np.uint32))

                    def take(t, probs, rows=rows, decoder=decoder):
                        symbols = np.asarray(decoder.decode(family, probs), dtype=np.int32)
                        rows[: len(probs), t] = symbols
                        return symbols

                    run_group(model, mixer, lengths, device, take, lanes=header.threads)
                    if not decoder.maybe_exhausted():
                        raise CorruptStreamError(f"lm: group {index + 1} has data left after its bytes: corrupted")
                out = rows.reshape(-1)[: end - start].tobytes()
                fallback.advance(out)
                if learner is not None and index + 1 < header.n_groups:
                    learner.update(out, _chunk_spans(end - start, header.chunk))
                crc = zlib.crc32(out, crc)
                if index + 1 == header.n_groups and header.stream_crc(crc) != header.crc32:
                    raise CorruptStreamError(
                        f"lm: CRC32 mismatch after decoding {header.length} bytes: the stream is corrupted "
                        f"(or was coded on a {header.device} machine that rounds differently from this one)")
                yield out
        if header.length == 0 and header.stream_crc(0) != header.crc32:
            raise CorruptStreamError("lm: CRC32 mismatch on an empty stream: corrupted")

    def check_header(self, header: Header) -> None:
        if header.mode != self.mode:
            raise CorruptStreamError(f"lm: stream was coded in {MODES[header.mode]} mode, this coder is {MODES[self.mode]}")
        self.stream_mix(header)
        context = self.model.config.block_size if self.model is not None else self.online.block_size
        if header.chunk > context:
            raise CorruptStreamError(f"lm: chunk length {header.chunk} in stream exceeds the model's context {context}")

    def _decode_device(self, stream_class: str) -> str:
        import torch

        if device_class(self.device) == stream_class:
            return self.device
        if self.requested_device in (None, "auto") and stream_class == "cuda" and torch.cuda.is_available():
            return "cuda"
        if self.requested_device in (None, "auto") and stream_class == "cpu":
            return "cpu"
        here = "CUDA is not available here" if not torch.cuda.is_available() else f"this coder runs on {self.device}"
        raise DeviceMismatchError(
            f"lm: stream was coded on {stream_class} and can only be decoded bit-exactly on {stream_class}; {here}")

    # ---- code lengths without coding (the fast path) ----
    def code_lengths(self, data: bytes) -> np.ndarray:
        """Bits of every byte: the coder's own probabilities (8 for bytes of raw-stored groups,
        a PPMd-stored group's payload bits spread evenly over its bytes)."""
        return self._price(data)[0]

    def payload_bits(self, data: bytes) -> float:
        """Bits of everything after the header: the records the encoder would choose."""
        return self._price(data)[1]

    def _price(self, data: bytes) -> tuple[np.ndarray, float]:
        import torch

        total = 0.0
        mixer = self._mixer()
        with deterministic(), torch.inference_mode(not self.learns), contextlib.closing(mixer):
            model, learner = self._coding_model(self.device)
            priced = self._price_groups(model, mixer, self._fallback(), self._groups(data), learner)
            per_byte = []
            for bits, record_bits in priced:
                per_byte.append(bits)
                total += 8 * RECORD_BYTES + record_bits
        return (np.concatenate(per_byte) if per_byte else np.zeros(0)), total

    def _groups(self, data: bytes) -> list[bytes]:
        """``data`` cut into groups of ``chunk * group`` bytes (the last may be shorter)."""
        size = self.chunk * self.group
        return [data[start : start + size] for start in range(0, len(data), size)]

    def _price_groups(self, model, mixer: ContextMixer, fallback: Fallback, blocks: list[bytes],
                      learner=None) -> Iterator[tuple[np.ndarray, float]]:
        """(bits of every byte, payload bits of the record) of each group as the encoder would
        store it, from teacher-forced log-probabilities (:mod:`kcomp.lm_coder.pricing`: an
        estimate within a documented tolerance of the stream); a learner is updated after each
        group but the last."""
        forward = model if learner is not None else self._pricing_model(model)
        for index, block in enumerate(blocks):
            rows, lengths = group_rows(block, self.chunk)
            logp = teacher_forced_log_probs(forward, rows, max(lengths), self.device, self.threads,
                                            as_tensor=mixer.takes_tensors)
            weights = mixer.snapshot()
            bits = price_in_lanes(mixer, logp, rows[:, : max(lengths)], lengths, self.threads)
            bits = bits.reshape(-1)[: len(block)]
            choice = fallback.choose(block, bits)
            fallback.advance(block)
            if choice.kind != RECORD_CODED:
                mixer.restore(weights)  # raw or PPMd: the counts stay, the mixing weights do not
            yield choice.code_lengths(bits), choice.record_bits
            if learner is not None and index + 1 < len(blocks):
                learner.update(block, _chunk_spans(len(block), self.chunk))

    def _pricing_model(self, model):
        """A bfloat16 copy of the fixed ``model`` for the teacher-forced pass (made once): ~15%
        faster than autocasting the float32 weights at every group, within the same tolerance."""
        import torch

        if self._bf16_copy is None or self._bf16_copy[0] is not model:
            self._bf16_copy = (model, copy.deepcopy(model).to(torch.bfloat16))
        return self._bf16_copy[1]

    def joint_payload_bits(self, prefix: bytes, suffixes) -> list[float]:
        """``payload_bits(prefix + s)`` for every s, pricing the groups that lie wholly inside
        ``prefix`` once (pretrained mode: nothing else changes the state they leave)."""
        import torch

        if self.learns:
            return [self.payload_bits(prefix + s) for s in suffixes]
        size = self.chunk * self.group
        shared = len(prefix) // size * size

        def payload(mixer, fallback, data):
            return sum(8 * RECORD_BYTES + record_bits
                       for _, record_bits in self._price_groups(self.model, mixer, fallback, self._groups(data)))

        def forked(mixer, fallback, suffix):
            with contextlib.closing(mixer.fork()) as twin:
                return payload(twin, copy.copy(fallback), prefix[shared:] + suffix)

        with deterministic(), torch.inference_mode(), contextlib.closing(self._mixer()) as mixer:
            fallback = self._fallback()
            base = payload(mixer, fallback, prefix[:shared])
            return [base + forked(mixer, fallback, suffix) for suffix in suffixes]


def _chunk_spans(length: int, chunk: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk, length)) for s in range(0, length, chunk)]


def _as_stream(stream) -> bytes:
    from kcomp._inputs import to_bytes

    return to_bytes(stream, name="lm stream", allow_str=False)
