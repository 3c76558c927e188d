"""``kcomp train``: train the lm coder's weights."""

from __future__ import annotations

from pathlib import Path


def cmd_train(args) -> int:
    """Train weights into the working directory (never into the package): use them with
    ``-c lm:weights=PATH`` in any command."""
    from kcomp.lm_coder.train import run_from_args

    return run_from_args(args, default_out=str(Path.cwd() / f"byte-gpt-{args.size}.safetensors"))


def add_parser(sub) -> None:
    from kcomp.lm_coder.train import add_train_arguments

    p = sub.add_parser("train", help="train lm weights on the offline corpus (the shipped family's recipe)",
                       description="Train the lm coder's byte-level transformer (see kcomp/lm_coder/README.md). "
                       "CPU at 1 thread by default; --size picks the model (large: about 14 CPU-minutes). Writes to the working "
                       "directory unless --out says otherwise; any command then uses the weights with -c lm:weights=PATH.")
    add_train_arguments(p)
    p.set_defaults(func=cmd_train)
