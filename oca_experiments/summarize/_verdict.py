"""Frequentist verdicts from the registered alpha, direction, tails and smallest effect size of interest (SESOI).

The rule, stated once:

- **supported**: the registered test rejects "no effect" at ``alpha`` in the registered direction
  (for ``direction: any``, a two-sided test).
- **not supported**: the data rule out an effect as large as the SESOI in the registered direction: the
  ``1 - 2*alpha`` confidence interval lies entirely below the SESOI (``increase``), above ``-SESOI``
  (``decrease``), or inside ``(-SESOI, SESOI)`` (``any``; two one-sided tests). Without a SESOI, an effect
  significantly in the opposite direction is "not supported".
- **inconclusive**: neither.

Where a SESOI is registered, ``equivalence_reading`` adds the equivalence (ROPE) reading of the same ``1 - 2*alpha``
interval against the region of practical equivalence ``(-SESOI, SESOI)``: *practically equivalent* (inside it: two
one-sided tests reject effects as large as the SESOI), *practically relevant* (entirely beyond it), or *undecided*.
It complements the verdict, never replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass


from oca_experiments._format import format_p

VERDICTS = ("supported", "not supported", "inconclusive")
EQUIVALENCE_READINGS = ("practically equivalent", "practically relevant", "undecided")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def frequentist_verdict(*, estimate: float, std_error: float, df: float | None, p_value: float, alpha: float,
                        direction: str, sesoi: float | None,
                        interval: tuple[float, float] | None = None, null: float = 0.0) -> Verdict:
    """``interval``: the 1 - 2*alpha interval when the primary inference is not a t interval (e.g. the wild
    cluster bootstrap's inverted test); otherwise it is estimate +- t(1 - alpha, df) * std_error. ``null``: the
    value of "no effect" when it is not zero (a share tested against a registered share); effects are measured
    from it."""
    low, high = interval if interval is not None else _t_band(estimate, std_error, df, alpha)
    estimate, low, high = estimate - null, low - null, high - null
    level = f"{100 * (1 - 2 * alpha):g}%"
    wrong_sign = (direction == "increase" and estimate < 0) or (direction == "decrease" and estimate > 0)
    if p_value < alpha and wrong_sign:
        return Verdict("not supported", f"{format_p(p_value)}, below alpha = {alpha:g}, but the effect goes the other "
                                        "way")
    if p_value < alpha:
        side = {"increase": "an increase", "decrease": "a decrease", "any": "a non-zero effect"}[direction]
        return Verdict("supported", f"{format_p(p_value)}, below alpha = {alpha:g}: the data show {side}")
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
                   f"{format_p(p_value)}, not below alpha = {alpha:g}, and the data do not rule out an effect of "
                   "interest")


def _t_band(estimate: float, std_error: float, df: float | None, alpha: float) -> tuple[float, float]:
    from scipy import stats  # on first use: scipy.stats costs ~2 s to import, and the report kernel needs no verdict

    dist = stats.t(df) if df else stats.norm()
    crit = float(dist.ppf(1 - alpha))
    return estimate - crit * std_error, estimate + crit * std_error


def equivalence_reading(*, estimate: float, std_error: float, df: float | None, alpha: float,
                        sesoi: float | None, interval: tuple[float, float] | None = None) -> Verdict | None:
    """The ROPE reading against ``(-SESOI, SESOI)``; ``None`` when no positive SESOI is registered."""
    if sesoi is None or not sesoi > 0:
        return None
    low, high = interval if interval is not None else _t_band(estimate, std_error, df, alpha)
    interval = f"the {100 * (1 - 2 * alpha):g}% CI [{low:.3g}, {high:.3g}]"
    if -sesoi < low and high < sesoi:
        return Verdict("practically equivalent", f"{interval} lies within +/-SESOI {sesoi:g}: effects as large as "
                                                 "the SESOI are ruled out")
    if low >= sesoi or high <= -sesoi:
        return Verdict("practically relevant", f"{interval} lies entirely beyond +/-SESOI {sesoi:g}")
    return Verdict("undecided", f"{interval} overlaps the SESOI band +/-{sesoi:g}")
