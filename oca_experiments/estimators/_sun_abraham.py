"""Sun & Abraham (2021, J. Econometrics 225(2)) interaction-weighted event study on a balanced panel.

y ~ sum over treated cohorts g and relative periods l != -1 of 1{cohort = g} 1{t - g = l} | unit + period, with the
never-treated units as the control cohort (fully saturated: every relative period of every cohort has its own
coefficient CATT(g, l)). The event-study estimate at l is sum_g w(g, l) CATT(g, l) with w(g, l) the cohort's
share of the units observed at relative period l (treated cells for l >= 0, not-yet-treated cells for l < 0),
as pyfixest's ``SaturatedEventStudy.aggregate(agg="period", weighting="shares")``. Standard errors: cluster-robust
by unit (CR1, G/(G-1) (n-1)/(n-k), unit effects nested in the clusters not counted in k, all period effects
counted, as fixest's default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SunAbraham", "sun_abraham"]


@dataclass(frozen=True)
class SunAbraham:
    relative_periods: tuple[int, ...]
    estimate: np.ndarray  # (len(relative_periods),) interaction-weighted effects
    std_error: np.ndarray
    cohort_effects: dict[tuple[int, int], float]  # (cohort, relative period) -> CATT
    weights: dict[tuple[int, int], float]  # (cohort, relative period) -> w


def _double_demeaned(values: np.ndarray) -> np.ndarray:
    return values - values.mean(axis=1, keepdims=True) - values.mean(axis=0, keepdims=True) + values.mean()


def sun_abraham(y: np.ndarray, cohort: np.ndarray) -> SunAbraham:
    """``y``: (units, periods) balanced; ``cohort``: first treated period index (0-based), negative or >= the
    number of periods for never-treated units (at least one is needed as the control cohort)."""
    y = np.asarray(y, dtype=np.float64)
    n, t = y.shape
    cohort = np.asarray(cohort)
    never = (cohort < 0) | (cohort >= t)
    if not never.any():
        raise ValueError("the interaction-weighted estimator here needs never-treated units as the control cohort")
    if (cohort[~never] == 0).any():
        raise ValueError("units treated from the first period have no pre-period")
    periods = np.arange(t)
    cells = [(int(g), int(p - g)) for g in sorted({int(c) for c in cohort[~never]}) for p in periods if p - g != -1]
    columns = []
    for g, rel in cells:
        column = np.zeros((n, t))
        column[cohort == g, g + rel] = 1.0
        columns.append(_double_demeaned(column).ravel())
    x = np.column_stack(columns)
    target = _double_demeaned(y).ravel()
    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ target)
    resid = target - x @ beta
    unit_of_row = np.repeat(np.arange(n), t)
    scores = np.zeros((n, x.shape[1]))
    np.add.at(scores, unit_of_row, x * resid[:, None])
    # fixest's default: unit effects are nested in the unit clusters and not counted; once they are left out, all t
    # period effects are (none is redundant), so k = coefficients + t.
    n_obs, k = n * t, x.shape[1] + t
    adjust = n / (n - 1) * (n_obs - 1) / (n_obs - k)
    vcov = adjust * xtx_inv @ (scores.T @ scores) @ xtx_inv

    sizes = {g: int(np.sum(cohort == g)) for g, _ in cells}
    relative = sorted({rel for _, rel in cells})
    estimates, errors, weights = [], [], {}
    for rel in relative:
        chosen = [(i, g) for i, (g, r) in enumerate(cells) if r == rel]
        total = sum(sizes[g] for _, g in chosen)
        r_vec = np.zeros(len(cells))
        for i, g in chosen:
            weights[g, rel] = sizes[g] / total
            r_vec[i] = weights[g, rel]
        estimates.append(float(r_vec @ beta))
        errors.append(float(np.sqrt(r_vec @ vcov @ r_vec)))
    return SunAbraham(tuple(relative), np.array(estimates), np.array(errors),
                      {cell: float(b) for cell, b in zip(cells, beta, strict=True)}, weights)
