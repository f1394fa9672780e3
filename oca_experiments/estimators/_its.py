"""Counterfactual interrupted time series, CausalImpact-style, with statsmodels' ``UnobservedComponents``.

For one campaign page: fit a structural time-series model (local level or local linear trend, fixed day-of-week
effects, comparison-page regressors with time-invariant coefficients kept in the state so that their uncertainty
propagates) on the days before the campaign, by exact-diffuse maximum likelihood. The counterfactual for the
campaign days is the model's forecast given the pre-period. Effects are observed minus counterfactual:

- pointwise, with prediction intervals (state and observation uncertainty);
- average and cumulative over the observed campaign days, from the joint forecast covariance of the whole path
  (computed exactly from the state-space matrices, not by simulation, so results are deterministic);
- relative: observed / counterfactual - 1 over the campaign days, with the interval mapped from the cumulative one.

A placebo-in-time test refits on the earlier part of the pre-period and "predicts" its last part, where the true
effect is zero: a small p-value says the model's counterfactual cannot be trusted for this page. Parameter
uncertainty (the variance estimates) is not propagated: this is the frequentist plug-in path.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = ["Counterfactual", "fit_counterfactual", "placebo_in_time", "its_p_value"]


@dataclass(frozen=True)
class Counterfactual:
    """One campaign's counterfactual and effects. Arrays cover the post-period (campaign) days."""

    predicted: NDArray[np.float64]
    predicted_sd: NDArray[np.float64]
    observed: NDArray[np.float64]
    average_effect: float
    average_se: float
    cumulative_effect: float
    cumulative_se: float
    relative_effect: float
    relative_ci: tuple[float, float]
    n_pre_observed: int
    n_post_observed: int
    params: dict[str, float]
    converged: bool
    fitted_pre: NDArray[np.float64]

    def pointwise_effect(self) -> NDArray[np.float64]:
        return self.observed - self.predicted


def _model(endog: NDArray[np.float64], exog: NDArray[np.float64] | None, *, level: str, weekly: bool,
           first_weekday: int):
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    kwargs: dict[str, Any] = {"level": "llevel" if level == "local_level" else "lltrend",
                              "use_exact_diffuse": True}
    if weekly:
        kwargs.update(seasonal=7, stochastic_seasonal=False)
    if exog is not None and exog.shape[1]:
        kwargs.update(exog=exog, mle_regression=False)
    del first_weekday  # fixed seasonal dummies are estimated from the data, whatever the starting weekday
    return UnobservedComponents(endog, **kwargs)


