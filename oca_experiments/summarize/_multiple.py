"""Multiple testing across each registered family: Holm, Benjamini-Hochberg and Romano-Wolf, beside the raw p-values.

Families come from ``results.multiple_testing_families`` (the preregistration firewall): only results the registry
lock makes confirmatory share a confirmatory family; exploratory results are adjusted among themselves, never with
confirmatory ones. A family may span estimators and data sources. Only estimated results with a p-value enter.

- **Holm (1979)**: step-down Bonferroni; controls the family-wise error rate under any dependence.
- **Benjamini-Hochberg (1995)**: step-up; controls the false discovery rate (independence or positive dependence).
- **Romano-Wolf (2005, 2016) step-down**: controls the family-wise error rate using the joint bootstrap distribution
  of the test statistics, so it is less conservative than Holm when tests are correlated. Each estimator supplies
  its observed statistic and B bootstrap statistics under its null (the wild cluster bootstrap, null imposed).
  Weights are drawn per cluster label from the registered seed, so hypotheses on the same data and clusters share
  their draws and their dependence is kept. A hypothesis without bootstrap draws (another kind of estimator) gets
  independent draws from its reference distribution (t with its df, else normal), seeded by its id: that assumes
  it is independent of the others, which holds for a different data source and is stated in the record.
  Statistics follow each hypothesis' registered test: |t| two-sided, t (increase) or -t (decrease) one-sided.
  p_j = (1 + #{b : max_{k in step} T*_bk >= T_j}) / (B + 1), then made monotone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..results import multiple_testing_families

METHODS = ("holm", "bh", "romano_wolf")


def holm(p_values: Sequence[float]) -> list[float]:
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 1.0
    for rank in range(m - 1, -1, -1):
        index = order[rank]
        running = min(running, m * p[index] / (rank + 1))
        adjusted[index] = min(running, 1.0)
    return adjusted.tolist()


def romano_wolf(observed: Sequence[float], null_draws: NDArray[np.float64]) -> list[float]:
    """Step-down p-values from observed statistics (m,) and bootstrap statistics under the null (B, m).

    Larger statistics are more extreme (callers orient them by the registered tails and direction).
    """
    t = np.asarray(observed, dtype=np.float64)
    draws = np.asarray(null_draws, dtype=np.float64)
    order = np.argsort(-t, kind="stable")
    b = draws.shape[0]
    adjusted = np.empty(t.size)
    running = 0.0
    for step, index in enumerate(order):
        remaining = order[step:]
        maxima = draws[:, remaining].max(axis=1)
        p = (1.0 + np.sum(maxima >= t[index] - 1e-12 * max(1.0, abs(t[index])))) / (b + 1.0)
        running = max(running, min(1.0, p))
        adjusted[index] = running
    return adjusted.tolist()


def _orient(values: NDArray[np.float64], tails: str | None, direction: str | None) -> NDArray[np.float64]:
    if tails == "one" and direction == "increase":
        return values
    if tails == "one" and direction == "decrease":
        return -values
    return np.abs(values)


def _independent_draws(hypothesis: Any, draws: int) -> tuple[float, NDArray[np.float64]]:
    """Observed t and draws from the reference distribution, for a hypothesis without bootstrap draws."""
    r = hypothesis.result
    seed = int.from_bytes(hashlib.sha256(hypothesis.id.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    df = r.df if r.df and math.isfinite(r.df) else None
    sample = rng.standard_t(df, draws) if df else rng.standard_normal(draws)
    observed = r.estimate / r.std_error if r.std_error and r.std_error > 0 else 0.0
    return float(observed), sample


def _family_record(name: str, side: str, members: Sequence[Any], adjustment: str | None) -> dict[str, Any]:
    usable = [h for h in members if h.status == "estimated" and h.result is not None
              and isinstance(h.result.p_value, (int, float)) and math.isfinite(h.result.p_value)]
    left_out = [{"id": h.id, "reason": h.status if h.status != "estimated" else "no p-value"}
                for h in members if h not in usable]
    record: dict[str, Any] = {"family": name, "side": side, "registered_adjustment": adjustment or "holm",
                              "hypotheses": [], "left_out": left_out}
    if not usable:
        return record
    p_raw = [float(h.result.p_value) for h in usable]
    draws_available = [h.result.null_draws for h in usable if h.result.null_draws is not None]
    b = min((len(d[1]) for d in draws_available), default=9999)
    observed, columns, notes = [], [], []
    for h in usable:
        if h.result.null_draws is not None:
            t_obs, draws = h.result.null_draws
            draws = np.asarray(draws, dtype=np.float64)[:b]
        else:
            t_obs, draws = _independent_draws(h, b)
            notes.append(f"{h.id}: no bootstrap draws; independent draws from its reference distribution")
        observed.append(float(_orient(np.array([t_obs]), h.tails, h.direction)[0]))
        columns.append(_orient(np.nan_to_num(draws, nan=-np.inf), h.tails, h.direction))
    rw = romano_wolf(observed, np.column_stack(columns))
    for h, p, hp, bp, rp in zip(usable, p_raw, holm(p_raw), benjamini_hochberg(p_raw), rw, strict=True):
        record["hypotheses"].append({"id": h.id, "type": h.type, "estimator": h.estimator, "source": h.source,
                                     "p_value": p, "holm": hp, "bh": bp, "romano_wolf": rp,
                                     "registered": {"holm": hp, "bh": bp, "romano_wolf": rp}[adjustment or "holm"]})
    record["romano_wolf"] = {"draws": int(b), "statistic": "bootstrap t under the null, oriented by each "
                             "hypothesis' registered tails and direction", "notes": notes}
    return record


def adjust_families(hypotheses: Sequence[Any], adjustments: Mapping[str, str]) -> tuple[dict[str, Any], ...]:
    """One record per family, confirmatory families first. ``adjustments``: spec id -> registered method."""
    families = multiple_testing_families(hypotheses)
    by_id = {h.id: h for h in hypotheses}
    records = []
    for side in ("confirmatory", "exploratory"):
        for name, ids in families[side].items():
            members = [by_id[i] for i in ids if i in by_id]
            spec_ids = [getattr(h, "spec_id", None) or h.id for h in members]
            adjustment = next((adjustments[s] for s in spec_ids if s in adjustments), None)
            records.append(_family_record(name, side, members, adjustment))
    return tuple(records)


__all__ = ["METHODS", "adjust_families", "benjamini_hochberg", "holm", "romano_wolf"]
