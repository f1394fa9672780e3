"""Disaggregation with small-cell suppression, and the per-hypothesis survey extras that leave a run.

**Disaggregation.** A spec's ``disaggregate: [sex, role, district]`` reports the effect within each level of each
column: the registered estimator re-run on that level's units (a unit's level is its pre-wave value), with the
registered inference. Each cell shows n (units in the estimation sample), the estimate and its CI; the total row is
the whole sample.

**Suppression** (the study's ``suppression_threshold``, default 10), applied before anything leaves the run:

1. *primary*: a cell with n below the threshold shows "suppressed (n < 10)" instead of n, estimate and CI;
2. *secondary*: the total row is visible, so one suppressed cell could be recovered as total minus the others.
   Further cells (smallest first) are suppressed until at least two are and together they hold at least the
   threshold, so neither a single cell nor a small sum can be recomputed from the margins. They show
   "suppressed (protects a small cell)".

No suppressed number is kept anywhere in the result: the cell records carry ``None``. The same rule protects the
other per-group outputs: the subgroup effects of a ``by`` contrast (both groups hidden when one is small), and the
attrition tables (every per-arm count, rate and mean hidden when any arm x stayer/leaver cell is small; the
differential-attrition p-value stays).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._blas import small_blas
from ..errors import DataError, EstimationError
from ..estimators import REGISTRY, NotTestable, attrition_analysis, unit_table_for

MISSING_LEVEL = "(missing)"


def suppressed_label(threshold: int) -> str:
    return f"suppressed (n < {threshold})"


SECONDARY_LABEL = "suppressed (protects a small cell)"


def suppression_plan(counts: Sequence[int], threshold: int) -> list[str | None]:
    """Per cell: None (visible), "primary" or "secondary", for a one-way table whose total is visible."""
    status: list[str | None] = ["primary" if n < threshold else None for n in counts]
    if not any(status):
        return status
    while True:
        hidden = [i for i, s in enumerate(status) if s]
        visible = [i for i, s in enumerate(status) if not s]
        if len(hidden) >= 2 and sum(counts[i] for i in hidden) >= threshold:
            return status
        if not visible:
            return status  # everything hidden; the total alone reveals no cell
        smallest = min(visible, key=lambda i: (counts[i], i))
        status[smallest] = "secondary"


def _hide(cell: dict[str, Any], kind: str, threshold: int) -> dict[str, Any]:
    keep = {k: cell[k] for k in ("level",) if k in cell}
    label = suppressed_label(threshold) if kind == "primary" else SECONDARY_LABEL
    return {**keep, "status": "suppressed", "display": label, "n": None, "estimate": None, "ci_low": None,
            "ci_high": None, "p_value": None}


def suppress_table(cells: Sequence[Mapping[str, Any]], threshold: int) -> list[dict[str, Any]]:
    plan = suppression_plan([int(c["n"]) for c in cells], threshold)
    return [_hide(dict(c), kind, threshold) if kind else dict(c) for c, kind in zip(cells, plan, strict=True)]


# --------------------------------------------------------------------------- cell estimates


def _unit_levels(frame: pd.DataFrame, column: str, spec: Any) -> pd.Series:
    """Each row's level: its unit's pre-wave value (panel designs), else the row's own value."""
    values = frame[column].astype("string").fillna(MISSING_LEVEL)
    design = spec.design
    if design.pre is None:
        return values
    units = frame[design.unit].astype("string")
    is_pre = (frame[design.time].astype("string") == design.pre).fillna(False)
    first = values[is_pre].groupby(units[is_pre]).first()
    mapped = units.map(first)
    return mapped.fillna(values)


def _estimation_rows(frame: pd.DataFrame, outcome: pd.Series, spec: Any, *, panel: bool) -> pd.Series:
    """Boolean per row: the row is in the estimation sample (panel: its unit answered at both registered waves)."""
    design = spec.design
    answered = outcome.notna()
    if design.pre is None or design.post is None:
        return answered
    wave = frame[design.time].astype("string")
    in_waves = wave.isin([design.pre, design.post]).fillna(False) & answered
    if not panel:
        return in_waves
    units = frame[design.unit].astype("string")
    waves_per_unit = wave[in_waves].groupby(units[in_waves]).nunique()
    complete = set(waves_per_unit.index[waves_per_unit == 2])
    return units.isin(complete) & in_waves


