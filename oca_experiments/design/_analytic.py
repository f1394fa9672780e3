"""Closed-form approximations for the simulated designs: the DiD's standard error, power and MDE.

They place the power-curve grid and are reported next to the simulation as a cross-check; the simulation with the
registered estimator is the answer. Power uses the noncentral t with the registered test's degrees of freedom
(G - 1 for cluster-robust inference, n - 2 otherwise), which is exact for a two-arm difference in means of
normal outcomes with a pooled-variance test and an approximation elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import replace

from scipy import optimize, stats

from ._parameters import DesignParameters


def _arms(total: int, share: float) -> tuple[int, int]:
    treated = round(share * total)
    return treated, total - treated


def analytic_std_error(params: DesignParameters, *, panel: bool, contrast: bool = False) -> tuple[float, float]:
    """Approximate SE of the DiD estimate and the degrees of freedom of its test.

    ``contrast``: the difference in effect between two halves of every cluster (a registered ``by``): the clusters'
    shocks are shared by both halves and cancel, and each half has half the respondents.
    """
    if contrast:
        halves = replace(params, icc=0.0, clusters=None, respondents=params.respondents // 2)
        half_se, _ = analytic_std_error(halves, panel=panel)
        return math.sqrt(2.0) * half_se, (params.clusters - 1 if params.clusters else params.respondents - 2)
    var = params.outcome_sd**2
    icc, cac, iac, keep = (params.icc, params.cluster_autocorrelation, params.individual_autocorrelation,
                           1.0 - params.attrition)
    noise_extra = 0.0
    if params.likert is not None:  # averaged, rounded answers add noise that does not persist across waves
        noise_extra = (params.likert.item_noise_sd**2 + 1 / 12) / params.likert.items
    if params.clusters is None:
        n1, n0 = _arms(params.respondents, params.treated_share)
        if panel:
            unit_var = 2 * (1 - iac) * var + 2 * noise_extra
            return math.sqrt(unit_var * (1 / (n1 * keep) + 1 / (n0 * keep))), params.respondents * keep - 2
        unit_var = var + noise_extra
        return (math.sqrt(unit_var * (1 / n1 + 1 / n0 + 1 / (n1 * keep) + 1 / (n0 * keep))),
                params.respondents * (1 + keep) - 4)
    g1, g0 = _arms(params.clusters, params.treated_share)
    m = params.respondents / params.clusters
    cluster_change = 2 * (1 - cac) * icc * var
    within = (1 - icc) * var + noise_extra
    if panel:
        per_cluster = cluster_change + 2 * ((1 - iac) * (1 - icc) * var + noise_extra) / (m * keep)
    else:
        per_cluster = cluster_change + within * (1 / m + 1 / (m * keep))
    return math.sqrt(per_cluster * (1 / g1 + 1 / g0)), params.clusters - 1


def analytic_power(effect: float, std_error: float, df: float, *, alpha: float, tails: str,
                   direction: str) -> float:
    """P(the registered test rejects "no effect" in the registered direction) for a t statistic."""
    shift = effect / std_error
    crit = stats.t.ppf(1 - alpha / (1 if tails == "one" else 2), df)
    upper = float(stats.nct.sf(crit, df, shift))
    lower = float(stats.nct.cdf(-crit, df, shift))
    if direction == "increase":
        return upper
    if direction == "decrease":
        return lower
    return upper + lower


def analytic_mde(std_error: float, df: float, *, target: float, alpha: float, tails: str, direction: str) -> float:
    sign = -1.0 if direction == "decrease" else 1.0

    def gap(size: float) -> float:
        return analytic_power(sign * size, std_error, df, alpha=alpha, tails=tails, direction=direction) - target

    high = std_error
    while gap(high) < 0 and high < 1e6 * std_error:
        high *= 2
    return sign * float(optimize.brentq(gap, 0.0, high, xtol=1e-10 * std_error))
