"""Least squares with absorbed fixed effects and sandwich covariances, in plain NumPy.

The within transformation uses alternating projections (the method of fixest/pyfixest), so any number of
fixed-effect dimensions works on unbalanced panels. Small-sample corrections follow fixest's defaults
(``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``) so that results agree with pyfixest and R to
floating-point precision; the tests check this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def factorize(values: NDArray) -> tuple[NDArray[np.intp], int]:
    """Integer codes 0..G-1 for any 1-d array of labels."""
    _, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.intp), int(codes.max()) + 1 if codes.size else 0


def demean(matrix: NDArray[np.float64], fixed_effects: list[NDArray[np.intp]], *, tol: float = 1e-13,
           max_iter: int = 10_000) -> NDArray[np.float64]:
    """Project out every fixed-effect dimension from each column of ``matrix`` (alternating projections)."""
    out = np.array(matrix, dtype=np.float64, copy=True)
    if out.ndim == 1:
        out = out[:, None]
    if not fixed_effects:
        return out
    counts = [np.bincount(codes).astype(np.float64) for codes in fixed_effects]
    n_cols = out.shape[1]
    for _ in range(max_iter):
        largest_step = 0.0
        for codes, count in zip(fixed_effects, counts, strict=True):
            for j in range(n_cols):
                means = np.bincount(codes, weights=out[:, j], minlength=count.size) / count
                step = means[codes]
                out[:, j] -= step
                largest_step = max(largest_step, float(np.max(np.abs(means))) if means.size else 0.0)
        # One pass is exact for a single dimension; with more, iterate until the group means vanish.
        if len(fixed_effects) == 1 or largest_step < tol:
            break
    return out


def nested_in(inner: NDArray[np.intp], outer: NDArray[np.intp]) -> bool:
    """True when every level of ``inner`` lies within a single level of ``outer``."""
    first_outer = np.full(int(inner.max()) + 1, -1, dtype=np.intp)
    first_outer[inner] = outer  # last write wins; any disagreement shows below
    return bool(np.all(first_outer[inner] == outer))


@dataclass(frozen=True)
class LinearFit:
    params: NDArray[np.float64]
    vcov: NDArray[np.float64]
    residuals: NDArray[np.float64]
    df_inference: int
    n_obs: int
    n_params: int
    n_clusters: int | None
    se_type: str


def fit_linear(y: NDArray[np.float64], x: NDArray[np.float64], *, fixed_effects: list[NDArray[np.intp]],
               se_type: str, clusters: NDArray[np.intp] | None = None) -> LinearFit:
    """OLS of y on x after absorbing ``fixed_effects``, with iid, HC1 or CR1 covariance.

    K for the small-sample factor counts the slope parameters plus the fixed-effect parameters; for CR1 the
    fixed effects nested in the cluster variable are left out (fixest's ``fixef.K = "nested"``).
    """
    n = y.shape[0]
    data = demean(np.column_stack([y, x]), fixed_effects)
    y_t, x_t = data[:, 0], data[:, 1:]
    xtx = x_t.T @ x_t
    rank = np.linalg.matrix_rank(xtx)
    if rank < x_t.shape[1]:
        raise np.linalg.LinAlgError("regressors are collinear with the fixed effects")
    xtx_inv = np.linalg.inv(xtx)
    params = xtx_inv @ (x_t.T @ y_t)
    resid = y_t - x_t @ params
    k_slopes = x_t.shape[1]

    fe_levels = [int(codes.max()) + 1 for codes in fixed_effects]
    # Every fixed-effect dimension after the first loses one level to the common constant.
    fe_params = sum(fe_levels) - (len(fixed_effects) - 1 if len(fixed_effects) > 1 else 0)
    k_full = k_slopes + fe_params

    if se_type == "iid":
        sigma2 = float(resid @ resid) / (n - k_full)
        return LinearFit(params, sigma2 * xtx_inv, resid, n - k_full, n, k_full, None, se_type)
    if se_type == "HC1":
        meat = (x_t * resid[:, None] ** 2).T @ x_t
        vcov = n / (n - k_full) * xtx_inv @ meat @ xtx_inv
        return LinearFit(params, vcov, resid, n - k_full, n, k_full, None, se_type)
    if se_type == "CR1":
        if clusters is None:
            raise ValueError("CR1 needs clusters")
        n_clusters = int(clusters.max()) + 1
        # A fixed effect nested in the clusters costs no degree of freedom beyond the one it shares with them.
        nested = [nested_in(codes, clusters) for codes in fixed_effects]
        nested_levels = sum(levels for levels, is_nested in zip(fe_levels, nested, strict=True) if is_nested)
        k = k_full - nested_levels + sum(nested)
        scores = np.zeros((n_clusters, k_slopes))
        for j in range(k_slopes):
            scores[:, j] = np.bincount(clusters, weights=x_t[:, j] * resid, minlength=n_clusters)
        meat = scores.T @ scores
        factor = n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
        vcov = factor * xtx_inv @ meat @ xtx_inv
        return LinearFit(params, vcov, resid, n_clusters - 1, n, k, n_clusters, se_type)
    raise ValueError(f"unknown se_type {se_type!r}")
