"""Spillover contrast: comparison units near treated ones against far comparison units.

Each unit's change between the registered waves (``_community_change``) is regressed on

    change_c = a + gamma * Near_c + tau * T_c

with the far comparison units as the base: ``gamma`` (the target) is the near-minus-far comparison DiD, the
spillover onto near comparison units if far units are untouched; ``tau`` is the treated-minus-far DiD, the effect
that stays valid under spillover onto near units (reported beside the naive treated-minus-all-comparison DiD).
A comparison unit is near when it shares a registered column's value with a treated unit (e.g. the same district),
or when a registered 0/1 column says so (adjacency, audience overlap). Inference follows the registered rule with
the design's cluster. When the far units are too few or the interval of gamma reaches beyond the SESOI, a note says
that the data cannot rule spillover out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._blas import small_blas
from ..errors import DataError, EstimationError, NotTestable
from ..outcomes import numeric_column
from ..results import EstimateResult
from ..results.parts import EffectInterval, Spillover, UnitChange
from ..spec import HypothesisSpec
from ._community_change import unit_changes, unit_rows, unit_weights, weighted_fit
from ._exposure_options import SpilloverOptions
from ._inference import regression_inference, t_inference
from ._linalg import covariance

__all__ = ["fit_spillover", "near_column"]

ASSUMPTIONS = (
    "Far comparison units receive no spillover: their change is the untreated trend.",
    "Parallel trends between near, far and treated units absent the campaign (nearness is not random: near and far "
    "units may differ in ways that change their trends).",
    "The registered nearness (shared column or registered adjacency / audience overlap) covers the channels through "
    "which the campaign could reach comparison units.",
)


def near_column(frame: pd.DataFrame, spec: HypothesisSpec, options: SpilloverOptions, *, file: str) -> pd.Series:
    """1 for rows of comparison units near a treated unit, else 0 (treated rows: 0)."""
    from ._survey_frame import treatment_indicator

    treated = treatment_indicator(frame, spec.design.treatment, file=file)
    if options.near.column is not None:
        flag = numeric_column(frame, options.near.column, file=file)
        if flag.isna().any() or not flag.isin([0.0, 1.0]).all():
            raise DataError("the nearness column must be 0/1 on every row", file=file, column=options.near.column,
                            fix="code near comparison units 1 and far ones 0")
        return (flag * (1 - treated)).astype(float)
    by = frame[options.near.by].astype("string")
    if by.isna().any():
        raise DataError(f"{int(by.isna().sum())} rows have no value", file=file, column=options.near.by,
                        fix="every row needs the column that defines nearness")
    with_treated = set(by[treated == 1].unique())
    return ((treated == 0) & by.isin(with_treated)).astype(float)


def _effect(fit: Any, vcov: np.ndarray, contrast: np.ndarray, df: float, se_type: str,
            level: float) -> EffectInterval:
    estimate, std_error = float(contrast @ fit.params), float(np.sqrt(contrast @ vcov @ contrast))
    t = t_inference(estimate, std_error, df, ci_level=level, tails="two", direction="increase")
    return EffectInterval(estimate=estimate, std_error=std_error, ci_low=t.ci_low, ci_high=t.ci_high, df=df,
                          se_type=se_type, p_value=t.p_value_two_sided)


@small_blas
def fit_spillover(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SpilloverOptions, *,
                  file: str) -> EstimateResult:
    unit = options.unit or spec.design.cluster or spec.design.unit
    near = near_column(frame, spec, options, file=file)
    work = frame.assign(__near=near.to_numpy())
    changes = unit_changes(work, outcome, spec, unit=unit, panel=options.panel, file=file,
                           extra={"near": "__near"})
    table = changes.table
    treated = table["treated"].to_numpy(dtype=float)
    is_near = table["near"].to_numpy(dtype=float)
    far = (treated == 0) & (is_near == 0)
    n_near, n_far, n_treated = int(is_near.sum()), int(far.sum()), int(treated.sum())
    for count, label in ((n_treated, "treated"), (n_near, "near comparison"), (n_far, "far comparison")):
        if count == 0:
            raise NotTestable(f"no {label} unit: the near-minus-far contrast is not identified")
    x = np.column_stack([np.ones(len(table)), is_near, treated])
    y = table["change"].to_numpy(dtype=float)
    weights = unit_weights(table, options.weights)
    try:
        fit, labels = weighted_fit(y, x, weights, table["cluster"].to_numpy())
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the spillover design is singular ({exc})", hypothesis_id=spec.id) from None
    # The few-cluster rule keys on the arms of the contrast: near (the "treated" side) and far.
    arms = (int(table.loc[is_near == 1, "cluster"].nunique()), int(table.loc[far, "cluster"].nunique()))
    try:
        primary = regression_inference(fit, 1, spec, cluster_labels=labels, arms=arms)
    except ValueError as exc:
        raise EstimationError(str(exc), hypothesis_id=spec.id) from None
    analytic = "CR1" if fit.n_clusters and fit.n_clusters > 1 else "HC1"
    vcov = covariance(fit, analytic)
    df = float(fit.n_clusters - 1) if analytic == "CR1" else float(fit.n_obs - fit.k_full)
    level = spec.inference.ci_level
    naive = _naive_effect(y, treated, weights, table["cluster"].to_numpy(), level)
    # Ruling spillover out is an equivalence reading: the 1 - 2 alpha interval of the primary inference (TOST).
    interval = primary.record.get("sesoi_interval") or (primary.ci_low, primary.ci_high)
    ruled_out, note = _verdict_note(float(interval[0]), float(interval[1]), spec.inference.sesoi, n_far,
                                    options.min_far)
    groups = np.where(treated == 1, "treated", np.where(is_near == 1, "near", "far"))
    rows = unit_rows(table.assign(group=groups), {"group": "group"})
    part = Spillover(
        rule=(f"same {options.near.by} as a treated unit" if options.near.by else
              f"registered 0/1 column {options.near.column}"), unit=unit, near_units=n_near, far_units=n_far,
        treated_units=n_treated, treated_vs_far=_effect(fit, vcov, np.array([0.0, 0.0, 1.0]), df, analytic, level),
        treated_vs_all_comparison=naive, ruled_out=ruled_out, note=note,
        units=tuple(UnitChange(**row) for row in rows), assumptions=ASSUMPTIONS)
    extras: dict[str, Any] = {
        "spillover": part, "inference": primary.part,
        "coefficients": {"intercept": float(fit.params[0]), "near": float(fit.params[1]),
                         "treated": float(fit.params[2])},
        "model": f"unit change ~ near + treated (far comparison units the base), one row per {unit}, "
                 f"{options.weights} weights; the few-cluster rule counts near clusters as its 'treated' arm and "
                 "far clusters as its 'comparison' arm",
    }
    counts = {**changes.counts, "units_treated": n_treated, "units_near": n_near, "units_far": n_far}
    return EstimateResult(
        estimate=float(fit.params[1]), std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided, df=primary.df,
        n=fit.n_obs, n_clusters=fit.n_clusters, se_type=primary.se_type, counts=counts, extras=extras,
        null_draws=primary.null_draws)


def _naive_effect(y: np.ndarray, treated: np.ndarray, weights: np.ndarray, clusters: np.ndarray,
                  level: float) -> EffectInterval:
    x = np.column_stack([np.ones_like(y), treated])
    fit, _ = weighted_fit(y, x, weights, clusters)
    analytic = "CR1" if fit.n_clusters and fit.n_clusters > 1 else "HC1"
    df = float(fit.n_clusters - 1) if analytic == "CR1" else float(fit.n_obs - fit.k_full)
    return _effect(fit, covariance(fit, analytic), np.array([0.0, 1.0]), df, analytic, level)


def _verdict_note(ci_low: float, ci_high: float, sesoi: float | None, n_far: int,
                  min_far: int) -> tuple[bool, str | None]:
    """Whether the data rule spillover out (the interval lies within +-SESOI with enough far units), and why not."""
    reasons = []
    if n_far < min_far:
        reasons.append(f"only {n_far} far comparison unit(s) (at least {min_far} registered)")
    if sesoi is None:
        reasons.append("no SESOI is registered, so no interval is narrow enough to rule spillover out")
    elif not (-sesoi < ci_low and ci_high < sesoi):
        reasons.append(f"the equivalence (1 - 2 alpha) interval of the near-minus-far contrast [{ci_low:.3g}, "
                       f"{ci_high:.3g}] reaches beyond the SESOI (+-{sesoi:g})")
    if not reasons:
        return True, None
    return False, ("The data cannot rule spillover out: " + "; ".join(reasons) + ". The treated-minus-far "
                   "effect is the spillover-robust estimate.")
