"""t-based p-values and confidence intervals for one coefficient."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True)
class TInference:
    ci_low: float
    ci_high: float
    p_value: float
    p_value_two_sided: float


def t_inference(estimate: float, std_error: float, df: float, *, ci_level: float, tails: str,
                direction: str) -> TInference:
    """Two-sided CI at ``ci_level``; the p-value follows the registered tails and direction."""
    t_stat = estimate / std_error
    dist = stats.t(df)
    half_width = float(dist.ppf(1 - (1 - ci_level) / 2)) * std_error
    p_two = float(2 * dist.sf(abs(t_stat)))
    if tails == "one":
        p = float(dist.sf(t_stat)) if direction == "increase" else float(dist.cdf(t_stat))
    else:
        p = p_two
    return TInference(estimate - half_width, estimate + half_width, p, p_two)
