"""The mpdta county panel as a ``StaggeredPanel`` and the checks shared by the balanced and unbalanced references."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, aggregate

HERE = Path(__file__).resolve().parent
TOL = 1e-6


def mpdta_panel(*, with_lpop: bool = False, removed_rows: list[int] | None = None) -> tuple[StaggeredPanel, list[int]]:
    """Counties x years of log employment (missing cells NaN when ``removed_rows`` unbalance it) and the years."""
    data = pd.read_csv(HERE / "mpdta.csv").drop(index=removed_rows or [])
    years = sorted(data["year"].unique())
    units = sorted(data["countyreal"].unique())
    y = data.pivot(index="countyreal", columns="year", values="lemp").reindex(index=units, columns=years).to_numpy()
    first = data.groupby("countyreal")["first.treat"].first().loc[units].to_numpy()
    cohort = np.array([years.index(g) if g in years else NEVER for g in first], dtype=np.intp)
    lpop = data.groupby("countyreal")["lpop"].first().loc[units].to_numpy()[:, None]
    covariates = lpop if with_lpop else np.empty((len(units), 0))
    return StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(len(units), dtype=np.intp), covariates=covariates,
                          unit_labels=tuple(map(str, units)), period_labels=tuple(map(str, years))), years


def control_group(kwargs: Mapping[str, Any]) -> str:
    """R did's ``control_group`` in this package's words."""
    return "never_treated" if kwargs["control_group"] == "nevertreated" else "not_yet_treated"


def assert_cells_match(cells: Any, years: list[int], ref: Mapping[str, Any], *, same_count: bool = True) -> None:
    """ATT(g,t) and SEs against a reference's cells; a NaN reference SE (the universal base period's cell) is
    not compared (0 here)."""
    ours = {(years[g], years[t]): (a, s) for g, t, a, s in zip(cells.group, cells.time, cells.att,
                                                                 cells.std_errors(), strict=True)}
    if same_count:
        assert len(ours) == len(ref["att"])
    for g, t, att, se in zip(ref["group"], ref["time"], ref["att"], ref["se"], strict=True):
        assert ours[(g, t)][0] == pytest.approx(att, abs=TOL), (g, t)
        if se == se:
            assert ours[(g, t)][1] == pytest.approx(se, abs=TOL), (g, t)


def assert_aggregations_match(cells: Any, aggte: Mapping[str, Any]) -> None:
    """The simple, event-time and group aggregations (overall, and per period where the reference has them)."""
    for ref_kind, kind in (("simple", "simple"), ("dynamic", "event_time"), ("group", "group")):
        ref = aggte[ref_kind]
        agg = aggregate(cells, kind)
        assert agg.overall == pytest.approx(ref["overall_att"], abs=TOL)
        assert agg.overall_std_error() == pytest.approx(ref["overall_se"], abs=TOL)
        if "att" in ref:
            np.testing.assert_allclose(agg.estimate, ref["att"], atol=TOL)
            ref_se = np.array(ref["se"], dtype=float)
            finite = np.isfinite(ref_se)  # the universal base's reference period: NaN there, 0 here
            np.testing.assert_allclose(agg.std_errors()[finite], ref_se[finite], atol=TOL)
