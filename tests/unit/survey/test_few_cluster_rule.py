"""The few-cluster rule keys on treated and comparison clusters (issue 15.3), and shares use Korn-Graubard df (15.4).

With few treated clusters CR2 and the wild bootstrap cover about 99% (two treated) or 56-85% (one treated), so the
rule makes randomization inference primary there, with the interval that inverts it, and refuses (saying why) when
no valid test exists. The grid behind the thresholds is benchmarks/coverage_study.py (table in docs/inference.md).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from survey_helpers import make_spec, panel

from oca_experiments.estimators import CATALOG, SurveyDiDOptions, fit_survey_did
from oca_experiments.estimators._ancova import fit_ancova
from oca_experiments.estimators._gain import fit_share, wilson_interval
from oca_experiments.estimators._inference import ClusterCounts, few_cluster_decision
from oca_experiments.estimators._survey_frame import NotTestable


def _treat_first(frame: pd.DataFrame, treated: int) -> pd.DataFrame:
    chosen = {f"v{g:02d}" for g in range(treated)}
    return frame.assign(arm=frame["village"].isin(chosen).astype(int))


@pytest.mark.parametrize("treated, comparison, expected", [
    (1, 11, "randomization"), (2, 6, "randomization"), (3, 9, "randomization"), (9, 3, "randomization"),
    (4, 4, "CR2"), (6, 14, "wild_webb"), (20, 20, "CR1")])
def test_rule_keys_on_the_smaller_arm(treated: int, comparison: int, expected: str) -> None:
    method, rule = few_cluster_decision(make_spec(), treated + comparison,
                                        counts=ClusterCounts(treated, comparison, 12.0))
    assert method == expected
    assert rule["clusters_treated"] == treated and rule["clusters_comparison"] == comparison
    if expected == "randomization":
        assert rule["fired"] and rule["tier"] == "few clusters in one arm"
        assert f"has {min(treated, comparison)} cluster" in rule["reason"]


def test_registered_cr2_does_not_survive_one_treated_cluster() -> None:
    spec = make_spec(inference={"se": "CR2"})
    assert few_cluster_decision(spec, 12)[0] == "CR2"  # total count alone: kept, as before
    assert few_cluster_decision(spec, 12, counts=ClusterCounts(1, 11, 1.0))[0] == "randomization"


def test_high_leverage_moves_the_wild_bootstrap_to_cr2() -> None:
    method, rule = few_cluster_decision(make_spec(), 20, counts=ClusterCounts(5, 15, 4.0))
    assert method == "CR2" and "leverage" in rule["tier"]


def _randomization_by_brute_force(frame: pd.DataFrame, tau: float) -> float:
    """Two-sided randomization p-value of effect tau: shift treated post outcomes by -tau, re-estimate the DiD
    with every assignment of the same number of treated villages (plain pandas, independent of the estimator)."""
    wide = frame.pivot(index="pid", columns="round", values="y").dropna()
    info = frame.groupby("pid")[["village", "arm"]].first().loc[wide.index]
    change = wide["post"] - wide["pre"] - tau * info["arm"]
    villages = sorted(info["village"].unique())
    treated = int(info.groupby("village")["arm"].first().sum())

    def did(chosen: set[str]) -> float:
        is_treated = info["village"].isin(chosen)
        return change[is_treated].mean() - change[~is_treated].mean()

    observed = did(set(info.loc[info["arm"] == 1, "village"]))
    draws = [did(set(c)) for c in itertools.combinations(villages, treated)]
    return float(np.mean(np.abs(draws) >= abs(observed) - 1e-12))


def test_two_treated_clusters_use_randomization_inference_matching_brute_force() -> None:
    frame = _treat_first(panel(seed=8, clusters=10), 2)
    spec = make_spec(inference={"bootstrap": {"draws": 999}})
    result = fit_survey_did(frame, frame["y"], spec, SurveyDiDOptions(), file="p.csv")
    assert result.se_type == "randomization"
    record = result.extras["inference"]["alternatives"]["randomization"]
    assert record["enumerated"] and record["assignments"] == math.comb(10, 2)
    assert result.p_value_two_sided == pytest.approx(_randomization_by_brute_force(frame, 0.0), abs=1e-12)
    # The interval inverts the test: just inside each end the effect is not rejected, just outside it is.
    for end, outward in ((result.ci_low, -1.0), (result.ci_high, 1.0)):
        assert _randomization_by_brute_force(frame, end - outward * 1e-6) > 0.05
        assert _randomization_by_brute_force(frame, end + outward * 1e-6) <= 0.05


def test_one_treated_cluster_is_refused_when_no_test_can_reject() -> None:
    frame = _treat_first(panel(seed=8, clusters=10), 1)
    for fitter, name in ((fit_survey_did, "survey_did"), (fit_ancova, "ancova")):
        options = CATALOG[name].options_model()
        with pytest.raises(NotTestable, match="treated arm has 1 cluster.*10 possible assignments"):
            fitter(frame, frame["y"], make_spec(estimator={"name": name}), options, file="p.csv")


def test_one_treated_cluster_of_twenty_gets_randomization_inference() -> None:
    frame = _treat_first(panel(seed=8, clusters=20, per_cluster=12), 1)
    result = fit_ancova(frame, frame["y"], make_spec(estimator={"name": "ancova"}),
                        CATALOG["ancova"].options_model(), file="p.csv")
    assert result.se_type == "randomization" and result.extras["inference"]["rule"]["clusters_treated"] == 1
    assert math.isfinite(result.ci_low) and math.isfinite(result.ci_high)


def test_share_interval_uses_korn_graubard_degrees_of_freedom() -> None:
    rng = np.random.default_rng(2)
    rows = [{"village": f"v{g}", "round": "post", "pid": f"p{g}_{i}", "arm": 0,
             "applied": int(rng.random() < 0.2 + 0.05 * g)} for g in range(6) for i in range(40)]
    frame = pd.DataFrame(rows)
    spec = make_spec(estimator={"name": "share", "options": {"null_share": 0.5}},
                     outcome={"source": "s", "name": "applied",
                              "construction": {"method": "column", "column": "applied"}},
                     inference={"few_clusters": {"threshold": 0}})
    result = fit_share(frame, frame["applied"], spec, CATALOG["share"].options_model(null_share=0.5), file="s.csv")
    values = frame["applied"].to_numpy(float)
    share, n = values.mean(), values.size
    sums = pd.Series(values - share).groupby(frame["village"]).sum().to_numpy()
    cr1 = 6 / 5 * (n - 1) / (n - 1) * np.sum(sums**2) / n**2
    n_eff = n / max(1.0, cr1 / (share * (1 - share) / n))
    n_kg = n_eff * (stats.norm.ppf(0.975) / stats.t.ppf(0.975, 5)) ** 2
    low, high = wilson_interval(share, n_kg, 0.95)
    assert result.ci_low == pytest.approx(low, abs=1e-12) and result.ci_high == pytest.approx(high, abs=1e-12)
    assert result.df == 5
    score = (share - 0.5) / math.sqrt(0.25 / n_eff)
    assert result.p_value_two_sided == pytest.approx(2 * stats.t.sf(abs(score), 5), abs=1e-12)


def test_share_with_four_clusters_says_its_interval_is_conservative() -> None:
    rows = [{"village": f"v{g}", "round": "post", "pid": f"p{g}_{i}", "arm": 0, "applied": int((i + g) % 3 == 0)}
            for g in range(4) for i in range(30)]
    frame = pd.DataFrame(rows)
    spec = make_spec(estimator={"name": "share", "options": {"null_share": 0.5}},
                     outcome={"source": "s", "name": "applied",
                              "construction": {"method": "column", "column": "applied"}})
    result = fit_share(frame, frame["applied"], spec, CATALOG["share"].options_model(null_share=0.5), file="s.csv")
    rule = result.extras["inference"]["rule"]
    assert rule["conservative"] is True and "over-covers" in rule["conservative_reason"]
