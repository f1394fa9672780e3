"""ANCOVA and change scores on a baseline/endline panel: one row per unit answering at both waves.

- ``model: ancova`` (default): ``y_post = c + b * treated + r * y_pre (+ x)``. With a noisy outcome and low
  autocorrelation it is more precise than difference-in-differences (McKenzie 2012).
- ``model: change_score``: ``y_post - y_pre = c + b * treated (+ x)``; without covariates it equals the panel DiD.

Covariates come from the pre wave and must not change between waves (see ``_survey_frame``). Inference follows the
registered rule (few-cluster rule included); randomization inference when the spec registers it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._blas import small_blas
from ..errors import DataError, EstimationError
from ..results import EstimateResult
from ..spec import HypothesisSpec
from ._catalog import AncovaOptions
from ._inference import regression_inference
from ._linalg import fit_within
from ._survey_frame import (
    NotTestable,
    Regressor,
    cluster_assignment,
    covariate_matrix,
    drop_constant_covariates,
    randomization_for_rule,
    randomization_record,
    refuse_post_treatment_covariates,
    treatment_indicator,
)
from ._weights import (
    calibrate,
    cluster_level_strata,
    fit_weighted_regression,
    psu_codes,
    weight_columns,
    weighted_inference,
)


def unit_panel(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, *, file: str,
               extra_columns: tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per unit with ``y_pre``, ``y_post`` (NaN when not answered), treatment, cluster and pre-wave columns.

    Units are those with a row in the pre wave; a unit without an answered post outcome keeps ``y_post = NaN``
    (attrition analysis needs them).
    """
    design = spec.design
    wave = frame[design.time].astype("string")
    is_pre = (wave == design.pre).fillna(False).to_numpy(dtype=bool)
    is_post = (wave == design.post).fillna(False).to_numpy(dtype=bool)
    if not is_post.any():
        raise NotTestable(f"no rows with {design.time} = '{design.post}' (the registered post wave)")
    if not is_pre.any():
        raise NotTestable(f"no rows with {design.time} = '{design.pre}' (the registered pre wave)")
    units = frame[design.unit].astype("string")
    if units.isna().any():
        raise DataError("missing unit identifiers", file=file, column=design.unit, fix="every row needs a unit id")
    treated = treatment_indicator(frame, design.treatment, file=file)
    for mask, label in ((is_pre, design.pre), (is_post, design.post)):
        duplicated = units[mask].duplicated()
        if duplicated.any():
            raise DataError(f"{int(duplicated.sum())} units appear twice in wave '{label}'", file=file,
                            column=design.unit, fix="remove duplicate interviews")
    columns = {"unit": units, "y": outcome.astype("float64"), "treated": treated}
    if design.cluster:
        columns["cluster"] = frame[design.cluster].astype("string")
    pre = pd.DataFrame(columns).loc[is_pre]
    for col in extra_columns:
        pre[col] = frame.loc[is_pre, col]
    post = pd.DataFrame(columns).loc[is_post, ["unit", "y", "treated"]]
    merged = pre.rename(columns={"y": "y_pre"}).merge(
        post.rename(columns={"y": "y_post", "treated": "treated_post"}), on="unit", how="left")
    changed = merged["treated_post"].notna() & (merged["treated_post"] != merged["treated"])
    if changed.any():
        raise DataError(f"treatment changes within {int(changed.sum())} units across waves", file=file,
                        column=design.treatment, fix="treatment assignment must be constant within a unit")
    if design.cluster and merged["cluster"].isna().any():
        raise DataError("missing cluster identifiers", file=file, column=design.cluster,
                        fix="every row needs a cluster id")
    counts = {"units_at_pre": int(len(merged)),
              "units_not_in_both_waves": int((merged["y_pre"].isna() | merged["y_post"].isna()).sum())}
    return merged.drop(columns="treated_post"), counts


