"""The batched kernels give what the registered fitter gives, replicate by replicate (the "as registered" promise)."""

from __future__ import annotations

import numpy as np
import pytest

import oca_experiments as oca
from oca_experiments.design._engine import (
    ChunkTask,
    SimulationConfig,
    analyse_batched,
    analyse_reference,
    batchable,
    replicate_frame,
    simulate_chunk,
)
from oca_experiments.design._metrics import verdict_shares
from oca_experiments.design._parameters import DesignParameters
from oca_experiments.design._rule import registered_rule
from oca_experiments.estimators import FITTERS
from oca_experiments.runner import _hypothesis_result


def _params(**changes) -> DesignParameters:
    values = dict(clusters=8, respondents=96, icc=0.1, effect=0.3, attrition=0.25, outcome_sd=1.0, outcome_mean=3.0,
                  individual_autocorrelation=0.5, cluster_autocorrelation=0.6, treated_share=0.5, target_power=0.8)
    values.update(changes)
    return DesignParameters(**values)


def _config(study, params: DesignParameters) -> SimulationConfig:
    task = study.plan.task("h1_horizontal_trust")
    return SimulationConfig(params, task.spec, task.options.model_dump(mode="json"), registered_rule(task.spec),
                            "batched", seed=11, chunk_size=100)


def _compare(config: SimulationConfig, replicates: int, effect: float = 0.3) -> None:
    layout, outcomes = simulate_chunk(ChunkTask(config, effect, chunk=0, replicates=replicates))
    fast = analyse_batched(outcomes, layout, config, effect)
    slow = analyse_reference(outcomes, layout, config, effect)
    np.testing.assert_allclose(fast.estimate, slow.estimate, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.std_error, slow.std_error, rtol=1e-10)
    np.testing.assert_array_equal(np.isnan(fast.df), np.isnan(slow.df))
    np.testing.assert_allclose(fast.df, slow.df, rtol=0, atol=0)
    np.testing.assert_allclose(fast.p_value, slow.p_value, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(fast.covered, slow.covered)


@pytest.mark.parametrize("se", ["CR1", "HC1", "iid"])
@pytest.mark.parametrize("panel", [True, False])
def test_closed_form_kernels_match_the_registered_fitter(variant_study, se: str, panel: bool) -> None:
    study = oca.load_study(variant_study({"inference.se": se, "inference.few_clusters": {"threshold": 0},
                                          "estimator.options.panel": panel}))
    config = _config(study, _params())
    assert batchable(config.spec, config.options, 8)
    _compare(config, replicates=3)


@pytest.mark.parametrize("tails, clusters", [("two", 8), ("one", 8), ("two", 4)],
                         ids=["two-tailed", "one-tailed", "enumerated-weights"])
def test_batched_wild_bootstrap_matches_the_registered_few_cluster_rule(variant_study, tails: str,
                                                                        clusters: int) -> None:
    # Fewer than 30 clusters: the registered CR1 is replaced by the WCR wild bootstrap with Webb weights (9,999
    # draws; with 4 clusters all 6^4 weight vectors are enumerated instead).
    # cr2_below 0: keep the bootstrap below 10 clusters too, so that its batched kernel is what is compared;
    # arm_below 0: with 4 clusters (2 per arm) the default rule would use randomization inference instead.
    study = oca.load_study(variant_study({"inference.tails": tails,
                                          "inference.few_clusters": {"cr2_below": 0, "arm_below": 0}}))
    config = _config(study, _params(clusters=clusters, respondents=12 * clusters))
    from oca_experiments.design._engine import primary_method

    assert primary_method(config.spec, clusters) == "wild_webb"
    _compare(config, replicates=4)


def test_replicates_that_lose_a_cluster_fall_back_to_the_registered_fitter(variant_study) -> None:
    study = oca.load_study(variant_study({"inference.few_clusters": {"cr2_below": 0}}))
    # 2 respondents per cluster and 60% attrition: some replicates lose a whole cluster (fewer clusters, other
    # bootstrap weights and small-sample factor).
    config = _config(study, _params(respondents=16, attrition=0.6))
    layout, outcomes = simulate_chunk(ChunkTask(config, 0.3, chunk=0, replicates=6))
    stays = np.add.reduceat(outcomes.responded_endline, layout.cluster_starts, axis=1)
    assert (stays == 0).any(), "the fixture should empty a cluster"
    _compare(config, replicates=6)


def test_verdict_shares_match_the_runners_verdict(variant_study) -> None:
    """The diagnosis calls the verdict as the runner does (guards against the runner changing its arguments)."""
    study = oca.load_study(variant_study({"inference.few_clusters": {"cr2_below": 0}}))  # the batched wild kernel
    config = _config(study, _params())
    task = study.plan.task("h1_horizontal_trust")
    layout, outcomes = simulate_chunk(ChunkTask(config, 0.3, chunk=0, replicates=4))
    fast = analyse_batched(outcomes, layout, config, 0.3)
    for r in range(4):
        frame, outcome = replicate_frame(outcomes, layout, config, r)
        result = FITTERS["survey_did"](frame, outcome, task.spec, task.options, file="sim")
        expected = _hypothesis_result(task, status="estimated", result=result).verdict
        one = type(fast)(*(getattr(fast, name)[r:r + 1] for name in ("estimate", "std_error", "df", "p_value",
                                                                      "covered")))
        shares = verdict_shares(one, alpha=task.spec.inference.alpha, direction=task.spec.direction,
                                sesoi=task.spec.inference.sesoi)
        assert shares[expected] == 1.0, (r, expected, shares)
