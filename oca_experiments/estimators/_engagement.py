"""Fitters for the engagement hypotheses: ``staggered_did`` (Callaway-Sant'Anna) and ``its`` (structural time
series: counterfactual forecast or intervention terms).

Both work in the registered ``period`` (day, week, month, quarter, year or integer), read the unit x time rows of the
source and the per-row outcome the runner built, validate them,
and return an ``EstimateResult`` whose ``extras`` hold everything the report and the tutorial show (JSON-ready):
ATT(g,t) table, event study with uniform bands, per-campaign effects, pre-trend test, TWFE beside it, sensitivity
bounds, per-campaign counterfactual paths, estimated variances and smoothed components. Randomness (the multiplier
bootstrap, the forecast draws on transformed scales) is seeded from the registered options and the seed is
recorded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, EstimationError
from ..outcomes import numeric_column
from ..results import EstimateResult
from ..results.parts import (
    AggregateEffect,
    Aggregations,
    ATTgt,
    CampaignEffect,
    EventStudy as EventStudyPart,
    FewTreatedRule,
    HonestSensitivity,
    ItsByCampaign,
    MultiplierBootstrap,
    StaggeredCheck,
    TwfeComparison,
)
from ..spec import HypothesisSpec
from ._counts import fit_ppml
from ._engagement_options import ItsModelOptions, ItsOptions, StaggeredDiDOptions, StaggeredOptions
from ._honest import EventStudy, honest_sensitivity
from ._its import StsModel, fit_counterfactual, fit_intervention, its_p_value, placebo_in_time, transform_outcome
from ._its_batch import batch_supported, fit_local_level_batch
from ._staggered import (NEVER, Aggregate, AttGT, StaggeredPanel, _cluster_sums, aggregate, att_gt,
                         balanced_panel, multiplier_bootstrap, period_matrix, prepare_panel, pretrend_test, twfe_did)
from ._staggered_permutation import permutation_inference, treated_unit_count
from ._survey_did import NotTestable

__all__ = ["fit_staggered_did", "fit_its"]


# --------------------------------------------------------------------------------------------------- helpers


def _inference(estimate: float, std_error: float, *, df: float | None, ci_level: float, tails: str,
               direction: str) -> tuple[float, float, float, float]:
    """(ci_low, ci_high, p_value in the registered tails/direction, two-sided p)."""
    dist = stats.t(df) if df else stats.norm()
    if not (math.isfinite(std_error) and std_error > 0):
        raise EstimationError("the standard error is zero or undefined",
                              fix="check that treated and comparison units vary over time")
    crit = float(dist.ppf(1 - (1 - ci_level) / 2))
    t_stat = estimate / std_error
    p_two = float(2 * dist.sf(abs(t_stat)))
    if tails == "one":
        p = float(dist.sf(t_stat)) if direction == "increase" else float(dist.cdf(t_stat))
    else:
        p = p_two
    return estimate - crit * std_error, estimate + crit * std_error, p, p_two


def _transform(outcome: pd.Series, count_model: str, *, file: str, name: str) -> pd.Series:
    values = pd.to_numeric(outcome, errors="coerce").astype("float64")
    if count_model in ("log1p", "ppml"):
        negative = int((values < 0).sum())
        if negative:
            raise DataError(f"{negative} negative outcome values; count_model {count_model} needs y >= 0",
                            file=file, column=name, fix="use count_model: none for outcomes that can be negative")
    if count_model == "log1p":
        return np.log1p(values)
    return values


def _period_panel(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, *, period: str,
                  file: str, covariates: tuple[str, ...] = ()) -> StaggeredPanel:
    design = spec.design  # without design.adoption the treatment column is a treated-and-post indicator
    return prepare_panel(frame, outcome, unit=design.unit, time=design.time, adoption=design.adoption,
                         treatment=design.treatment, cluster=design.cluster, covariates=covariates, period=period,
                         file=file)


def _unit_groups(frame: pd.DataFrame, spec: HypothesisSpec, panel: StaggeredPanel) -> dict[str, str]:
    """Each unit's implementing group (design.group, e.g. the CSO), for labelling campaigns."""
    if not spec.design.group:
        return {u: u for u in panel.unit_labels}
    mapping = frame.groupby(frame[spec.design.unit].astype("string"))[spec.design.group].first()
    return {u: str(mapping.get(u, u)) for u in panel.unit_labels}


def _finite(values: np.ndarray) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


# --------------------------------------------------------------------------------------------------- staggered


