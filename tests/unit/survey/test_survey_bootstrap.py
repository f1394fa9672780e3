"""Wild cluster bootstrap and randomization inference: agreement with wildboottest (pyfixest's engine) and with a
brute-force R implementation on the same weights, test inversion, seeding, and the exact permutation distribution.

Tolerances: bootstrap t-statistics 1e-10 relative (same weights, same algebra up to rounding); p-values exactly
equal, except that with enumerated weights the two identity draws (all +1, all -1) tie with the observed t: oca
counts ties (conservative), wildboottest counts only strictly larger draws, so p differs by at most 2 / 2^G.
"""

from __future__ import annotations

import io
import itertools
import warnings

import numpy as np
import pytest
from survey_helpers import WEBB, make_spec, panel, read_reference_csv

from oca_experiments.estimators._cluster_inference import (
    _BootstrapPieces,
    bootstrap_weights,
    enumerated_weights,
    randomization_test,
    wild_cluster_bootstrap,
)
from oca_experiments.estimators._linalg import factorize, fit_within


def _cross_section(name: str = "few_clusters"):
    data = read_reference_csv(f"{name}.csv")
    x = np.column_stack([np.ones(len(data)), data["treat"], data["y0"], data["x"]])
    labels, codes = np.unique(data["g"].to_numpy(), return_inverse=True)
    return data, x, fit_within(data["y1"].to_numpy(), x, fixed_effects=[], clusters=codes), [str(v) for v in labels]


def _wildboottest(x, y, clusters, index, weights):
    from wildboottest.wildboottest import WildboottestCL

    restriction = np.zeros(x.shape[1])
    restriction[index] = 1.0
    codes = np.unique(clusters, return_inverse=True)[1]  # numba needs numbers, in sorted label order
    boot = WildboottestCL(X=x, Y=y, cluster=codes, R=restriction, B=weights.shape[0], seed=1, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=True)
    boot.get_weights("rademacher")
    boot.v, boot.B = weights.T.copy(), weights.shape[0]  # the same weights as oca: columns in sorted label order
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue()
    return boot


