"""oca's numba kernels are the PyMC models: same log density, correct gradients, same prior, same draws either way.

- log density: equal to PyMC's ``model.compile_logp()`` (Jacobians and normalising constants included) at random
  unconstrained points, mapped to PyMC's value variables through PyMC's own transforms, to 1e-9;
- gradient: equal to central finite differences of the kernel;
- C entry points (what nutpie calls) and Python-called kernels give bit-identical draws for the same seed;
- prior forward simulation in numpy: same distribution as ``pm.sample_prior_predictive`` (two-sample KS tests);
- digamma: equal to scipy's.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from oca_experiments.bayes import (
    build_did_model, build_its_model, build_ordinal_model, did_from_units, did_model_data, its_model_data,
    ordinal_model_data, prior_scales,
)
from oca_experiments.bayes._data import ItsData, OrdinalData
from oca_experiments.bayes._density import density_for, helmert_basis

pytestmark = pytest.mark.bayes


def _did(groups: int = 3, centered: bool = False):
    rng = np.random.default_rng(1)
    n_clusters = 12
    cluster = np.repeat(np.arange(n_clusters), 8)
    cluster[:3] = 0  # uneven sizes
    treated = (np.arange(n_clusters) % 2).astype(float)
    change = rng.normal(size=cluster.size) + 0.3 * treated[cluster]
    data = did_from_units(change, cluster, treated, np.arange(n_clusters) % groups)
    priors = prior_scales("bayes_did", {"group_sd": 0.7})
    inputs = did_model_data(data, priors)
    return (density_for("bayes_did", {"centered": centered}, inputs,
                        {"group": data.group_labels, "cluster": data.cluster_labels}),
            lambda: build_did_model(data, priors, centered=centered))


def _ordinal():
    rng = np.random.default_rng(2)
    clusters, k = 6, 5
    counts = rng.integers(0, 6, size=(clusters, 2, k)).astype(float)
    counts[0, 0, :] = 0.0  # an empty community-wave
    data = OrdinalData(counts=counts, treated=(np.arange(clusters) % 2).astype(float),
                       group=np.zeros(clusters, dtype=int), categories=tuple(range(1, k + 1)),
                       cluster_labels=tuple(f"c{i}" for i in range(clusters)), group_labels=("g",))
    priors = prior_scales("ordinal_did", factor=1.3)
    inputs = ordinal_model_data(data, priors)
    return (density_for("ordinal_did", {}, inputs, {"category": data.categories, "cluster": data.cluster_labels}),
            lambda: build_ordinal_model(data, priors))


def _its():
    rng = np.random.default_rng(3)
    units, days = 3, 40
    trials = rng.integers(0, 30, size=(units, days)).astype(float)
    successes = np.floor(trials * rng.uniform(0.0, 0.4, size=(units, days)))
    data = ItsData(successes=successes, trials=trials, start_day=np.array([20, 25, 30]),
                   day_of_week=(np.arange(days) % 7).astype(np.int64), regressor=rng.normal(size=days),
                   unit_labels=("a", "b", "c"), group_labels=("a", "b", "c"), dates=tuple(map(str, range(days))),
                   level_step_days=7)
    priors = prior_scales("bayes_its", factor=0.8)
    inputs = its_model_data(data, priors)
    return (density_for("bayes_its", {}, inputs, {"unit": data.unit_labels, "n_steps": data.n_steps}),
            lambda: build_its_model(data, priors))


CASES = {"did": _did, "did_centred": lambda: _did(centered=True), "did_one_group": lambda: _did(groups=1),
         "ordinal": _ordinal, "its": _its}


def _pymc_point(model, density, x: np.ndarray) -> dict[str, np.ndarray]:
    """The kernel's point as PyMC value variables, through PyMC's own transforms."""
    import pytensor.tensor as pt

    values = density.expand_point(x)
    point = {}
    for rv in model.free_RVs:
        transform = model.rvs_to_transforms.get(rv)
        value = np.asarray(values[rv.name])
        if transform is not None:
            value = transform.forward(pt.as_tensor(value), *rv.owner.inputs).eval()
        point[model.rvs_to_values[rv].name] = value
    return point


@pytest.mark.parametrize("case", list(CASES))
def test_log_density_equals_pymc_and_gradient_equals_finite_differences(case: str) -> None:
    density, build = CASES[case]()
    model = build()
    pymc_logp = model.compile_logp(mode="FAST_COMPILE")
    rng = np.random.default_rng(7)
    for _ in range(3):
        x = density.centre + rng.normal(scale=0.5, size=density.n_dim)
        lp, grad = density.logp(x)
        assert lp == pytest.approx(float(pymc_logp(_pymc_point(model, density, x))), rel=1e-9, abs=1e-9)
        step = 1e-6
        numeric = np.array([(density.logp(x + step * e)[0] - density.logp(x - step * e)[0]) / (2 * step)
                            for e in np.eye(density.n_dim)])
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-5)


#: The two entry points compile the same kernels along different paths (C callbacks vs. Python calls), so the last
#: bit of a log density may differ (issue 18 item 14: 15 of 300 ordinal draws differed by one ulp, 2.2e-16).
#: Bitwise equality is not a property; agreement to 1e-9 is: a real bug (a wrong term, gradient, transform or seed
#: path) moves NUTS draws by far more (the first differing step changes the whole trajectory, order 1e-2 and up).
DRAWS_RTOL, DRAWS_ATOL = 1e-9, 1e-9


@pytest.mark.parametrize("case", ["did", "ordinal", "its"])
def test_c_entry_points_and_python_kernels_give_the_same_draws(case: str) -> None:
    import nutpie

    density, _ = CASES[case]()
    runs = [nutpie.sample(model, draws=50, tune=50, chains=2, cores=1, seed=3, progress_bar=False)
            for model in (density.compiled(), density.pyfunc())]
    for name in density.outputs:
        compiled, python = runs[0].posterior[name].values, runs[1].posterior[name].values
        assert compiled.shape == python.shape, name
        np.testing.assert_allclose(compiled, python, rtol=DRAWS_RTOL, atol=DRAWS_ATOL, err_msg=name)


def test_the_draws_tolerance_is_far_below_what_a_real_bug_moves() -> None:
    """The tolerance above can fail: the same sampler with another seed (any change of the trajectory) is caught."""
    import nutpie

    density, _ = CASES["ordinal"]()
    model = density.compiled()
    runs = [nutpie.sample(model, draws=50, tune=50, chains=2, cores=1, seed=seed, progress_bar=False)
            for seed in (3, 4)]
    name = next(iter(density.outputs))
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(runs[0].posterior[name].values, runs[1].posterior[name].values,
                                   rtol=DRAWS_RTOL, atol=DRAWS_ATOL)


@pytest.mark.parametrize("case", ["did", "ordinal", "its"])
def test_prior_simulation_matches_pymc_prior_predictive(case: str) -> None:
    import pymc as pm

    density, build = CASES[case]()
    draws = 2000
    ours, ours_predictive = density.prior(draws, np.random.default_rng(11))
    theirs = pm.sample_prior_predictive(draws=draws, model=build(), random_seed=12,
                                        compile_kwargs={"mode": "FAST_COMPILE"})
    for name, values in {**ours, **ours_predictive}.items():
        group = "prior_predictive" if name.endswith("_obs") else "prior"
        reference = np.asarray(theirs[group][name].values).reshape(draws, -1)
        mine = np.asarray(values, dtype=float).reshape(draws, -1)
        assert mine.shape == reference.shape, name
        for column in range(0, mine.shape[1], max(1, mine.shape[1] // 3)):  # a few coordinates of each
            result = stats.ks_2samp(mine[:, column], reference[:, column])
            assert result.pvalue > 1e-4, (name, column, result)


def test_digamma_equals_scipy() -> None:
    from oca_experiments.bayes._kernels import digamma

    for x in np.concatenate([np.geomspace(1e-3, 1e4, 200), [0.5, 1.0, 5.999, 6.0, 123.456]]):
        assert digamma(float(x)) == pytest.approx(special.digamma(x), rel=1e-11, abs=1e-11)


def test_helmert_basis_is_orthonormal_and_sums_to_zero() -> None:
    basis = helmert_basis(7)
    np.testing.assert_allclose(basis.T @ basis, np.eye(6), atol=1e-14)
    np.testing.assert_allclose(basis.sum(axis=0), 0.0, atol=1e-14)


def test_log_rising_is_accurate_where_lgamma_differences_cancel() -> None:
    """lgamma(x + m) - lgamma(x) and the digamma difference, against exact sums of logs and reciprocals."""
    from oca_experiments.bayes._kernels import _log_rising

    for x in (1e-3, 0.7, 35.0, 2e5, 3e6, 1e9, 1e13, 1e18):
        for m in (0, 1, 5, 16, 17, 300, 5000):
            j = np.arange(m, dtype=float)
            exact_log = float(np.sum(np.log(x + j)))
            exact_inv = float(np.sum(1.0 / (x + j)))
            value, derivative = _log_rising(x, m)
            assert value == pytest.approx(exact_log, rel=1e-11, abs=1e-9), (x, m)
            assert derivative == pytest.approx(exact_inv, rel=1e-9, abs=1e-15), (x, m)


def test_its_kernel_is_exact_for_large_counts_and_extreme_concentrations() -> None:
    """Trials beyond the tabulated range equal PyMC's log density; at a concentration of ~1e15, where PyMC's (and
    scipy's) lgamma differences lose every digit, the likelihood tends to the binomial one, as it must."""
    import pymc as pm

    density, build = _its()
    inputs = dict(density.inputs)
    inputs["trials"] = np.asarray(inputs["trials"]) * 500.0  # up to ~15,000 trials a day
    inputs["successes"] = np.asarray(inputs["successes"]) * 500.0
    big = density_for("bayes_its", {}, inputs, {"unit": density.unit_labels, "n_steps": density.n_steps})
    model = build()
    with model:
        pm.set_data({"trials": inputs["trials"], "successes": inputs["successes"]})
    pymc_terms = model.compile_logp(mode="FAST_COMPILE", sum=False)
    rng = np.random.default_rng(5)
    x = big.centre + rng.normal(scale=0.3, size=big.n_dim)
    lp, grad = big.logp(x)
    assert np.isfinite(grad).all()
    assert lp == pytest.approx(float(sum(np.sum(t) for t in pymc_terms(_pymc_point(model, big, x)))), rel=1e-9)

    x[-1] -= 17.0  # log overdispersion: concentration ~ e^34 ~ 1e15
    values = big.expand_point(x)
    lp, grad = big.logp(x)
    assert np.isfinite(grad).all()
    priors = sum(float(np.sum(t)) for t in pymc_terms(_pymc_point(model, big, x))[:-1])
    d = inputs
    walk = np.concatenate([np.zeros((len(big.unit_labels), 1)),
                           np.cumsum(values["level_step_sd"] * values["level_step_z"], axis=1)], axis=1)
    day, unit = d["obs_day"], d["obs_unit"]
    eta = (values["level"][unit] + walk[unit, d["step_of_day"][day]] + values["weekday_effect"][d["day_of_week"][day]]
           + values["regressor_coef"] * d["regressor"][day])
    binomial = stats.binom.logpmf(d["successes"], d["trials"], 1.0 / (1.0 + np.exp(-eta))).sum()
    assert lp - priors == pytest.approx(binomial, abs=1e-4)


def test_a_changed_nutpie_interface_falls_back_to_the_public_one(monkeypatch) -> None:
    from nutpie import _lib
    from nutpie.compiled_pyfunc import PyFuncModel

    density, _ = CASES["did"]()
    assert not isinstance(density.compiled(), PyFuncModel)

    def changed(*args, **kwargs):
        raise TypeError("PyMcModel() takes 9 arguments")

    monkeypatch.setattr(_lib, "PyMcModel", changed)
    assert isinstance(density.compiled(), PyFuncModel)
