"""Shared preparation for the survey estimators: waves, treatment, clusters, covariates, validated before fitting.

**Covariates must be measured before treatment.** A covariate that moved because of the campaign would absorb part
of its effect. oca knows a covariate is post-treatment in two ways:

1. the study registers it: ``sources.<name>.post_treatment`` in study.yaml lists columns measured after treatment
   began (refused when the study is planned, before any data is read);
2. the data show it: in a panel, a covariate whose value differs between the pre and the post wave within a unit
   was measured (also) after treatment. Baseline characteristics are constant within a unit; use the baseline
   value as its own column (e.g. ``age_baseline``) if the survey asks again at endline.

Repeated cross-sections interview different people per wave, so only rule 1 can catch them there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import DataError, EstimationError, NotTestable  # noqa: F401  (NotTestable re-exported)
from ..outcomes import numeric_column
from ..spec import HypothesisSpec
from ._cluster_inference import RandomizationInterval, randomization_interval, randomization_test
from ._linalg import demean, sorted_codes


def treatment_indicator(frame: pd.DataFrame, column: str, *, file: str) -> pd.Series:
    values = numeric_column(frame, column, file=file)
    if values.isna().any():
        raise DataError(f"{int(values.isna().sum())} missing treatment values", file=file, column=column,
                        fix="every row needs a 0/1 treatment assignment")
    if not values.isin([0.0, 1.0]).all():
        raise DataError("treatment must be coded 0/1", file=file, column=column,
                        fix="recode the treatment column to 0 (comparison) and 1 (treated)")
    return values


def covariate_matrix(frame: pd.DataFrame, covariates: Sequence[str], *, file: str) -> tuple[np.ndarray, list[str]]:
    """Numeric covariates as they are; text covariates as dummies (first level dropped)."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for col in covariates:
        series = frame[col]
        if series.isna().any():
            raise DataError(f"{int(series.isna().sum())} missing covariate values", file=file, column=col,
                            fix="impute or drop the covariate in the spec")
        if pd.api.types.is_numeric_dtype(series):
            blocks.append(series.astype("float64").to_numpy()[:, None])
            names.append(col)
        else:
            dummies = pd.get_dummies(series.astype(str), prefix=col, drop_first=True, dtype="float64")
            blocks.append(dummies.to_numpy())
            names.extend(dummies.columns)
    if not blocks:
        return np.empty((len(frame), 0)), []
    return np.column_stack(blocks), names


def drop_constant_covariates(cov_x: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str], dict[str, str]]:
    """Covariates without variation in the estimation sample are collinear with the intercept (or the unit effects);
    they adjust nothing, so they are dropped with a record (as fixest drops collinear variables) instead of failing."""
    if not names:
        return cov_x, names, {}
    constant = np.ptp(cov_x, axis=0) == 0 if cov_x.shape[0] else np.ones(len(names), dtype=bool)
    dropped = {name: "no variation in the estimation sample: collinear with the intercept, dropped"
               for name, flat in zip(names, constant, strict=True) if flat}
    keep = ~constant
    return cov_x[:, keep], [n for n, k in zip(names, keep, strict=True) if k], dropped


def refuse_post_treatment_covariates(frame: pd.DataFrame, covariates: Sequence[str], *, unit: str, time: str,
                                     waves: Sequence[str], file: str) -> None:
    """A covariate that changes between the registered waves within a unit was measured after treatment."""
    if not covariates:
        return
    in_waves = frame[time].astype("string").isin(list(waves)).fillna(False).to_numpy(dtype=bool)
    rows = frame.loc[in_waves, [unit, *covariates]]
    for col in covariates:
        values = rows[col].astype("string")
        changed = values.groupby(rows[unit].astype("string")).nunique(dropna=False)
        count = int((changed > 1).sum())
        if count:
            raise DataError(f"covariate differs between the {' and '.join(waves)} waves within {count} unit"
                            f"{'s' if count != 1 else ''}: it was measured after treatment began and could absorb "
                            "part of the effect", file=file, column=col,
                            fix="use its baseline value as a column that is constant within a unit, or drop it "
                            "from covariates")


@dataclass(frozen=True)
class Regressor:
    """One column of a survey regression. ``multiplier`` is set when the column is treatment x multiplier."""

    name: str
    values: NDArray[np.float64]
    multiplier: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class ClusterAssignment:
    labels: tuple[str, ...]
    codes: NDArray[np.intp]
    treatment: NDArray[np.float64] | None  # per cluster; None when treatment varies within a cluster
    blocks: NDArray[np.intp] | None
    problems: tuple[str, ...] = field(default=())


def cluster_codes(values: NDArray[Any]) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    fast = sorted_codes(values)  # labels that are already strings: hash, then sort the distinct ones only
    if fast is not None and all(type(v) is str and not v.endswith("\x00") for v in fast[0]):
        return tuple(fast[0]), fast[1]
    labels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
    return tuple(str(v) for v in labels), codes.astype(np.intp)


def cluster_assignment(clusters: NDArray[Any], treated: NDArray[np.float64],
                       blocks: NDArray[Any] | None) -> ClusterAssignment:
    labels, codes = cluster_codes(clusters)
    block_of_row = np.unique(np.asarray(blocks, dtype=str), return_inverse=True)[1] if blocks is not None else None
    return _assignment(labels, codes, treated, block_of_row)


