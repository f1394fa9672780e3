"""The `bayes` spec section and its plan-time checks: priors, decision rule, gate thresholds, sampler."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from oca_experiments.bayes import prior_scales, prior_table
from oca_experiments.errors import SpecError
from oca_experiments.plan import make_plan
from oca_experiments.spec import Bayes, load_hypotheses, load_study_config


def _plan(study: Path):
    return make_plan(study, load_study_config(study), load_hypotheses(study))


def _edit(study: Path, name: str, change) -> None:
    path = study / "hypotheses" / name
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(spec)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")


def test_defaults_are_the_documented_gate_and_rule() -> None:
    bayes = Bayes()
    assert (bayes.diagnostics.max_rhat, bayes.diagnostics.min_ess_bulk, bayes.diagnostics.min_ess_tail,
            bayes.diagnostics.max_divergences) == (1.01, 400, 400, 0)
    assert bayes.decision.probability == 0.95 and bayes.decision.against == "sesoi" and bayes.interval == "hdi"
    assert prior_scales("bayes_did", {"effect": 1.0}, factor=2.0)["effect"] == 2.0
    assert {row["name"] for row in prior_table("ordinal_did", prior_scales("ordinal_did"))} >= {"effect",
                                                                                                "cutpoints"}
    with pytest.raises(KeyError, match="unknown prior"):
        prior_scales("bayes_its", {"efect": 1.0})


def test_demo_bayesian_specs_plan(repo_root: Path) -> None:
    plan = _plan(repo_root)
    for hid in ("h7a_horizontal_trust_bayes", "h7b_horizontal_trust_weakest_cso", "h7c_trust_item_ordinal",
                "h7d_hostile_share_bayes"):
        task = plan.task(hid)
        assert task.available and task.estimator.bayesian
    assert plan.task("h7a_horizontal_trust_bayes").spec.bayes.prior_sensitivity == (0.5, 2.0)


@pytest.mark.parametrize("change, field", [
    (lambda s: s["bayes"]["priors"].update(efect=0.5), "bayes.priors.efect"),
    (lambda s: s["bayes"].update(interval="hpd"), "bayes.interval"),
    (lambda s: s["bayes"]["diagnostics"].update(max_rhat=0.9), "bayes.diagnostics.max_rhat"),
    (lambda s: s["inference"].update(se="CR1"), "inference.se"),
    (lambda s: s["estimator"]["options"].update(target="median"), "estimator.options.target"),
])
def test_bad_bayes_specs_fail_at_plan_time(study_copy: Path, change, field) -> None:
    _edit(study_copy, "h7a_horizontal_trust_bayes.yaml", change)
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert field in str(err.value)


def test_bayes_section_refused_for_a_frequentist_estimator(study_copy: Path) -> None:
    _edit(study_copy, "h1_horizontal_trust.yaml", lambda s: s.update(bayes={"interval": "eti"}))
    with pytest.raises(SpecError, match="not Bayesian"):
        _plan(study_copy)