def _staggered_analysis(panel: StaggeredPanel, options: StaggeredOptions, spec: HypothesisSpec,
                        groups_of_unit: dict[str, str]) -> dict[str, Any]:
    """Everything the staggered DiD reports; the headline is picked by the caller."""
    never = panel.cohort == NEVER
    treated_cohorts = sorted({int(c) for c in panel.cohort if c != NEVER})
    if not treated_cohorts:
        raise NotTestable("no unit adopts within the panel window")
    if options.control_group == "never_treated" and not never.any():
        raise NotTestable("no never-treated (comparison) units; register control_group: not_yet_treated")
    try:
        cells = att_gt(panel, control_group=options.control_group, method=options.method,
                       base_period=options.base_period, anticipation=options.anticipation,
                       unbalanced=options.unbalanced_panel)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"a covariate model is singular ({exc})",
                              fix="drop covariates that do not vary within cohorts") from None
    if not cells.post.any():
        raise NotTestable("no post-adoption periods with both treated and comparison units observed")
    alpha = 1 - spec.inference.ci_level
    simple = aggregate(cells, "simple")
    dynamic = aggregate(cells, "event_time", event_window=options.event_window)
    by_group = aggregate(cells, "group")
    n_clusters = int(np.unique(panel.cluster).size)
    df = n_clusters - 1 if n_clusters > 1 else None
    crit = float((stats.t(df) if df else stats.norm()).ppf(1 - alpha / 2))

    boot = multiplier_bootstrap(dynamic.psi, dynamic.row_cluster, draws=options.bootstrap_draws, seed=options.seed,
                                alpha=alpha)
    se_dyn = dynamic.std_errors()
    band = boot.uniform_critical_value if math.isfinite(boot.uniform_critical_value) else float("nan")
    labels = np.array(dynamic.labels)
    pre = labels < 0
    if options.base_period == "universal":
        pre &= labels != -1 - options.anticipation  # the reference period is 0 by construction
    pre_boot = type(boot)(boot.std_errors[pre], boot.uniform_critical_value, boot.draws[:, pre])
    pretrend = pretrend_test(dynamic.estimate[pre], dynamic.psi[:, pre], dynamic.row_cluster, pre_boot)

    period_labels = panel.period_labels
    se_cells = cells.std_errors()
    att_table = ATTgt(
        cohort=tuple(period_labels[g] for g in cells.group), period=tuple(period_labels[t] for t in cells.time),
        event_time=tuple(int(t - g) for g, t in zip(cells.group, cells.time, strict=True)),
        att=tuple(_finite(cells.att)), std_error=tuple(_finite(se_cells)),
        n_treated=tuple(int(v) for v in cells.n_treated), n_comparison=tuple(int(v) for v in cells.n_control))
    se_group = by_group.std_errors()
    per_campaign = []
    for g, est, se in zip(by_group.labels, by_group.estimate, se_group, strict=True):
        units = tuple(panel.unit_labels[i] for i in np.flatnonzero(panel.cohort == g))
        per_campaign.append(CampaignEffect(cohort=period_labels[g], units=units,
                                           groups=tuple(sorted({groups_of_unit.get(u, u) for u in units})),
                                           estimate=float(est), std_error=float(se),
                                           ci_low=float(est - crit * se), ci_high=float(est + crit * se)))

    # TWFE beside it, on the same unit x period panel.
    rows, cols = np.nonzero(np.isfinite(panel.y))
    treated_now = np.array([panel.cohort[i] != NEVER and t >= panel.cohort[i] for i, t in zip(rows, cols,
                                                                                              strict=True)])
    twfe_record: TwfeComparison
    try:
        twfe = twfe_did(panel.y[rows, cols], rows, cols, treated_now.astype(float), panel.cluster[rows])
        note = None
        if twfe.weights_negative:
            note = (f"TWFE puts negative weight on {twfe.weights_negative} of {twfe.treated_cells} treated "
                    f"unit-periods (sum {twfe.weights_negative_sum:.3f}): as the Goodman-Bacon decomposition shows, "
                    "it then also compares later- with earlier-treated units, so with effects that change over "
                    "time it can be biased, even in sign. The Callaway-Sant'Anna estimate is the registered one.")
        twfe_record = TwfeComparison.from_dict({  # a record: "note" is written even when None
            "estimate": twfe.estimate, "std_error": twfe.std_error,
            "ci_low": twfe.estimate - crit * twfe.std_error, "ci_high": twfe.estimate + crit * twfe.std_error,
            "n": twfe.n_obs, "n_clusters": twfe.n_clusters, "negative_weights": twfe.weights_negative,
            "negative_weight_sum": twfe.weights_negative_sum, "note": note,
            "model": "y ~ treated_post | unit + period, CR1 by cluster"})
    except EstimationError as exc:
        twfe_record = TwfeComparison.from_dict({"estimate": None, "note": exc.message})

    record: dict[str, Any] = {
        "cells": cells, "simple": simple, "dynamic": dynamic, "group": by_group, "df": df, "crit": crit,
        "n_clusters": n_clusters,
        "extras": {
            "model": (f"Callaway-Sant'Anna ATT(g,t), {cells.method}, {options.control_group.replace('_', '-')} "
                      f"comparison units, {options.base_period} base period, period = {options.period}, "
                      f"unbalanced panel: {options.unbalanced_panel}"),
            "att_gt": att_table,
            "aggregations": Aggregations(
                simple=AggregateEffect(estimate=simple.overall, std_error=simple.overall_std_error()),
                event_time=AggregateEffect(estimate=dynamic.overall, std_error=dynamic.overall_std_error(),
                                           note="average of the post-treatment event-time effects"),
                group=AggregateEffect(estimate=by_group.overall, std_error=by_group.overall_std_error()),
            ),
            "by_campaign": tuple(per_campaign),
            "event_study": EventStudyPart(
                event_time=tuple(int(e) for e in labels), estimate=tuple(_finite(dynamic.estimate)),
                std_error=tuple(_finite(se_dyn)), ci_low=tuple(_finite(dynamic.estimate - crit * se_dyn)),
                ci_high=tuple(_finite(dynamic.estimate + crit * se_dyn)),
                band_low=tuple(_finite(dynamic.estimate - band * se_dyn)),
                band_high=tuple(_finite(dynamic.estimate + band * se_dyn)),
                uniform_critical_value=band, period=options.period,
            ),
            "pretrend_test": pretrend,
            "twfe": twfe_record,
            "bootstrap": MultiplierBootstrap(draws=options.bootstrap_draws, seed=options.seed, weights="Mammen",
                                             clusters=n_clusters),
            "pooled_variance_cohorts": [period_labels[g] for g in cells.pooled_cohorts],
            "inference": f"influence function, clustered by {spec.design.cluster or spec.design.unit}; t with "
                         f"{df} df" if df else "influence function; normal",
        },
    }
    if cells.pooled_cohorts:
        record["extras"]["pooled_variance_note"] = (
            "cohorts with a single unit have no treated-side variance in the influence function; it is taken from "
            "the comparison units of each cell (the treated unit's noise assumed like a comparison unit's)")
    if options.relative_magnitudes or options.smoothness:
        record["extras"]["sensitivity"] = sensitivity_record(universal_event_study(panel, cells, options), options,
                                                             alpha)
    return record


