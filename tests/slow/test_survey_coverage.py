"""Reduced coverage grid (benchmarks/coverage_study.py): the default few-cluster rule keeps 95% intervals at 93% or
more where it claims valid inference, in the designs the issue named (few treated clusters, one treated cluster
among many, 6 clusters, unpaired gains, shares with 6 clusters), and CR1 does not (so the test can fail)."""

from __future__ import annotations

import pytest

from benchmark_modules import load_benchmark

from oca_experiments._blas import single_thread_blas

CELLS = [  # (estimator, G, G1, ICC, errors, sizes)
    ("survey_did", 12, 2, 0.05, "normal", "unequal"),   # randomization inference
    ("ancova", 20, 1, 0.2, "skewed", "unequal"),        # randomization inference, one treated cluster
    ("survey_did", 6, 3, 0.05, "normal", "unequal"),    # CR2 (randomization cannot reject with 20 assignments)
    ("gain_unpaired", 8, None, 0.2, "skewed", "unequal"),
    ("share", 6, None, 0.05, "normal", "unequal"),
]


def _benchmark():
    return load_benchmark("coverage_study.py", "oca_coverage_benchmark")


@pytest.mark.slow
def test_default_rule_covers_where_it_claims_valid_inference() -> None:
    benchmark = _benchmark()
    with single_thread_blas():
        cells = [benchmark.run_cell(*key, reps=150, seed=3, draws=99) for key in CELLS]
    for cell in cells:
        assert cell.claim == "valid", cell.row()
        assert cell.rule_rate() >= 0.90, cell.row()  # one cell: 150 replications, Monte Carlo SE about 1.8 points
    pooled = sum(c.hits["rule"] for c in cells) / sum(c.reps for c in cells)
    assert pooled >= benchmark.LOW, [c.row() for c in cells]  # 750 replications: SE about 0.8 points
    # The test can fail: CR1 with few treated clusters covers far less in the same replications.
    assert cells[0].rate("CR1") < benchmark.LOW and cells[1].rate("CR1") < 0.8
