"""Bayesian random-effects pooling (summarize/meta_bayes.py): the log density equals the PyMC model's, NUTS
agrees with an exact quadrature of the posterior and with the published eight-schools reference posterior, it
recovers known effects, and a core install gets one line naming the extra."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from oca_experiments.summarize.meta_bayes import (
    BayesExtraMissing, HierarchicalPrior, NormalNormalDensity, bayesian_random_effects, build_pymc_model,
    conditional_theta, log_density,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "reference"))
from hierarchical_grid import grid_posterior  # noqa: E402

Y8 = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]  # BDA3 Table 5.2 (Rubin 1981)
S8 = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
POSTERIORDB_PRIOR = HierarchicalPrior("half_cauchy", tau_scale=5.0, mu_sd=5.0)


@pytest.mark.parametrize("prior", [HierarchicalPrior("half_cauchy", 5.0, None), HierarchicalPrior("half_normal", 2.0, 3.0)])
def test_log_density_equals_pymc_and_its_gradient_finite_differences(prior):
    """The sampled (collapsed) density equals PyMC's model to 1e-9 relative, its gradient equals finite
    differences, and integrating theta out of PyMC's full model gives the same density of (mu, tau)."""
    pytest.importorskip("pymc")
    collapsed = build_pymc_model(Y8, S8, list("ABCDEFGH"), prior).compile_logp()
    full = build_pymc_model(Y8, S8, list("ABCDEFGH"), prior, collapsed=False).compile_logp()
    rng = np.random.default_rng(3)
    y, se = np.asarray(Y8), np.asarray(S8)
    for _ in range(5):
        x = rng.normal(size=2) * np.r_[5.0, 1.0]
        ours, grad = log_density(x, y, se, prior)
        assert ours == pytest.approx(float(collapsed({"mu": x[0], "tau_log__": x[1]})), rel=1e-9)
        eps = 1e-6
        numeric = [(log_density(x + eps * e, y, se, prior)[0] - log_density(x - eps * e, y, se, prior)[0])
                   / (2 * eps) for e in np.eye(2)]
        assert np.allclose(grad, numeric, atol=1e-5, rtol=1e-6)
        # p(y, theta | mu, tau) = p(y | mu, tau) p(theta | y, mu, tau): the full model minus the collapsed one is
        # the log density of the exact conditional that conditional_theta draws from (BDA3 eq. 5.17)
        mu, tau = x[0], math.exp(x[1])
        theta = rng.normal(size=8) * 10
        precision = 1 / se ** 2 + 1 / tau ** 2
        mean = (y / se ** 2 + mu / tau ** 2) / precision
        conditional = float(np.sum(stats.norm.logpdf(theta, mean, 1 / np.sqrt(precision))))
        full_value = float(full({"mu": x[0], "tau_log__": x[1], "theta": theta}))
        assert full_value - ours == pytest.approx(conditional, rel=1e-9, abs=1e-9)
        draws = conditional_theta(np.full(20000, mu), np.full(20000, tau), y, se, np.random.default_rng(1))
        assert np.allclose(draws.mean(axis=0), mean, atol=5 / np.sqrt(precision) / np.sqrt(20000))


def test_grid_reproduces_bda3_table_5_3_flat_prior():
    """The reference quadrature itself, against BDA3 Table 5.3 (p(mu, tau) ∝ 1; 200 simulation draws, so the
    published quantiles are rounded to integers and carry simulation error: tolerance 1.5 points)."""
    post = grid_posterior(Y8, S8, tau_prior="uniform", tau_scale=1.0, mu_sd=None)
    assert post["mu"]["ci"] == pytest.approx([-2, 18], abs=1.5)
    assert post["tau"]["median"] == pytest.approx(5.1, abs=1.0)
    assert post["theta"][0]["ci"][1] == pytest.approx(31, abs=1.5)  # school A's 97.5% point