def universal_event_study(panel: StaggeredPanel, cells: AttGT, options: StaggeredOptions) -> Aggregate:
    """The event study the sensitivity analysis needs: every coefficient relative to the one reference period
    before adoption (universal base). Re-estimated when the headline used varying base periods, whose pre-period
    coefficients are one-period changes rather than the path of the violation."""
    if cells.base_period != "universal":
        cells = att_gt(panel, control_group=options.control_group, method=options.method, base_period="universal",
                       anticipation=options.anticipation, unbalanced=options.unbalanced_panel)
    return aggregate(cells, "event_time", event_window=options.event_window)


def honest_event_study(study: Aggregate, window: tuple[int, int], anticipation: int) -> tuple[EventStudy,
                                                                                              list[int]]:
    """The universal-base event study as HonestDiD takes it: coefficients in the window without the reference
    period, with their cluster-robust influence-function covariance."""
    labels = np.array(study.labels)
    reference = -1 - anticipation
    keep = (labels >= window[0]) & (labels <= window[1]) & (labels != reference)
    events = labels[keep]
    n_pre = int((events < reference).sum())
    # HonestDiD needs consecutive event times around the reference period.
    expected = np.concatenate([np.arange(window[0], reference), np.arange(reference + 1, window[1] + 1)])
    if events.size == 0 or n_pre < 1 or not np.any(events > reference) or not np.array_equal(
            events, expected[(expected >= events.min()) & (expected <= events.max())]):
        raise EstimationError("the sensitivity window needs consecutive event times with at least one pre-period "
                              "besides the reference and one post-period",
                              fix="widen sensitivity_window or the event_window")
    sums = _cluster_sums(study.psi[:, keep], study.row_cluster)
    return EventStudy(beta=study.estimate[keep].astype(float), sigma=sums.T @ sums, n_pre=n_pre,
                      n_post=int(events.size - n_pre)), [int(e) for e in events]


def sensitivity_record(study: Aggregate, options: StaggeredOptions, alpha: float) -> HonestSensitivity:
    """extras["sensitivity"]: HonestDiD under Delta^RM and/or Delta^SD (Rambachan and Roth 2023)."""
    try:
        event_study, events = honest_event_study(study, options.sensitivity_window, options.anticipation)
    except EstimationError as exc:
        return HonestSensitivity(available=False, reason=exc.message)
    n_post = event_study.n_post
    l_vec = np.full(n_post, 1.0 / n_post) if options.sensitivity_target == "average" else np.eye(n_post)[0]
    target = ("average of the post-period event-time effects " if options.sensitivity_target == "average"
              else "first post-period effect ") + f"(event times {events[event_study.n_pre]}..{events[-1]})"
    out: dict[str, Any] = {"available": True, "event_times": events, "target": target,
                           "base_period": "universal (re-estimated when the headline uses varying base periods)",
                           "covariance": "cluster-robust influence function, normal approximation (as HonestDiD); "
                                         "with few treated units (see inference_rule) it may understate the noise"}
    for key, restriction, values, method in (
            ("relative_magnitudes", "relative_magnitudes", options.relative_magnitudes,
             options.sensitivity_method_rm),
            ("smoothness", "smoothness", options.smoothness, options.sensitivity_method_sd)):
        if not values:
            continue
        if restriction == "relative_magnitudes" and event_study.n_pre < 1:
            out[key] = {"available": False, "reason": "no pre-period change to scale"}
            continue
        result = honest_sensitivity(event_study, l_vec=l_vec, restriction=restriction, values=tuple(values),
                                    method=method, alpha=alpha, seed=options.seed, target=target)
        out[key] = result.to_dict()
    # The report's table (and the tutorial) read "bounds": the first restriction's rows.
    first = out.get("relative_magnitudes") or out.get("smoothness")
    out["bounds"] = first["rows"] if first and "rows" in first else []
    return HonestSensitivity.from_dict(out)  # restrictions in the order they were registered


