"""Two-way fixed-effects regressions on a unit x period panel: the static TWFE DiD and the event study.

``y_it = beta * D_it + x_it' gamma + unit_i + period_t (+ the spec's further fixed effects) + e_it``, where ``D`` is
the 0/1 treated-and-post indicator: given as a column (``design.treatment`` varying within units, no
``design.adoption``) or derived from adoption dates (``D = 1`` from the unit's adoption period on). The event study
replaces ``D`` by one indicator per period relative to adoption inside ``event_window`` (the reference period
left out; relative periods beyond the window binned into its ends, or dropped), never-treated units carrying
zeros. Its headline estimate is the mean of the post-adoption coefficients (0 .. last), estimated as one
coefficient of an equivalent reparametrised regression, so that every inference method (CR1, CR2-Satterthwaite,
the wild cluster bootstrap, the few-cluster rule) applies to it directly.

Small-sample conventions follow fixest's ``ssc()`` (pyfixest's names): ``k_fixef`` says which fixed effects count in
K of the (N - 1) / (N - K) factor (``nonnested``: those not nested in the clusters, fixest's default
``fixef.K = "nested"``; ``full``: all; ``none``: none), ``k_adj: false`` drops that factor and ``G_adj: false``
the G / (G - 1) of cluster-robust variances. The tests check the coefficients and standard errors against pyfixest
to 1e-8 under each convention.

TWFE with staggered adoption and effects that change over time compares later- with earlier-treated units and can
be biased (Goodman-Bacon 2021; de Chaisemartin and D'Haultfoeuille 2020): the result lists the negative weights the
static regression puts on treated cells, and the Callaway-Sant'Anna estimator (``staggered_did``) is the robust
alternative.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from ..errors import DataError, EstimationError
from ..io import period_codes, period_label, read_time, spacing_problem
from ..outcomes import numeric_column
from ..results import EstimateResult
from ..results.parts import BaconComparison, BaconDecomposition, BaconKind, EventStudy, NegativeWeights, PretrendTest
from ..spec import HypothesisSpec
from ._bacon import bacon_decomposition
from ._engagement_options import SmallSample, TwfeOptions
from ._inference import few_cluster_decision, regression_inference, t_inference
from ._linalg import WithinDesign, covariance, fit_within, nested_in
from ._staggered import NEVER, _indicator_adoption

__all__ = ["TwfeOptions", "SmallSample", "fit_twfe", "ssc_design"]


def ssc_design(design: WithinDesign, ssc: SmallSample, *, n_slopes: int, fe_levels: list[int],
               fe_nested: list[bool]) -> WithinDesign:
    """The design with K set by fixest's small-sample conventions (``k_cluster`` for CR1, ``k_full`` for HC1/iid)."""
    n_fe = len(fe_levels)
    k_fe = sum(fe_levels) - (n_fe - 1 if n_fe > 1 else 0)
    nested_levels = sum(level for level, nested in zip(fe_levels, fe_nested, strict=True) if nested)
    if ssc.k_fixef == "none":
        k_cluster = k_full = n_slopes
    elif ssc.k_fixef == "full":
        k_cluster = k_full = n_slopes + k_fe
    else:
        k_full = n_slopes + k_fe
        k_cluster = k_full - nested_levels + sum(fe_nested) if nested_levels else k_full
    if not ssc.k_adj:
        k_cluster, k_full = 1, 0  # (N - 1) / (N - 1) and N / N
    return dataclasses.replace(design, k_cluster=k_cluster, k_full=k_full)


def _codes(values: Any) -> NDArray[np.intp]:
    return pd.factorize(pd.Series(values).astype("string"), sort=True)[0].astype(np.intp)


