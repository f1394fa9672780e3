"""Least squares with absorbed fixed effects and sandwich covariances, in plain NumPy.

The within transformation uses alternating projections (the method of fixest/pyfixest), so any number of
fixed-effect dimensions works on unbalanced panels. Covariances:

- ``iid``, ``HC1``, ``CR1``: fixest's small-sample factors (``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``),
  so results agree with pyfixest, statsmodels and linearmodels to floating-point precision (tests);
- ``HC3``: MacKinnon-White, ``e_i^2 / (1 - h_ii)^2`` with the full leverage (fixed effects included), as statsmodels
  computes it on the dummy-variable regression; needs at most one absorbed fixed-effect dimension;
- ``CR2``: Bell-McCaffrey bias-reduced cluster-robust covariance with the identity working model, and the
  Satterthwaite degrees of freedom of Pustejovsky & Tipton (2018) / Imbens & Kolesar (2016), as R's clubSandwich
  computes them (tests/reference). Absorbed fixed effects must be nested in the clusters: the adjustment matrices
  computed on the within-transformed design then equal the full-dummy ones (P&T 2018, Theorem 2), because residuals
  and demeaned regressors lie in the range of the within projection.

CR2 never forms an n_g x n_g matrix: ``(I - X_g M X_g')^{-1/2} = I + P (diag((1 - s^2)^{-1/2}) - I) P'`` from the thin
SVD ``X_g L = P S W'`` (``L L' = M``), so a cluster of 100,000 rows costs O(n_g k^2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def sorted_codes(values: NDArray) -> tuple[NDArray[Any], NDArray[np.intp]] | None:
    """``np.unique(values, return_inverse=True)`` for an object array of labels, by hashing then sorting only the
    distinct labels (the full object sort was O(n log n) Python comparisons: seconds at 1M respondents). None when
    a label is missing (np.unique's own handling applies) or the array is not of objects."""
    values = np.asarray(values)
    if values.dtype != object:
        return None
    codes, uniques = pd.factorize(values)
    if codes.size and codes.min() < 0:
        return None
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(order.size, dtype=np.intp)
    rank[order] = np.arange(order.size)
    return uniques[order], rank[codes]


def factorize(values: NDArray) -> tuple[NDArray[np.intp], int]:
    """Integer codes 0..G-1 for any 1-d array of labels, numbered in sorted label order."""
    fast = sorted_codes(values)
    if fast is not None:
        return fast[1], int(fast[0].size)
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
class WithinDesign:
    """OLS after absorbing fixed effects: the pieces every covariance, bootstrap and permutation needs."""

    y: NDArray[np.float64]  # within-transformed outcome
    x: NDArray[np.float64]  # within-transformed regressors (n, k)
    xtx_inv: NDArray[np.float64]
    params: NDArray[np.float64]
    residuals: NDArray[np.float64]
    n_obs: int
    k_full: int  # slopes plus fixed-effect parameters (iid / HC small-sample factor)
    k_cluster: int  # fixest's "nested" K for CR1: fixed effects nested in the clusters are not counted
    clusters: NDArray[np.intp] | None
    n_clusters: int | None
    fe_leverage: NDArray[np.float64] | None  # diagonal of the fixed effects' hat matrix; None with 2+ dimensions
    fe_nested_in_clusters: bool

    def contrast(self, index: int) -> NDArray[np.float64]:
        c = np.zeros(self.x.shape[1])
        c[index] = 1.0
        return c


@dataclass(frozen=True)
class LinearFit:
    params: NDArray[np.float64]
    vcov: NDArray[np.float64]
    residuals: NDArray[np.float64]
    df_inference: int | None
    n_obs: int
    n_params: int
    n_clusters: int | None
    se_type: str
    design: WithinDesign | None = None


#: Covariance types of ``covariance``; CR2 takes its reference t degrees of freedom from ``satterthwaite_df``.
COVARIANCE_TYPES = ("iid", "HC1", "HC3", "CR1", "CR2")


def fit_within(y: NDArray[np.float64], x: NDArray[np.float64], *, fixed_effects: list[NDArray[np.intp]],
               clusters: NDArray[np.intp] | None = None) -> WithinDesign:
    """Least squares of y on x after absorbing ``fixed_effects``. Raises LinAlgError on collinear regressors."""
    n = y.shape[0]
    data = demean(np.column_stack([y, x]), fixed_effects)
    y_t, x_t = data[:, 0], data[:, 1:]
    xtx = x_t.T @ x_t
    if x_t.shape[1] == 0 or np.linalg.matrix_rank(xtx) < x_t.shape[1]:
        raise np.linalg.LinAlgError("regressors are collinear with the fixed effects")
    xtx_inv = np.linalg.inv(xtx)
    params = xtx_inv @ (x_t.T @ y_t)
    resid = y_t - x_t @ params
    k_slopes = x_t.shape[1]
    fe_levels = [int(codes.max()) + 1 for codes in fixed_effects]
    # Every fixed-effect dimension after the first loses one level to the common constant.
    fe_params = sum(fe_levels) - (len(fixed_effects) - 1 if len(fixed_effects) > 1 else 0)
    k_full = k_slopes + fe_params
    n_clusters = None
    k_cluster = k_full
    nested = [False] * len(fixed_effects)
    if clusters is not None:
        n_clusters = int(clusters.max()) + 1
        # A fixed effect nested in the clusters costs no degree of freedom beyond the one it shares with them.
        nested = [nested_in(codes, clusters) for codes in fixed_effects]
        nested_levels = sum(levels for levels, is_nested in zip(fe_levels, nested, strict=True) if is_nested)
        k_cluster = k_full - nested_levels + sum(nested)
    fe_leverage = None
    if len(fixed_effects) == 1:
        fe_leverage = 1.0 / np.bincount(fixed_effects[0]).astype(np.float64)[fixed_effects[0]]
    elif not fixed_effects:
        fe_leverage = np.zeros(n)
    return WithinDesign(y_t, x_t, xtx_inv, params, resid, n, k_full, k_cluster, clusters, n_clusters,
                        fe_leverage, all(nested))


def cluster_scores(design: WithinDesign, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """(G, k) sums of x_i * values_i within each cluster."""
    assert design.clusters is not None and design.n_clusters is not None
    scores = np.zeros((design.n_clusters, design.x.shape[1]))
    for j in range(design.x.shape[1]):
        scores[:, j] = np.bincount(design.clusters, weights=design.x[:, j] * values, minlength=design.n_clusters)
    return scores


def cr1_factor(design: WithinDesign) -> float:
    g, n = design.n_clusters or 0, design.n_obs
    return g / (g - 1) * (n - 1) / (n - design.k_cluster)


def _leverage(design: WithinDesign) -> NDArray[np.float64]:
    if design.fe_leverage is None:
        raise ValueError("HC3 needs at most one absorbed fixed-effect dimension (the leverage of several is not "
                         "computed here); put the other fixed effects in as dummies")
    own = np.einsum("ij,jk,ik->i", design.x, design.xtx_inv, design.x)
    return design.fe_leverage + own


class _Cr2Adjustment:
    """Apply A_g = (I - H_gg)^{-1/2} to vectors of cluster g without forming it (see the module docstring)."""

    def __init__(self, design: WithinDesign) -> None:
        if design.clusters is None:
            raise ValueError("CR2 needs clusters")
        if not design.fe_nested_in_clusters:
            raise ValueError("CR2 with absorbed fixed effects needs them nested in the clusters; put the others in "
                             "as dummy regressors")
        self.design = design
        self.order = np.argsort(design.clusters, kind="stable")
        bounds = np.searchsorted(design.clusters[self.order], np.arange(design.n_clusters + 1))
        self.rows = [self.order[bounds[g]:bounds[g + 1]] for g in range(design.n_clusters)]
        root = np.linalg.cholesky(design.xtx_inv)
        self.bases: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
        for rows in self.rows:
            basis, singular, _ = np.linalg.svd(design.x[rows] @ root, full_matrices=False)
            gap = 1.0 - singular**2
            # Generalised inverse for leverage 1 (a cluster that alone determines a coefficient), as clubSandwich.
            scale = np.where(gap > 1e-12, 1.0 / np.sqrt(np.clip(gap, 1e-300, None)), 0.0)
            self.bases.append((basis, scale - 1.0))

    def apply(self, g: int, vector: NDArray[np.float64]) -> NDArray[np.float64]:
        basis, shift = self.bases[g]
        return vector + basis @ (shift * (basis.T @ vector))


def covariance(design: WithinDesign, se_type: str) -> NDArray[np.float64]:
    """The sandwich (or iid) covariance of the slopes."""
    n, resid, bread = design.n_obs, design.residuals, design.xtx_inv
    if se_type == "iid":
        return float(resid @ resid) / (n - design.k_full) * bread
    if se_type == "HC1":
        meat = (design.x * resid[:, None] ** 2).T @ design.x
        return n / (n - design.k_full) * bread @ meat @ bread
    if se_type == "HC3":
        adjusted = resid / (1.0 - _leverage(design))
        meat = (design.x * adjusted[:, None] ** 2).T @ design.x
        return bread @ meat @ bread
    if se_type == "CR1":
        if design.clusters is None:
            raise ValueError("CR1 needs clusters")
        scores = cluster_scores(design, resid)
        return cr1_factor(design) * bread @ (scores.T @ scores) @ bread
    if se_type == "CR2":
        adjustment = _Cr2Adjustment(design)
        scores = np.array([design.x[rows].T @ adjustment.apply(g, resid[rows])
                           for g, rows in enumerate(adjustment.rows)])
        return bread @ (scores.T @ scores) @ bread
    raise ValueError(f"unknown se_type {se_type!r}")


def satterthwaite_df(design: WithinDesign, contrast: NDArray[np.float64]) -> float:
    """Bell-McCaffrey / Pustejovsky-Tipton degrees of freedom of the CR2 t-test of ``contrast'beta``.

    With G the n x G matrix whose column g is (I - H)[:, g] A_g X_g M c, df = tr(G'G)^2 / tr((G'G)^2) (identity
    working model). Because (I - H) = (I - P_fe) - X M X' and the columns lie in the range of the within projection,
    G'G = diag(|v_g|^2) - S' M S with v_g = A_g X_g M c and s_g = X_g' v_g.
    """
    adjustment = _Cr2Adjustment(design)
    direction = design.xtx_inv @ contrast
    norms, stacked = [], []
    for g, rows in enumerate(adjustment.rows):
        v = adjustment.apply(g, design.x[rows] @ direction)
        norms.append(float(v @ v))
        stacked.append(design.x[rows].T @ v)
    s = np.array(stacked).T  # (k, G)
    gram = np.diag(norms) - s.T @ design.xtx_inv @ s
    return float(np.trace(gram) ** 2 / np.sum(gram * gram))


def fit_linear(y: NDArray[np.float64], x: NDArray[np.float64], *, fixed_effects: list[NDArray[np.intp]],
               se_type: str, clusters: NDArray[np.intp] | None = None) -> LinearFit:
    """OLS of y on x after absorbing ``fixed_effects``, with an iid, HC1, HC3, CR1 or CR2 covariance.

    K for the small-sample factor counts the slope parameters plus the fixed-effect parameters; for CR1 the
    fixed effects nested in the cluster variable are left out (fixest's ``fixef.K = "nested"``). ``df_inference``
    is n - K (iid, HC), G - 1 (CR1) or None for CR2, whose degrees of freedom depend on the contrast
    (``satterthwaite_df``).
    """
    if se_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown se_type {se_type!r}")
    if se_type.startswith("CR") and clusters is None:
        raise ValueError(f"{se_type} needs clusters")
    design = fit_within(y, x, fixed_effects=fixed_effects, clusters=clusters)
    vcov = covariance(design, se_type)
    if se_type.startswith("CR"):
        df = design.n_clusters - 1 if se_type == "CR1" else None  # type: ignore[operator]
        k = design.k_cluster
    else:
        df, k = design.n_obs - design.k_full, design.k_full
    n_clusters = design.n_clusters if se_type.startswith("CR") else None
    return LinearFit(design.params, vcov, design.residuals, df, design.n_obs, k, n_clusters, se_type, design)
