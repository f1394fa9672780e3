"""Survey weights: raking to registered population margins and the Taylor-linearized variance that accounts for it.

**Weights.** Each wave's estimation sample (the rows an estimator uses) starts from its design weights (a column, or
1) and is raked to the registered margins by iterative proportional fitting: the weights of each margin category
are scaled to the category's target in turn until every margin holds to ``tolerance``. Shares are scaled to the
wave's total design weight (its n without design weights), totals are used as they are. With one margin this is
exact post-stratification. Registered trimming bounds (weight / the wave's mean weight) are applied after raking
and raking repeated until both hold; when they cannot both hold the bounds win and the diagnostics say how far the
margins moved.

**Variance.** As R ``survey`` computes it for a calibrated design (``svydesign(ids = ~cluster, weights = ~d)``,
``calibrate(..., calfun = "raking")``, then ``svyglm`` / ``svymean`` / ``svyratio``): every estimate is written
as a sum of per-row influence values ``z_i = w_i u_i`` (for a regression ``u_i = (X'WX)^-1 x_i e_i``), the
calibration adjustment replaces ``u`` by its residual from a design-weighted least-squares fit on the calibration
variables (``qr.resid`` in ``survey:::svyrecvar``: raking then removes the variance the margins explain), and the
variance is ``G / (G - 1)`` times the sum of squared centred cluster totals of the adjusted ``z`` (one stage, with
replacement, no finite-population correction). Margins constant within clusters (site, district) post-stratify
whole clusters: their categories are strata (``cluster_level_strata``: centring within each, ``n_h / (n_h - 1)``),
as ``svydesign(ids = ~cluster, strata = ~site)``. Tests use t with G - H design degrees of freedom, as Stata's
``svy`` and R's ``degf``; R's ``summary.svyglm`` uses G - p instead (same SE, slightly wider p-values).

R ``rake()`` approximates the same adjustment by ten sweeps of alternating projections; oca computes the exact
projection, as ``calibrate()`` does (the reference in tests/reference/survey_weights/ uses ``calibrate``).

Why hand-written: on PyPI, ``samplics`` rakes and gives Taylor variances of means and ratios but treats the raked
weights as fixed (no calibration residual) and has no regression with absorbed fixed effects; ``ipfn``, ``balance``
and ``weightipy`` only produce weights. What is needed here is three short pieces (IPF, one weighted projection,
cluster totals), checked against R ``survey`` to 1e-6 relative in tests/reference/test_survey_weights_reference.py.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import DataError, NotTestable
from ..outcomes import numeric_column
from ..results.parts import SurveyWeightsRecord
from ..spec import HypothesisSpec, SurveyWeights
from ._inference import ClusterCounts, PrimaryInference, few_cluster_decision, t_inference, t_interval

__all__ = ["Calibration", "WeightedRegression", "calibrate", "cluster_level_strata", "weights_design_check", "check_weight_margins",
           "fit_weighted_regression",
           "linearized_covariance", "weight_columns", "weighted_inference"]

#: Raking + trimming cycles before the trimming bounds are declared to win over the margins.
_TRIM_CYCLES = 200


def weight_columns(spec: HypothesisSpec) -> tuple[str, ...]:
    """The columns an estimator must carry into its estimation sample to rake it."""
    return spec.weights.columns() if spec.weights is not None else ()


def _category_text(series: pd.Series) -> pd.Series:
    """Categories compared as text, as the spec's margins are: 1.0 read from a CSV is '1'."""
    if pd.api.types.is_float_dtype(series) and series.dropna().apply(float.is_integer).all():
        series = series.astype("Int64")
    return series.astype("string")


#: A data category is named in an error only when it looks like a code (no formula, no free text).
_SHOWABLE = re.compile(r"^[\w][\w .,/()+-]{0,39}$")


def _showable(category: str) -> bool:
    return bool(_SHOWABLE.match(category))


