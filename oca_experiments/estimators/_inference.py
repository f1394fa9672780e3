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

import math

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ..results.parts import InferenceRecord
from ..spec import HypothesisSpec
from ._cluster_inference import RandomizationInterval, wild_cluster_bootstrap
from ._linalg import WithinDesign, covariance, satterthwaite_df
from ._survey_frame import NotTestable

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
    dist = _Distribution(df)
    half_width = float(dist.ppf(1 - (1 - ci_level) / 2)) * std_error
    p_two = float(2 * dist.sf(abs(t_stat)))
    if tails == "one":
        p = float(dist.sf(t_stat)) if direction == "increase" else float(dist.cdf(t_stat))
    else:
        p = p_two
    return TInference(estimate - half_width, estimate + half_width, p, p_two)


class _Distribution:
    """t(df), or the normal when df is None: scipy's own functions with df passed on each call, the numbers of the
    frozen ``stats.t(df)`` without building one (about 1 ms each, paid five times per regression fit)."""

    def __init__(self, df: float | None) -> None:
        self.args: tuple[float, ...] = (df,) if df else ()
        self.dist: Any = stats.t if df else stats.norm

    def ppf(self, q: float) -> Any:
        return self.dist.ppf(q, *self.args)

    def sf(self, x: float) -> Any:
        return self.dist.sf(x, *self.args)

    def cdf(self, x: float) -> Any:
        return self.dist.cdf(x, *self.args)


def t_interval(estimate: float, std_error: float, df: float | None, level: float) -> tuple[float, float]:
    dist = _Distribution(df)
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

    @property
    def part(self) -> InferenceRecord:
        """``extras.inference``: the record as its typed part, keys in the order the record was built in (so
        results.json is unchanged); read it after the fitter has added its randomization alternative."""
        return InferenceRecord.from_dict(self.record)


@dataclass(frozen=True)
class ClusterCounts:
    """What the few-cluster rule keys on: clusters in each arm, and the CR2 Satterthwaite (Imbens-Kolesar) df of
    the target coefficient, which falls with the leverage of the few clusters that identify it."""

    treated: int
    comparison: int
    satterthwaite_df: float | None = None
    randomization_available: bool = True  # one treatment regressor assigned by cluster: the test can be inverted


def _rule_record(spec: HypothesisSpec, n_clusters: int | None, counts: ClusterCounts | None) -> dict[str, Any]:
    """The record of which rule fired (kept in one place so a typed result part can take it over)."""
    few = spec.inference.few_clusters
    record: dict[str, Any] = {"name": "few_clusters", "threshold": few.threshold, "method": few.method,
                              "arm_below": few.arm_below, "n_clusters": n_clusters,
                              "registered_se": spec.inference.se, "fired": False, "valid": True}
    if counts is not None:
        record.update({"clusters_treated": counts.treated, "clusters_comparison": counts.comparison,
                       "satterthwaite_df": counts.satterthwaite_df})
    return record


