"""The reliability bootstrap no longer materialises draws x n x k copies (issue 21); its numbers must not change."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments.outcomes import _bootstrap_covariances, reliability


def _materialised_covariances(complete: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    """The former implementation: index blocks of 100 x n, copied rows, centred per resample."""
    n, k = complete.shape
    covs = np.empty((draws, k, k))
    for start in range(0, draws, 100):
        samples = complete[rng.integers(0, n, (min(100, draws - start), n))]
        centred = samples - samples.mean(axis=1, keepdims=True)
        covs[start:start + samples.shape[0]] = centred.transpose(0, 2, 1) @ centred / (n - 1)
    return covs


def _likert_items(n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    trait = rng.normal(size=(n, 1))
    return np.clip(np.round(3 + trait + rng.normal(scale=0.8, size=(n, k))), 1, 5)


@pytest.mark.parametrize(("n", "draws"), [(301, 250), (2000, 100)])
def test_counts_covariances_match_materialised_resamples(n: int, draws: int) -> None:
    items = _likert_items(n, 5)
    old = _materialised_covariances(items, np.random.default_rng(9), draws)
    new = _bootstrap_covariances(items, np.random.default_rng(9), draws)
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=1e-14)


def test_reliability_record_unchanged_on_fixed_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _likert_items(500, 4)
    new = reliability(items, draws=200, seed=5)
    import oca_experiments.outcomes as outcomes

    monkeypatch.setattr(outcomes, "_bootstrap_covariances", _materialised_covariances)
    old = reliability(items, draws=200, seed=5)
    assert new["omega_ci"] == pytest.approx(old["omega_ci"], rel=1e-12)
    assert new["omega"] == old["omega"] and new["alpha_ci"] == old["alpha_ci"]


@pytest.mark.parametrize("block_elements", [10**9, 700], ids=["one block", "pattern blocks of a few draws"])
def test_continuous_items_without_repeats_match_materialised(block_elements: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows enter by answer pattern (issue 21); continuous items have one pattern per row, and the draw blocks
    bounded by patterns x draws give the same covariances."""
    import oca_experiments.outcomes as outcomes

    monkeypatch.setattr(outcomes, "_PATTERN_BLOCK_ELEMENTS", block_elements)
    items = np.random.default_rng(4).lognormal(size=(350, 3))
    old = _materialised_covariances(items, np.random.default_rng(2), 230)
    new = _bootstrap_covariances(items, np.random.default_rng(2), 230)
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("pick_elements", [1, 3 * 301 + 1, 7 * 301], ids=["one draw", "3 draws", "7 draws"])
def test_picks_drawn_a_few_draws_at_a_time_are_the_same_resamples(pick_elements: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Row picks are drawn a few draws per call so they stay in cache (issue 21: 100 x n blocks were 400 MB at 1M
    rows); the calls, which need not divide the blocks of 100, must give the very same resamples."""
    import oca_experiments.outcomes as outcomes

    monkeypatch.setattr(outcomes, "_PICK_BLOCK_ELEMENTS", pick_elements)
    items = _likert_items(301, 4)
    old = _materialised_covariances(items, np.random.default_rng(9), 250)
    new = _bootstrap_covariances(items, np.random.default_rng(9), 250)
    np.testing.assert_allclose(new, old, rtol=1e-12, atol=1e-14)
    stream = np.random.default_rng(9)
    whole = np.concatenate([stream.integers(0, 301, (100, 301)) for _ in range(3)])[:250]
    drawn = np.array(list(outcomes._resample_picks(np.random.default_rng(9), 301, 250)))
    np.testing.assert_array_equal(drawn, whole)