def _did_you_mean(name: str, candidates: Sequence[str]) -> str:
    same_letters = [c for c in candidates if sorted(c.lower()) == sorted(name.lower())]  # 'mael', 'Male'
    close = list(dict.fromkeys(same_letters + difflib.get_close_matches(name, list(candidates), n=2, cutoff=0.6)))[:2]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def check_weight_margins(spec: HypothesisSpec, frame: pd.DataFrame, *, file: str, where: str) -> None:
    """Data errors against the registered weights (preflight: ``oca validate`` and ``oca run`` stop with one line):
    a category in the data that the margins lack, a margin category misspelt (it has no row and a close data
    category has no margin: did-you-mean), a registered-wave row without a margin value, a missing or non-positive
    design weight. A margin category that is merely absent from this data makes the hypothesis not testable instead
    (``weights_design_check``), so the other hypotheses still run."""
    weights = spec.weights
    if weights is None:
        return
    design = spec.design
    rows = frame
    if design.pre is not None and design.time in frame.columns:
        waves = [w for w in (design.pre, design.post) if w is not None]
        rows = frame.loc[frame[design.time].astype("string").isin(waves).fillna(False).to_numpy(dtype=bool)]
    for column, margin in weights.margins.items():
        field = f"weights.margins.{column}"
        values = _category_text(rows[column])
        missing = int(values.isna().sum())
        if missing:
            raise DataError(f"{missing} rows of the registered waves have no value in margin column '{column}' "
                            f"({where}, {field}); raking needs every row's category", file=file, column=column,
                            fix="fill the category (e.g. from the baseline interview) or drop those rows by "
                            "design.subset")
        present = sorted(set(values.dropna()))
        registered = list(margin)
        for category in registered:
            hint = _did_you_mean(category, [c for c in present if c not in margin and _showable(c)])
            if category not in present and hint:  # a misspelling; a category merely absent: weights_design_check
                raise DataError(f"{field} category '{category}' ({where}) has no row in the data{hint}; "
                                f"categories in the data: {', '.join(c for c in present if _showable(c))}", file=file, column=column,
                                fix=f"correct the category's spelling in {field}")
        for category in present:
            if category not in margin:
                shown = f"category '{category}'" if _showable(category) else \
                    "a category (value not shown: it looks like free text or a formula)"
                hint = _did_you_mean(category, registered) if _showable(category) else ""
                raise DataError(f"{shown} of column '{column}' is in the data but not in {field} ({where}){hint}; "
                                f"registered categories: {', '.join(registered)}", file=file, column=column,
                                fix=f"add the category with its population share to {field}, or recode the data")
    if weights.design_weight:
        values = numeric_column(rows, weights.design_weight, file=file)
        bad = int((values.isna() | ~(values > 0)).sum())
        if bad:
            raise DataError(f"{bad} rows of the registered waves have a missing or non-positive design weight "
                            f"(weights.design_weight, {where})", file=file, column=weights.design_weight,
                            fix="every respondent needs a design weight > 0 (the inverse of the inclusion "
                            "probability)")


def weights_design_check(frame: pd.DataFrame, spec: HypothesisSpec, options: Any) -> str | None:
    """What makes registered weights impossible on this data, short of a data error (``design_check`` of the
    weighted estimators, run by ``oca validate`` and ``oca run`` before estimation; the hypothesis is then not
    testable, the others still run): a registered margin category nobody in the registered waves belongs to, or,
    for a margin constant within clusters, a category holding a single cluster (its variance cannot be
    estimated: ``cluster_level_strata``). Returns the reason, or None."""
    weights, design = spec.weights, spec.design
    if weights is None:
        return None
    rows = frame
    if design.pre is not None and design.time in frame.columns:
        waves = [w for w in (design.pre, design.post) if w is not None]
        rows = frame.loc[frame[design.time].astype("string").isin(waves).fillna(False).to_numpy(dtype=bool)]
    clusters = rows[design.cluster].astype("string") if design.cluster and design.cluster in rows.columns else None
    for column, margin in weights.margins.items():
        if column not in rows.columns:
            return None  # the preflight reports the missing column
        values = _category_text(rows[column])
        absent = [c for c in margin if c not in set(values.dropna())]
        if absent:
            return (f"weights.margins.{column} category '{absent[0]}' has nobody in the registered waves: raking "
                    "cannot reach its population share (merge it with a neighbouring category)")
        if clusters is None or clusters.isna().any() or values.isna().any():
            continue
        if (values.groupby(clusters.to_numpy()).nunique() > 1).any():
            continue  # varies within clusters: not a stratum of whole clusters
        per_category = clusters.groupby(values.to_numpy()).nunique()
        single = per_category[per_category < 2]
        if len(single):
            return (f"weights.margins.{column} is constant within each {design.cluster} and category "
                    f"'{single.index[0]}' holds one {design.cluster}: raking to it post-stratifies that cluster "
                    "alone, whose variance cannot then be estimated (merge categories so that each holds at least "
                    "2 clusters, or drop the margin)")
    return None


# --------------------------------------------------------------------------- raking


