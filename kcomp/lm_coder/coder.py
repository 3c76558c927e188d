"""Arithmetic coding of bytes with a :class:`~kcomp.lm_coder.model.ByteGPT` (constriction range coder).

How a stream is made
--------------------
The input is cut into chunks of ``block_size`` bytes (the last may be shorter). Each chunk is
coded independently of the others, starting from the ``BOS`` token, so chunks can be processed
as a batch: at step ``t`` every chunk still longer than ``t`` advances one byte. Encoder and
decoder run the SAME incremental (KV-cache) computation with the same batch shapes, so they see
bit-identical float32 probabilities; those go to ``constriction``'s leaky
``Categorical(perfect=False)`` model and one queue ``RangeEncoder`` carries all chunks
interleaved (step-major, chunk-minor). Batches hold at most ``max_batch`` chunks.

Online (prequential) mode starts from a seeded random init. Chunks are coded in groups of
``group_chunks``; after coding a group the model takes ``steps_per_update`` Adam steps on it.
The decoder makes the same updates after decoding the group, so no weights travel with the data
and the code length includes the cost of learning. Adapt mode does the same starting from the
pretrained weights (dynamic evaluation): the model specialises to the file as it codes it.

Container (all integers little endian, 29-byte fixed header, then the range coder's 32-bit words)::

    0  magic      4  b"KCLM"
    4  version    1  1
    5  mode       1  0 = pretrained, 1 = online, 2 = adapt (pretrained init, learns while coding)
    6  device     1  0 = cpu, 1 = cuda (device class the probabilities were computed on)
    7  model id   8  SHA-256 prefix of config + weights (online/adapt: of the init + learning recipe)
    15 length     4  original length in bytes
    19 chunk      2  chunk length (the model's block_size)
    21 n_chunks   4  number of chunks = ceil(length / chunk): the chunk table (all chunks are
                     ``chunk`` bytes except the last), checked against ``length``
    25 crc32      4  CRC32 of the original bytes continued over the payload's word count
                     (u32 LE), i.e. ``zlib.crc32(n_words.to_bytes(4, "little"), zlib.crc32(data))``;
                     checked after decoding, so damaged, truncated or padded payloads all fail
    29 payload       the range coder's words (uint32), length a multiple of 4

Determinism: probabilities are computed with ``threads`` torch threads (default 1) and
``torch.use_deterministic_algorithms(True)``; the stream records the device class and a decode
on another class is refused. The same class on a different CPU/GPU model may round differently:
the CRC32 then fails loudly instead of returning wrong bytes.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import struct
import zlib
from dataclasses import asdict, dataclass

import numpy as np

from kcomp.errors import CorruptStreamError, InputError, KcompError

MAGIC = b"KCLM"
VERSION = 1
MODE_PRETRAINED = 0
MODE_ONLINE = 1
MODE_ADAPT = 2
_MODES = {MODE_PRETRAINED: "pretrained", MODE_ONLINE: "online", MODE_ADAPT: "adapt"}
_DEVICES = {0: "cpu", 1: "cuda"}
_DEVICE_CODES = {v: k for k, v in _DEVICES.items()}
_HEADER = struct.Struct("<4sBBB8sIHII")
HEADER_BYTES = _HEADER.size  # 29
HEADER_BITS = 8 * HEADER_BYTES
MAX_LENGTH = 2**32 - 1


class DeviceMismatchError(CorruptStreamError):
    """The stream was coded on a device class (cpu/cuda) this decoder cannot reproduce."""


@dataclass(frozen=True)
class Header:
    mode: int
    device: str
    model_id: bytes
    length: int
    chunk: int
    n_chunks: int
    crc32: int

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC, VERSION, self.mode, _DEVICE_CODES[self.device], self.model_id,
            self.length, self.chunk, self.n_chunks, self.crc32,
        )


def parse_header(stream: bytes) -> tuple[Header, bytes]:
    """Validate and split an ``lm`` stream into (header, payload); raises CorruptStreamError."""
    if not isinstance(stream, (bytes, bytearray, memoryview)):
        raise InputError(f"an lm stream must be bytes, got {type(stream).__name__}")
    stream = bytes(stream)
    if len(stream) < HEADER_BYTES:
        raise CorruptStreamError(
            f"lm: stream of {len(stream)} bytes is shorter than the {HEADER_BYTES}-byte header (truncated?)"
        )
    magic, version, mode, dev, mid, length, chunk, n_chunks, crc = _HEADER.unpack_from(stream)
    if magic != MAGIC:
        raise CorruptStreamError(f"lm: bad magic {magic!r}, expected {MAGIC!r}: not an lm stream")
    if version != VERSION:
        raise CorruptStreamError(f"lm: stream format version {version} is not supported (this kcomp reads {VERSION})")
    if mode not in _MODES:
        raise CorruptStreamError(f"lm: unknown coding mode {mode}")
    if dev not in _DEVICES:
        raise CorruptStreamError(f"lm: unknown device class code {dev}")
    if chunk < 1:
        raise CorruptStreamError("lm: chunk length 0 in header")
    if n_chunks != -(-length // chunk):
        raise CorruptStreamError(
            f"lm: header is inconsistent ({length} bytes cannot make {n_chunks} chunks of {chunk}): corrupted"
        )
    payload = stream[HEADER_BYTES:]
    if len(payload) % 4:
        raise CorruptStreamError(f"lm: payload of {len(payload)} bytes is not whole 32-bit words (truncated?)")
    if length and not payload:
        raise CorruptStreamError("lm: the header announces data but the payload is empty (truncated?)")
    if not length and payload:
        raise CorruptStreamError("lm: trailing data after an empty stream")
    return Header(mode, _DEVICES[dev], mid, length, chunk, n_chunks, crc), payload


def stream_crc(data: bytes, n_words: int) -> int:
    """CRC32 of the original bytes, continued over the payload's 32-bit word count."""
    return zlib.crc32(n_words.to_bytes(4, "little"), zlib.crc32(data))


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
def deterministic(threads: int = 1):
    """Fixed thread count and deterministic algorithms for the duration of a coding call."""
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det)
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old_tf32


