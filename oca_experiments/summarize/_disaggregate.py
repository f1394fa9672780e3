"""Small-cell suppression of the per-group outputs a run estimated, and the per-hypothesis extras that leave it.

The pipeline estimates (``_secondary_estimates``: the registered estimator per subgroup, the attrition analysis);
this module only reads those typed parts and hides what must not leave the run. It fits nothing.

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

from collections.abc import Mapping, Sequence
from typing import Any

from ..results.parts import Attrition, DisaggregationTable


def suppressed_label(threshold: int) -> str:
    return f"suppressed (n < {threshold})"


SECONDARY_LABEL = "suppressed (protects a small cell)"
BY_GROUP_NOTE = "per-level estimates of the registered design.group column, for pooling across groups; descriptive, " \
    "not preregistered tests"


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


# --------------------------------------------------------------------------- disaggregation tables


def protect_disaggregation(table: DisaggregationTable, threshold: int) -> DisaggregationTable:
    """A raw table from the pipeline with its small cells suppressed (and the total, when it is small itself)."""
    cells = [cell.to_dict() for cell in table.rows or ()]
    total = table.total.to_dict() if table.total is not None else {}
    if (table.total is None or table.total.n is None) or table.total.n < threshold:
        total = {"level": "all", "status": "suppressed", "display": suppressed_label(threshold), "n": None,
                 "estimate": None, "ci_low": None, "ci_high": None, "p_value": None}
    rows = suppress_table(cells, threshold)
    return DisaggregationTable.from_dict({
        "dimension": table.dimension, "unit": table.unit, "threshold": threshold, "rows": rows, "total": total,
        "suppressed": sum(1 for c in rows if c["status"] == "suppressed")})


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


def hypothesis_extras(built: Any, result: Any, *, attrition: Attrition | None = None,
                      disaggregation: Sequence[DisaggregationTable] = (), by_group: DisaggregationTable | None = None,
                      threshold: int) -> dict[str, Any]:
    """Reliability, index construction, attrition and disaggregation for one estimated hypothesis, suppressed.

    ``built`` is the outcome the run built (its reliability, index and invariance records), ``result`` the primary
    estimate; ``attrition``, ``disaggregation`` and ``by_group`` are the run's raw estimates (``_secondary_estimates``)."""
    extras: dict[str, Any] = {}
    if getattr(built, "reliability", ()):
        extras["reliability"] = [dict(r) for r in built.reliability]
    if getattr(built, "index", None):
        extras["index"] = dict(built.index)
    if getattr(built, "invariance", None) is not None:
        extras["invariance"] = dict(built.invariance)
    if attrition is not None:
        extras["attrition"] = (dict(attrition) if attrition.error is not None
                               else protect_attrition(attrition, threshold))
    if disaggregation:
        extras["disaggregation"] = [protect_disaggregation(table, threshold) for table in disaggregation]
    if by_group is not None:
        extras["by_group"] = {**protect_disaggregation(by_group, threshold).to_dict(),
                              "note": BY_GROUP_NOTE}
    groups = result.extras.get("effect_by_group")
    if groups:
        extras["effect_by_group"] = protect_groups(groups, threshold)
    raw = result.extras.get("raw_means")
    if isinstance(raw, dict):
        extras["raw_means"] = protect_raw_means(raw, threshold)
    weights = result.extras.get("survey_weights")
    if isinstance(weights, Mapping):
        extras["survey_weights"] = protect_survey_weights(weights, threshold)
    return extras


def protect_survey_weights(record: Mapping[str, Any], threshold: int) -> dict[str, Any]:
    """The weight diagnostics' margin table: within each wave and margin column (whose total, the wave's n, is
    visible), a category with fewer than ``threshold`` respondents hides its n and its sample and weighted shares
    (which give n back), and a second category is hidden with it (``suppression_plan``)."""
    rows = [dict(row) for row in record.get("margins") or ()]
    groups: dict[tuple[Any, Any], list[int]] = {}
    for position, row in enumerate(rows):
        groups.setdefault((row.get("wave"), row.get("column")), []).append(position)
    hidden = 0
    for positions in groups.values():
        plan = suppression_plan([int(rows[i].get("n") or 0) for i in positions], threshold)
        for i, kind in zip(positions, plan, strict=True):
            if kind:
                hidden += 1
                rows[i] = {**{k: rows[i].get(k) for k in ("wave", "column", "category", "population_share")},
                           "n": None, "sample_share": None, "weighted_share": None, "suppressed": True,
                           "display": suppressed_label(threshold) if kind == "primary" else SECONDARY_LABEL}
    out = {**record, "margins": rows}
    if hidden:
        out["suppressed"] = hidden
    return out


def protect_raw_means(raw: dict[str, Any], threshold: int) -> dict[str, Any]:
    """Arm x wave means: when any cell has fewer units than ``threshold`` all four are hidden, because the DiD
    estimate and three cells would give the fourth back."""
    cells = [cell for arm in (raw.get("arms") or {}).values() for cell in arm.values()]
    if all(isinstance(c.get("n"), int) and c["n"] >= threshold for c in cells):
        return raw
    hidden = {arm: {wave: {"mean": None, "n": None, "suppressed": True} for wave in waves}
              for arm, waves in (raw.get("arms") or {}).items()}
    return {**raw, "arms": hidden, "suppressed": True}
