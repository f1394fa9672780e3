"""Exposure-response: a difference-in-differences with a continuous dose within the treated arm.

Each unit's (community's) change between the registered waves (``_community_change``) is regressed on

    change_c = a + tau * T_c + beta * T_c * (d_c - dbar) / scale  [+ sum_k g_k * T_c * (h_k(d_c) - hbar_k) / scale]

where T is the treatment arm, d the unit's exposure from the exposure source (summed or averaged over the window,
per capita when ``per`` is given, linked by ``key``), dbar the mean dose over the treated units, h_k(d) = (d - k_k)_+
the spline's hinges centred on their treated means, and the comparison arm's change the untreated baseline (its
dose is 0: no campaign). Because every dose term is centred on the treated units' (weighted) mean, ``tau`` is
exactly the average ATT over the treated units (the binary DiD of the unit changes), whatever the curve's shape;
``beta`` (linear) or the average derivative over the treated doses ``beta + sum_k g_k *
share(d > k_k)`` (spline) is the target: the average causal response on the treated (ACRT) of Callaway,
Goodman-Bacon and Sant'Anna (2024, "Difference-in-differences with a continuous treatment") when the strong
parallel-trends assumption holds, and only a descriptive slope of ATT(d|d) otherwise. Inference follows the
registered rule (``regression_inference``) with the design's cluster (constant within a unit) as the cluster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._blas import small_blas
from ..errors import DataError, EstimationError, NotTestable
from ..outcomes import numeric_column
from ..results import EstimateResult
from ..results.parts import DosePoint, EffectInterval, ExposureResponse, UnitChange
from ..spec import HypothesisSpec
from ._community_change import contrast_design, unit_changes, unit_rows, unit_weights, weighted_fit
from ._exposure_options import ExposureResponseOptions
from ._inference import regression_inference, t_inference
from ._linalg import covariance

__all__ = ["LinkedFrame", "check_exposure_link", "exposure_doses", "exposure_window", "fit_exposure_response"]


@dataclass(frozen=True)
class LinkedFrame:
    """A second data source an estimator reads beside the outcome's (its rows and its display name)."""

    frame: pd.DataFrame
    display: str


ASSUMPTIONS = (
    "Standard parallel trends: without the campaign, units at every dose would have changed as the comparison arm "
    "did. It identifies ATT(d|d), the effect of dose d among the units that received d, and the average ATT over "
    "the treated units.",
    "Strong parallel trends (Callaway, Goodman-Bacon and Sant'Anna 2024): units at each dose would have responded "
    "to any other dose as the units that received it did (no selection into dose on gains). Only under it is the "
    "slope across doses the average causal response (ACRT); under standard parallel trends alone it also carries "
    "a selection-bias term and describes how effects differ across exposure levels, not what more exposure would "
    "cause.",
    "Doses are observed, not assigned: exposure follows the campaign's reach and the community's engagement, so "
    "communities that respond more may also be reached more (selection into dose).",
    "Comparison units have dose 0 (no campaign); exposure is measured from the registered source over the "
    "registered window and linked by the registered key.",
)


def exposure_window(spec: HypothesisSpec, options: ExposureResponseOptions) -> tuple[dt.date, dt.date]:
    """The days counted: registered dates, or between the pre wave's fieldwork end and the post wave's start."""
    window = options.exposure.window
    if not isinstance(window, str):
        return window.start, window.end
    waves = {w.label: w for w in spec.design.waves}
    pre, post = waves.get(spec.design.pre or ""), waves.get(spec.design.post or "")
    if pre is None or post is None or pre.end is None or post.start is None:
        raise ValueError("window 'between_waves' needs design.waves with the pre wave's end and the post wave's "
                         "start dates")
    return pre.end + dt.timedelta(days=1), post.start - dt.timedelta(days=1)


