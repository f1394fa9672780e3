"""Summarize stage: the registered verdict rule."""

from __future__ import annotations

import pytest

from oca_experiments.summarize import frequentist_verdict


@pytest.mark.parametrize("estimate, se, p, direction, sesoi, expected", [
    (0.30, 0.05, 0.0001, "increase", 0.1, "supported"),
    (-0.30, 0.05, 0.0001, "increase", 0.1, "not supported"),   # significant, wrong way
    (0.01, 0.02, 0.62, "increase", 0.1, "not supported"),      # CI upper bound below SESOI
    (0.05, 0.08, 0.53, "increase", 0.1, "inconclusive"),       # wide CI
    (0.00, 0.01, 0.99, "any", 0.1, "not supported"),           # equivalence within +/- SESOI
    (0.00, 0.10, 0.99, "any", 0.1, "inconclusive"),
    (-0.2, 0.05, 0.0002, "decrease", 0.05, "supported"),
    (0.05, 0.08, 0.53, "increase", None, "inconclusive"),
])
def test_verdicts(estimate, se, p, direction, sesoi, expected) -> None:
    v = frequentist_verdict(estimate=estimate, std_error=se, df=23, p_value=p, alpha=0.05, direction=direction,
                            sesoi=sesoi)
    assert v.verdict == expected
    assert v.reason and "\n" not in v.reason
