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
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, EstimationError
from ..io import period_label
from ..results import EstimateResult
from ..results.parts import CohortCell, CohortShare, EventStudy
from ..spec import HypothesisSpec
from ._engagement_options import SunAbrahamOptions, TwfeOptions
from ._inference import t_inference
from ._staggered import NEVER
from ._survey_frame import NotTestable
from ._twfe import _rows

__all__ = ["SunAbraham", "check_sun_abraham_design", "fit_sun_abraham", "sun_abraham"]


@dataclass(frozen=True)
class SunAbraham:
    relative_periods: tuple[int, ...]
    estimate: np.ndarray  # (len(relative_periods),) interaction-weighted effects
    std_error: np.ndarray
    cohort_effects: dict[tuple[int, int], float]  # (cohort, relative period) -> CATT
    weights: dict[tuple[int, int], float]  # (cohort, relative period) -> w
    cells: tuple[tuple[int, int], ...] = ()  # (cohort, relative period) of each CATT, in vcov's order
    vcov: np.ndarray | None = None  # CR1 covariance of the CATTs
    n_clusters: int = 0


def _double_demeaned(values: np.ndarray) -> np.ndarray:
    return values - values.mean(axis=1, keepdims=True) - values.mean(axis=0, keepdims=True) + values.mean()


def sun_abraham(y: np.ndarray, cohort: np.ndarray, *, reference: int = -1,
                cluster: np.ndarray | None = None) -> SunAbraham:
    """``y``: (units, periods) balanced; ``cohort``: first treated period index (0-based), negative or >= the
    number of periods for never-treated units (at least one is needed as the control cohort); ``reference``: the
    relative period left out (a lead); ``cluster``: one cluster code per unit (default: the unit)."""
    y = np.asarray(y, dtype=np.float64)
    n, t = y.shape
    cohort = np.asarray(cohort)
    never = (cohort < 0) | (cohort >= t)
    if not never.any():
        raise ValueError("the interaction-weighted estimator here needs never-treated units as the control cohort")
    if (cohort[~never] == 0).any():
        raise ValueError("units treated from the first period have no pre-period")
    periods = np.arange(t)
    cells = [(int(g), int(p - g)) for g in sorted({int(c) for c in cohort[~never]}) for p in periods if p - g != reference]
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
    cluster_of_unit = np.arange(n) if cluster is None else np.unique(np.asarray(cluster), return_inverse=True)[1]
    n_clusters = int(cluster_of_unit.max()) + 1
    if n_clusters < 2:
        raise ValueError("cluster-robust standard errors need at least two clusters")
    unit_of_row = np.repeat(cluster_of_unit, t)
    scores = np.zeros((n_clusters, x.shape[1]))
    np.add.at(scores, unit_of_row, x * resid[:, None])
    # fixest's default: unit effects are nested in the unit clusters and not counted; once they are left out, all t
    # period effects are (none is redundant), so k = coefficients + t.
    n_obs, k = n * t, x.shape[1] + t
    adjust = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
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
                      {cell: float(b) for cell, b in zip(cells, beta, strict=True)}, weights,
                      tuple(cells), vcov, n_clusters)


