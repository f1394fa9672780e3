"""Exact posterior of the normal-normal hierarchical model by quadrature over tau (Gelman et al., BDA3 §5.4).

Independent of oca's sampler: given tau, mu and every theta_j have normal conditional posteriors in closed form
(BDA3 eqs. 5.17, 5.20), so the marginal posterior of tau (eq. 5.21, with the prior on mu folded in as a
pseudo-observation 0 with variance mu_sd^2 when it is normal) is computed on a dense log-spaced grid, and every
posterior mean, SD and quantile is a one-dimensional integral. Used by tests/unit/test_meta_bayes.py.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _log_prior_tau(tau: np.ndarray, kind: str, scale: float) -> np.ndarray:
    if kind == "half_normal":
        return -0.5 * (tau / scale) ** 2
    if kind == "half_cauchy":
        return -np.log1p((tau / scale) ** 2)
    if kind == "uniform":  # BDA3's p(tau) ∝ 1
        return np.zeros_like(tau)
    raise ValueError(kind)


def grid_posterior(y, se, *, tau_prior: str = "half_cauchy", tau_scale: float = 1.0, mu_sd: float | None = None,
                   points: int = 400_001, level: float = 0.95) -> dict:
    y = np.asarray(y, dtype=float)
    v = np.asarray(se, dtype=float) ** 2
    upper = 200.0 * (np.ptp(y) + np.sqrt(v.max()) + tau_scale)
    tau = np.concatenate([[0.0], np.geomspace(1e-8 * upper, upper, points - 1)])
    total = v[None, :] + tau[:, None] ** 2  # (grid, k)
    prec = np.sum(1.0 / total, axis=1)
    wsum = np.sum(y[None, :] / total, axis=1)
    if mu_sd is not None:
        prec = prec + 1.0 / mu_sd ** 2
    v_mu = 1.0 / prec
    mu_hat = v_mu * wsum
    log_like = 0.5 * np.log(v_mu) - 0.5 * np.sum(np.log(total), axis=1) \
        - 0.5 * np.sum((y[None, :] - mu_hat[:, None]) ** 2 / total, axis=1)
    if mu_sd is not None:
        log_like = log_like - 0.5 * mu_hat ** 2 / mu_sd ** 2
    log_post = log_like + _log_prior_tau(tau, tau_prior, tau_scale)
    dens = np.exp(log_post - log_post.max())
    weights = np.zeros_like(tau)  # trapezoid weights on the uneven grid
    steps = np.diff(tau)
    weights[:-1] += steps / 2
    weights[1:] += steps / 2
    w = dens * weights
    w /= w.sum()

    def mixture(means: np.ndarray, variances: np.ndarray) -> dict:
        mean = float(np.sum(w * means))
        var = float(np.sum(w * (variances + means ** 2)) - mean ** 2)
        sd_grid = np.sqrt(variances)
        lo, hi = mean - 12 * np.sqrt(var) - 1, mean + 12 * np.sqrt(var) + 1

        def cdf(x: float) -> float:
            return float(np.sum(w * special.ndtr((x - means) / sd_grid)))

        from scipy.optimize import brentq
        quantiles = [brentq(lambda x, p=p: cdf(x) - p, lo, hi, xtol=1e-10) for p in ((1 - level) / 2, (1 + level) / 2)]
        return {"mean": mean, "sd": float(np.sqrt(var)), "ci": quantiles}

    out = {"mu": mixture(mu_hat, v_mu)}
    tau_mean = float(np.sum(w * tau))
    cdf_tau = np.cumsum(w)
    out["tau"] = {"mean": tau_mean, "sd": float(np.sqrt(np.sum(w * tau ** 2) - tau_mean ** 2)),
                  "median": float(np.interp(0.5, cdf_tau, tau)),
                  "ci": [float(np.interp(p, cdf_tau, tau)) for p in ((1 - level) / 2, (1 + level) / 2)]}
    out["theta"] = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(y.size):
            inv_tau2 = np.where(tau > 0, 1.0 / tau ** 2, np.inf)
            v_j = np.where(tau > 0, 1.0 / (1.0 / v[j] + inv_tau2), 0.0)
            # theta_j | tau, y: mean V_j (y_j / v_j + mu_hat / tau^2), variance V_j + (V_j / tau^2)^2 V_mu
            shrink = np.where(tau > 0, v_j * inv_tau2, 1.0)
            mean_j = np.where(tau > 0, v_j * y[j] / v[j], 0.0) + shrink * mu_hat
            var_j = v_j + shrink ** 2 * v_mu
            out["theta"].append(mixture(mean_j, var_j))
    return out


if __name__ == "__main__":  # the eight schools with posteriordb's priors and with BDA3's flat prior
    y8 = [28, 8, -3, 7, -1, 1, 18, 12]
    s8 = [15, 10, 16, 11, 9, 11, 10, 18]
    for label, kwargs in (("posteriordb", {"tau_prior": "half_cauchy", "tau_scale": 5.0, "mu_sd": 5.0}),
                          ("BDA3", {"tau_prior": "uniform", "tau_scale": 1.0, "mu_sd": None})):
        post = grid_posterior(y8, s8, **kwargs)
        print(label, {k: post[k] for k in ("mu", "tau")}, post["theta"][0])
