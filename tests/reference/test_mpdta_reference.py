"""Callaway-Sant'Anna ATT(g,t) on the minimum-wage county panel (mpdta) against independent implementations.

The reference numbers (moderndid 0.4.1, a port of R's did, and csdid 0.4.3) were computed by
``make_mpdta_reference.py`` in a separate environment and are committed beside it; the suite needs neither package.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from mpdta_helpers import HERE, assert_aggregations_match, assert_cells_match, control_group, mpdta_panel

from oca_experiments.estimators._staggered import aggregate, att_gt

REFERENCE = json.loads((HERE / "mpdta_reference.json").read_text(encoding="utf-8"))


def _fit(name: str):
    kwargs = REFERENCE["specs"][name]["kwargs"]
    panel, years = mpdta_panel(with_lpop=kwargs["xformla"] is not None)
    cells = att_gt(panel, control_group=control_group(kwargs), method="or" if kwargs["est_method"] == "reg" else "dr",
                   base_period=kwargs.get("base_period", "varying"))
    return cells, years


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_att_gt_and_standard_errors_match_moderndid(name: str) -> None:
    cells, years = _fit(name)
    # the universal base period's reference cell has no SE in moderndid (NaN), 0 here
    assert_cells_match(cells, years, REFERENCE["specs"][name])


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_aggregations_match_moderndid(name: str) -> None:
    cells, _ = _fit(name)
    assert_aggregations_match(cells, REFERENCE["specs"][name]["aggte"])


@pytest.mark.parametrize("name", sorted(REFERENCE["csdid"]))
def test_att_gt_matches_csdid(name: str) -> None:
    cells, years = _fit(name)
    assert_cells_match(cells, years, REFERENCE["csdid"][name], same_count=False)


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
