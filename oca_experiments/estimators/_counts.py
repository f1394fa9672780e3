"""Count outcomes: ``log1p`` transform and Poisson pseudo-maximum likelihood (PPML) with absorbed fixed effects.

PPML is fitted by iteratively reweighted least squares, each step a weighted within-transformation by alternating
projections (the method of fixest's ``fepois``). Units or periods whose outcome is zero throughout carry no
information for PPML and are dropped first, as fixest does. Standard errors are cluster-robust (CR1) with fixest's
small-sample factor, so that the results agree with pyfixest's ``fepois`` (the tests check this).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import EstimationError

__all__ = ["log1p_counts", "fit_ppml", "PpmlFit"]


def log1p_counts(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """log(1 + y) for counts y >= 0 (NaN stays NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if np.any(values[np.isfinite(values)] < 0):
        raise EstimationError("log1p needs non-negative counts")
    return np.log1p(values)


@dataclass(frozen=True)
class PpmlFit:
    params: NDArray[np.float64]
    vcov: NDArray[np.float64]
    n_obs: int
    n_clusters: int
    n_dropped: int
    iterations: int


def _weighted_demean(matrix: NDArray[np.float64], weights: NDArray[np.float64], codes: list[NDArray[np.intp]],
                     sizes: list[int], tol: float, max_iter: int = 10_000) -> NDArray[np.float64]:
    out = matrix.copy()
    sums_w = [np.bincount(c, weights=weights, minlength=s) for c, s in zip(codes, sizes, strict=True)]
    for _ in range(max_iter):
        largest = 0.0
        for c, s, sw in zip(codes, sizes, sums_w, strict=True):
            for j in range(out.shape[1]):
                means = np.bincount(c, weights=weights * out[:, j], minlength=s) / sw
                out[:, j] -= means[c]
                largest = max(largest, float(np.abs(means).max()))
        if len(codes) == 1 or largest < tol:
            break
    return out


def _drop_all_zero(y: NDArray[np.float64], codes: list[NDArray[np.intp]]) -> NDArray[np.bool_]:
    keep = np.ones(y.size, dtype=bool)
    while True:
        changed = False
        for c in codes:
            total = np.bincount(c[keep], weights=y[keep], minlength=int(c.max()) + 1)
            bad = keep & (total[c] <= 0)
            if bad.any():
                keep &= ~bad
                changed = True
        if not changed:
            return keep


def fit_ppml(y: NDArray[np.float64], x: NDArray[np.float64], *, fixed_effects: list[NDArray], clusters: NDArray,
             tol: float = 1e-10, max_iter: int = 200) -> PpmlFit:
    """Poisson pseudo-likelihood of ``y`` (>= 0) on ``x`` with absorbed ``fixed_effects``; CR1 by ``clusters``."""
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64).reshape(y.size, -1)
    if np.any(y < 0) or not np.all(np.isfinite(y)):
        raise EstimationError("PPML needs finite outcomes >= 0")
    raw_codes = [np.unique(np.asarray(f), return_inverse=True)[1].astype(np.intp) for f in fixed_effects]
    keep = _drop_all_zero(y, raw_codes)
    n_dropped = int((~keep).sum())
    y, x = y[keep], x[keep]
    codes, sizes = [], []
    for c in raw_codes:
        _, inv = np.unique(c[keep], return_inverse=True)
        codes.append(inv.astype(np.intp))
        sizes.append(int(inv.max()) + 1)
    cl = np.unique(np.asarray(clusters)[keep], return_inverse=True)[1]
    n, k = x.shape
    mu = (y + y.mean()) / 2  # fixest's starting values
    eta = np.log(mu)
    beta = np.zeros(k)
    deviance_old = np.inf
    iterations = 0
    for iterations in range(1, max_iter + 1):
        z = eta + (y - mu) / mu
        demeaned = _weighted_demean(np.column_stack([z, x]), mu, codes, sizes, tol=min(1e-8, tol * 1e-2))
        z_t, x_t = demeaned[:, 0], demeaned[:, 1:]
        xw = x_t * mu[:, None]
        beta = np.linalg.solve(xw.T @ x_t, xw.T @ z_t)
        resid = z_t - x_t @ beta
        eta = z - resid
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            deviance = 2 * float(np.sum(np.where(y > 0, y * np.log(y / mu), 0.0) - (y - mu)))
        if abs(deviance - deviance_old) / (0.1 + abs(deviance)) < tol:
            break
        deviance_old = deviance
    else:
        raise EstimationError("PPML did not converge", fix="check for outcomes that separate the fixed effects")
    # Sandwich with the final weighted within-transformation.
    demeaned = _weighted_demean(x, mu, codes, sizes, tol=1e-12)
    bread = np.linalg.inv((demeaned * mu[:, None]).T @ demeaned)
    n_cl = int(cl.max()) + 1
    scores = np.zeros((n_cl, k))
    for j in range(k):
        scores[:, j] = np.bincount(cl, weights=demeaned[:, j] * (y - mu), minlength=n_cl)
    # fixest: fixed effects nested in the clusters cost no degree of freedom.
    nested = [_nested(c, cl) for c in codes]
    k_full = k + sum(sizes) - (len(codes) - 1 if len(codes) > 1 else 0)
    k_total = k_full - sum(s for s, is_nested in zip(sizes, nested, strict=True) if is_nested) + sum(nested)
    factor = n_cl / (n_cl - 1) * (n - 1) / (n - k_total)
    vcov = factor * bread @ (scores.T @ scores) @ bread
    return PpmlFit(beta, vcov, n, n_cl, n_dropped, iterations)


def _nested(inner: NDArray[np.intp], outer: NDArray[np.intp]) -> bool:
    first = np.full(int(inner.max()) + 1, -1, dtype=np.int64)
    first[inner] = outer
    return bool(np.all(first[inner] == outer))
