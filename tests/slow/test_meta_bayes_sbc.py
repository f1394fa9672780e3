"""Simulation-based calibration (Talts et al. 2018) of the Bayesian pooling model (summarize/meta_bayes.py).

Six CSO-like units with fixed standard errors; (mu, tau, theta, y) are drawn from the prior mu ~ N(0, 1),
tau ~ half-normal(0.5); each data set is fitted by nutpie on the production density (theta drawn from its exact conditional, as in
production), and the rank of each true
parameter among 99 thinned posterior draws is recorded. Calibrated: ranks uniform (chi-square on 10 bins,
Bonferroni over the checked quantities at 1%). A deliberately wrong model, fitted with every SE halved (the
analyst mistakes a posterior SD or a CI half-width for something twice as precise), must be caught by the
same simulations: ranks pile up in both tails. About 60 s (60 simulations per model, 2 chains x 200 draws).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oca_experiments.summarize.meta_bayes import HierarchicalPrior, NormalNormalDensity, conditional_theta

pytestmark = [pytest.mark.slow, pytest.mark.bayes]

SE = np.array([0.3, 0.5, 0.4, 0.6, 0.35, 0.45])
PRIOR = HierarchicalPrior("half_normal", tau_scale=0.5, mu_sd=1.0)
SIMULATIONS = 60
RANK_DRAWS = 99
BINS = 10
ALPHA = 0.01


def _ranks(se_factor: float) -> dict[str, np.ndarray]:
    import nutpie

    rng = np.random.default_rng(2027)
    labels = tuple(f"CSO{j + 1}" for j in range(SE.size))
    out: dict[str, list] = {"mu": [], "tau": [], "theta": []}
    for sim in range(SIMULATIONS):
        mu = rng.normal(0.0, PRIOR.mu_sd)
        tau = abs(rng.normal(0.0, PRIOR.tau_scale))
        theta = mu + tau * rng.standard_normal(SE.size)
        y = theta + SE * rng.standard_normal(SE.size)
        density = NormalNormalDensity(y, SE * se_factor, labels, PRIOR)
        fit = nutpie.sample(density.compiled(), draws=200, tune=200, chains=2, cores=1, seed=500 + sim,
                            progress_bar=False, save_warmup=False, target_accept=0.95)
        mu_draws = np.asarray(fit.posterior["mu"].values).ravel()
        tau_draws = np.asarray(fit.posterior["tau"].values).ravel()
        posterior = {"mu": mu_draws[:, None], "tau": tau_draws[:, None],  # theta as production draws it
                     "theta": conditional_theta(mu_draws, tau_draws, y, SE * se_factor, np.random.default_rng(sim))}
        for name, truth in (("mu", np.array([mu])), ("tau", np.array([tau])), ("theta", theta)):
            draws = posterior[name]
            thinned = draws[np.linspace(0, draws.shape[0] - 1, RANK_DRAWS).astype(int)]
            out[name].append(np.sum(thinned < truth[None, :], axis=0))
    return {name: np.asarray(v) for name, v in out.items()}


def _chi2_p_values(ranks: dict[str, np.ndarray]) -> dict[str, float]:
    out = {}
    for name, values in ranks.items():
        for element in range(values.shape[1]):
            counts = np.bincount(values[:, element] * BINS // (RANK_DRAWS + 1), minlength=BINS)
            out[f"{name}[{element}]"] = float(stats.chisquare(counts).pvalue)
    return out


def _tail_excess_p_value(ranks: np.ndarray) -> float:
    """One-sided: mean |2u - 1| (1/2 under uniform ranks, variance 1/12 per rank) is too large."""
    u = (ranks.ravel() + 0.5) / (RANK_DRAWS + 1)
    z = (np.mean(np.abs(2 * u - 1)) - 0.5) / np.sqrt(1 / 12 / u.size)
    return float(stats.norm.sf(z))


def test_sbc_is_uniform_for_the_model_and_catches_halved_standard_errors():
    right = _ranks(1.0)
    p_values = _chi2_p_values(right)
    for element, p in p_values.items():
        assert p > ALPHA / len(p_values), (element, p)
    assert _tail_excess_p_value(right["theta"]) > ALPHA
    wrong = _ranks(0.5)
    print({k: round(v, 4) for k, v in p_values.items()}, _tail_excess_p_value(right["theta"]),
          _tail_excess_p_value(wrong["theta"]))
    assert _tail_excess_p_value(wrong["theta"]) < ALPHA, _tail_excess_p_value(wrong["theta"])