@dataclass(frozen=True)
class Calibration:
    """Final weights of an estimation sample and what the variance's calibration adjustment needs."""

    weights: NDArray[np.float64]
    base: NDArray[np.float64]  # design weights before raking
    model: NDArray[np.float64]  # (n, m) indicators of wave x margin category: the calibration variables
    record: SurveyWeightsRecord  # the weight diagnostics (extras.survey_weights)
    categories: dict[str, NDArray[Any]] = field(default_factory=dict)  # margin column -> each row's category

    def cluster_level(self, psu: NDArray[np.intp]) -> dict[str, int]:
        """Margin columns constant within every PSU (e.g. district with communities as clusters) -> their number
        of categories. Raking to such a margin post-stratifies whole clusters: like strata, each costs the design
        degrees of freedom of its categories less one, and a category holding one cluster removes that cluster's
        variation from the linearized variance entirely (``cluster_level_strata``)."""
        found = {}
        for column, values in self.categories.items():
            per_psu = pd.Series(values).groupby(psu).nunique()
            if (per_psu <= 1).all():
                found[column] = int(pd.Series(values).nunique())
        return found

    def adjust(self, influence: NDArray[np.float64]) -> NDArray[np.float64]:
        """``z = w u`` -> ``w (u - C b)``, b the design-weighted least-squares fit of u on the calibration
        variables C (R survey's ``qr.resid(qr(C * sqrt(d)), z / (g sqrt(d))) * g sqrt(d)``)."""
        z = influence if influence.ndim == 2 else influence[:, None]
        u = z / self.weights[:, None]
        root = np.sqrt(self.base)[:, None]
        coef, *_ = np.linalg.lstsq(self.model * root, u * root, rcond=None)
        return self.weights[:, None] * (u - self.model @ coef)


def _rake_wave(base: NDArray[np.float64], members: list[list[NDArray[np.bool_]]], targets: list[NDArray[np.float64]],
               settings: SurveyWeights) -> tuple[NDArray[np.float64], int, bool]:
    weights = base.copy()
    for sweep in range(1, settings.max_iterations + 1):
        for cells, target in zip(members, targets, strict=True):
            for cell, goal in zip(cells, target, strict=True):
                weights[cell] *= goal / weights[cell].sum()
        error = max(float(np.max(np.abs(np.array([weights[c].sum() for c in cells]) / target - 1.0)))
                    for cells, target in zip(members, targets, strict=True))
        if error <= settings.tolerance:
            return weights, sweep, True
    return weights, settings.max_iterations, False


def _trim(weights: NDArray[np.float64], settings: SurveyWeights) -> tuple[NDArray[np.float64], int]:
    """Clip weights to the bounds (times the mean weight) and spread what was cut over the others, keeping the
    total (so the mean and the bounds stay put); returns the weights and how many were outside the bounds."""
    trim = settings.trim
    assert trim is not None
    total = float(weights.sum())
    mean = total / weights.size
    low = trim.lower * mean if trim.lower is not None else 0.0
    high = trim.upper * mean if trim.upper is not None else np.inf
    outside = int(((weights < low * (1 - 1e-9)) | (weights > high * (1 + 1e-9))).sum())
    out = weights.copy()
    for _ in range(1000):
        out = np.clip(out, low, high)
        free = (out > low * (1 + 1e-12)) & (out < high * (1 - 1e-12))
        excess = total - float(out.sum())
        if abs(excess) <= 1e-13 * total or not free.any():
            break
        out[free] *= 1.0 + excess / float(out[free].sum())
    return out, outside


def _kish(weights: NDArray[np.float64]) -> dict[str, float]:
    n = weights.size
    ess = float(weights.sum() ** 2 / (weights @ weights))
    ratio = weights / weights.mean()
    return {"n": int(n), "effective_n": ess, "design_effect": float(n / ess),
            "weight_ratio_min": float(ratio.min()), "weight_ratio_max": float(ratio.max()),
            "weight_cv": float(weights.std(ddof=0) / weights.mean())}


