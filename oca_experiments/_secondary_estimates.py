"""The estimates a run makes beside a hypothesis' primary fit: the registered estimator re-run per subgroup
(``disaggregate``) and the attrition analysis. They are raw, with every small cell in them: ``summarize`` hides
the small cells (``hypothesis_extras``) before anything leaves the run, and never fits anything itself.

**Disaggregation.** A spec's ``disaggregate: [sex, role, district]`` reports the effect within each level of each
column: the registered estimator re-run on that level's units (a unit's level is its pre-wave value), with the
registered inference (without the randomization test, which a subgroup does not carry). Each cell holds n (units in
the estimation sample), the estimate, its SE and CI; the total row is the whole sample's primary estimate. The same
table per level of the registered ``design.group`` (the CSO) is ``by_group``, for pooling on the portfolio page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._blas import small_blas
from .errors import DataError, EstimationError
from .estimators import REGISTRY, Fitter, NotTestable, attrition_analysis, unit_table_for
from .plan import Task
from .results import EstimateResult
from .results.parts import Attrition, DisaggregationTable

MISSING_LEVEL = "(missing)"


@dataclass(frozen=True)
class SecondaryEstimates:
    """Raw per-subgroup tables and attrition record of one hypothesis (unsuppressed: they never leave the run)."""

    disaggregation: tuple[DisaggregationTable, ...] = ()
    attrition: Attrition | None = None
    by_group: DisaggregationTable | None = None  # per level of design.group (the CSO), for the portfolio page


@small_blas
def secondary_estimates(frame: pd.DataFrame, outcome: pd.Series, task: Task, result: EstimateResult, *,
                        file: str) -> SecondaryEstimates:
    """Attrition (when the estimator's record registers it), the disaggregation tables and the per-group table of
    one hypothesis."""
    fitter = task.estimator.fitter
    assert fitter is not None  # an unavailable estimator never reaches estimation
    return SecondaryEstimates(
        disaggregation=subgroup_tables(frame, outcome, task.spec, task.options, fitter, result, file=file)
        if task.spec.disaggregate else (),
        attrition=_attrition(frame, outcome, task, file=file),
        by_group=group_table(frame, outcome, task.spec, task.options, fitter, result, file=file))


def _attrition(frame: pd.DataFrame, outcome: pd.Series, task: Task, *, file: str) -> Attrition | None:
    spec, options = task.spec, task.options
    record = REGISTRY[spec.estimator.name]
    kind = record.attrition(spec, options) if record.attrition is not None else None
    if kind is None:
        return None
    try:
        units = unit_table_for(spec, frame, outcome, file=file, covariates=tuple(
            c for c in spec.covariates if pd.api.types.is_numeric_dtype(frame[c])))
        return attrition_analysis(units, spec, outcome_kind=kind, covariates=tuple(spec.covariates))
    except (NotTestable, EstimationError, DataError, ValueError, np.linalg.LinAlgError) as exc:
        return Attrition.from_dict({"error": str(exc)})


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
    # Units with an answered row at both waves, by integer codes (a string isin over ~n/2 unit ids was the
    # slowest pandas step at 300k respondents).
    codes = pd.factorize(frame[design.unit].astype("string"))[0]
    keyed = codes >= 0
    in_rows = in_waves.to_numpy(dtype=bool) & keyed
    # one spare slot past the last unit, so code -1 (no unit) indexes a False
    seen = {label: np.zeros(codes.max(initial=-1) + 2, dtype=bool) for label in (design.pre, design.post)}
    for label, units_seen in seen.items():
        units_seen[codes[in_rows & (wave == label).fillna(False).to_numpy(dtype=bool)]] = True
    complete = seen[design.pre] & seen[design.post] if design.pre != design.post else np.zeros_like(seen[design.pre])
    return pd.Series(complete[codes], index=frame.index) & in_waves


def _cell_spec(spec: Any) -> Any:
    inference = spec.inference.model_copy(update={"randomization": None})
    return spec.model_copy(update={"inference": inference, "disaggregate": ()})


def _cell(fitter: Fitter, frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, *, level: str, n: int,
          file: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"level": level, "n": n}
    try:
        fitted = fitter(frame, outcome, spec, options, file=file)
        cell.update({"status": "estimated", "estimate": fitted.estimate, "std_error": fitted.std_error,
                     "ci_low": fitted.ci_low, "ci_high": fitted.ci_high, "p_value": fitted.p_value,
                     "inference": fitted.se_type, "n_clusters": fitted.n_clusters})
    except (NotTestable, EstimationError, DataError) as exc:
        cell.update({"status": "not estimable", "reason": exc.message, "estimate": None, "ci_low": None,
                     "ci_high": None, "p_value": None})
    return cell


def subgroup_tables(frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, fitter: Fitter,
                    result: EstimateResult, *, file: str) -> tuple[DisaggregationTable, ...]:
    """One raw table per ``disaggregate`` column: a cell per level (sorted), the total row the primary estimate."""
    panel = REGISTRY[spec.estimator.name].disaggregation(options)  # the plan refuses estimators without it
    in_sample = _estimation_rows(frame, outcome, spec, panel=panel).to_numpy(dtype=bool)
    units = frame[spec.design.unit].astype("string")
    cell_spec = _cell_spec(spec)
    tables = []
    for column in spec.disaggregate:
        levels = _unit_levels(frame, column, spec)
        cells = []
        for level in sorted(levels[in_sample].unique(), key=str):
            rows = (levels == level).to_numpy(dtype=bool)
            n = int(units[rows & in_sample].nunique())
            cells.append(_cell(fitter, frame.loc[rows], outcome.loc[rows], cell_spec, options, level=str(level), n=n,
                               file=file))
        total = {"level": "all", "n": sum(c["n"] for c in cells), "status": "estimated", "estimate": result.estimate,
                 "ci_low": result.ci_low, "ci_high": result.ci_high, "p_value": result.p_value}
        tables.append(DisaggregationTable.from_dict({
            "dimension": column, "unit": f"units ({spec.design.unit}) in the estimation sample", "rows": cells,
            "total": total}))
    return tuple(tables)


def group_table(frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, fitter: Fitter,
                result: EstimateResult, *, file: str) -> DisaggregationTable | None:
    """The registered estimator re-run within each level of the registered ``design.group`` column (the CSO), for
    pooling across CSOs on the portfolio page (``oca portfolio``); the same cells and inference as a
    ``disaggregate`` table. Descriptive: these per-CSO effects are not preregistered tests. None when the spec
    registers no group, already disaggregates by it, or the estimator cannot be re-run per level, or the spec
    registers survey weights (re-running on a group's rows would rake each CSO to the whole population's margins:
    domain estimation with raked weights is not implemented, as for ``disaggregate``)."""
    group = getattr(spec.design, "group", None)
    record = REGISTRY[spec.estimator.name]
    if not group or group in spec.disaggregate or group not in frame.columns or record.disaggregation is None \
            or not record.disaggregation(options) or getattr(spec, "weights", None) is not None:
        return None
    return subgroup_tables(frame, outcome, spec.model_copy(update={"disaggregate": (group,)}), options, fitter,
                           result, file=file)[0]