# -- the shared step-wise pass --------------------------------------------------------------------
def _family():
    import constriction

    return constriction.stream.model.Categorical(perfect=False)


def _probabilities(logits) -> np.ndarray:
    import torch

    probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    if not np.isfinite(probs).all():
        raise KcompError("lm: the model produced non-finite probabilities (broken weights?)")
    return np.ascontiguousarray(probs, dtype=np.float32)


def _stepwise(model, lengths: list[int], device: str, symbols_at) -> None:
    """Advance a batch of chunks (longest first; only the last may be shorter) one byte a step.

    ``symbols_at(t, probs)`` codes position ``t`` of the first ``len(probs)`` chunks with the
    given (active, 256) float32 probabilities and returns their bytes (int32 array).
    """
    import torch

    from kcomp.lm_coder.model import BOS

    batch = len(lengths)
    cache = model.new_cache(batch)
    tokens = torch.full((batch,), BOS, dtype=torch.int64, device=device)
    for t in range(max(lengths)):
        active = sum(1 for n in lengths if n > t)
        if active < cache.batch:
            cache.shrink(active)
            tokens = tokens[:active]
        probs = _probabilities(model.step(tokens, cache))
        symbols = symbols_at(t, probs)
        tokens = torch.from_numpy(symbols.astype(np.int64)).to(device)


def _batches(length: int, chunk: int, max_batch: int) -> list[list[tuple[int, int]]]:
    """Chunk (start, end) spans, grouped into batches of at most ``max_batch`` chunks."""
    spans = [(s, min(s + chunk, length)) for s in range(0, length, chunk)]
    return [spans[i : i + max_batch] for i in range(0, len(spans), max_batch)]


def encode_spans(model, data: bytes, spans, device: str, encoder, family) -> None:
    T = model.config.block_size
    arr = np.zeros((len(spans), T), dtype=np.int32)
    for i, (s, e) in enumerate(spans):
        arr[i, : e - s] = np.frombuffer(data[s:e], dtype=np.uint8)

    def emit(t, probs):
        sym = np.ascontiguousarray(arr[: len(probs), t])
        encoder.encode(sym, family, probs)
        return sym

    _stepwise(model, [e - s for s, e in spans], device, emit)


def decode_spans(model, spans, device: str, decoder, family, out: bytearray) -> None:
    def emit(t, probs):
        sym = np.asarray(decoder.decode(family, probs), dtype=np.int32)
        for i in range(len(sym)):
            out[spans[i][0] + t] = int(sym[i])
        return sym

    _stepwise(model, [e - s for s, e in spans], device, emit)


