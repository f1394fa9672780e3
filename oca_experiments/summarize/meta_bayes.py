"""Bayesian random-effects meta-analysis: the normal–normal hierarchical model with partial pooling.

Model (each estimate y_j with its standard error s_j treated as known, as in the frequentist ``meta`` module)::

    y_j | θ_j ~ Normal(θ_j, s_j)          j = 1..k   (studies or CSOs)
    θ_j | μ, τ ~ Normal(μ, τ)              the true effects, partially pooled to μ
    μ ~ flat (p(μ) ∝ 1, BDA3 §5.4) or Normal(0, mu_sd)
    τ ~ HalfCauchy(tau_scale) (default; Gelman 2006 for few groups) or HalfNormal(tau_scale)

``tau_scale`` defaults to the median of the s_j: a between-unit SD as large as one unit's sampling error is
plausible, and the half-Cauchy tail leaves room for much more. Every page that shows these results states the
prior (``HierarchicalPrior.describe``).

Sampling reuses the Bayesian stack of ``oca_experiments.bayes`` (``sample_model``: nutpie, fixed seed, draws cache;
``check_diagnostics``: the R-hat / ESS / divergences / E-BFMI gate; ``eti``). The θ_j are integrated out
analytically, y_j | μ, τ ~ Normal(μ, √(s_j² + τ²)), so NUTS moves in two dimensions (μ, log τ) and the funnel
between τ and the θ_j, which gives divergences in either the centred or the non-centred form when precisions are
unequal, cannot arise; each θ_j is then drawn from its exact normal conditional given (μ, τ, y) (BDA3 eq. 5.17)
with a generator seeded from the sampler's seed. nutpie samples this module's numpy log density through its
Python-callback interface; the PyMC model (``build_pymc_model``) is the definition, and ``backend="pymc"``
samples it instead (``tests/unit/test_meta_bayes.py`` checks that both log densities agree).

Checked against an exact quadrature of the posterior over τ (``tests/reference/hierarchical_grid.py``), the
eight-schools reference posterior of posteriordb (Gelman et al. BDA3 §5.5 data), simulation recovery and
simulation-based calibration (``tests/slow/test_meta_bayes_sbc.py``).

Importing this module needs numpy only; PyMC, nutpie and ArviZ are imported when a model is sampled. Without the
``bayes`` extra ``bayesian_random_effects`` raises ``BayesExtraMissing`` (one line naming the extra).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Sequence

import numpy as np

from ..errors import EstimationError

TauPrior = Literal["half_cauchy", "half_normal"]
_LOG_2PI = math.log(2.0 * math.pi)


class BayesExtraMissing(EstimationError):
    """The Bayesian stack (PyMC, nutpie, ArviZ) is not installed."""


@dataclass(frozen=True)
class HierarchicalPrior:
    """Priors of the hierarchical model; ``None`` scales are resolved from the data by ``resolved``."""

    tau: TauPrior = "half_cauchy"
    tau_scale: float | None = None
    mu_sd: float | None = None  # None: flat prior on μ

    def resolved(self, std_errors: Sequence[float]) -> HierarchicalPrior:
        if self.tau not in ("half_cauchy", "half_normal"):
            raise EstimationError(f"unknown prior on tau '{self.tau}'; expected half_cauchy or half_normal")
        scale = self.tau_scale if self.tau_scale is not None else float(np.median(np.asarray(std_errors)))
        if not (math.isfinite(scale) and scale > 0):
            raise EstimationError(f"the prior scale of tau must be positive and finite; saw {scale}")
        if self.mu_sd is not None and not (math.isfinite(self.mu_sd) and self.mu_sd > 0):
            raise EstimationError(f"the prior SD of mu must be positive and finite; saw {self.mu_sd}")
        return replace(self, tau_scale=float(scale))

    def describe(self) -> str:
        name = {"half_cauchy": "half-Cauchy", "half_normal": "half-normal"}[self.tau]
        mu = "flat (p(μ) ∝ 1)" if self.mu_sd is None else f"Normal(0, {self.mu_sd:.4g})"
        scale = "median SE" if self.tau_scale is None else f"{self.tau_scale:.4g}"
        return f"μ ~ {mu}; τ ~ {name}(0, {scale})"


@dataclass(frozen=True)
class ShrunkEstimate:
    """One study's or CSO's raw estimate beside its partially pooled posterior."""

    label: str
    raw: float
    raw_se: float
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    shrinkage: float  # posterior mean of s_j² / (s_j² + τ²): 0 = no pooling, 1 = complete pooling


@dataclass(frozen=True)
class BayesianMeta:
    """Posterior summaries of the hierarchical model; frozen, JSON-ready through ``to_dict``."""

    k: int
    prior: str
    tau_prior: str
    tau_scale: float
    mu_sd: float | None
    parameterization: str
    level: float
    mu_mean: float
    mu_sd_post: float
    mu_ci_low: float
    mu_ci_high: float
    p_mu_positive: float
    tau_mean: float
    tau_median: float
    tau_ci_low: float
    tau_ci_high: float
    pred_low: float
    pred_high: float
    units: tuple[ShrunkEstimate, ...]
    diagnostics_passed: bool
    diagnostics_failures: tuple[str, ...]
    sampler: dict[str, Any] = field(default_factory=dict)
    draws_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["units"] = [asdict(u) for u in self.units]
        out["diagnostics_failures"] = list(self.diagnostics_failures)
        return out


# --------------------------------------------------------------------------- log density


def _log_prior_tau(tau: float, prior: HierarchicalPrior) -> tuple[float, float]:
    """log p(τ) with PyMC's normalising constant, and its derivative in τ."""
    s = float(prior.tau_scale)
    if prior.tau == "half_normal":
        return 0.5 * math.log(2.0 / math.pi) - math.log(s) - 0.5 * (tau / s) ** 2, -tau / s ** 2
    return math.log(2.0 / (math.pi * s)) - math.log1p((tau / s) ** 2), -2.0 * tau / (s ** 2 + tau ** 2)


