"""The power law ``L(n) = E + A n^-b`` of a learning curve, fitted with scipy, and whether the
fit can be trusted (a fit at a bound, with a standard error larger than its value, zero
errors, or R^2 < 0.9 is reported as unreliable, with the reason)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from kcomp.errors import InputError

B_BOUNDS = (1e-4, 5.0)  #: bounds of the exponent b
MIN_R2 = 0.9  #: below this the fit does not describe the curve


@dataclass
class PowerLawFit:
    """``L(n) = E + A * n**-b`` fitted by least squares; ``*_se`` are standard errors."""

    E: float
    A: float
    b: float
    E_se: float
    A_se: float
    b_se: float
    r2: float
    n_points: int
    method: str = "scipy.optimize.curve_fit (weighted when sigma is given); std errors from the covariance matrix"

    def predict(self, n) -> np.ndarray:
        return self.E + self.A * np.asarray(n, dtype=float) ** (-self.b)

    def unreliable_reasons(self) -> list[str]:
        """Why the fitted parameters should not be read as results (empty when the fit is sound)."""
        reasons = []
        params = {"E": (self.E, self.E_se), "A": (self.A, self.A_se), "b": (self.b, self.b_se)}
        at_bound = [k for k, v in (("E", self.E), ("A", self.A)) if v <= 1e-6]
        at_bound += ["b"] if np.isclose(self.b, B_BOUNDS[0]) or np.isclose(self.b, B_BOUNDS[1]) else []
        if at_bound:
            reasons.append(f"{', '.join(at_bound)} at the bound of the fit")
        if all(se == 0.0 for _, se in params.values()):
            reasons.append("zero standard errors (degenerate covariance)")
        else:
            loose = [k for k, (v, se) in params.items() if not np.isfinite(se) or se > abs(v)]
            if loose:
                reasons.append(f"standard error larger than the value for {', '.join(loose)}")
        if not self.r2 >= MIN_R2:
            reasons.append(f"R² = {self.r2:.3f} < {MIN_R2}")
        return reasons

    @property
    def reliable(self) -> bool:
        return not self.unreliable_reasons()

    def to_dict(self) -> dict:
        return dict(asdict(self), reliable=self.reliable, unreliable_reasons=self.unreliable_reasons())


def _power_law(n, E, A, b):
    return E + A * np.power(n, -b)


def fit_power_law(n: Sequence[float], L: Sequence[float], *, sigma: Sequence[float] | None = None) -> PowerLawFit:
    """Fit ``L(n) = E + A n^-b`` (E, A >= 0, 0 < b <= 5) with scipy's curve_fit.

    Standard errors are the square roots of the covariance diagonal (inf when the fit is
    degenerate, e.g. a flat curve where b is unidentifiable). Raises InputError for fewer
    than 4 finite points or when no start converges.
    """
    from scipy.optimize import curve_fit

    n = np.asarray(n, dtype=float)
    L = np.asarray(L, dtype=float)
    ok = np.isfinite(n) & np.isfinite(L) & (n > 0)
    n, L = n[ok], L[ok]
    if n.size < 4:
        raise InputError(f"a power-law fit needs at least 4 points, got {n.size}")
    sig = None if sigma is None else np.asarray(sigma, dtype=float)[ok]
    order = np.argsort(n)
    n, L = n[order], L[order]
    if sig is not None:
        sig = sig[order]
    E0 = max(float(L.min()) * 0.9, 0.0)
    best = None
    for b0 in (0.2, 0.5, 1.0, 2.0):  # a few starts: the loss surface is not convex in b
        A0 = max(float(L[0] - E0) * n[0] ** b0, 1e-9)
        try:
            popt, pcov = curve_fit(_power_law, n, L, p0=(E0, A0, b0), sigma=sig,
                                   bounds=([0.0, 0.0, B_BOUNDS[0]], [np.inf, np.inf, B_BOUNDS[1]]), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        resid = L - _power_law(n, *popt)
        sse = float(np.sum(resid**2 if sig is None else (resid / sig) ** 2))
        if best is None or sse < best[0]:
            best = (sse, popt, pcov)
    if best is None:
        raise InputError("the power-law fit did not converge")
    _, popt, pcov = best
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(pcov)) if np.all(np.isfinite(pcov)) else np.full(3, np.inf)
    se = np.where(np.isfinite(se), se, np.inf)
    resid = L - _power_law(n, *popt)
    ss_tot = float(np.sum((L - L.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid**2)) / ss_tot if ss_tot > 0 else 1.0
    return PowerLawFit(float(popt[0]), float(popt[1]), float(popt[2]), float(se[0]), float(se[1]),
                       float(se[2]), r2, int(n.size))
