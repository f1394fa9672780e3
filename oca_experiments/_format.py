"""One format per quantity, for every surface that prints numbers (command line, report, summaries, tables).

- p-values: ``p < 0.001`` below a thousandth, else three decimals (``p = 0.054``); never ``p = 0``. A
  resampling p-value that sits at its floor ``1/(B+1)`` (no draw as extreme as the data) is printed as that bound,
  ``p ≤ 0.01``, when the bound is above a thousandth: "0.01" alone would claim a precision the draws do not have.
- inference: the method that produced an interval and p-value, in words (``inference_label``), so that no number
  is shown without the inference behind it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["format_p", "inference_label", "monte_carlo_p"]

SMALLEST_SHOWN_P = 0.001


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def monte_carlo_p(share: float, draws: int, *, enumerated: bool) -> float:
    """The (1 + #)/(B + 1) p-value from the share of B sampled draws at least as extreme as the data.

    Sampled draws never include the observed data, so it is added as one more draw (Davison & Hinkley 1997, eq. 4.11;
    Phipson & Smyth 2010): a p-value of exactly zero is impossible. An enumerated reference distribution already
    holds the observed assignment or weight vector, so its share is returned as it is.
    """
    if enumerated or draws <= 0 or not _finite(share):
        return share
    extreme = round(share * draws)
    return (extreme + 1.0) / (draws + 1.0)


def format_p(p: Any, *, draws: int | None = None, enumerated: bool = False, name: str = "p") -> str:
    """``p < 0.001``, ``p = 0.054``, ``p ≤ 0.01`` (at the floor of B = 99 draws); ``p not available`` for none."""
    if not _finite(p):
        return f"{name} not available"
    p = float(p)
    if draws and not enumerated and draws > 0:
        floor = 1.0 / (draws + 1.0)
        if p <= floor * (1 + 1e-9) and floor >= SMALLEST_SHOWN_P:
            return f"{name} ≤ {floor:.3g}"
    if p < SMALLEST_SHOWN_P:
        return f"{name} < {SMALLEST_SHOWN_P:g}"
    if p > 0.999:
        return f"{name} > 0.999" if p < 1 else f"{name} = 1"
    return f"{name} = {p:.3f}"


_METHOD_WORDS = {
    "wild_webb": "wild cluster bootstrap (Webb weights)",
    "wild_rademacher": "wild cluster bootstrap (Rademacher weights)",
    "randomization": "randomization inference",
    "CR1": "cluster-robust CR1",
    "CR2": "cluster-robust CR2 (Bell-McCaffrey)",
    "HC1": "heteroskedasticity-robust HC1",
    "HC3": "heteroskedasticity-robust HC3",
    "iid": "classical (iid)",
    "posterior_sd": "posterior",
    "linearized": "survey-weighted, Taylor-linearized with the raking adjustment",
}


def inference_method(se_type: str | None) -> str:
    """The method behind an ``se_type`` in words (``CR2`` -> "cluster-robust CR2 (Bell-McCaffrey)")."""
    return _METHOD_WORDS.get(str(se_type), str(se_type or "inference not recorded"))


def inference_label(se_type: str | None, inference: Any = None) -> str:
    """Which inference produced the interval and p-value: e.g. ``wild cluster bootstrap (Webb weights), 9,999
    draws, replacing the registered CR1 (24 clusters < 30)``. ``inference`` is the estimate's ``extras['inference']``
    record (a mapping) or a sentence; ``se_type`` the result's ``se_type``."""
    if isinstance(inference, str) and inference.strip():
        return inference.strip()
    record = inference if isinstance(inference, Mapping) else {}
    primary = record.get("primary") or se_type or "inference not recorded"
    words = _METHOD_WORDS.get(str(primary), str(primary))
    details = (record.get("alternatives") or {}).get(primary) if isinstance(record.get("alternatives"), Mapping) \
        else None
    if isinstance(details, Mapping) and _finite(details.get("draws")):
        kind = "enumerated weight vectors" if details.get("enumerated") else "draws"
        words += f", {int(details['draws']):,} {kind}"
    rule = record.get("rule") if isinstance(record.get("rule"), Mapping) else {}
    if rule.get("fired"):
        registered = rule.get("registered_se") or record.get("registered_se")
        n, threshold = rule.get("n_clusters"), rule.get("threshold")
        why = f" ({n} clusters < {threshold})" if _finite(n) and _finite(threshold) else ""
        words += f", replacing the registered {registered}{why}"
    return words