# -- teacher-forced code lengths (fast path) ------------------------------------------------------
PRECISION = 24  #: constriction's default range coder quantises probabilities to 2**-24
FLOOR = 2.0**-PRECISION
N_SYMBOLS_FLOOR = 256 * FLOOR


def chunk_code_lengths(model, chunk: bytes, device: str):
    """Bits of every byte of one chunk (batch of one, teacher forced): float64 array."""
    import torch
    from torch.nn import functional as F

    from kcomp.lm_coder.model import chunk_inputs

    if not chunk:
        return np.zeros(0)
    with torch.no_grad():
        logits = model(chunk_inputs(chunk, device))[0]
        logp = F.log_softmax(logits.float(), dim=-1)
        target = torch.from_numpy(np.frombuffer(chunk, dtype=np.uint8).astype(np.int64)).to(device)
        logp_t = logp.gather(1, target.view(-1, 1))[:, 0].double().cpu().numpy()
    # the coder's leaky quantisation gives every byte at least one of 2**PRECISION quanta, so an
    # "impossible" byte costs about PRECISION bits, never more: price that floor too
    p = np.exp(logp_t) * (1.0 - N_SYMBOLS_FLOOR) + FLOOR
    return -np.log2(p)


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

        from kcomp.lm_coder.model import BOS

        rows = np.stack([np.frombuffer(data[s:e], dtype=np.uint8) for s, e in spans]).astype(np.int64)
        x = np.empty_like(rows)
        x[:, 0] = BOS
        x[:, 1:] = rows[:, :-1]
        xt = torch.from_numpy(x).to(self.device)
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