@pytest.mark.bayes
def test_eight_schools_matches_quadrature_and_posteriordb():
    """posteriordb's reference posterior eight_schools-eight_schools_noncentered (stan-dev/posteriordb; priors
    mu ~ N(0, 5), tau ~ half-Cauchy(0, 5)) as quoted to one decimal: mu mean 4.3-4.4, SD 3.3; tau mean 3.6, SD 3.2;
    theta_A mean 6.4, SD 5.6. Exact quadrature: mu 4.397, tau 3.598. Tolerances: 5 Monte Carlo SEs (SD/sqrt(ESS),
    ESS >= 400 by the gate) against the quadrature; 0.1 rounding + 5 MCSE against the quoted values."""
    fit = bayesian_random_effects(Y8, S8, list("ABCDEFGH"), prior=POSTERIORDB_PRIOR, use_cache=False)
    assert fit.diagnostics_passed, fit.diagnostics_failures
    exact = grid_posterior(Y8, S8, tau_prior="half_cauchy", tau_scale=5.0, mu_sd=5.0)
    mcse = lambda sd: 5 * sd / math.sqrt(400)  # noqa: E731
    assert fit.mu_mean == pytest.approx(exact["mu"]["mean"], abs=mcse(exact["mu"]["sd"]))
    assert fit.tau_mean == pytest.approx(exact["tau"]["mean"], abs=mcse(exact["tau"]["sd"]))
    assert fit.mu_sd_post == pytest.approx(exact["mu"]["sd"], rel=0.1)
    assert fit.units[0].mean == pytest.approx(exact["theta"][0]["mean"], abs=mcse(exact["theta"][0]["sd"]))
    assert fit.mu_mean == pytest.approx(4.35, abs=0.05 + mcse(3.3))
    assert fit.tau_mean == pytest.approx(3.6, abs=0.05 + mcse(3.2))
    assert fit.units[0].mean == pytest.approx(6.4, abs=0.1 + mcse(5.6))
    # partial pooling: school A is pulled from 28 most of the way to mu, not all the way
    assert exact["mu"]["mean"] < fit.units[0].mean < 28 and fit.units[0].shrinkage > 0.5


@pytest.mark.bayes
def test_precise_units_far_apart_match_the_quadrature():
    """Precise estimates far apart (where a non-centred sampler struggles): posterior equals the quadrature,
    little shrinkage."""
    y = [0.1, 0.9, 0.4, 1.3, -0.2, 0.6]
    se = [0.05, 0.06, 0.05, 0.07, 0.05, 0.06]
    prior = HierarchicalPrior("half_normal", tau_scale=1.0, mu_sd=None)
    fit = bayesian_random_effects(y, se, prior=prior, use_cache=False)
    assert fit.diagnostics_passed, fit.diagnostics_failures
    exact = grid_posterior(y, se, tau_prior="half_normal", tau_scale=1.0, mu_sd=None)
    assert fit.mu_mean == pytest.approx(exact["mu"]["mean"], abs=5 * exact["mu"]["sd"] / 20)
    assert fit.mu_ci_low == pytest.approx(exact["mu"]["ci"][0], abs=0.05)
    assert fit.tau_median == pytest.approx(exact["tau"]["median"], abs=0.05)
    assert all(u.shrinkage < 0.05 for u in fit.units)


@pytest.mark.bayes
def test_recovers_known_effects_with_many_units():
    """40 units with mu = 0.3, tau = 0.15: the 95% intervals of mu and tau hold the truth and each unit's
    posterior is closer to its true effect on average than its raw estimate (shrinkage helps)."""
    rng = np.random.default_rng(11)
    theta = 0.3 + 0.15 * rng.standard_normal(40)
    se = rng.uniform(0.08, 0.25, 40)
    y = theta + se * rng.standard_normal(40)
    fit = bayesian_random_effects(y, se, use_cache=False)
    assert fit.diagnostics_passed, fit.diagnostics_failures
    assert fit.mu_ci_low < 0.3 < fit.mu_ci_high
    assert fit.tau_ci_low < 0.15 < fit.tau_ci_high
    pooled = np.array([u.mean for u in fit.units])
    assert np.mean((pooled - theta) ** 2) < 0.8 * np.mean((y - theta) ** 2)


