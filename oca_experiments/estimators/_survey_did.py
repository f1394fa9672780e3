"""2x2 difference-in-differences on survey waves.

Panel (default): ``y_it = a_i + g * post_t + b * D_it (+ x_i * post_t)`` with respondent fixed effects, on the
respondents observed in both waves; ``D = treated * post``. The wave effect is an explicit dummy rather than an
absorbed fixed effect so that every absorbed effect is nested in the clusters, which CR2, HC3 and the wild cluster
bootstrap need; the estimate and the iid/HC1/CR1 covariances are identical to absorbing it (fixest's K counts it
either way). A spec's ``fixed_effects`` columns are absorbed as further dimensions beside the respondent (as
fixest's ``| unit + f``); CR2, HC3 and the wild bootstrap then need them nested in the clusters too. Repeated
cross-sections: ``y = c + g * treated + l * post + b * treated * post (+ x)``.

Inference follows the registered rule (``_inference.regression_inference``): the registered SE type, switched to
the wild cluster bootstrap (Webb) or CR2-Satterthwaite by the few-cluster rule; CR1 uses t(G-1) as fixest, pyfixest
and Stata do. Randomization inference is added when the spec registers it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from .._blas import small_blas
from ..errors import DataError, EstimationError
from ..results import EstimateResult
from ..results.parts import GroupEffect, RawMeans
from ..spec import HypothesisSpec
from ._catalog import SurveyDiDOptions
from ._inference import predicted_refusal, regression_inference
from ._linalg import covariance, fit_within
from ._survey_frame import (
    NotTestable,
    Regressor,
    coded_cluster_assignment,
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

__all__ = ["NotTestable", "check_cluster_design", "fit_survey_did"]


def _check_waves(frame: pd.DataFrame, spec: HypothesisSpec) -> pd.Series:
    design = spec.design
    wave = frame[design.time].astype("string")
    if not (wave == design.post).any():
        raise NotTestable(f"no rows with {design.time} = '{design.post}' (the registered post wave)")
    if not (wave == design.pre).any():
        raise NotTestable(f"no rows with {design.time} = '{design.pre}' (the registered pre wave)")
    return wave


def id_codes(column: pd.Series) -> tuple[NDArray[np.intp], pd.Index]:
    """Integer codes of an identifier column (-1: missing) and the labels they stand for, as strings. A categorical
    column with string categories (a coded subgroup frame) gives its codes as they are: no string is touched."""
    if isinstance(column.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(column.cat.categories):
        return column.cat.codes.to_numpy(dtype=np.intp), pd.Index(column.cat.categories)
    codes, labels = pd.factorize(column.astype("string"))
    return codes.astype(np.intp, copy=False), labels


def label_code(labels: pd.Index, value: Any) -> int:
    """The code of ``value`` among ``labels`` (-2, which no row carries, when it is absent)."""
    hits = np.flatnonzero(np.asarray(labels == value, dtype=bool)) if len(labels) else np.empty(0, dtype=np.intp)
    return int(hits[0]) if hits.size else -2


def _distinct(codes: NDArray[np.intp]) -> int:
    """How many distinct non-negative codes."""
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def _dense(codes: NDArray[np.intp]) -> NDArray[np.intp]:
    """Codes renumbered 0..G-1. The numbering order does not matter where this is used (absorbed effects: group
    sums accumulate in row order whatever a group's number)."""
    return pd.factorize(codes)[0].astype(np.intp, copy=False)


def _check_clusters_per_arm(work: pd.DataFrame, counts: dict[str, int]) -> None:
    treated, clusters = work["treated"].to_numpy(), work["cluster"].to_numpy()
    clusters_by_arm = {arm: _distinct(clusters[treated == arm]) for arm in (1.0, 0.0)}
    for arm, label in ((1.0, "treated"), (0.0, "comparison")):
        if clusters_by_arm.get(arm, 0) < 1:
            raise NotTestable(f"the {label} arm has no cluster with observations in the estimation sample")
    counts["clusters_treated"] = int(clusters_by_arm.get(1.0, 0))
    counts["clusters_comparison"] = int(clusters_by_arm.get(0.0, 0))


def _units_by_level(work: pd.DataFrame, by_labels: pd.Index, levels: tuple[str, ...]) -> dict[str, int]:
    by, unit = work["by"].to_numpy(), work["unit"].to_numpy()
    return {level: _distinct(unit[by == label_code(by_labels, level)]) for level in levels}


def check_cluster_design(frame: pd.DataFrame, spec: HypothesisSpec, options: Any) -> str | None:
    """The few-cluster rule's refusal, predicted from the clusters per arm in the registered waves before any
    estimation (``design_check`` of survey_did and ancova), so that ``oca validate`` refuses what ``oca run``
    would. Counting every row of the registered waves over-counts clusters at worst (rows without an answer drop
    out at run time), so a refusal predicted here is certain. Returns the reason, or None."""
    design = spec.design
    if not design.cluster:
        return None
    try:
        wave = _check_waves(frame, spec)
        in_waves = wave.isin([design.pre, design.post]).fillna(False).to_numpy(dtype=bool)
        treated = treatment_indicator(frame, design.treatment, file="data").to_numpy()[in_waves]
    except (NotTestable, DataError):
        return None  # the estimator reports these itself, with the file named
    clusters = frame[design.cluster].astype("string").to_numpy()[in_waves]
    by_arm = pd.Series(clusters).groupby(treated).nunique()
    return predicted_refusal(spec, int(by_arm.get(1.0, 0)), int(by_arm.get(0.0, 0)))


@small_blas
def fit_survey_did(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SurveyDiDOptions, *,
                   file: str, alternatives: bool = True) -> EstimateResult:
    """The registered DiD. ``alternatives=False`` (a subgroup table's cell, which shows only the primary estimate
    and inference) skips what the cell would throw away: the wild-bootstrap alternative when it is not the primary,
    and the raw means; every number the cell reads is the same."""
    design = spec.design
    counts: dict[str, int] = {"rows_in_source": len(frame)}
    wave_codes, wave_labels = id_codes(frame[design.time])
    post_code, pre_code = label_code(wave_labels, design.post), label_code(wave_labels, design.pre)
    if not (wave_codes == post_code).any():
        raise NotTestable(f"no rows with {design.time} = '{design.post}' (the registered post wave)")
    if not (wave_codes == pre_code).any():
        raise NotTestable(f"no rows with {design.time} = '{design.pre}' (the registered pre wave)")
    in_waves = (wave_codes == post_code) | (wave_codes == pre_code)
    counts["rows_outside_registered_waves"] = int((~in_waves).sum())
    if options.panel:
        refuse_post_treatment_covariates(frame, spec.covariates, unit=design.unit, time=design.time,
                                         waves=[design.pre, design.post], file=file)  # type: ignore[list-item]

    # Identifiers become integer codes once (labels kept aside): every later step (duplicates, balance, cluster
    # counts) works on integers, not on millions of strings, and a subgroup re-fit on a coded frame
    # (``subgroup_frame``) skips the strings altogether. Codes are never ordered by label except where the order
    # matters (clusters and blocks: bootstrap and permutation draws follow the sorted labels).
    unit_codes, unit_labels = id_codes(frame[design.unit])
    work = pd.DataFrame({
        "y": outcome.to_numpy(dtype="float64"),
        "unit": unit_codes,
        "post": (wave_codes == post_code).astype("float64"),
        "treated": treatment_indicator(frame, design.treatment, file=file).to_numpy(),
    })
    cluster_labels = block_labels = by_labels = None
    if design.cluster:
        work["cluster"], cluster_labels = id_codes(frame[design.cluster])
    blocks_column = spec.inference.randomization.blocks if spec.inference.randomization else None
    if blocks_column:
        work["block"], block_labels = id_codes(frame[blocks_column])
    if options.by is not None:
        work["by"], by_labels = id_codes(frame[options.by.column])
    absorbed = [f"fe_{j}" for j in range(len(spec.fixed_effects))]
    for name, column in zip(absorbed, spec.fixed_effects, strict=True):
        work[name] = id_codes(frame[column])[0]
    for column in weight_columns(spec):
        work[f"wt:{column}"] = frame[column].to_numpy()
    cov_x, cov_names = covariate_matrix(frame.loc[in_waves], spec.covariates, file=file)
    work = work.loc[in_waves].reset_index(drop=True)

    if (work["unit"] < 0).any():
        raise DataError("missing unit identifiers", file=file, column=design.unit, fix="every row needs a unit id")
    if design.cluster and (work["cluster"] < 0).any():
        raise DataError("missing cluster identifiers", file=file, column=design.cluster,
                        fix="every row needs a cluster id")
    for name, column in zip(absorbed, spec.fixed_effects, strict=True):
        if (work[name] < 0).any():
            raise DataError("missing values in a fixed-effect column", file=file, column=column,
                            fix="every row in the registered waves needs a value, or drop it from fixed_effects")

    missing_y = work["y"].isna().to_numpy()
    counts["rows_missing_outcome"] = int(missing_y.sum())
    work, cov_x = work.loc[~missing_y].reset_index(drop=True), cov_x[~missing_y]

    if options.panel:
        unit, post_flag = work["unit"].to_numpy(), work["post"].to_numpy()
        # post is 0/1: a unit's pair (unit, post) repeats, or its treatment / wave varies, by per-unit counts.
        per_unit_wave = np.bincount(unit * 2 + post_flag.astype(np.intp), minlength=2 * (unit.max(initial=-1) + 1))
        duplicates = int(np.clip(per_unit_wave - 1, 0, None).sum())
        if duplicates:
            raise DataError(f"{duplicates} units appear twice in the same wave", file=file,
                            column=design.unit, fix="remove duplicate interviews or set panel: false")
        rows_per_unit = np.bincount(unit)
        treated_per_unit = np.bincount(unit, weights=work["treated"].to_numpy())
        changing = int(((treated_per_unit > 0) & (treated_per_unit < rows_per_unit)).sum())
        if changing:
            raise DataError(f"treatment changes within {changing} units across waves",
                            file=file, column=design.treatment,
                            fix="treatment assignment must be constant within a unit")
        both_waves = (per_unit_wave[0::2] > 0) & (per_unit_wave[1::2] > 0)
        balanced = both_waves[unit]
        counts["units_not_in_both_waves"] = int(((rows_per_unit > 0) & ~both_waves).sum())
        work, cov_x = work.loc[balanced].reset_index(drop=True), cov_x[balanced]
        counts["units"] = int(both_waves.sum())
    else:
        counts["units"] = _distinct(work["unit"].to_numpy())

    if work.empty:
        raise NotTestable("no observations left after keeping the registered waves and answered outcomes")
    if design.cluster:
        _check_clusters_per_arm(work, counts)

    treated, post = work["treated"].to_numpy(), work["post"].to_numpy()
    ones = np.ones(len(work))
    regressors = [Regressor("treated_x_post", treated * post, post)]
    extras: dict[str, Any] = {}
    target_name = "treated_x_post"
    if options.by is not None:
        level, reference = options.by.level, options.by.reference
        assert by_labels is not None
        by_codes = work["by"].to_numpy()
        level_code, reference_code = label_code(by_labels, level), label_code(by_labels, reference)
        for label, code in ((level, level_code), (reference, reference_code)):
            if not (by_codes == code).any():
                raise NotTestable(f"no observations with {options.by.column} = '{label}'")
        keep = (by_codes == level_code) | (by_codes == reference_code)
        work, cov_x = work.loc[keep].reset_index(drop=True), cov_x[keep]
        treated, post, ones = treated[keep], post[keep], ones[keep]
        is_level = (work["by"].to_numpy() == level_code).astype("float64")
        # Effect for `reference` is the coefficient on D; D * level is the difference (level minus reference).
        regressors = [Regressor("treated_x_post", treated * post, post),
                      Regressor("treated_x_post_x_level", treated * post * is_level, post * is_level),
                      Regressor("post_x_level", post * is_level)]
        if not options.panel:
            regressors += [Regressor("level", is_level), Regressor("treated_x_level", treated * is_level, is_level)]
        target_name = "treated_x_post_x_level"
    if options.panel:
        regressors.append(Regressor("post", post))
    else:
        regressors = [Regressor("treated", treated, ones), Regressor("post", post),
                      Regressor("intercept", ones)] + regressors
    cov_x, cov_names, covariates_dropped = drop_constant_covariates(cov_x, cov_names)
    if covariates_dropped:
        extras["covariates_dropped"] = covariates_dropped
    if options.panel:
        # Pre-treatment covariates are constant within a unit and absorbed by its fixed effect; they adjust the
        # estimate through their interaction with the post wave.
        cov_x = cov_x * post[:, None]
    regressors += [Regressor(name, cov_x[:, j]) for j, name in enumerate(cov_names)]
    names = [r.name for r in regressors]
    x = np.column_stack([r.values for r in regressors])

    # The plan lets spec.fixed_effects through only for the panel form (registry); each is one more absorbed
    # dimension beside the unit, e.g. interviewer or interview-month effects that vary within a unit.
    fixed_effects = [_dense(work["unit"].to_numpy())] if options.panel else []
    fixed_effects += [_dense(work[name].to_numpy()) for name in absorbed]
    if spec.weights is not None:
        return _fit_weighted(work, x, names, target_name, fixed_effects, spec, counts, extras, options, file=file,
                             covariates=bool(cov_names), labels=(unit_labels, cluster_labels, by_labels),
                             raw_means=alternatives)
    assignment = None
    clusters = None
    if design.cluster:
        assert cluster_labels is not None
        assignment = coded_cluster_assignment(
            work["cluster"].to_numpy(), cluster_labels, treated,
            (work["block"].to_numpy(), block_labels) if block_labels is not None else None)
        clusters = assignment.codes
    try:
        fit = fit_within(work["y"].to_numpy(), x, fixed_effects=fixed_effects, clusters=clusters)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the design matrix is singular ({exc})", hypothesis_id=spec.id,
                              fix="check that both arms are observed in both waves and covariates vary") from None

    target = names.index(target_name)
    try:
        arms = (counts["clusters_treated"], counts["clusters_comparison"]) if assignment else None
        randomization = randomization_for_rule(spec, fit.y, regressors, target_name, assignment=assignment,
                                               fixed_effects=fixed_effects) if assignment else None
        primary = regression_inference(fit, target, spec, cluster_labels=assignment.labels if assignment else None,
                                       arms=arms, randomization=randomization,
                                       all_alternatives=alternatives)
    except ValueError as exc:
        raise EstimationError(str(exc), hypothesis_id=spec.id) from None
    estimate = float(fit.params[target])
    vcov = None
    if options.by is not None:
        vcov = covariance(fit, "CR1" if clusters is not None else "HC1")
        ref_idx = names.index("treated_x_post")
        ref_effect = float(fit.params[ref_idx])
        level_var = vcov[ref_idx, ref_idx] + vcov[target, target] + 2 * vcov[ref_idx, target]
        assert by_labels is not None
        units_by = _units_by_level(work, by_labels, (options.by.reference, options.by.level))
        extras["effect_by_group"] = {
            options.by.reference: GroupEffect(estimate=ref_effect, std_error=float(np.sqrt(vcov[ref_idx, ref_idx])),
                                              n=int(units_by.get(options.by.reference, 0))),
            options.by.level: GroupEffect(estimate=ref_effect + estimate, std_error=float(np.sqrt(level_var)),
                                          n=int(units_by.get(options.by.level, 0))),
        }
    if assignment is not None:
        record = randomization_record(spec, fit.y, regressors, target_name, assignment=assignment,
                                      fixed_effects=fixed_effects, observed=estimate)
        if record is not None:
            primary.record["alternatives"]["randomization"] = record
    if options.by is None and alternatives:  # the report's raw picture (two waves, two arms), not a subgroup contrast
        extras["raw_means"] = _raw_means(work, spec)
    extras["coefficients"] = {name: float(v) for name, v in zip(names, fit.params, strict=True)}
    extras["model"] = ("panel: y ~ D + post | " + " + ".join(["unit", *spec.fixed_effects]) if options.panel else
                       "repeated cross-sections: y ~ treated + post + D") + (" (+ covariates)" if cov_names else "")
    extras["inference"] = primary.part
    counts["observations"] = fit.n_obs
    return EstimateResult(
        estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=spec.inference.ci_level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided,
        df=primary.df, n=fit.n_obs, n_clusters=fit.n_clusters, se_type=primary.se_type, counts=counts,
        extras=extras, null_draws=primary.null_draws,
    )


