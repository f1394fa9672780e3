"""Lee bounds' bootstrap is computed in bounded-memory blocks of draws (issue 21); the numbers must not change."""

from __future__ import annotations

import numpy as np
import pytest

from oca_experiments.estimators._attrition import lee_bounds


def _attrited_sample(n: int, clustered: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(7)
    clusters = rng.integers(0, 40, n) if clustered else None
    treated = (clusters % 2 == 0) if clusters is not None else rng.random(n) < 0.5
    outcome = rng.lognormal(0.0, 1.0, n) + 0.3 * treated  # skewed, so trimming matters
    stays = rng.random(n) < np.where(treated, 0.85, 0.7)
    return np.where(stays, outcome, np.nan), stays, treated, clusters


@pytest.mark.parametrize("clustered", [False, True], ids=["iid", "clustered"])
def test_blocked_bootstrap_equals_one_block(clustered: bool) -> None:
    outcome, stays, treated, clusters = _attrited_sample(600, clustered)
    one_block = lee_bounds(outcome, stays, treated, clusters, level=0.95, seed=11, draws=199,
                           chunk_elements=10**12, prefix_elements=0)  # the former single draws x n matrix
    blocked = lee_bounds(outcome, stays, treated, clusters, level=0.95, seed=11, draws=199,
                         chunk_elements=600 * 7, prefix_elements=0)  # 7 draws per block, last one partial
    assert blocked["draws"] == one_block["draws"] > 150
    for key in ("lower", "upper", "trim_share", "se_lower", "se_upper", "ci_low", "ci_high"):
        assert blocked[key] == pytest.approx(one_block[key], rel=1e-12, abs=1e-15), key
    assert blocked["trimmed_arm"] == one_block["trimmed_arm"]


@pytest.mark.parametrize("n_clusters,decimals", [(2, 0), (6, 1), (40, 6), (150, 2)])
def test_by_cluster_bootstrap_equals_draws_by_units_blocks(n_clusters: int, decimals: int) -> None:
    """The per-cluster prefix path (no draws x units matrix; issue 21) gives the block path's numbers: ties (rounded
    outcomes), two clusters, clusters larger than the trimmed share, and either arm trimmed."""
    rng = np.random.default_rng(n_clusters)
    n = 900
    clusters = rng.integers(0, n_clusters, n)
    treated = clusters % 2 == 0
    outcome = np.round(rng.lognormal(0.0, 1.0, n), decimals) + 0.3 * treated
    stays = rng.random(n) < np.where(treated, 0.9 if n_clusters % 4 else 0.6, 0.75)
    args = (np.where(stays, outcome, np.nan), stays, treated, clusters)
    blocks = lee_bounds(*args, level=0.9, seed=3, draws=149, prefix_elements=0)
    by_cluster = lee_bounds(*args, level=0.9, seed=3, draws=149, prefix_elements=10**9)
    assert by_cluster["draws"] == blocks["draws"] > 100
    assert by_cluster["trimmed_arm"] == blocks["trimmed_arm"]
    for key in ("lower", "upper", "trim_share", "se_lower", "se_upper", "ci_low", "ci_high"):
        assert by_cluster[key] == pytest.approx(blocks[key], rel=1e-12, abs=1e-15), key
