"""Verdicts for Bayesian estimators, from the registered decision rule (``bayes.decision`` in the spec).

With ``s`` the SESOI (``against: sesoi``, the default) or 0 (``against: zero``) and ``p`` the registered probability
(default 0.95):

- **unreliable: diagnostics failed (...)**: the fit missed a registered diagnostics threshold (R-hat, bulk or tail
  ESS, divergences). The numbers are still reported, but no conclusion is drawn from them.
- **supported**: P(effect > s) >= p for ``direction: increase``; P(effect < -s) >= p for ``decrease``; either of the
  two for ``any``.
- **not supported**: the posterior is confident the effect falls short of the SESOI in the registered direction:
  P(effect < SESOI) >= p (``increase``), P(effect > -SESOI) >= p (``decrease``), P(|effect| < SESOI) >= p
  (``any``). Without a SESOI, zero takes its place (``any`` then never gives "not supported").
- **inconclusive**: neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..results.parts import Diagnostics, PosteriorSummary
from ._verdict import Verdict

UNRELIABLE = "unreliable: diagnostics failed"


def _probability(posterior: PosteriorSummary, key: str) -> float:
    value = getattr(posterior, key)
    return float(value) if value is not None else 0.0


def bayesian_verdict(*, posterior: PosteriorSummary | Mapping[str, Any],
                     diagnostics: Diagnostics | Mapping[str, Any], direction: str, sesoi: float | None,
                     probability: float = 0.95, against: str = "sesoi") -> Verdict:
    """``posterior`` holds P(effect > 0), P(effect > SESOI), ... as written by the Bayesian fitters (typed parts, or
    their results.json records)."""
    if not isinstance(posterior, PosteriorSummary):
        posterior = PosteriorSummary.from_dict(posterior)
    if not isinstance(diagnostics, Diagnostics):
        diagnostics = Diagnostics.from_dict(diagnostics)
    if not diagnostics.passed:
        failures = "; ".join(diagnostics.failures or ["no diagnostics recorded"])
        return Verdict(f"{UNRELIABLE} ({failures})",
                       "the fit missed a registered diagnostics threshold; its numbers are shown but not used")
    has_sesoi = sesoi is not None and sesoi > 0
    p_gt_0, p_lt_0 = _probability(posterior, "p_gt_0"), _probability(posterior, "p_lt_0")
    p_gt_s = _probability(posterior, "p_gt_sesoi") if has_sesoi else p_gt_0
    p_lt_minus_s = _probability(posterior, "p_lt_minus_sesoi") if has_sesoi else p_lt_0
    use_sesoi = has_sesoi and against == "sesoi"
    bar = f"SESOI {sesoi:g}" if use_sesoi else "0"
    up, down = (p_gt_s, p_lt_minus_s) if use_sesoi else (p_gt_0, p_lt_0)
    if direction == "increase" and up >= probability:
        return Verdict("supported", f"P(effect > {bar}) = {up:.3f} >= {probability:g}")
    if direction == "decrease" and down >= probability:
        return Verdict("supported", f"P(effect < -{bar}) = {down:.3f} >= {probability:g}")
    if direction == "any" and max(up, down) >= probability:
        side = ">" if up >= down else "< -"
        return Verdict("supported", f"P(effect {side} {bar}) = {max(up, down):.3f} >= {probability:g}")
    short = "SESOI {:g}".format(sesoi) if has_sesoi else "0"
    if direction == "increase" and 1.0 - p_gt_s >= probability:
        return Verdict("not supported", f"P(effect < {short}) = {1.0 - p_gt_s:.3f} >= {probability:g}")
    if direction == "decrease" and 1.0 - p_lt_minus_s >= probability:
        return Verdict("not supported", f"P(effect > -{short}) = {1.0 - p_lt_minus_s:.3f} >= {probability:g}")
    if direction == "any" and has_sesoi:
        inside = _probability(posterior, "p_in_rope")
        if inside >= probability:
            return Verdict("not supported", f"P(|effect| < SESOI {sesoi:g}) = {inside:.3f} >= {probability:g}")
    shown = {"increase": f"P(effect > {bar}) = {up:.3f}", "decrease": f"P(effect < -{bar}) = {down:.3f}",
             "any": f"P(effect > {bar}) = {up:.3f}, P(effect < -{bar}) = {down:.3f}"}[direction]
    return Verdict("inconclusive", f"{shown}: below {probability:g} either way")
