"""The diagnostics gate: R-hat, bulk and tail ESS for every monitored quantity, divergences, E-BFMI, tree depth.

A fit passes only if every threshold registered in the spec (``bayes.diagnostics``) holds. Failures are stated with
their numbers, e.g. "max R-hat 1.08 > 1.01 (group_sd)", so that the verdict can say exactly why a result is
unreliable. Nothing here prints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["DiagnosticsReport", "Thresholds", "check_diagnostics"]


@dataclass(frozen=True)
class Thresholds:
    max_rhat: float = 1.01
    min_ess_bulk: float = 400.0
    min_ess_tail: float = 400.0
    max_divergences: int = 0
    min_bfmi: float = 0.3
    max_treedepth_hits: int = 0

    @classmethod
    def from_spec(cls, spec_thresholds: Any) -> Thresholds:
        return cls(max_rhat=spec_thresholds.max_rhat, min_ess_bulk=spec_thresholds.min_ess_bulk,
                   min_ess_tail=spec_thresholds.min_ess_tail, max_divergences=spec_thresholds.max_divergences,
                   min_bfmi=getattr(spec_thresholds, "min_bfmi", 0.3),
                   max_treedepth_hits=getattr(spec_thresholds, "max_treedepth_hits", 0))

    def to_dict(self) -> dict[str, float]:
        return {"max_rhat": self.max_rhat, "min_ess_bulk": self.min_ess_bulk, "min_ess_tail": self.min_ess_tail,
                "max_divergences": self.max_divergences, "min_bfmi": self.min_bfmi,
                "max_treedepth_hits": self.max_treedepth_hits}


@dataclass(frozen=True)
class DiagnosticsReport:
    passed: bool
    failures: tuple[str, ...]
    table: tuple[Mapping[str, Any], ...]
    divergences: int
    chains: int
    draws: int
    bfmi: tuple[float, ...]
    thresholds: Thresholds
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failures": list(self.failures), "table": [dict(r) for r in self.table],
                "divergences": self.divergences, "chains": self.chains, "draws_per_chain": self.draws,
                "bfmi": list(self.bfmi), "thresholds": self.thresholds.to_dict(), "notes": list(self.notes)}


def _finite_min(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.min()) if values.size else math.nan


def _finite_max(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else math.nan


def check_diagnostics(posterior: Any, sample_stats: Any, thresholds: Thresholds,
                      var_names: Iterable[str] | None = None) -> DiagnosticsReport:
    """Gate a fit. ``posterior`` and ``sample_stats`` are xarray Datasets with (chain, draw) dimensions."""
    import arviz_stats as azs

    names = list(var_names) if var_names is not None else list(posterior.data_vars)
    subset = posterior[names]
    chains, draws = int(subset.sizes["chain"]), int(subset.sizes["draw"])
    rhat = azs.rhat(subset)
    ess_bulk = azs.ess(subset, method="bulk")
    ess_tail = azs.ess(subset, method="tail")
    rows, failures = [], []
    worst = {"rhat": (1.0, ""), "bulk": (math.inf, ""), "tail": (math.inf, "")}
    for name in names:
        r = np.asarray(rhat[name].values, dtype=float).ravel()
        b = np.asarray(ess_bulk[name].values, dtype=float).ravel()
        t = np.asarray(ess_tail[name].values, dtype=float).ravel()
        values = np.asarray(subset[name].values, dtype=float)
        # Quantities that are constant by construction (e.g. a zero-sum component) have no defined R-hat.
        constant = bool(np.all(np.ptp(values.reshape(chains * draws, -1), axis=0) == 0))
        row = {"parameter": name, "size": int(values[0, 0].size), "mean": float(values.mean()),
               "sd": float(values.std()), "max_rhat": _finite_max(r), "min_ess_bulk": _finite_min(b),
               "min_ess_tail": _finite_min(t)}
        rows.append(row)
        if constant:
            continue
        if math.isnan(row["max_rhat"]) or row["max_rhat"] > worst["rhat"][0]:
            worst["rhat"] = (row["max_rhat"], name)
        if math.isnan(row["min_ess_bulk"]) or row["min_ess_bulk"] < worst["bulk"][0]:
            worst["bulk"] = (row["min_ess_bulk"], name)
        if math.isnan(row["min_ess_tail"]) or row["min_ess_tail"] < worst["tail"][0]:
            worst["tail"] = (row["min_ess_tail"], name)
    max_rhat, rhat_at = worst["rhat"]
    min_bulk, bulk_at = worst["bulk"]
    min_tail, tail_at = worst["tail"]
    if math.isnan(max_rhat) or max_rhat > thresholds.max_rhat:
        failures.append(f"max R-hat {max_rhat:.3f} > {thresholds.max_rhat:g} ({rhat_at})")
    if math.isnan(min_bulk) or min_bulk < thresholds.min_ess_bulk:
        failures.append(f"min bulk ESS {min_bulk:.0f} < {thresholds.min_ess_bulk:g} ({bulk_at})")
    if math.isnan(min_tail) or min_tail < thresholds.min_ess_tail:
        failures.append(f"min tail ESS {min_tail:.0f} < {thresholds.min_ess_tail:g} ({tail_at})")
    divergences = int(np.asarray(sample_stats["diverging"].values).sum()) if "diverging" in sample_stats else 0
    if divergences > thresholds.max_divergences:
        failures.append(f"{divergences} divergent transition{'s' if divergences != 1 else ''} > "
                        f"{thresholds.max_divergences}")
    bfmi: tuple[float, ...] = ()
    notes: list[str] = []
    if "energy" in sample_stats:
        energy = np.asarray(sample_stats["energy"].values, dtype=float)
        bfmi = tuple(float(np.sum(np.diff(e) ** 2) / len(e) / np.var(e)) if np.var(e) > 0 else math.nan
                     for e in energy)
        low = [b for b in bfmi if not b >= thresholds.min_bfmi]
        if low:  # a failure, not a note: the tails (and so the interval ends) are not explored
            failures.append(f"E-BFMI {min(low):.2f} < {thresholds.min_bfmi:g} in {len(low)} chain(s): the sampler "
                            "explores the tails poorly")
    if "maxdepth_reached" in sample_stats:
        saturated = int(np.asarray(sample_stats["maxdepth_reached"].values).sum())
        if saturated > thresholds.max_treedepth_hits:
            failures.append(f"{saturated} transitions hit the maximum tree depth > {thresholds.max_treedepth_hits} "
                            "(trajectories cut short: the draws are not NUTS draws)")
    return DiagnosticsReport(passed=not failures, failures=tuple(failures), table=tuple(rows),
                             divergences=divergences, chains=chains, draws=draws, bfmi=bfmi,
                             thresholds=thresholds, notes=tuple(notes))