def _log_prior_mu(mu: float, prior: HierarchicalPrior) -> tuple[float, float]:
    if prior.mu_sd is None:
        return 0.0, 0.0
    s = float(prior.mu_sd)
    return -0.5 * _LOG_2PI - math.log(s) - 0.5 * (mu / s) ** 2, -mu / s ** 2


def log_density(x: np.ndarray, y: np.ndarray, se: np.ndarray, prior: HierarchicalPrior) -> tuple[float, np.ndarray]:
    """Log posterior of (μ, log τ) with the θ_j integrated out, y_j | μ, τ ~ Normal(μ, √(s_j² + τ²)) (PyMC's
    constants included), and its gradient. ``x = [μ, log τ]``."""
    mu, eta = float(x[0]), float(x[1])
    tau = math.exp(eta)
    lp_mu, d_mu = _log_prior_mu(mu, prior)
    lp_tau, d_tau = _log_prior_tau(tau, prior)
    total = se ** 2 + tau ** 2
    resid = (y - mu) / total
    lp_y = float(np.sum(-0.5 * _LOG_2PI - 0.5 * np.log(total) - 0.5 * (y - mu) * resid))
    d_tau_y = float(np.sum(-tau / total + resid ** 2 * tau))
    grad = np.array([d_mu + float(np.sum(resid)), tau * (d_tau + d_tau_y) + 1.0])  # chain rule to log τ + Jacobian
    return lp_mu + lp_tau + eta + lp_y, grad