def _cell_spec(spec: Any) -> Any:
    inference = spec.inference.model_copy(update={"randomization": None})
    return spec.model_copy(update={"inference": inference, "disaggregate": ()})


def disaggregation_tables(frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any,
                          fitter: Callable[..., Any], result: Any, *, file: str,
                          threshold: int) -> list[dict[str, Any]]:
    panel = REGISTRY[spec.estimator.name].disaggregation(options)  # the plan refuses estimators without it
    in_sample = _estimation_rows(frame, outcome, spec, panel=panel)
    units = frame[spec.design.unit].astype("string")
    cell_spec = _cell_spec(spec)
    tables = []
    for column in spec.disaggregate:
        levels = _unit_levels(frame, column, spec)
        cells = []
        for level in sorted(levels[in_sample].unique(), key=str):
            rows = (levels == level).to_numpy(dtype=bool)
            n = int(units[rows & in_sample.to_numpy(dtype=bool)].nunique())
            cell: dict[str, Any] = {"level": str(level), "n": n}
            try:
                fitted = fitter(frame.loc[rows], outcome.loc[rows], cell_spec, options, file=file)
                cell.update({"status": "estimated", "estimate": fitted.estimate, "std_error": fitted.std_error,
                             "ci_low": fitted.ci_low, "ci_high": fitted.ci_high, "p_value": fitted.p_value,
                             "inference": fitted.se_type, "n_clusters": fitted.n_clusters})
            except (NotTestable, EstimationError, DataError) as exc:
                cell.update({"status": "not estimable", "reason": exc.message, "estimate": None, "ci_low": None,
                             "ci_high": None, "p_value": None})
            cells.append(cell)
        total = {"level": "all", "n": sum(c["n"] for c in cells), "status": "estimated",
                 "estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
                 "p_value": result.p_value}
        if total["n"] < threshold:
            total = {"level": "all", "status": "suppressed", "display": suppressed_label(threshold), "n": None,
                     "estimate": None, "ci_low": None, "ci_high": None, "p_value": None}
        rows = suppress_table(cells, threshold)
        tables.append({"dimension": column, "unit": f"units ({spec.design.unit}) in the estimation sample",
                       "threshold": threshold, "rows": rows, "total": total,
                       "suppressed": sum(1 for c in rows if c["status"] == "suppressed")})
    return tables


def group_table(frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, fitter: Callable[..., Any],
                result: Any, *, file: str, threshold: int) -> dict[str, Any] | None:
    """The registered estimator re-run within each level of the registered ``design.group`` column (the CSO), for
    pooling across CSOs on the portfolio page (``oca portfolio``); same cells, inference and suppression as a
    ``disaggregate`` table. Descriptive: these per-CSO effects are not preregistered tests. None when the spec
    registers no group, already disaggregates by it, or the estimator cannot be re-run per level."""
    group = getattr(spec.design, "group", None)
    record = REGISTRY[spec.estimator.name]
    if not group or group in spec.disaggregate or group not in frame.columns or record.disaggregation is None \
            or not record.disaggregation(options):
        return None
    tables = disaggregation_tables(frame, outcome, spec.model_copy(update={"disaggregate": (group,)}), options,
                                   fitter, result, file=file, threshold=threshold)
    return {**tables[0], "note": "per-level estimates of the registered design.group column, for pooling across "
                                 "groups; descriptive, not preregistered tests"}


# --------------------------------------------------------------------------- other per-group outputs


def protect_groups(groups: Mapping[str, Any], threshold: int) -> dict[str, Any]:
    """A ``by`` contrast's per-group effects: if one group is small, hide both (the difference reveals the other)."""
    small = [name for name, g in groups.items() if isinstance(g, Mapping) and g.get("n") is not None
             and g["n"] < threshold]
    if not small:
        return {name: dict(g) for name, g in groups.items()}
    return {name: {"suppressed": True, "display": suppressed_label(threshold) if name in small else SECONDARY_LABEL,
                   "estimate": None, "std_error": None, "n": None} for name in groups}


