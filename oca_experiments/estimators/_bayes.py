"""Fitters of the Bayesian estimators ``bayes_did``, ``ordinal_did`` and ``bayes_its``.

Each fitter validates and prepares the data (``oca_experiments.bayes._data``) before anything is compiled or
sampled, samples the registered model with the registered seed (draws come from the cache when nothing changed),
gates the fit on the registered diagnostics thresholds, and returns an ``EstimateResult`` whose numbers are
posterior summaries: ``estimate`` is the posterior mean, ``std_error`` the posterior SD, ``ci_low``/``ci_high`` the
registered interval (HDI or ETI) and ``p_value`` is NaN (JSON null). Everything a Bayesian reader needs is in
``extras``: posterior mean and median, P(effect > 0), P(effect > SESOI), the ROPE decision, the diagnostics table,
per-group effects, category-probability changes, prior and posterior predictive checks, prior-sensitivity reruns.
The InferenceData (NetCDF) and the check plots (PNG) are returned as ``artifacts`` that the runner writes beside
``results.json``; ``extras["artifacts"]`` names their paths.

PyMC and nutpie are imported only when a model is actually sampled.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._layout import ARTIFACTS_DIR
from ..bayes import (
    DidData,
    FitOutput,
    ItsData,
    NotEstimable,
    OrdinalData,
    SamplerSettings,
    Thresholds,
    cache_dir,
    check_diagnostics,
    density_for,
    library_versions,
    prepare_did,
    prepare_its,
    prepare_ordinal,
    prior_scales,
    prior_table,
    sample_model,
    summarize_draws,
)
from ..errors import EstimationError
from ..results import EstimateResult
from ..results.parts import DecisionRule, PriorRecord, SamplerSettings
from ..spec import Bayes, HypothesisSpec
from ._survey_did import NotTestable

__all__ = ["ARTIFACTS_DIR", "fit_bayes_did", "fit_bayes_its", "fit_ordinal_did"]

#: Folder (beside results.json) holding each Bayesian hypothesis' InferenceData and check plots.
#: A prior predictive check passes when at least this share of implied outcomes lies on the registered scale.
PRIOR_PREDICTIVE_MIN_ON_SCALE = 0.99
PPC_DRAWS = 100


def _prepare(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a data preparation; data that cannot support the model make the hypothesis "not testable"."""
    try:
        return function(*args, **kwargs)
    except NotEstimable as exc:
        raise NotTestable(exc.message) from None


def _settings(spec: HypothesisSpec) -> Bayes:
    return spec.bayes if spec.bayes is not None else Bayes()


def _sampler(settings: Bayes) -> SamplerSettings:
    s = settings.sampler
    return SamplerSettings(seed=s.seed, chains=s.chains, draws=s.draws, tune=s.tune, target_accept=s.target_accept,
                           backend=s.backend)


def _priors(estimator: str, settings: Bayes, factor: float = 1.0) -> dict[str, float]:
    try:
        return prior_scales(estimator, settings.priors, factor=factor)
    except KeyError as exc:  # the plan checks names; this guards direct API use
        raise EstimationError(str(exc.args[0]), fix="use the prior names listed in bayes/_priors.py") from None


