"""Simulation-based calibration (Talts et al. 2018) of the three Bayesian models on small cases.

For each model: 100 datasets are simulated from the PyMC model's prior predictive (PyMC's forward sampler, so
independent of oca's kernels), each is fitted with nutpie on the density that production uses (the ``kernel``
backend: oca's numba log density), and the rank of each true parameter among 99 thinned posterior draws is
recorded. If the kernels, the model and the sampler are calibrated, ranks are uniform: chi-square tests on 10
bins must not reject at the 1% level for the model (Bonferroni over its checked parameters). A kernel whose
density differed from the PyMC model's would fail here.

About 45 s for all three on 2 cores (the kernels sample in C), so it runs with the suite; ``-m "not slow"``
skips it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oca_experiments.bayes import (
    SamplerSettings, build_did_model, build_its_model, build_ordinal_model, did_from_units, did_model_data,
    its_model_data, ordinal_model_data, prior_scales,
)
from oca_experiments.bayes._data import ItsData, OrdinalData
from oca_experiments.bayes._density import density_for

pytestmark = [pytest.mark.slow, pytest.mark.bayes]

SIMULATIONS = 100
RANK_DRAWS = 99  # ranks take values 0..99: 10 bins of 10
BINS = 10
ALPHA = 0.01
MISSPECIFIED_SIMULATIONS = 150


def _did_case():
    rng = np.random.default_rng(0)
    groups, per_cluster = 3, 15
    cluster_group = np.repeat(np.arange(groups), 4)
    treated = np.tile([1.0, 1.0, 0.0, 0.0], groups)
    cluster = np.repeat(np.arange(cluster_group.size), per_cluster)
    data = did_from_units(rng.normal(size=cluster.size), cluster, treated, cluster_group)
    priors = prior_scales("bayes_did")
    return ("bayes_did", {"centered": False, "hierarchical": True}, data, priors,
            lambda: build_did_model(data, priors), did_model_data(data, priors),
            {"mean_change_obs": "mean_change", "within_ss_obs": "within_ss"},
            ["effect", "trend", "group_sd", "cluster_sd", "noise_sd"],
            {"group": data.group_labels, "cluster": data.cluster_labels})


def _ordinal_case():
    clusters = 8
    counts = np.full((clusters, 2, 4), 10.0)
    data = OrdinalData(counts=counts, treated=np.tile([1.0, 0.0], clusters // 2), group=np.zeros(clusters, int),
                       categories=(1, 2, 3, 4), cluster_labels=tuple(f"c{i}" for i in range(clusters)),
                       group_labels=("g",))
    priors = prior_scales("ordinal_did")
    return ("ordinal_did", {"categories": 4}, data, priors, lambda: build_ordinal_model(data, priors),
            ordinal_model_data(data, priors), {"counts_obs": "counts"},
            ["effect", "trend", "arm", "cluster_sd", "first_cutpoint"],
            {"category": data.categories, "cluster": data.cluster_labels})


def _its_case():
    rng = np.random.default_rng(1)
    units, days = 2, 56
    trials = rng.poisson(8, (units, days)).astype(float)
    data = ItsData(successes=np.zeros_like(trials), trials=trials, start_day=np.array([42, 42]),
                   day_of_week=np.arange(days) % 7, regressor=rng.normal(size=days), unit_labels=("u1", "u2"),
                   group_labels=("u1", "u2"), dates=tuple(str(d) for d in range(days)), level_step_days=7)
    priors = prior_scales("bayes_its")
    return ("bayes_its", {"units": units}, data, priors, lambda: build_its_model(data, priors),
            its_model_data(data, priors), {"successes_obs": "successes"},
            ["regressor_coef", "level_step_sd", "overdispersion", "level"],
            {"unit": data.unit_labels, "n_steps": data.n_steps})


def _sbc_ranks(case, simulations: int, *, fit_prior_factors: dict[str, float] | None = None,
               seed: int = 2026) -> dict[str, np.ndarray]:
    """(simulations, elements) ranks of every element of every checked parameter among RANK_DRAWS thinned draws.

    ``fit_prior_factors`` scales prior inputs of the *fitted* density only (a deliberately wrong model)."""
    import nutpie
    import pymc as pm

    kind, structure, _, _, build, inputs, observed_to_data, checked, labels = case()
    model = build()
    prior = pm.sample_prior_predictive(draws=simulations, model=model, random_seed=seed,
                                       compile_kwargs={"mode": "FAST_COMPILE"})
    fit_inputs = dict(inputs)
    for name, factor in (fit_prior_factors or {}).items():
        fit_inputs[name] = np.asarray(fit_inputs[name], dtype=float) * factor
    settings = SamplerSettings(chains=2, draws=500, tune=400)
    ranks: dict[str, list[np.ndarray]] = {name: [] for name in checked}
    for sim in range(simulations):
        simulated = {data_name: np.asarray(prior["prior_predictive"][obs].values[0, sim], dtype=float)
                     for obs, data_name in observed_to_data.items()}
        compiled = density_for(kind, structure, {**fit_inputs, **simulated}, labels).compiled()
        fitted = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune,
                               chains=settings.chains, cores=2, seed=1000 + sim, progress_bar=False,
                               save_warmup=False)
        for name in checked:
            truth = np.asarray(prior["prior"][name].values[0, sim], dtype=float).ravel()
            draws = np.asarray(fitted.posterior[name].values).reshape(settings.chains * settings.draws, truth.size)
            thinned = draws[np.linspace(0, draws.shape[0] - 1, RANK_DRAWS).astype(int)]
            ranks[name].append(np.sum(thinned < truth[None, :], axis=0))  # every element, not only the first
    return {name: np.asarray(values) for name, values in ranks.items()}


def _uniformity_p_values(ranks: dict[str, np.ndarray]) -> dict[str, float]:
    """Chi-square p-value of the 10-bin histogram of each element ('name[i]')."""
    out = {}
    for name, values in ranks.items():
        for element in range(values.shape[1]):
            counts = np.bincount(values[:, element] * BINS // (RANK_DRAWS + 1), minlength=BINS)
            out[f"{name}[{element}]"] = float(stats.chisquare(counts).pvalue)
    return out


@pytest.mark.parametrize("case", [_did_case, _ordinal_case, _its_case], ids=["did", "ordinal", "its"])
def test_sbc_rank_histograms_are_uniform(case) -> None:
    p_values = _uniformity_p_values(_sbc_ranks(case, SIMULATIONS))
    # 1% per model, Bonferroni over every element of every checked parameter
    for element, p_value in p_values.items():
        assert p_value > ALPHA / len(p_values), (element, p_value)


def _small_did_case():
    """DiD with little data per cluster, so the effect's posterior leans on its prior (where SBC can see it)."""
    rng = np.random.default_rng(5)
    clusters, per_cluster = 6, 3
    treated = np.tile([1.0, 0.0], clusters // 2)
    cluster = np.repeat(np.arange(clusters), per_cluster)
    data = did_from_units(rng.normal(size=cluster.size), cluster, treated, np.zeros(clusters, dtype=int))
    priors = prior_scales("bayes_did")
    return ("bayes_did", {"centered": False, "hierarchical": False}, data, priors,
            lambda: build_did_model(data, priors), did_model_data(data, priors),
            {"mean_change_obs": "mean_change", "within_ss_obs": "within_ss"}, ["effect"],
            {"group": data.group_labels, "cluster": data.cluster_labels})


def _tail_excess_p_value(ranks: np.ndarray) -> float:
    """One-sided test that ranks pile up in both tails (a posterior too narrow for the truth): the mean of
    |2u - 1|, u = (rank + 0.5) / (RANK_DRAWS + 1), is 1/2 under uniform ranks with variance 1/12 per draw."""
    u = (ranks.ravel() + 0.5) / (RANK_DRAWS + 1)
    z = (np.mean(np.abs(2 * u - 1)) - 0.5) / np.sqrt(1 / 12 / u.size)
    return float(stats.norm.sf(z))


def test_sbc_catches_an_effect_prior_thirty_percent_too_narrow() -> None:
    """SBC that can fail: fitting with the effect prior scaled by 0.7 (data simulated from the registered prior)
    must be rejected, while the correct density on the same simulations is not."""
    wrong = _sbc_ranks(_small_did_case, MISSPECIFIED_SIMULATIONS, fit_prior_factors={"prior_effect": 0.7})["effect"]
    right = _sbc_ranks(_small_did_case, MISSPECIFIED_SIMULATIONS)["effect"]
    assert _tail_excess_p_value(wrong) < ALPHA, _tail_excess_p_value(wrong)
    assert _tail_excess_p_value(right) > ALPHA, _tail_excess_p_value(right)
