"""Sensitivity of the staggered DiD to violations of parallel trends (issue 15, item 2, and HonestDiD)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from oca_experiments.estimators._engagement import honest_event_study, universal_event_study
from oca_experiments.estimators._engagement_options import StaggeredOptions
from oca_experiments.estimators._honest import (EventStudy, _polyhedra, _sd_bias_terms, flci, honest_sensitivity,
                                                identified_set)
from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, att_gt


def noise_free_panel() -> StaggeredPanel:
    """Issue 15's example: the treated units' trend departs from the comparison units' by 2, then 1, then 0 in
    the pre-periods (varying-base pre-period coefficients 2, 1, 0), and the effect is 1 in each of 4 post periods."""
    units, periods, adoption = 8, 8, 4
    cohort = np.where(np.arange(units) < 4, adoption, NEVER).astype(np.intp)
    drift = np.array([0.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0])
    t = np.arange(periods)
    treated = cohort != NEVER
    y = (np.arange(units)[:, None] * 0.7 + 0.3 * t[None, :] + treated[:, None] * drift[None, :]
         + (treated[:, None] & (t[None, :] >= adoption)) * 1.0)
    return StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(units, dtype=np.intp),
                          covariates=np.empty((units, 0)), unit_labels=tuple(map(str, range(units))),
                          period_labels=tuple(map(str, t)))


def test_varying_base_pre_coefficients_are_the_one_period_changes() -> None:
    cells = att_gt(noise_free_panel(), base_period="varying")
    pre = cells.time < cells.group
    np.testing.assert_allclose(cells.att[pre], [2.0, 1.0, 0.0], atol=1e-12)


def test_relative_magnitude_set_uses_the_universal_base_under_the_default_varying_base() -> None:
    """Largest pre-period change is 2 (not 1, as differencing the varying-base coefficients again gives): the
    Delta^RM(1) identified set for the average post effect is 1 +- 2 * (1 + 2 + 3 + 4) / 4 = [-4, 6]."""
    panel = noise_free_panel()
    options = StaggeredOptions(relative_magnitudes=(1.0,))
    assert options.base_period == "varying"  # the default
    cells = att_gt(panel, base_period=options.base_period)
    study, events = honest_event_study(universal_event_study(panel, cells, options), (-5, 5), 0)
    assert events == [-4, -3, -2, 0, 1, 2, 3]
    np.testing.assert_allclose(study.beta, [-3, -1, 0, 1, 1, 1, 1], atol=1e-12)
    l_vec = np.full(4, 0.25)
    low, high = identified_set(study.beta, l_vec, 3, _polyhedra("relative_magnitudes", 3, 4, 1.0))
    assert (low, high) == (pytest.approx(-4.0, abs=1e-9), pytest.approx(6.0, abs=1e-9))


def _study() -> EventStudy:
    idx = np.arange(6)
    sigma = 0.01 * 0.3 ** np.abs(idx[:, None] - idx[None, :]) * np.outer(1 + 0.1 * idx, 1 + 0.1 * idx)
    return EventStudy(np.array([0.05, -0.02, 0.01, 0.30, 0.40, 0.35]), sigma, 3, 3)


def test_flci_worst_case_bias_formula_matches_the_linear_program() -> None:
    """The closed-form worst-case bias over Delta^SD(1) used by the FLCI equals a direct LP for random weights."""
    from oca_experiments.estimators._honest import sd_constraints

    rng = np.random.default_rng(0)
    k, n_post = 3, 3
    l_vec = np.array([0.2, 0.5, 0.3])
    constant, target = _sd_bias_terms(k, n_post, l_vec)
    a, d = sd_constraints(k, n_post, 1.0)
    for _ in range(5):
        w = rng.normal(size=k)
        w[-1] = target - w[:-1].sum()
        v = np.concatenate([(np.eye(k) - np.eye(k, k=-1)) @ w, l_vec])
        lp = optimize.linprog(-v, A_ub=a, b_ub=d, bounds=[(None, None)] * 6, method="highs")
        assert -lp.fun == pytest.approx(constant + np.abs(np.cumsum(w)).sum(), abs=1e-9)


def test_flci_is_no_longer_than_the_reference_and_shrinks_to_the_unrestricted_interval() -> None:
    study = _study()
    l_vec = np.full(3, 1 / 3)
    at_zero = flci(study, l_vec, 0.0, 0.05)
    wider = flci(study, l_vec, 0.1, 0.05)
    assert wider["half_length"] > at_zero["half_length"]


def test_sensitivity_result_is_monotone_and_plots() -> None:
    result = honest_sensitivity(_study(), values=(0.0, 0.5, 1.0), restriction="relative_magnitudes")
    lows = [r["ci_low"] for r in result.rows]
    highs = [r["ci_high"] for r in result.rows]
    assert lows == sorted(lows, reverse=True) and highs == sorted(highs)
    for row in result.rows:
        assert row["ci_low"] <= row["id_low"] <= row["id_high"] <= row["ci_high"]
    # Breakdown: 0 is outside the set just below it and inside at it.
    assert result.breakdown is not None
    below = honest_sensitivity(_study(), values=(0.98 * result.breakdown,), with_breakdown=False)
    at = honest_sensitivity(_study(), values=(1.01 * result.breakdown,), with_breakdown=False)
    assert below.rows[0]["ci_low"] > 0 and at.rows[0]["ci_low"] <= 0
    fig = result.plot()
    assert fig.axes and fig.axes[0].get_xlabel() == "Mbar"


def test_sensitivity_record_reports_both_restrictions_json_ready() -> None:
    import json

    from oca_experiments.estimators._engagement import sensitivity_record
    from oca_experiments.results import _clean

    rng = np.random.default_rng(4)
    units, periods = 40, 9
    cohort = np.where(np.arange(units) < 20, NEVER, np.where(np.arange(units) < 30, 4, 6)).astype(np.intp)
    t = np.arange(periods)
    on = (cohort[:, None] != NEVER) & (t[None, :] >= cohort[:, None])
    y = rng.normal(0, 1, (units, 1)) + 0.1 * t + 1.0 * on + rng.normal(0, 0.3, (units, periods))
    panel = StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(units, dtype=np.intp),
                           covariates=np.empty((units, 0)), unit_labels=tuple(map(str, range(units))),
                           period_labels=tuple(map(str, t)))
    options = StaggeredOptions(relative_magnitudes=(0.5, 1.0), smoothness=(0.0, 0.1), sensitivity_window=(-3, 2))
    record = sensitivity_record(universal_event_study(panel, att_gt(panel), options), options, 0.05)
    assert record["available"] and record["event_times"] == [-3, -2, 0, 1, 2]
    assert record["relative_magnitudes"]["method"] == "hybrid" and record["smoothness"]["method"] == "flci"
    assert len(record["bounds"]) == 2
    for row in record["smoothness"]["rows"]:
        assert row["ci_low"] < 1.0 < row["ci_high"]
    json.dumps(_clean(record), allow_nan=False)


def test_sensitivity_window_must_hold_a_pre_and_a_post_period() -> None:
    with pytest.raises(ValueError, match="sensitivity_window"):
        StaggeredOptions(sensitivity_window=(-1, 3))