@small_blas
def fit_ancova(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: AncovaOptions, *,
               file: str) -> EstimateResult:
    design = spec.design
    refuse_post_treatment_covariates(frame, spec.covariates, unit=design.unit, time=design.time,
                                     waves=[design.pre, design.post], file=file)  # type: ignore[list-item]
    blocks_column = spec.inference.randomization.blocks if spec.inference.randomization else None
    extra = tuple(dict.fromkeys([*spec.covariates, *([blocks_column] if blocks_column else []),
                                 *weight_columns(spec)]))
    units, counts = unit_panel(frame, outcome, spec, file=file, extra_columns=extra)
    counts = {"rows_in_source": len(frame), **counts}
    both = units["y_pre"].notna() & units["y_post"].notna()
    work = units.loc[both].reset_index(drop=True)
    counts["units"] = int(len(work))
    if work.empty:
        raise NotTestable("no unit answered the outcome at both registered waves")
    if design.cluster:
        by_arm = work.groupby("treated")["cluster"].nunique()
        for arm, label in ((1.0, "treated"), (0.0, "comparison")):
            if by_arm.get(arm, 0) < 1:
                raise NotTestable(f"the {label} arm has no cluster with units answering at both waves")
        counts["clusters_treated"] = int(by_arm.get(1.0, 0))
        counts["clusters_comparison"] = int(by_arm.get(0.0, 0))
    cov_x, cov_names = covariate_matrix(work, spec.covariates, file=file)
    cov_x, cov_names, covariates_dropped = drop_constant_covariates(cov_x, cov_names)
    treated = work["treated"].to_numpy(dtype=np.float64)
    ones = np.ones(len(work))
    if options.model == "ancova":
        y = work["y_post"].to_numpy(dtype=np.float64)
        regressors = [Regressor("treated", treated, ones), Regressor("intercept", ones),
                      Regressor("baseline_outcome", work["y_pre"].to_numpy(dtype=np.float64))]
    else:
        y = (work["y_post"] - work["y_pre"]).to_numpy(dtype=np.float64)
        regressors = [Regressor("treated", treated, ones), Regressor("intercept", ones)]
    regressors += [Regressor(name, cov_x[:, j]) for j, name in enumerate(cov_names)]
    x = np.column_stack([r.values for r in regressors])
    if spec.weights is not None:
        return _fit_weighted(work, y, x, regressors, spec, counts, options, covariates_dropped, file=file,
                             covariates=bool(cov_names))
    assignment = None
    if design.cluster:
        assignment = cluster_assignment(work["cluster"].to_numpy(), treated,
                                        work[blocks_column].astype("string").to_numpy() if blocks_column else None)
    try:
        fit = fit_within(y, x, fixed_effects=[], clusters=assignment.codes if assignment else None)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the design matrix is singular ({exc})", hypothesis_id=spec.id,
                              fix="check that both arms answered at both waves and covariates vary") from None
    try:
        arms = (counts["clusters_treated"], counts["clusters_comparison"]) if assignment else None
        randomization = randomization_for_rule(spec, fit.y, regressors, "treated", assignment=assignment,
                                               fixed_effects=[]) if assignment else None
        primary = regression_inference(fit, 0, spec, cluster_labels=assignment.labels if assignment else None,
                                       arms=arms, randomization=randomization)
    except ValueError as exc:
        raise EstimationError(str(exc), hypothesis_id=spec.id) from None
    estimate = float(fit.params[0])
    if assignment is not None:
        record = randomization_record(spec, fit.y, regressors, "treated", assignment=assignment, fixed_effects=[],
                                      observed=estimate)
        if record is not None:
            primary.record["alternatives"]["randomization"] = record
    extras: dict[str, Any] = {
        "coefficients": {r.name: float(v) for r, v in zip(regressors, fit.params, strict=True)},
        "model": ("ancova: y_post ~ treated + y_pre" if options.model == "ancova" else
                  "change score: y_post - y_pre ~ treated") + (" (+ covariates)" if cov_names else ""),
        "inference": primary.part,
    }
    if covariates_dropped:
        extras["covariates_dropped"] = covariates_dropped
    counts["observations"] = fit.n_obs
    return EstimateResult(
        estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=spec.inference.ci_level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided,
        df=primary.df, n=fit.n_obs, n_clusters=fit.n_clusters, se_type=primary.se_type, counts=counts,
        extras=extras, null_draws=primary.null_draws,
    )


def _fit_weighted(work: pd.DataFrame, y: np.ndarray, x: np.ndarray, regressors: list[Regressor],
                  spec: HypothesisSpec, counts: dict[str, int], options: AncovaOptions,
                  covariates_dropped: dict[str, str], *, file: str, covariates: bool) -> EstimateResult:
    """Registered survey weights: the units (their pre-wave margins and design weight) raked to the margins,
    weighted least squares, linearized variance with the raking adjustment (``_weights``)."""
    design = spec.design
    assert spec.weights is not None
    calibration = calibrate(work[list(weight_columns(spec))], np.full(len(work), str(design.pre)), spec.weights,
                            file=file)
    psu, clustered = psu_codes(work["cluster"].to_numpy() if design.cluster else None, work["unit"].to_numpy())
    strata, n_strata = cluster_level_strata(calibration, psu, clustered=clustered, cluster=design.cluster)
    try:
        fit = fit_weighted_regression(y, x, calibration=calibration, fixed_effects=[], psu=psu, strata=strata)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the design matrix is singular ({exc})", hypothesis_id=spec.id,
                              fix="check that both arms answered at both waves and covariates vary") from None
    arms = (counts["clusters_treated"], counts["clusters_comparison"]) if design.cluster else None
    estimate = float(fit.params[0])
    primary = weighted_inference(estimate, float(np.sqrt(fit.vcov[0, 0])), spec, n_psu=fit.n_psu, arms=arms,
                                 clustered=clustered, fixed_weights_se=float(np.sqrt(fit.vcov_fixed_weights[0, 0])),
                                 n_strata=n_strata)
    extras: dict[str, Any] = {
        "coefficients": {r.name: float(v) for r, v in zip(regressors, fit.params, strict=True)},
        "model": ("weighted ancova: y_post ~ treated + y_pre" if options.model == "ancova" else
                  "weighted change score: y_post - y_pre ~ treated") + (" (+ covariates)" if covariates else ""),
        "inference": primary.part, "survey_weights": calibration.record,
    }
    if covariates_dropped:
        extras["covariates_dropped"] = covariates_dropped
    counts["observations"] = fit.n_obs
    return EstimateResult(
        estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=spec.inference.ci_level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided,
        df=primary.df, n=fit.n_obs, n_clusters=fit.n_psu if clustered else None, se_type=primary.se_type,
        counts=counts, extras=extras)
