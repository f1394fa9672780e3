"""Sensitivity of the staggered DiD to violations of parallel trends (issue 15, item 2 and HonestDiD)."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments.estimators._engagement import universal_event_study
from oca_experiments.estimators._engagement_options import StaggeredOptions
from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, att_gt, relative_magnitude_bounds


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
    """Largest pre-period change is 2 (not 1): the Delta^RM(1) set for the average post effect is 1 +- 2 * 2.5."""
    panel = noise_free_panel()
    options = StaggeredOptions(relative_magnitudes=(1.0,))
    assert options.base_period == "varying"  # the default
    cells = att_gt(panel, base_period=options.base_period)
    study = universal_event_study(panel, cells, options)
    bounds = relative_magnitude_bounds(study.labels, study.estimate, study.psi, study.row_cluster, factors=(1.0,),
                                       alpha=0.05, boot_draws=199, seed=1)
    assert bounds["max_pre_period_change"] == pytest.approx(2.0)
    (row,) = bounds["bounds"]
    assert row["bound_low"] == pytest.approx(-4.0, abs=1e-9)
    assert row["bound_high"] == pytest.approx(6.0, abs=1e-9)
