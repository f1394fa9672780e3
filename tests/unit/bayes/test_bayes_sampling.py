"""Real sampling with nutpie on small DiD problems (the default kernel backend unless a test says otherwise).

- the diagnostics gate flags a centred hierarchy on a few weakly identified groups (and passes the non-centred
  model on the same data and seed);
- the same seed and data give bit-identical draws, fresh or from the draws cache;
- with weak priors and many respondents, the Bayesian DiD agrees with the frequentist DiD (survey_did);
- the kernel and PyMC backends give the same results through the whole fitter.
"""

from __future__ import annotations

import numpy as np
import pytest
from bayes_helpers import PANEL_DID_SPEC, panel_frame

from oca_experiments.bayes import SamplerSettings, Thresholds, build_did_model, check_diagnostics, did_from_units
from oca_experiments.bayes import did_model_data, prior_scales, sample_model
from oca_experiments.estimators import FITTERS
from oca_experiments.estimators._catalog import BayesDiDOptions, SurveyDiDOptions
from oca_experiments.spec import HypothesisSpec
from oca_experiments.summarize import bayesian_verdict

pytestmark = pytest.mark.bayes


def _funnel_data() -> object:
    """8 groups whose effects are identical, each seen through only 2 small treated communities."""
    rng = np.random.default_rng(11)
    groups, per_cluster = 8, 6
    cluster_group = np.repeat(np.arange(groups), 4)
    treated = np.tile([1.0, 1.0, 0.0, 0.0], groups)
    cluster = np.repeat(np.arange(cluster_group.size), per_cluster)
    change = 0.2 * treated[cluster] + rng.normal(0.0, 1.0, cluster.size)
    return did_from_units(change, cluster, treated, cluster_group)


def _fit(data, *, centered: bool, use_cache: bool = False):
    priors = prior_scales("bayes_did", {"group_sd": 1.0})
    settings = SamplerSettings(seed=5, chains=2, draws=400, tune=400, target_accept=0.8)
    return sample_model("bayes_did", {"centered": centered, "hierarchical": True}, did_model_data(data, priors),
                        lambda: build_did_model(data, priors, centered=centered), settings, use_cache=use_cache,
                        with_prior=False)


def test_gate_flags_a_centred_hierarchy_on_few_groups() -> None:
    data = _funnel_data()
    lenient = Thresholds(max_rhat=1.05, min_ess_bulk=50, min_ess_tail=50, max_divergences=0)
    bad = _fit(data, centered=True)
    report = check_diagnostics(bad.posterior, bad.trace["sample_stats"].to_dataset(), lenient)
    assert not report.passed and report.divergences > 0
    verdict = bayesian_verdict(posterior={"p_gt_0": 1.0, "p_gt_sesoi": 1.0}, diagnostics=report.to_dict(),
                               direction="increase", sesoi=0.1)
    assert verdict.verdict.startswith("unreliable: diagnostics failed (") and "divergent" in verdict.verdict
    good = _fit(data, centered=False)
    assert check_diagnostics(good.posterior, good.trace["sample_stats"].to_dataset(), lenient).divergences == 0


def test_same_seed_same_draws_fresh_or_cached() -> None:
    data = _funnel_data()
    first = _fit(data, centered=False).posterior
    second = _fit(data, centered=False).posterior
    np.testing.assert_array_equal(first["effect"].values, second["effect"].values)
    stored = _fit(data, centered=False, use_cache=True)
    loaded = _fit(data, centered=False, use_cache=True)
    assert not stored.cache_hit and loaded.cache_hit
    np.testing.assert_array_equal(loaded.posterior["effect"].values, first["effect"].values)


def test_weak_prior_large_n_agrees_with_frequentist_did() -> None:
    frame = panel_frame(n_per_cluster=250, groups=6, effect=0.25, seed=4)
    base = {"id": "agree", "title": "t", "hypothesis": "h", "type": "confirmatory", "direction": "increase",
            "outcome": {"source": "survey", "name": "y", "construction": {"method": "column", "column": "y"}},
            "design": {"unit": "rid", "time": "wave", "pre": "baseline", "post": "endline",
                       "treatment": "treated", "cluster": "community", "group": "cso"}}
    freq = FITTERS["survey_did"](frame, frame["y"], HypothesisSpec.model_validate(
        {**base, "estimator": {"name": "survey_did"}, "inference": {"se": "CR1"}}), SurveyDiDOptions(), file="s")
    weak = {name: 10.0 * scale for name, scale in prior_scales("bayes_did").items()}
    spec = HypothesisSpec.model_validate({
        **base, "estimator": {"name": "bayes_did"}, "inference": {"se": "posterior"},
        "bayes": {"priors": weak, "sampler": {"seed": 1, "chains": 2, "draws": 1000, "tune": 500}}})
    bayes = FITTERS["bayes_did"](frame, frame["y"], spec, BayesDiDOptions(), file="s")
    mcse = bayes.extras["posterior"]["mcse_mean"]
    # Equal community and CSO sizes: the portfolio effect's posterior is centred on the frequentist DiD estimate
    # (partial pooling of balanced groups keeps their mean), so the two agree up to Monte Carlo error and a prior
    # shrinkage far below it.
    assert abs(bayes.estimate - freq.estimate) < 4 * mcse + 0.01 * freq.std_error, (bayes.estimate, freq.estimate)
    assert bayes.std_error == pytest.approx(freq.std_error, rel=0.25)


def test_kernel_and_pymc_backends_give_the_same_results_through_the_fitter() -> None:
    """The two backends sample the same density (see test_kernels.py) with different code. Through the whole
    fitter (prior predictive, prior-sensitivity reruns, diagnostics), they give the same posterior within Monte
    Carlo error on the same data and seed."""
    frame = panel_frame(n_per_cluster=30, groups=3, effect=0.3, seed=8)
    results = {}
    for backend in ("kernel", "pymc"):
        spec = HypothesisSpec.model_validate({
            **PANEL_DID_SPEC, "id": "backends",
            "bayes": {"prior_sensitivity": [2.0], "sampler": {"seed": 3, "backend": backend}}})
        results[backend] = FITTERS["bayes_did"](frame, frame["y"], spec, BayesDiDOptions(), file="s")
    kernel, pymc = results["kernel"], results["pymc"]
    assert kernel.extras["sampler"]["backend"] == "kernel" and pymc.extras["sampler"]["backend"] == "pymc"
    for name in ("posterior", "population_effect"):
        a, b = kernel.extras[name], pymc.extras[name]
        assert abs(a["mean"] - b["mean"]) < 5 * np.hypot(a["mcse_mean"], b["mcse_mean"]), (name, a, b)
        assert a["sd"] == pytest.approx(b["sd"], rel=0.15), name
    assert kernel.extras["prior_sensitivity"][0]["mean"] == pytest.approx(
        pymc.extras["prior_sensitivity"][0]["mean"], abs=5 * kernel.extras["posterior"]["sd"] / 20)
    # prior predictive checks: the numpy simulation and PyMC's forward sampler imply the same endline scale
    a, b = kernel.extras["prior_predictive"], pymc.extras["prior_predictive"]
    assert a["passed"] and b["passed"]
    assert a["quantiles"]["q50"] == pytest.approx(b["quantiles"]["q50"], abs=0.1)
