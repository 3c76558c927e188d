"""Subadditivity check: does a compressor find the information two inputs share?

Kolmogorov complexity is subadditive, K(x,y) <= K(x) + K(y) + O(log), and the gap
K(x) + K(y) - K(x,y) is the (algorithmic) mutual information I(x:y). A real compressor C gives

* ``c_hat = C(XY) - C(X) - C(Y)``: negative when coding X and Y together saves bits;
* ``I(X:Y) ~ C(X) + C(Y) - min(C(XY), C(YX))`` (the symmetric estimate);
* ``NCD(X, Y) = (C(XY) - min(C(X), C(Y))) / max(C(X), C(Y))``;
* ``Y|X = C(XY) - C(X)``: the cost of Y after the codec has seen X, vs ``C(Y)`` alone.

X and Y are concatenated directly (no separator). Two **controls** show what "no shared
information" looks like for the same codec and sizes: Y replaced by random bytes of the same
length, and by a random shuffle of Y's bytes (same byte histogram, structure destroyed). A real
shared-information signal must stand clear of both. A codec only sees ``window`` bytes of
history: when X is longer than that, C(XY) cannot use most of X while coding Y and the savings
shrink toward zero - a property of the codec (gzip: 32 KB), not of the data; a warning says so.
``sizes`` sweeps prefixes X[:s], Y[:s] to show the savings as the inputs grow. With the online
``lm`` compressor (``lm:online``), ``Y|X`` is literally a model that learned on X and then
codes Y, against the same model learning on Y alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kcomp._inputs import as_bytes
from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError
from kcomp._json import json_safe
from kcomp.score.pricing import compressor_usable
from kcomp.score.report import human as _human
from kcomp.score.report import subadd_markdown, subadd_plots

DEFAULT_COMPRESSORS = ("gzip", "zstd:19", "brotli:11", "lzma")
#: lm:online joins the defaults only up to this len(X) + len(Y): it codes ~10 KB/s on a CPU and
#: the check compresses X+Y about 6 times (pass it explicitly to run it on larger inputs)
LM_DEFAULT_MAX_BYTES = 96 << 10


def default_compressors(total_bytes: int = 0) -> list[str]:
    """gzip, zstd:19, brotli:11, lzma; plus ``lm:online`` when it is usable and the inputs are small."""
    extra = total_bytes <= LM_DEFAULT_MAX_BYTES and compressor_usable("lm:online")
    return list(DEFAULT_COMPRESSORS) + (["lm:online"] if extra else [])


@dataclass
class PairMeasure:
    """All sizes in bits for one (X, Y) pair under one compressor."""

    C_x: float
    C_y: float
    C_xy: float
    C_yx: float
    c_hat: float  #: C(XY) - C(X) - C(Y): < 0 means joint coding saves bits
    mutual_information: float  #: C(X) + C(Y) - min(C(XY), C(YX))
    ncd: float
    y_given_x: float  #: C(XY) - C(X): cost of Y after X
    savings_fraction: float  #: mutual_information / min(C(X), C(Y))

    def to_dict(self) -> dict:
        return asdict(self)


def measure_pair(comp: Compressor, x: bytes, y: bytes) -> PairMeasure:
    """C(X), C(Y), C(XY), C(YX) and the quantities derived from them, in bits."""
    cx, cy = comp.size_bits(x), comp.size_bits(y)
    cxy, cyx = comp.size_bits(x + y), comp.size_bits(y + x)
    mi = cx + cy - min(cxy, cyx)
    hi, lo = max(cx, cy), min(cx, cy)
    return PairMeasure(cx, cy, cxy, cyx, cxy - cx - cy, mi, (cxy - lo) / hi if hi else 0.0, cxy - cx,
                       mi / lo if lo else 0.0)


@dataclass
class CompressorSubadditivity:
    spec: str
    window: int | None
    pair: PairMeasure
    random_control: PairMeasure  #: Y replaced by random bytes of the same length
    shuffle_control: PairMeasure  #: Y replaced by a shuffle of its bytes
    exceeds_window: bool
    sweep: list[dict] = field(default_factory=list)  #: per size: size, I, I_random, I_shuffle

    def to_dict(self) -> dict:
        d = asdict(self)
        return d

    @property
    def signal_over_controls(self) -> float:
        """I(X:Y) minus the larger of the two controls' I, in bits."""
        return self.pair.mutual_information - max(self.random_control.mutual_information,
                                                  self.shuffle_control.mutual_information)


