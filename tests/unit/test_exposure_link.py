"""Exposure-response links two sources: the plan and `oca validate` refuse what cannot link (issue 20)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from oca_experiments.errors import SpecError
from oca_experiments.plan import make_plan
from oca_experiments.runner import Study
from oca_experiments.spec import load_hypotheses, load_study_config

H11 = "h11_trust_exposure_response.yaml"
KEEP = ("h11_trust_exposure_response", "h12_spillover_near_far")


def _study(folder: Path) -> Study:
    """The demo study with only the portfolio hypotheses (fast), unlocked."""
    (folder / "hypotheses" / "registry.lock.json").unlink(missing_ok=True)
    config = load_study_config(folder)
    specs = tuple(s for s in load_hypotheses(folder) if s.spec.id in KEEP)
    return Study(folder, config, specs, make_plan(folder, config, specs))


def _edit(study: Path, old: str, new: str) -> None:
    path = study / "hypotheses" / H11
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_plan_links_the_exposure_source(repo_root: Path) -> None:
    plan = make_plan(repo_root, load_study_config(repo_root), load_hypotheses(repo_root))
    task = plan.task("h11_trust_exposure_response")
    assert task.linked_sources == ("engagement",)
    assert ("engagement", "cso_id", "estimator.options.exposure.key.exposure") in task.linked_columns
    assert "h11_trust_exposure_response" in plan.source("engagement").hypotheses  # the run needs its data


def test_plan_refuses_an_undeclared_exposure_source(study_copy: Path) -> None:
    _edit(study_copy, "source: engagement", "source: engagment")
    with pytest.raises(SpecError) as err:
        _study(study_copy)
    assert (err.value.file, err.value.field) == (f"hypotheses/{H11}", "estimator.options.exposure.source")
    assert "unknown data source 'engagment'" in str(err.value) and "\n" not in str(err.value)


def test_plan_refuses_between_waves_without_fieldwork_dates(study_copy: Path) -> None:
    _edit(study_copy, "{label: endline, start: 2026-10-01, end: 2026-10-31,", "{label: endline,")
    with pytest.raises(SpecError) as err:
        _study(study_copy)
    assert err.value.field == "estimator.options.exposure.window"
    assert "between_waves" in str(err.value)


def test_validate_names_the_file_and_column_when_the_exposure_source_lacks_the_key(study_copy: Path,
                                                                                  demo_data) -> None:
    engagement = pd.read_csv(demo_data.engagement).rename(columns={"cso_id": "organisation"})
    result = _study(study_copy).validate({"survey": demo_data.survey, "engagement": engagement})
    problems = [p for p in result.problems if "cso_id" in p]
    assert len(problems) == 1
    assert "<DataFrame 'engagement'>" in problems[0] and "estimator.options.exposure.key.exposure" in problems[0]
    assert "Fix:" in problems[0] and "\n" not in problems[0]


def test_validate_flags_keys_that_do_not_link(study_copy: Path, demo_data) -> None:
    engagement = pd.read_csv(demo_data.engagement)
    engagement["cso_id"] = engagement["cso_id"].str.lower()  # same column, values that match no survey row
    result = _study(study_copy).validate({"survey": demo_data.survey, "engagement": engagement})
    h11 = next(t for t in result.testability if t["hypothesis"] == "h11_trust_exposure_response")
    assert h11["testable"] is False
    linked = next(c for c in h11["checks"] if c["rule"] == "sources_linked")
    assert "6 of 6 treated values of 'cso_id' have no exposure rows" in linked["message"]
    assert "column 'cso_id'" in linked["message"]
    h12 = next(t for t in result.testability if t["hypothesis"] == "h12_spillover_near_far")
    assert h12["testable"] is True


def test_run_without_the_exposure_data_is_refused_before_estimating(study_copy: Path, demo_data) -> None:
    from oca_experiments.errors import DataError

    with pytest.raises(DataError, match="no data given for source 'engagement'"):
        _study(study_copy).run({"survey": demo_data.survey})


def test_demo_portfolio_hypotheses_cover_their_truth(study_copy: Path, demo_data) -> None:
    """h11 (dose-response slope) and h12 (near-minus-far spillover) recover the demo's truth.json values."""
    import json

    truth = json.loads(Path(demo_data.truth).read_text(encoding="utf-8"))
    run = _study(study_copy).run({"survey": demo_data.survey, "engagement": demo_data.engagement})
    results = {h.id: h for h in run.hypotheses}
    for hypothesis in KEEP:
        result = results[hypothesis].result
        assert results[hypothesis].status == "estimated", results[hypothesis].reason
        assert result.ci_low <= truth["hypotheses"][hypothesis] <= result.ci_high, hypothesis
    part = results["h11_trust_exposure_response"].result.extras["exposure_response"]
    doses = truth["extras"]["h11_dose_by_cso"]
    assert part.dose_range == pytest.approx((min(doses.values()), max(doses.values())), abs=1e-5)
    assert part.window == ("2026-03-01", "2026-09-30") and part.dose_levels == 6
    spill = results["h12_spillover_near_far"].result.extras["spillover"]
    assert (spill.near_units, spill.far_units, spill.treated_units) == (7, 5, 12)
    robust = spill.treated_vs_far
    assert robust.ci_low <= truth["extras"]["h12_treated_vs_far"] <= robust.ci_high


def test_validating_the_survey_alone_skips_the_linked_hypothesis(study_copy: Path, demo_data) -> None:
    """`oca validate --data survey=...` checks what is given: h11 waits for its exposure source, h12 is checked."""
    result = _study(study_copy).validate({"survey": demo_data.survey})
    checked = {t["hypothesis"]: t["testable"] for t in result.testability}
    assert checked == {"h12_spillover_near_far": True}
    assert not result.problems


@pytest.mark.parametrize("name", ["h11_trust_exposure_response.yaml", "h12_spillover_near_far.yaml"])
def test_plan_refuses_randomization_inference_the_estimator_would_ignore(study_copy: Path, name: str) -> None:
    path = study_copy / "hypotheses" / name
    text = path.read_text(encoding="utf-8")
    registered = text.replace("  bootstrap: {draws: 9999", "  randomization: {draws: 999}\n  bootstrap: {draws: 9999")
    path.write_text(registered, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        _study(study_copy)
    assert err.value.field == "inference.randomization" and "offers no randomization inference" in str(err.value)
