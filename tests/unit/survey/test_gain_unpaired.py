"""Knowledge gain with ``paired: false`` (issue 15.1): the influence function is centred within each wave.

The old code stacked ``post/share_post - theta * pre/share_pre`` over all answers and centred it on the pooled mean,
so its variance carried the between-wave difference: SE 0.096 where the delta method gives 0.034. Every check here is
against a formula or a brute-force computation written independently of the estimator. The 1,000-replicate
Monte Carlo check is benchmarks/gain_unpaired_study.py (slow test in tests/slow/test_gain_unpaired_coverage.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from survey_helpers import make_spec

from oca_experiments.estimators._catalog import KnowledgeGainOptions
from oca_experiments.estimators._cluster_inference import _BootstrapPieces, bootstrap_weights
from oca_experiments.estimators._gain import _TwoSampleRatioWildBootstrap, fit_knowledge_gain
from oca_experiments.estimators._linalg import fit_within

UNPAIRED = KnowledgeGainOptions(paired=False)


def _answers(seed: int = 4, clusters: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for wave, mean in (("pre", 5.0), ("post", 5.5)):
        n = 300 if not clusters else int(rng.integers(200, 320))
        village = rng.integers(0, clusters, n) if clusters else np.zeros(n, dtype=int)
        shock = rng.normal(0, 0.6, max(clusters, 1))[village]
        frames.append(pd.DataFrame({"pid": [f"{wave}{i}" for i in range(n)], "round": wave, "arm": 0,
                                    "village": [f"v{g:02d}" for g in village],
                                    "score": mean + shock + rng.normal(0, 2, n)}))
    return pd.concat(frames, ignore_index=True)


def _spec(*, clustered: bool, se: str, **inference):
    design = {"cluster": "village"} if clustered else {"cluster": None}
    return make_spec(estimator={"name": "knowledge_gain", "options": {"paired": False}}, design=design,
                     inference={"se": se, "few_clusters": {"threshold": 0}, **inference})


def test_iid_se_is_the_two_sample_delta_method() -> None:
    frame = _answers()
    result = fit_knowledge_gain(frame, frame["score"], _spec(clustered=False, se="iid"), UNPAIRED, file="k.csv")
    post = frame.loc[frame["round"] == "post", "score"].to_numpy()
    pre = frame.loc[frame["round"] == "pre", "score"].to_numpy()
    theta = post.mean() / pre.mean()
    a, b = post.var(ddof=1) / post.size / pre.mean() ** 2, theta**2 * pre.var(ddof=1) / pre.size / pre.mean() ** 2
    assert result.estimate == pytest.approx(theta - 1, abs=1e-12)
    assert abs(result.std_error - np.sqrt(a + b)) < 1e-10
    assert result.df == pytest.approx((a + b) ** 2 / (a**2 / (post.size - 1) + b**2 / (pre.size - 1)), rel=1e-10)
    assert 0.028 < result.std_error < 0.040  # the old stacked form reported about 0.096 here


def test_cr1_se_sums_the_wave_centred_influence_function_by_cluster() -> None:
    frame = _answers(seed=9, clusters=30)
    result = fit_knowledge_gain(frame, frame["score"], _spec(clustered=True, se="CR1"), UNPAIRED, file="k.csv")
    is_post = (frame["round"] == "post").to_numpy()
    y = frame["score"].to_numpy()
    mean_post, mean_pre = y[is_post].mean(), y[~is_post].mean()
    theta = mean_post / mean_pre
    influence = np.where(is_post, (y - mean_post) / is_post.sum(), -theta * (y - mean_pre) / (~is_post).sum())
    sums = pd.Series(influence / mean_pre).groupby(frame["village"].to_numpy()).sum().to_numpy()
    g, n = sums.size, y.size
    by_hand = np.sqrt(g / (g - 1) * (n - 1) / (n - 2) * np.sum(sums**2))
    assert result.se_type == "CR1" and result.df == g - 1
    assert abs(result.std_error - by_hand) < 1e-10


def test_fieller_wild_bootstrap_equals_the_generic_wcr_on_the_reparametrized_regression() -> None:
    """mean_post - theta0 * mean_pre = delta in y = delta * 1{post} + b * (theta0 * 1{post} + 1{pre}) + e: the
    package's generic WCR (itself checked against wildboottest) of delta = 0 must give the same draws."""
    frame = _answers(seed=2, clusters=12)
    is_post = (frame["round"] == "post").to_numpy()
    y = frame["score"].to_numpy()
    labels, clusters = np.unique(frame["village"].to_numpy(), return_inverse=True)
    weights = bootstrap_weights([str(v) for v in labels], 499, "webb", 11)
    ours = _TwoSampleRatioWildBootstrap(y, is_post, clusters, weights)
    for theta0 in (1.0, 1.08, 1.2):
        x = np.column_stack([is_post, theta0 * is_post + ~is_post]).astype(float)
        generic = _BootstrapPieces(fit_within(y, x, fixed_effects=[], clusters=clusters), 0, weights)
        scale = np.sqrt(generic.ssc)  # the generic statistic carries the CR1 factor in both observed and draws
        np.testing.assert_allclose(ours.t_draws(theta0), generic.t_draws(0.0) * scale, rtol=1e-9, atol=1e-9)
        assert ours.t_observed(theta0) == pytest.approx(generic.t_observed(0.0) * scale, rel=1e-10)
        assert ours.p_two_sided(theta0) == generic.p_two_sided(0.0)


def test_percentile_bootstrap_divides_by_the_resampled_answer_counts() -> None:
    frame = _answers(seed=3, clusters=10)
    spec = _spec(clustered=True, se="CR1", bootstrap={"draws": 199, "seed": 5})
    result = fit_knowledge_gain(frame, frame["score"], spec, UNPAIRED, file="k.csv")
    boot = result.extras["inference"]["alternatives"]["cluster_bootstrap_percentile"]
    labels, codes = np.unique(frame["village"].to_numpy(), return_inverse=True)
    picks = np.random.default_rng(5).multinomial(labels.size, np.full(labels.size, 1 / labels.size), size=199)
    gains = []
    for draw in picks:  # brute force: build each resampled data set and take its wave means
        rows = np.concatenate([np.flatnonzero(codes == g) for g in np.repeat(np.arange(labels.size), draw)])
        sample = frame.iloc[rows]
        means = sample.groupby("round")["score"].mean()
        gains.append(means["post"] / means["pre"] - 1)
    assert boot["ci_low"] == pytest.approx(np.quantile(gains, 0.025), abs=1e-12)
    assert boot["ci_high"] == pytest.approx(np.quantile(gains, 0.975), abs=1e-12)


def test_the_intervals_agree_with_thirty_clusters() -> None:
    frame = _answers(seed=6, clusters=30)
    result = fit_knowledge_gain(frame, frame["score"], _spec(clustered=True, se="CR1"), UNPAIRED, file="k.csv")
    alternatives = result.extras["inference"]["alternatives"]
    width = result.ci_high - result.ci_low
    for name in ("CR2", "wild_webb", "cluster_bootstrap_percentile"):
        other = alternatives[name]
        assert abs(other["ci_low"] - result.ci_low) < 0.2 * width, name
        assert abs(other["ci_high"] - result.ci_high) < 0.2 * width, name