def subgroup_frame(frame: pd.DataFrame, spec: HypothesisSpec, options: SurveyDiDOptions) -> pd.DataFrame:
    """The columns ``fit_survey_did`` reads, with its identifier columns coded once (categoricals of their string
    labels) for re-fits on many row subsets (``disaggregate`` tables): a subset is then an integer take, and the
    fit reads the codes (``id_codes``) instead of converting and hashing millions of strings per cell. The
    numbers are the fit's on the same rows of ``frame``: codes only stand for labels, clusters and blocks are
    still ordered by label. A column also read as a number (treatment, covariate, raking margin) stays as is."""
    design = spec.design
    randomization = spec.inference.randomization
    identifiers = [design.time, design.unit, design.cluster, randomization.blocks if randomization else None,
                   options.by.column if options.by is not None else None, *spec.fixed_effects]
    read_as_is = [design.treatment, *weight_columns(spec), *spec.covariates]
    columns = list(dict.fromkeys(c for c in [*identifiers, *read_as_is] if c))
    out = frame[columns].copy()
    for column in dict.fromkeys(c for c in identifiers if c and c not in read_as_is):
        codes, labels = pd.factorize(frame[column].astype("string"))
        out[column] = pd.Categorical.from_codes(codes, categories=labels)
    return out


