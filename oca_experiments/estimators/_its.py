"""Structural time-series models (statsmodels ``UnobservedComponents``) for one unit's series.

The model: a local level or local linear trend, any number of seasonal components (fixed or drifting; the first
in dummy form, further ones in trigonometric form with all harmonics), regressors with time-invariant
coefficients kept in the state (so their uncertainty propagates and their estimates are exact Kalman smoothers),
estimated by exact-diffuse maximum likelihood. On top of it, three ways to read a campaign:

- ``forecast`` (CausalImpact-style): fit on the periods before the start, forecast the campaign periods; effects
  are observed minus counterfactual. The joint forecast covariance of the whole path is computed exactly from the
  state-space matrices (no simulation), so the level-scale results are deterministic.
- ``level_shift`` / ``pulse`` / ``slope_change``: one intervention regressor in a model of the whole series (a step
  from the start on, a one-period pulse at the start, a ramp 1, 2, 3 ... from the start on); the effect is its
  smoothed coefficient and standard error.
- ``none``: a plain fit of the whole series, to report its components (the estimate is the final slope).

Scales. ``level`` models y itself. ``log``, ``log1p`` and ``logit`` model a transform, so that the counterfactual
bands respect the outcome's bounds (counts >= 0, shares in (0, 1)); effects are then reported back on the outcome's
own scale from seeded draws of the joint forecast distribution, point (median) and interval (quantiles) taken from
the same draws so that the point always lies inside its interval. ``log_outcome`` is a level model of an outcome
that already is a log: effects are in log points and the relative effect is exp(effect) - 1.

The relative effect (observed total / counterfactual total - 1) is a monotone function of the counterfactual total,
so its interval maps from that total's interval. When the counterfactual total (or the lower end of its interval)
is not positive, the relative effect (or its upper bound) cannot be computed; this is said in words
(``relative_note``), never left as a bare null beside a number.

A placebo-in-time test refits on the earlier part of the pre-period and "predicts" its last part, where the true
effect is zero: a small p-value says the model's counterfactual cannot be trusted for this unit. Parameter
uncertainty (the variance estimates) is not propagated: this is the frequentist plug-in path.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

__all__ = ["Counterfactual", "InterventionFit", "StsModel", "fit_counterfactual", "fit_intervention",
           "placebo_in_time", "its_p_value", "transform_outcome", "SCALES"]

SCALES = ("level", "log", "log1p", "logit", "log_outcome")


@dataclass(frozen=True)
class StsModel:
    """The structural time-series specification."""

    level: str = "local_level"
    seasonal: tuple[int, ...] = ()
    stochastic_seasonal: bool = False

    def describe(self) -> str:
        parts = [self.level.replace("_", " ")]
        for s in self.seasonal:
            parts.append(f"{'stochastic' if self.stochastic_seasonal else 'fixed'} seasonal of period {s}")
        return ", ".join(parts)


@dataclass(frozen=True)
class _SeriesFit:
    """What every ITS fit reports beside its effect: the relative effect (log scales), the observed periods on each
    side of the intervention, the model's parameters and whether the optimiser converged."""

    relative_effect: float | None
    relative_ci: tuple[float | None, float | None]
    relative_note: str | None
    n_pre_observed: int
    n_post_observed: int
    params: dict[str, float]
    converged: bool


@dataclass(frozen=True)
class Counterfactual(_SeriesFit):
    """One campaign's counterfactual and effects. Arrays cover the post-period (campaign) periods.

    ``predicted`` / ``lower`` / ``upper`` are on the outcome's own scale; ``predicted_sd`` is on the modelled scale.
    ``relative_ci`` bounds are ``None`` where they cannot be computed, with the reason in ``relative_note``.
    """

    predicted: NDArray[np.float64]
    predicted_sd: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    observed: NDArray[np.float64]
    average_effect: float
    average_se: float
    average_ci: tuple[float, float]
    cumulative_effect: float
    cumulative_se: float
    cumulative_ci: tuple[float, float]
    fitted_pre: NDArray[np.float64]
    scale: str = "level"
    model_average_effect: float = float("nan")
    model_average_se: float = float("nan")
    components: dict[str, list[float | None]] = field(default_factory=dict)

    def pointwise_effect(self) -> NDArray[np.float64]:
        return self.observed - self.predicted


@dataclass(frozen=True)
class InterventionFit(_SeriesFit):
    """An intervention term estimated in a model of the whole series (model scale), with the relative effect for
    log scales."""

    kind: str
    estimate: float
    std_error: float
    ci: tuple[float, float]
    fitted: NDArray[np.float64]
    components: dict[str, list[float | None]]
    scale: str


