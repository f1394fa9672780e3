"""Counterfactual ITS: effect recovery, the joint forecast variance, and the placebo test's rejection rate."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments.estimators._its import fit_counterfactual, its_p_value, placebo_in_time

WEEKLY = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0])


def _series(seed: int, n: int, effect: float = 0.0, start: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    y = 10 + 0.8 * x + np.resize(WEEKLY, n) + rng.normal(0, 1, n)
    if start is not None:
        y[start:] += effect
    return y, x[:, None]


def test_placebo_rejects_at_about_the_nominal_rate() -> None:
    """200 seeded no-effect series (level, weekly pattern, a comparison regressor): the placebo-in-time test
    rejects at 5% about 5% of the time. Each fit is the cheap path: 84 days, exact-diffuse MLE."""
    rejections = []
    for seed in range(200):
        y, x = _series(seed, 84)
        placebo = placebo_in_time(y, x, 84, fraction=1 / 3, min_pre=28, weekly_seasonality=True)
        assert placebo["available"]
        rejections.append(placebo["p_value"] < 0.05)
    rate = float(np.mean(rejections))
    assert 0.02 <= rate <= 0.09, rate


def test_recovers_a_step_effect_with_intervals() -> None:
    y, x = _series(7, 150, effect=2.0, start=100)
    cf = fit_counterfactual(y, x, 100)
    assert cf.average_effect == pytest.approx(2.0, abs=3 * cf.average_se)
    assert cf.cumulative_effect == pytest.approx(cf.average_effect * 50)
    assert cf.cumulative_se == pytest.approx(cf.average_se * 50)
    assert its_p_value(cf.average_effect, cf.average_se) < 0.001
    lo, hi = cf.relative_ci
    assert lo < cf.relative_effect < hi
    assert cf.relative_effect == pytest.approx(cf.observed.sum() / cf.predicted.sum() - 1)


def test_average_effect_variance_is_the_joint_forecast_variance() -> None:
    """Var(sum of counterfactuals) from the one-pass recursion equals the sum of the full forecast covariance,
    which we build here by brute force from statsmodels' simulation smoother moments (local level)."""
    rng = np.random.default_rng(3)
    y = 5 + np.cumsum(rng.normal(0, 0.3, 80)) + rng.normal(0, 1, 80)
    cf = fit_counterfactual(y, None, 60, weekly_seasonality=False)
    sigma_eps = cf.params["sigma2.irregular"]
    sigma_eta = cf.params["sigma2.level"]
    # Local level: Var(a_1) = P, Cov(y_s, y_t) = P + min(s, t) * sigma_eta for s != t, plus sigma_eps on the diagonal.
    p1 = cf.predicted_sd[0] ** 2 - sigma_eps
    h = np.arange(20)
    cov = p1 + np.minimum.outer(h, h) * sigma_eta + np.eye(20) * sigma_eps
    assert cf.cumulative_se ** 2 == pytest.approx(cov.sum(), rel=1e-8)


def test_missing_days_are_skipped_not_filled() -> None:
    y, x = _series(11, 120, effect=1.0, start=90)
    y[[5, 40, 95, 100]] = np.nan
    cf = fit_counterfactual(y, x, 90)
    assert cf.n_pre_observed == 88 and cf.n_post_observed == 28
    assert np.isfinite(cf.average_effect)
