"""Weakly informative default priors, on the standardised scale, for every Bayesian model; one place to read them.

Each model's priors are *scales* (standard deviations of normal or half-normal priors). A spec may override any of
them in ``bayes.priors``; unknown names are refused at plan time. A prior-sensitivity rerun multiplies every scale
by a factor (``bayes.prior_sensitivity``), so "wider" and "narrower" are defined once, for every prior.

Standardised scales:

- ``bayes_did``: the outcome is divided by its baseline standard deviation (SD) across the analysed respondents, so
  an effect of 0.5 is half a baseline SD. A Normal(0, 0.5) prior puts 95% of its mass on effects within +/-1 SD:
  campaign effects on attitude indices are typically 0.05-0.3 SD, so the data, not the prior, decide.
- ``ordinal_did``: the latent variable of the cumulative-logit model has logistic errors with SD pi/sqrt(3) ~ 1.81
  logits; scales are in these latent SDs and converted to logits inside the model.
- ``bayes_its``: the daily share is modelled on the logit scale, which is already unit-free; scales are in logits.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: name -> (default scale, what it is a prior on). The text is shown in docs and in results.json extras.
DID_PRIORS: Mapping[str, tuple[float, str]] = MappingProxyType({
    "effect": (0.5, "Normal(0, s): portfolio (mean) effect on the change, in baseline SDs"),
    "trend": (0.5, "Normal(0, s): change in comparison communities, in baseline SDs"),
    "group_sd": (0.2, "HalfNormal(s): SD of the group (CSO) effects around the portfolio effect"),
    "cluster_sd": (0.2, "HalfNormal(s): SD of community shocks to the change (community x wave intercepts)"),
    "noise_sd": (1.5, "HalfNormal(s): SD of a respondent's change around the community mean, in baseline SDs"),
})

ORDINAL_PRIORS: Mapping[str, tuple[float, str]] = MappingProxyType({
    "effect": (0.5, "Normal(0, s): treatment x period effect on the latent scale, in latent SDs"),
    "trend": (0.5, "Normal(0, s): period effect in comparison communities, in latent SDs"),
    "arm": (0.5, "Normal(0, s): baseline difference between treated and comparison communities, in latent SDs"),
    "cluster_sd": (0.3, "HalfNormal(s): SD of community intercepts, in latent SDs"),
    "shock_sd": (0.2, "HalfNormal(s): SD of the community wave shocks (the pre-to-post change they add has SD "
                      "sqrt(2) x shock_sd), in latent SDs"),
    "cutpoints": (1.0, "first cutpoint Normal(logistic quantile of an even split, s) in latent SDs; gaps "
                       "LogNormal(log(even-split gap), s / 2)"),
})

ITS_PRIORS: Mapping[str, tuple[float, str]] = MappingProxyType({
    "level": (1.0, "Normal(logit(pooled pre-period share), s): each unit's level, in logits"),
    "level_step_sd": (0.1, "HalfNormal(s): SD of the weekly random-walk step of the local level, in logits"),
    "season_sd": (0.25, "ZeroSumNormal(s): day-of-week effects, in logits"),
    "regressor": (0.5, "Normal(0, s): coefficient on the standardised comparison series, in logits per SD"),
    "overdispersion": (0.5, "HalfNormal(s) on 1/sqrt(concentration) of the beta-binomial day-level noise"),
})

PRIORS_BY_ESTIMATOR: Mapping[str, Mapping[str, tuple[float, str]]] = MappingProxyType({
    "bayes_did": DID_PRIORS, "ordinal_did": ORDINAL_PRIORS, "bayes_its": ITS_PRIORS,
})


def prior_scales(estimator: str, overrides: Mapping[str, float] | None = None, *,
                 factor: float = 1.0) -> dict[str, float]:
    """The registered prior scales for ``estimator``: defaults, then ``overrides``, all times ``factor``."""
    defaults = PRIORS_BY_ESTIMATOR[estimator]
    unknown = sorted(set(overrides or {}) - set(defaults))
    if unknown:
        raise KeyError(f"unknown prior(s) {unknown} for {estimator}; known: {sorted(defaults)}")
    merged = {name: float(scale) for name, (scale, _) in defaults.items()}
    merged.update({k: float(v) for k, v in (overrides or {}).items()})
    return {name: scale * factor for name, scale in merged.items()}


def prior_table(estimator: str, scales: Mapping[str, float]) -> list[dict[str, object]]:
    """JSON-ready rows: name, scale used, default, meaning."""
    return [{"name": name, "scale": scales[name], "default": default, "prior": text}
            for name, (default, text) in PRIORS_BY_ESTIMATOR[estimator].items()]
