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


@pytest.mark.parametrize("case", [_did_case, _ordinal_case, _its_case], ids=["did", "ordinal", "its"])
def test_sbc_rank_histograms_are_uniform(case) -> None:
    import nutpie
    import pymc as pm

    kind, structure, _, _, build, inputs, observed_to_data, checked, labels = case()
    model = build()
    prior = pm.sample_prior_predictive(draws=SIMULATIONS, model=model, random_seed=2026,
                                       compile_kwargs={"mode": "FAST_COMPILE"})
    settings = SamplerSettings(chains=2, draws=500, tune=400)
    ranks = {name: [] for name in checked}
    for sim in range(SIMULATIONS):
        simulated = {data_name: np.asarray(prior["prior_predictive"][obs].values[0, sim], dtype=float)
                     for obs, data_name in observed_to_data.items()}
        compiled = density_for(kind, structure, {**inputs, **simulated}, labels).compiled()
        fitted = nutpie.sample(compiled, draws=settings.draws, tune=settings.tune,
                               chains=settings.chains, cores=2, seed=1000 + sim, progress_bar=False,
                               save_warmup=False)
        for name in checked:
            truth = np.asarray(prior["prior"][name].values[0, sim]).ravel()[0]
            draws = np.asarray(fitted.posterior[name].values).reshape(settings.chains * settings.draws, -1)[:, 0]
            thinned = draws[np.linspace(0, draws.size - 1, RANK_DRAWS).astype(int)]
            ranks[name].append(int(np.sum(thinned < truth)))
    for name, values in ranks.items():
        counts = np.bincount(np.asarray(values) * BINS // (RANK_DRAWS + 1), minlength=BINS)
        p_value = stats.chisquare(counts).pvalue
        # 1% per model, Bonferroni over its parameters: 14 histograms each at 1% would fail a calibrated sampler
        # in about 1 run of 8 (any change of the draws re-rolls them)
        assert p_value > ALPHA / len(checked), (kind, name, counts.tolist(), p_value)
