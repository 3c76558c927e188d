"""Neural compressor ``lm``: arithmetic coding with a small byte-level transformer.

``lm`` uses the pretrained weights shipped in ``kcomp/lm_coder/weights``; ``lm:adapt`` starts from
them and keeps learning on the data it codes (dynamic evaluation); ``lm:online`` starts from a
seeded random init and learns while it codes (prequential code length, no weights).
Extra flags: ``cpu`` / ``cuda`` pin the device (default: CUDA when present). Needs the ``lm``
extra (torch, constriction, safetensors); none of them is imported until the codec is used.
"""

from __future__ import annotations

import importlib.util

from kcomp.compressors.registry import refuse_flags, register
from kcomp.errors import UnknownCompressorError

_NEEDS = ("torch", "constriction", "safetensors")


def availability() -> str | None:
    missing = [m for m in _NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        return f"missing {', '.join(missing)}: pip install 'kcomp[lm]'"
    return None


def _make(level=None, flags=(), headerless=False):
    refuse_flags("lm", tuple(flags), ("online", "adapt", "cpu", "cuda"))
    if level is not None:
        raise UnknownCompressorError("lm: takes no level (use 'lm', 'lm:adapt' or 'lm:online')")
    if "online" in flags and "adapt" in flags:
        raise UnknownCompressorError("lm: give at most one of 'online' and 'adapt'")
    if "cpu" in flags and "cuda" in flags:
        raise UnknownCompressorError("lm: give at most one of 'cpu' and 'cuda'")
    device = "cpu" if "cpu" in flags else "cuda" if "cuda" in flags else "auto"
    from kcomp.lm_coder.compressor import LMCompressor

    return LMCompressor(online="online" in flags, adapt="adapt" in flags, device=device, headerless=headerless)


register(
    "lm",
    _make,
    "byte-level transformer + arithmetic coding; 'lm' = shipped weights, 'lm:adapt' = shipped weights "
    "that keep learning while coding, 'lm:online' = learns from scratch while coding",
    availability=availability,
)
