"""Fitters ``synthetic_did`` and ``synthetic_control``: one or a few treated units (pages) against comparison units,
with one common treatment start (Arkhangelsky et al. 2021; Abadie, Diamond & Hainmueller 2010).

The long unit x period rows become a balanced matrix (controls first, pre-periods first) and go to
``_synthdid``. The treatment start comes from ``design.adoption`` (each treated unit's start date or period; empty
for comparison units) or, without it, from ``design.treatment`` read as the 0/1 treated-and-post indicator (the
layout of R's ``panel.matrices``). Inference is the registered ``inference.se``: placebo, jackknife or bootstrap,
with a normal interval as in the paper; the placebo and bootstrap draws come from the registered seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError, EstimationError
from ..io import period_codes, period_label, read_time
from ..results import EstimateResult
from ..results.parts import (
    ArtifactPaths,
    Regularisation,
    Resampling,
    SyntheticComparisonEstimate,
    SyntheticTrajectory,
    Weight,
)
from ..spec import HypothesisSpec
from ._survey_did import NotTestable
from ._synthdid import (Method, SynthFit, bootstrap_se, effect_curve, jackknife_se, placebo_se, placebo_se_all,
                        synth_fit, time_weight_fit_rmse,
                        synthetic_trajectory)
from ._synthetic_options import SyntheticOptions

__all__ = ["SyntheticPanel", "build_synthetic_panel", "check_synthetic_design", "fit_synthetic_did",
           "fit_synthetic_control"]

_NAMES: dict[str, str] = {"sdid": "synthetic DiD", "sc": "synthetic control", "did": "DiD"}


@dataclass(frozen=True)
class SyntheticPanel:
    y: np.ndarray  # (units, periods), controls first
    units: tuple[str, ...]
    periods: tuple[str, ...]
    n0: int
    t0: int
    dropped_units: int
    start: str


def _period_keys(values: pd.Series, period: str, *, column: str, file: str) -> pd.Series:
    """Each row's period as a consecutive integer code in the registered period (the package's time vocabulary)."""
    times = read_time(values, period, file=file, column=column, allow_missing=False)
    return pd.Series(period_codes(times, period), index=values.index)


def build_synthetic_panel(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec,
                          options: SyntheticOptions, *, file: str) -> SyntheticPanel:
    design = spec.design
    period = _period_keys(frame[design.time], options.period, column=design.time, file=file)
    data = pd.DataFrame({"unit": frame[design.unit].astype("string"), "period": period,
                         "y": pd.to_numeric(outcome, errors="coerce").astype("float64")}, index=frame.index)
    if data["unit"].isna().any():
        raise DataError(f"{int(data['unit'].isna().sum())} row(s) have no unit", file=file, column=design.unit,
                        fix="fill the unit identifier in every row")
    if design.adoption:
        start_key = _period_keys(frame[design.adoption].dropna(), options.period, column=design.adoption,
                                 file=file)
        starts = pd.Series(start_key.values, index=data.loc[start_key.index, "unit"].values)
        per_unit = starts.groupby(level=0).agg(["min", "nunique"])
    else:
        treated_now = pd.to_numeric(frame[design.treatment], errors="coerce")
        if not treated_now.dropna().isin([0, 1]).all() or treated_now.isna().any():
            raise DataError("the treated-and-post indicator must be 0 or 1 in every row", file=file,
                            column=design.treatment, fix="code it 0/1, or name each treated unit's start in "
                            "design.adoption")
        on = data.loc[treated_now == 1]
        per_unit = on.groupby("unit")["period"].agg(["min"])
        per_unit["nunique"] = 1
        # W must stay 1 from the start on (no reversal), as in R's panel.matrices.
        merged = data.join(per_unit["min"], on="unit")
        reversed_rows = merged["min"].notna() & (merged["period"] >= merged["min"]) & (treated_now == 0)
        if reversed_rows.any():
            raise NotTestable(f"the 0/1 indicator '{design.treatment}' returns to 0 after a unit's first treated "
                              f"period in {int(reversed_rows.sum())} row(s); the synthetic estimators need "
                              "treatment to stay on", fix="check the indicator, or name starts in design.adoption")
    if (per_unit["nunique"] > 1).any():
        raise NotTestable(f"the treatment start in '{design.adoption}' changes within "
                          f"{int((per_unit['nunique'] > 1).sum())} unit(s)")
    if per_unit.empty:
        raise NotTestable("no unit is treated within the data", fix="check design.adoption / design.treatment")
    if per_unit["min"].nunique() > 1:
        raise NotTestable(f"the {len(per_unit)} treated units start in {per_unit['min'].nunique()} different "
                          "periods; synthetic DiD and synthetic control need one common start",
                          fix="keep one adoption cohort with design.subset, or use staggered_did")
    start = per_unit["min"].iloc[0]
    data = data.dropna(subset=["y"])
    cells = data.groupby(["unit", "period"])["y"].mean().unstack("period").sort_index(axis=1)
    incomplete = cells.isna().any(axis=1)
    dropped = int(incomplete.sum())
    if dropped and options.incomplete_units == "refuse":
        raise NotTestable(f"{dropped} of {len(cells)} units miss the outcome in some of the {cells.shape[1]} "
                          f"periods ({int(cells.isna().sum().sum())} unit-periods); the synthetic estimators need a "
                          "balanced panel", fix="aggregate with estimator.options.period, or register "
                          "estimator.options.incomplete_units: drop")
    cells = cells.loc[~incomplete]
    treated = cells.index.isin(per_unit.index)
    order = np.concatenate([np.flatnonzero(~treated), np.flatnonzero(treated)])
    cells = cells.iloc[order]
    columns = list(cells.columns)
    t0 = int(sum(1 for c in columns if c < start))
    n0, n1 = int((~treated).sum()), int(treated.sum())
    if n1 == 0:
        raise NotTestable("no treated unit is left with a complete series", fix="check the treated units' data")
    if n0 < 2:
        raise NotTestable(f"{n0} comparison unit(s) with a complete series; at least 2 are needed")
    if t0 < 2:
        raise NotTestable(f"{t0} period(s) before the treatment start; at least 2 are needed")
    if t0 == len(columns):
        raise NotTestable("no period at or after the treatment start is observed")
    return SyntheticPanel(y=cells.to_numpy(dtype=np.float64), units=tuple(map(str, cells.index)),
                          periods=tuple(period_label(c, options.period) for c in columns), n0=n0, t0=t0,
                          dropped_units=dropped, start=period_label(start, options.period))


# --------------------------------------------------------------------------------------------------- inference


def _se_refusal(se_type: str, n0: int, n1: int) -> NotTestable | None:
    """Why the registered SE cannot be computed on this design (Arkhangelsky et al. 2021, Section 5), or None."""
    if se_type == "placebo" and n0 <= n1:
        return NotTestable(f"the placebo SE needs more comparison units ({n0}) than treated units ({n1})",
                           fix="add comparison units, or register inference.se: jackknife or bootstrap")
    if se_type in ("jackknife", "bootstrap") and n1 == 1:
        return NotTestable(f"the {se_type} SE is undefined with one treated unit (Arkhangelsky et al. 2021, "
                           "Section 5)", fix="register inference.se: placebo")
    return None


def check_synthetic_design(frame: pd.DataFrame, spec: HypothesisSpec, options: SyntheticOptions) -> str | None:
    """The design requirements, checked on the structure of the rows before any estimation (so that
    ``oca validate`` refuses what ``oca run`` would): one common start, a balanced panel, enough units and
    periods, an SE defined for the number of treated units. Returns the reason, or None."""
    try:
        panel = build_synthetic_panel(frame, pd.Series(0.0, index=frame.index), spec, options, file="data")
        refusal = _se_refusal(spec.inference.se, panel.n0, len(panel.units) - panel.n0)
        if refusal is not None:
            raise refusal
    except (NotTestable, DataError) as exc:
        return exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
    return None


def _standard_error(fit: SynthFit, se_type: str, options: SyntheticOptions) -> tuple[float, dict[str, Any]]:
    n1 = fit.n_treated
    refusal = _se_refusal(se_type, fit.n0, n1)
    if refusal is not None:
        raise refusal
    if se_type == "placebo":
        if options.placebo_assignments == "all_if_fewer" and math.comb(fit.n0, n1) <= options.replications:
            se, draws = placebo_se_all(fit)
            return se, {"placebo_estimates": draws, "assignments": "all", "replications": int(draws.size)}
        rng = np.random.default_rng(options.seed)
        se, draws = placebo_se(fit, options.replications, rng.permutation)
        return se, {"replications": options.replications, "seed": options.seed, "placebo_estimates": draws,
                    "assignments": "random"}
    if se_type == "jackknife":
        se = jackknife_se(fit)
        if not math.isfinite(se):
            raise NotTestable("the jackknife SE is undefined: one comparison unit carries all the unit weight",
                              fix="register inference.se: placebo or bootstrap")
        return se, {}
    rng = np.random.default_rng(options.seed)
    se, draws = bootstrap_se(fit, options.replications, lambda n: rng.integers(0, n, size=n))
    return se, {"replications": options.replications, "seed": options.seed, "bootstrap_estimates": draws}


def _fit(panel: SyntheticPanel, method: Method, options: SyntheticOptions) -> SynthFit:
    eta = options.eta_omega if method != "did" else None
    try:
        return synth_fit(panel.y, panel.n0, panel.t0, method, eta_omega=eta, eta_lambda=options.eta_lambda,
                         max_iter=options.max_iter, sparsify=options.sparsify)
    except ValueError as exc:
        raise EstimationError(str(exc)) from None


def _weights_table(labels: tuple[str, ...], weights: np.ndarray) -> tuple[Weight, ...]:
    order = np.argsort(-weights, kind="stable")
    return tuple(Weight(label=labels[i], weight=float(weights[i])) for i in order)


def _fit_synthetic(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SyntheticOptions,
                   *, file: str, method: Method) -> EstimateResult:
    if spec.covariates:
        raise EstimationError(f"{_NAMES[method]} here does not adjust for covariates", hypothesis_id=spec.id,
                              fix="remove 'covariates' from the spec")
    panel = build_synthetic_panel(frame, outcome, spec, options, file=file)
    se_type = spec.inference.se
    fit = _fit(panel, method, options)
    std_error, draws = _standard_error(fit, se_type, options)
    if not (math.isfinite(std_error) and std_error > 0):
        raise EstimationError(f"the {se_type} standard error is zero or undefined",
                              fix="check that the outcome varies across comparison units")
    level = spec.inference.ci_level
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    estimate = fit.estimate
    t_stat = estimate / std_error
    p_two = float(2 * stats.norm.sf(abs(t_stat)))
    if spec.inference.tails == "one":
        p = float(stats.norm.sf(t_stat)) if spec.direction == "increase" else float(stats.norm.cdf(t_stat))
    else:
        p = p_two

    comparison: dict[str, SyntheticComparisonEstimate] = {}
    if options.compare:
        for other in ("sdid", "sc", "did"):
            other_fit = fit if other == method else _fit(panel, other, options)
            other_se = std_error if other == method else _standard_error(other_fit, se_type, options)[0]
            comparison[other] = SyntheticComparisonEstimate(
                estimator=_NAMES[other], estimate=other_fit.estimate, std_error=other_se,
                ci_low=other_fit.estimate - z * other_se, ci_high=other_fit.estimate + z * other_se)

    treated_mean, synthetic = synthetic_trajectory(fit)
    pre_gap = treated_mean[:fit.t0] - synthetic[:fit.t0]
    units_control = panel.units[:panel.n0]
    extras: dict[str, Any] = {
        "model": (f"{_NAMES[method]} (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021; weights by Frank-Wolfe "
                  "as the R package synthdid): " + {
                      "sdid": "unit weights with intercept and ridge, time weights with intercept",
                      "sc": "unit weights without intercept (infinitesimal ridge), no time weights",
                      "did": "uniform weights"}[method]),
        "method": method,
        "inference": (f"{se_type} standard error (Arkhangelsky et al. 2021, Algorithm "
                      f"{ {'bootstrap': 2, 'jackknife': 3, 'placebo': 4}[se_type] }); normal interval"),
        "se_method": se_type,
        "treated_units": list(panel.units[panel.n0:]),
        "treatment_start": panel.start,
        "n_treated": fit.n_treated, "n_comparison": fit.n0, "n_pre_periods": fit.t0, "n_post_periods": fit.n_post,
        "unit_weights": _weights_table(units_control, fit.omega),
        "time_weights": tuple(Weight(label=panel.periods[t], weight=float(w)) for t, w in enumerate(fit.lambda_)),
        "effective_controls": float(1.0 / np.sum(fit.omega**2)),
        "regularisation": Regularisation(zeta_omega=fit.settings.zeta_omega, zeta_lambda=fit.settings.zeta_lambda,
                                         noise_level=fit.noise_level, omega_intercept=fit.settings.omega_intercept),
        "pre_period_rmse": float(np.sqrt(np.mean(pre_gap**2))),
        "trajectory": SyntheticTrajectory(periods=tuple(panel.periods), treated=tuple(float(v) for v in treated_mean),
                                          synthetic=tuple(float(v) for v in synthetic), start_index=fit.t0,
                                          effect=(None,) * fit.t0 + tuple(float(v) for v in effect_curve(fit))),
        "comparison": comparison,
        "dropped_incomplete_units": panel.dropped_units,
        "scale": "outcome units",
    }
    warnings: list[str] = []
    if method == "sdid" and se_type == "placebo" and time_weight_fit_rmse(fit) < 1e-3 * fit.noise_level:
        warnings.append(
            f"the time weights reproduce the {fit.n0} comparison units' post-period means exactly (few comparison "
            f"units for {fit.t0} pre-periods): placebo replicates start from weights that already fit the placebo "
            "unit, so the placebo SE is too small; add comparison units, use fewer, longer periods "
            "(estimator.options.period) or synthetic_control")
    extras["warnings"] = warnings
    if "replications" in draws:
        extras["resampling"] = Resampling(replications=draws["replications"], seed=draws.get("seed"),
                                          assignments=draws.get("assignments"))
    placebo = draws.get("placebo_estimates")
    if placebo is not None:
        # Rank of the actual estimate among the placebo estimates (Abadie et al. 2010's permutation reading).
        extras["placebo_rank_p_value"] = float((1 + np.sum(np.abs(placebo) >= abs(estimate))) / (1 + placebo.size))
    from ..engagement import synthetic_png

    artifact = f"artifacts/{spec.id}_synthetic.png"
    extras["artifacts"] = ArtifactPaths(fit_plot=artifact)
    counts = {"units": len(panel.units), "treated_units": fit.n_treated, "comparison_units": fit.n0,
              "periods": len(panel.periods), "unit_periods": int(panel.y.size),
              "units_dropped_incomplete": panel.dropped_units}
    return EstimateResult(estimate=estimate, std_error=std_error, ci_low=estimate - z * std_error,
                          ci_high=estimate + z * std_error, ci_level=level, p_value=p, p_value_two_sided=p_two,
                          df=None, n=int(panel.y.size), n_clusters=len(panel.units), se_type=se_type,
                          counts=counts, extras=extras,
                          artifacts={artifact: synthetic_png(extras, title=spec.title,
                                                             outcome_label=spec.outcome.label or spec.outcome.name)})


def fit_synthetic_did(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SyntheticOptions,
                      *, file: str) -> EstimateResult:
    """Synthetic difference-in-differences (unit and time weights)."""
    return _fit_synthetic(frame, outcome, spec, options, file=file, method="sdid")


def fit_synthetic_control(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: SyntheticOptions,
                          *, file: str) -> EstimateResult:
    """Synthetic control (unit weights without intercept; no time weights)."""
    return _fit_synthetic(frame, outcome, spec, options, file=file, method="sc")