fit_survey_did.subgroup_frame = subgroup_frame  # type: ignore[attr-defined]  # read by _secondary_estimates
#: The fitter takes ``alternatives=False`` (read by _secondary_estimates: table cells show only the primary).
fit_survey_did.takes_alternatives = True  # type: ignore[attr-defined]


def _raw_means(work: pd.DataFrame, spec: HypothesisSpec, weights: np.ndarray | None = None) -> RawMeans:
    """Mean outcome per arm and wave, with the number of units behind each: the raw picture behind the DiD
    (weighted means when survey weights are registered)."""
    cells: dict[str, dict[str, Any]] = {}
    for arm, is_treated in (("treated", 1), ("comparison", 0)):
        for wave, is_post in (("pre", 0), ("post", 1)):
            mask = ((work["treated"] == is_treated) & (work["post"] == is_post)).to_numpy(dtype=bool)
            rows = work.loc[mask]
            mean = None
            if len(rows):
                mean = float(rows["y"].mean()) if weights is None else \
                    float(np.average(rows["y"].to_numpy(), weights=weights[mask]))
            cells.setdefault(arm, {})[wave] = {"mean": mean, "n": int(rows["unit"].nunique())}
    out: dict[str, Any] = {"waves": [str(spec.design.pre), str(spec.design.post)], "arms": cells}
    if weights is not None:
        out["weighted"] = True
    return RawMeans.from_dict(out)  # a cell's mean stays written when None (an empty cell)