def _fit(model) -> tuple[Any, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter is recorded in the result, not printed
        res = model.fit(disp=False, method="bfgs", maxiter=500, gtol=1e-8)
    converged = bool(res.mle_retvals.get("converged", True)) if isinstance(res.mle_retvals, dict) else True
    return res, converged


def fit_counterfactual(y: NDArray[np.float64], exog: NDArray[np.float64] | None, n_pre: int, *,
                       level: str = "local_level", weekly_seasonality: bool = True) -> Counterfactual:
    """Fit on ``y[:n_pre]`` and forecast ``y[n_pre:]``. ``y`` may have NaN (unobserved days); ``exog`` may not."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if exog is not None:
        exog = np.asarray(exog, dtype=np.float64).reshape(n, -1)
    pre_exog = exog[:n_pre] if exog is not None else None
    model = _model(y[:n_pre], pre_exog, level=level, weekly=weekly_seasonality, first_weekday=0)
    res, converged = _fit(model)
    # The same model over the whole window, campaign days treated as missing: the filter then forecasts them.
    hidden = y.copy()
    hidden[n_pre:] = np.nan
    full = _model(hidden, exog, level=level, weekly=weekly_seasonality, first_weekday=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = full.filter(res.params)
    ssm = full.ssm
    design = np.asarray(ssm["design"])
    transition = np.asarray(ssm["transition"])
    obs_var = float(np.asarray(ssm["obs_cov"]).reshape(-1)[0])

    def z_at(t: int) -> NDArray[np.float64]:
        return design[0, :, t] if design.ndim == 3 else design[0]

    t_mat = transition[:, :, 0] if transition.ndim == 3 else transition
    a = filtered.predicted_state
    p = filtered.predicted_state_cov
    post = np.arange(n_pre, n)
    predicted = np.array([z_at(t) @ a[:, t] for t in post])
    variance = np.array([z_at(t) @ p[:, :, t] @ z_at(t) + obs_var for t in post])
    observed = y[n_pre:]
    seen = np.isfinite(observed)
    # Var(sum of counterfactuals over the observed campaign days) from the joint forecast covariance:
    # Cov(y_s, y_u) = Z_s T^(s-u) P_u Z_u' for s > u, accumulated forward in one pass.
    carry = np.zeros(t_mat.shape[0])
    total_var = 0.0
    for k, t in enumerate(post):
        z = z_at(t)
        if seen[k]:
            total_var += variance[k] + 2.0 * float(z @ carry)
            carry = carry + p[:, :, t] @ z
        carry = t_mat @ carry
    n_seen = int(seen.sum())
    fitted_pre = np.array([z_at(t) @ a[:, t] for t in range(n_pre)])
    if n_seen == 0:
        nan = float("nan")
        return Counterfactual(predicted, np.sqrt(variance), observed, nan, nan, nan, nan, nan, (nan, nan),
                              int(np.isfinite(y[:n_pre]).sum()), 0, _params(res), converged, fitted_pre)
    cumulative = float(observed[seen].sum() - predicted[seen].sum())
    cumulative_se = math.sqrt(max(total_var, 0.0))
    z975 = float(stats.norm.ppf(0.975))
    counterfactual_total = float(predicted[seen].sum())
    observed_total = float(observed[seen].sum())
    relative = observed_total / counterfactual_total - 1 if counterfactual_total != 0 else float("nan")
    lo_total, hi_total = counterfactual_total - z975 * cumulative_se, counterfactual_total + z975 * cumulative_se
    relative_ci = ((observed_total / hi_total - 1) if hi_total > 0 else float("nan"),
                   (observed_total / lo_total - 1) if lo_total > 0 else float("inf"))
    return Counterfactual(predicted=predicted, predicted_sd=np.sqrt(variance), observed=observed,
                          average_effect=cumulative / n_seen, average_se=cumulative_se / n_seen,
                          cumulative_effect=cumulative, cumulative_se=cumulative_se, relative_effect=relative,
                          relative_ci=relative_ci, n_pre_observed=int(np.isfinite(y[:n_pre]).sum()),
                          n_post_observed=n_seen, params=_params(res), converged=converged, fitted_pre=fitted_pre)


def _params(res) -> dict[str, float]:
    return {str(name): float(value) for name, value in zip(res.model.param_names, res.params, strict=True)}


def its_p_value(estimate: float, std_error: float) -> float:
    """Two-sided normal p-value of an ITS effect."""
    if not (math.isfinite(estimate) and math.isfinite(std_error)) or std_error <= 0:
        return float("nan")
    return float(2 * stats.norm.sf(abs(estimate / std_error)))


def placebo_in_time(y: NDArray[np.float64], exog: NDArray[np.float64] | None, n_pre: int, *, fraction: float,
                    min_pre: int, level: str = "local_level", weekly_seasonality: bool = True) -> dict[str, Any]:
    """Pretend the campaign started ``fraction`` of the pre-period earlier; the true effect there is zero."""
    fake_start = n_pre - int(round(fraction * n_pre))
    if fake_start < min_pre or fake_start >= n_pre:
        return {"available": False, "reason": f"pre-period too short for a placebo ({n_pre} days)"}
    window = np.asarray(y[:n_pre], dtype=np.float64)
    sub_exog = exog[:n_pre] if exog is not None else None
    if np.isfinite(window[:fake_start]).sum() < min_pre:
        return {"available": False, "reason": "too few observed days before the placebo start"}
    result = fit_counterfactual(window, sub_exog, fake_start, level=level, weekly_seasonality=weekly_seasonality)
    p = its_p_value(result.average_effect, result.average_se)
    return {"available": True, "placebo_start_index": int(fake_start), "estimate": result.average_effect,
            "std_error": result.average_se, "p_value": p, "n_placebo_days": result.n_post_observed}
