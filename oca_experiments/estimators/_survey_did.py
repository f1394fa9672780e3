"""2x2 difference-in-differences on survey waves.

Panel (default): ``y_it = a_i + l_t + b * D_it (+ x_i * post_t)`` with respondent and wave fixed effects, on the
respondents observed in both waves; ``D = treated * post``. Repeated cross-sections:
``y = c + g * treated + l * post + b * treated * post (+ x)``. Cluster-robust (CR1) inference by the spec's cluster
column with t(G-1) reference distribution, matching fixest/pyfixest and Stata conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, EstimationError
from ..outcomes import numeric_column
from ..results import EstimateResult
from ..spec import HypothesisSpec
from ._catalog import SurveyDiDOptions
from ._inference import t_inference
from ._linalg import factorize, fit_linear


class NotTestable(EstimationError):
    """The data cannot test the hypothesis as registered (e.g. an arm without clusters)."""


def _treatment_indicator(frame: pd.DataFrame, column: str, *, file: str) -> pd.Series:
    values = numeric_column(frame, column, file=file)
    if values.isna().any():
        raise DataError(f"{int(values.isna().sum())} missing treatment values", file=file, column=column,
                        fix="every row needs a 0/1 treatment assignment")
    if not values.isin([0.0, 1.0]).all():
        raise DataError("treatment must be coded 0/1", file=file, column=column,
                        fix="recode the treatment column to 0 (comparison) and 1 (treated)")
    return values


def _covariate_matrix(frame: pd.DataFrame, covariates: tuple[str, ...], *, file: str) -> tuple[np.ndarray,
                                                                                                  list[str]]:
    """Numeric covariates as they are; text covariates as dummies (first level dropped)."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in covariates:
        series = frame[col]
        if pd.api.types.is_numeric_dtype(series):
            values = series.astype("float64")
            if values.isna().any():
                raise DataError(f"{int(values.isna().sum())} missing covariate values", file=file, column=col,
                                fix="impute or drop the covariate in the spec")
            blocks.append(values.to_numpy()[:, None])
            names.append(col)
        else:
            if series.isna().any():
                raise DataError(f"{int(series.isna().sum())} missing covariate values", file=file, column=col,
                                fix="impute or drop the covariate in the spec")
            dummies = pd.get_dummies(series.astype(str), prefix=col, drop_first=True, dtype="float64")
            blocks.append(dummies.to_numpy())
            names.extend(dummies.columns)
    if not blocks:
        return np.empty((len(frame), 0)), []
    return np.column_stack(blocks), names