def _fit_weighted(work: pd.DataFrame, x: np.ndarray, names: list[str], target_name: str,
                  fixed_effects: list[np.ndarray], spec: HypothesisSpec, counts: dict[str, int],
                  extras: dict[str, Any], options: SurveyDiDOptions, *, file: str,
                  covariates: bool, labels: tuple[pd.Index, pd.Index | None, pd.Index | None],
                  raw_means: bool = True) -> EstimateResult:
    """The registered survey weights: each wave of the estimation sample raked to the margins, weighted least
    squares (weighted within transformation for the absorbed effects), linearized variance (``_weights``)."""
    design = spec.design
    assert spec.weights is not None
    rows = work[[f"wt:{c}" for c in weight_columns(spec)]].rename(columns=lambda c: c[3:])
    wave = np.where(work["post"].to_numpy() == 1.0, str(design.post), str(design.pre))
    calibration = calibrate(rows, wave, spec.weights, file=file)
    unit_labels, cluster_labels, by_labels = labels
    # The PSUs by their labels, as before coding (psu_codes numbers them in label order).
    clusters = (np.asarray(cluster_labels, dtype=object)[work["cluster"].to_numpy()]
                if design.cluster and cluster_labels is not None else None)
    psu, clustered = psu_codes(clusters, np.asarray(unit_labels, dtype=object)[work["unit"].to_numpy()])
    strata, n_strata = cluster_level_strata(calibration, psu, clustered=clustered, cluster=design.cluster)
    try:
        fit = fit_weighted_regression(work["y"].to_numpy(dtype=np.float64), x, calibration=calibration,
                                      fixed_effects=fixed_effects, psu=psu, strata=strata)
    except np.linalg.LinAlgError as exc:
        raise EstimationError(f"the design matrix is singular ({exc})", hypothesis_id=spec.id,
                              fix="check that both arms are observed in both waves and covariates vary") from None
    target = names.index(target_name)
    arms = (counts["clusters_treated"], counts["clusters_comparison"]) if design.cluster else None
    std_error = float(np.sqrt(fit.vcov[target, target]))
    primary = weighted_inference(float(fit.params[target]), std_error, spec, n_psu=fit.n_psu, arms=arms,
                                 clustered=clustered, n_strata=n_strata,
                                 fixed_weights_se=float(np.sqrt(fit.vcov_fixed_weights[target, target])))
    estimate = float(fit.params[target])
    if options.by is not None:
        ref_idx = names.index("treated_x_post")
        ref_effect = float(fit.params[ref_idx])
        level_var = fit.vcov[ref_idx, ref_idx] + fit.vcov[target, target] + 2 * fit.vcov[ref_idx, target]
        assert by_labels is not None
        units_by = _units_by_level(work, by_labels, (options.by.reference, options.by.level))
        extras["effect_by_group"] = {
            options.by.reference: GroupEffect(estimate=ref_effect,
                                              std_error=float(np.sqrt(fit.vcov[ref_idx, ref_idx])),
                                              n=int(units_by.get(options.by.reference, 0))),
            options.by.level: GroupEffect(estimate=ref_effect + estimate, std_error=float(np.sqrt(level_var)),
                                          n=int(units_by.get(options.by.level, 0))),
        }
    elif raw_means:
        extras["raw_means"] = _raw_means(work, spec, calibration.weights)
    extras["coefficients"] = {name: float(v) for name, v in zip(names, fit.params, strict=True)}
    extras["model"] = ("weighted panel: y ~ D + post | " + " + ".join(["unit", *spec.fixed_effects])
                       if options.panel else "weighted repeated cross-sections: y ~ treated + post + D") + \
        (" (+ covariates)" if covariates else "")
    extras["inference"] = primary.part
    extras["survey_weights"] = calibration.record
    counts["observations"] = fit.n_obs
    return EstimateResult(
        estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low, ci_high=primary.ci_high,
        ci_level=spec.inference.ci_level, p_value=primary.p_value, p_value_two_sided=primary.p_value_two_sided,
        df=primary.df, n=fit.n_obs, n_clusters=fit.n_psu if clustered else None, se_type=primary.se_type,
        counts=counts, extras=extras)
