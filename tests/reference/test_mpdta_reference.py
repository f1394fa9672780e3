"""Callaway-Sant'Anna ATT(g,t) on the minimum-wage county panel (mpdta) against independent implementations.

The reference numbers (moderndid 0.4.1, a port of R's did, and csdid 0.4.3) were computed by
``make_mpdta_reference.py`` in a separate environment and are committed beside it; the suite needs neither package.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, aggregate, att_gt

HERE = Path(__file__).resolve().parent
REFERENCE = json.loads((HERE / "mpdta_reference.json").read_text(encoding="utf-8"))
TOL = 1e-6


def _panel(with_lpop: bool) -> tuple[StaggeredPanel, list[int]]:
    data = pd.read_csv(HERE / "mpdta.csv")
    years = sorted(data["year"].unique())
    units = sorted(data["countyreal"].unique())
    y = data.pivot(index="countyreal", columns="year", values="lemp").loc[units, years].to_numpy()
    first = data.groupby("countyreal")["first.treat"].first().loc[units].to_numpy()
    cohort = np.array([years.index(g) if g in years else NEVER for g in first], dtype=np.intp)
    lpop = data.groupby("countyreal")["lpop"].first().loc[units].to_numpy()[:, None]
    covariates = lpop if with_lpop else np.empty((len(units), 0))
    return StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(len(units), dtype=np.intp), covariates=covariates,
                          unit_labels=tuple(map(str, units)), period_labels=tuple(map(str, years))), years


def _fit(name: str):
    kwargs = REFERENCE["specs"][name]["kwargs"]
    panel, years = _panel(kwargs["xformla"] is not None)
    cells = att_gt(panel, control_group="never_treated" if kwargs["control_group"] == "nevertreated"
                   else "not_yet_treated", method="or" if kwargs["est_method"] == "reg" else "dr",
                   base_period=kwargs.get("base_period", "varying"))
    return cells, years


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_att_gt_and_standard_errors_match_moderndid(name: str) -> None:
    cells, years = _fit(name)
    ref = REFERENCE["specs"][name]
    ours = {(years[g], years[t]): (a, s) for g, t, a, s in zip(cells.group, cells.time, cells.att,
                                                                 cells.std_errors(), strict=True)}
    assert len(ours) == len(ref["att"])
    for g, t, att, se in zip(ref["group"], ref["time"], ref["att"], ref["se"], strict=True):
        assert ours[(g, t)][0] == pytest.approx(att, abs=TOL), (g, t)
        if se == se:  # the universal base period's reference cell has no SE in moderndid (NaN), 0 here
            assert ours[(g, t)][1] == pytest.approx(se, abs=TOL), (g, t)


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_aggregations_match_moderndid(name: str) -> None:
    cells, _ = _fit(name)
    for ref_kind, kind in (("simple", "simple"), ("dynamic", "event_time"), ("group", "group")):
        ref = REFERENCE["specs"][name]["aggte"][ref_kind]
        agg = aggregate(cells, kind)
        assert agg.overall == pytest.approx(ref["overall_att"], abs=TOL)
        assert agg.overall_std_error() == pytest.approx(ref["overall_se"], abs=TOL)
        if "att" in ref:
            np.testing.assert_allclose(agg.estimate, ref["att"], atol=TOL)
            ref_se = np.array(ref["se"], dtype=float)
            finite = np.isfinite(ref_se)  # the universal base's reference period: NaN there, 0 here
            np.testing.assert_allclose(agg.std_errors()[finite], ref_se[finite], atol=TOL)


@pytest.mark.parametrize("name", sorted(REFERENCE["csdid"]))
def test_att_gt_matches_csdid(name: str) -> None:
    cells, years = _fit(name)
    ref = REFERENCE["csdid"][name]
    ours = {(years[g], years[t]): (a, s) for g, t, a, s in zip(cells.group, cells.time, cells.att,
                                                                 cells.std_errors(), strict=True)}
    for g, t, att, se in zip(ref["group"], ref["time"], ref["att"], ref["se"], strict=True):
        assert ours[(g, t)][0] == pytest.approx(att, abs=TOL)
        assert ours[(g, t)][1] == pytest.approx(se, abs=TOL)


def test_published_values() -> None:
    """Callaway and Sant'Anna's did vignette: ATT(2004,2004) = -0.0105, simple ATT = -0.0400 (SE 0.0120)."""
    cells, _ = _fit("never_unconditional")
    assert cells.att[0] == pytest.approx(-0.0105, abs=5e-5)
    simple = aggregate(cells, "simple")
    assert simple.overall == pytest.approx(-0.0400, abs=5e-5)
    assert simple.overall_std_error() == pytest.approx(0.0120, abs=5e-5)


def test_dr_with_intercept_only_equals_unconditional() -> None:
    """Without covariates the DR formula (logit and OLS on an intercept) reduces to the difference of mean changes."""
    from oca_experiments.estimators._staggered import _cell_dr, _cell_unconditional

    rng = np.random.default_rng(4)
    dy = rng.normal(size=60)
    d = rng.random(60) < 0.3
    a1, p1 = _cell_unconditional(dy, d)
    a2, p2 = _cell_dr(dy, d, np.ones((60, 1)))
    assert a1 == pytest.approx(a2, abs=1e-12)
    np.testing.assert_allclose(p1, p2, atol=1e-12)