def _fit_ppml(panel: StaggeredPanel, options: StaggeredOptions, spec: HypothesisSpec) -> dict[str, Any]:
    """Poisson pseudo-likelihood, unit and period effects, one post indicator per cohort (Wooldridge 2023's
    extended TWFE aggregated over time); the estimate is the treated-observation-weighted mean of exp(tau_g) - 1."""
    rows, cols = np.nonzero(np.isfinite(panel.y))
    y = panel.y[rows, cols]
    cohorts = sorted({int(c) for c in panel.cohort if c != NEVER})
    x = np.column_stack([((panel.cohort[rows] == g) & (cols >= g)).astype(float) for g in cohorts])
    fit = fit_ppml(y, x, fixed_effects=[rows, cols], clusters=panel.cluster[rows])
    weights = x.sum(axis=0) / x.sum()
    ratios = np.exp(fit.params) - 1
    estimate = float(weights @ ratios)
    gradient = weights * np.exp(fit.params)
    std_error = float(math.sqrt(gradient @ fit.vcov @ gradient))
    return {"estimate": estimate, "std_error": std_error, "n": fit.n_obs, "n_clusters": fit.n_clusters,
            "df": fit.n_clusters - 1,
            "extras": {"model": "PPML: y ~ sum_g post_g | unit + period (Poisson pseudo-likelihood), CR1; estimate "
                                "= mean proportional change exp(tau_g) - 1 weighted by treated observations",
                       "by_cohort": [{"cohort": panel.period_labels[g], "tau": float(b), "std_error": float(s),
                                      "proportional_change": float(math.exp(b) - 1)}
                                     for g, b, s in zip(cohorts, fit.params, np.sqrt(np.diag(fit.vcov)),
                                                        strict=True)],
                       "dropped_all_zero_units": fit.n_dropped}}


def fit_staggered_did(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: StaggeredDiDOptions,
                      *, file: str) -> EstimateResult:
    """Callaway-Sant'Anna staggered DiD; the registered aggregation is the estimate."""
    values = _transform(outcome, options.count_model, file=file, name=spec.outcome.name)
    panel = _period_panel(frame, values, spec, period=options.period, file=file, covariates=spec.covariates)
    counts = dict(panel.counts)
    groups_of_unit = _unit_groups(frame, spec, panel)
    inference_kw = {"ci_level": spec.inference.ci_level, "tails": spec.inference.tails, "direction": spec.direction}
    if options.count_model == "ppml":
        record = _fit_ppml(panel, options, spec)
        low, high, p, p_two = _inference(record["estimate"], record["std_error"], df=record["df"], **inference_kw)
        return EstimateResult(estimate=record["estimate"], std_error=record["std_error"], ci_low=low, ci_high=high,
                              ci_level=spec.inference.ci_level, p_value=p, p_value_two_sided=p_two,
                              df=float(record["df"]), n=record["n"], n_clusters=record["n_clusters"], se_type="CR1",
                              counts=counts, extras={**record["extras"], "count_model": "ppml"})

    analysis = _staggered_analysis(panel, options, spec, groups_of_unit)
    chosen = analysis[{"simple": "simple", "event_time": "dynamic", "group": "group"}[options.aggregation]]
    estimate, std_error = float(chosen.overall), float(chosen.overall_std_error())
    df = analysis["df"]
    rule = _few_treated_rule(panel, analysis["cells"], options, spec)
    if rule["rule"] == "permutation":
        test = rule.pop("result")
        low, high = test.ci_low, test.ci_high
        p, p_two = test.p_value(spec.inference.tails, spec.direction), test.p_value_two_sided
        df = None
    else:
        low, high, p, p_two = _inference(estimate, std_error, df=df, **inference_kw)
    extras = dict(analysis["extras"])
    extras["inference_rule"] = FewTreatedRule.from_dict(rule)
    if rule["rule"] == "permutation":
        extras["inference"] = ("Fisher permutation over units (adoption dates re-assigned), interval by inverting "
                               "the test of a constant effect; std_error from the influence function")
    extras.update(headline=options.aggregation, count_model=options.count_model,
                  scale="log(1 + y)" if options.count_model == "log1p" else "outcome units")
    if options.its_by_campaign is not None:
        its_options = options.its_by_campaign
        raw = pd.to_numeric(outcome, errors="coerce").astype("float64")
        its_panel = _period_panel(frame, raw, spec, period=its_options.period, file=file)
        extras["its_by_campaign"] = ItsByCampaign.from_dict(_its_campaigns(its_panel, its_options, spec,
                                                                           _unit_groups(frame, spec, its_panel)))
    cells = analysis["cells"]
    n_obs = int(np.isfinite(panel.y).sum())
    counts.update(unit_periods=n_obs, cohorts=int(np.unique(cells.group).size), cells=int(cells.att.size))
    return EstimateResult(estimate=estimate, std_error=std_error, ci_low=low, ci_high=high,
                          ci_level=spec.inference.ci_level, p_value=p, p_value_two_sided=p_two,
                          df=float(df) if df else None, n=n_obs, n_clusters=analysis["n_clusters"],
                          se_type=("permutation over units (Fisher); std_error from the influence function"
                                   if rule["rule"] == "permutation" else "influence function (clustered)"),
                          counts=counts, extras=extras)


