"""Community-level changes from respondent rows: the data of the exposure-response and spillover regressions.

A unit's (community's) change is, in a panel, the mean of its respondents' endline-minus-baseline changes over the
respondents answered at both waves; with repeated cross-sections, the endline mean minus the baseline mean. The
regressions then run on one row per unit, clustered by the design's cluster column (which must be constant within a
unit: the unit is nested in its cluster, e.g. the community in itself or in its CSO).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from ..errors import DataError, NotTestable
from ..spec import HypothesisSpec
from ._linalg import WithinDesign, fit_within
from ._survey_frame import cluster_codes, treatment_indicator

@dataclass(frozen=True)
class UnitChanges:
    """One row per unit: ``unit``, ``cluster``, ``treated``, ``change``, ``n`` (respondents behind the change)."""

    table: pd.DataFrame
    counts: dict[str, int]


def unit_changes(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, *, unit: str, panel: bool,
                 file: str, extra: dict[str, str] | None = None, cluster: str | None = None) -> UnitChanges:
    """The change of each unit between the registered waves. ``extra`` (name -> column) carries unit-level columns
    along (first value; each must be constant within a unit)."""
    design = spec.design
    wave = frame[design.time].astype("string")
    for label, role in ((design.pre, "pre"), (design.post, "post")):
        if not (wave == label).any():
            raise NotTestable(f"no rows with {design.time} = '{label}' (the registered {role} wave)")
    in_waves = wave.isin([design.pre, design.post]).fillna(False).to_numpy(dtype=bool)
    cluster_column = cluster or design.cluster or unit
    work = pd.DataFrame({
        "y": outcome.to_numpy(dtype="float64"),
        "respondent": frame[design.unit].astype("string").to_numpy(),
        "post": (wave == design.post).fillna(False).to_numpy(dtype="float64"),
        "treated": treatment_indicator(frame, design.treatment, file=file).to_numpy(),
        "unit": frame[unit].astype("string").to_numpy(),
        "cluster": frame[cluster_column].astype("string").to_numpy(),
    })
    for name, column in (extra or {}).items():
        work[name] = frame[column].to_numpy()
    counts = {"rows_in_source": len(frame), "rows_outside_registered_waves": int((~in_waves).sum())}
    work = work.loc[in_waves]
    for name, column in (("unit", unit), ("cluster", cluster_column)):
        if work[name].isna().any():
            raise DataError(f"{int(work[name].isna().sum())} rows without a {name} id", file=file, column=column,
                            fix=f"every row in the registered waves needs a {name} id")
    _constant_within_unit(work, "treated", design.treatment, unit, file)
    _constant_within_unit(work, "cluster", cluster_column, unit, file)
    for name, column in (extra or {}).items():
        _constant_within_unit(work, name, column, unit, file)
    missing = work["y"].isna()
    counts["rows_missing_outcome"] = int(missing.sum())
    work = work.loc[~missing]
    if panel:
        table = _panel_changes(work, file=file, unit_column=design.unit, counts=counts)
    else:
        table = _cross_section_changes(work)
    keep = ["unit", "cluster", "treated", *(extra or {})]
    first = work.groupby("unit", sort=True)[keep[1:]].first()
    table = table.join(first, on="unit")
    if table.empty:
        raise NotTestable("no unit has answered outcomes at both registered waves")
    counts["units"] = len(table)
    return UnitChanges(table.reset_index(drop=True), counts)


def _constant_within_unit(work: pd.DataFrame, name: str, column: str, unit: str, file: str) -> None:
    varying = work.groupby("unit")[name].nunique(dropna=False)
    if (varying > 1).any():
        raise DataError(f"'{column}' varies within {int((varying > 1).sum())} values of the unit column '{unit}'",
                        file=file, column=column,
                        fix=f"the unit ('{unit}') must be nested in it: one value per unit")


def _panel_changes(work: pd.DataFrame, *, file: str, unit_column: str, counts: dict[str, int]) -> pd.DataFrame:
    if work.duplicated(["respondent", "post"]).any():
        raise DataError(f"{int(work.duplicated(['respondent', 'post']).sum())} respondents appear twice in the same "
                        "wave", file=file, column=unit_column, fix="remove duplicate interviews or set panel: false")
    wide = work.pivot_table(index=["unit", "respondent"], columns="post", values="y", aggfunc="first")
    both = wide.dropna()
    counts["respondents_not_in_both_waves"] = int(len(wide) - len(both))
    if both.empty:
        raise NotTestable("no respondent has answered outcomes at both registered waves")
    change = (both[1.0] - both[0.0]).groupby(level="unit").agg(["mean", "size"])
    return pd.DataFrame({"unit": change.index.astype(str), "change": change["mean"].to_numpy(),
                         "n": change["size"].to_numpy(dtype=int)})


def _cross_section_changes(work: pd.DataFrame) -> pd.DataFrame:
    means = work.groupby(["unit", "post"])["y"].agg(["mean", "size"]).unstack("post").dropna()
    return pd.DataFrame({"unit": means.index.astype(str), "change": (means[("mean", 1.0)] - means[("mean", 0.0)])
                         .to_numpy(), "n": means[("size", 1.0)].to_numpy(dtype=int)
                         + means[("size", 0.0)].to_numpy(dtype=int)})


def weighted_fit(y: NDArray[np.float64], x: NDArray[np.float64], weights: NDArray[np.float64],
                 clusters: NDArray[Any]) -> tuple[WithinDesign, tuple[str, ...]]:
    """WLS as OLS on sqrt(w)-scaled rows (the sandwich then matches WLS's), clustered; returns the cluster labels."""
    root = np.sqrt(weights)
    labels, codes = cluster_codes(clusters)
    return fit_within(y * root, x * root[:, None], fixed_effects=[], clusters=codes), labels


def contrast_design(x: NDArray[np.float64], contrast: NDArray[np.float64], index: int) -> NDArray[np.float64]:
    """Reparametrise so that coefficient ``index`` of the new design is ``contrast @ beta`` (``contrast[index]`` must
    be 1): theta = M beta with M the identity whose row ``index`` is ``contrast``, and X beta = (X M^-1) theta."""
    m = np.eye(x.shape[1])
    m[index] = contrast
    return x @ np.linalg.inv(m)


def unit_weights(table: pd.DataFrame, weights: str) -> NDArray[np.float64]:
    return table["n"].to_numpy(dtype=np.float64) if weights == "respondents" else np.ones(len(table))


def unit_rows(table: pd.DataFrame, columns: dict[str, str]) -> list[dict[str, Any]]:
    """Per-unit rows for the results: the unit, its arm, respondents and the named columns. A unit's outcome change
    is never written (a community's mean is a cell the study's suppression threshold would have to vet)."""
    rows = []
    for record in table.to_dict("records"):
        row: dict[str, Any] = {"unit": str(record["unit"]), "treated": bool(record["treated"]), "n": int(record["n"])}
        for key, column in columns.items():
            value = record[column]
            row[key] = float(value) if isinstance(value, (int, float, np.floating)) else value
        rows.append(row)
    return rows