def test_core_install_gets_one_line_naming_the_extra(monkeypatch):
    import oca_experiments._extras as extras

    monkeypatch.setattr(extras, "missing", lambda extra: ["pymc", "nutpie"])
    with pytest.raises(BayesExtraMissing, match=r"needs the bayes extra") as err:
        bayesian_random_effects([0.1, 0.2], [0.1, 0.1])
    assert "pip install 'oca-experiments[bayes]'" in str(err.value)


def test_density_expands_noncentred_draws_and_rejects_bad_input():
    density = NormalNormalDensity(np.asarray(Y8), np.asarray(S8), tuple("ABCDEFGH"), POSTERIORDB_PRIOR.resolved(S8))
    point = density.expand_point(np.r_[1.0, math.log(2.0)])
    assert float(point["tau"]) == pytest.approx(2.0) and float(point["mu"]) == 1.0
    from oca_experiments.errors import EstimationError
    with pytest.raises(EstimationError, match="at least 2"):
        bayesian_random_effects([0.1], [0.1])
    with pytest.raises(EstimationError, match="positive"):
        bayesian_random_effects([0.1, 0.2], [0.1, 0.0])
    assert HierarchicalPrior().resolved([0.1, 0.3, 0.2]).tau_scale == pytest.approx(0.2)
    assert "half-Cauchy(0, median SE)" in HierarchicalPrior().describe()


@pytest.mark.bayes
def test_unequal_precision_has_no_divergences_and_matches_the_quadrature():
    """Very unequal precision (the demo's per-CSO h2 estimates), which gave divergences with an explicit-theta
    sampler in either parameterisation: the collapsed sampler passes the gate and equals the quadrature, theta
    included."""
    y = [0.267, -0.061, 0.281, 0.033, 0.16, 0.278]
    se = [0.131, 0.013, 0.065, 0.065, 0.071, 0.237]
    fit = bayesian_random_effects(y, se, [f"CSO{j}" for j in range(1, 7)], use_cache=False)
    assert fit.diagnostics_passed, fit.diagnostics_failures
    exact = grid_posterior(y, se, tau_prior="half_cauchy", tau_scale=float(np.median(se)), mu_sd=None)
    assert fit.mu_mean == pytest.approx(exact["mu"]["mean"], abs=5 * exact["mu"]["sd"] / 20)
    assert fit.tau_median == pytest.approx(exact["tau"]["median"], abs=0.25 * exact["tau"]["sd"])
    for unit, reference in zip(fit.units, exact["theta"]):
        assert unit.mean == pytest.approx(reference["mean"], abs=5 * reference["sd"] / 20)
        assert unit.sd == pytest.approx(reference["sd"], rel=0.1)


@pytest.mark.slow
@pytest.mark.bayes
def test_pymc_backend_samples_the_definition_and_reuses_its_compilation():
    """backend="pymc": nutpie compiles the PyMC model (about 20 s); the posterior equals the quadrature within
    Monte Carlo error, and a second fit with new data and prior scales reuses the compiled model."""
    from oca_experiments.bayes import SamplerSettings

    settings = SamplerSettings(backend="pymc")
    fit = bayesian_random_effects(Y8, S8, list("ABCDEFGH"), prior=POSTERIORDB_PRIOR, settings=settings,
                                  use_cache=False)
    exact = grid_posterior(Y8, S8, tau_prior="half_cauchy", tau_scale=5.0, mu_sd=5.0)
    assert fit.diagnostics_passed, fit.diagnostics_failures
    assert fit.mu_mean == pytest.approx(exact["mu"]["mean"], abs=5 * exact["mu"]["sd"] / 20)
    assert fit.tau_mean == pytest.approx(exact["tau"]["mean"], abs=5 * exact["tau"]["sd"] / 20)
    shifted = bayesian_random_effects([v + 1 for v in Y8], S8, list("ABCDEFGH"),
                                      prior=HierarchicalPrior("half_cauchy", 4.0, 6.0), settings=settings,
                                      use_cache=False)
    assert shifted.diagnostics_passed and shifted.tau_scale == 4.0
