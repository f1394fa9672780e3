"""E-BFMI and tree-depth saturation fail the diagnostics gate; one chain is refused for a confirmatory hypothesis
(issue 15, diagnostics gate). Before, both were notes that left the verdict untouched."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from oca_experiments.bayes import Thresholds, check_diagnostics
from oca_experiments.errors import SpecError
from oca_experiments.estimators import CATALOG
from oca_experiments.plan import _check_bayes
from oca_experiments.summarize import UNRELIABLE, bayesian_verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "survey"))
from survey_helpers import make_spec  # noqa: E402

RNG = np.random.default_rng(11)


def _fit(*, energy: np.ndarray, maxdepth: int = 0):
    chains, draws = energy.shape
    posterior = xr.Dataset({"effect": (("chain", "draw"), RNG.normal(size=(chains, draws)))})
    saturated = np.zeros((chains, draws), dtype=bool)
    saturated.flat[:maxdepth] = True
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool)),
                        "energy": (("chain", "draw"), energy), "maxdepth_reached": (("chain", "draw"), saturated)})
    return posterior, stats


def test_low_e_bfmi_fails_the_gate_and_the_verdict() -> None:
    sticky_energy = np.cumsum(RNG.normal(size=(4, 1000)), axis=1)  # energy barely changes between draws
    report = check_diagnostics(*_fit(energy=sticky_energy), Thresholds())
    assert not report.passed and any("E-BFMI" in f for f in report.failures)
    verdict = bayesian_verdict(posterior={"p_gt_0": 1.0, "p_gt_sesoi": 1.0}, diagnostics=report.to_dict(),
                               direction="increase", sesoi=0.1)
    assert verdict.verdict.startswith(UNRELIABLE)


def test_tree_depth_hits_fail_the_gate_unless_registered() -> None:
    fit = _fit(energy=RNG.normal(size=(4, 1000)), maxdepth=5)
    report = check_diagnostics(*fit, Thresholds())
    assert not report.passed and "5 transitions hit the maximum tree depth > 0" in report.failures[0]
    assert check_diagnostics(*fit, Thresholds(max_treedepth_hits=5)).passed
    assert check_diagnostics(*_fit(energy=RNG.normal(size=(4, 1000))), Thresholds()).passed


@pytest.mark.parametrize("kind, chains, refused", [("confirmatory", 1, True), ("exploratory", 1, False),
                                                   ("confirmatory", 2, False)])
def test_single_chain_is_refused_for_confirmatory_hypotheses(kind: str, chains: int, refused: bool) -> None:
    spec = make_spec(type=kind, estimator={"name": "bayes_did"}, bayes={"sampler": {"chains": chains}})
    if refused:
        with pytest.raises(SpecError, match="1 chain"):
            _check_bayes(spec, CATALOG["bayes_did"], "h.yaml")
    else:
        _check_bayes(spec, CATALOG["bayes_did"], "h.yaml")