def _few_treated_rule(panel: StaggeredPanel, cells: AttGT, options: StaggeredOptions,
                      spec: HypothesisSpec) -> dict[str, Any]:
    """Which inference the headline uses, keyed on the number of treated units (issue 15 item 5, issue 22 item 4).

    One to a handful of treated units leave the influence-function variance resting on those few rows: t(G - 1)
    with G counting every unit under-covers. Below ``permutation_below`` treated units (and always with one) the
    adoption pattern is re-assigned over units instead (Fisher permutation test, interval by test inversion).
    """
    n_treated = treated_unit_count(panel, options.anticipation)
    n_units = int(panel.cohort.size)
    clusters_coarser = int(np.unique(panel.cluster).size) < n_units
    base = {"treated_units": n_treated, "comparison_units": n_units - n_treated,
            "option": options.few_treated_inference, "permutation_below": options.permutation_below}
    wants = (options.few_treated_inference == "permutation" or n_treated == 1
             or (options.few_treated_inference == "auto" and n_treated < options.permutation_below))
    if not wants:
        return {**base, "rule": "influence_function",
                "reason": f"{n_treated} treated units (>= {options.permutation_below}): influence function, t(G - 1)"}
    if clusters_coarser:
        if n_treated == 1 or options.few_treated_inference == "permutation":
            raise NotTestable(f"{n_treated} treated unit(s) with clusters coarser than units: re-assigning adoption "
                              "dates over units would ignore the clustering, and one treated unit has no "
                              "cluster-robust variance", fix="cluster at the unit (design.cluster = design.unit) "
                              "or add treated units")
        return {**base, "rule": "influence_function",
                "reason": f"{n_treated} treated units but clusters coarser than units: the permutation over units is "
                          "not valid there; influence function with t(G - 1) (may under-cover with few treated)"}
    if n_treated == 1 and options.few_treated_inference == "influence_function":
        raise NotTestable("one treated unit: the influence-function variance has a single treated row, so its "
                          "interval is not valid", fix="use few_treated_inference: auto (permutation over units)")
    if options.unbalanced_panel == "balance":
        panel = balanced_panel(panel)
    test = permutation_inference(panel, cells, options.aggregation, control_group=options.control_group,
                                 method=options.method, anticipation=options.anticipation,
                                 event_window=options.event_window, ci_level=spec.inference.ci_level,
                                 draws=options.permutation_draws, seed=options.seed,
                                 unbalanced=options.unbalanced_panel)
    alpha = round(1 - spec.inference.ci_level, 12)
    if test.smallest_p_value > alpha + 1e-12:
        raise NotTestable(
            f"{n_treated} treated unit{'s' if n_treated != 1 else ''} and {n_units - n_treated} comparison units: "
            f"the permutation test's smallest attainable p-value is 1/{test.draws + 1} = {test.smallest_p_value:.3f}"
            f" > alpha = {alpha:g}, so no {spec.inference.ci_level:.0%} interval can exclude any effect",
            fix=f"add comparison units (at least {math.ceil(1 / alpha) - 1} re-assignments are needed) or register "
                "a lower ci_level")
    record = {**base, "rule": "permutation", "result": test, "permutation": test.record(),
              "reason": f"{n_treated} treated unit{'s' if n_treated != 1 else ''} (< {options.permutation_below}): "
                        "Fisher permutation over units, interval by inverting the test of a constant effect"}
    if not (math.isfinite(test.ci_low) and math.isfinite(test.ci_high)):
        record["unbounded_interval"] = ("the permutation interval is unbounded on "
                                        + ("both sides" if not (math.isfinite(test.ci_low) or
                                                                math.isfinite(test.ci_high))
                                           else "the low side" if not math.isfinite(test.ci_low) else "the high side")
                                        + ": no effect that far out is rejected at this level with these units")
    return record


# --------------------------------------------------------------------------------------------------- ITS


def _comparison_regressor(panel: StaggeredPanel) -> tuple[np.ndarray | None, int]:
    comparison = panel.y[panel.cohort == NEVER]
    if comparison.shape[0] == 0:
        return None, 0
    counts = np.isfinite(comparison).sum(axis=0)
    # Mean over the comparison units observed that period (NaN when none is).
    mean = np.where(counts > 0, np.nansum(comparison, axis=0) / np.maximum(counts, 1), np.nan)
    missing = ~np.isfinite(mean)
    if missing.all():
        return None, int(missing.sum())
    # A period no comparison unit observed gets the regressor's average (counted; the outcome is never filled).
    mean[missing] = float(np.nanmean(mean))
    return mean[:, None], int(missing.sum())


PERIOD_WORDS = {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters", "year": "years",
                "integer": "periods"}


def _unit_regressors(exog: np.ndarray | None, covariates: np.ndarray | None, i: int, series: np.ndarray,
                     names: tuple[str, ...], unit: str) -> np.ndarray | None:
    """The comparison mean and the unit's own registered (time-varying) covariates, one column each. Periods
    where the unit's outcome is unobserved carry no information, so a missing covariate there is harmless (set to
    0); a missing covariate where the outcome is observed cannot be, and is refused."""
    blocks = [exog] if exog is not None else []
    if covariates is not None:
        own = covariates[:, i, :].copy()
        gap = ~np.isfinite(own) & np.isfinite(series)[:, None]
        if gap.any():
            bad = [names[j] for j in np.flatnonzero(gap.any(axis=0))]
            raise NotTestable(f"covariate(s) {', '.join(bad)} missing in {int(gap.any(axis=1).sum())} period(s) "
                              "where the outcome is observed (a regressor is needed in every observed period, "
                              "including the campaign periods)",
                              fix="fill the regressor for every period or drop it from covariates")
        own[~np.isfinite(own)] = 0.0
        blocks.append(own)
    return np.column_stack(blocks) if blocks else None


