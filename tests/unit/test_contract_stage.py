"""The run's contract stage checks each source that a hypothesis reads, once, however many hypotheses read it; a
source given but read by no hypothesis costs the run nothing, while ``oca validate`` still refuses it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

import oca_experiments as oca
from oca_experiments import runner
from oca_experiments.demo import simulate_demo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo():
    return simulate_demo()


@pytest.fixture()
def survey_only_study(tmp_path, demo_study_with):
    """The demo study with h1 and h2 only: both read the survey, nothing reads engagement or community."""
    return demo_study_with(tmp_path / "study", {
        stem: (REPO / "hypotheses" / f"{stem}.yaml").read_text(encoding="utf-8")
        for stem in ("h1_horizontal_trust", "h2_vertical_trust")})


@pytest.fixture()
def contract_calls(monkeypatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    real = runner.run_contract

    def counted(suite, frame, *, source, show_values=False):
        calls[source] += 1
        return real(suite, frame, source=source, show_values=show_values)

    monkeypatch.setattr(runner, "run_contract", counted)
    return calls


def test_run_checks_only_the_sources_its_hypotheses_read_once_each(survey_only_study, demo, contract_calls):
    broken = demo.community.drop(columns=[demo.community.columns[0]])  # fails the community contract
    data = {"survey": demo.survey, "engagement": demo.engagement, "community": broken}
    study = oca.load_study(survey_only_study)
    result = study.run(data)
    assert contract_calls == Counter({"survey": 1})  # two hypotheses read it, one check
    assert [record["source"] for record in result.contracts] == ["survey"]
    assert all(h.status != "contract_failed" for h in result.hypotheses)
    # validate checks every source it is given, so it refuses the broken one the run skipped
    contract_calls.clear()
    validation = study.validate(data)
    assert contract_calls == Counter({"survey": 1, "engagement": 1, "community": 1})
    assert not validation.ok
    assert [r["source"] for r in validation.contracts if not r["passed"]] == ["community"]


def test_a_source_the_run_reads_is_still_checked_and_fails_its_hypotheses(survey_only_study, demo, contract_calls):
    broken = demo.survey.drop(columns=["respondent_id"])
    study = oca.load_study(survey_only_study)
    with pytest.raises(oca.OcaError):  # the preflight names the missing column before any contract runs
        study.run({"survey": broken})
    survey = demo.survey.copy()
    survey.loc[0, "treated"] = 7  # outside the contract's value set
    result = study.run({"survey": survey, "engagement": demo.engagement})
    assert contract_calls == Counter({"survey": 1})
    assert [(r["source"], r["passed"]) for r in result.contracts] == [("survey", False)]
    assert {h.status for h in result.hypotheses} == {"contract_failed"}


def test_a_registered_version_reading_an_unchecked_source_gets_it_checked_once(survey_only_study, demo,
                                                                                contract_calls):
    """The firewall re-runs a changed locked spec in its registered version, which may read a source no current spec
    reads: that source is checked when first needed, and only once."""
    study = oca.load_study(survey_only_study)
    loaded = runner._load_sources(study.plan, {"survey": demo.survey, "engagement": demo.engagement})
    contracts = runner._run_contracts(study.plan, loaded, show_values=False,
                                      only=runner._read_sources(study.plan.tasks))
    assert contract_calls == Counter({"survey": 1})
    registered = SimpleNamespace(source="engagement", linked_sources=())  # what _contracts_for reads of a task
    for _ in range(2):
        runner._contracts_for(registered, contracts, study.plan, loaded, show_values=False)
    assert contract_calls == Counter({"survey": 1, "engagement": 1})
    assert [r["source"] for r in runner._ordered(contracts, study.plan)] == ["survey", "engagement"]
