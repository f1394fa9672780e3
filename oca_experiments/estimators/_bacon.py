"""Goodman-Bacon (2021, J. Econometrics 225(2)) decomposition of the two-way fixed-effects DiD coefficient.

On a balanced panel with staggered adoption (treatment switches on at a unit's cohort period and stays on) and no
covariates, the TWFE coefficient on D is a weighted average of every 2x2 DiD between timing groups:

- treated vs never treated (all periods);
- earlier- vs later-treated, the later group as control (periods before the later group starts);
- later- vs earlier-treated, the earlier (already treated) group as control (periods from the earlier start on):
  the "forbidden" comparison that biases TWFE when effects change over time.

Each 2x2 coefficient is the TWFE coefficient on its subsample, and its weight is the subsample's share of the
unit-periods times the variance of its double-demeaned treatment, relative to the full panel's (Theorem 1; these
equal the closed forms s_kU, s_kl^k, s_kl^l of the paper). Weights sum to one and sum(weight x estimate) is the TWFE
coefficient, both checked here to 1e-10. Units treated from the first period are a timing group too ("always
treated"): they enter only as controls of later groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BaconComparison", "BaconDecomposition", "bacon_decomposition"]


@dataclass(frozen=True)
class BaconComparison:
    kind: str  # "treated_vs_never" | "earlier_vs_later" | "later_vs_earlier"
    treated: int  # cohort (first treated period index) of the group whose treatment switches in the window
    control: int | None  # the control cohort; None: never treated
    estimate: float
    weight: float
    n_units: int
    n_periods: int


@dataclass(frozen=True)
class BaconDecomposition:
    twfe: float
    comparisons: tuple[BaconComparison, ...]

    def by_kind(self) -> dict[str, dict[str, float]]:
        """Total weight and weighted average estimate of each kind of comparison."""
        out: dict[str, dict[str, float]] = {}
        for kind in ("treated_vs_never", "earlier_vs_later", "later_vs_earlier"):
            chosen = [c for c in self.comparisons if c.kind == kind]
            weight = sum(c.weight for c in chosen)
            if chosen:
                out[kind] = {"weight": weight, "estimate": sum(c.weight * c.estimate for c in chosen) / weight
                             if weight > 0 else float("nan")}
        return out

    def table(self) -> list[dict[str, object]]:
        return [{"kind": c.kind, "treated_cohort": c.treated, "control_cohort": c.control, "estimate": c.estimate,
                 "weight": c.weight, "units": c.n_units, "periods": c.n_periods} for c in self.comparisons]


def _double_demeaned(d: np.ndarray) -> np.ndarray:
    return d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()


def _twfe(y: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """(coefficient on d, sum of squared double-demeaned d) of y ~ d | unit + period on a balanced block."""
    tilde = _double_demeaned(d)
    ss = float(np.sum(tilde**2))
    return (float(np.sum(tilde * y) / ss) if ss > 0 else float("nan")), ss


def bacon_decomposition(y: np.ndarray, cohort: np.ndarray) -> BaconDecomposition:
    """``y``: (units, periods) balanced outcomes; ``cohort``: each unit's first treated period index (0-based),
    or a value >= the number of periods (or negative) for never-treated units."""
    y = np.asarray(y, dtype=np.float64)
    n, t = y.shape
    cohort = np.asarray(cohort)
    if cohort.shape != (n,):
        raise ValueError("cohort needs one entry per unit (row of y)")
    if not np.isfinite(y).all():
        raise ValueError("the decomposition needs a balanced panel without missing outcomes")
    never = (cohort < 0) | (cohort >= t)
    periods = np.arange(t)
    d = (~never[:, None]) & (periods[None, :] >= np.where(never, t, cohort)[:, None])
    d = d.astype(np.float64)
    twfe, ss_full = _twfe(y, d)
    if not ss_full > 0:
        raise ValueError("the treatment does not vary beyond unit and period effects")
    total = n * t
    cohorts = sorted({int(c) for c in cohort[~never]})
    comparisons: list[BaconComparison] = []

    def add(kind: str, treated: int, control: int | None, rows: np.ndarray, cols: np.ndarray) -> None:
        block_y, block_d = y[np.ix_(rows, cols)], d[np.ix_(rows, cols)]
        estimate, ss = _twfe(block_y, block_d)
        if not ss > 0:
            return  # no treatment variation in this window (e.g. an always-treated group as the treated side)
        size = rows.size * cols.size
        comparisons.append(BaconComparison(kind, treated, control, estimate, (size / total) * ss / ss_full,
                                           int(rows.size), int(cols.size)))

    for k in cohorts:
        group = np.flatnonzero(cohort == k)
        if never.any():
            add("treated_vs_never", k, None, np.concatenate([group, np.flatnonzero(never)]), periods)
        for later in (c for c in cohorts if c > k):
            rows = np.concatenate([group, np.flatnonzero(cohort == later)])
            add("earlier_vs_later", k, later, rows, periods[:later])
            add("later_vs_earlier", later, k, rows, periods[k:])
    decomposition = BaconDecomposition(twfe, tuple(comparisons))
    weights = sum(c.weight for c in comparisons)
    recomposed = sum(c.weight * c.estimate for c in comparisons)
    if abs(weights - 1) > 1e-10 or abs(recomposed - twfe) > 1e-10 * max(1.0, abs(twfe)):
        raise ArithmeticError("the 2x2 comparisons do not recompose the TWFE coefficient")  # a bug, not bad data
    return decomposition
