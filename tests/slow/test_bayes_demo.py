"""The demo's Bayesian hypotheses recover the simulated truths (pooled, per CSO, ordinal, ITS) and pass the gate.

Runs the four h7 specs on the default demo data (draws come from the cache after the first run).
"""

from __future__ import annotations

import shutil

import pytest

import oca_experiments as oca
from oca_experiments.demo import simulate_demo

pytestmark = [pytest.mark.slow, pytest.mark.bayes]


def test_demo_bayesian_hypotheses_cover_their_truths(repo_root, tmp_path) -> None:
    study_dir = tmp_path / "study"
    study_dir.mkdir()
    shutil.copy(repo_root / "study.yaml", study_dir / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(repo_root / folder, study_dir / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study_dir / "hypotheses").mkdir()
    for spec in sorted((repo_root / "hypotheses").glob("h7*.yaml")):
        shutil.copy(spec, study_dir / "hypotheses" / spec.name)
    demo = simulate_demo()
    run = oca.load_study(study_dir).run({"survey": demo.survey, "engagement": demo.engagement,
                                              "community": demo.community})
    truth, extras = demo.truth["hypotheses"], demo.truth["extras"]
    assert {h.id for h in run} == {"h7a_horizontal_trust_bayes", "h7b_horizontal_trust_weakest_cso",
                                   "h7c_trust_item_ordinal", "h7d_hostile_share_bayes"}
    for h in run:
        r = h.result
        assert h.status == "estimated", (h.id, h.reason)
        assert r.extras["diagnostics"]["passed"], (h.id, r.extras["diagnostics"]["failures"])
        assert not h.verdict.startswith("unreliable")
        assert r.ci_low <= truth[h.id] <= r.ci_high, (h.id, r.ci_low, truth[h.id], r.ci_high)
    for cso, effect in run["h7b_horizontal_trust_weakest_cso"].result.extras["group_effects"].items():
        assert effect["ci_low"] <= extras["h7b_by_cso"][cso] <= effect["ci_high"], cso
    for page, effect in run["h7d_hostile_share_bayes"].result.extras["unit_effects"].items():
        assert effect["ci_low"] <= extras["h7d_by_campaign"][effect["group"]] <= effect["ci_high"], page
    ordinal = run["h7c_trust_item_ordinal"].result.extras["category_probability_change"]
    for category, change in ordinal.items():
        assert change["ci_low"] <= extras["h7c_category_change"][category] <= change["ci_high"], category
