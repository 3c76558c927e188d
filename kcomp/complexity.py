"""Kolmogorov-complexity estimates from a real compressor C, all in **bits**.

K(x) ~ C(x); K(x,y) ~ C(x . sep . y); K(y|x) ~ C(x . sep . y) - C(x);
I(x:y) ~ C(x) + C(y) - C(x . sep . y); NCD(x,y) = (C(xy) - min(C(x),C(y))) / max(C(x),C(y)).

The separator defaults to a single space, as in Jiang et al. (2023) and npc-gzip, so NCD
values match theirs exactly for gzip. ``symmetric=True`` uses min(C(xy), C(yx)): compressors
are not symmetric, and the min is the tighter upper bound on K(x,y).
"""

from __future__ import annotations

from kcomp._inputs import as_bytes
from kcomp.compressors import Compressor, get_compressor
from kcomp.constants import DEFAULT_COMPRESSOR, DEFAULT_SEPARATOR
from kcomp.errors import InputError


def _prepare(x, y, sep):
    if isinstance(x, str) != isinstance(y, str) and isinstance(x, (str, bytes)) and isinstance(y, (str, bytes)):
        raise InputError("x and y mix str and bytes; pass both as str (UTF-8) or both as bytes")
    return as_bytes(x, name="x"), as_bytes(y, name="y"), as_bytes(sep, name="separator")


def K(x: str | bytes, compressor: str | Compressor = DEFAULT_COMPRESSOR) -> float:
    """C(x): compressed size of x in bits, an upper bound on K(x) (up to a constant)."""
    return get_compressor(compressor).size_bits(as_bytes(x, name="x"))


def K_joint(
    x: str | bytes,
    y: str | bytes,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
) -> float:
    """C(x + separator + y) in bits; with ``symmetric`` the min over both orders."""
    c = get_compressor(compressor)
    xb, yb, sep = _prepare(x, y, separator)
    xy = c.size_bits(xb + sep + yb)
    return min(xy, c.size_bits(yb + sep + xb)) if symmetric else xy


def K_cond(
    y: str | bytes,
    x: str | bytes,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
) -> float:
    """K(y|x) ~ C(x + sep + y) - C(x) in bits: the cost of y once x is known."""
    c = get_compressor(compressor)
    xb, yb, sep = _prepare(x, y, separator)
    return c.size_bits(xb + sep + yb) - c.size_bits(xb)


def mutual_information(
    x: str | bytes,
    y: str | bytes,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = True,
) -> float:
    """I(x:y) ~ C(x) + C(y) - C(x,y) in bits (symmetric joint by default)."""
    c = get_compressor(compressor)
    xb, yb, sep = _prepare(x, y, separator)
    return c.size_bits(xb) + c.size_bits(yb) - K_joint(xb, yb, c, separator=sep, symmetric=symmetric)


def ncd_from_sizes(cx: float, cy: float, cxy: float) -> float:
    """NCD from sizes: (C(xy) - min(C(x), C(y))) / max(C(x), C(y)); 0 when both are empty."""
    hi = max(cx, cy)
    return 0.0 if hi == 0 else (cxy - min(cx, cy)) / hi


def ncd(
    x: str | bytes,
    y: str | bytes,
    compressor: str | Compressor = DEFAULT_COMPRESSOR,
    *,
    separator: str | bytes = DEFAULT_SEPARATOR,
    symmetric: bool = False,
) -> float:
    """Normalized compression distance, joint C(x + sep + y) (or the min of both orders).

    About 0 for identical inputs, about 1 (slightly above for real compressors) for unrelated.
    """
    c = get_compressor(compressor)
    xb, yb, sep = _prepare(x, y, separator)
    return ncd_from_sizes(c.size_bits(xb), c.size_bits(yb), K_joint(xb, yb, c, separator=sep, symmetric=symmetric))
