"""The invariance fits are cached on their exact moments (issue 14 acceptance 5, issue 21: a cold demo fitted each
index's three-level CFA twice per hypothesis, once in the testability check and once in the estimate, and again
for every hypothesis sharing the index). A cache hit must not refit, a change in the data must, the cache stays
bounded, and a hit returns the same record a fresh fit gives."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments import measurement
from oca_experiments.measurement import measurement_invariance


def _items(seed: int, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    eta = rng.normal(0.0, 1.0, 4 * n)
    x = 3.0 + eta[:, None] * np.array([0.8, 0.7, 0.6, 0.75]) + rng.normal(0.0, 0.7, (4 * n, 4))
    groups = np.repeat(["a", "b", "c", "d"], n).astype(object)
    return x, groups


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = measurement.fit_level

    def counting(level, groups, **kwargs):
        calls.append(level)
        return real(level, groups, **kwargs)

    monkeypatch.setattr(measurement, "fit_level", counting)
    monkeypatch.setattr(measurement, "_fitted", type(measurement._fitted)())
    return calls


def test_the_same_moments_are_fitted_once(counted: list[str]) -> None:
    x, groups = _items(1)
    first = measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"))
    fits = len(counted)
    assert fits >= 3  # configural, metric, scalar (and partial scalar when scalar fails)
    again = measurement_invariance(x.copy(), groups.copy(), ("q1", "q2", "q3", "q4"))
    assert len(counted) == fits  # a hit: no refit
    assert again == first


def test_other_data_items_or_note_refit(counted: list[str]) -> None:
    x, groups = _items(2)
    measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"))
    n = len(counted)
    changed = x.copy()
    changed[0, 0] += 1e-9  # any change in the numbers is another key
    measurement_invariance(changed, groups, ("q1", "q2", "q3", "q4"))
    assert len(counted) == 2 * n
    measurement_invariance(x, groups, ("q1", "q2", "q3", "q5"))
    measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"), note="waves are not independent")
    assert len(counted) == 4 * n


def test_a_hit_equals_a_fresh_fit(counted: list[str]) -> None:
    x, groups = _items(3)
    cached = measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"))
    measurement._fitted.clear()
    fresh = measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"))
    assert cached.to_dict() == fresh.to_dict()


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch, counted: list[str]) -> None:
    monkeypatch.setattr(measurement, "INVARIANCE_CACHE_SIZE", 2)
    for seed in (4, 5, 6):
        x, groups = _items(seed, n=40)
        measurement_invariance(x, groups, ("q1", "q2", "q3", "q4"))
    assert len(measurement._fitted) == 2