def _rows(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: TwfeOptions, *,
          file: str) -> dict[str, Any]:
    """Unit, period code, outcome, indicator and adoption period per row (rows with a missing outcome dropped)."""
    design = spec.design
    problem = spacing_problem(frame[design.time], options.period, column=design.time)
    if problem:
        raise DataError(problem, file=file, column=design.time, fix="set estimator.options.period to the data's "
                        "spacing")
    times = read_time(frame[design.time], options.period, file=file, column=design.time, allow_missing=False)
    period = period_codes(times, options.period)
    units = frame[design.unit].astype("string")
    if units.isna().any():
        raise DataError(f"{int(units.isna().sum())} missing unit identifiers", file=file, column=design.unit,
                        fix="every row needs a unit id")
    unit = _codes(units)
    n_units = int(unit.max()) + 1
    if design.adoption:
        starts = read_time(frame[design.adoption], options.period, file=file, column=design.adoption,
                           allow_missing=True)
        per_unit = starts.groupby(unit).nunique(dropna=True)
        if (per_unit > 1).any():
            raise DataError(f"{int((per_unit > 1).sum())} units have more than one adoption date", file=file,
                            column=design.adoption, fix="each unit adopts once")
        first = starts.groupby(unit).min().reindex(range(n_units))
        adoption = np.full(n_units, NEVER, dtype=np.int64)
        has = first.notna().to_numpy()
        if has.any():
            adoption[has] = period_codes(first[has], options.period)
        treated_now = (adoption[unit] != NEVER) & (period >= adoption[unit])
        if pd.api.types.is_datetime64_any_dtype(times):
            # Rows finer than the period: treated from the adoption date itself, not from its period's start.
            row_start = first.to_numpy()[unit]
            treated_now = treated_now & ~(pd.isna(row_start)) & (times.to_numpy() >= row_start)
    else:
        indicator = numeric_column(frame, design.treatment, file=file)
        if indicator.isna().any() or not indicator.isin([0.0, 1.0]).all():
            raise DataError("treatment must be coded 0/1 on every row", file=file, column=design.treatment,
                            fix="recode it to 0 (not yet treated) and 1 (treated and post)")
        adoption = _indicator_adoption(indicator, period, unit, n_units, file=file, column=design.treatment)
        treated_now = indicator.to_numpy() == 1
    y = pd.to_numeric(outcome, errors="coerce").to_numpy(dtype=np.float64)
    keep = np.isfinite(y)
    return {"y": y, "unit": unit, "period": period, "d": treated_now.astype(np.float64), "adoption": adoption,
            "keep": keep, "n_missing": int((~keep).sum())}


def _event_dummies(rows: dict[str, Any], options: TwfeOptions) -> tuple[NDArray[np.float64], list[int],
                                                                        NDArray[np.bool_]]:
    """One column per relative period in the window except the reference; rows kept (binning or dropping)."""
    first, last = options.event_window  # type: ignore[misc]
    adoption = rows["adoption"][rows["unit"]]
    ever = adoption != NEVER
    relative = np.where(ever, rows["period"] - adoption, 0)
    inside = (relative >= first) & (relative <= last)
    keep = np.ones(relative.size, dtype=bool) if options.bin_endpoints else (~ever | inside)
    relative = np.clip(relative, first, last)
    labels = [e for e in range(first, last + 1) if e != options.reference]
    x = np.column_stack([(ever & (relative == e)).astype(np.float64) for e in labels])
    return x, labels, keep


def _covariates(frame: pd.DataFrame, spec: HypothesisSpec, *, file: str) -> NDArray[np.float64]:
    if not spec.covariates:
        return np.empty((len(frame), 0))
    return np.column_stack([numeric_column(frame, c, file=file).to_numpy(dtype=np.float64)
                            for c in spec.covariates])


def _joint_test(beta: NDArray[np.float64], vcov: NDArray[np.float64], df: float | None) -> dict[str, Any]:
    q = beta.size
    if q == 0:
        return {"available": False, "reason": "no leads in the event window"}
    try:
        wald = float(beta @ np.linalg.solve(vcov, beta))
    except np.linalg.LinAlgError:
        return {"available": False, "reason": "the leads' covariance is singular"}
    if df:
        p = float(stats.f.sf(wald / q, q, df))
        return {"available": True, "statistic": wald / q, "df": [q, df], "p_value": p, "wald_p_value": p,
                "test": "F (Wald / q)"}
    p = float(stats.chi2.sf(wald, q))
    return {"available": True, "statistic": wald, "df": q, "p_value": p, "wald_p_value": p, "test": "chi-squared Wald"}