# --------------------------------------------------------------------------------------------------- scales


def transform_outcome(y: NDArray[np.float64], scale: str) -> NDArray[np.float64]:
    """The modelled series. Raises ``ValueError`` (with counts) for values outside the scale's domain."""
    y = np.asarray(y, dtype=np.float64)
    seen = y[np.isfinite(y)]
    if scale == "log1p":
        if np.any(seen < 0):
            raise ValueError(f"{int((seen < 0).sum())} negative values; scale log1p needs y >= 0")
        return np.log1p(y)
    if scale == "log":
        if np.any(seen <= 0):
            raise ValueError(f"{int((seen <= 0).sum())} values <= 0; scale log needs y > 0 (log1p takes zeros)")
        return np.log(y)
    if scale == "logit":
        if np.any((seen <= 0) | (seen >= 1)):
            raise ValueError(f"{int(((seen <= 0) | (seen >= 1)).sum())} values not strictly between 0 and 1; "
                             "scale logit needs shares in (0, 1)")
        return special.logit(y)
    return y


def _inverse(values: NDArray[np.float64], scale: str) -> NDArray[np.float64]:
    if scale == "log1p":
        return np.expm1(values)
    if scale == "log":
        return np.exp(values)
    if scale == "logit":
        return special.expit(values)
    return values


# --------------------------------------------------------------------------------------------------- model


