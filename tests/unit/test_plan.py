"""Plan stage: every reference resolved before data is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_experiments.errors import SpecError
from oca_experiments.plan import make_plan
from oca_experiments.spec import load_hypotheses, load_study_config


def _plan(study: Path):
    return make_plan(study, load_study_config(study), load_hypotheses(study))


def test_demo_plan(repo_root: Path) -> None:
    plan = _plan(repo_root)
    available = {t.id: t.available for t in plan.tasks}
    assert available["h1_horizontal_trust"] and available["h2_vertical_trust"]
    assert available["h6_horizontal_trust_by_sex"]
    assert available["h4_engagement_per_post"] and available["h5_hostile_share"]
    assert plan.source("survey").hypotheses
    h6 = plan.task("h6_horizontal_trust_by_sex")
    assert ("sex", "estimator.options.by.column") in h6.column_fields
    h4 = plan.task("h4_engagement_per_post")
    assert h4.analysis_function is not None and h4.analysis_function.name == "engagement_per_post"


def test_plan_is_pure(repo_root: Path) -> None:
    assert _plan(repo_root) == _plan(repo_root)


def _edit(study: Path, name: str, old: str, new: str) -> None:
    path = study / "hypotheses" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_unknown_estimator(study_copy: Path) -> None:
    _edit(study_copy, "h1_horizontal_trust.yaml", "name: survey_did", "name: magic_did")
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.file == "hypotheses/h1_horizontal_trust.yaml"
    assert err.value.field == "estimator.name"
    assert "survey_did" in str(err.value)


def test_bad_estimator_option(study_copy: Path) -> None:
    _edit(study_copy, "h1_horizontal_trust.yaml", "panel: true", "panle: true")
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.field == "estimator.options.panle"


def test_unknown_source(study_copy: Path) -> None:
    _edit(study_copy, "h2_vertical_trust.yaml", "source: survey", "source: survay")
    with pytest.raises(SpecError, match="unknown data source 'survay'"):
        _plan(study_copy)


def test_missing_contract_file(study_copy: Path) -> None:
    (study_copy / "data_contracts" / "engagement.json").unlink()
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.file == "study.yaml" and err.value.field == "sources.engagement.contract"


def test_missing_analysis_function(study_copy: Path) -> None:
    _edit(study_copy, "h4_engagement_per_post.yaml", "engagement:engagement_per_post", "engagement:per_post")
    with pytest.raises(SpecError, match="function 'per_post' is not defined"):
        _plan(study_copy)


def test_cluster_se_needs_cluster(study_copy: Path) -> None:
    _edit(study_copy, "h2_vertical_trust.yaml", "  cluster: community_id\n", "")
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.field == "design.cluster"


def test_survey_did_needs_waves(study_copy: Path) -> None:
    _edit(study_copy, "h2_vertical_trust.yaml", "  pre: baseline\n  post: endline\n", "")
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.field == "design.pre"


# ---- issue 18 items 1 and 3: study code and suites stay inside the study folder

@pytest.mark.parametrize("reference", [
    "analysis.{outside}/m:f",          # an absolute path joined onto analysis/ (the reported exploit)
    "analysis...m:f",                  # empty parts
    "analysis.../outside/m:f",
    "{outside}/m:f",
])
def test_function_reference_cannot_leave_the_analysis_folder(study_copy: Path, tmp_path: Path,
                                                             reference: str) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "m.py").write_text("def f(df):\n    raise SystemExit('ran code outside the study')\n")
    _edit(study_copy, "h4_engagement_per_post.yaml", "analysis.engagement:engagement_per_post",
          reference.format(outside=outside))
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.field == "outcome.construction.function"
    assert "analysis" in str(err.value) and "Fix:" in str(err.value)


def test_function_module_symlinked_out_of_the_study_is_refused(study_copy: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("def f(df):\n    return df.iloc[:, 0]\n")
    (study_copy / "analysis" / "linked.py").symlink_to(outside)
    _edit(study_copy, "h4_engagement_per_post.yaml", "analysis.engagement:engagement_per_post", "analysis.linked:f")
    with pytest.raises(SpecError, match="symlink that leads outside"):
        _plan(study_copy)


def test_nested_analysis_module_inside_the_study_still_resolves(study_copy: Path) -> None:
    (study_copy / "analysis" / "sub").mkdir()
    (study_copy / "analysis" / "sub" / "extra.py").write_text("def per_post(df):\n    return df['posts']\n")
    _edit(study_copy, "h4_engagement_per_post.yaml", "analysis.engagement:engagement_per_post",
          "analysis.sub.extra:per_post")
    task = _plan(study_copy).task("h4_engagement_per_post")
    assert task.analysis_function.file == study_copy / "analysis" / "sub" / "extra.py"


@pytest.mark.parametrize("where", ["absolute", "dotdot", "symlink"])
@pytest.mark.parametrize("field", ["contract", "report"])
def test_suites_and_report_outside_the_study_are_refused(study_copy: Path, tmp_path: Path, where: str,
                                                         field: str) -> None:
    original = study_copy / ("data_contracts/survey.json" if field == "contract" else "reports/report.ipynb")
    outside = tmp_path / f"outside{original.suffix}"
    outside.write_bytes(original.read_bytes())
    relative = {"absolute": str(outside), "dotdot": f"../{outside.name}", "symlink": f"linked{original.suffix}"}[where]
    if where == "symlink":
        (study_copy / relative).symlink_to(outside)
    text = (study_copy / "study.yaml").read_text()
    old = ("contract: data_contracts/survey.json" if field == "contract" else "report: reports/report.ipynb")
    (study_copy / "study.yaml").write_text(text.replace(old, old.split(":")[0] + f": {relative}"))
    with pytest.raises(SpecError) as err:
        _plan(study_copy)
    assert err.value.file == "study.yaml"
    assert err.value.field == ("sources.survey.contract" if field == "contract" else "report")
    assert "outside the study folder" in str(err.value)