def _covariate_cube(frame: pd.DataFrame, spec: HypothesisSpec, panel: StaggeredPanel, *, file: str
                    ) -> np.ndarray | None:
    """periods x units x covariates: each registered covariate's per-period mean on the panel's grid."""
    if not spec.covariates:
        return None
    mats = [period_matrix(frame, numeric_column(frame, name, file=file), unit_labels=panel.unit_labels,
                          unit=spec.design.unit, time=spec.design.time, period=panel.period,
                          first_label=panel.period_labels[0], n_periods=panel.n_periods, file=file)
            for name in spec.covariates]
    return np.stack([m.T for m in mats], axis=2)


def _its_campaigns(panel: StaggeredPanel, options: ItsModelOptions, spec: HypothesisSpec,
                   groups_of_unit: dict[str, str], covariates: np.ndarray | None = None) -> dict[str, Any]:
    exog, imputed = (None, 0) if options.comparison == "none" else _comparison_regressor(panel)
    if options.comparison == "mean" and exog is None:
        raise NotTestable("no comparison (never-treated) units to build the counterfactual regressor from",
                          fix="add comparison pages or register comparison: none")
    scale = options.model_scale
    seasonal = options.seasonal_periods
    words = PERIOD_WORDS[panel.period]
    z = float(stats.norm.ppf(1 - (1 - spec.inference.ci_level) / 2))
    campaigns: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    batched = (_batched_forecasts(panel, exog, covariates, options, spec)
               if options.intervention == "forecast" and batch_supported(options.level, seasonal,
                                                                          options.stochastic_seasonal) else {})
    for i in np.flatnonzero(panel.cohort != NEVER):
        unit = panel.unit_labels[i]
        n_pre = int(panel.cohort[i])
        series = panel.y[i]
        if np.isfinite(series[:n_pre]).sum() < options.min_pre:
            skipped.append({"unit": unit, "reason": f"fewer than {options.min_pre} observed pre-period {words}"})
            continue
        x = _unit_regressors(exog, covariates, i, series, spec.covariates, unit)
        try:
            main_moments, placebo_moments = batched.get(int(i), (None, None))
            record = (_forecast_campaign(series, x, n_pre, options, spec, panel, seasonal, scale, z, main_moments)
                      if options.intervention == "forecast" else
                      _intervention_campaign(series, x, n_pre, options, panel, seasonal, scale))
        except ValueError as exc:  # outcome outside the registered scale's domain
            raise NotTestable(f"unit {len(campaigns) + len(skipped) + 1} of the campaigns: {exc}",
                              fix="register a scale whose domain holds the outcome (level always does)") from None
        placebo = placebo_in_time(series, x, n_pre, fraction=options.placebo_fraction, min_pre=options.min_pre,
                                  level=options.level, seasonal=seasonal,
                                  stochastic_seasonal=options.stochastic_seasonal, scale=scale, period_word=words,
                                  moments=placebo_moments)
        if placebo.get("available"):
            placebo["placebo_start"] = panel.period_labels[placebo.pop("placebo_start_index")]
            placebo["rejects_at_alpha"] = bool(placebo["p_value"] < spec.inference.alpha)
        campaigns.append({"unit": unit, "group": groups_of_unit.get(unit, unit), "start": panel.period_labels[n_pre],
                          **record, "placebo_in_time": placebo})
    if not campaigns:
        raise NotTestable(f"no campaign has enough observed pre-period {words} for a counterfactual",
                          fix="lower estimator.options.min_pre_periods or collect a longer baseline")
    sts = StsModel(options.level, seasonal, options.stochastic_seasonal)
    regressors = ((["comparison-unit mean"] if exog is not None else []) + list(spec.covariates))
    model = (f"UnobservedComponents on {panel.period} periods: {sts.describe()}"
             + (f"; regressors: {', '.join(regressors)}" if regressors else "; no regressors")
             + {"forecast": "; fitted on the pre-period, campaign periods forecast (CausalImpact-style)",
                "level_shift": "; level-shift intervention in a model of the whole series",
                "pulse": "; pulse intervention in a model of the whole series",
                "slope_change": "; slope-change intervention in a model of the whole series",
                "none": "; plain fit of the whole series (estimate: final slope)"}[options.intervention]
             + f"; scale {scale}; exact-diffuse MLE; plug-in variances")
    return {"model": model, "campaigns": campaigns, "skipped": skipped, "comparison_periods_imputed": imputed,
            "regressors": regressors, "period": panel.period, "intervention": options.intervention,
            "seasonal": list(seasonal), "scale": _scale_words(scale, options.intervention)}


def _batched_forecasts(panel: StaggeredPanel, exog: np.ndarray | None, covariates: np.ndarray | None,
                       options: ItsModelOptions, spec: HypothesisSpec) -> dict[int, tuple[Any, Any]]:
    """Every campaign's forecast fit and its placebo's, fitted together (``fit_local_level_batch``: the same
    maximum and moments as one statsmodels fit each, to the optimiser's tolerance). A campaign the batch leaves
    out (too few periods, a refused covariate or scale, a maximum on the boundary) gets ``None`` and is fitted by
    statsmodels in the loop, which also raises any error in its usual words."""
    rows: list[tuple[int, bool, np.ndarray, np.ndarray, int, int]] = []
    for i in np.flatnonzero(panel.cohort != NEVER):
        n_pre = int(panel.cohort[i])
        series = panel.y[i]
        if np.isfinite(series[:n_pre]).sum() < options.min_pre:
            continue
        try:
            x = _unit_regressors(exog, covariates, i, series, spec.covariates, panel.unit_labels[i])
            model_y = transform_outcome(series, options.model_scale)
        except (NotTestable, ValueError):
            continue
        x = np.zeros((series.size, 0)) if x is None else x
        rows.append((int(i), False, model_y, x, n_pre, n_pre))
        fake_start = n_pre - int(round(options.placebo_fraction * n_pre))  # as placebo_in_time
        if options.min_pre <= fake_start < n_pre and np.isfinite(series[:fake_start]).sum() >= options.min_pre:
            window = model_y.copy()
            window[n_pre:] = np.nan  # the placebo's window ends at the campaign start
            rows.append((int(i), True, window, x, fake_start, n_pre))
    if not rows:
        return {}
    fits = fit_local_level_batch(np.stack([r[2] for r in rows]), np.stack([r[3] for r in rows]),
                                 np.array([r[4] for r in rows]), options.seasonal_periods, components=np.array([not r[1] for r in rows]))
    out: dict[int, list[Any]] = {}
    for (i, placebo, *_), fit in zip(rows, fits, strict=True):
        out.setdefault(i, [None, None])[int(placebo)] = fit
    return {i: (pair[0], pair[1]) for i, pair in out.items()}