def exposure_doses(linked: LinkedFrame, spec: HypothesisSpec, options: ExposureResponseOptions) -> pd.Series:
    """Dose per key value of the exposure source over the window (pages or rows of one key are summed per day)."""
    measure, source, file = options.exposure, linked.frame, linked.display
    start, end = exposure_window(spec, options)
    dates = pd.to_datetime(source[measure.date].astype("string"), errors="coerce", format="mixed")
    unreadable = dates.isna() & source[measure.date].notna()
    if unreadable.any():
        raise DataError(f"{int(unreadable.sum())} values are not dates", file=file, column=measure.date,
                        fix="write dates as YYYY-MM-DD")
    inside = ((dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end))).to_numpy(dtype=bool)
    for column, allowed in measure.subset.items():
        kept = source[column].astype("string").isin({str(v) for v in allowed}).fillna(False)
        inside = inside & kept.to_numpy(dtype=bool)
    rows = source.loc[inside]
    key = rows[measure.key.exposure].astype("string")
    if key.isna().any():
        raise DataError(f"{int(key.isna().sum())} rows in the exposure window have no key", file=file,
                        column=measure.key.exposure, fix="every exposure row needs the linking id")
    value = pd.Series(0.0, index=rows.index)
    for column in measure.columns:
        numbers = numeric_column(rows, column, file=file)
        if numbers.isna().any():
            raise DataError(f"{int(numbers.isna().sum())} missing values in the exposure window", file=file,
                            column=column, fix="fill them (0 when nothing happened) or shorten the window")
        value += numbers
    daily = pd.DataFrame({"key": key.to_numpy(), "day": dates[inside].to_numpy(), "value": value.to_numpy()})
    if measure.per:
        per = numeric_column(rows, measure.per, file=file)
        if per.isna().any() or (per <= 0).any():
            raise DataError(f"{int(per.isna().sum() + (per <= 0).sum())} missing or non-positive denominators in "
                            "the exposure window", file=file, column=measure.per,
                            fix="the per-capita denominator must be positive on every row")
        daily["per"] = per.to_numpy()
    daily = daily.groupby(["key", "day"], sort=True).sum()
    dose = daily["value"].groupby(level="key").agg(measure.aggregate)
    if measure.per:
        dose = dose / daily["per"].groupby(level="key").mean()
    return dose.astype(float)


def check_exposure_link(frame: pd.DataFrame, linked: Mapping[str, LinkedFrame], spec: HypothesisSpec,
                        options: Any) -> str | None:
    """Validate-time: the exposure source carries the linking key, and every treated unit's key has exposure rows
    in the window. Returns why the hypothesis cannot be estimated, or None."""
    measure = options.exposure
    exposure = linked.get(measure.source)
    if exposure is None:
        return f"no data for the exposure source '{measure.source}' (estimator.options.exposure.source)"
    try:
        doses = exposure_doses(exposure, spec, options)
        treated = treatment_indicator_values(frame, spec)
    except (DataError, ValueError) as exc:
        return str(exc)
    keys = frame[measure.key.survey].astype("string")[treated == 1].dropna().unique()
    missing = [k for k in keys if k not in doses.index]
    if missing:
        return (f"{len(missing)} of {len(keys)} treated values of '{measure.key.survey}' have no exposure rows in "
                f"{exposure.display} (column '{measure.key.exposure}') within the window; fix: link by a key "
                "both sources share or widen the window")
    return None


def treatment_indicator_values(frame: pd.DataFrame, spec: HypothesisSpec) -> np.ndarray:
    from ._survey_frame import treatment_indicator

    return treatment_indicator(frame, spec.design.treatment, file="data").to_numpy()


def _distinct(doses: np.ndarray) -> int:
    """Distinct doses up to float noise (sums of daily rows differ in the last bits)."""
    top = float(np.max(np.abs(doses))) or 1.0
    return len(np.unique(np.round(doses / top, 10)))


def _knots(doses: np.ndarray, count: int) -> np.ndarray:
    knots = np.quantile(doses, np.arange(1, count + 1) / (count + 1))
    if _distinct(knots) < count or knots.min() <= doses.min() or knots.max() >= doses.max():
        raise NotTestable(f"the treated doses take too few distinct values for a spline with {count} knot(s)")
    return knots


def _basis(dose: np.ndarray, treated: np.ndarray, centre: float, knots: np.ndarray, hinge_centres: np.ndarray,
           scale: float) -> np.ndarray:
    columns = [np.ones_like(dose), treated, treated * (dose - centre) / scale]
    columns += [treated * (np.clip(dose - k, 0.0, None) - c) / scale for k, c in zip(knots, hinge_centres,
                                                                                      strict=True)]
    return np.column_stack(columns)