def _balanced(rows: dict[str, Any], *, file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(units x periods) outcomes, each unit's cohort index, the period codes and the unit codes, or an error."""
    keep = rows["keep"]
    unit_codes, unit = np.unique(rows["unit"][keep], return_inverse=True)
    period_values, period = np.unique(rows["period"][keep], return_inverse=True)
    n, t = unit_codes.size, period_values.size
    if keep.sum() != n * t or np.unique(unit * t + period).size != n * t:
        raise NotTestable(f"{file}: sun_abraham needs a balanced panel (each unit once in each of the {t} periods "
                          f"with an outcome); {int(keep.sum())} rows for {n} units")
    y = np.full((n, t), np.nan)
    y[unit, period] = rows["y"][keep]
    adoption = rows["adoption"][unit_codes]
    cohort = np.where(adoption == NEVER, t, np.searchsorted(period_values, adoption))
    return y, cohort, period_values, unit_codes


def _adopters_without_pre_period(cohort: np.ndarray, *, file: str) -> None:
    treated_first = int(np.sum(cohort == 0))
    if treated_first:
        raise NotTestable(f"{file}: {treated_first} units are treated from the first period and have no "
                          "pre-period; drop them or start the panel earlier")


def check_sun_abraham_design(frame: pd.DataFrame, spec: HypothesisSpec, options: SunAbrahamOptions) -> str | None:
    """The structural requirements the fitter refuses (a balanced unit x period panel, one row per cell, a pre-period
    for every adopting unit), checked on the rows before any estimation so that ``oca validate`` refuses what
    ``oca run`` would. The outcome is built later, so every row counts as observed here. Returns the reason, or
    None."""
    try:
        rows = _rows(frame, pd.Series(0.0, index=frame.index), spec, TwfeOptions(period=options.period),
                     file="data")
        _, cohort, _, _ = _balanced(rows, file="data")
        _adopters_without_pre_period(cohort, file="data")
    except (NotTestable, DataError) as exc:
        return exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
    return None


def fit_sun_abraham(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SunAbrahamOptions, *,
                    file: str) -> EstimateResult:
    """Interaction-weighted event study; the headline is the ATT over the reported lags, each treated cohort x
    lag cell weighted by its units (the cohort-share weighting of Sun and Abraham 2021, Sec. 4)."""
    rows = _rows(frame, outcome, spec, TwfeOptions(period=options.period), file=file)
    y, cohort, period_values, unit_codes = _balanced(rows, file=file)
    n, t = y.shape
    cluster = None
    if spec.design.cluster and spec.design.cluster != spec.design.unit:
        labels = frame[spec.design.cluster].astype("string").to_numpy()[rows["keep"]]
        per_unit = pd.Series(labels).groupby(rows["unit"][rows["keep"]]).nunique(dropna=False)
        if (per_unit > 1).any():
            raise DataError("the cluster changes within a unit", file=file, column=spec.design.cluster,
                            fix="cluster by the unit or by a level that contains whole units")
        first = pd.Series(labels).groupby(rows["unit"][rows["keep"]]).first()
        cluster = first.reindex(unit_codes).to_numpy()
    never = cohort >= t
    _adopters_without_pre_period(cohort, file=file)
    try:
        fit = sun_abraham(y, cohort, reference=options.reference, cluster=cluster)
    except ValueError as exc:
        raise NotTestable(f"{file}: {exc}") from None
    except np.linalg.LinAlgError:
        raise EstimationError("the cohort x relative-period indicators are collinear with the unit and period "
                              "effects", hypothesis_id=spec.id, fix="check that each cohort has periods before "
                              "adoption and that never-treated units are observed throughout") from None
    first, last = options.event_window if options.event_window else (min(fit.relative_periods),
                                                                      max(fit.relative_periods))
    shown = [j for j, rel in enumerate(fit.relative_periods) if first <= rel <= last]
    sizes = {int(g): int(np.sum(cohort == g)) for g in np.unique(cohort[~never])}
    att_cells = [i for i, (g, rel) in enumerate(fit.cells) if 0 <= rel <= last]
    if not att_cells:
        raise NotTestable(f"{file}: no treated cohort is observed after adoption")
    assert fit.vcov is not None
    r_vec = np.zeros(len(fit.cells))
    for i in att_cells:
        r_vec[i] = sizes[fit.cells[i][0]]
    r_vec /= r_vec.sum()
    beta = np.array([fit.cohort_effects[cell] for cell in fit.cells])
    estimate = float(r_vec @ beta)
    std_error = float(np.sqrt(r_vec @ fit.vcov @ r_vec))
    df = float(fit.n_clusters - 1)
    inference = t_inference(estimate, std_error, df, ci_level=spec.inference.ci_level, tails=spec.inference.tails,
                            direction=spec.direction)
    crit = float(stats.t(df).ppf(1 - (1 - spec.inference.ci_level) / 2))
    est, se = fit.estimate[shown], fit.std_error[shown]
    cohort_label = {g: period_label(int(period_values[g]), options.period) for g in sizes}
    extras: dict[str, Any] = {
        "model": "Sun-Abraham interaction-weighted event study: outcome on cohort x relative-period indicators "
                 f"(reference {options.reference}) | unit + period, never-treated units as the control cohort",
        "period": options.period,
        "event_study": EventStudy.from_dict({"event_time": [int(fit.relative_periods[j]) for j in shown],
                        "estimate": [float(v) for v in est], "std_error": [float(v) for v in se],
                        "ci_low": [float(v) for v in est - crit * se], "ci_high": [float(v) for v in est + crit * se],
                        "reference": options.reference, "se_type": "CR1", "period": options.period}),
        "cohort_shares": tuple(CohortShare(cohort=cohort_label[g], units=sizes[g],
                                           share=sizes[g] / sum(sizes.values())) for g in sorted(sizes)),
        "iw_weights": tuple(CohortCell(cohort=cohort_label[g], event_time=rel, weight=w)
                            for (g, rel), w in sorted(fit.weights.items()) if first <= rel <= last),
        "cohort_effects": tuple(CohortCell(cohort=cohort_label[g], event_time=rel, estimate=b)
                                for (g, rel), b in sorted(fit.cohort_effects.items()) if first <= rel <= last),
        "headline": f"ATT over lags 0..{last}: treated cohort x lag cells weighted by their units",
        "cluster_column": spec.design.cluster or spec.design.unit, "clusters": fit.n_clusters}
    counts = {"rows_in_source": len(frame), "rows_missing_outcome": rows["n_missing"], "units": n, "periods": t,
              "treated_units": int((~never).sum()), "never_treated_units": int(never.sum()),
              "cohorts": len(sizes)}
    return EstimateResult(estimate=estimate, std_error=std_error, ci_low=inference.ci_low,
                          ci_high=inference.ci_high, ci_level=spec.inference.ci_level, p_value=inference.p_value,
                          p_value_two_sided=inference.p_value_two_sided, df=df, n=int(n * t),
                          n_clusters=fit.n_clusters, se_type="CR1", counts=counts, extras=extras)