def _scale_words(scale: str, intervention: str) -> str:
    if intervention in ("level_shift", "pulse", "slope_change", "none"):
        return {"level": "outcome units", "log_outcome": "log points", "log": "log points of y",
                "log1p": "log points of 1 + y", "logit": "logits"}[scale]
    return "log points (the outcome is a log)" if scale == "log_outcome" else "outcome units"


def outcome_bounds(seen: np.ndarray, scale: str) -> tuple[float | None, float | None]:
    """The bounds the outcome obeys, for drawing bands: 0 below when no value is negative (counts, shares); 1 above
    for shares (scale logit, or fractional values all within [0, 1]). ``None`` = unbounded on that side."""
    if scale == "logit":
        return 0.0, 1.0
    if not seen.size or seen.min() < 0:
        return None, None
    fractional = bool(np.any(seen != np.round(seen)))
    return 0.0, (1.0 if fractional and seen.max() <= 1 else None)


def _forecast_campaign(series: np.ndarray, x: np.ndarray | None, n_pre: int, options: ItsModelOptions,
                       spec: HypothesisSpec, panel: StaggeredPanel, seasonal: tuple[int, ...], scale: str,
                       z: float, moments: Any = None) -> dict[str, Any]:
    fit = fit_counterfactual(series, x, n_pre, level=options.level, seasonal=seasonal,
                             stochastic_seasonal=options.stochastic_seasonal, scale=scale,
                             ci_level=spec.inference.ci_level, draws=options.draws, seed=options.seed,
                             moments=moments)
    avg, se = fit.average_effect, fit.average_se
    effect = fit.pointwise_effect()
    low_cf, high_cf = fit.lower, fit.upper
    seen = series[np.isfinite(series)]
    band_note = None
    bounds = outcome_bounds(seen, scale)
    if scale == "level" and bounds[0] is not None and np.nanmin(low_cf) < bounds[0]:
        # Said, not silently clipped: the level model does not know the outcome's bound (numbers stay unclipped;
        # only the drawn band is cut at the bound).
        band_note = ("the counterfactual band goes below 0, which the outcome never does: register scale: log1p "
                     "(counts) or logit (shares strictly between 0 and 1) for bands that respect the bound")
    if scale == "level" and bounds[1] is not None and np.nanmax(high_cf) > bounds[1]:
        band_note = ((band_note + "; ") if band_note else "") + (
            "the counterfactual band goes above 1, which a share never does: register scale: logit for bands "
            "that respect the bound")
    return {
        "band_note": band_note,
        "n_pre": fit.n_pre_observed, "n_post": fit.n_post_observed,
        "average_effect": avg, "std_error": se, "ci_low": fit.average_ci[0], "ci_high": fit.average_ci[1],
        "p_value": its_p_value(avg, se),
        "cumulative_effect": fit.cumulative_effect, "cumulative_ci_low": fit.cumulative_ci[0],
        "cumulative_ci_high": fit.cumulative_ci[1],
        "relative_effect": fit.relative_effect, "relative_ci_low": fit.relative_ci[0],
        "relative_ci_high": fit.relative_ci[1], "relative_note": fit.relative_note,
        "params": fit.params, "variances": {k: v for k, v in fit.params.items() if k.startswith("sigma2")},
        "converged": fit.converged, "components": fit.components,
        "path": {"dates": list(panel.period_labels), "observed": _finite(series),
                 "counterfactual": _finite(np.concatenate([fit.fitted_pre, fit.predicted])),
                 "start_index": n_pre, "lower": _finite(low_cf), "upper": _finite(high_cf),
                 "bounds": list(bounds), "scale": scale,
                 "pointwise_effect": _finite(effect),
                 "pointwise_low": _finite(fit.observed - high_cf), "pointwise_high": _finite(fit.observed - low_cf)},
    }