def conditional_theta(mu: np.ndarray, tau: np.ndarray, y: np.ndarray, se: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Exact draws of every θ_j given each (μ, τ) draw (BDA3 eq. 5.17): normal with precision 1/s_j² + 1/τ² and
    mean (y_j/s_j² + μ/τ²) / precision. Shape (draws, k)."""
    tau2 = np.maximum(tau, 1e-300)[:, None] ** 2
    precision = 1.0 / se[None, :] ** 2 + 1.0 / tau2
    mean = (y[None, :] / se[None, :] ** 2 + mu[:, None] / tau2) / precision
    return mean + rng.standard_normal(mean.shape) / np.sqrt(precision)


@dataclass(frozen=True, eq=False)
class NormalNormalDensity:
    """The collapsed model (θ integrated out) as an unconstrained density for nutpie: the duck type
    ``bayes.sample_model`` samples. Two dimensions, so no funnel between τ and the θ_j whatever the SEs."""

    y: np.ndarray
    se: np.ndarray
    labels: tuple[str, ...]
    prior: HierarchicalPrior

    n_dim = 2

    @property
    def outputs(self) -> dict[str, tuple[tuple[int, ...], tuple[str, ...]]]:
        return {"mu": ((), ()), "tau": ((), ())}

    @property
    def coords(self) -> dict[str, list[str]]:
        return {}

    def logp(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        return log_density(np.asarray(x, dtype=float), self.y, self.se, self.prior)

    def expand_point(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {"mu": np.asarray(float(x[0])), "tau": np.asarray(math.exp(float(x[1])))}

    def initial_point(self, seed: int) -> np.ndarray:
        """The precision-weighted mean and τ at its prior scale, jittered like PyMC's U(-1, 1) (μ's jitter on the
        data's scale)."""
        rng = np.random.default_rng(seed)
        w = 1.0 / self.se ** 2
        jitter = rng.uniform(-1.0, 1.0, size=2)
        return np.array([float(np.sum(w * self.y) / np.sum(w)) + jitter[0] * float(np.median(self.se)),
                         math.log(float(self.prior.tau_scale)) + jitter[1]])

    def compiled(self) -> Any:
        from nutpie.compiled_pyfunc import from_pyfunc

        names = list(self.outputs)

        def make_logp() -> Any:
            def logp(x: np.ndarray, **_shared: Any) -> tuple[float, np.ndarray]:
                return self.logp(x)
            return logp

        def make_expand(_seed1: int, _seed2: int, _chain: int) -> Any:
            def expand(x: np.ndarray, **_shared: Any) -> dict[str, np.ndarray]:
                return self.expand_point(np.asarray(x, dtype=np.float64))
            return expand

        return from_pyfunc(self.n_dim, make_logp, make_expand, [np.dtype("float64")] * len(names),
                           [self.outputs[n][0] for n in names], names, coords=self.coords,
                           dims={n: self.outputs[n][1] for n in names}, make_initial_point_fn=self.initial_point)


def build_pymc_model(y: Sequence[float], se: Sequence[float], labels: Sequence[str], prior: HierarchicalPrior,
                     collapsed: bool = True) -> Any:
    """The PyMC definition. ``collapsed=True`` (what is sampled): y_j ~ Normal(μ, √(s_j² + τ²)); otherwise the
    full model with θ_j ~ Normal(μ, τ) explicit (the same posterior of μ and τ)."""
    import pymc as pm

    with pm.Model(coords={"unit": list(labels)}) as model:
        y_data = pm.Data("y", np.asarray(y, dtype=float), dims="unit")
        se_data = pm.Data("se", np.asarray(se, dtype=float), dims="unit")
        # the prior scales are data too, so that a compiled model is reused with new scales (bayes.sample_model)
        tau_scale = pm.Data("prior_tau_scale", float(prior.tau_scale))
        mu_sd = pm.Data("prior_mu_sd", float(prior.mu_sd if prior.mu_sd is not None else 0.0))
        mu = pm.Flat("mu") if prior.mu_sd is None else pm.Normal("mu", 0.0, mu_sd)
        if prior.tau == "half_normal":
            tau = pm.HalfNormal("tau", sigma=tau_scale)
        else:
            tau = pm.HalfCauchy("tau", beta=tau_scale)
        if collapsed:
            pm.Normal("y_obs", mu, sigma=pm.math.sqrt(se_data ** 2 + tau ** 2), observed=y_data, dims="unit")
        else:
            theta = pm.Normal("theta", mu, tau, dims="unit")
            pm.Normal("y_obs", theta, sigma=se_data, observed=y_data, dims="unit")
    return model


# --------------------------------------------------------------------------- fit and summaries


def _check(estimates: Sequence[float], std_errors: Sequence[float],
           labels: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    y = np.asarray(estimates, dtype=float)
    se = np.asarray(std_errors, dtype=float)
    if y.ndim != 1 or y.shape != se.shape:
        raise EstimationError(f"the hierarchical model needs one standard error per estimate; saw {y.size} "
                              f"estimates and {se.size} standard errors")
    if y.size < 2:
        raise EstimationError(f"the hierarchical model needs at least 2 estimates; saw {y.size}",
                              fix="pool only families with two or more estimated studies or CSOs")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(se)) and np.all(se > 0)):
        raise EstimationError("the hierarchical model needs finite estimates and positive finite standard errors",
                              fix="drop estimates without a standard error before pooling")
    names = tuple(str(v) for v in labels) if labels is not None else tuple(f"u{j + 1}" for j in range(y.size))
    if len(names) != y.size or len(set(names)) != len(names):
        raise EstimationError("the hierarchical model needs one distinct label per estimate")
    return y, se, names


