"""Inference for one coefficient: t-based intervals, and the registered primary inference with the few-cluster rule.

The primary inference is what the verdict and the headline numbers use:

1. the registered SE type (``inference.se``: iid, HC1, HC3, CR1, CR2 or wild);
2. **the few-cluster rule**: with a cluster column and fewer clusters than ``inference.few_clusters.threshold``
   (default 30), a registered iid/HC/CR1 is replaced by the wild cluster bootstrap with Webb weights
   (``method: wild_webb``, the default) or by CR2 with Satterthwaite degrees of freedom (``method: cr2``). Below
   ``few_clusters.cr2_below`` clusters (default 10) the Webb bootstrap itself over-rejects (about 92% coverage with
   6 clusters, 3 treated), so the default rule uses CR2-Satterthwaite there (about 95%). CR1's
   t(G-1) intervals are too short with few or unequal clusters (coverage study: benchmarks/coverage_study.py); a
   registered CR2 or wild bootstrap is already built for few clusters and is kept. The record says whether the rule fired and
   why, and every alternative is kept beside the primary one (``extras.inference.alternatives``).

With the wild bootstrap as primary, ``std_error`` is the CR1 standard error that studentizes it, ``df`` is None, and
the p-value, the CI and the verdict's 1 - 2*alpha interval all come from the bootstrap (test inversion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ..spec import HypothesisSpec
from ._cluster_inference import wild_cluster_bootstrap
from ._linalg import WithinDesign, covariance, satterthwaite_df

#: SE types a regression-based survey estimator offers (``wild``: the wild cluster bootstrap as registered primary).
REGRESSION_SE_TYPES = ("CR1", "CR2", "HC1", "HC3", "iid", "wild")
_SWITCHABLE = ("iid", "HC1", "HC3", "CR1")  # the few-cluster rule replaces these; CR2 and wild are kept
#: Below this many clusters the record warns that Webb weights over-reject (see benchmarks/coverage_study.py).


@dataclass(frozen=True)
class TInference:
    ci_low: float
    ci_high: float
    p_value: float
    p_value_two_sided: float


def t_inference(estimate: float, std_error: float, df: float | None, *, ci_level: float, tails: str,
                direction: str) -> TInference:
    """Two-sided CI at ``ci_level``; the p-value follows the registered tails and direction (normal if df is None)."""
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero SE gives t = +-inf (or NaN), never an exception
        t_stat = float(np.float64(estimate) / np.float64(std_error))
    dist = stats.t(df) if df else stats.norm()
    half_width = float(dist.ppf(1 - (1 - ci_level) / 2)) * std_error
    p_two = float(2 * dist.sf(abs(t_stat)))
    if tails == "one":
        p = float(dist.sf(t_stat)) if direction == "increase" else float(dist.cdf(t_stat))
    else:
        p = p_two
    return TInference(estimate - half_width, estimate + half_width, p, p_two)


def t_interval(estimate: float, std_error: float, df: float | None, level: float) -> tuple[float, float]:
    dist = stats.t(df) if df else stats.norm()
    half = float(dist.ppf(1 - (1 - level) / 2)) * std_error
    return estimate - half, estimate + half


@dataclass(frozen=True)
class PrimaryInference:
    """The numbers the result reports, the record of how they were chosen, and bootstrap draws for Romano-Wolf."""

    std_error: float
    df: float | None
    ci_low: float
    ci_high: float
    p_value: float
    p_value_two_sided: float
    se_type: str
    record: dict[str, Any]
    null_draws: tuple[float, NDArray[np.float64]] | None = field(default=None, repr=False)  # (observed t, draws)


def few_cluster_decision(spec: HypothesisSpec, n_clusters: int | None) -> tuple[str, dict[str, Any]]:
    """The primary method and the rule record (fired or not, and why), before any number is computed."""
    inference = spec.inference
    registered = inference.se
    threshold, method = inference.few_clusters.threshold, inference.few_clusters.method
    rule: dict[str, Any] = {"name": "few_clusters", "threshold": threshold, "method": method,
                            "n_clusters": n_clusters, "registered_se": registered, "fired": False}
    if n_clusters is None:
        rule["reason"] = "no cluster column: the rule does not apply"
        return ("wild_" + inference.bootstrap.weights if registered == "wild" else registered), rule
    if registered == "wild":
        rule["reason"] = (f"the registered wild cluster bootstrap ({inference.bootstrap.weights} weights) is kept: "
                          "it is built for few clusters")
        return "wild_" + inference.bootstrap.weights, rule
    if registered == "CR2":
        rule["reason"] = "the registered CR2-Satterthwaite inference is kept: it is built for few clusters"
        return "CR2", rule
    if threshold and n_clusters < threshold and registered in _SWITCHABLE:
        rule["fired"] = True
        cr2_below = inference.few_clusters.cr2_below
        if method == "wild_webb" and n_clusters < cr2_below:
            method = "cr2"
            rule["method"] = "cr2"
            rule["tier"] = (f"{n_clusters} clusters < cr2_below {cr2_below}: the Webb wild bootstrap over-rejects with "
                            "so few clusters (benchmarks/coverage_study.py: about 92% coverage of 95% intervals with 6 "
                            "clusters, CR2-Satterthwaite about 95%), so CR2-Satterthwaite is used")
        chosen = "wild cluster bootstrap with Webb weights" if method == "wild_webb" else \
            "CR2 with Satterthwaite degrees of freedom"
        rule["reason"] = (f"{n_clusters} clusters < registered threshold {threshold}: the primary inference is the "
                          f"{chosen} instead of the registered {registered}, whose intervals are too short with few "
                          "clusters" + (f"; {rule['tier']}" if "tier" in rule else ""))
        return ("wild_webb" if method == "wild_webb" else "CR2"), rule
    rule["reason"] = (f"{n_clusters} clusters >= threshold {threshold}: the registered {registered} is the primary "
                      "inference" if threshold else "the few-cluster rule is switched off (threshold 0)")
    return registered, rule


def _analytic(design: WithinDesign, index: int, se_type: str, *, ci_level: float, tails: str,
              direction: str) -> dict[str, Any]:
    try:
        vcov = covariance(design, se_type)
    except ValueError as exc:
        return {"error": str(exc)}
    std_error = float(np.sqrt(vcov[index, index]))
    if se_type == "CR1":
        df: float | None = float(design.n_clusters - 1)  # type: ignore[operator]
    elif se_type == "CR2":
        df = satterthwaite_df(design, design.contrast(index))
    else:
        df = float(design.n_obs - design.k_full)
    estimate = float(design.params[index])
    result = t_inference(estimate, std_error, df, ci_level=ci_level, tails=tails, direction=direction)
    return {"std_error": std_error, "df": df, "ci_low": result.ci_low, "ci_high": result.ci_high,
            "p_value": result.p_value, "p_value_two_sided": result.p_value_two_sided}


def regression_inference(design: WithinDesign, index: int, spec: HypothesisSpec, *,
                         cluster_labels: Sequence[str] | None, null_draws: bool = True) -> PrimaryInference:
    """Primary inference for coefficient ``index`` of a fitted regression, following the registered rule."""
    inference, direction = spec.inference, spec.direction
    tails, level, alpha = inference.tails, inference.ci_level, inference.alpha
    estimate = float(design.params[index])
    primary, rule = few_cluster_decision(spec, design.n_clusters)
    types = ["iid", "HC1", "HC3"] + (["CR1", "CR2"] if design.clusters is not None else [])
    alternatives = {t: _analytic(design, index, t, ci_level=level, tails=tails, direction=direction) for t in types}
    draws_for_rw = None
    wild = None
    if design.clusters is not None and cluster_labels is not None:
        weights = primary.removeprefix("wild_") if primary.startswith("wild_") else "webb"
        boot = inference.bootstrap
        try:
            wild = wild_cluster_bootstrap(design, index, labels=cluster_labels, draws=boot.draws, weights=weights,
                                          seed=boot.seed, ci_level=level, tails=tails, direction=direction,
                                          alpha=alpha)
            alternatives[f"wild_{weights}"] = wild.record()
            draws_for_rw = (wild.t_stat, wild.null_t) if null_draws else None
        except ValueError as exc:
            alternatives[f"wild_{weights}"] = {"error": str(exc)}
    record: dict[str, Any] = {"primary": primary, "registered_se": inference.se, "rule": rule,
                              "alternatives": alternatives, "estimate": estimate}
    if primary.startswith("wild_"):
        if wild is None:
            raise ValueError("the wild cluster bootstrap needs clusters")
        cr1 = alternatives.get("CR1", {})
        record["sesoi_interval"] = [wild.sesoi_low, wild.sesoi_high]
        record["std_error_note"] = ("std_error is the CR1 standard error that studentizes the bootstrap; the p-value "
                                    "and the CI come from the bootstrap")
        return PrimaryInference(float(cr1.get("std_error", np.nan)), None, wild.ci_low, wild.ci_high, wild.p_value,
                                wild.p_value_two_sided, primary, record, draws_for_rw)
    chosen = alternatives[primary]
    if "error" in chosen:
        raise ValueError(chosen["error"])
    record["sesoi_interval"] = list(t_interval(estimate, chosen["std_error"], chosen["df"], 1.0 - 2.0 * alpha))
    return PrimaryInference(chosen["std_error"], chosen["df"], chosen["ci_low"], chosen["ci_high"],
                            chosen["p_value"], chosen["p_value_two_sided"], primary, record, draws_for_rw)


__all__ = ["PrimaryInference", "REGRESSION_SE_TYPES", "TInference", "few_cluster_decision", "regression_inference",
           "t_inference", "t_interval"]