def calibrate(rows: pd.DataFrame, wave: NDArray[Any], settings: SurveyWeights, *, file: str) -> Calibration:
    """Rake each wave of the estimation sample ``rows`` (which carries the margin and design-weight columns) to the
    registered margins. Raises NotTestable when a margin category has nobody in a wave's estimation sample."""
    n = len(rows)
    if settings.design_weight:
        base = numeric_column(rows, settings.design_weight, file=file).to_numpy(dtype=np.float64)
        if np.isnan(base).any() or not (base > 0).all():
            raise DataError("missing or non-positive design weights in the estimation sample", file=file,
                            column=settings.design_weight, fix="every respondent needs a design weight > 0")
    else:
        base = np.ones(n)
    categories = {column: _category_text(rows[column]).to_numpy(dtype=object) for column in settings.margins}
    wave_labels = [str(w) for w in pd.unique(pd.Series(wave).astype(str))]
    wave_text = pd.Series(wave).astype(str).to_numpy()
    final = np.empty(n)
    model_columns: list[NDArray[np.float64]] = []
    waves_record, margins_record = [], []
    for label in wave_labels:
        in_wave = wave_text == label
        index = np.flatnonzero(in_wave)
        wave_base = base[index]
        members, targets = [], []
        for column, margin in settings.margins.items():
            cats = categories[column][index]
            cells = [cats == category for category in margin]
            for category, cell in zip(margin, cells, strict=True):
                if not cell.any():
                    raise NotTestable(f"weights.margins.{column} category '{category}' has nobody in the "
                                      f"estimation sample of wave '{label}': raking cannot reach its population "
                                      "share (merge it with a neighbouring category)")
            shares = np.array(list(margin.values()), dtype=np.float64)
            scale = wave_base.sum() if settings.kind == "shares" else 1.0
            members.append(cells)
            targets.append(shares * scale)
            for cell in cells:
                column_values = np.zeros(n)
                column_values[index] = cell
                model_columns.append(column_values)
        weights, sweeps, converged = _rake_wave(wave_base, members, targets, settings)
        if not converged:
            raise NotTestable(f"raking did not reach the registered margins in wave '{label}' within "
                              f"{settings.max_iterations} sweeps (tolerance {settings.tolerance:g}): the sample "
                              "cannot be weighted to these margins (e.g. a category combination nobody is in)")
        trimmed = 0
        if settings.trim is not None:
            for _ in range(_TRIM_CYCLES):
                weights, trimmed = _trim(weights, settings)
                if trimmed == 0:
                    break
                weights, more, _ = _rake_wave(weights, members, targets, settings)
                sweeps += more
            weights, trimmed = _trim(weights, settings)  # the bounds win when both cannot hold
        final[index] = weights
        margin_error = 0.0
        for column, cells, target in zip(settings.margins, members, targets, strict=True):
            total = target.sum()
            for category, cell, goal in zip(settings.margins[column], cells, target, strict=True):
                achieved = float(weights[cell].sum() / weights.sum())
                margin_error = max(margin_error, abs(achieved - goal / total))
                margins_record.append({"wave": label, "column": column, "category": category,
                                       "population_share": float(goal / total), "n": int(cell.sum()),
                                       "sample_share": float(cell.mean()), "weighted_share": achieved})
        waves_record.append({"wave": label, **_kish(weights), "sweeps": sweeps, "trimmed": trimmed,
                             "max_margin_error": margin_error})
    record: dict[str, Any] = {
        "method": settings.method, "margins_as": settings.kind, "design_weight": settings.design_weight,
        "columns": list(settings.margins), **_kish(final),
        "trim": settings.trim.model_dump() if settings.trim is not None else None,
        "waves": waves_record, "margins": margins_record,
        "variance": "Taylor linearization with the raking (calibration) adjustment, clustered by the design's "
                    "cluster (as R survey: svydesign(ids = ~cluster, weights) + calibrate + svyglm); margins constant "
                    "within clusters are strata (centring within each, n_h / (n_h - 1)); t with G - H df",
    }
    return Calibration(final, base, np.column_stack(model_columns), SurveyWeightsRecord.from_dict(record),
                       categories)


# --------------------------------------------------------------------------- variance and regression


def linearized_covariance(influence: NDArray[np.float64], psu: NDArray[np.intp], calibration: Calibration | None,
                          strata: NDArray[np.intp] | None = None) -> NDArray[np.float64]:
    """One-stage with-replacement variance of a sum of influence values, after the calibration adjustment: within
    each stratum, n_h / (n_h - 1) times the cross-product of the PSU totals centred on the stratum's mean (R
    survey's ``svyrecvar`` / ``onestage``; no strata: one stratum of all G PSUs)."""
    z = influence if influence.ndim == 2 else influence[:, None]
    if calibration is not None:
        z = calibration.adjust(z)
    n_psu = int(psu.max()) + 1
    totals = np.zeros((n_psu, z.shape[1]))
    for j in range(z.shape[1]):
        totals[:, j] = np.bincount(psu, weights=z[:, j], minlength=n_psu)
    stratum_of_psu = np.zeros(n_psu, dtype=np.intp)
    if strata is not None:
        stratum_of_psu[psu] = strata
    out = np.zeros((z.shape[1], z.shape[1]))
    for h in np.unique(stratum_of_psu):
        block = totals[stratum_of_psu == h]
        n_h = block.shape[0]
        if n_h < 2:
            raise NotTestable("a stratum of the linearized variance holds a single cluster")
        centred = block - block.mean(axis=0)
        out += float(n_h) / (n_h - 1) * (centred.T @ centred)
    return out


