"""Sun-Abraham interaction-weighted event study against pyfixest's saturated event study
(``event_study(..., estimator="saturated").aggregate(agg="period", weighting="shares")``): estimates and CR1
standard errors to 1e-8, cohort-specific effects to 1e-8, and the IW weights."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators._sun_abraham import sun_abraham

pyfixest = pytest.importorskip("pyfixest")

T = 10
COHORTS = np.array([3] * 6 + [5] * 7 + [7] * 5 + [99] * 10)


def _panel(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(COHORTS.size, T)) + 0.2 * np.arange(T) + rng.normal(size=(COHORTS.size, 1))
    since = np.arange(T)[None, :] - COHORTS[:, None]
    return y + (since >= 0) * (1.0 + 0.3 * since.clip(0))  # effects grow with time since adoption


@pytest.mark.parametrize("seed", [2, 5])
def test_interaction_weighted_event_study_matches_pyfixest(seed: int) -> None:
    y = _panel(seed)
    ours = sun_abraham(y, COHORTS)
    frame = pd.DataFrame([{"unit": i, "year": t + 1, "g": int(COHORTS[i]) + 1 if COHORTS[i] < T else 0,
                           "y": y[i, t]} for i in range(COHORTS.size) for t in range(T)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = pyfixest.event_study(data=frame, yname="y", idname="unit", tname="year", gname="g",
                                     cluster="unit", estimator="saturated")
        reference = model.aggregate(agg="period", weighting="shares").astype(float)
    assert list(reference.index) == list(ours.relative_periods)
    np.testing.assert_allclose(ours.estimate, reference["Estimate"].to_numpy(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.std_error, reference["Std. Error"].to_numpy(), rtol=0, atol=1e-8)
    coefs = model.coef()
    for (g, rel), value in ours.cohort_effects.items():  # pyfixest names them rel_time::<l>:...::<cohort>
        (key,) = [k for k in coefs.index if f"::{float(rel)}:" in k and k.endswith(f"::{g + 1}")]
        assert value == pytest.approx(float(coefs[key]), abs=1e-8)


def test_weights_are_cohort_shares_among_units_observed_at_each_relative_period() -> None:
    ours = sun_abraham(_panel(2), COHORTS)
    for rel in ours.relative_periods:
        cohorts = [g for (g, r) in ours.weights if r == rel]
        sizes = {g: int(np.sum(COHORTS == g)) for g in cohorts}
        for g in cohorts:
            assert ours.weights[g, rel] == pytest.approx(sizes[g] / sum(sizes.values()), abs=1e-15)
    assert (3, 6) in ours.weights and (7, 6) not in ours.weights  # cohort 7 is observed up to l = 2


def test_needs_never_treated_units() -> None:
    with pytest.raises(ValueError, match="never-treated"):
        sun_abraham(_panel(2)[:18], COHORTS[:18])