@dataclass
class SubadditivityResult:
    x_label: str
    y_label: str
    x_bytes: int
    y_bytes: int
    seed: int
    results: list[CompressorSubadditivity]
    warnings: list[str] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return json_safe({
            "x": self.x_label, "y": self.y_label, "x_bytes": self.x_bytes, "y_bytes": self.y_bytes,
            "seed": self.seed, "units": "bits",
            "compressors": [dict(r.to_dict(), signal_over_controls=r.signal_over_controls) for r in self.results],
            "warnings": list(self.warnings), "plots": list(self.plots),
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def to_markdown(self) -> str:
        return subadd_markdown(self)

    def plot(self, directory: str | Path, *, prefix: str = "subadd") -> list[str]:
        """Bar chart of I(X:Y) vs the controls per compressor (bits), and savings vs size if swept."""
        self.plots = subadd_plots(self, Path(directory), prefix)
        return self.plots


def _load(v, name: str) -> tuple[bytes, str]:
    """A Path is read as a file (raw bytes); str (UTF-8) and bytes are the data itself."""
    if isinstance(v, Path):
        if v.is_dir():
            raise InputError(f"{name}: {v} is a directory; pass a file")
        if not v.is_file():
            raise InputError(f"{name}: {v}: no such file")
        return v.read_bytes(), str(v)
    b = as_bytes(v, name=name)
    return b, f"<{len(b):,} bytes>"


def subadditivity(
    x: str | bytes | Path,
    y: str | bytes | Path,
    compressors: Sequence[str | Compressor] | None = None,
    sizes: Sequence[int] | None = None,
    seed: int = 0,
) -> SubadditivityResult:
    """Measure C(X), C(Y), C(XY), C(YX), c_hat, I(X:Y) and NCD per compressor, with controls.

    ``x``/``y``: bytes, str (encoded as UTF-8), or a :class:`pathlib.Path` to a file (read as bytes).
    ``compressors``: default gzip, zstd:19, brotli:11, lzma, plus ``lm:online`` when it is usable
    and len(X) + len(Y) <= 96 KiB. ``sizes``: prefix sizes in bytes for a
    savings-vs-size sweep (each clipped to the shorter input). ``seed`` fixes the controls.
    """
    xb, xl = _load(x, "x")
    yb, yl = _load(y, "y")
    if not xb or not yb:
        raise InputError(f"X and Y must be non-empty (got {len(xb)} and {len(yb)} bytes)")
    warnings: list[str] = []
    specs = default_compressors(len(xb) + len(yb)) if compressors is None else list(compressors)
    if compressors is None and "lm:online" not in specs and len(xb) + len(yb) > LM_DEFAULT_MAX_BYTES \
            and compressor_usable("lm:online"):
        warnings.append(f"lm:online left out of the defaults: X + Y is {_human(len(xb) + len(yb))} > "
                        f"{_human(LM_DEFAULT_MAX_BYTES)} (slow on a CPU); pass it explicitly to include it")
    if not specs:
        raise InputError("at least one compressor is needed")
    comps = [get_compressor(c) for c in specs]
    rng = np.random.default_rng(seed)
    y_rand = rng.integers(0, 256, size=len(yb), dtype=np.uint8).tobytes()
    y_shuf = rng_shuffle(yb, seed)
    if xb == yb:
        warnings.append("X and Y are identical: I(X:Y) is then about C(X) (up to the codec's window)")
    size_list: list[int] = []
    if sizes:
        cap = min(len(xb), len(yb))
        for s in sizes:
            if not isinstance(s, (int, np.integer)) or s < 1:
                raise InputError(f"sizes must be positive ints (bytes), got {s!r}")
            size_list.append(int(min(s, cap)))
        size_list = sorted(set(size_list))
        if any(s > cap for s in sizes):
            warnings.append(f"sizes above the shorter input ({cap:,} B) were clipped to it")
    results = []
    for c in comps:
        exceeds = c.window is not None and max(len(xb), len(yb)) > c.window
        if exceeds:
            warnings.append(
                f"{c.spec}: X or Y ({_human(max(len(xb), len(yb)))}) exceeds the codec's {_human(c.window)} window: "
                "while coding Y, C(XY) only sees the last window of X, so the measured savings shrink or vanish "
                "for large inputs - a property of the codec, not of the data")
        sweep = []
        for s in size_list:
            xs, ys = xb[:s], yb[:s]
            m = measure_pair(c, xs, ys)
            mr = measure_pair(c, xs, y_rand[:s])
            ms = measure_pair(c, xs, rng_shuffle(ys, seed))
            sweep.append({"size": s, "I": m.mutual_information, "I_random": mr.mutual_information,
                          "I_shuffle": ms.mutual_information, "savings_fraction": m.savings_fraction,
                          "savings_fraction_random": mr.savings_fraction, "ncd": m.ncd,
                          "exceeds_window": c.window is not None and s > c.window})
        results.append(CompressorSubadditivity(
            spec=c.spec, window=c.window, pair=measure_pair(c, xb, yb),
            random_control=measure_pair(c, xb, y_rand), shuffle_control=measure_pair(c, xb, y_shuf),
            exceeds_window=exceeds, sweep=sweep))
    return SubadditivityResult(xl, yl, len(xb), len(yb), seed, results, warnings)


def rng_shuffle(data: bytes, seed: int) -> bytes:
    """A seeded random permutation of the bytes of ``data``."""
    return np.random.default_rng(seed).permutation(np.frombuffer(data, dtype=np.uint8)).tobytes()


__all__ = ["CompressorSubadditivity", "PairMeasure", "SubadditivityResult", "measure_pair", "subadditivity"]
