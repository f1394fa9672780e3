"""Resampling p-values use the (1 + #)/(B + 1) convention and are never printed as "p = 0" (issue 22, item 3)."""

from __future__ import annotations

import numpy as np
import pytest
from survey_helpers import read_reference_csv

from oca_experiments._format import format_p, monte_carlo_p
from oca_experiments.estimators._cluster_inference import _BootstrapPieces, bootstrap_weights, wild_cluster_bootstrap
from oca_experiments.estimators._linalg import fit_within


def _strong_effect_design():
    """The reference cross-section with a huge treatment effect added: no bootstrap draw is as extreme."""
    data = read_reference_csv("cross_section.csv")
    x = np.column_stack([np.ones(len(data)), data["treat"], data["y0"], data["x"]])
    labels, codes = np.unique(data["g"].to_numpy(), return_inverse=True)
    y = data["y1"].to_numpy() + 50.0 * data["treat"].to_numpy()
    return fit_within(y, x, fixed_effects=[], clusters=codes), [str(v) for v in labels]


@pytest.mark.parametrize(("tails", "direction"), [("two", "any"), ("one", "increase")])
def test_sampled_wild_bootstrap_p_value_counts_the_data_as_a_draw(tails: str, direction: str) -> None:
    design, labels = _strong_effect_design()
    draws = 199
    test = wild_cluster_bootstrap(design, 1, labels=labels, draws=draws, weights="webb", seed=3, ci_level=0.95,
                                  tails=tails, direction=direction, alpha=0.05)
    assert not test.enumerated
    share = _BootstrapPieces(design, 1, bootstrap_weights(labels, draws, "webb", 3)).p_two_sided(0.0)
    assert share == 0.0  # the old convention printed this as "p = 0"
    assert test.p_value == pytest.approx(1 / (draws + 1)) and test.p_value_two_sided == pytest.approx(1 / 200)
    assert format_p(test.p_value, draws=draws) == "p ≤ 0.005"


def test_monte_carlo_p() -> None:
    assert monte_carlo_p(0.0, 9999, enumerated=False) == pytest.approx(1e-4)
    assert monte_carlo_p(2 / 9999, 9999, enumerated=False) == pytest.approx(3e-4)
    assert monte_carlo_p(0.25, 64, enumerated=True) == 0.25  # an enumerated distribution holds the data already


@pytest.mark.parametrize(("p", "kwargs", "shown"), [
    (0.0, {}, "p < 0.001"),
    (1e-4, {"draws": 9999}, "p < 0.001"),
    (0.01, {"draws": 99}, "p ≤ 0.01"),
    (0.0541, {}, "p = 0.054"),
    (0.00020002, {}, "p < 0.001"),
    (float("nan"), {}, "p not available"),
    (None, {}, "p not available"),
    (1.0, {}, "p = 1"),
])
def test_one_p_value_format(p, kwargs, shown) -> None:
    assert format_p(p, **kwargs) == shown