def protect_attrition(record: Mapping[str, Any], threshold: int) -> dict[str, Any]:
    """Hide every per-arm count, rate and mean when any arm x stayer/leaver cell is below the threshold."""
    out = dict(record)
    arms = record.get("by_arm") or {}
    cells = [a.get(k) for a in arms.values() for k in ("stayers", "leavers")]
    balance_cells = [c.get("n") for row in record.get("balance") or [] for c in row.get("cells", {}).values()]
    # An empty group (no leavers at all) describes nobody, so it is not a small cell.
    small = any(isinstance(n, int) and 0 < n < threshold for n in cells + balance_cells)
    if not small:
        return out
    label = suppressed_label(threshold)
    out["by_arm"] = {arm: {"baseline_n": None, "stayers": None, "leavers": None, "rate": None, "display": label}
                     for arm in arms}
    test = dict(record.get("differential_test") or {})
    if test:  # the rate difference and the other arm's rate would give the hidden rate; keep the test's p-value
        test = {k: v for k, v in test.items() if k in ("what", "p_value", "inference", "rule_fired", "error")}
        test["display"] = f"difference hidden: an arm has a stayer or leaver group with n < {threshold}"
        out["differential_test"] = test
    out["balance"] = [{"variable": row.get("variable"), "cells": {name: {"n": None, "mean": None, "display": label}
                                                                  for name in row.get("cells", {})},
                       "selective_attrition_p_value": row.get("selective_attrition_p_value")}
                      for row in record.get("balance") or []]
    if "lee_bounds" in out:
        bounds = dict(out["lee_bounds"])
        bounds.pop("trim_share", None)  # the trimming share is the difference in retention rates
        out["lee_bounds"] = bounds
    out["suppressed"] = label
    return out


@small_blas
def hypothesis_extras(frame: pd.DataFrame, outcome: pd.Series, built: Any, task: Any, result: Any,
                      fitter: Callable[..., Any], *, file: str, threshold: int) -> dict[str, Any]:
    """Reliability, index construction, attrition and disaggregation for one estimated hypothesis, suppressed."""
    spec, options = task.spec, task.options
    extras: dict[str, Any] = {}
    if getattr(built, "reliability", ()):
        extras["reliability"] = [dict(r) for r in built.reliability]
    if getattr(built, "index", None):
        extras["index"] = dict(built.index)
    if getattr(built, "invariance", None) is not None:
        extras["invariance"] = dict(built.invariance)
    record = REGISTRY[spec.estimator.name]
    kind = record.attrition(spec, options) if record.attrition is not None else None
    if kind is not None:
        try:
            units = unit_table_for(spec, frame, outcome, file=file, covariates=tuple(
                c for c in spec.covariates if pd.api.types.is_numeric_dtype(frame[c])))
            extras["attrition"] = protect_attrition(
                attrition_analysis(units, spec, outcome_kind=kind, covariates=tuple(spec.covariates)), threshold)
        except (NotTestable, EstimationError, DataError, ValueError, np.linalg.LinAlgError) as exc:
            extras["attrition"] = {"error": str(exc)}
    if spec.disaggregate:
        extras["disaggregation"] = disaggregation_tables(frame, outcome, spec, options, fitter, result, file=file,
                                                         threshold=threshold)
    by_group = group_table(frame, outcome, spec, options, fitter, result, file=file, threshold=threshold)
    if by_group is not None:
        extras["by_group"] = by_group
    groups = result.extras.get("effect_by_group")
    if groups:
        extras["effect_by_group"] = protect_groups(groups, threshold)
    raw = result.extras.get("raw_means")
    if isinstance(raw, dict):
        extras["raw_means"] = protect_raw_means(raw, threshold)
    return extras


def protect_raw_means(raw: dict[str, Any], threshold: int) -> dict[str, Any]:
    """Arm x wave means: when any cell has fewer units than ``threshold`` all four are hidden, because the DiD
    estimate and three cells would give the fourth back."""
    cells = [cell for arm in (raw.get("arms") or {}).values() for cell in arm.values()]
    if all(isinstance(c.get("n"), int) and c["n"] >= threshold for c in cells):
        return raw
    hidden = {arm: {wave: {"mean": None, "n": None, "suppressed": True} for wave in waves}
              for arm, waves in (raw.get("arms") or {}).items()}
    return {**raw, "arms": hidden, "suppressed": True}