def weighted_demean(matrix: NDArray[np.float64], fixed_effects: list[NDArray[np.intp]],
                    weights: NDArray[np.float64], *, tol: float = 1e-13, max_iter: int = 10_000) -> NDArray[np.float64]:
    """Project out fixed effects in the weighted metric (weighted group means; alternating projections)."""
    out = np.array(matrix, dtype=np.float64, copy=True)
    if not fixed_effects:
        return out
    totals = [np.bincount(codes, weights=weights) for codes in fixed_effects]
    for _ in range(max_iter):
        largest = 0.0
        for codes, total in zip(fixed_effects, totals, strict=True):
            for j in range(out.shape[1]):
                means = np.bincount(codes, weights=weights * out[:, j], minlength=total.size) / total
                out[:, j] -= means[codes]
                largest = max(largest, float(np.max(np.abs(means))) if means.size else 0.0)
        if len(fixed_effects) == 1 or largest < tol:
            break
    return out


@dataclass(frozen=True)
class WeightedRegression:
    params: NDArray[np.float64]
    vcov: NDArray[np.float64]  # linearized, calibration-adjusted
    vcov_fixed_weights: NDArray[np.float64]  # CR1-scaled sandwich treating the weights as fixed (no adjustment)
    n_obs: int
    n_psu: int


def fit_weighted_regression(y: NDArray[np.float64], x: NDArray[np.float64], *, calibration: Calibration,
                            fixed_effects: list[NDArray[np.intp]], psu: NDArray[np.intp],
                            strata: NDArray[np.intp] | None = None) -> WeightedRegression:
    """Weighted least squares after absorbing fixed effects (weighted within transformation, so the slopes equal
    those of the dummy-variable regression R's svyglm fits), with the linearized covariance."""
    w = calibration.weights
    data = weighted_demean(np.column_stack([y, x]), fixed_effects, w)
    y_t, x_t = data[:, 0], data[:, 1:]
    xtwx = (x_t * w[:, None]).T @ x_t
    if x_t.shape[1] == 0 or np.linalg.matrix_rank(xtwx) < x_t.shape[1]:
        raise np.linalg.LinAlgError("regressors are collinear with the fixed effects")
    bread = np.linalg.inv(xtwx)
    params = bread @ (x_t.T @ (w * y_t))
    resid = y_t - x_t @ params
    influence = (x_t * (w * resid)[:, None]) @ bread
    vcov = linearized_covariance(influence, psu, calibration, strata)
    fixed = linearized_covariance(influence, psu, None, strata)
    return WeightedRegression(params, vcov, fixed, int(y.size), int(psu.max()) + 1)


def cluster_level_strata(calibration: Calibration, psu: NDArray[np.intp], *, clustered: bool,
                         cluster: str | None) -> tuple[NDArray[np.intp] | None, int]:
    """Strata from the margins constant within clusters (e.g. site or district when communities are the clusters),
    and their number. Raking to such a margin post-stratifies whole clusters: it fixes each category's weighted
    total, so its clusters' totals vary only around their category's mean. The variance then treats the categories
    (their cross-classification, with several such margins) as strata, as R survey does for
    ``svydesign(ids = ~cluster, strata = ~site)``: centring within each and n_h / (n_h - 1), t with G - H df. Without
    this the single G / (G - 1) factor is far too small for strata of a few clusters (demo: SE 13% short). A
    stratum holding one cluster is refused: its variance cannot be estimated."""
    if not clustered:
        return None, 1
    columns = list(calibration.cluster_level(psu))
    if not columns:
        return None, 1
    keys = pd.Series(["\x1f".join(map(str, row)) for row in zip(*(calibration.categories[c] for c in columns),
                                                                 strict=True)])
    labels, codes = np.unique(keys.to_numpy(dtype=str), return_inverse=True)
    clusters_per_stratum = pd.Series(psu).groupby(codes).nunique()
    single = clusters_per_stratum[clusters_per_stratum < 2]
    if len(single):
        category = labels[int(single.index[0])].replace("\x1f", " x ")
        raise NotTestable(
            f"weights.margins.{' x '.join(columns)} is constant within each {cluster} and category '{category}' "
            f"holds 1 {cluster} in the estimation sample: raking to it post-stratifies that cluster alone, whose "
            f"variance cannot then be estimated; merge categories of {columns[0]} so that each holds at least 2 "
            "clusters, or drop the margin")
    return codes.astype(np.intp), len(labels)


