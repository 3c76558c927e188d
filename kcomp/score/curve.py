"""Prequential learning curve: code length per byte as an adaptive model sees more data."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kcomp.compressors import Compressor, get_compressor
from kcomp.errors import InputError
from kcomp.score.fit import PowerLawFit, fit_power_law


@dataclass
class LearningCurve:
    """Code length per byte (bits) as the data is seen, and its power-law fit."""

    compressor: str
    n: list[float]  #: position (bytes seen), geometric middle of each grid interval
    bits_per_byte: list[float]  #: marginal cost of the bytes in that interval, per byte
    grid: list[int]  #: prefix lengths where C(prefix) was measured
    bytes_used: int
    n_samples_used: int
    fit: PowerLawFit | None
    method: str
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["fit"] = None if self.fit is None else self.fit.to_dict()
        return d


def _prefix_costs(comp: Compressor, stream: bytes, grid: np.ndarray) -> tuple[np.ndarray, str]:
    """Cumulative code length (bits) at each grid position, and how it was measured."""
    if comp.prequential:
        cum = np.concatenate([[0.0], np.cumsum(np.asarray(comp.prequential_code_lengths(stream), dtype=float))])
        return cum[grid], f"{comp.spec}: per-position prequential code lengths summed over a geometric grid"
    sizes = [0.0]
    for g in grid[1:]:
        full, framing = comp.size_and_framing_bits(stream[:g])
        sizes.append(full - framing)
    return np.asarray(sizes), (f"{comp.spec}: marginal cost C(prefix + next) - C(prefix) over a geometric grid "
                               f"of {len(grid) - 1} prefixes (framing removed)")


def prequential_curve(stream: bytes, compressor: str | Compressor, *, points: int = 24,
                      min_prefix: int = 1024, n_samples: int = 0) -> LearningCurve:
    """Marginal code length per byte of ``stream`` over a geometric grid of prefixes.

    L at interval [n_k, n_{k+1}) is ``(C(stream[:n_{k+1}]) - C(stream[:n_k])) / (n_{k+1} - n_k)``:
    the cost of the new bytes given everything before (prequential / online coding), for any
    adaptive codec; framing cancels in the difference. A ``prequential`` compressor (one that
    learns while coding, e.g. ``lm:online``) gives per-position code lengths in one pass instead.
    """
    comp = get_compressor(compressor)
    total = len(stream)
    lo = max(min(min_prefix, total // 64), 64)
    if total < 4 * lo or total < 512:
        raise InputError(f"a learning curve needs at least {max(4 * lo, 512)} bytes, got {total}")
    grid = np.unique(np.round(np.geomspace(lo, total, points + 1)).astype(np.int64))
    grid = np.concatenate([[0], grid])
    sizes, method = _prefix_costs(comp, stream, grid)
    widths = np.diff(grid).astype(float)
    rate = np.diff(sizes) / widths
    mid = np.sqrt(np.maximum(grid[:-1], 1) * grid[1:].astype(float))
    mid[0] = grid[1] / 2.0  # first interval starts at 0
    # the first interval (from an empty model) is kept in the curve but not in the fit: it
    # averages over too wide a range of n to sit at one position
    fit, note = None, ""
    try:  # the mean cost of w bytes has variance ~ 1/w: weight wide intervals more
        fit = fit_power_law(mid[1:], rate[1:], sigma=1.0 / np.sqrt(widths[1:]))
    except InputError as exc:
        note = str(exc)
    return LearningCurve(comp.spec, mid.tolist(), rate.tolist(), grid[1:].tolist(), total, n_samples, fit,
                         method, note)