def _label_order(codes: NDArray[np.intp], labels: Any) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """The labels present among ``codes`` (index -1: pandas' missing value) and each row's position among them."""
    present = np.unique(codes)
    values = np.append(np.asarray(labels, dtype=object), pd.NA)  # code -1 picks the missing value, as before coding
    return values[present], np.searchsorted(present, codes)


def coded_cluster_assignment(clusters: NDArray[np.intp], cluster_labels: Any, treated: NDArray[np.float64],
                             blocks: tuple[NDArray[np.intp], Any] | None) -> ClusterAssignment:
    """``cluster_assignment`` from integer codes and their labels: the same labels, codes and blocks as the
    strings would give (only the distinct labels are sorted), at integer cost per row."""
    present, position = _label_order(clusters, cluster_labels)
    labels, rank = cluster_codes(present)
    codes = rank[position]
    block_of_row = None
    if blocks is not None:
        present_blocks, block_position = _label_order(*blocks)
        block_of_row = np.unique(np.asarray(present_blocks, dtype=str), return_inverse=True)[1][block_position]
    return _assignment(labels, codes, treated, block_of_row)


def _assignment(labels: tuple[str, ...], codes: NDArray[np.intp], treated: NDArray[np.float64],
                block_of_row: NDArray[np.intp] | None) -> ClusterAssignment:
    problems = []
    per_cluster = pd.Series(treated).groupby(codes).agg(["min", "max"])
    treatment = None
    if (per_cluster["min"] != per_cluster["max"]).any():
        problems.append("treatment varies within a cluster, so it was not assigned by cluster")
    else:
        treatment = per_cluster["min"].to_numpy(dtype=np.float64)
    block_codes = None
    if block_of_row is not None:
        per_block = pd.Series(block_of_row).groupby(codes).nunique()
        if (per_block > 1).any():
            problems.append("a cluster lies in more than one randomization block")
        else:
            block_codes = pd.Series(block_of_row).groupby(codes).first().to_numpy(dtype=np.intp)
    return ClusterAssignment(labels, codes, treatment, block_codes, tuple(problems))


def _by_cluster(multiplier: NDArray[np.float64], assignment: ClusterAssignment) -> NDArray[np.float64]:
    """(n, clusters): column c holds ``multiplier`` on cluster c's rows, zero elsewhere (the regressor if cluster c
    alone were treated). Written in place: the one-hot matrix times the multiplier was two more n x C arrays."""
    out = np.zeros((assignment.codes.size, len(assignment.labels)))
    out[np.arange(assignment.codes.size), assignment.codes] = multiplier
    return out


def randomization_record(spec: HypothesisSpec, y_within: NDArray[np.float64], regressors: Sequence[Regressor],
                         target: str, *, assignment: ClusterAssignment, fixed_effects: list[NDArray[np.intp]],
                         observed: float) -> dict[str, Any] | None:
    """Randomization inference for the target coefficient, when the spec registers it."""
    settings = spec.inference.randomization
    if settings is None:
        return None
    if assignment.problems:
        return {"error": "; ".join(assignment.problems)}
    if settings.blocks and assignment.blocks is None:
        return {"error": f"blocks column '{settings.blocks}' is not constant within clusters"}
    fixed_cols, bases, names = [], [], []
    for regressor in regressors:
        if regressor.multiplier is None:
            fixed_cols.append(regressor.values)
        else:
            bases.append(demean(_by_cluster(regressor.multiplier, assignment), fixed_effects))
            names.append(regressor.name)
    fixed = demean(np.column_stack(fixed_cols), fixed_effects) if fixed_cols else np.empty((y_within.size, 0))
    assert assignment.treatment is not None  # no problems recorded: treatment is constant within clusters
    test = randomization_test(y_within, fixed, bases, assignment.treatment, target=names.index(target),
                              blocks=assignment.blocks, blocks_label=settings.blocks, draws=settings.draws,
                              seed=spec.inference.bootstrap.seed, tails=spec.inference.tails,
                              direction=spec.direction, observed=observed)
    return test.record()


def randomization_for_rule(spec: HypothesisSpec, y_within: NDArray[np.float64], regressors: Sequence[Regressor],
                           target: str, *, assignment: ClusterAssignment,
                           fixed_effects: list[NDArray[np.intp]]) -> Callable[[], RandomizationInterval] | None:
    """The randomization test the few-cluster rule can make primary, or None when it cannot be inverted here:
    treatment not constant within clusters, blocks that cross clusters, or more than one treatment-dependent
    regressor (a subgroup contrast)."""
    dependent = [r for r in regressors if r.multiplier is not None]
    if assignment.problems or assignment.treatment is None or len(dependent) != 1 or dependent[0].name != target:
        return None
    settings = spec.inference.randomization
    if settings is not None and settings.blocks and assignment.blocks is None:
        return None
    inference = spec.inference
    treatment = assignment.treatment

    def run() -> RandomizationInterval:
        base = demean(_by_cluster(dependent[0].multiplier, assignment), fixed_effects)
        fixed_cols = [r.values for r in regressors if r.multiplier is None]
        fixed = demean(np.column_stack(fixed_cols), fixed_effects) if fixed_cols else np.empty((y_within.size, 0))
        return randomization_interval(
            y_within, fixed, base, treatment, blocks=assignment.blocks if settings is not None else None,
            draws=settings.draws if settings is not None else inference.bootstrap.draws,
            seed=inference.bootstrap.seed, ci_level=inference.ci_level, alpha=inference.alpha,
            tails=inference.tails, direction=spec.direction)

    return run
