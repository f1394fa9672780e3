"""The paired knowledge-gain test statistic (estimators/_gain.py, ``_RatioWildBootstrap.t_observed``).

The interval search visits |theta| ~ 1e16 for a per-CSO cell with two clusters. There, centring a(theta) = p - theta q
after forming it cancelled catastrophically: the scores came out exactly 0 and numpy warned "divide by zero" (seen in
``oca report verify build/demo``). The statistic is now formed from scores centred before theta enters, is exact to
rounding at any theta, and has a documented value when the cluster-robust spread is truly zero.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest

from oca_experiments.estimators._gain import _RatioWildBootstrap


def _exact_t(post, pre, clusters, theta: Fraction) -> float:
    """The statistic in exact rational arithmetic: sum(a) / sqrt(sum_g (a_g - n_g/n sum(a))^2)."""
    groups = sorted(set(clusters))
    a = {g: sum(Fraction(p) - theta * Fraction(q) for p, q, c in zip(post, pre, clusters) if c == g) for g in groups}
    sizes = {g: sum(1 for c in clusters if c == g) for g in groups}
    total, n = sum(a.values()), len(clusters)
    spread = sum((a[g] - Fraction(sizes[g], n) * total) ** 2 for g in groups)
    return float(total) / math.sqrt(float(spread))


def _test(post, pre, clusters) -> _RatioWildBootstrap:
    weights = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]])
    return _RatioWildBootstrap(np.asarray(post, float), np.asarray(pre, float), np.asarray(clusters, np.intp), weights)


# Two clusters of 2 and 4 people with the same mean before (q proportional to the cluster sizes), different after:
# at huge theta the naive scores are differences of ~1e16 numbers.
POST = [0.75, 0.5, 0.5, 0.75, 1.0, 1.0]
PRE = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
CLUSTERS = [0, 0, 1, 1, 1, 1]


@pytest.mark.parametrize("theta", [1.0, -3.0, -2.180204156124447e16, 7.5e15])
def test_statistic_is_exact_and_silent_at_any_theta(theta: float) -> None:
    test = _test(POST, PRE, CLUSTERS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the old code raised RuntimeWarning: divide by zero at the huge thetas
        value = test.t_observed(theta)
    assert value == pytest.approx(_exact_t(POST, PRE, CLUSTERS, Fraction(theta)), rel=1e-9)


def test_zero_spread_reads_as_infinite_away_from_the_estimate_and_zero_at_it() -> None:
    # Every cluster has the same mean before and after: the cluster-robust spread of a(theta) is exactly zero.
    post, pre, clusters = [1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0, 0, 1, 1]
    test = _test(post, pre, clusters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert test.t_observed(1.0) == math.inf  # sum(a) = 2 > 0: theta = 1 is rejected as strongly as possible
        assert test.t_observed(3.0) == -math.inf
        assert test.t_observed(2.0) == 0.0  # theta = post / pre, the estimate itself: no evidence against it
        assert test.p_two_sided(2.0) == 1.0