def fit_survey_did(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SurveyDiDOptions, *,
                   file: str) -> EstimateResult:
    design = spec.design
    counts: dict[str, int] = {"rows_in_source": len(frame)}

    wave = frame[design.time].astype("string")
    in_waves = wave.isin([design.pre, design.post]).fillna(False).to_numpy(dtype=bool)
    counts["rows_outside_registered_waves"] = int((~in_waves).sum())
    if not (wave == design.post).any():
        raise NotTestable(f"no rows with {design.time} = '{design.post}' (the registered post wave)")
    if not (wave == design.pre).any():
        raise NotTestable(f"no rows with {design.time} = '{design.pre}' (the registered pre wave)")

    work = pd.DataFrame({
        "y": outcome.to_numpy(dtype="float64"),
        "unit": frame[design.unit].astype("string").to_numpy(),
        "post": (wave == design.post).fillna(False).to_numpy(dtype="float64"),
        "treated": _treatment_indicator(frame, design.treatment, file=file).to_numpy(),
    })
    if design.cluster:
        work["cluster"] = frame[design.cluster].astype("string").to_numpy()
    if options.by is not None:
        work["by"] = frame[options.by.column].astype("string").to_numpy()
    cov_x, cov_names = _covariate_matrix(frame, spec.covariates, file=file)
    work = work.loc[in_waves].reset_index(drop=True)
    cov_x = cov_x[in_waves]

    if work["unit"].isna().any():
        raise DataError("missing unit identifiers", file=file, column=design.unit, fix="every row needs a unit id")
    if design.cluster and work["cluster"].isna().any():
        raise DataError("missing cluster identifiers", file=file, column=design.cluster,
                        fix="every row needs a cluster id")

    missing_y = work["y"].isna().to_numpy()
    counts["rows_missing_outcome"] = int(missing_y.sum())
    work, cov_x = work.loc[~missing_y].reset_index(drop=True), cov_x[~missing_y]

    if options.panel:
        dup = work.duplicated(["unit", "post"])
        if dup.any():
            raise DataError(f"{int(dup.sum())} units appear twice in the same wave", file=file,
                            column=design.unit, fix="remove duplicate interviews or set panel: false")
        treat_per_unit = work.groupby("unit")["treated"].nunique()
        if (treat_per_unit > 1).any():
            raise DataError(f"treatment changes within {int((treat_per_unit > 1).sum())} units across waves",
                            file=file, column=design.treatment,
                            fix="treatment assignment must be constant within a unit")
        waves_per_unit = work.groupby("unit")["post"].transform("nunique")
        balanced = (waves_per_unit == 2).to_numpy()
        counts["units_not_in_both_waves"] = int(work.loc[~balanced, "unit"].nunique())
        work, cov_x = work.loc[balanced].reset_index(drop=True), cov_x[balanced]
        counts["units"] = int(work["unit"].nunique())
        # Pre-treatment covariates are constant within a unit and absorbed by its fixed effect; they adjust the
        # estimate through their interaction with the post wave.
        cov_x = cov_x * work["post"].to_numpy()[:, None]

    if work.empty:
        raise NotTestable("no observations left after keeping the registered waves and answered outcomes")
    if design.cluster:
        clusters_by_arm = work.groupby("treated")["cluster"].nunique()
        for arm, label in ((1.0, "treated"), (0.0, "comparison")):
            if clusters_by_arm.get(arm, 0) < 2:
                raise NotTestable(f"the {label} arm has {int(clusters_by_arm.get(arm, 0))} cluster(s); "
                                  "cluster-robust inference needs at least 2 per arm")
        counts["clusters_treated"] = int(clusters_by_arm.get(1.0, 0))
        counts["clusters_comparison"] = int(clusters_by_arm.get(0.0, 0))

    d = (work["treated"] * work["post"]).to_numpy()
    regressors = [d]
    names = ["treated_x_post"]
    extras: dict[str, Any] = {}
    if options.by is not None:
        level, reference = options.by.level, options.by.reference
        observed = set(work["by"].dropna().unique())
        for label in (level, reference):
            if label not in observed:
                raise NotTestable(f"no observations with {options.by.column} = '{label}'")
        keep = work["by"].isin([level, reference]).fillna(False).to_numpy(dtype=bool)
        work, cov_x, d = work.loc[keep].reset_index(drop=True), cov_x[keep], d[keep]
        is_level = (work["by"] == level).to_numpy(dtype="float64")
        post = work["post"].to_numpy()
        # Effect for `reference` is the coefficient on D; D * level is the difference (level minus reference).
        regressors = [d, d * is_level, post * is_level]
        names = ["treated_x_post", "treated_x_post_x_level", "post_x_level"]
        if not options.panel:
            regressors += [is_level, work["treated"].to_numpy() * is_level]
            names += ["level", "treated_x_level"]
    if not options.panel:
        regressors = [work["treated"].to_numpy(), work["post"].to_numpy(), np.ones(len(work))] + regressors
        names = ["treated", "post", "intercept"] + names
    x = np.column_stack(regressors + ([cov_x] if cov_x.shape[1] else []))
    names += cov_names

    fixed_effects = []
    if options.panel:
        fixed_effects = [factorize(work["unit"].to_numpy())[0], factorize(work["post"].to_numpy())[0]]
    clusters = factorize(work["cluster"].to_numpy())[0] if design.cluster else None
    se_type = spec.inference.se
    if se_type == "CR1" and clusters is None:
        raise EstimationError("se: CR1 needs design.cluster", hypothesis_id=spec.id)
    try:
        fit = fit_linear(work["y"].to_numpy(), x, fixed_effects=fixed_effects, se_type=se_type, clusters=clusters)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the design matrix is singular ({exc})", hypothesis_id=spec.id,
                              fix="check that both arms are observed in both waves and covariates vary") from None

    target = names.index("treated_x_post_x_level" if options.by is not None else "treated_x_post")
    estimate = float(fit.params[target])
    std_error = float(np.sqrt(fit.vcov[target, target]))
    if options.by is not None:
        ref_idx = names.index("treated_x_post")
        ref_effect = float(fit.params[ref_idx])
        level_var = fit.vcov[ref_idx, ref_idx] + fit.vcov[target, target] + 2 * fit.vcov[ref_idx, target]
        extras["effect_by_group"] = {
            options.by.reference: {"estimate": ref_effect, "std_error": float(np.sqrt(fit.vcov[ref_idx, ref_idx]))},
            options.by.level: {"estimate": ref_effect + estimate, "std_error": float(np.sqrt(level_var))},
        }
    inference = t_inference(estimate, std_error, fit.df_inference, ci_level=spec.inference.ci_level,
                            tails=spec.inference.tails, direction=spec.direction)
    extras["coefficients"] = {name: float(v) for name, v in zip(names, fit.params, strict=True)}
    extras["model"] = ("panel: y ~ D | unit + wave" if options.panel else "repeated cross-sections: "
                       "y ~ treated + post + D") + (" (+ covariates)" if cov_names else "")
    counts["observations"] = fit.n_obs
    return EstimateResult(
        estimate=estimate, std_error=std_error, ci_low=inference.ci_low, ci_high=inference.ci_high,
        ci_level=spec.inference.ci_level, p_value=inference.p_value,
        p_value_two_sided=inference.p_value_two_sided, df=float(fit.df_inference), n=fit.n_obs,
        n_clusters=fit.n_clusters, se_type=se_type, counts=counts, extras=extras,
    )