def _as_dataarrays(values: Mapping[str, np.ndarray], extra_dims: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    return {name: (("chain", "draw", *extra_dims.get(name, ())), np.asarray(v)) for name, v in values.items()}


def _netcdf_bytes(groups: Mapping[str, Any], attrs: Mapping[str, Any]) -> bytes:
    import xarray as xr

    tree = xr.DataTree.from_dict(dict(groups))
    tree.attrs = dict(attrs)
    handle, tmp = tempfile.mkstemp(suffix=".nc")
    os.close(handle)
    try:
        tree.to_netcdf(tmp, engine="h5netcdf")
        with open(tmp, "rb") as stream:
            return stream.read()
    finally:
        os.unlink(tmp)


def _sensitivity(settings: Bayes, estimator: str, run: Callable[[dict[str, float]], np.ndarray], *,
                 ci_level: float, sesoi: float | None) -> list[dict[str, Any]]:
    """Refit with every prior scale multiplied by each registered factor; summarise the target effect."""
    rows = []
    for factor in settings.prior_sensitivity:
        draws = run(_priors(estimator, settings, factor))
        summary = summarize_draws(draws, ci_level=ci_level, interval_kind=settings.interval, sesoi=sesoi)
        rows.append({"prior_scale_factor": factor, **{k: summary[k] for k in (
            "mean", "median", "sd", "ci_low", "ci_high", "p_gt_0", "p_lt_0", "p_gt_sesoi", "p_lt_minus_sesoi")}})
    return rows


def _result(*, target: dict[str, Any], n: int, n_clusters: int | None, counts: Mapping[str, int],
            extras: dict[str, Any], artifacts: Mapping[str, bytes]) -> EstimateResult:
    return EstimateResult(
        estimate=target["mean"], std_error=target["sd"], ci_low=target["ci_low"], ci_high=target["ci_high"],
        ci_level=target["ci_level"], p_value=math.nan, p_value_two_sided=math.nan, df=None, n=n,
        n_clusters=n_clusters, se_type="posterior_sd", counts=dict(counts), extras=extras,
        artifacts=dict(artifacts))


def _common_extras(settings: Bayes, estimator: str, priors: Mapping[str, float], fit: FitOutput,
                   diagnostics: Any) -> dict[str, Any]:
    return {
        "bayesian": True,
        "decision_rule": DecisionRule(probability=settings.decision.probability, against=settings.decision.against),
        "diagnostics": diagnostics.to_dict(),
        "priors": tuple(PriorRecord.from_dict(row) for row in prior_table(estimator, priors)),
        "sampler": SamplerSettings.from_dict({
            **_sampler(settings).to_dict(), "draws_key": fit.key,
            "sampler": ("nutpie NUTS on oca's numba kernel (log density tested equal to the PyMC model's)"
                        if settings.sampler.backend == "kernel" else "nutpie NUTS on the PyMC model")}),
    }


def _artifact_paths(spec_id: str) -> dict[str, str]:
    base = f"{ARTIFACTS_DIR}/{spec_id}"
    return {"inference_data": f"{base}/inference_data.nc", "ppc_plot": f"{base}/ppc.png",
            "prior_predictive_plot": f"{base}/prior_predictive.png"}


# --------------------------------------------------------------------------- bayes_did


_DID_TARGETS = {
    "portfolio": ("portfolio_effect", "treated-weighted mean of the groups' effects (the study's portfolio ATT)"),
    "population": ("population_effect", "mean of the population of groups (a new group's expected effect)"),
    "weakest_group": ("weakest_group_effect", "the smallest of the groups' effects"),
}


def _sample_did(data: DidData, priors: Mapping[str, float], *, centered: bool, settings: SamplerSettings,
                with_prior: bool = True) -> FitOutput:
    from ..bayes import build_did_model, did_model_data

    structure = {"centered": centered, "hierarchical": data.n_groups > 1}
    inputs = did_model_data(data, priors)
    return sample_model("bayes_did", structure, inputs, lambda: build_did_model(data, priors, centered=centered),
                        settings, with_prior=with_prior,
                        density=lambda: density_for("bayes_did", structure, inputs, {
                            "group": data.group_labels, "cluster": data.cluster_labels}))


def _fit_bayes_did(frame: Any, outcome: Any, spec: HypothesisSpec, options: Any, *, file: str) -> EstimateResult:
    from ..bayes import did_derived, did_replicates
    from ..bayes import did_ppc_png, did_prior_png

    settings = _settings(spec)
    if spec.covariates:
        raise EstimationError("bayes_did does not adjust for covariates", hypothesis_id=spec.id,
                              fix="remove 'covariates' from the spec or use survey_did")
    data = _prepare(prepare_did, frame, outcome, spec.design, file=file)
    if np.any((data.n >= 2) & (data.within_ss <= 0)):
        raise NotTestable("a community's respondents all changed by exactly the same amount; the within-community "
                           "variance is zero")
    priors = _priors("bayes_did", settings)
    centered = options.parameterization == "centered"
    sampler = _sampler(settings)
    fit = _sample_did(data, priors, centered=centered, settings=sampler)
    derived = did_derived(fit.posterior, data)
    posterior = fit.posterior.assign(**_as_dataarrays(derived, {"group_effect_outcome": ("group",)}))
    diagnostics = check_diagnostics(posterior, fit.trace["sample_stats"].to_dataset(),
                                    Thresholds.from_spec(settings.diagnostics))
    sesoi, level = spec.inference.sesoi, spec.inference.ci_level
    target_name, target_text = _DID_TARGETS[options.target]

    def summary(draws: np.ndarray) -> dict[str, Any]:
        return summarize_draws(draws, ci_level=level, interval_kind=settings.interval, sesoi=sesoi)

    target = summary(derived[target_name])
    weights = data.treated_weights()
    groups = {label: {**summary(derived["group_effect_outcome"][..., g]), "weight": float(weights[g])}
              for g, label in enumerate(data.group_labels)}

    rng = np.random.default_rng([sampler.seed, 1])
    replicates = did_replicates(fit.posterior, data, rng, PPC_DRAWS)
    implied = data.baseline_cluster_mean + data.scale * np.asarray(
        fit.trace["prior_predictive"]["mean_change_obs"].values).reshape(-1, data.n_clusters)
    scale = spec.outcome.construction.scale
    prior_check: dict[str, Any] = {"quantity": "implied endline community means (baseline mean + prior "
                                   "predictive change)", "scale": list(scale) if scale else None}
    if scale is not None:
        on_scale = float(np.mean((implied >= scale[0]) & (implied <= scale[1])))
        prior_check.update(share_on_scale=on_scale, passed=on_scale >= PRIOR_PREDICTIVE_MIN_ON_SCALE,
                           required=PRIOR_PREDICTIVE_MIN_ON_SCALE)
    prior_check["quantiles"] = dict(zip(("q01", "q50", "q99"), map(float, np.quantile(implied, [0.01, .5, .99]))))

    def rerun(scales: dict[str, float]) -> np.ndarray:
        refit = _sample_did(data, scales, centered=centered, settings=sampler, with_prior=False)
        return did_derived(refit.posterior, data)[target_name]

    label = spec.outcome.label or spec.outcome.name
    paths = _artifact_paths(spec.id)
    observed_unit = data.unit_change * data.scale
    observed_cluster = data.mean_change * data.scale
    artifacts = {
        paths["ppc_plot"]: did_ppc_png(observed_unit, replicates["unit_change"], observed_cluster,
                                       replicates["cluster_mean_change"], data.cluster_labels, label),
        paths["prior_predictive_plot"]: did_prior_png(implied, scale, label),
    }
    import xarray as xr

    groups_nc = {
        "posterior": posterior, "sample_stats": fit.trace["sample_stats"].to_dataset(),
        "prior": fit.trace["prior"].to_dataset(), "prior_predictive": fit.trace["prior_predictive"].to_dataset(),
        "posterior_predictive": xr.Dataset({"cluster_mean_change": (("draw", "cluster"),
                                                                    replicates["cluster_mean_change"])},
                                           coords={"cluster": list(data.cluster_labels)}),
        "observed_data": xr.Dataset({"cluster_mean_change": (("cluster",), observed_cluster),
                                     "within_ss_standardised": (("cluster",), data.within_ss)},
                                    coords={"cluster": list(data.cluster_labels)}),
        "constant_data": xr.Dataset({"n": (("cluster",), data.n), "treated": (("cluster",), data.treated),
                                     "group": (("cluster",), np.array(data.group_labels)[data.group])},
                                    coords={"cluster": list(data.cluster_labels)}),
    }
    artifacts[paths["inference_data"]] = _netcdf_bytes(groups_nc, {"hypothesis": spec.id, "model": "bayes_did",
                                                                   "seed": sampler.seed})
    extras = {
        **_common_extras(settings, "bayes_did", priors, fit, diagnostics),
        "model": ("hierarchical DiD on respondents' changes: change ~ trend + effect[CSO] * treated + "
                  "community intercept + noise; " + ("centred" if centered else "non-centred") + " CSO effects; "
                  "collapsed (sufficient-statistics) likelihood"),
        "target": options.target, "target_description": target_text, "posterior": target,
        "portfolio_effect": summary(derived["portfolio_effect"]),
        "population_effect": summary(derived["population_effect"]),
        "group_effects": groups, "group_column": spec.design.group,
        "standardisation": {"baseline_sd": data.scale, "note": "priors are on the change divided by this SD"},
        "prior_predictive": prior_check,
        "prior_sensitivity": _sensitivity(settings, "bayes_did", rerun, ci_level=level, sesoi=sesoi),
        "artifacts": paths,
    }
    return _result(target=target, n=2 * data.n_units, n_clusters=data.n_clusters, counts=data.counts,
                   extras=extras, artifacts=artifacts)


# --------------------------------------------------------------------------- ordinal_did


def _sample_ordinal(data: OrdinalData, priors: Mapping[str, float], settings: SamplerSettings,
                    with_prior: bool = True) -> FitOutput:
    from ..bayes import build_ordinal_model, ordinal_model_data

    inputs = ordinal_model_data(data, priors)
    return sample_model("ordinal_did", {"categories": data.n_categories}, inputs,
                        lambda: build_ordinal_model(data, priors), settings, with_prior=with_prior,
                        density=lambda: density_for("ordinal_did", {}, inputs, {
                            "category": data.categories, "cluster": data.cluster_labels}))


def _fit_ordinal_did(frame: Any, outcome: Any, spec: HypothesisSpec, options: Any, *, file: str) -> EstimateResult:
    from ..bayes import ordinal_derived, ordinal_replicates
    from ..bayes import ordinal_ppc_png, ordinal_prior_png

    settings = _settings(spec)
    construction = spec.outcome.construction
    if construction.method != "column":
        raise EstimationError("ordinal_did models one Likert item: use outcome.construction.method 'column'",
                              hypothesis_id=spec.id, fix="name the item with column: <item>")
    if spec.covariates:
        raise EstimationError("ordinal_did does not adjust for covariates", hypothesis_id=spec.id,
                              fix="remove 'covariates' from the spec")
    data = _prepare(prepare_ordinal, frame, outcome, spec.design, construction.scale, file=file,
                    column=construction.column or "")
    top_from = options.top_from if options.top_from is not None else data.categories[-2]
    if top_from not in data.categories[1:]:
        raise EstimationError(f"top_from {top_from} must be one of the categories {list(data.categories[1:])}",
                              hypothesis_id=spec.id, fix="set estimator.options.top_from to an answer value")
    priors = _priors("ordinal_did", settings)
    sampler = _sampler(settings)
    fit = _sample_ordinal(data, priors, sampler)
    derived = ordinal_derived(fit.posterior, data, top_from)
    posterior = fit.posterior.assign(**_as_dataarrays(
        {k: derived[k] for k in ("latent_effect_sd", "category_change", "top_change")},
        {"category_change": ("category",)}))
    diagnostics = check_diagnostics(posterior, fit.trace["sample_stats"].to_dataset(),
                                    Thresholds.from_spec(settings.diagnostics))
    sesoi, level = spec.inference.sesoi, spec.inference.ci_level

    def summary(draws: np.ndarray, with_sesoi: bool = True) -> dict[str, Any]:
        return summarize_draws(draws, ci_level=level, interval_kind=settings.interval,
                               sesoi=sesoi if with_sesoi else None)

    target_key = "top_change" if options.target == "top_categories" else "latent_effect"
    target = summary(derived[target_key])
    top_text = f"answers >= {top_from}"
    categories = {str(c): summary(derived["category_change"][..., k], with_sesoi=False)
                  for k, c in enumerate(data.categories)}
    rng = np.random.default_rng([sampler.seed, 2])
    replicates = ordinal_replicates(fit.posterior, data, rng, PPC_DRAWS)
    prior_counts = np.asarray(fit.trace["prior_predictive"]["counts_obs"].values).reshape(
        -1, *data.counts.shape)
    prior_shares = prior_counts.sum(axis=(1, 2)) / np.maximum(prior_counts.sum(axis=(1, 2, 3))[:, None], 1.0)
    prior_check = {"quantity": "implied answer distribution (prior predictive)",
                   "scale": [data.categories[0], data.categories[-1]], "share_on_scale": 1.0, "passed": True,
                   "note": "answers are categories of the registered scale by construction",
                   "implied_category_share_q05_q95": {str(c): [float(np.quantile(prior_shares[:, k], 0.05)),
                                                              float(np.quantile(prior_shares[:, k], 0.95))]
                                                      for k, c in enumerate(data.categories)}}

    def rerun(scales: dict[str, float]) -> np.ndarray:
        refit = _sample_ordinal(data, scales, sampler, with_prior=False)
        return ordinal_derived(refit.posterior, data, top_from)[target_key]

    paths = _artifact_paths(spec.id)
    artifacts = {paths["ppc_plot"]: ordinal_ppc_png(data.counts, replicates, data.treated, data.categories),
                 paths["prior_predictive_plot"]: ordinal_prior_png(prior_counts, data.categories)}
    import xarray as xr

    dims = ("cluster", "wave", "category")
    coords = {"cluster": list(data.cluster_labels), "wave": ["pre", "post"],
              "category": [str(c) for c in data.categories]}
    groups_nc = {
        "posterior": posterior, "sample_stats": fit.trace["sample_stats"].to_dataset(),
        "prior": fit.trace["prior"].to_dataset(), "prior_predictive": fit.trace["prior_predictive"].to_dataset(),
        "posterior_predictive": xr.Dataset({"counts": (("draw", *dims), replicates)}, coords=coords),
        "observed_data": xr.Dataset({"counts": (dims, data.counts)}, coords=coords),
        "constant_data": xr.Dataset({"treated": (("cluster",), data.treated)},
                                    coords={"cluster": coords["cluster"]}),
    }
    artifacts[paths["inference_data"]] = _netcdf_bytes(groups_nc, {"hypothesis": spec.id, "model": "ordinal_did",
                                                                   "seed": sampler.seed})
    extras = {
        **_common_extras(settings, "ordinal_did", priors, fit, diagnostics),
        "model": "cumulative-logit DiD on answer counts per community x wave: eta = arm*treated + community "
                 "intercept + trend*post + effect*treated*post + community x wave shock",
        "target": options.target,
        "target_description": (f"change in the share of {top_text} among treated respondents at endline, against "
                               "the same communities without the effect (probability units)"
                               if target_key == "top_change" else "treatment x period effect on the latent "
                               "scale (logits)"),
        "posterior": target, "top_from": top_from,
        "latent_effect_logit": summary(derived["latent_effect"], with_sesoi=False),
        "latent_effect_sd": summary(derived["latent_effect_sd"], with_sesoi=False),
        "top_change": summary(derived["top_change"], with_sesoi=target_key == "top_change"),
        "category_probability_change": categories,
        "statement": (f"{100 * float(np.mean(derived['top_change'])):+.1f} points in the share of {top_text} "
                      f"(95% {settings.interval.upper()} "
                      f"{100 * summary(derived['top_change'])['ci_low']:+.1f} to "
                      f"{100 * summary(derived['top_change'])['ci_high']:+.1f})"),
        "prior_predictive": prior_check,
        "prior_sensitivity": _sensitivity(settings, "ordinal_did", rerun, ci_level=level, sesoi=sesoi),
        "artifacts": paths,
    }
    return _result(target=target, n=int(data.counts.sum()), n_clusters=data.n_clusters, counts=data.row_counts,
                   extras=extras, artifacts=artifacts)


# --------------------------------------------------------------------------- bayes_its


def _sample_its(data: ItsData, priors: Mapping[str, float], settings: SamplerSettings,
                with_prior: bool = True) -> FitOutput:
    from ..bayes import build_its_model, its_model_data

    inputs = its_model_data(data, priors)
    return sample_model("bayes_its", {"units": data.n_units}, inputs, lambda: build_its_model(data, priors),
                        settings, with_prior=with_prior,
                        density=lambda: density_for("bayes_its", {}, inputs, {
                            "unit": data.unit_labels, "n_steps": data.n_steps}))


def _fit_bayes_its(frame: Any, outcome: Any, spec: HypothesisSpec, options: Any, *, file: str) -> EstimateResult:
    from ..bayes import its_effects
    from ..bayes import its_ppc_png, its_prior_png

    settings = _settings(spec)
    data = _prepare(prepare_its, frame, outcome, spec.design, denominator=options.denominator, file=file,
                    level_step_days=options.level_step_days, use_regressor=options.regressor != "none")
    priors = _priors("bayes_its", settings)
    sampler = _sampler(settings)
    fit = _sample_its(data, priors, sampler)
    rng = np.random.default_rng([sampler.seed, 3])
    effects = its_effects(fit.posterior, data, rng)
    derived = {"average_effect": effects["average_effect"], "cumulative_effect": effects["cumulative_effect"],
               "unit_effect": effects["unit_effect"]}
    posterior = fit.posterior.assign(**_as_dataarrays(derived, {"unit_effect": ("unit",)}))
    diagnostics = check_diagnostics(posterior, fit.trace["sample_stats"].to_dataset(),
                                    Thresholds.from_spec(settings.diagnostics))
    sesoi, level = spec.inference.sesoi, spec.inference.ci_level

    def summary(draws: np.ndarray, with_sesoi: bool = True) -> dict[str, Any]:
        return summarize_draws(draws, ci_level=level, interval_kind=settings.interval,
                               sesoi=sesoi if with_sesoi else None)

    target = summary(effects["average_effect"])
    cumulative = summary(effects["cumulative_effect"], with_sesoi=False)
    units = {label: {**summary(effects["unit_effect"][..., k]), "group": data.group_labels[k],
                     "start": data.dates[int(data.start_day[k])]}
             for k, label in enumerate(data.unit_labels)}
    prior_level = np.asarray(fit.trace["prior"]["level"].values).reshape(-1, data.n_units)
    prior_share = 1.0 / (1.0 + np.exp(-prior_level))
    prior_check = {"quantity": "implied share per unit at the window start (prior predictive)",
                   "scale": [0.0, 1.0], "share_on_scale": 1.0, "passed": True,
                   "note": "shares lie in [0, 1] by construction (logit link)",
                   "implied_share_q05_q95": [float(np.quantile(prior_share, 0.05)),
                                             float(np.quantile(prior_share, 0.95))]}

    def rerun(scales: dict[str, float]) -> np.ndarray:
        refit = _sample_its(data, scales, sampler, with_prior=False)
        return its_effects(refit.posterior, data, np.random.default_rng([sampler.seed, 3]))["average_effect"]

    observed_share = effects["observed_share"]
    paths = _artifact_paths(spec.id)
    artifacts = {
        paths["ppc_plot"]: its_ppc_png(observed_share, effects["expected_share"], data.start_day,
                                       [f"{u} ({g})" for u, g in zip(data.unit_labels, data.group_labels,
                                                                      strict=True)], data.level_step_days,
                                       replicated_share=effects["replicate_share"]),
        paths["prior_predictive_plot"]: its_prior_png(prior_share),
    }
    import xarray as xr

    coords = {"unit": list(data.unit_labels), "date": list(data.dates)}
    expected = effects["expected_share"]
    post_days = effects["post_cells"].sum(axis=0) > 0
    post_cells = effects["post_cells"]
    # Mean over the units in their post period, per day, of observed minus expected counterfactual share.
    pointwise_mean = (np.where(post_cells, observed_share, 0.0)[None] - expected * post_cells).sum(axis=1) \
        / np.maximum(post_cells.sum(axis=0), 1)
    groups_nc = {
        "posterior": posterior, "sample_stats": fit.trace["sample_stats"].to_dataset(),
        "prior": fit.trace["prior"].to_dataset(), "prior_predictive": fit.trace["prior_predictive"].to_dataset(),
        "posterior_predictive": xr.Dataset({"expected_share": (("draw", "unit", "date"), expected)}, coords=coords),
        "observed_data": xr.Dataset({"successes": (("unit", "date"), data.successes),
                                     "trials": (("unit", "date"), data.trials)}, coords=coords),
        "constant_data": xr.Dataset({"start_day": (("unit",), data.start_day),
                                     "regressor": (("date",), data.regressor)}, coords=coords),
    }
    artifacts[paths["inference_data"]] = _netcdf_bytes(groups_nc, {"hypothesis": spec.id, "model": "bayes_its",
                                                                   "seed": sampler.seed})
    band = np.quantile(pointwise_mean[:, post_days], [0.025, 0.5, 0.975], axis=0) if post_days.any() else None
    extras = {
        **_common_extras(settings, "bayes_its", priors, fit, diagnostics),
        "model": (f"structural time series on the pre-period: beta-binomial share with a local level (random walk "
                  f"in {data.level_step_days}-day steps), day-of-week effects and "
                  + ("the comparison units' share as regressor" if options.regressor != "none" else "no regressor")
                  + "; counterfactual = posterior predictive after each unit's start"),
        "target_description": "mean over post-start unit-days with trials of observed share minus counterfactual "
                              "share (share units)",
        "posterior": target,
        "cumulative_effect": {**cumulative, "units": f"{options.denominator}: observed minus counterfactual "
                                                     "successes, summed over the post period"},
        "p_cumulative_effect_gt_0": cumulative["p_gt_0"], "p_cumulative_effect_lt_0": cumulative["p_lt_0"],
        "unit_effects": units,
        "pointwise_effect_by_day": ({"dates": [d for d, keep in zip(data.dates, post_days, strict=True) if keep],
                                     "low": band[0].tolist(), "median": band[1].tolist(),
                                     "high": band[2].tolist(), "note": "mean over units in their post period of "
                                     "observed minus expected counterfactual share"} if band is not None else None),
        "prior_predictive": prior_check,
        "prior_sensitivity": _sensitivity(settings, "bayes_its", rerun, ci_level=level, sesoi=sesoi),
        "artifacts": paths,
    }
    return _result(target=target, n=int(effects["post_cells"].sum() + effects["pre_cells"].sum()),
                   n_clusters=data.n_units, counts=data.row_counts, extras=extras, artifacts=artifacts)


# --------------------------------------------------------------------------- result cache

#: Bump when a fitter's derived outputs change: cached results are then recomputed (from cached draws).
FITTER_VERSION = "3"


def _result_key(estimator: str, frame: Any, outcome: Any, spec: HypothesisSpec, options: Any) -> str:
    """Hash of everything a fitter's output depends on: the columns it reads, the outcome, the spec, the versions."""
    import pandas as pd

    columns = [c for c in spec.columns() if c in frame.columns]
    extra = getattr(options, "denominator", None)
    if extra in frame.columns and extra not in columns:
        columns.append(extra)
    digest = hashlib.sha256()
    from .. import bayes

    # the models' code version too: a changed model (issue 15's ordinal reparametrisation) must not return a
    # result stored from the old one
    digest.update(f"{estimator}|{FITTER_VERSION}|{bayes.MODEL_CODE_VERSION}|{library_versions()}|".encode())
    digest.update(spec.model_dump_json().encode())
    digest.update(options.model_dump_json().encode())
    digest.update("\x1f".join(columns).encode())
    digest.update(pd.util.hash_pandas_object(frame[columns], index=False).to_numpy().tobytes())
    digest.update(np.asarray(pd.to_numeric(outcome, errors="coerce"), dtype=np.float64).tobytes())
    return digest.hexdigest()


def _result_cached(estimator: str, fitter: Callable[..., EstimateResult]) -> Callable[..., EstimateResult]:
    """The fitter, returning the stored result when nothing it depends on changed (see ``_result_key``).

    Results are deterministic functions of the inputs and the seed, so a stored result equals a recomputed one;
    the cache only skips the work (draws, replicates, plots, NetCDF). It lives in the run's ``RunSettings.cache_dir``
    (none: no result cache; the api's default follows ``OCA_CACHE``/``OCA_CACHE_DIR``).
    """

    @functools.wraps(fitter)
    def cached(frame: Any, outcome: Any, spec: HypothesisSpec, options: Any, *, file: str) -> EstimateResult:
        _require_bayes_stack(estimator)
        directory = cache_dir()
        path = directory / "results" / f"{_result_key(estimator, frame, outcome, spec, options)}.pkl" \
            if directory is not None else None
        if path is not None and path.is_file():
            try:
                fields = pickle.loads(path.read_bytes())
                return EstimateResult(**fields)
            except (OSError, pickle.UnpicklingError, TypeError, EOFError):
                pass
        result = fitter(frame, outcome, spec, options, file=file)
        if path is not None:
            fields = {**result.__dict__, "counts": dict(result.counts), "extras": _plain(result.extras),
                      "artifacts": dict(result.artifacts)}
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, tmp = tempfile.mkstemp(prefix=".result-", dir=path.parent)
                with os.fdopen(handle, "wb") as stream:
                    stream.write(pickle.dumps(fields))
                os.replace(tmp, path)
            except OSError:
                pass
        return result

    return cached


def _require_bayes_stack(estimator: str) -> None:
    """A core installation (without the 'bayes' extra) gets one line naming the extra, not an ImportError."""
    from .._extras import install_hint, missing

    absent = missing("bayes")
    if absent:
        raise EstimationError(f"{estimator} needs the Bayesian stack, which is not installed (missing: "
                              f"{', '.join(absent)}); install it with {install_hint('bayes')}",
                              fix=f"{install_hint('bayes')}, then run again")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


fit_bayes_did = _result_cached("bayes_did", _fit_bayes_did)
fit_ordinal_did = _result_cached("ordinal_did", _fit_ordinal_did)
fit_bayes_its = _result_cached("bayes_its", _fit_bayes_its)
