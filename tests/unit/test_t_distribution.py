"""``t_inference`` calls scipy's t / normal functions with df per call instead of freezing a distribution: the same
scipy functions on the same arguments, so the same numbers as the frozen ``stats.t(df)`` it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from oca_experiments.estimators._inference import t_inference, t_interval


@pytest.mark.parametrize("df", [None, 2.0, 3.7, 23.0, 1e6])
@pytest.mark.parametrize("tails,direction", [("two", "increase"), ("one", "increase"), ("one", "decrease")])
def test_same_numbers_as_the_frozen_distribution(df, tails, direction) -> None:
    frozen = stats.t(df) if df else stats.norm()
    for estimate, se in ((0.31, 0.12), (-1.5, 0.4), (0.0, 1.0), (2.0, 0.0)):
        got = t_inference(estimate, se, df, ci_level=0.95, tails=tails, direction=direction)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = float(np.float64(estimate) / np.float64(se))
        half = float(frozen.ppf(0.975)) * se
        p_two = float(2 * frozen.sf(abs(t)))
        p = p_two if tails == "two" else float(frozen.sf(t) if direction == "increase" else frozen.cdf(t))
        np.testing.assert_allclose([got.ci_low, got.ci_high, got.p_value, got.p_value_two_sided],
                                   [estimate - half, estimate + half, p, p_two], rtol=1e-15, atol=0)
        np.testing.assert_allclose(t_interval(estimate, se, df, 0.9),
                                   [estimate - float(frozen.ppf(0.95)) * se, estimate + float(frozen.ppf(0.95)) * se],
                                   rtol=1e-15, atol=0)
