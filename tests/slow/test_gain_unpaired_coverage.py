"""Unpaired knowledge gain (issue 15.1), reduced from benchmarks/gain_unpaired_study.py (1,000 replications there):
the reported SE tracks the Monte Carlo SD and the primary interval covers, with and without clusters."""

from __future__ import annotations

import pytest

from benchmark_modules import load_benchmark

from oca_experiments._blas import single_thread_blas


def _benchmark():
    return load_benchmark("gain_unpaired_study.py", "oca_gain_unpaired_benchmark")


@pytest.mark.slow
@pytest.mark.parametrize("clustered", [False, True])
def test_unpaired_gain_se_matches_the_monte_carlo_sd(clustered: bool) -> None:
    benchmark = _benchmark()
    with single_thread_blas():
        study = benchmark.run(clustered=clustered, reps=150, seed=2, draws=199)
    # 150 replications: the SD is known to about 6%, coverage to about 1.5 points. The old SE was 2.8-6x the SD.
    assert 0.87 < study.se_ratio < 1.13, study.lines()
    assert 0.92 <= study.coverage["primary"] <= 0.98, study.lines()