def fit_twfe(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: TwfeOptions, *,
             file: str) -> EstimateResult:
    """Static TWFE DiD or event study with the registered inference."""
    rows = _rows(frame, outcome, spec, options, file=file)
    covariates = _covariates(frame, spec, file=file)
    if options.event_window is not None:
        treatment, labels, window_keep = _event_dummies(rows, options)
    else:
        treatment, labels, window_keep = rows["d"][:, None], [], np.ones(rows["y"].size, dtype=bool)
    keep = rows["keep"] & window_keep & np.all(np.isfinite(covariates), axis=1)
    n_dropped_covariates = int((rows["keep"] & window_keep & ~np.all(np.isfinite(covariates), axis=1)).sum())
    fe_columns = {"unit": rows["unit"], "period": rows["period"]}
    for name in spec.fixed_effects:
        values = frame[name].astype("string")
        if values.isna().any():
            raise DataError(f"{int(values.isna().sum())} missing values in a fixed-effect column", file=file,
                            column=name, fix="every row needs a value (or drop it from fixed_effects)")
        fe_columns[name] = values.to_numpy()
    fixed = [_codes(np.asarray(v)[keep]) for v in fe_columns.values()]
    # Without design.cluster (iid / HC1 registered) nothing is clustered and the few-cluster rule does not apply.
    cluster_column = spec.design.cluster
    if not cluster_column and (spec.inference.se.startswith("CR") or spec.inference.se == "wild"):
        raise EstimationError(f"se {spec.inference.se} needs design.cluster", hypothesis_id=spec.id,
                              fix="name the cluster column (e.g. the unit) or register se: HC1")
    clusters: NDArray[np.intp] | None = None
    n_clusters: int | None = None
    cluster_labels: list[str] | None = None
    if cluster_column:
        cluster_labels_rows = frame[cluster_column].astype("string").to_numpy()[keep]
        clusters = _codes(cluster_labels_rows)
        n_clusters = int(clusters.max()) + 1
        cluster_labels = sorted(str(v) for v in pd.unique(pd.Series(cluster_labels_rows)))
    y = rows["y"][keep]
    treat = treatment[keep]
    xcov = covariates[keep]
    n_treat = treat.shape[1]
    post = [j for j, e in enumerate(labels) if e >= 0]
    if labels:
        # Reparametrise the lags, beta_lags = 1 gamma + H delta with 1'H = 0: the regressor sum(lags) then has
        # the coefficient gamma = mean(beta_lags), and the fit is unchanged.
        lags = treat[:, post]
        m = len(post)
        basis = np.linalg.svd(np.eye(m) - np.ones((m, m)) / m)[0][:, : m - 1]
        leads = np.delete(treat, post, axis=1)
        x_headline = np.column_stack([lags.sum(axis=1), lags @ basis, leads, xcov])
        x_table = np.column_stack([treat, xcov])
    else:
        x_headline = x_table = np.column_stack([treat, xcov])
    fe_nested = [clusters is not None and nested_in(c, clusters) for c in fixed]
    primary_method, _ = few_cluster_decision(spec, n_clusters)
    n_dummies = 0
    if (primary_method == "CR2" or primary_method.startswith("wild")) and not all(fe_nested):
        # CR2 and the wild bootstrap on a within-transformed design need the absorbed fixed effects nested in the
        # clusters (Pustejovsky and Tipton 2018, Theorem 2): the others enter as dummy regressors (first level left
        # out), same fit.
        dummies = [_dummies(c) for c, nested in zip(fixed, fe_nested, strict=True) if not nested]
        if sum(d.shape[1] for d in dummies) > 500:
            raise EstimationError("CR2 and the wild bootstrap need the fixed effects not nested in the clusters as "
                                  "dummy regressors, "
                                  "and there are more than 500 of them", fix="register se: CR1 or wild, or "
                                  "cluster at a level that nests them")
        n_dummies = sum(d.shape[1] for d in dummies)
        x_headline = np.column_stack([x_headline, *dummies])
        x_table = np.column_stack([x_table, *dummies])
        fixed = [c for c, nested in zip(fixed, fe_nested, strict=True) if nested]
        fe_nested = [True] * len(fixed)
    fe_levels = [int(c.max()) + 1 for c in fixed]
    try:
        design = ssc_design(fit_within(y, x_headline, fixed_effects=fixed, clusters=clusters), options.ssc,
                            n_slopes=x_headline.shape[1], fe_levels=fe_levels, fe_nested=fe_nested)
    except np.linalg.LinAlgError:
        raise EstimationError("the treatment indicators are collinear with the fixed effects or covariates",
                              fix="check that treated units are observed before and after adoption and that "
                                  "some units are not (yet) treated in each period") from None
    try:
        primary = regression_inference(design, 0, spec, cluster_labels=cluster_labels)
    except ValueError as exc:
        raise EstimationError(str(exc)) from None
    estimate = float(design.params[0])  # static: beta; event study: the mean of the lag coefficients
    g_scale = 1.0
    if not options.ssc.G_adj and n_clusters:
        # Without fixest's cluster.adj the CR1 variance loses its G / (G - 1); bootstrap p-values and intervals are
        # invariant to the scale of the studentizing standard error.
        g_scale = math.sqrt((n_clusters - 1) / n_clusters)
        if primary.se_type == "CR1":
            se = primary.std_error * g_scale
            t = t_inference(estimate, se, primary.df, ci_level=spec.inference.ci_level, tails=spec.inference.tails,
                            direction=spec.direction)
            primary = dataclasses.replace(primary, std_error=se, ci_low=t.ci_low, ci_high=t.ci_high,
                                          p_value=t.p_value, p_value_two_sided=t.p_value_two_sided)
        elif primary.se_type.startswith("wild"):
            primary = dataclasses.replace(primary, std_error=primary.std_error * g_scale)
    extras: dict[str, Any] = {"model": _model_words(spec, options, labels), "ssc": options.ssc.model_dump(),
                              "inference": primary.part, "period": options.period,
                              "fixed_effects": list(fe_columns), "clusters": n_clusters,
                              "cluster_column": cluster_column}
    table_se_type = primary.se_type if primary.se_type in ("CR1", "CR2", "HC1", "iid", "HC3") else "CR1"
    if labels:
        table = ssc_design(fit_within(y, x_table, fixed_effects=fixed, clusters=clusters), options.ssc,
                           n_slopes=x_table.shape[1], fe_levels=fe_levels, fe_nested=fe_nested)
        vcov = covariance(table, table_se_type) * (g_scale ** 2 if table_se_type == "CR1" else 1.0)
        se = np.sqrt(np.diag(vcov))[:n_treat]
        df_table = float(n_clusters - 1) if table_se_type.startswith("CR") and n_clusters else \
            float(table.n_obs - table.k_full)
        crit = float(stats.t(df_table).ppf(1 - (1 - spec.inference.ci_level) / 2))
        coef = table.params[:n_treat]
        band = _sup_t_critical(vcov[:n_treat, :n_treat], level=spec.inference.ci_level,
                               seed=spec.inference.bootstrap.seed)
        extras["event_study"] = EventStudy.from_dict({  # the table's keys in the order results.json has them
            "event_time": labels, "estimate": [float(v) for v in coef], "std_error": [float(v) for v in se],
            "ci_low": [float(v) for v in coef - crit * se], "ci_high": [float(v) for v in coef + crit * se],
            "band_low": [float(v) for v in coef - band * se], "band_high": [float(v) for v in coef + band * se],
            "uniform_critical_value": band, "reference": options.reference, "se_type": table_se_type,
            "period": options.period,
            "band": "sup-t simultaneous band (Montiel Olea and Plagborg-Moller 2019) from the coefficients' "
                    "covariance, seeded normal draws"})
        leads = [j for j, e in enumerate(labels) if e < 0]
        extras["pretrend_test"] = PretrendTest.from_dict(_joint_test(
            coef[leads], vcov[np.ix_(leads, leads)], df_table if table_se_type.startswith("CR") else None))
        extras["headline"] = "mean of the event-study coefficients 0.." + str(labels[-1])
        lag_mean = float(np.mean(coef[post]))
        if not math.isclose(lag_mean, estimate, rel_tol=1e-8, abs_tol=1e-10):
            raise EstimationError("internal check failed: the reparametrised lag mean differs from the table's")
    else:
        extras["negative_weights"] = _negative_weights(design, treat[:, 0])
        extras["bacon"] = _bacon_extras(rows, keep, estimate, plain=xcov.shape[1] == 0 and not spec.fixed_effects)
    counts = {"rows_in_source": len(frame), "rows_missing_outcome": rows["n_missing"],
              "rows_dropped_missing_covariates": n_dropped_covariates,
              "rows_dropped_outside_event_window": int((rows["keep"] & ~window_keep).sum()),
              "units": int(np.unique(rows["unit"][keep]).size),
              "periods": int(np.unique(rows["period"][keep]).size), "fixed_effects_as_dummies": n_dummies,
              "treated_units": int(np.sum(rows["adoption"] != NEVER))}
    extras["first_period"] = period_label(int(rows["period"][keep].min()), options.period)
    return EstimateResult(estimate=estimate, std_error=primary.std_error, ci_low=primary.ci_low,
                          ci_high=primary.ci_high, ci_level=spec.inference.ci_level, p_value=primary.p_value,
                          p_value_two_sided=primary.p_value_two_sided, df=primary.df, n=int(y.size),
                          n_clusters=n_clusters, se_type=primary.se_type, counts=counts, extras=extras)


