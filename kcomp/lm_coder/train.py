"""Train ``lm`` weights from the offline corpus (:mod:`kcomp.lm_coder.data`).

    python -m kcomp.lm_coder.train --size tiny --steps 2400     # one shipped model (see README)
    python -m kcomp.lm_coder.train --steps 200 --out /tmp/w.safetensors   # a quick try

Training samples are random ``block_size``-byte windows of one source (picked with the
``mix`` probabilities), read as ``[BOS] + window[:-1]`` -> ``window``: exactly how the coder sees
a chunk. Deterministic for a given seed, thread count and machine. Loss is in bits per byte.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict

import numpy as np

#: sampling probability of each corpus source (:mod:`kcomp.lm_coder.data`)
DEFAULT_MIX = {"descriptions": 0.2, "fortunes": 0.1, "bible": 0.08, "python": 0.15, "austen": 0.15,
               "dictionaries": 0.14, "docs": 0.18}
#: the model family: name -> ModelConfig fields (every size: ALiBi, 512-byte context, MLP x4)
SIZES = {
    "micro": dict(n_layer=1, n_head=2, n_embd=16),
    "tiny": dict(n_layer=1, n_head=2, n_embd=32),
    "mini": dict(n_layer=2, n_head=2, n_embd=32),
    "small": dict(n_layer=2, n_head=4, n_embd=48),
    "medium": dict(n_layer=3, n_head=4, n_embd=64),
    "base": dict(n_layer=3, n_head=4, n_embd=96),
    "large": dict(n_layer=4, n_head=4, n_embd=96),
}
BASE_CONFIG = dict(block_size=512, mlp_ratio=4, alibi=True)
#: sequence-length warm-up: (fraction of the steps at which it starts, window length); the
#: batch holds ``tokens_per_step // length`` windows, so every step sees the same number of bytes
DEFAULT_SEQ_SCHEDULE = ((0.0, 128), (0.4, 256), (0.7, 512))


def _windows(rng: np.random.Generator, data: np.ndarray, n: int, size: int) -> np.ndarray:
    starts = rng.integers(0, len(data) - size + 1, size=n)
    return np.stack([data[s : s + size] for s in starts])


def _as_batch(windows: np.ndarray):
    import torch

    from kcomp.lm_coder.model import shifted_inputs

    return torch.from_numpy(shifted_inputs(windows)), torch.from_numpy(windows.astype(np.int64))


def code_length_bits(model, data: bytes, *, batch: int = 32) -> float:
    """Teacher-forced code length of ``data`` in bits: ``block_size``-byte chunks, each from ``BOS``
    (the model's whole context; the coder cuts shorter chunks, for speed), full chunks batched,
    the shorter tail chunk on its own."""
    import torch
    from torch.nn import functional as F

    T = model.config.block_size
    arr = np.frombuffer(data, dtype=np.uint8)
    n_full = len(arr) // T
    full = arr[: n_full * T].reshape(n_full, T)
    pieces = [full[i : i + batch] for i in range(0, n_full, batch)]
    if len(arr) > n_full * T:
        pieces.append(arr[n_full * T :].reshape(1, -1))
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total = 0.0
    with torch.inference_mode():
        for windows in pieces:
            x, y = _as_batch(windows)
            logits = model(x.to(device)).float()
            total += F.cross_entropy(logits.reshape(-1, 256), y.to(device).reshape(-1), reduction="sum").item()
    model.train(was_training)
    return total / math.log(2)


def evaluate(model, data: bytes, *, max_chunks: int = 32) -> float:
    """Mean bits/byte over the first ``max_chunks`` whole chunks of ``data`` (NaN if it has none)."""
    n = min(max_chunks, len(data) // model.config.block_size) * model.config.block_size
    return code_length_bits(model, data[:n]) / n if n else float("nan")


def held_out_losses(model, corpus, *, max_chunks: int = 16) -> dict[str, float]:
    """Bits/byte on the first ``max_chunks`` chunks of every source's held-out part."""
    return {k: round(evaluate(model, s.held_out, max_chunks=max_chunks), 4) for k, s in corpus.items() if s.held_out}


def _optimizer(model, lr: float, weight_decay: float):
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def lr_at(step: int, *, steps: int, lr: float, warmup: int, min_lr_ratio: float) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to ``lr * min_lr_ratio``."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class _Sampler:
    """Random training windows: a source per window by the mix, then a uniform start in it."""

    def __init__(self, corpus, mix: dict, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.names = sorted(mix)
        self.arrays = [np.frombuffer(corpus[n].train, dtype=np.uint8) for n in self.names]
        probs = np.array([mix[n] for n in self.names], dtype=np.float64)
        self.probs = probs / probs.sum()

    def batch(self, n: int, length: int):
        which = self.rng.choice(len(self.names), size=n, p=self.probs)
        return _as_batch(np.stack([_windows(self.rng, self.arrays[w], 1, length)[0] for w in which]))


def _initial_model(config, init: str | None, kv_heads: int | None = None):
    """(model, recipe of the weights it starts from): a fresh ByteGPT, or the ``init`` weights
    (with their key/value heads mean-pooled to ``kv_heads``: :func:`pool_kv_heads`)."""
    from kcomp.lm_coder.model import ByteGPT
    from kcomp.lm_coder.weights import load_model, model_id, read_metadata, resolve_weights

    if init is None:
        if kv_heads is not None:
            raise ValueError("kv_heads pools the key/value heads of init weights; a fresh model takes n_kv_head in config")
        return ByteGPT(config), None
    model = load_model(init)
    meta = read_metadata(resolve_weights(init))
    recipe = {"weights": str(init), "model_id": model_id(model).hex(), "recipe": json.loads(meta.get("recipe", "null"))}
    if kv_heads is not None and kv_heads != model.config.kv_heads:
        model = pool_kv_heads(model, kv_heads)
        recipe["pooled_kv_heads"] = kv_heads
    return model.train(), recipe


def pool_kv_heads(model, kv_heads: int):
    """A copy of ``model`` with ``kv_heads`` key/value heads, each the mean of the projections of
    the query heads it serves (the GQA "uptraining" start, Ainslie et al. 2023); train on."""
    import dataclasses

    import torch

    from kcomp.lm_coder.model import ByteGPT

    cfg = model.config
    if kv_heads < 1 or cfg.n_head % kv_heads or cfg.n_head != cfg.kv_heads:
        raise ValueError(f"cannot pool the {cfg.kv_heads} key/value heads of {cfg} into {kv_heads}")
    pooled = ByteGPT(dataclasses.replace(cfg, n_kv_head=kv_heads))
    state = model.state_dict()
    C, hd, group = cfg.n_embd, cfg.n_embd // cfg.n_head, cfg.n_head // kv_heads
    for name in [n for n in state if n.endswith("attn.c_attn.weight") or n.endswith("attn.c_attn.bias")]:
        full = state[name]
        q, k, v = full[:C], full[C : 2 * C], full[2 * C :]
        pool = [t.reshape(kv_heads, group, hd, *t.shape[1:]).mean(1).reshape(kv_heads * hd, *t.shape[1:]) for t in (k, v)]
        state[name] = torch.cat([q, *pool], dim=0)
    pooled.load_state_dict(state)
    return pooled


def _optimizer_step(model, opt, autocast, x, y) -> float:
    """One AdamW step on the batch (x, y) (gradient clipped at 1.0); returns its loss in bits/byte."""
    import torch
    from torch.nn import functional as F

    with autocast:
        logits = model(x)
    loss = F.cross_entropy(logits.float().reshape(-1, 256), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item() / math.log(2)


def _final_losses(model, corpus, log) -> tuple[dict, dict]:
    """(train, held-out) bits/byte per source after training, 32 chunks each."""
    final_train = {k: round(evaluate(model, s.train[len(s.train) // 2 :]), 4) for k, s in corpus.items()}
    final_held = held_out_losses(model, corpus, max_chunks=32)
    log(f"final train bits/byte (32 chunks each): {final_train}")
    log(f"final held-out bits/byte (first 32 chunks each): {final_held}")
    return final_train, final_held


def _device(name: str):
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def train(
    out: str | None = None,
    *,
    steps: int = 6000,
    tokens_per_step: int = 2048,
    seq_schedule=DEFAULT_SEQ_SCHEDULE,
    lr: float = 4e-3,
    min_lr_ratio: float = 0.1,
    warmup: int = 50,
    weight_decay: float = 0.01,
    seed: int = 1234,
    config: dict | None = None,
    mix: dict | None = None,
    threads: int = 1,
    max_cpu_minutes: float = 30.0,
    evals: int = 8,
    device: str = "auto",
    cpu_bf16: bool = False,
    init: str | None = None,
    kv_heads: int | None = None,
    command: str | None = None,
    log=print,
) -> dict:
    """Train a :class:`ByteGPT` on the offline corpus and save it (if ``out``) as safetensors.

    Returns the recipe dict (also stored in the weights' metadata): hyper-parameters, data sizes
    and digest, steps done, CPU and wall time, the held-out loss (bits/byte) at ``evals``
    checkpoints along training and the final train / held-out loss per source. Training stops
    early (recorded as ``stopped_early``) once the process has used ``max_cpu_minutes``. On CUDA
    the forward runs under bf16 autocast (the saved weights are float32); ``cpu_bf16`` does the
    same on the CPU (measured 1.6x faster on an AMX CPU). ``init``: continue from these weights
    (their config and recipe are kept; windows are full length from the first step), their
    key/value heads first pooled into ``kv_heads`` when given (fresh models: ``n_kv_head``).
    """
    import torch

    from kcomp.lm_coder.data import corpus_digest, load_corpus
    from kcomp.lm_coder.model import ModelConfig
    from kcomp.lm_coder.weights import save_model

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dev = _device(device)
    cfg = ModelConfig(**(config or {**BASE_CONFIG, **SIZES["large"]}))
    mix = dict(mix or DEFAULT_MIX)
    corpus = load_corpus(mix)
    digest = corpus_digest(corpus)
    log("corpus (train / held-out bytes): " + ", ".join(f"{k}={len(s.train)}/{len(s.held_out)}" for k, s in corpus.items())
        + f"; digest {digest}")
    sampler = _Sampler(corpus, mix, seed)
    model, init_recipe = _initial_model(cfg, init, kv_heads)
    model = model.to(dev)
    seen_before = 0  # bytes the init weights were trained on: counted in bytes_seen / tokens_seen
    if init is not None:
        cfg, seq_schedule = model.config, ((0.0, model.config.block_size),)
        seen_before = (init_recipe["recipe"] or {}).get("tokens_seen", 0)
    log(f"model {cfg} with {model.num_params():,} parameters on {dev}")
    opt = _optimizer(model, lr, weight_decay)
    schedule = dict(steps=steps, lr=lr, warmup=warmup, min_lr_ratio=min_lr_ratio)
    eval_at = {max(1, round(steps * (i + 1) / evals)) for i in range(evals)} if evals else set()
    history, ema, done, stopped_early = [], None, 0, False
    t0, c0 = time.time(), time.process_time()
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda" or cpu_bf16)
    for step in range(steps):
        if (time.process_time() - c0) / 60.0 > max_cpu_minutes:
            stopped_early = True
            log(f"stopping early at step {step}: {max_cpu_minutes} CPU minutes used")
            break
        seq_len = min(cfg.block_size, [n for f, n in seq_schedule if step >= f * steps][-1])
        x, y = sampler.batch(max(1, tokens_per_step // seq_len), seq_len)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, **schedule)
        bits = _optimizer_step(model, opt, autocast, x.to(dev), y.to(dev))
        done = step + 1
        ema = bits if ema is None else 0.98 * ema + 0.02 * bits
        if step % 100 == 0 or done in eval_at:
            log(f"step {step:5d}  loss {bits:.3f} bits/byte (ema {ema:.3f})  lr {lr_at(step, **schedule):.2e}  "
                f"len {seq_len}  {time.process_time() - c0:.0f} CPU s")
        if done in eval_at:
            held = held_out_losses(model, corpus)
            history.append({"step": done, "bytes_seen": seen_before + done * tokens_per_step, "train_ema": round(ema, 4), "held_out": held})
            log(f"  held-out bits/byte after {done} steps: {held}")
    cpu, wall = time.process_time() - c0, time.time() - t0
    final_train, final_held = _final_losses(model, corpus, log)
    recipe = {
        "config": asdict(cfg), "params": model.num_params(), "steps": steps, "steps_done": done,
        "stopped_early": stopped_early, "tokens_per_step": tokens_per_step,
        "seq_schedule": [list(x) for x in seq_schedule], "tokens_seen": seen_before + done * tokens_per_step,
        "lr": lr, "min_lr_ratio": min_lr_ratio, "warmup": warmup, "weight_decay": weight_decay,
        "seed": seed, "threads": threads, "device": dev.type, "bf16_autocast": dev.type == "cuda" or cpu_bf16,
        "init": init_recipe, "mix": mix, "data_digest": digest,
        "corpus_bytes": {k: {"train": len(s.train), "held_out": len(s.held_out)} for k, s in corpus.items()},
        "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1), "torch": torch.__version__,
        "final_train_bits_per_byte": final_train, "final_held_out_bits_per_byte": final_held, "history": history,
        "command": command,
    }
    if out is not None:
        path = save_model(model.eval().to("cpu"), out, recipe)
        log(f"saved {path}")
    return recipe


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kcomp.lm_coder.train", description=__doc__.split("\n\n")[0])
    add_train_arguments(ap)
    return run_from_args(ap.parse_args(argv))


def add_train_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--size", default="large", choices=sorted(SIZES), help="model size (default large)")
    ap.add_argument("--out", default=None, help="weights file to write (default: byte-gpt-SIZE.safetensors in the working directory for 'kcomp train'; the package's weights folder for 'python -m kcomp.lm_coder.train')")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--tokens-per-step", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto", help="cpu, cuda or auto (CUDA trains under bf16 autocast)")
    ap.add_argument("--max-cpu-minutes", type=float, default=30.0)
    ap.add_argument("--cpu-bf16", action="store_true", help="bf16 autocast on the CPU too (faster on AMX / avx512_bf16 CPUs)")
    ap.add_argument("--init", default=None, help="continue training these weights (name or path; --size and --config are then ignored)")
    ap.add_argument("--kv-heads", type=int, default=None, help="with --init: mean-pool its key/value heads into this many (grouped-query attention; 1 = multi-query) and train on")
    ap.add_argument("--config", default=None, help="ModelConfig fields as JSON, merged into the size's, e.g. '{\"n_layer\": 2}'")
    ap.add_argument("--recipe-json", default=None, help="also write the recipe/results JSON here")


def run_from_args(args, default_out: str | None = None) -> int:
    """Train as ``args`` say; the weights go to ``--out``, else ``default_out``, else (the
    project's own recipe, ``python -m kcomp.lm_coder.train``) the package's weights folder."""
    from kcomp.lm_coder.weights import weights_path

    config = {**BASE_CONFIG, **SIZES[args.size], **json.loads(args.config or "{}")}
    recipe = train(
        args.out or default_out or str(weights_path(f"byte-gpt-{args.size}")),
        steps=args.steps,
        tokens_per_step=args.tokens_per_step,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        max_cpu_minutes=args.max_cpu_minutes,
        device=args.device,
        cpu_bf16=args.cpu_bf16,
        init=args.init,
        kv_heads=args.kv_heads,
        config=config,
        command=" ".join(["python -m kcomp.lm_coder.train", *sys.argv[1:]]),
        log=lambda m: print(m, flush=True),
    )
    if args.recipe_json:
        with open(args.recipe_json, "w") as fh:
            json.dump(recipe, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
