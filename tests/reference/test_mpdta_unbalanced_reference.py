"""R did's two conventions for unbalanced panels (balance; allow_unbalanced_panel) against moderndid 0.4.1 on an
unbalanced mpdta (issue 15 item 6). The numbers come from ``make_mpdta_unbalanced_reference.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, aggregate, att_gt

HERE = Path(__file__).resolve().parent
REFERENCE = json.loads((HERE / "mpdta_unbalanced_reference.json").read_text(encoding="utf-8"))
TOL = 1e-6


def _panel() -> tuple[StaggeredPanel, list[int]]:
    data = pd.read_csv(HERE / "mpdta.csv").drop(index=REFERENCE["removed_rows"])
    years = sorted(data["year"].unique())
    units = sorted(data["countyreal"].unique())
    y = data.pivot(index="countyreal", columns="year", values="lemp").reindex(index=units, columns=years).to_numpy()
    first = data.groupby("countyreal")["first.treat"].first().loc[units].to_numpy()
    cohort = np.array([years.index(g) if g in years else NEVER for g in first], dtype=np.intp)
    return StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(len(units), dtype=np.intp),
                          covariates=np.empty((len(units), 0)), unit_labels=tuple(map(str, units)),
                          period_labels=tuple(map(str, years))), years


def _fit(name: str):
    kwargs = REFERENCE["specs"][name]["kwargs"]
    panel, years = _panel()
    assert not np.all(np.isfinite(panel.y))  # really unbalanced
    cells = att_gt(panel, control_group="never_treated" if kwargs["control_group"] == "nevertreated"
                   else "not_yet_treated", base_period=kwargs.get("base_period", "varying"),
                   unbalanced="allow_unbalanced" if kwargs["allow_unbalanced_panel"] else "balance",
                   pool_singleton_cohorts=False)
    return cells, years


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_cells_match_moderndid(name: str) -> None:
    cells, years = _fit(name)
    ref = REFERENCE["specs"][name]
    ours = {(years[g], years[t]): (a, s) for g, t, a, s in zip(cells.group, cells.time, cells.att,
                                                                 cells.std_errors(), strict=True)}
    assert len(ours) == len(ref["att"])
    for g, t, att, se in zip(ref["group"], ref["time"], ref["att"], ref["se"], strict=True):
        assert ours[(g, t)][0] == pytest.approx(att, abs=TOL), (g, t)
        if se == se:
            assert ours[(g, t)][1] == pytest.approx(se, abs=TOL), (g, t)


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_aggregations_match_moderndid(name: str) -> None:
    cells, _ = _fit(name)
    for ref_kind, kind in (("simple", "simple"), ("dynamic", "event_time"), ("group", "group")):
        ref = REFERENCE["specs"][name]["aggte"][ref_kind]
        agg = aggregate(cells, kind)
        assert agg.overall == pytest.approx(ref["overall_att"], abs=TOL)
        assert agg.overall_std_error() == pytest.approx(ref["overall_se"], abs=TOL)


def test_pairwise_default_differs_from_both_and_is_far_less_noisy_than_allow_unbalanced() -> None:
    panel, _ = _panel()
    pairwise = aggregate(att_gt(panel), "simple")
    rows = aggregate(att_gt(panel, unbalanced="allow_unbalanced"), "simple")
    assert pairwise.overall_std_error() < 0.5 * rows.overall_std_error()