def bayesian_random_effects(estimates: Sequence[float], std_errors: Sequence[float],
                            labels: Sequence[str] | None = None, *, prior: HierarchicalPrior | None = None,
                            settings: Any = None, thresholds: Any = None, level: float = 0.95,
                            use_cache: bool = True) -> BayesianMeta:
    """Fit the hierarchical model with nutpie and summarise μ, τ, each θ_j and a new unit's effect.

    ``settings``: ``bayes.SamplerSettings`` (default: 4 chains x 1000 draws after 1000 tuning steps, seed
    20260307, target acceptance 0.95); ``thresholds``: ``bayes.Thresholds`` for the diagnostics gate."""
    from .._extras import install_hint, missing

    y, se, names = _check(estimates, std_errors, labels)
    resolved = (prior or HierarchicalPrior()).resolved(se)
    absent = missing("bayes")
    if absent:
        raise BayesExtraMissing(f"the Bayesian pooling needs the bayes extra ({', '.join(absent)} not installed)",
                                fix=install_hint("bayes"))
    from ..bayes import SamplerSettings, Thresholds, check_diagnostics, eti, sample_model

    settings = settings or SamplerSettings()
    thresholds = thresholds or Thresholds()
    density = NormalNormalDensity(y, se, names, resolved)
    structure = {"model": "collapsed", "tau_prior": resolved.tau, "flat_mu": resolved.mu_sd is None}
    inputs = {"y": y, "se": se, "prior_tau_scale": np.asarray(resolved.tau_scale),
              "prior_mu_sd": np.asarray(resolved.mu_sd if resolved.mu_sd is not None else 0.0)}
    fit = sample_model("normal_normal_meta", structure, inputs,
                       lambda: build_pymc_model(y, se, names, resolved), settings,
                       density=lambda: density, use_cache=use_cache, with_prior=False)
    posterior = fit.posterior
    report = check_diagnostics(posterior, fit.trace["sample_stats"].to_dataset(), thresholds,
                               var_names=["mu", "tau"])
    mu = np.asarray(posterior["mu"].values, dtype=float).ravel()
    tau = np.asarray(posterior["tau"].values, dtype=float).ravel()
    rng = np.random.default_rng([settings.seed, 7])  # seeded from the sampler's seed: same inputs, same numbers
    theta = conditional_theta(mu, tau, y, se, rng)
    new = mu + tau * rng.standard_normal(mu.size)  # a new unit's true effect
    units = []
    for j, name in enumerate(names):
        low, high = eti(theta[:, j], level)
        units.append(ShrunkEstimate(label=name, raw=float(y[j]), raw_se=float(se[j]), mean=float(theta[:, j].mean()),
                                    sd=float(theta[:, j].std()), ci_low=low, ci_high=high,
                                    shrinkage=float(np.mean(se[j] ** 2 / (se[j] ** 2 + tau ** 2)))))
    mu_low, mu_high = eti(mu, level)
    tau_low, tau_high = eti(tau, level)
    pred_low, pred_high = eti(new, level)
    return BayesianMeta(
        k=len(names), prior=resolved.describe(), tau_prior=resolved.tau, tau_scale=float(resolved.tau_scale),
        mu_sd=resolved.mu_sd, parameterization="collapsed (θ integrated out; θ drawn from its exact conditional)", level=level,
        mu_mean=float(mu.mean()), mu_sd_post=float(mu.std()), mu_ci_low=mu_low, mu_ci_high=mu_high,
        p_mu_positive=float(np.mean(mu > 0)), tau_mean=float(tau.mean()), tau_median=float(np.median(tau)),
        tau_ci_low=tau_low, tau_ci_high=tau_high, pred_low=pred_low, pred_high=pred_high, units=tuple(units),
        diagnostics_passed=report.passed, diagnostics_failures=tuple(report.failures),
        sampler=settings.to_dict(), draws_key=fit.key)
