"""Frequentist verdicts from the registered alpha, direction, tails and smallest effect size of interest (SESOI).

The rule, stated once:

- **supported**: the registered test rejects "no effect" at ``alpha`` in the registered direction
  (for ``direction: any``, a two-sided test).
- **not supported**: the data rule out an effect as large as the SESOI in the registered direction: the
  ``1 - 2*alpha`` confidence interval lies entirely below the SESOI (``increase``), above ``-SESOI``
  (``decrease``), or inside ``(-SESOI, SESOI)`` (``any``; two one-sided tests). Without a SESOI, an effect
  significantly in the opposite direction is "not supported".
- **inconclusive**: neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

VERDICTS = ("supported", "not supported", "inconclusive")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def frequentist_verdict(*, estimate: float, std_error: float, df: float | None, p_value: float, alpha: float,
                        direction: str, sesoi: float | None) -> Verdict:
    dist = stats.t(df) if df else stats.norm()
    crit = float(dist.ppf(1 - alpha))
    low, high = estimate - crit * std_error, estimate + crit * std_error
    level = f"{100 * (1 - 2 * alpha):g}%"
    wrong_sign = (direction == "increase" and estimate < 0) or (direction == "decrease" and estimate > 0)
    if p_value < alpha and wrong_sign:
        return Verdict("not supported", f"p = {p_value:.3g} < alpha = {alpha:g} but the effect goes the other way")
    if p_value < alpha:
        side = {"increase": "an increase", "decrease": "a decrease", "any": "a non-zero effect"}[direction]
        return Verdict("supported", f"p = {p_value:.3g} < alpha = {alpha:g}: the data show {side}")
    if sesoi is not None and sesoi > 0:
        if direction == "increase" and high < sesoi:
            return Verdict("not supported", f"the {level} CI upper bound {high:.3g} is below the SESOI {sesoi:g}")
        if direction == "decrease" and low > -sesoi:
            return Verdict("not supported", f"the {level} CI lower bound {low:.3g} is above -SESOI {-sesoi:g}")
        if direction == "any" and -sesoi < low and high < sesoi:
            return Verdict("not supported",
                           f"the {level} CI [{low:.3g}, {high:.3g}] lies within +/-SESOI {sesoi:g}")
    elif direction == "increase" and high < 0:
        return Verdict("not supported", f"the {level} CI upper bound {high:.3g} is below zero")
    elif direction == "decrease" and low > 0:
        return Verdict("not supported", f"the {level} CI lower bound {low:.3g} is above zero")
    return Verdict("inconclusive",
                   f"p = {p_value:.3g} >= alpha = {alpha:g} and the data do not rule out an effect of interest")