def _arm_tier(spec: HypothesisSpec, counts: ClusterCounts, rule: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Few treated (or comparison) clusters: cluster-robust SEs are either invalid (one cluster: CR2 covers about
    56%) or far too conservative (two: CR2 and the Webb bootstrap about 99%; benchmarks/coverage_study.py), so the
    assignment itself is the reference distribution: randomization inference."""
    smaller = min(counts.treated, counts.comparison)
    arm = "treated" if counts.treated <= counts.comparison else "comparison"
    if smaller >= spec.inference.few_clusters.arm_below:
        return None
    rule["fired"] = True
    rule["tier"] = "few clusters in one arm"
    why = (f"the {arm} arm has {smaller} cluster{'s' if smaller != 1 else ''} (< arm_below "
           f"{spec.inference.few_clusters.arm_below}): cluster-robust standard errors "
           + ("are not consistent with one cluster in an arm (CR2 covers about 56% of 95% intervals)" if smaller == 1
              else "and the wild bootstrap are far too conservative (about 99% coverage of 95% intervals)"))
    if counts.randomization_available:
        rule["method"] = "randomization"
        rule["reason"] = (f"{why}; the primary inference is randomization inference over the clusters' assignment, "
                          "with the interval that inverts it under a constant effect")
        return "randomization", rule
    if smaller == 1:
        rule["method"], rule["valid"] = "refuse", False
        rule["reason"] = (f"{why}, and randomization inference needs one treatment indicator assigned by cluster "
                          "(this contrast has more): no valid test exists for this design")
        return "refuse", rule
    rule["method"] = "cr2"
    rule["reason"] = (f"{why}; randomization inference needs one treatment indicator assigned by cluster (this "
                      "contrast has more), so CR2-Satterthwaite is used and its interval is conservative")
    rule["conservative"] = True
    return "CR2", rule


def few_cluster_decision(spec: HypothesisSpec, n_clusters: int | None, *,
                         counts: ClusterCounts | None = None) -> tuple[str, dict[str, Any]]:
    """The primary method and the rule record (fired or not, and why), before any number is computed.

    ``counts`` (estimators comparing a treated and a comparison arm assigned by cluster) lets the rule key on the
    clusters of each arm and on leverage, not only on the total: (1) fewer than ``arm_below`` clusters in either arm
    -> randomization inference (or a refusal that says why); (2) below ``threshold`` clusters -> CR2-Satterthwaite
    below ``cr2_below`` clusters or when leverage leaves it fewer than a third of G - 1 degrees of freedom, else the
    wild cluster restricted bootstrap (Webb); a registered CR2 / wild bootstrap is kept in (2), never in (1).
    """
    inference = spec.inference
    registered = inference.se
    threshold, method = inference.few_clusters.threshold, inference.few_clusters.method
    rule = _rule_record(spec, n_clusters, counts)
    if n_clusters is None:
        rule["reason"] = "no cluster column: the rule does not apply"
        return ("wild_" + inference.bootstrap.weights if registered == "wild" else registered), rule
    if counts is not None and threshold:
        tier = _arm_tier(spec, counts, rule)
        if tier is not None:
            return tier
    if counts is not None and min(counts.treated, counts.comparison) < 2:
        arm = "treated" if counts.treated < 2 else "comparison"
        rule.update({"method": "refuse", "valid": False, "reason": (
            f"the {arm} arm has 1 cluster: cluster-robust inference needs at least 2 per arm, and the few-cluster "
            "rule, which would use randomization inference, is switched off (threshold 0)")})
        return "refuse", rule
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
        df = counts.satterthwaite_df if counts is not None else None
        if method == "wild_webb" and n_clusters < cr2_below:
            method = "cr2"
            rule["method"] = "cr2"
            rule["tier"] = (f"{n_clusters} clusters < cr2_below {cr2_below}: the Webb wild bootstrap over-rejects with "
                            "so few clusters (benchmarks/coverage_study.py: about 92% coverage of 95% intervals with 6 "
                            "clusters, CR2-Satterthwaite about 95%), so CR2-Satterthwaite is used")
        elif method == "wild_webb" and df is not None and df < (n_clusters - 1) / 3:
            method = "cr2"
            rule["method"] = "cr2"
            rule["tier"] = (f"high leverage: the CR2 Satterthwaite (Imbens-Kolesar) df {df:.1f} is below a third of "
                            f"G - 1 = {n_clusters - 1}, so a few clusters carry the estimate; CR2 with those df is "
                            "used instead of the wild bootstrap")
        chosen = "wild cluster bootstrap with Webb weights" if method == "wild_webb" else \
            "CR2 with Satterthwaite degrees of freedom"
        rule["reason"] = (f"{n_clusters} clusters < registered threshold {threshold}: the primary inference is the "
                          f"{chosen} instead of the registered {registered}, whose intervals are too short with few "
                          "clusters" + (f"; {rule['tier']}" if "tier" in rule else ""))
        return ("wild_webb" if method == "wild_webb" else "CR2"), rule
    rule["reason"] = (f"{n_clusters} clusters >= threshold {threshold}: the registered {registered} is the primary "
                      "inference" if threshold else "the few-cluster rule is switched off (threshold 0)")
    return registered, rule


def predicted_refusal(spec: HypothesisSpec, treated: int, comparison: int) -> str | None:
    """Whether the few-cluster rule will refuse this design, known from the clusters per arm alone (validate time,
    before any estimation): the rule refuses outright, or it picks randomization inference with one cluster in an
    arm and even the best case (every one of the C(G, G1) cluster assignments distinct, no blocks) cannot reach a
    p-value of 1 - ci_level, which is what ``regression_inference`` raises as NotTestable after estimating. Blocks,
    ties and missing outcomes only remove assignments, so a predicted refusal is certain. Returns the reason."""
    if treated < 1 or comparison < 1:
        arm = "treated" if treated < 1 else "comparison"
        return f"the {arm} arm has no cluster with observations in the registered waves"
    counts = ClusterCounts(treated, comparison, None, True)
    primary, rule = few_cluster_decision(spec, treated + comparison, counts=counts)
    if primary == "refuse":
        return str(rule["reason"])
    if primary != "randomization" or min(treated, comparison) >= 2:
        return None
    assignments = math.comb(treated + comparison, treated)
    level = spec.inference.ci_level
    if 1.0 / assignments <= 1.0 - level:
        return None
    return (f"{rule['reason']}; but with at most {assignments} possible assignments randomization inference cannot "
            f"reject any effect at the {100 * (1 - level):g}% level (smallest p-value 1/{assignments}): the design "
            "cannot test this hypothesis")


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
                         cluster_labels: Sequence[str] | None, null_draws: bool = True,
                         arms: tuple[int, int] | None = None,
                         randomization: Callable[[], RandomizationInterval] | None = None,
                         all_alternatives: bool = True) -> PrimaryInference:
    """Primary inference for coefficient ``index`` of a fitted regression, following the registered rule.

    ``arms`` (treated, comparison clusters) lets the rule key on each arm; ``randomization`` computes the
    randomization test and its inverted interval when the rule picks it (None: not available for this contrast).
    ``all_alternatives=False`` runs the wild cluster bootstrap only when the rule picks it as the primary (a table
    cell that shows only the primary inference has no use for its 9,999 draws); the primary is the same.
    """
    inference, direction = spec.inference, spec.direction
    tails, level, alpha = inference.tails, inference.ci_level, inference.alpha
    estimate = float(design.params[index])
    counts = None
    if arms is not None and design.clusters is not None:
        df = satterthwaite_df(design, design.contrast(index)) if design.fe_nested_in_clusters else None
        counts = ClusterCounts(arms[0], arms[1], df, randomization is not None)
    primary, rule = few_cluster_decision(spec, design.n_clusters, counts=counts)
    if primary == "refuse":
        raise NotTestable(rule["reason"])
    types = ["iid", "HC1", "HC3"] + (["CR1", "CR2"] if design.clusters is not None else [])
    alternatives = {t: _analytic(design, index, t, ci_level=level, tails=tails, direction=direction) for t in types}
    draws_for_rw = None
    wild = None
    if design.clusters is not None and cluster_labels is not None and (all_alternatives or primary.startswith("wild_")):
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
    if primary == "randomization":
        assert randomization is not None
        test = randomization()
        alternatives["randomization"] = test.record()
        if test.informative:
            record["sesoi_interval"] = [test.sesoi_low, test.sesoi_high]
            record["std_error_note"] = ("std_error is the CR2 standard error, for reference; the p-value and the "
                                        "CI come from randomization inference")
            cr2 = alternatives.get("CR2", {})
            return PrimaryInference(float(cr2.get("std_error", np.nan)), None, test.ci_low, test.ci_high,
                                    test.p_value, test.p_value_two_sided, primary, record, draws_for_rw)
        too_few = (f"with {test.assignments} possible assignments randomization inference cannot reject any effect "
                   f"at the {100 * (1 - level):g}% level")
        if counts is None or min(counts.treated, counts.comparison) < 2:
            raise NotTestable(f"{rule['reason']}; but {too_few}: the design cannot test this hypothesis")
        primary = "CR2"  # two or more clusters per arm: CR2-Satterthwaite is valid, conservative with two
        two = min(counts.treated, counts.comparison) == 2
        rule.update({"method": "cr2", "conservative": two,
                     "reason": f"{rule['reason']}; but {too_few}, so CR2-Satterthwaite is used" + (
                         ": valid but conservative (with two clusters in an arm its 95% intervals cover about "
                         "96-99%, benchmarks/coverage_study.py)" if two else
                         " (with three clusters per arm it covers about 92-96%, benchmarks/coverage_study.py)")})
        record["primary"] = primary
    if primary.startswith("wild_"):
        if wild is None:  # say why (e.g. absorbed fixed effects not nested in the clusters), not just that it failed
            failed = alternatives.get(primary, {})
            raise ValueError(failed.get("error") or "the wild cluster bootstrap needs clusters")
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


__all__ = ["ClusterCounts", "PrimaryInference", "REGRESSION_SE_TYPES", "TInference", "few_cluster_decision",
           "predicted_refusal", "regression_inference",
           "t_inference", "t_interval"]
