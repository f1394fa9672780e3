"""The registered inference rule, read from the spec, and its batched application to many replicates.

The rule is what the spec registers: the SE type, the test's tails and direction, the CI level and the
few-cluster rule (fewer clusters than its threshold switch the primary inference to the wild cluster bootstrap or
CR2), decided by the estimators' own ``few_cluster_decision``. The batched functions reproduce
``estimators._inference.t_inference`` element-wise: the same SciPy
distribution functions on the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from ..spec import HypothesisSpec

Array = NDArray[np.float64]


@dataclass(frozen=True)
class InferenceRule:
    se_type: str
    alpha: float
    tails: str
    direction: str
    ci_level: float

    def describe(self, spec: HypothesisSpec, n_clusters: int | None,
                 treated: int | None = None) -> dict[str, object]:
        """``treated``: how many of the planned clusters are treated, so the few-cluster rule keys on each arm as
        the estimators do (without it, only the total count is seen and one treated cluster goes unnoticed)."""
        from ._engine import primary_method

        inference = spec.inference
        return {"se": self.se_type, "alpha": self.alpha, "tails": self.tails, "direction": self.direction,
                "ci_level": self.ci_level, "few_clusters": inference.few_clusters.model_dump(mode="json"),
                "bootstrap": inference.bootstrap.model_dump(mode="json"),
                "method_at_planned_clusters": primary_method(spec, n_clusters, treated)}


def registered_rule(spec: HypothesisSpec) -> InferenceRule:
    inference = spec.inference
    return InferenceRule(se_type=inference.se, alpha=inference.alpha, tails=inference.tails,
                         direction=spec.direction, ci_level=inference.ci_level)


@dataclass(frozen=True)
class BatchInference:
    p_value: Array
    p_value_two_sided: Array
    ci_low: Array
    ci_high: Array


def t_inference_batch(estimate: Array, std_error: Array, df: Array, rule: InferenceRule) -> BatchInference:
    """``t_inference`` for every replicate: two-sided CI at the registered level, p-value per tails/direction."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t_stat = estimate / std_error
        half_width = stats.t.ppf(1 - (1 - rule.ci_level) / 2, df) * std_error
        p_two = 2 * stats.t.sf(np.abs(t_stat), df)
        if rule.tails == "one":
            p = stats.t.sf(t_stat, df) if rule.direction == "increase" else stats.t.cdf(t_stat, df)
        else:
            p = p_two
    return BatchInference(p, p_two, estimate - half_width, estimate + half_width)