def _bacon_extras(rows: dict[str, Any], keep: NDArray[np.bool_], estimate: float, *,
                  plain: bool) -> BaconDecomposition:
    """Goodman-Bacon (2021) decomposition of the static TWFE coefficient, or why it does not apply.

    It exists only for the plain unit + period model on a balanced panel with an absorbing binary treatment."""
    if not plain:
        return BaconDecomposition(available=False, reason="covariates or extra fixed effects: the decomposition "
                                                           "covers the plain unit + period model only")
    unit_codes, unit = np.unique(rows["unit"][keep], return_inverse=True)
    period_values, period = np.unique(rows["period"][keep], return_inverse=True)
    n, t = unit_codes.size, period_values.size
    if keep.sum() != n * t or np.unique(unit * t + period).size != n * t:
        return BaconDecomposition(available=False,
                                  reason="unbalanced panel (each unit needs exactly one row per period)")
    y = np.full((n, t), np.nan)
    y[unit, period] = rows["y"][keep]
    adoption = rows["adoption"][unit_codes]
    cohort = np.where(adoption == NEVER, t, np.searchsorted(period_values, adoption))
    absorbing = (period >= cohort[unit]).astype(np.float64)
    if not np.array_equal(absorbing, rows["d"][keep]):
        return BaconDecomposition(available=False,
                                  reason="treatment is not binary and absorbing (on from adoption onward)")
    try:
        decomposition = bacon_decomposition(y, cohort)
    except ValueError as exc:
        return BaconDecomposition(available=False, reason=str(exc))
    if not math.isclose(decomposition.twfe, estimate, rel_tol=1e-8, abs_tol=1e-10):
        raise EstimationError("internal check failed: the Bacon decomposition does not add up to the TWFE estimate")
    table = decomposition.table()
    for row in table:
        for key in ("treated_cohort", "control_cohort"):
            code = row[key]
            row[key] = None if code is None or int(code) >= t else int(period_values[int(code)])  # type: ignore[arg-type]
    n_cohorts = len({int(c) for c in cohort if 0 < c < t})
    return BaconDecomposition(
        available=True, staggered=n_cohorts > 1, twfe=decomposition.twfe,
        table=tuple(BaconComparison.from_dict(row) for row in table),  # a never-treated control cohort stays None
        by_kind={kind: BaconKind(**cell) for kind, cell in decomposition.by_kind().items()},
        note="cohorts are period codes; weights sum to 1 and sum(weight x estimate) is the TWFE coefficient")