def _model(endog: NDArray[np.float64], exog: NDArray[np.float64] | None, sts: StsModel):
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    kwargs: dict[str, Any] = {"level": "llevel" if sts.level == "local_level" else "lltrend",
                              "use_exact_diffuse": True}
    if sts.seasonal:
        kwargs.update(seasonal=sts.seasonal[0], stochastic_seasonal=sts.stochastic_seasonal)
    if len(sts.seasonal) > 1:
        kwargs.update(freq_seasonal=[{"period": s, "harmonics": s // 2} for s in sts.seasonal[1:]],
                      stochastic_freq_seasonal=[sts.stochastic_seasonal] * (len(sts.seasonal) - 1))
    if exog is not None and exog.shape[1]:
        kwargs.update(exog=exog, mle_regression=False)
    return UnobservedComponents(endog, **kwargs)


def _fit(model) -> tuple[Any, bool]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter is recorded in the result, not printed
        res = model.fit(disp=False, method="bfgs", maxiter=500, gtol=1e-8)
    converged = bool(res.mle_retvals.get("converged", True)) if isinstance(res.mle_retvals, dict) else True
    return res, converged


def _params(res) -> dict[str, float]:
    return {str(name): float(value) for name, value in zip(res.model.param_names, res.params, strict=True)}


def _components(res, n_regressors: int) -> dict[str, list[float | None]]:
    """Smoothed level, slope and seasonal components, and the regressors' smoothed coefficients (model scale)."""
    def clean(values: Any) -> list[float | None]:
        return [float(v) if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]

    out: dict[str, list[float | None]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if getattr(res, "level", None) is not None:
            out["level"] = clean(res.level.smoothed)
        if getattr(res, "trend", None) is not None:
            out["slope"] = clean(res.trend.smoothed)
        if getattr(res, "seasonal", None) is not None:
            out["seasonal"] = clean(res.seasonal.smoothed)
        for j, comp in enumerate(getattr(res, "freq_seasonal", None) or []):
            out[f"seasonal_{j + 2}"] = clean(comp.smoothed)
    if n_regressors:
        state = np.asarray(res.smoothed_state)[-n_regressors:, -1]
        out["regression_coefficients"] = clean(state)
    return out


def _path_moments(full, params: NDArray[np.float64], start: int) -> tuple[NDArray, NDArray, NDArray]:
    """Predicted values (model scale) over the whole window and the joint covariance of the observations from
    ``start`` on, given the observations before ``start`` (the later ones are hidden in ``full``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = full.filter(params)
    ssm = full.ssm
    design = np.asarray(ssm["design"])
    transition = np.asarray(ssm["transition"])
    obs_var = float(np.asarray(ssm["obs_cov"]).reshape(-1)[0])
    t_mat = transition[:, :, 0] if transition.ndim == 3 else transition
    n = full.nobs

    def z_at(t: int) -> NDArray[np.float64]:
        return design[0, :, t] if design.ndim == 3 else design[0]

    a = filtered.predicted_state
    p = filtered.predicted_state_cov
    predicted = np.array([z_at(t) @ a[:, t] for t in range(n)])
    h = n - start
    cov = np.zeros((h, h))
    # Cov(y_s, y_u) = Z_s T^(s-u) P_u Z_u' for s > u: one forward pass per column.
    for k in range(h):
        u = start + k
        carry = p[:, :, u] @ z_at(u)
        cov[k, k] = float(z_at(u) @ carry) + obs_var
        for j in range(k + 1, h):
            carry = t_mat @ carry
            cov[j, k] = cov[k, j] = float(z_at(start + j) @ carry)
    return predicted, cov, np.sqrt(np.diag(cov))


def _relative(observed_total: float, counterfactual_total: float, interval: tuple[float, float]
              ) -> tuple[float | None, tuple[float | None, float | None], str | None]:
    """observed / counterfactual - 1, its interval mapped from the counterfactual total's interval."""
    lo, hi = interval
    if not counterfactual_total > 0:
        return None, (None, None), ("not computable: the counterfactual total is not positive, so a ratio to it has "
                                    "no meaning; read the average effect instead")
    point = observed_total / counterfactual_total - 1
    ends = [observed_total / c - 1 if c > 0 else None for c in (hi, lo)]
    if ends[1] is None:
        bound = "upper" if observed_total >= 0 else "lower"
        note = (f"{bound} bound not computable: the counterfactual total's interval reaches zero or below, so the "
                "relative effect is unbounded on that side")
        return point, ((ends[0], None) if observed_total >= 0 else (None, ends[0])), note
    low, high = sorted(ends)  # type: ignore[type-var]
    return point, (low, high), None


def _observed_count(values: NDArray[np.float64]) -> int:
    return int(np.isfinite(values).sum())


def fit_counterfactual(y: NDArray[np.float64], exog: NDArray[np.float64] | None, n_pre: int, *,
                       level: str = "local_level", weekly_seasonality: bool = True,
                       seasonal: tuple[int, ...] | None = None, stochastic_seasonal: bool = False,
                       scale: str = "level", ci_level: float = 0.95, draws: int = 4000,
                       seed: int = 20260307, moments: Any = None) -> Counterfactual:
    """Fit on ``y[:n_pre]`` and forecast ``y[n_pre:]``. ``y`` may have NaN (unobserved periods); ``exog`` may not.

    ``seasonal`` (periods) overrides ``weekly_seasonality`` (= seasonal (7,)). ``y`` is on the outcome's scale; the
    model is fitted on ``scale``'s transform of it. ``moments`` (a ``BatchMoments`` of this series and window from
    ``fit_local_level_batch``) replaces the statsmodels fit: same maximum, same forecast moments."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    sts = StsModel(level, tuple(seasonal) if seasonal is not None else ((7,) if weekly_seasonality else ()),
                   stochastic_seasonal)
    raw = np.asarray(y, dtype=np.float64)
    model_y = transform_outcome(raw, scale)
    n = raw.size
    if exog is not None:
        exog = np.asarray(exog, dtype=np.float64).reshape(n, -1)
    if moments is not None:
        predicted_all, cov = moments.predicted[:n], moments.cov[:n - n_pre, :n - n_pre]
        sd = np.sqrt(np.diag(cov))
        params, converged, components = dict(moments.params), True, dict(moments.components)
    else:
        pre_exog = exog[:n_pre] if exog is not None else None
        res, converged = _fit(_model(model_y[:n_pre], pre_exog, sts))
        hidden = model_y.copy()
        hidden[n_pre:] = np.nan  # the same model over the whole window, campaign periods hidden: the filter forecasts
        full = _model(hidden, exog, sts)
        predicted_all, cov, sd = _path_moments(full, res.params, n_pre)
        params, components = _params(res), _components(res, exog.shape[1] if exog is not None else 0)
    mean = predicted_all[n_pre:]
    fitted_pre = _inverse(predicted_all[:n_pre], scale)
    observed = raw[n_pre:]
    seen = np.isfinite(observed)
    z = float(stats.norm.ppf(1 - (1 - ci_level) / 2))
    lower, upper = _inverse(mean - z * sd, scale), _inverse(mean + z * sd, scale)
    common = dict(predicted_sd=sd, lower=lower, upper=upper, observed=observed, n_pre_observed=_observed_count(
        raw[:n_pre]), params=params, converged=converged, fitted_pre=fitted_pre, scale=scale,
        components=components)
    n_seen = int(seen.sum())
    nan = float("nan")
    model_obs = model_y[n_pre:]
    model_avg = float((model_obs[seen] - mean[seen]).mean()) if n_seen else nan
    model_se = float(math.sqrt(max(cov[np.ix_(seen, seen)].sum(), 0.0))) / n_seen if n_seen else nan
    if n_seen == 0:
        return Counterfactual(predicted=_inverse(mean, scale), average_effect=nan, average_se=nan,
                              average_ci=(nan, nan), cumulative_effect=nan, cumulative_se=nan,
                              cumulative_ci=(nan, nan), relative_effect=None, relative_ci=(None, None),
                              relative_note="no observed campaign periods", n_post_observed=0,
                              model_average_effect=nan, model_average_se=nan, **common)
    if scale in ("level", "log_outcome"):
        cumulative = float(observed[seen].sum() - mean[seen].sum())
        cumulative_se = model_se * n_seen
        average, average_se = cumulative / n_seen, model_se
        average_ci = (average - z * average_se, average + z * average_se)
        cumulative_ci = (cumulative - z * cumulative_se, cumulative + z * cumulative_se)
        if scale == "log_outcome":
            relative = math.expm1(average)
            relative_ci: tuple[float | None, float | None] = (math.expm1(average_ci[0]), math.expm1(average_ci[1]))
            note = None
        else:
            total = float(mean[seen].sum())
            relative, relative_ci, note = _relative(float(observed[seen].sum()), total,
                                                    (total - z * cumulative_se, total + z * cumulative_se))
        predicted = mean
    else:
        # Draws of the counterfactual path from its joint distribution on the model scale, back-transformed.
        sub = cov[np.ix_(seen, seen)]
        factor = np.linalg.cholesky(sub + np.eye(n_seen) * 1e-12 * max(float(np.trace(sub)) / n_seen, 1e-300))
        rng = np.random.default_rng(seed)
        paths = _inverse(mean[seen][None, :] + rng.standard_normal((draws, n_seen)) @ factor.T, scale)
        totals = paths.sum(axis=1)
        observed_total = float(observed[seen].sum())
        cumulative_draws = observed_total - totals
        q = ((1 - ci_level) / 2, 1 - (1 - ci_level) / 2)
        cumulative = float(np.median(cumulative_draws))
        cumulative_ci = tuple(float(v) for v in np.quantile(cumulative_draws, q))
        cumulative_se = float(cumulative_draws.std(ddof=1))
        average, average_se = cumulative / n_seen, cumulative_se / n_seen
        average_ci = (cumulative_ci[0] / n_seen, cumulative_ci[1] / n_seen)
        if np.all(totals > 0):
            rel_draws = observed_total / totals - 1
            relative = float(np.median(rel_draws))
            relative_ci = tuple(float(v) for v in np.quantile(rel_draws, q))  # type: ignore[assignment]
            note = None
        else:
            relative, relative_ci = None, (None, None)
            note = "not computable: some counterfactual draws have a total of zero"
        predicted = _inverse(mean, scale)
    return Counterfactual(predicted=predicted if scale != "log_outcome" else mean, average_effect=average,
                          average_se=average_se, average_ci=average_ci, cumulative_effect=cumulative,
                          cumulative_se=cumulative_se, cumulative_ci=cumulative_ci,  # type: ignore[arg-type]
                          relative_effect=relative, relative_ci=relative_ci, relative_note=note,
                          n_post_observed=n_seen, model_average_effect=model_avg, model_average_se=model_se,
                          **common)


def intervention_regressor(n: int, start: int, kind: str) -> NDArray[np.float64]:
    """Step (level_shift), one-period pulse, or ramp 1, 2, 3 ... (slope_change) from ``start`` on."""
    t = np.arange(n)
    if kind == "level_shift":
        return (t >= start).astype(float)
    if kind == "pulse":
        return (t == start).astype(float)
    if kind == "slope_change":
        return np.where(t >= start, t - start + 1, 0).astype(float)
    raise ValueError(f"unknown intervention {kind!r}")


def fit_intervention(y: NDArray[np.float64], exog: NDArray[np.float64] | None, start: int | None, *, kind: str,
                     level: str = "local_level", seasonal: tuple[int, ...] = (), stochastic_seasonal: bool = False,
                     scale: str = "level", ci_level: float = 0.95) -> InterventionFit:
    """A model of the whole series with an intervention term from ``start`` (``kind`` level_shift, pulse or
    slope_change), or with none (``kind="none"``: the estimate is the final smoothed slope)."""
    sts = StsModel(level, tuple(seasonal), stochastic_seasonal)
    raw = np.asarray(y, dtype=np.float64)
    model_y = transform_outcome(raw, scale)
    n = raw.size
    columns = [np.asarray(exog, dtype=np.float64).reshape(n, -1)] if exog is not None else []
    if kind != "none":
        columns.append(intervention_regressor(n, int(start or 0), kind)[:, None])
    x = np.column_stack(columns) if columns else None
    res, converged = _fit(_model(model_y, x, sts))
    z = float(stats.norm.ppf(1 - (1 - ci_level) / 2))
    state = np.asarray(res.smoothed_state)
    state_cov = np.asarray(res.smoothed_state_cov)
    if kind == "none":
        if level != "local_linear_trend":
            raise ValueError("a plain fit estimates the final slope: use level local_linear_trend")
        index, at = 1, n - 1  # the slope is the second state; read at the last period
    else:
        index, at = state.shape[0] - 1, n - 1
    estimate = float(state[index, at])
    std_error = float(math.sqrt(max(state_cov[index, index, at], 0.0)))
    ci = (estimate - z * std_error, estimate + z * std_error)
    relative: float | None = None
    relative_ci: tuple[float | None, float | None] = (None, None)
    note: str | None = None
    if scale in ("log", "log1p", "log_outcome") and kind in ("level_shift", "pulse"):
        relative, relative_ci = math.expm1(estimate), (math.expm1(ci[0]), math.expm1(ci[1]))
        if scale == "log1p":
            note = "proportional change in 1 + y"
    elif kind in ("level_shift", "pulse"):
        note = "a relative effect needs a log scale (register scale: log, log1p or log_outcome)"
    else:
        note = "no relative effect for a slope"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = np.asarray(res.fittedvalues, dtype=np.float64)
    post = slice(int(start or 0), n) if kind != "none" else slice(n, n)
    return InterventionFit(kind=kind, estimate=estimate, std_error=std_error, ci=ci, relative_effect=relative,
                           relative_ci=relative_ci, relative_note=note,
                           n_pre_observed=_observed_count(raw[: int(start or n)]),
                           n_post_observed=_observed_count(raw[post]), params=_params(res), converged=converged,
                           fitted=_inverse(fitted, scale) if scale != "log_outcome" else fitted,
                           components=_components(res, x.shape[1] if x is not None else 0), scale=scale)


def its_p_value(estimate: float, std_error: float) -> float:
    """Two-sided normal p-value of an ITS effect."""
    if not (math.isfinite(estimate) and math.isfinite(std_error)) or std_error <= 0:
        return float("nan")
    return float(2 * stats.norm.sf(abs(estimate / std_error)))


def placebo_in_time(y: NDArray[np.float64], exog: NDArray[np.float64] | None, n_pre: int, *, fraction: float,
                    min_pre: int, level: str = "local_level", weekly_seasonality: bool = True,
                    seasonal: tuple[int, ...] | None = None, stochastic_seasonal: bool = False,
                    scale: str = "level", period_word: str = "days", moments: Any = None) -> dict[str, Any]:
    """Pretend the campaign started ``fraction`` of the pre-period earlier; the true effect there is zero. The test
    is on the modelled scale (zero effect on one monotone scale is zero on every other)."""
    fake_start = n_pre - int(round(fraction * n_pre))
    if fake_start < min_pre or fake_start >= n_pre:
        return {"available": False, "reason": f"pre-period too short for a placebo ({n_pre} {period_word})"}
    window = np.asarray(y[:n_pre], dtype=np.float64)
    sub_exog = exog[:n_pre] if exog is not None else None
    if np.isfinite(window[:fake_start]).sum() < min_pre:
        return {"available": False, "reason": f"too few observed {period_word} before the placebo start"}
    model_scale = "level" if scale == "log_outcome" else scale
    result = fit_counterfactual(window, sub_exog, fake_start, level=level, weekly_seasonality=weekly_seasonality,
                                seasonal=seasonal, stochastic_seasonal=stochastic_seasonal, scale=model_scale,
                                draws=500, moments=moments)
    p = its_p_value(result.model_average_effect, result.model_average_se)
    return {"available": True, "placebo_start_index": int(fake_start), "estimate": result.model_average_effect,
            "std_error": result.model_average_se, "p_value": p, "n_placebo_periods": result.n_post_observed,
            "scale": "modelled scale" if scale not in ("level", "log_outcome") else "outcome units"}
