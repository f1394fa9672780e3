"""R did's two conventions for unbalanced panels (balance; allow_unbalanced_panel) against moderndid 0.4.1 on an
unbalanced mpdta (issue 15 item 6). The numbers come from ``make_mpdta_unbalanced_reference.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mpdta_helpers import HERE, assert_aggregations_match, assert_cells_match, control_group, mpdta_panel

from oca_experiments.estimators._staggered import aggregate, att_gt

REFERENCE = json.loads((HERE / "mpdta_unbalanced_reference.json").read_text(encoding="utf-8"))


def _panel():
    return mpdta_panel(removed_rows=REFERENCE["removed_rows"])


def _fit(name: str):
    kwargs = REFERENCE["specs"][name]["kwargs"]
    panel, years = _panel()
    assert not np.all(np.isfinite(panel.y))  # really unbalanced
    cells = att_gt(panel, control_group=control_group(kwargs), base_period=kwargs.get("base_period", "varying"),
                   unbalanced="allow_unbalanced" if kwargs["allow_unbalanced_panel"] else "balance",
                   pool_singleton_cohorts=False)
    return cells, years


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_cells_match_moderndid(name: str) -> None:
    cells, years = _fit(name)
    assert_cells_match(cells, years, REFERENCE["specs"][name])


@pytest.mark.parametrize("name", sorted(REFERENCE["specs"]))
def test_aggregations_match_moderndid(name: str) -> None:
    cells, _ = _fit(name)
    assert_aggregations_match(cells, REFERENCE["specs"][name]["aggte"])


def test_pairwise_default_differs_from_both_and_is_far_less_noisy_than_allow_unbalanced() -> None:
    panel, _ = _panel()
    pairwise = aggregate(att_gt(panel), "simple")
    rows = aggregate(att_gt(panel, unbalanced="allow_unbalanced"), "simple")
    assert pairwise.overall_std_error() < 0.5 * rows.overall_std_error()