# -- public coder ---------------------------------------------------------------------------------
class LMCoder:
    """Compress/decompress bytes with a pretrained model (``model``) or online (``online``).

    ``device``: 'auto' (CUDA when present), 'cpu' or 'cuda'. ``threads``: torch threads used
    while coding (part of what makes the probabilities reproducible). ``max_batch``: most
    chunks advanced together (bounds the KV-cache memory).
    """

    def __init__(self, model=None, *, online: OnlineConfig | None = None, adapt: AdaptConfig | None = None,
                 device: str = "auto", threads: int = 1, max_batch: int = 128) -> None:
        if (model is None) == (online is None):
            raise ValueError("LMCoder needs exactly one of model= (pretrained) or online= (OnlineConfig)")
        if adapt is not None and model is None:
            raise ValueError("adapt= needs a pretrained model=")
        self.requested_device = device
        self.device = resolve_device(device)
        self.threads = threads
        self.max_batch = max_batch
        self.online = online
        self.adapt = adapt
        if model is not None:
            from kcomp.lm_coder.weights import model_id

            self.model = model.to(self.device).eval()
            self.base_id = model_id(self.model)
            self.chunk = model.config.block_size
            if adapt is None:
                self.mode, self.model_id = MODE_PRETRAINED, self.base_id
            else:
                self.mode, self.model_id = MODE_ADAPT, adapt_model_id(self.base_id, adapt)
        else:
            self.model = None
            self.mode = MODE_ONLINE
            self.model_id = online_model_id(online)
            self.chunk = online.block_size
        self._memo: dict[bytes, float] = {}

    @property
    def learns(self) -> bool:
        return self.mode != MODE_PRETRAINED

    def _learner(self, device: str) -> OnlineLearner:
        if self.mode == MODE_ONLINE:
            return OnlineLearner.fresh(self.online, device)
        return OnlineLearner.adapting(self.model, self.adapt, device)

    def _groups(self, length: int):
        cfg = self.online if self.mode == MODE_ONLINE else self.adapt
        return _batches(length, self.chunk, cfg.group_chunks)

    # ---- coding ----
    def _header(self, data: bytes, device: str, n_words: int) -> Header:
        return Header(self.mode, device_class(device), self.model_id, len(data), self.chunk,
                      -(-len(data) // self.chunk), stream_crc(data, n_words))

    def encode(self, data: bytes) -> bytes:
        import constriction
        import torch

        if len(data) > MAX_LENGTH:
            raise InputError(f"lm: input of {len(data)} bytes exceeds the 4 GiB container limit")
        if not data:
            return self._header(data, self.device, 0).pack()
        family = _family()
        encoder = constriction.stream.queue.RangeEncoder()
        with deterministic(self.threads), torch.no_grad():
            if not self.learns:
                for spans in _batches(len(data), self.chunk, self.max_batch):
                    encode_spans(self.model, data, spans, self.device, encoder, family)
            else:
                learner = self._learner(self.device)
                groups = self._groups(len(data))
                for gi, spans in enumerate(groups):
                    encode_spans(learner.model, data, spans, self.device, encoder, family)
                    if gi + 1 < len(groups):
                        learner.update(data, spans)
        words = np.asarray(encoder.get_compressed(), dtype="<u4")
        return self._header(data, self.device, len(words)).pack() + words.tobytes()

    def decode(self, stream: bytes) -> bytes:
        import constriction
        import torch

        header, payload = parse_header(stream)
        self.check_header(header)
        device = self._decode_device(header.device)
        if header.length == 0:
            out = b""
        else:
            words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
            decoder = constriction.stream.queue.RangeDecoder(words)
            family = _family()
            buf = bytearray(header.length)
            with deterministic(self.threads), torch.no_grad():
                if not self.learns:
                    model = self.model if device == self.device else copy.deepcopy(self.model).to(device)
                    for spans in _batches(header.length, self.chunk, self.max_batch):
                        decode_spans(model, spans, device, decoder, family, buf)
                else:
                    learner = self._learner(device)
                    groups = self._groups(header.length)
                    for gi, spans in enumerate(groups):
                        decode_spans(learner.model, spans, device, decoder, family, buf)
                        if gi + 1 < len(groups):
                            learner.update(buf, spans)
            if not decoder.maybe_exhausted():
                raise CorruptStreamError("lm: trailing data after the coded bytes: the stream is corrupted")
            out = bytes(buf)
        if stream_crc(out, len(payload) // 4) != header.crc32:
            raise CorruptStreamError(
                f"lm: CRC32 mismatch after decoding {header.length} bytes: the stream is corrupted "
                f"(or was coded on a {header.device} machine that rounds differently from this one)"
            )
        return out

    def check_header(self, header: Header) -> None:
        if header.mode != self.mode:
            raise CorruptStreamError(
                f"lm: stream was coded in {_MODES[header.mode]} mode, this coder is {_MODES[self.mode]}"
            )
        if header.model_id != self.model_id:
            raise CorruptStreamError(
                f"lm: stream was coded with model {header.model_id.hex()}, this coder has model "
                f"{self.model_id.hex()} (different weights or online recipe)"
            )
        if header.chunk != self.chunk:
            raise CorruptStreamError(f"lm: chunk length {header.chunk} in stream, model uses {self.chunk}")

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
            f"lm: stream was coded on {stream_class} and can only be decoded bit-exactly on {stream_class}; {here}"
        )

    # ---- code lengths without coding ----
    def code_lengths(self, data: bytes) -> np.ndarray:
        """Ideal bits of every byte of ``data`` (teacher forced; online: prequential)."""
        import torch

        if self.learns:
            return self._prequential(data)
        out = np.zeros(len(data))
        with deterministic(self.threads), torch.no_grad():
            for s in range(0, len(data), self.chunk):
                out[s : s + self.chunk] = chunk_code_lengths(self.model, data[s : s + self.chunk], self.device)
        return out

    def _prequential(self, data: bytes) -> np.ndarray:
        import torch

        out = np.zeros(len(data))
        if not data:
            return out
        with deterministic(self.threads):
            learner = self._learner(self.device)
            groups = self._groups(len(data))
            for gi, spans in enumerate(groups):
                with torch.no_grad():
                    for s, e in spans:
                        out[s:e] = chunk_code_lengths(learner.model, data[s:e], self.device)
                if gi + 1 < len(groups):
                    learner.update(data, spans)
        return out

    def payload_bits(self, data: bytes) -> float:
        """Sum of -log2 p over ``data`` (pretrained: per-chunk memo, so shared prefixes are cheap)."""
        if self.learns:
            return float(self._prequential(data).sum())
        import torch

        total = 0.0
        with deterministic(self.threads), torch.no_grad():
            for s in range(0, len(data), self.chunk):
                chunk = data[s : s + self.chunk]
                bits = self._memo.get(chunk)
                if bits is None:
                    bits = float(chunk_code_lengths(self.model, chunk, self.device).sum())
                    if len(self._memo) >= 4096:
                        self._memo.pop(next(iter(self._memo)))
                    self._memo[chunk] = bits
                total += bits
        return total
