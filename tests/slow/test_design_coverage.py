"""Cross-check with the survey-inference coverage study (issue 5: 6, 12 and 40 clusters, ICC 0.05).

The design diagnosis runs the registered inference on simulated surveys (its batched kernels give the registered
fitter's intervals exactly: tests/unit/design/test_engines_agree.py), so its coverage is the registered rule's
coverage in the diagnosis' panel model: 50 respondents per cluster, 10% attrition, half the clusters treated.

Finding (recorded here, reported to the survey-inference work): with 6 equal clusters (3 treated) the registered
few-cluster rule (WCR wild cluster bootstrap, Webb weights, 9,999 draws) covers about 90-91%, about as CR1 with
t(5) does, not the 93% the coverage study targets; with 12 clusters it covers about 93%, with 40 the kept CR1 about
95%. The 6-cluster claim is therefore an expected failure until the two studies are reconciled.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import oca_experiments as oca
from oca_experiments.design._engine import ChunkTask, SimulationConfig, primary_method, run_chunk
from oca_experiments.design._parameters import DesignParameters
from oca_experiments.design._rule import registered_rule

SIMS, EFFECT = 1000, 0.2


def coverage(spec, options, clusters: int) -> tuple[float, float, str]:
    params = DesignParameters(clusters=clusters, respondents=50 * clusters, icc=0.05, effect=EFFECT, attrition=0.1,
                              outcome_sd=1.0, outcome_mean=0.0, individual_autocorrelation=0.5,
                              cluster_autocorrelation=0.5, treated_share=0.5, target_power=0.8)
    config = SimulationConfig(params, spec, options, registered_rule(spec), "batched", seed=5, chunk_size=100)
    parts = [run_chunk(ChunkTask(config, EFFECT, chunk, 100)) for chunk in range(SIMS // 100)]
    value = float(np.nanmean(np.concatenate([p.covered for p in parts])))
    return value, math.sqrt(value * (1 - value) / SIMS), primary_method(spec, clusters)


@pytest.fixture(scope="module")
def specs(repo_root):
    task = oca.load_study(repo_root).plan.task("h1_horizontal_trust")
    inference = task.spec.inference
    cr1_only = task.spec.model_copy(update={"inference": inference.model_copy(
        update={"se": "CR1", "few_clusters": inference.few_clusters.model_copy(update={"threshold": 0})})})
    return task.spec, cr1_only, task.options.model_dump(mode="json")


@pytest.mark.slow
def test_registered_rule_covers_near_nominal_with_12_and_40_clusters(specs) -> None:
    registered, _, options = specs
    rule12, se12, method12 = coverage(registered, options, 12)
    rule40, se40, method40 = coverage(registered, options, 40)
    assert (method12, method40) == ("wild_webb", "CR1")
    assert rule12 >= 0.95 - 3 * se12 - 0.01, rule12
    assert abs(rule40 - 0.95) < 3 * se40 + 0.01, rule40


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="design diagnosis finds the registered WCR (Webb) rule covers ~0.90-0.91 "
                   "with 6 equal clusters in the panel model, like CR1; issue 5's study targets >= 0.93")
def test_few_cluster_rule_reaches_93_percent_with_6_clusters(specs) -> None:
    registered, cr1_only, options = specs
    rule6, se6, method6 = coverage(registered, options, 6)
    cr1_6, _, _ = coverage(cr1_only, options, 6)
    assert method6 == "wild_webb"
    assert rule6 >= 0.93 and cr1_6 < 0.93, (rule6, cr1_6)