def _dummies(codes: NDArray[np.intp]) -> NDArray[np.float64]:
    levels = int(codes.max()) + 1
    out = np.zeros((codes.size, levels - 1))
    rows = codes > 0
    out[np.flatnonzero(rows), codes[rows] - 1] = 1.0
    return out


def _sup_t_critical(vcov: NDArray[np.float64], *, level: float, seed: int, draws: int = 20_000) -> float:
    """Critical value of the simultaneous band: the level quantile of max_j |z_j| / sd_j over correlated normal
    draws with the coefficients' covariance (seeded: same seed and data, same band)."""
    sd = np.sqrt(np.diag(vcov))
    corr = vcov / np.outer(sd, sd)
    values, vectors = np.linalg.eigh(corr)
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    z = np.random.default_rng(seed).standard_normal((draws, corr.shape[0])) @ root.T
    return float(np.quantile(np.abs(z).max(axis=1), level))


def _negative_weights(design: WithinDesign, d: NDArray[np.float64]) -> NegativeWeights:
    """The implicit weights of the static TWFE coefficient on treated cells (de Chaisemartin-D'Haultfoeuille):
    the residualised treatment of the treated rows; negative ones are 'forbidden' comparisons."""
    d_t = design.x[:, 0]
    treated = d > 0
    if not treated.any():
        return NegativeWeights(available=False)
    w = d_t[treated] / float(d_t[treated].sum())
    return NegativeWeights(available=True, treated_cells=int(treated.sum()), negative=int((w < 0).sum()),
                           negative_sum=float(w[w < 0].sum()))


def _model_words(spec: HypothesisSpec, options: TwfeOptions, labels: list[int]) -> str:
    fixed = " + ".join(["unit", options.period] + list(spec.fixed_effects))
    controls = (" + " + " + ".join(spec.covariates)) if spec.covariates else ""
    if labels:
        lhs = f"y ~ sum_e D_e (e in {labels[0]}..{labels[-1]}, reference {options.reference}){controls}"
    else:
        lhs = f"y ~ D{controls}"
    return f"{lhs} | {fixed}"