def weighted_inference(estimate: float, std_error: float, spec: HypothesisSpec, *, n_psu: int,
                       arms: tuple[int, int] | None, clustered: bool,
                       fixed_weights_se: float | None = None, n_strata: int = 1) -> PrimaryInference:
    """t inference with G - 1 design df for a linearized SE, and the few-cluster rule's record for it.

    The few-cluster methods (wild bootstrap, CR2, randomization inference) treat the weights as fixed and do not
    carry the raking adjustment, so they are not used with registered weights; the rule still refuses a design
    with one cluster in an arm (no design-based variance exists), and the record warns when the clusters are
    fewer than the registered threshold (the linearized interval can then be short)."""
    inference = spec.inference
    counts = ClusterCounts(arms[0], arms[1], None, False) if arms is not None else None
    decision, rule = few_cluster_decision(spec, n_psu if clustered else None, counts=counts)
    if arms is not None and min(arms) < 2:
        arm = "treated" if arms[0] < 2 else "comparison"
        raise NotTestable(f"the {arm} arm has {min(arms)} cluster: a design-based (linearized) variance of a "
                          "weighted estimate needs at least 2 clusters per arm")
    if n_psu < 2:
        raise NotTestable("a linearized variance needs at least 2 primary sampling units (clusters)")
    threshold = inference.few_clusters.threshold
    few = clustered and bool(threshold) and n_psu < threshold
    rule.update({"fired": False, "method": "linearized", "valid": True, "reason": (
        "survey weights registered: the primary inference is the Taylor-linearized variance with the raking "
        f"adjustment, clustered by {spec.design.cluster or spec.design.unit} (G = {n_psu}), t with G - 1 df (G - H "
        "with strata); the "
        "few-cluster methods (wild bootstrap, CR2, randomization inference) treat the weights as fixed and are not "
        "used" + (f". With {n_psu} clusters (< threshold {threshold}) the rule would have used {decision}: the "
                  "linearized interval can be too short with so few clusters" if few else ""))})
    if few:
        rule["tier"] = "few clusters with survey weights: linearized variance kept, interval may be short"
    df = float(max(1, n_psu - n_strata))
    if n_strata > 1:
        rule["reason"] += (f"; the categories of the margins constant within clusters are {n_strata} strata of "
                           f"whole clusters: t with G - H = {df:g} df")
    result = t_inference(estimate, std_error, df, ci_level=inference.ci_level, tails=inference.tails,
                         direction=spec.direction)
    alternatives: dict[str, Any] = {"linearized": {
        "std_error": std_error, "df": df, "ci_low": result.ci_low, "ci_high": result.ci_high,
        "p_value": result.p_value, "p_value_two_sided": result.p_value_two_sided}}
    if fixed_weights_se is not None:
        fixed = t_inference(estimate, fixed_weights_se, df, ci_level=inference.ci_level, tails=inference.tails,
                            direction=spec.direction)
        alternatives["linearized_weights_fixed"] = {
            "std_error": fixed_weights_se, "df": df, "ci_low": fixed.ci_low, "ci_high": fixed.ci_high,
            "p_value": fixed.p_value, "p_value_two_sided": fixed.p_value_two_sided,
            "note": "the same variance without the raking adjustment (weights treated as fixed)"}
    record: dict[str, Any] = {"primary": "linearized", "registered_se": inference.se, "rule": rule,
                              "alternatives": alternatives, "estimate": estimate,
                              "sesoi_interval": list(t_interval(estimate, std_error, df, 1.0 - 2.0 * inference.alpha))}
    return PrimaryInference(std_error, df, result.ci_low, result.ci_high, result.p_value, result.p_value_two_sided,
                            "linearized", record, None)


def psu_codes(clusters: NDArray[Any] | None, units: NDArray[Any]) -> tuple[NDArray[np.intp], bool]:
    """Primary sampling units: the registered clusters, else the units (a respondent's rows are one PSU)."""
    values = clusters if clusters is not None else units
    _, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return codes.astype(np.intp), clusters is not None