def test_same_draws_as_wildboottest_with_webb_weights() -> None:
    data, x, design, labels = _cross_section()
    weights = bootstrap_weights(labels, 999, "webb", seed=7)
    assert not np.any(np.all(weights == weights[:, :1], axis=1))  # no draw proportional to the identity (a tie)
    ours = _BootstrapPieces(design, 1, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _wildboottest(x, data["y1"].to_numpy(), data["g"].to_numpy(), 1, weights)
    assert np.max(np.abs(ours.t_draws(0.0) - ref.t_boot) / np.abs(ref.t_boot)) < 1e-10
    assert abs(ours.t_observed(0.0) - float(np.squeeze(ref.t_stat))) < 1e-10
    assert ours.p_two_sided(0.0) == pytest.approx(float(ref.pvalue), abs=1e-12)


def test_enumerated_rademacher_matches_wildboottest_up_to_ties() -> None:
    data, x, design, labels = _cross_section()
    weights = enumerated_weights(len(labels), "rademacher")
    assert weights.shape == (2 ** 6, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _wildboottest(x, data["y1"].to_numpy(), data["g"].to_numpy(), 1, weights)
    ours = _BootstrapPieces(design, 1, weights)
    assert np.max(np.abs(np.sort(ours.t_draws(0.0)) - np.sort(ref.t_boot))) < 1e-10
    assert 0 <= ours.p_two_sided(0.0) - float(ref.pvalue) <= 2 / 64 + 1e-12


def test_matches_brute_force_r_on_committed_weights(r_reference) -> None:
    data, x, design, labels = _cross_section()
    codes = read_reference_csv("weights_few.csv").to_numpy()
    ours = _BootstrapPieces(design, 1, WEBB[codes])
    ref = r_reference["wild_few"]
    assert np.max(np.abs(ours.t_draws(0.0) - np.array(ref["t_star"]))) < 1e-10
    assert ours.p_two_sided(0.0) == pytest.approx(ref["p"], abs=1e-12)
    # Panel with respondent dummies in R (K counts them) and absorbed in oca (fixest's nested K): the t's differ by
    # the constant ratio of the CR1 factors, the p-value not at all.
    panel_data = read_reference_csv("panel.csv")
    panel_data = panel_data.loc[panel_data.groupby("pid")["round"].transform("nunique") == 2].reset_index(drop=True)
    post = (panel_data["round"] == "post").to_numpy(float)
    fitted = fit_within(panel_data["y"].to_numpy(), np.column_stack([panel_data["arm"].to_numpy() * post, post]),
                        fixed_effects=[factorize(panel_data["pid"].to_numpy())[0]],
                        clusters=factorize(panel_data["village"].to_numpy())[0])
    pieces = _BootstrapPieces(fitted, 0, WEBB[read_reference_csv("weights_panel.csv").to_numpy()])
    ratio = pieces.t_draws(0.0) / np.array(r_reference["wild_panel"]["t_star"])
    expected = np.sqrt((fitted.n_obs - fitted.k_cluster) / (fitted.n_obs - fitted.k_full))
    assert np.max(np.abs(ratio / expected - 1)) < 1e-8
    assert pieces.p_two_sided(0.0) == pytest.approx(r_reference["wild_panel"]["p"], abs=1e-12)


def test_interval_inverts_the_test() -> None:
    _, _, design, labels = _cross_section("cross_section")
    test = wild_cluster_bootstrap(design, 1, labels=labels, draws=1999, weights="webb", seed=3, ci_level=0.95,
                                  tails="two", direction="any", alpha=0.05)
    pieces = _BootstrapPieces(design, 1, bootstrap_weights(labels, 1999, "webb", 3))
    width = test.ci_high - test.ci_low
    for bound, outward in ((test.ci_low, -1), (test.ci_high, 1)):
        assert pieces.p_two_sided(bound - outward * 1e-6 * width) >= 0.05
        assert pieces.p_two_sided(bound + outward * 1e-6 * width) < 0.05
    assert test.sesoi_low > test.ci_low and test.sesoi_high < test.ci_high  # the 90% interval is inside


def test_seeded_and_recorded() -> None:
    _, _, design, labels = _cross_section("cross_section")
    kwargs = dict(labels=labels, draws=999, weights="webb", ci_level=0.95, tails="one", direction="increase",
                  alpha=0.05)
    first = wild_cluster_bootstrap(design, 1, seed=11, **kwargs)
    assert wild_cluster_bootstrap(design, 1, seed=11, **kwargs).record() == first.record()
    assert first.record()["seed"] == 11 and first.record()["draws"] == 999
    assert not first.null_t.flags.writeable


def test_weights_follow_cluster_labels_not_positions() -> None:
    """Hypotheses on the same clusters get the same weight per cluster, whatever other clusters they have."""
    full = bootstrap_weights(["a", "b", "c"], 50, "webb", seed=5)
    subset = bootstrap_weights(["b", "c"], 50, "webb", seed=5)
    assert np.array_equal(full[:, 1:], subset)
    assert set(np.unique(np.abs(full)).round(6)) <= {round(np.sqrt(0.5), 6), 1.0, round(np.sqrt(1.5), 6)}


def test_progress_bar_stays_off_without_a_terminal(monkeypatch) -> None:
    import sys

    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    _, _, design, labels = _cross_section("cross_section")
    wild_cluster_bootstrap(design, 1, labels=labels, draws=999, weights="webb", seed=1, ci_level=0.95,
                           tails="two", direction="any", alpha=0.05)
    assert fake.getvalue() == ""


def test_randomization_inference_is_exact_when_assignments_can_be_enumerated() -> None:
    df = panel(seed=2, clusters=8, per_cluster=10, attrition=0.0)
    df = df.assign(post=(df["round"] == "post").astype(float))
    clusters = factorize(df["village"].to_numpy())[0]
    arm_of_cluster = df.groupby(clusters)["arm"].first().to_numpy(dtype=float)
    onehot = np.eye(8)[clusters]
    units = factorize(df["pid"].to_numpy())[0]
    from oca_experiments.estimators._linalg import demean

    y = demean(df["y"].to_numpy(), [units])[:, 0]
    post = demean(df["post"].to_numpy(), [units])
    basis = demean(onehot * df["post"].to_numpy()[:, None], [units])
    observed = fit_within(df["y"].to_numpy(), np.column_stack([df["arm"] * df["post"], df["post"]]),
                          fixed_effects=[units], clusters=clusters).params[0]
    test = randomization_test(y, post, [basis], arm_of_cluster, target=0, blocks=None, blocks_label=None,
                              draws=9999, seed=1, tails="two", direction="any", observed=float(observed))
    assert test.enumerated and test.n_assignments == 70 and test.draws == 70
    # Brute force: re-fit the DiD for each of the 70 assignments of 4 treated among 8 clusters.
    estimates = []
    for chosen in itertools.combinations(range(8), 4):
        arm = np.isin(clusters, chosen).astype(float)
        estimates.append(fit_within(df["y"].to_numpy(), np.column_stack([arm * df["post"], df["post"]]),
                                    fixed_effects=[units], clusters=clusters).params[0])
    expected = np.mean(np.abs(estimates) >= abs(observed) - 1e-12)
    assert test.p_value == pytest.approx(expected, abs=1e-12)


def test_randomization_within_blocks_keeps_each_block_balanced() -> None:
    from oca_experiments.estimators import SurveyDiDOptions, fit_survey_did

    df = panel(seed=5, clusters=16, per_cluster=10)
    spec = make_spec(inference={"randomization": {"draws": 999, "blocks": "block"}})
    result = fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="x.csv")
    record = result.extras["inference"]["alternatives"]["randomization"]
    assert record["blocks"] == "block" and record["possible_assignments"] == 6 ** 4
    assert record["enumerated"] is False and record["draws"] == 999
    assert 0 < record["p_value"] <= 1


def test_few_cluster_rule_fires_and_says_why() -> None:
    from oca_experiments.estimators import SurveyDiDOptions, fit_survey_did

    df = panel(seed=3, clusters=10)
    result = fit_survey_did(df, df["y"], make_spec(), SurveyDiDOptions(), file="x.csv")
    record = result.extras["inference"]
    assert result.se_type == "wild_webb" and record["rule"]["fired"] and result.df is None
    assert "10 clusters < registered threshold 30" in record["rule"]["reason"]
    assert record["alternatives"]["CR1"]["std_error"] == pytest.approx(result.std_error)
    assert result.ci_low < result.estimate < result.ci_high
    many = panel(seed=3, clusters=32, per_cluster=8)
    kept = fit_survey_did(many, many["y"], make_spec(), SurveyDiDOptions(), file="x.csv")
    assert kept.se_type == "CR1" and not kept.extras["inference"]["rule"]["fired"] and kept.df == 31


def test_rule_can_prefer_cr2_and_keeps_registered_cr2_or_wild() -> None:
    from oca_experiments.estimators import SurveyDiDOptions, fit_survey_did

    df = panel(seed=3, clusters=10)
    cr2 = fit_survey_did(df, df["y"], make_spec(inference={"few_clusters": {"method": "cr2"}}), SurveyDiDOptions(),
                         file="x.csv")
    assert cr2.se_type == "CR2" and 0 < cr2.df < 9
    registered = fit_survey_did(df, df["y"], make_spec(inference={"se": "wild", "bootstrap": {
        "weights": "rademacher", "draws": 999}}), SurveyDiDOptions(), file="x.csv")
    assert registered.se_type == "wild_rademacher" and not registered.extras["inference"]["rule"]["fired"]
    assert registered.extras["inference"]["alternatives"]["wild_rademacher"]["enumerated"] is False  # 2^10 > 999


def test_knowledge_gain_wild_interval_is_fieller_type() -> None:
    from oca_experiments.estimators._gain import _RatioWildBootstrap

    rng = np.random.default_rng(4)
    clusters = np.repeat(np.arange(8), 25)
    pre = rng.uniform(2, 6, clusters.size) + rng.normal(0, 0.5, 8)[clusters]
    post = pre * 1.3 + rng.normal(0, 1, clusters.size)
    test = _RatioWildBootstrap(post, pre, clusters, enumerated_weights(8, "rademacher"))
    theta = post.mean() / pre.mean()
    assert test.t_observed(theta) == pytest.approx(0.0, abs=1e-10)
    assert test.p_two_sided(theta) == 1.0
    # Far from the estimate the test rejects: the inverted interval is bounded on both sides.
    assert test.p_two_sided(theta * 0.8) < 0.05 and test.p_two_sided(theta * 1.2) < 0.05
