"""Derived quantities and predictive replicates, computed in numpy from posterior (or prior) draws.

Derived effects are returned with (chain, draw) leading axes so that they pass through the same diagnostics gate
as the model's parameters. Replicates use a seeded numpy generator and a fixed, evenly spaced subset of draws, so
they are reproducible from the draws alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import DidData, ItsData, OrdinalData
from ._models import LATENT_SD

__all__ = ["did_derived", "did_replicates", "its_effects", "ordinal_derived", "ordinal_probabilities",
           "ordinal_replicates", "thin_index"]


def _values(dataset: Any, name: str) -> np.ndarray:
    return np.asarray(dataset[name].transpose("chain", "draw", ...).values, dtype=float)


def thin_index(n_total: int, n_keep: int) -> np.ndarray:
    """Evenly spaced positions in the flattened (chain x draw) sample."""
    return np.unique(np.linspace(0, n_total - 1, min(n_keep, n_total)).astype(np.int64))


def _flat(values: np.ndarray) -> np.ndarray:
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


# --------------------------------------------------------------------------- DiD


def did_derived(posterior: Any, data: DidData) -> dict[str, np.ndarray]:
    """Effects on the outcome scale: per group, the portfolio (treated-weighted mean over the study's groups), the
    population mean (the hyper-mean: a new group's expected effect) and the weakest group's effect."""
    group = _values(posterior, "group_effect") * data.scale
    return {"group_effect_outcome": group,
            "portfolio_effect": group @ data.treated_weights(),
            "population_effect": _values(posterior, "effect") * data.scale,
            "weakest_group_effect": group.min(axis=-1)}


def did_replicates(posterior: Any, data: DidData, rng: np.random.Generator, n_draws: int = 100) -> dict[str, Any]:
    """Posterior predictive respondents' changes (outcome scale), drawing each community's intercept from its
    conditional posterior given the parameters (it is integrated out of the model)."""
    trend, noise, cluster_sd = (_flat(_values(posterior, k)) for k in ("trend", "noise_sd", "cluster_sd"))
    group = _flat(_values(posterior, "group_effect"))
    keep = thin_index(trend.size, n_draws)
    trend, noise, cluster_sd, group = trend[keep], noise[keep], cluster_sd[keep], group[keep]
    mu = trend[:, None] + group[:, data.group] * data.treated[None, :]
    precision = data.n[None, :] / noise[:, None] ** 2 + 1.0 / np.maximum(cluster_sd[:, None], 1e-12) ** 2
    u_mean = (data.n[None, :] * (data.mean_change[None, :] - mu) / noise[:, None] ** 2) / precision
    u = u_mean + rng.standard_normal(u_mean.shape) / np.sqrt(precision)
    cluster = data.unit_cluster
    units = (mu + u)[:, cluster] + noise[:, None] * rng.standard_normal((keep.size, cluster.size))
    sums = np.stack([np.bincount(cluster, weights=row, minlength=data.n_clusters) for row in units])
    return {"unit_change": units * data.scale, "cluster_mean_change": sums / data.n[None, :] * data.scale,
            "draw_index": keep}


# --------------------------------------------------------------------------- ordinal


def ordinal_probabilities(eta: np.ndarray, cutpoints: np.ndarray) -> np.ndarray:
    """Category probabilities (..., K) of a cumulative-logit model; ``cutpoints`` broadcast against eta[..., None]."""
    below = 1.0 / (1.0 + np.exp(-(cutpoints - eta[..., None])))
    first = below[..., :1]
    return np.concatenate([first, np.diff(below, axis=-1), 1.0 - below[..., -1:]], axis=-1)


def _ordinal_eta(posterior: Any, data: OrdinalData) -> np.ndarray:
    """eta (chain, draw, cluster, wave)."""
    arm, trend, effect = (_values(posterior, k)[..., None, None] for k in ("arm", "trend", "effect"))
    cluster = (_values(posterior, "cluster_sd")[..., None] * _values(posterior, "cluster_z"))[..., None]
    shock = ((_values(posterior, "shock_sd")[..., None] * _values(posterior, "shock_z"))[..., None]
             * (np.array([-1.0, 1.0]) / np.sqrt(2.0)))  # one wave contrast per community, as in _models.py
    treated = data.treated[None, None, :, None]
    post = np.array([0.0, 1.0])[None, None, None, :]
    return arm * treated + cluster + trend * post + effect * treated * post + shock


def ordinal_derived(posterior: Any, data: OrdinalData, top_from: int) -> dict[str, np.ndarray]:
    """Latent effect (logits and latent SDs) and, for treated communities at the post wave, the change in each
    category's probability against the same communities without the effect, weighted by their post answers."""
    eta = _ordinal_eta(posterior, data)[..., 1]  # post wave
    effect = _values(posterior, "effect")
    cut = _values(posterior, "cutpoints")[:, :, None, :]
    with_effect = ordinal_probabilities(eta, cut)
    without = ordinal_probabilities(eta - effect[..., None], cut)
    weights = data.counts[:, 1, :].sum(axis=-1) * data.treated
    weights = weights / weights.sum()
    change = np.einsum("cdgk,g->cdk", with_effect - without, weights)
    top = data.categories.index(top_from)
    return {"latent_effect": effect, "latent_effect_sd": effect / LATENT_SD, "category_change": change,
            "top_change": change[..., top:].sum(axis=-1)}


def ordinal_replicates(posterior: Any, data: OrdinalData, rng: np.random.Generator,
                       n_draws: int = 100) -> np.ndarray:
    """Replicated answer counts (draw, cluster, wave, category) from the posterior predictive."""
    eta = _flat(_ordinal_eta(posterior, data))
    cut = _flat(_values(posterior, "cutpoints"))
    keep = thin_index(eta.shape[0], n_draws)
    probs = ordinal_probabilities(eta[keep], cut[keep][:, None, None, :])
    probs = np.clip(probs, 0.0, None)
    probs /= probs.sum(axis=-1, keepdims=True)
    n = data.counts.sum(axis=-1).astype(np.int64)
    return rng.multinomial(np.broadcast_to(n, probs.shape[:-1]), probs).astype(float)


# --------------------------------------------------------------------------- ITS


def its_linear_predictor(posterior: Any, data: ItsData) -> np.ndarray:
    """logit p (chain, draw, unit, day) for every unit-day: fitted before the start, counterfactual after."""
    step_sd = _values(posterior, "level_step_sd")[..., None, None]
    steps = _values(posterior, "level_step_z") * step_sd
    walk = np.concatenate([np.zeros(steps.shape[:-1] + (1,)), np.cumsum(steps, axis=-1)], axis=-1)
    step_of_day = np.arange(data.n_days) // data.level_step_days
    level = _values(posterior, "level")[..., None]
    weekday = _values(posterior, "weekday_effect")[..., data.day_of_week][..., None, :]
    beta = _values(posterior, "regressor_coef")[..., None, None]
    return level + walk[..., step_of_day] + weekday + beta * data.regressor


def _beta_binomial(rng: np.random.Generator, trials: np.ndarray, p: np.ndarray, concentration: np.ndarray):
    q = rng.beta(np.maximum(p * concentration, 1e-9), np.maximum((1.0 - p) * concentration, 1e-9))
    return rng.binomial(trials.astype(np.int64), q).astype(float)


def its_effects(posterior: Any, data: ItsData, rng: np.random.Generator, *, n_plot_draws: int = 200) -> dict[str, Any]:
    """Counterfactual posterior and effects of the intervention, CausalImpact-style.

    For each post-period unit-day with trials, the counterfactual is a posterior predictive draw of the share
    without the intervention; the pointwise effect is the observed share minus it. Returns (chain, draw) arrays:
    ``average_effect`` (mean pointwise effect over post unit-days with trials, share units), ``unit_effect``
    (per unit) and ``cumulative_effect`` (observed minus counterfactual successes, summed), plus pre-period
    replicates and counterfactual bands for the plots.
    """
    eta = its_linear_predictor(posterior, data)
    p = 1.0 / (1.0 + np.exp(-eta))
    concentration = 1.0 / _values(posterior, "overdispersion") ** 2
    conc = concentration[..., None, None]
    pre = data.pre_mask()
    has = data.trials > 0
    post_cells = ~pre & has
    trials = np.broadcast_to(data.trials, p.shape)
    replicate = _beta_binomial(rng, trials, p, np.broadcast_to(conc, p.shape))
    observed_share = np.where(has, data.successes / np.maximum(data.trials, 1.0), np.nan)
    cf_share = replicate / np.maximum(trials, 1.0)
    pointwise = np.where(post_cells, observed_share - cf_share, 0.0)
    per_unit_n = post_cells.sum(axis=-1)
    unit_effect = pointwise.sum(axis=-1) / per_unit_n
    average = pointwise.sum(axis=(-2, -1)) / post_cells.sum()
    cumulative = np.where(post_cells, data.successes - replicate, 0.0).sum(axis=(-2, -1))
    flat_p = _flat(p)
    keep = thin_index(flat_p.shape[0], n_plot_draws)
    return {"average_effect": average, "unit_effect": unit_effect, "cumulative_effect": cumulative,
            "expected_share": flat_p[keep], "replicate_share": _flat(cf_share)[keep],
            "observed_share": observed_share, "post_cells": post_cells, "pre_cells": pre & has}
