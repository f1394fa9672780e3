"""Diagnosands of a simulated design, each with its Monte Carlo standard error (Morris, White & Crowther 2019).

- power: share of replicates where the registered test rejects "no effect" at alpha in the registered direction
  (the "supported" branch of the registered verdict rule); replicates the estimator refuses count as no rejection.
- bias, RMSE, coverage of the registered interval, empirical SE and mean model SE.
- type-S rate: among significant replicates, the share whose estimate has the wrong sign (Gelman & Carlin 2014).
- type-M (exaggeration ratio): among significant replicates, the mean of |estimate| / |true effect|.

Type-S and type-M are undefined at a true effect of zero; they are then reported as None with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..summarize import frequentist_verdict

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Replicates:
    """What the registered analysis returned on each simulated survey (NaN where it refused)."""

    estimate: Array
    std_error: Array
    df: Array  # NaN where the registered inference has none (wild bootstrap)
    p_value: Array  # the registered test's p-value (tails and direction as registered)
    covered: Array  # 1.0 when the registered CI covers the true effect, 0.0 when not, NaN when refused

    @property
    def size(self) -> int:
        return int(self.estimate.size)

    @staticmethod
    def concatenate(parts: list[Replicates]) -> Replicates:
        return Replicates(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))

    def replace(self, rows: NDArray[np.intp], other: Replicates) -> Replicates:
        """A copy with ``rows`` taken from ``other`` (one row of ``other`` per entry of ``rows``)."""
        arrays = []
        for name in _FIELDS:
            values = getattr(self, name).copy()
            values[rows] = getattr(other, name)
            arrays.append(values)
        return Replicates(*arrays)


_FIELDS = ("estimate", "std_error", "df", "p_value", "covered")


def rejects(rep: Replicates, *, alpha: float, direction: str) -> NDArray[np.bool_]:
    """The registered rule's "supported": p < alpha, and not significantly in the other direction."""
    wrong_sign = (rep.estimate < 0) if direction == "increase" else (
        (rep.estimate > 0) if direction == "decrease" else np.zeros(rep.size, dtype=bool))
    with np.errstate(invalid="ignore"):
        return (rep.p_value < alpha) & ~wrong_sign


def power(rep: Replicates, *, alpha: float, direction: str) -> tuple[float, float]:
    hits = rejects(rep, alpha=alpha, direction=direction)
    value = float(hits.mean())
    return value, math.sqrt(value * (1 - value) / rep.size)


def _metric(value: float | None, mc_se: float | None, n: int, note: str | None = None) -> dict[str, Any]:
    def clean(x: float | None) -> float | None:
        return None if x is None or not math.isfinite(x) else float(x)
    record: dict[str, Any] = {"value": clean(value), "mc_se": clean(mc_se), "n": int(n)}
    if note:
        record["note"] = note
    return record


def diagnosands(rep: Replicates, *, effect: float, alpha: float, direction: str) -> dict[str, dict[str, Any]]:
    ok = np.isfinite(rep.estimate) & np.isfinite(rep.std_error)
    est, se = rep.estimate[ok], rep.std_error[ok]
    n = int(ok.sum())
    out: dict[str, dict[str, Any]] = {}
    pw, pw_se = power(rep, alpha=alpha, direction=direction)
    out["power"] = _metric(pw, pw_se, rep.size)
    if n < 2:
        note = "fewer than 2 replicates could be estimated"
        for name in ("bias", "rmse", "coverage", "empirical_se", "mean_se", "type_s", "type_m"):
            out[name] = _metric(None, None, n, note)
        return out
    error = est - effect
    out["bias"] = _metric(error.mean(), error.std(ddof=1) / math.sqrt(n), n)
    mse = float(np.mean(error**2))
    rmse = math.sqrt(mse)
    mse_se = float(np.std(error**2, ddof=1)) / math.sqrt(n)
    out["rmse"] = _metric(rmse, mse_se / (2 * rmse) if rmse > 0 else 0.0, n)
    cov = float(rep.covered[ok].mean())
    out["coverage"] = _metric(cov, math.sqrt(cov * (1 - cov) / n), n)
    emp_se = float(est.std(ddof=1))
    out["empirical_se"] = _metric(emp_se, emp_se / math.sqrt(2 * (n - 1)), n)
    out["mean_se"] = _metric(se.mean(), se.std(ddof=1) / math.sqrt(n), n)

    significant = rep.p_value[ok] < alpha
    k = int(significant.sum())
    if effect == 0:
        note = "undefined at a true effect of 0"
        out["type_s"] = _metric(None, None, k, note)
        out["type_m"] = _metric(None, None, k, note)
    elif k == 0:
        note = "no significant replicate"
        out["type_s"] = _metric(None, None, 0, note)
        out["type_m"] = _metric(None, None, 0, note)
    else:
        wrong = np.sign(est[significant]) != np.sign(effect)
        s = float(wrong.mean())
        out["type_s"] = _metric(s, math.sqrt(s * (1 - s) / k), k)
        ratio = np.abs(est[significant]) / abs(effect)
        out["type_m"] = _metric(ratio.mean(), ratio.std(ddof=1) / math.sqrt(k) if k > 1 else None, k)
    return out


def verdict_shares(rep: Replicates, *, alpha: float, direction: str, sesoi: float | None) -> dict[str, float]:
    """Share of replicates per verdict, from the registered verdict function itself (one call per replicate)."""
    counts = {"supported": 0, "not supported": 0, "inconclusive": 0, "not estimable": 0}
    for estimate, std_error, df, p_value in zip(rep.estimate, rep.std_error, rep.df, rep.p_value, strict=True):
        if not (math.isfinite(estimate) and math.isfinite(std_error) and math.isfinite(p_value)):
            counts["not estimable"] += 1
            continue
        verdict = frequentist_verdict(estimate=float(estimate), std_error=float(std_error),
                                      df=float(df) if math.isfinite(df) else None, p_value=float(p_value),
                                      alpha=alpha, direction=direction, sesoi=sesoi)
        counts[verdict.verdict] += 1
    return {name: count / rep.size for name, count in counts.items()}


def summary_line(metrics: Mapping[str, Mapping[str, Any]], name: str, digits: int = 3) -> str:
    m = metrics[name]
    if m["value"] is None:
        return f"{name}: n/a ({m.get('note', 'not available')})"
    se = f" (MC SE {m['mc_se']:.{digits}f})" if m["mc_se"] is not None else ""
    return f"{name}: {m['value']:.{digits}f}{se}"