@small_blas
def fit_exposure_response(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec,
                          options: ExposureResponseOptions, *, file: str,
                          linked: Mapping[str, LinkedFrame] | None = None) -> EstimateResult:
    measure = options.exposure
    exposure = (linked or {}).get(measure.source)
    if exposure is None:
        raise NotTestable(f"no data for the exposure source '{measure.source}' (estimator.options.exposure.source)")
    unit = options.unit or spec.design.cluster or measure.key.survey
    try:
        doses = exposure_doses(exposure, spec, options)
        window = exposure_window(spec, options)
    except ValueError as exc:
        raise NotTestable(str(exc)) from None
    changes = unit_changes(frame, outcome, spec, unit=unit, panel=options.panel, file=file,
                           extra={"key": measure.key.survey}, cluster=options.cluster)
    table = changes.table
    table["key"] = table["key"].astype("string")
    treated = table["treated"].to_numpy(dtype=float)
    dose = table["key"].map(doses).astype(float).to_numpy()
    missing = (treated == 1) & np.isnan(dose)
    if missing.any():
        raise NotTestable(f"{int(missing.sum())} treated units have no exposure in {exposure.display} (key "
                          f"'{measure.key.exposure}') within the window")
    comparison_dose = dose[(treated == 0) & ~np.isnan(dose)]
    dose = np.where(treated == 1, dose, 0.0)
    table["dose"] = dose
    n_treated, n_comparison = int(treated.sum()), int((treated == 0).sum())
    if n_comparison == 0:
        raise NotTestable("no comparison unit: the untreated baseline change is not identified")
    weights = unit_weights(table, options.weights)
    treated_doses = dose[treated == 1]
    levels = _distinct(treated_doses)
    needed = 2 if options.curve == "linear" else options.knots + 2
    if levels < needed:
        raise NotTestable(f"the treated units take {levels} distinct dose(s); the {options.curve} dose-response "
                          f"needs at least {needed}")
    centre = float(np.average(treated_doses, weights=weights[treated == 1]))
    knots = _knots(treated_doses, options.knots) if options.curve == "spline" else np.array([])
    hinge_centres = np.array([np.average(np.clip(treated_doses - k, 0.0, None), weights=weights[treated == 1])
                              for k in knots])
    x = _basis(dose, treated, centre, knots, hinge_centres, measure.scale)
    share_above = np.array([np.average(treated_doses > k, weights=weights[treated == 1]) for k in knots])
    contrast = np.concatenate([[0.0, 0.0, 1.0], share_above])
    y = table["change"].to_numpy(dtype=float)
    clusters = table["cluster"].to_numpy()
    try:
        fit, labels = weighted_fit(y, contrast_design(x, contrast, 2), weights, clusters)
        curve_fit, _ = weighted_fit(y, x, weights, clusters)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the dose-response design is singular ({exc})", hypothesis_id=spec.id,
                              fix="the treated units need distinct doses and both arms need units") from None
    arms = (int(table.loc[table["treated"] == 1, "cluster"].nunique()),
            int(table.loc[table["treated"] == 0, "cluster"].nunique()))
    try:
        primary = regression_inference(fit, 2, spec, cluster_labels=labels, arms=arms)
    except ValueError as exc:
        raise EstimationError(str(exc), hypothesis_id=spec.id) from None
    analytic = "CR1" if fit.n_clusters and fit.n_clusters > 1 else "HC1"
    vcov = covariance(curve_fit, analytic)
    df = float(fit.n_clusters - 1) if analytic == "CR1" else float(fit.n_obs - fit.k_full)
    level = spec.inference.ci_level
    part = ExposureResponse(
        measure=measure.label or " + ".join(measure.columns) + (f" per {measure.per}" if measure.per else ""),
        source=measure.source, window=(window[0].isoformat(), window[1].isoformat()),
        key=(measure.key.survey, measure.key.exposure), unit=unit, scale=measure.scale, curve=options.curve,
        knots=tuple(float(k) for k in knots),
        estimand=("ACRT: average over the treated doses of the derivative of ATT(d), per "
                  f"{measure.scale:g} exposure unit(s); causal under strong parallel trends only"),
        mean_dose=centre, dose_range=(float(treated_doses.min()), float(treated_doses.max())), dose_levels=levels,
        treated_units=n_treated, comparison_units=n_comparison,
        average_att=_effect(curve_fit, vcov, 1, df, analytic, level),
        points=_curve(curve_fit, vcov, treated_doses, centre, knots, hinge_centres, measure.scale, df, level),
        units=tuple(UnitChange(**row) for row in unit_rows(table, {"dose": "dose"})),
        assumptions=ASSUMPTIONS,
        notes=_notes(levels, n_treated, comparison_dose, measure.source))
    extras: dict[str, Any] = {
        "exposure_response": part, "inference": primary.part,
        "coefficients": {name: float(v) for name, v in zip(_names(knots), curve_fit.params, strict=True)},
        "model": ("unit change ~ treated + treated x (dose - mean dose)" + (" + treated x spline(dose)" if len(knots)
                  else "") + f", one row per {unit}, {options.weights} weights"),
    }
    counts = {**changes.counts, "units_treated": n_treated, "units_comparison": n_comparison,
              "clusters_treated": arms[0], "clusters_comparison": arms[1]}
    return EstimateResult(
        estimate=float(fit.params[2]), std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided, df=primary.df,
        n=fit.n_obs, n_clusters=fit.n_clusters, se_type=primary.se_type, counts=counts, extras=extras,
        null_draws=primary.null_draws)