def _intervention_campaign(series: np.ndarray, x: np.ndarray | None, n_pre: int, options: ItsModelOptions,
                           panel: StaggeredPanel, seasonal: tuple[int, ...], scale: str) -> dict[str, Any]:
    fit = fit_intervention(series, x, n_pre, kind=options.intervention, level=options.level, seasonal=seasonal,
                           stochastic_seasonal=options.stochastic_seasonal,
                           scale="level" if scale == "log_outcome" else scale)
    if scale == "log_outcome" and options.intervention in ("level_shift", "pulse"):
        rel, rel_ci, note = math.expm1(fit.estimate), (math.expm1(fit.ci[0]), math.expm1(fit.ci[1])), None
    else:
        rel, rel_ci, note = fit.relative_effect, fit.relative_ci, fit.relative_note
    fitted = _finite(fit.fitted)
    return {
        "n_pre": fit.n_pre_observed, "n_post": fit.n_post_observed,
        "average_effect": fit.estimate, "std_error": fit.std_error, "ci_low": fit.ci[0], "ci_high": fit.ci[1],
        "p_value": its_p_value(fit.estimate, fit.std_error), "effect_kind": options.intervention,
        "relative_effect": rel, "relative_ci_low": rel_ci[0], "relative_ci_high": rel_ci[1], "relative_note": note,
        "params": fit.params, "variances": {k: v for k, v in fit.params.items() if k.startswith("sigma2")},
        "converged": fit.converged, "components": fit.components,
        "path": {"dates": list(panel.period_labels), "observed": _finite(series), "counterfactual": fitted,
                 "start_index": n_pre, "lower": fitted[n_pre:], "upper": fitted[n_pre:],
                 "note": "fitted values of the whole-series model (intervention term included); no band"},
    }


def fit_its(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: ItsOptions, *,
            file: str) -> EstimateResult:
    """Counterfactual ITS per campaign; the estimate pools the campaigns' average effects, weighted by their
    observed campaign days (independent campaigns assumed; they share only the comparison regressor)."""
    values = pd.to_numeric(outcome, errors="coerce").astype("float64")  # the model transforms it (scale)
    panel = _period_panel(frame, values, spec, period=options.period, file=file)
    groups_of_unit = _unit_groups(frame, spec, panel)
    result = _its_campaigns(panel, options, spec, groups_of_unit,
                            covariates=_covariate_cube(frame, spec, panel, file=file))
    campaigns = [c for c in result["campaigns"] if c["n_post"] > 0 and math.isfinite(c["std_error"])]
    if not campaigns:
        raise NotTestable("no campaign has observed outcome periods after its start")
    weights = np.array([c["n_post"] for c in campaigns], dtype=float)
    weights /= weights.sum()
    estimate = float(weights @ np.array([c["average_effect"] for c in campaigns]))
    std_error = float(math.sqrt(np.sum((weights * np.array([c["std_error"] for c in campaigns])) ** 2)))
    low, high, p, p_two = _inference(estimate, std_error, df=None, ci_level=spec.inference.ci_level,
                                     tails=spec.inference.tails, direction=spec.direction)
    placebo_p = [c["placebo_in_time"].get("p_value") for c in result["campaigns"]
                 if c["placebo_in_time"].get("available")]
    extras: dict[str, Any] = {
        **{k: v for k, v in result.items() if k != "campaigns"},
        "by_campaign": tuple(CampaignEffect.from_dict(c) for c in result["campaigns"]),
        "pooling": "average of campaign effects weighted by observed campaign periods; normal inference",
        "placebo_rejections": int(sum(1 for v in placebo_p if v is not None and v < spec.inference.alpha)),
        "placebo_tests": len(placebo_p),
        "count_model": options.count_model,
    }
    if len(campaigns) == 1:
        only = campaigns[0]
        extras.update(relative_effect=only.get("relative_effect"), relative_ci_low=only.get("relative_ci_low"),
                      relative_ci_high=only.get("relative_ci_high"), relative_note=only.get("relative_note"))
    if options.staggered_did is not None:
        day_values = _transform(outcome, options.staggered_did.count_model if options.staggered_did.count_model !=
                                "ppml" else "none", file=file, name=spec.outcome.name)
        did_panel = _period_panel(frame, day_values, spec, period=options.staggered_did.period, file=file)
        analysis = _staggered_analysis(did_panel, options.staggered_did, spec, groups_of_unit)
        chosen = analysis[{"simple": "simple", "event_time": "dynamic",
                           "group": "group"}[options.staggered_did.aggregation]]
        est, se = float(chosen.overall), float(chosen.overall_std_error())
        crit = analysis["crit"]
        try:
            rule = _few_treated_rule(did_panel, analysis["cells"], options.staggered_did, spec)
        except NotTestable as exc:  # a robustness check: say why it has no interval, keep the ITS result
            rule = {"rule": "refused", "reason": exc.message}
        low_did, high_did = est - crit * se, est + crit * se
        if rule["rule"] == "permutation":
            test = rule.pop("result")
            low_did, high_did = test.ci_low, test.ci_high
        elif rule["rule"] == "refused":
            low_did, high_did = math.nan, math.nan
        extras["staggered_did"] = StaggeredCheck.from_dict({
            "estimate": est, "std_error": se, "ci_low": low_did, "ci_high": high_did, **analysis["extras"],
            "inference_rule": FewTreatedRule.from_dict(rule)})
    n_obs = int(sum(c["n_pre"] + c["n_post"] for c in result["campaigns"]))
    counts = {**panel.counts, "campaigns": len(result["campaigns"]), "campaigns_skipped": len(result["skipped"])}
    return EstimateResult(estimate=estimate, std_error=std_error, ci_low=low, ci_high=high,
                          ci_level=spec.inference.ci_level, p_value=p, p_value_two_sided=p_two, df=None, n=n_obs,
                          n_clusters=len(campaigns), se_type=("state-space forecast variance" if
                          options.intervention == "forecast" else "state-space smoothed variance"), counts=counts,
                          extras=extras)
