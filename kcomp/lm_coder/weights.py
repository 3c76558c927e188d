"""Saving and loading model weights as safetensors (no pickle), with the config in the metadata.

A weights file holds the float32 tensors of a :class:`ByteGPT` and string metadata:

* ``format`` = ``kcomp-lm/1``
* ``config`` = the :class:`ModelConfig` as JSON
* ``recipe`` (optional) = JSON describing how the weights were trained (data, steps, losses)

The *model id* written into every ``lm`` stream is the first 8 bytes of a SHA-256 over the
config JSON and every tensor (name, shape, raw bytes), so a stream decoded with other weights is
refused before any byte is produced.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from kcomp.errors import KcompError

FORMAT = "kcomp-lm/1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: the weights `lm` uses unless told otherwise (the coder reads this one constant):
#: byte-gpt-large-48m (4 x 96, 48M training bytes) with its key/value heads pooled into one
#: (multi-query attention) and trained on for 12M more bytes: the coder's key/value cache, read at
#: every step, is 4x smaller, so it codes ~1.5x faster for ~1 point of ratio (held-out prose
#: 8.5-16% below ppmd; bench/lm_coder.py). weights="byte-gpt-large-48m" is that stronger, slower model.
DEFAULT_WEIGHTS = "byte-gpt-large-mqa"


class WeightsError(KcompError, ValueError):
    """A weights file is missing, not safetensors, or does not fit the model it declares."""


def model_id(model) -> bytes:
    """8-byte fingerprint of a model's config and weights."""
    h = hashlib.sha256()
    h.update(model.config.to_json().encode("utf-8"))
    for name, tensor in sorted(model.state_dict().items()):
        arr = tensor.detach().to("cpu").contiguous().numpy()
        h.update(name.encode("utf-8"))
        h.update(repr(tuple(arr.shape)).encode("ascii"))
        h.update(str(arr.dtype).encode("ascii"))
        h.update(arr.tobytes())
    return h.digest()[:8]


def save_model(model, path: str | os.PathLike, recipe: dict | None = None) -> Path:
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": model.config.to_json()}
    if recipe is not None:
        meta["recipe"] = json.dumps(recipe, sort_keys=True)
    save_file(tensors, str(path), metadata=meta)
    return path


def weights_path(name: str) -> Path:
    """Where the shipped weights called ``name`` live: ``kcomp/lm_coder/weights/<name>.safetensors``."""
    return WEIGHTS_DIR / f"{name}.safetensors"


def resolve_weights(name_or_path: str | os.PathLike | None) -> Path:
    """A bare name means ``kcomp/lm_coder/weights/<name>.safetensors``; anything else is a path."""
    if name_or_path is None:
        name_or_path = DEFAULT_WEIGHTS
    p = Path(name_or_path)
    if p.suffix != ".safetensors" and os.sep not in str(name_or_path) and "/" not in str(name_or_path):
        p = weights_path(str(name_or_path))
    return p


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as fh:  # metadata only: no torch needed
            return dict(fh.metadata() or {})
    except Exception as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") from exc


def load_model(name_or_path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a :class:`ByteGPT` from safetensors weights (bare name: shipped weights)."""
    from safetensors.torch import load_file

    from kcomp.lm_coder.model import ByteGPT, ModelConfig

    path = resolve_weights(name_or_path)
    if not path.exists():
        shipped = sorted(p.stem for p in WEIGHTS_DIR.glob("*.safetensors"))
        raise WeightsError(
            f"weights {str(name_or_path or DEFAULT_WEIGHTS)!r} not found at {path}; shipped weights: {', '.join(shipped) or 'none'}"
            " (train some with `python -m kcomp.lm_coder.train`)"
        )
    meta = read_metadata(path)
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: metadata format is {meta.get('format')!r}, expected {FORMAT!r}")
    try:
        config = ModelConfig.from_json(meta["config"])
    except Exception as exc:
        raise WeightsError(f"{path}: invalid model config in metadata ({exc})") from exc
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise WeightsError(f"{path}: cannot read tensors ({type(exc).__name__}: {exc})") from exc
    model = ByteGPT(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path}: tensors do not match the declared config; missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    for name, ref in expected.items():
        got = tensors[name]
        if tuple(got.shape) != tuple(ref.shape):
            raise WeightsError(
                f"{path}: tensor {name!r} has shape {tuple(got.shape)}, the config {config} needs {tuple(ref.shape)}"
            )
        if got.dtype != ref.dtype:
            raise WeightsError(f"{path}: tensor {name!r} has dtype {got.dtype}, expected {ref.dtype}")
        if not np.isfinite(got.numpy()).all():
            raise WeightsError(f"{path}: tensor {name!r} holds NaN or infinite values")
    model.load_state_dict(tensors)
    model.eval()
    return model.to(device)
