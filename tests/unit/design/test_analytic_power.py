"""Acceptance 2: for a two-arm difference in means, simulated power matches the analytic formula.

With no clusters, no attrition and iid inference, the registered panel DiD is exactly a pooled-variance two-sample
t-test of the respondents' changes, so power is a noncentral t probability (computed here independently of
``oca_experiments.design._analytic``).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from oca_experiments import design

N, SD, IAC, SIMS = 120, 1.0, 0.5, 2000


def noncentral_t_power(effect: float, *, n: int, sd: float, iac: float, alpha: float) -> float:
    per_arm = n // 2
    change_sd = math.sqrt(2 * (1 - iac)) * sd
    shift = effect / (change_sd * math.sqrt(2 / per_arm))
    df = n - 2
    # "Supported" needs p < alpha (two-sided) and the registered direction (increase): the upper tail only.
    return float(stats.nct.sf(stats.t.ppf(1 - alpha / 2, df), df, shift))




@pytest.mark.parametrize("effect", [0.0, 0.25, 0.4])
def test_simulated_power_matches_the_noncentral_t(variant_study, effect: float) -> None:
    study = variant_study({"design.cluster": None, "inference.se": "iid", "inference.randomization": None})
    diagnosis = design.diagnose(study, "h1_horizontal_trust", sims=SIMS, seed=7, curve_points=3,
                                design={"respondents": N, "effect": effect, "attrition": 0.0, "outcome_sd": SD,
                                        "individual_autocorrelation": IAC})
    power = diagnosis.diagnosands["power"]
    expected = noncentral_t_power(effect, n=N, sd=SD, iac=IAC, alpha=0.05)
    mc_se = math.sqrt(expected * (1 - expected) / SIMS)
    assert abs(power["value"] - expected) < 3.5 * mc_se, (effect, power, expected)
    assert power["mc_se"] == pytest.approx(mc_se, abs=0.005)
    # The module's closed form is exact in this case too.
    assert diagnosis.to_dict()["analytic"]["power"] == pytest.approx(expected, abs=1e-9)
    if effect:
        coverage = diagnosis.diagnosands["coverage"]
        assert abs(coverage["value"] - 0.95) < 3.5 * coverage["mc_se"] + 1e-9
        assert abs(diagnosis.diagnosands["bias"]["value"]) < 3.5 * diagnosis.diagnosands["bias"]["mc_se"]
