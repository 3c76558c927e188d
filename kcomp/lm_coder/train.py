"""Train the shipped ``lm`` weights from the offline corpus (:mod:`kcomp.lm_coder.data`).

    python -m kcomp.lm_coder.train                       # the recipe of the shipped weights
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

DEFAULT_MIX = {"descriptions": 0.4, "fortunes": 0.25, "bible": 0.15, "python": 0.2}
DEFAULT_CONFIG = dict(block_size=512, n_layer=4, n_head=4, n_embd=96, mlp_ratio=4, alibi=True)
#: sequence-length warm-up: (fraction of the steps at which it starts, window length); the
#: batch holds ``tokens_per_step // length`` windows, so every step sees the same number of bytes
DEFAULT_SEQ_SCHEDULE = ((0.0, 128), (0.4, 256), (0.7, 512))


def _windows(rng: np.random.Generator, data: np.ndarray, n: int, size: int) -> np.ndarray:
    starts = rng.integers(0, len(data) - size + 1, size=n)
    return np.stack([data[s : s + size] for s in starts])


def _as_batch(windows: np.ndarray):
    import torch

    from kcomp.lm_coder.model import BOS

    x = np.empty(windows.shape, dtype=np.int64)
    x[:, 0] = BOS
    x[:, 1:] = windows[:, :-1]
    return torch.from_numpy(x), torch.from_numpy(windows.astype(np.int64))


def evaluate(model, data: bytes, *, max_chunks: int = 32, batch: int = 8) -> float:
    """Mean bits/byte over the first ``max_chunks`` aligned chunks of ``data`` (teacher forced)."""
    import torch
    from torch.nn import functional as F

    T = model.config.block_size
    arr = np.frombuffer(data, dtype=np.uint8)
    n = min(max_chunks, len(arr) // T)
    if n == 0:
        return float("nan")
    chunks = arr[: n * T].reshape(n, T)
    total = 0.0
    model.eval()
    with torch.no_grad():
        for i in range(0, n, batch):
            x, y = _as_batch(chunks[i : i + batch])
            logits = model(x)
            total += F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1), reduction="sum").item()
    return total / (n * T) / math.log(2)


def train(
    out: str | None = None,
    *,
    steps: int = 7000,
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
    max_minutes: float = 23.0,
    eval_every: int = 250,
    log=print,
) -> dict:
    """Train a :class:`ByteGPT` on the offline corpus and save it (if ``out``) as safetensors.

    Returns the recipe dict (also stored in the weights' metadata): hyper-parameters, data
    sizes, steps done, wall time, final train and held-out loss per source in bits/byte.
    ``max_minutes`` stops early (recorded as ``stopped_early``) if the machine is slower than
    planned, so a run never exceeds its wall-time budget.
    """
    import torch
    from torch.nn import functional as F

    from kcomp.lm_coder.data import load_corpus
    from kcomp.lm_coder.model import ByteGPT, ModelConfig
    from kcomp.lm_coder.weights import save_model

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    cfg = ModelConfig(**(config or DEFAULT_CONFIG))
    mix = dict(mix or DEFAULT_MIX)
    t_load = time.time()
    corpus = load_corpus(mix)
    train_arrays = {k: np.frombuffer(s.train, dtype=np.uint8) for k, s in corpus.items()}
    names = sorted(mix)
    probs = np.array([mix[n] for n in names], dtype=np.float64)
    probs /= probs.sum()
    log(
        "corpus (train / held-out bytes): "
        + ", ".join(f"{k}={len(s.train)}/{len(s.held_out)}" for k, s in corpus.items())
        + f" [{time.time() - t_load:.1f}s]"
    )

    model = ByteGPT(cfg)
    log(f"model {cfg} with {model.num_params():,} parameters")
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.95),
    )

    def lr_at(step: int) -> float:
        if step < warmup:
            return lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return lr * (min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))

    history = []
    t0 = time.time()
    done = 0
    stopped_early = False
    ema = None
    for step in range(steps):
        if (time.time() - t0) / 60.0 > max_minutes:
            stopped_early = True
            log(f"stopping early at step {step}: {max_minutes} minutes used")
            break
        model.train()
        seq_len = min(cfg.block_size, [n for f, n in seq_schedule if step >= f * steps][-1])
        batch_size = max(1, tokens_per_step // seq_len)
        which = rng.choice(len(names), size=batch_size, p=probs)
        rows = [_windows(rng, train_arrays[names[w]], 1, seq_len)[0] for w in which]
        x, y = _as_batch(np.stack(rows))
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, 256), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        done = step + 1
        bits = loss.item() / math.log(2)
        ema = bits if ema is None else 0.98 * ema + 0.02 * bits
        if step % 50 == 0 or step == steps - 1:
            log(f"step {step:5d}  loss {bits:.3f} bits/byte (ema {ema:.3f})  lr {lr_at(step):.2e}  "
                f"len {seq_len}x{batch_size}  {time.time() - t0:.0f}s")
        if eval_every and step > 0 and step % eval_every == 0:
            held = {k: round(evaluate(model, s.held_out, max_chunks=16), 4) for k, s in corpus.items()}
            history.append({"step": step, "train_ema": round(ema, 4), "held_out": held})
            log(f"  held-out bits/byte: {held}")
    wall = time.time() - t0

    final_train = {k: round(evaluate(model, s.train[len(s.train) // 2 :]), 4) for k, s in corpus.items()}
    final_held = {k: round(evaluate(model, s.held_out), 4) for k, s in corpus.items()}
    log(f"final train bits/byte (32 chunks each): {final_train}")
    log(f"final held-out bits/byte (first 32 chunks each): {final_held}")
    recipe = {
        "config": asdict(cfg),
        "params": model.num_params(),
        "steps": steps,
        "steps_done": done,
        "stopped_early": stopped_early,
        "tokens_per_step": tokens_per_step,
        "seq_schedule": [list(x) for x in seq_schedule],
        "tokens_seen": done * tokens_per_step,
        "lr": lr,
        "min_lr_ratio": min_lr_ratio,
        "warmup": warmup,
        "weight_decay": weight_decay,
        "seed": seed,
        "threads": threads,
        "mix": mix,
        "corpus_bytes": {k: {"train": len(s.train), "held_out": len(s.held_out)} for k, s in corpus.items()},
        "wall_seconds": round(wall, 1),
        "torch": torch.__version__,
        "final_train_bits_per_byte": final_train,
        "final_held_out_bits_per_byte": final_held,
        "history": history,
    }
    if out is not None:
        model.eval()
        path = save_model(model, out, recipe)
        log(f"saved {path}")
    return recipe


def main(argv=None) -> int:
    from kcomp.lm_coder.weights import DEFAULT_WEIGHTS, WEIGHTS_DIR

    ap = argparse.ArgumentParser(prog="python -m kcomp.lm_coder.train", description=__doc__.split("\n\n")[0])
    add_train_arguments(ap)
    args = ap.parse_args(argv)
    return run_from_args(args, default_out=str(WEIGHTS_DIR / f"{DEFAULT_WEIGHTS}.safetensors"))


def add_train_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--out", default=None, help="weights file to write (default: the shipped weights path)")
    ap.add_argument("--steps", type=int, default=7000)
    ap.add_argument("--tokens-per-step", type=int, default=2048)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-minutes", type=float, default=23.0)
    ap.add_argument("--config", default=None, help="ModelConfig as JSON, e.g. '{\"n_layer\": 2}' (merged into the default)")
    ap.add_argument("--recipe-json", default=None, help="also write the recipe/results JSON here")


def run_from_args(args, default_out: str) -> int:
    config = dict(DEFAULT_CONFIG)
    if args.config:
        config.update(json.loads(args.config))
    recipe = train(
        args.out or default_out,
        steps=args.steps,
        tokens_per_step=args.tokens_per_step,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        max_minutes=args.max_minutes,
        config=config,
        log=lambda m: print(m, flush=True),
    )
    if args.recipe_json:
        with open(args.recipe_json, "w") as fh:
            json.dump(recipe, fh, indent=2, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
