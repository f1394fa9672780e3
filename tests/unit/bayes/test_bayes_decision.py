"""Decision outputs, the diagnostics gate and the Bayesian verdict rule, on synthetic draws (no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from oca_experiments.bayes import Thresholds, check_diagnostics, eti, hdi, summarize_draws
from oca_experiments.summarize import UNRELIABLE, bayesian_verdict

RNG = np.random.default_rng(7)


def test_hdi_is_shortest_and_eti_is_equal_tailed() -> None:
    draws = RNG.normal(0.0, 1.0, 200_000)
    low, high = hdi(draws, 0.95)
    assert high - low == pytest.approx(2 * 1.96, abs=0.03) and (low + high) / 2 == pytest.approx(0.0, abs=0.05)
    skewed = RNG.exponential(1.0, 200_000)
    h_low, h_high = hdi(skewed, 0.9)
    e_low, e_high = eti(skewed, 0.9)
    assert h_high - h_low < e_high - e_low
    assert h_low == pytest.approx(0.0, abs=0.01) and e_low == pytest.approx(-np.log(0.95), abs=0.01)


def test_summary_probabilities_and_rope_decision() -> None:
    draws = RNG.normal(0.3, 0.05, (4, 5000))
    s = summarize_draws(draws, sesoi=0.1)
    assert s["mean"] == pytest.approx(0.3, abs=0.005) and s["sd"] == pytest.approx(0.05, abs=0.002)
    assert s["p_gt_0"] == 1.0 and s["p_gt_sesoi"] > 0.99 and s["rope_decision"] == "outside ROPE"
    assert s["mcse_mean"] == pytest.approx(0.05 / np.sqrt(20_000), rel=0.2)
    inside = summarize_draws(RNG.normal(0.0, 0.02, 20_000), sesoi=0.1)
    assert inside["rope_decision"] == "practically equivalent" and inside["p_in_rope"] > 0.99
    wide = summarize_draws(RNG.normal(0.1, 0.2, 20_000), sesoi=0.1, interval_kind="eti")
    assert wide["rope_decision"] == "undecided" and wide["interval"] == "eti"
    assert summarize_draws(RNG.normal(size=100))["rope_decision"] is None


def _posterior(values: dict[str, np.ndarray]) -> xr.Dataset:
    return xr.Dataset({k: (("chain", "draw", *[f"{k}_dim{i}" for i in range(v.ndim - 2)]), v)
                       for k, v in values.items()})


def _stats(divergent: int = 0, chains: int = 4, draws: int = 1000) -> xr.Dataset:
    diverging = np.zeros((chains, draws), dtype=bool)
    diverging.flat[:divergent] = True
    return xr.Dataset({"diverging": (("chain", "draw"), diverging),
                       "energy": (("chain", "draw"), RNG.normal(size=(chains, draws)))})


def test_gate_passes_well_mixed_chains() -> None:
    post = _posterior({"a": RNG.normal(size=(4, 1000)), "b": RNG.normal(size=(4, 1000, 3))})
    report = check_diagnostics(post, _stats(), Thresholds())
    assert report.passed and report.failures == ()
    assert [r["parameter"] for r in report.table] == ["a", "b"] and report.table[1]["size"] == 3
    assert report.to_dict()["thresholds"]["max_rhat"] == 1.01


def test_gate_flags_rhat_ess_and_divergences_with_numbers() -> None:
    stuck = RNG.normal(size=(4, 1000)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    sticky = np.cumsum(RNG.normal(size=(4, 1000)), axis=1)  # a random walk: tiny ESS
    report = check_diagnostics(_posterior({"stuck": stuck, "sticky": sticky}), _stats(divergent=3), Thresholds())
    assert not report.passed
    text = " ".join(report.failures)
    assert "R-hat" in text and "bulk ESS" in text and "tail ESS" in text and "3 divergent transitions > 0" in text
    verdict = bayesian_verdict(posterior={"p_gt_0": 1.0, "p_gt_sesoi": 1.0}, diagnostics=report.to_dict(),
                               direction="increase", sesoi=0.1)
    assert verdict.verdict.startswith(UNRELIABLE) and "divergent" in verdict.verdict


def test_gate_ignores_quantities_constant_by_construction() -> None:
    post = _posterior({"a": RNG.normal(size=(4, 1000)), "fixed": np.zeros((4, 1000))})
    assert check_diagnostics(post, _stats(), Thresholds()).passed


PASSED = {"passed": True, "failures": []}


@pytest.mark.parametrize("posterior, direction, sesoi, against, expected", [
    ({"p_gt_0": 0.999, "p_lt_0": 0.001, "p_gt_sesoi": 0.97, "p_lt_minus_sesoi": 0.0}, "increase", 0.1, "sesoi",
     "supported"),
    ({"p_gt_0": 0.999, "p_lt_0": 0.001, "p_gt_sesoi": 0.80, "p_lt_minus_sesoi": 0.0}, "increase", 0.1, "sesoi",
     "inconclusive"),
    ({"p_gt_0": 0.999, "p_lt_0": 0.001, "p_gt_sesoi": 0.80, "p_lt_minus_sesoi": 0.0}, "increase", 0.1, "zero",
     "supported"),
    ({"p_gt_0": 0.6, "p_lt_0": 0.4, "p_gt_sesoi": 0.01, "p_lt_minus_sesoi": 0.0}, "increase", 0.1, "sesoi",
     "not supported"),
    ({"p_gt_0": 0.0, "p_lt_0": 1.0, "p_gt_sesoi": 0.0, "p_lt_minus_sesoi": 0.99}, "decrease", 0.02, "sesoi",
     "supported"),
    ({"p_gt_0": 0.5, "p_lt_0": 0.5, "p_gt_sesoi": 0.0, "p_lt_minus_sesoi": 0.0, "p_in_rope": 0.99}, "any", 0.1,
     "sesoi", "not supported"),
    ({"p_gt_0": 0.99, "p_lt_0": 0.01}, "increase", None, "sesoi", "supported"),
])
def test_bayesian_verdict_rule(posterior, direction, sesoi, against, expected) -> None:
    verdict = bayesian_verdict(posterior=posterior, diagnostics=PASSED, direction=direction, sesoi=sesoi,
                               against=against)
    assert verdict.verdict == expected, verdict.reason
