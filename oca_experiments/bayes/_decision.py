"""Decision outputs from posterior draws of one effect: summaries, intervals, probabilities and the ROPE rule.

All functions take a 1-d array of draws and return plain numbers (JSON-ready dicts); nothing prints.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["eti", "hdi", "interval", "summarize_draws"]


def hdi(draws: np.ndarray, prob: float) -> tuple[float, float]:
    """Highest-density interval: the shortest interval holding ``prob`` of the (unimodal) draws."""
    values = np.sort(np.asarray(draws, dtype=float).ravel())
    n = values.size
    width = int(math.floor(prob * n))
    if width < 1 or width >= n:
        return float(values[0]), float(values[-1])
    spans = values[width:] - values[: n - width]
    start = int(np.argmin(spans))
    return float(values[start]), float(values[start + width])


def eti(draws: np.ndarray, prob: float) -> tuple[float, float]:
    """Equal-tailed interval: the (1 - prob)/2 and (1 + prob)/2 quantiles."""
    low, high = np.quantile(np.asarray(draws, dtype=float).ravel(), [(1 - prob) / 2, (1 + prob) / 2])
    return float(low), float(high)


def interval(draws: np.ndarray, prob: float, kind: str) -> tuple[float, float]:
    return hdi(draws, prob) if kind == "hdi" else eti(draws, prob)


def _mcse_mean(draws: np.ndarray) -> float:
    """Monte Carlo SE of the mean, from the bulk ESS when draws are (chain, draw), else iid."""
    values = np.asarray(draws, dtype=float)
    if values.ndim == 2 and values.shape[0] > 1:
        import arviz_stats as azs

        ess = float(np.asarray(azs.ess(values, method="mean")))
        return float(values.std() / math.sqrt(max(ess, 1.0)))
    return float(values.std() / math.sqrt(max(values.size, 1)))


def summarize_draws(draws: np.ndarray, *, ci_level: float = 0.95, interval_kind: str = "hdi",
                    sesoi: float | None = None) -> dict[str, Any]:
    """Posterior mean, median, SD, interval, P(effect > 0), P(effect > SESOI), the ROPE probability and decision.

    ``draws`` may be (chain, draw) or flat. The ROPE is [-SESOI, SESOI]; its decision follows Kruschke's HDI+ROPE
    rule applied to the registered interval: "outside ROPE" when the interval excludes the ROPE, "practically
    equivalent" when the interval lies inside it, otherwise "undecided".
    """
    values = np.asarray(draws, dtype=float)
    flat = values.ravel()
    low, high = interval(flat, ci_level, interval_kind)
    out: dict[str, Any] = {
        "mean": float(flat.mean()), "median": float(np.median(flat)), "sd": float(flat.std(ddof=1)),
        "ci_low": low, "ci_high": high, "ci_level": ci_level, "interval": interval_kind,
        "mcse_mean": _mcse_mean(values), "p_gt_0": float((flat > 0).mean()), "p_lt_0": float((flat < 0).mean()),
        "n_draws": int(flat.size),
    }
    if sesoi is not None and sesoi > 0:
        inside = (flat > -sesoi) & (flat < sesoi)
        if low > sesoi or high < -sesoi:
            decision = "outside ROPE"
        elif -sesoi <= low and high <= sesoi:
            decision = "practically equivalent"
        else:
            decision = "undecided"
        out.update(sesoi=float(sesoi), p_gt_sesoi=float((flat > sesoi).mean()),
                   p_lt_minus_sesoi=float((flat < -sesoi).mean()), rope=[-float(sesoi), float(sesoi)],
                   p_in_rope=float(inside.mean()), rope_decision=decision)
    else:
        out.update(sesoi=None, p_gt_sesoi=None, p_lt_minus_sesoi=None, rope=None, p_in_rope=None,
                   rope_decision=None)
    return out