def _names(knots: np.ndarray) -> list[str]:
    return ["intercept", "treated", "treated_x_dose"] + [f"treated_x_dose_above_knot{k + 1}" for k in range(len(knots))]


def _effect(fit: Any, vcov: np.ndarray, index: int, df: float, se_type: str, level: float) -> EffectInterval:
    estimate, std_error = float(fit.params[index]), float(np.sqrt(vcov[index, index]))
    t = t_inference(estimate, std_error, df, ci_level=level, tails="two", direction="increase")
    return EffectInterval(estimate=estimate, std_error=std_error, ci_low=t.ci_low, ci_high=t.ci_high, df=df,
                          se_type=se_type, p_value=t.p_value_two_sided)


def _curve(fit: Any, vcov: np.ndarray, doses: np.ndarray, centre: float, knots: np.ndarray,
           hinge_centres: np.ndarray, scale: float, df: float, level: float) -> tuple[DosePoint, ...]:
    """ATT(d) = tau + beta (d - dbar) [+ spline terms] on a grid over the treated doses, pointwise intervals."""
    grid = np.linspace(doses.min(), doses.max(), 21)
    rows = _basis(grid, np.ones_like(grid), centre, knots, hinge_centres, scale)[:, 1:]  # the intercept is the comparison trend
    params, cov = fit.params[1:], vcov[1:, 1:]
    points = []
    for dose, row in zip(grid, rows, strict=True):
        estimate, std_error = float(row @ params), float(np.sqrt(row @ cov @ row))
        t = t_inference(estimate, std_error, df, ci_level=level, tails="two", direction="increase")
        points.append(DosePoint(dose=float(dose), estimate=estimate, ci_low=t.ci_low, ci_high=t.ci_high))
    return tuple(points)


def _notes(levels: int, treated: int, comparison_dose: np.ndarray, source: str) -> tuple[str, ...]:
    notes = []
    if levels < treated:
        notes.append(f"{treated} treated units share {levels} dose levels: the slope rests on {levels} distinct "
                     "exposures, and the dose varies at the level of the exposure key, not the unit")
    if levels < 5:
        notes.append(f"only {levels} distinct doses: the shape of the dose-response cannot be checked")
    if comparison_dose.size and np.any(comparison_dose > 0):
        notes.append(f"{comparison_dose.size} comparison units share a linking key with exposure rows in '{source}' "
                     "(e.g. their CSO's page); they count as dose 0: if the campaign reached them, the untreated "
                     "baseline is contaminated (see the spillover check)")
    return tuple(notes)
