"""Random-effects meta-analysis of independent estimates (pooling across CSOs and studies).

Between-study variance τ² by REML, Paule–Mandel or DerSimonian–Laird; the pooled effect with a Wald (normal) or a
Hartung–Knapp–Sidik–Jonkman interval (t with k-1 df; ``hksj``: the scale factor q as estimated, metafor's
``test="knha"``; ``hksj_floored``: q replaced by max(1, q), the Knapp–Hartung (2003) ad hoc modification, metafor's
``test="adhoc"``, which never gives an interval narrower than the Wald interval with t quantiles); the prediction interval for a new study's true
effect; Cochran's Q, I² and H² as in metafor (Viechtbauer 2010). Checked against R metafor 3.8 in
``tests/unit/test_meta.py`` (reference: ``tests/reference/make_metafor_reference.R``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Sequence

import numpy as np
from scipy import optimize, stats

from ..errors import EstimationError

Tau2Method = Literal["REML", "PM", "DL"]
IntervalMethod = Literal["z", "hksj", "hksj_floored"]

#: One line per interval method, for pages that must say which one they used.
INTERVAL_DESCRIPTIONS = {
    "z": "Wald (normal quantiles)",
    "hksj": "Hartung–Knapp–Sidik–Jonkman, t(k-1), scale q as estimated (no floor)",
    "hksj_floored": "Hartung–Knapp–Sidik–Jonkman, t(k-1), scale max(1, q) (Knapp–Hartung ad hoc floor)",
}


@dataclass(frozen=True)
class MetaAnalysis:
    """A random-effects pooled estimate; frozen, JSON-ready through ``to_dict``."""

    k: int
    method: str
    interval: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_p_value: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pooled(y: np.ndarray, v: np.ndarray, tau2: float) -> tuple[float, np.ndarray]:
    w = 1.0 / (v + tau2)
    return float(np.sum(w * y) / np.sum(w)), w


def _tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    mu, _ = _pooled(y, v, 0.0)
    q = float(np.sum(w * (y - mu) ** 2))
    c = float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
    return max(0.0, (q - (len(y) - 1)) / c)


def _upper_bracket(f, start: float) -> float:
    upper = max(start, 1e-8)
    while f(upper) > 0:  # both criteria decrease in tau2; double until the sign changes
        upper *= 2.0
        if upper > 1e12:
            raise EstimationError("the between-study variance did not converge (estimates too far apart)")
    return upper


def _tau2_pm(y: np.ndarray, v: np.ndarray) -> float:
    k = len(y)

    def excess(tau2: float) -> float:  # generalised Q minus its expectation
        mu, w = _pooled(y, v, tau2)
        return float(np.sum(w * (y - mu) ** 2)) - (k - 1)

    if excess(0.0) <= 0:
        return 0.0
    upper = _upper_bracket(excess, float(np.var(y, ddof=1)))
    return float(optimize.brentq(excess, 0.0, upper, xtol=1e-15, rtol=1e-14, maxiter=1000))


def _tau2_reml(y: np.ndarray, v: np.ndarray) -> float:
    def score(tau2: float) -> float:  # derivative of the restricted log-likelihood (times 2)
        mu, w = _pooled(y, v, tau2)
        return float(np.sum(w ** 2 * (y - mu) ** 2) - np.sum(w) + np.sum(w ** 2) / np.sum(w))

    if score(0.0) <= 0:
        return 0.0
    upper = _upper_bracket(score, float(np.var(y, ddof=1)))
    return float(optimize.brentq(score, 0.0, upper, xtol=1e-15, rtol=1e-14, maxiter=1000))


_TAU2 = {"REML": _tau2_reml, "PM": _tau2_pm, "DL": _tau2_dl}


def _check(estimates: Sequence[float], variances: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(estimates, dtype=float)
    v = np.asarray(variances, dtype=float)
    if y.ndim != 1 or y.shape != v.shape:
        raise EstimationError(f"meta-analysis needs one variance per estimate; saw {y.size} estimates and "
                              f"{v.size} variances")
    if y.size < 2:
        raise EstimationError(f"meta-analysis needs at least 2 estimates; saw {y.size}",
                              fix="pool only families with two or more estimated studies or CSOs")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise EstimationError("meta-analysis needs finite estimates and positive finite sampling variances",
                              fix="drop estimates without a standard error before pooling")
    return y, v


def random_effects(estimates: Sequence[float], variances: Sequence[float], *, method: Tau2Method = "REML",
                   interval: IntervalMethod = "hksj", level: float = 0.95) -> MetaAnalysis:
    """Pool ``estimates`` with sampling ``variances`` (squared standard errors) under a random-effects model."""
    if method not in _TAU2:
        raise EstimationError(f"unknown tau2 method '{method}'; expected one of REML, PM, DL")
    if interval not in INTERVAL_DESCRIPTIONS:
        raise EstimationError(f"unknown interval '{interval}'; expected one of {', '.join(INTERVAL_DESCRIPTIONS)}")
    y, v = _check(estimates, variances)
    k = len(y)
    tau2 = _TAU2[method](y, v)
    mu, w = _pooled(y, v, tau2)
    alpha = 1.0 - level
    if interval in ("hksj", "hksj_floored"):
        scale = float(np.sum(w * (y - mu) ** 2) / (k - 1))
        if interval == "hksj_floored":  # never narrower than the Wald-type interval with t quantiles
            scale = max(1.0, scale)
        se = float(np.sqrt(scale / np.sum(w)))
        crit = float(stats.t.ppf(1 - alpha / 2, k - 1))
        # identical estimates give a zero HKSJ scale and SE (as in metafor); the statistic is then 0 or infinite
        statistic = abs(mu) / se if se > 0 else (math.inf if mu != 0 else 0.0)
        p = float(2 * stats.t.sf(statistic, k - 1))
    else:
        se = float(np.sqrt(1.0 / np.sum(w)))
        crit = float(stats.norm.ppf(1 - alpha / 2))
        p = float(2 * stats.norm.sf(abs(mu / se)))
    pi_half = crit * float(np.sqrt(se ** 2 + tau2))
    w0 = 1.0 / v
    mu0 = float(np.sum(w0 * y) / np.sum(w0))
    q = float(np.sum(w0 * (y - mu0) ** 2))
    typical_v = (k - 1) / float(np.sum(w0) - np.sum(w0 ** 2) / np.sum(w0))  # Higgins-Thompson typical variance
    return MetaAnalysis(
        k=k, method=method, interval=interval, estimate=mu, std_error=se, ci_low=mu - crit * se,
        ci_high=mu + crit * se, p_value=p, pi_low=mu - pi_half, pi_high=mu + pi_half, tau2=tau2,
        i2=100.0 * tau2 / (tau2 + typical_v), h2=(tau2 + typical_v) / typical_v, q=q, q_df=k - 1,
        q_p_value=float(stats.chi2.sf(q, k - 1)), level=level)
