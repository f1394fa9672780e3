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
from numpy.typing import NDArray

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


def _wave_rows(frame: pd.DataFrame, spec: Any, label: Any) -> NDArray[np.bool_]:
    return (frame[spec.design.time].astype("string") == label).fillna(False).to_numpy(dtype=bool)


def _unit_levels(frame: pd.DataFrame, column: str, spec: Any, units: NDArray[np.intp],
                 ) -> tuple[NDArray[np.intp], pd.Index]:
    """Each row's level, as a code into the returned labels: its unit's first pre-wave value (panel designs), else
    the row's own value. ``units`` are the rows' unit codes (-1: no unit); integers throughout, no string map."""
    codes, labels = pd.factorize(frame[column].astype("string").fillna(MISSING_LEVEL))
    codes = codes.astype(np.intp, copy=False)
    if spec.design.pre is None:
        return codes, labels
    pre_rows = np.flatnonzero(_wave_rows(frame, spec, spec.design.pre) & (units >= 0))
    seen, first = np.unique(units[pre_rows], return_index=True)  # each unit's first pre-wave row
    level_of_unit = np.full(units.max(initial=-1) + 2, -1, dtype=np.intp)  # spare slot: unit code -1 maps to -1
    level_of_unit[seen] = codes[pre_rows[first]]
    mapped = level_of_unit[units]
    return np.where(mapped >= 0, mapped, codes), labels


def _estimation_rows(frame: pd.DataFrame, outcome: pd.Series, spec: Any, units: NDArray[np.intp], *,
                     panel: bool) -> NDArray[np.bool_]:
    """Per row: the row is in the estimation sample (panel: its unit answered at both registered waves)."""
    design = spec.design
    answered = outcome.notna().to_numpy(dtype=bool)
    if design.pre is None or design.post is None:
        return answered
    at = {label: _wave_rows(frame, spec, label) & answered for label in (design.pre, design.post)}
    in_waves = at[design.pre] | at[design.post]
    if not panel:
        return in_waves
    # Units with an answered row at both waves, by integer codes; one spare slot past the last unit, so code -1
    # (no unit) indexes a False.
    keyed = units >= 0
    seen = {label: np.zeros(units.max(initial=-1) + 2, dtype=bool) for label in (design.pre, design.post)}
    for label, units_seen in seen.items():
        units_seen[units[at[label] & keyed]] = True
    complete = seen[design.pre] & seen[design.post] if design.pre != design.post else np.zeros_like(seen[design.pre])
    return complete[units] & in_waves


def _cell_spec(spec: Any) -> Any:
    inference = spec.inference.model_copy(update={"randomization": None})
    return spec.model_copy(update={"inference": inference, "disaggregate": ()})


def _cell(fitter: Fitter, frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, *, level: str, n: int,
          file: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"level": level, "n": n}
    # A cell shows the primary estimate and inference only: a fitter that can skip the rest (the survey DiD's
    # wild-bootstrap alternative and raw means) is asked to.
    primary_only = {"alternatives": False} if getattr(fitter, "takes_alternatives", False) else {}
    try:
        fitted = fitter(frame, outcome, spec, options, file=file, **primary_only)
        cell.update({"status": "estimated", "estimate": fitted.estimate, "std_error": fitted.std_error,
                     "ci_low": fitted.ci_low, "ci_high": fitted.ci_high, "p_value": fitted.p_value,
                     "inference": fitted.se_type, "n_clusters": fitted.n_clusters})
    except (NotTestable, EstimationError, DataError) as exc:
        cell.update({"status": "not estimable", "reason": exc.message, "estimate": None, "ci_low": None,
                     "ci_high": None, "p_value": None})
    return cell


def subgroup_tables(frame: pd.DataFrame, outcome: pd.Series, spec: Any, options: Any, fitter: Fitter,
                    result: EstimateResult, *, file: str) -> tuple[DisaggregationTable, ...]:
    """One raw table per ``disaggregate`` column: a cell per level (sorted), the total row the primary estimate.

    A fitter that offers ``subgroup_frame(frame, spec, options)`` (survey DiD) gets its cells from that frame: the
    columns it reads, identifiers coded once, so no cell repeats the string work on the whole sample."""
    panel = REGISTRY[spec.estimator.name].disaggregation(options)  # the plan refuses estimators without it
    units = pd.factorize(frame[spec.design.unit].astype("string"))[0].astype(np.intp, copy=False)
    in_sample = _estimation_rows(frame, outcome, spec, units, panel=panel)
    cell_spec = _cell_spec(spec)
    prepare = getattr(fitter, "subgroup_frame", None)
    cell_frame = prepare(frame, cell_spec, options) if prepare is not None else frame
    tables = []
    for column in spec.disaggregate:
        level_of_row, labels = _unit_levels(frame, column, spec, units)
        cells = []
        for code in sorted(np.unique(level_of_row[in_sample]), key=lambda c: str(labels[c])):
            rows = level_of_row == code
            counted = units[rows & in_sample]
            n = int(np.count_nonzero(np.bincount(counted[counted >= 0])))
            cells.append(_cell(fitter, cell_frame.loc[rows], outcome.loc[rows], cell_spec, options,
                               level=str(labels[code]), n=n, file=file))
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
