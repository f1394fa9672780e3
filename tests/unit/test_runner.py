"""Runner: orchestration through the Python API, on in-memory frames (no CLI, no files written)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import oca_experiments as oca
from oca_experiments.demo import simulate_demo


@pytest.fixture(scope="module")
def demo():
    return simulate_demo()


@pytest.fixture(scope="module")
def study(repo_root):
    return oca.load_study(repo_root)


@pytest.fixture(scope="module")
def run(study, demo):
    return study.run({"survey": demo.survey, "engagement": demo.engagement, "community": demo.community})


def test_caller_frames_are_not_mutated(study, demo) -> None:
    survey, engagement = demo.survey.copy(deep=True), demo.engagement.copy(deep=True)
    study.run({"survey": demo.survey, "engagement": demo.engagement, "community": demo.community})
    pd.testing.assert_frame_equal(demo.survey, survey)
    pd.testing.assert_frame_equal(demo.engagement, engagement)


def test_every_hypothesis_has_an_explicit_status(run, study) -> None:
    assert [h.id for h in run] == list(study.hypothesis_ids)
    for h in run:
        assert h.status in {"estimated", "not_yet_estimable", "contract_failed", "not_testable",
                            "estimation_failed"}
        if h.status != "estimated":
            assert h.result is None and h.reason
        else:
            assert h.verdict in {"supported", "not supported", "inconclusive"}


def test_tidy_and_to_dict(run) -> None:
    table = run.tidy()
    assert list(table["id"]) == [h.id for h in run]
    assert table["estimate"].dtype == "float64"
    payload = run.to_dict()
    json.dumps(payload, allow_nan=False)  # JSON-ready: no NaN
    keys = {"id", "status", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters",
            "estimator", "verdict"}
    assert all(keys <= set(h) for h in payload["hypotheses"])
    assert payload["data"]["survey"]["sha256"]


def test_results_are_read_only(run) -> None:
    with pytest.raises(Exception):
        run.hypotheses[0].status = "estimated"  # type: ignore[misc]
    with pytest.raises(TypeError):
        run.data["survey"] = {}  # type: ignore[index]
    with pytest.raises(KeyError, match="known:"):
        run["no_such_hypothesis"]


def test_same_inputs_same_numbers(study, demo, run) -> None:
    again = study.run({"survey": demo.survey, "engagement": demo.engagement, "community": demo.community})
    assert again.to_dict() == run.to_dict()


def test_failed_source_stops_only_its_hypotheses(study, demo) -> None:
    engagement = demo.engagement.copy()
    engagement.loc[0, "posts"] = -1
    run = study.run({"survey": demo.survey, "engagement": engagement, "community": demo.community})
    statuses = {h.id: h.status for h in run}
    assert statuses["h4_engagement_per_post"] == "contract_failed"
    assert statuses["h5_hostile_share"] == "contract_failed"
    assert statuses["h1_horizontal_trust"] == "estimated"


def test_unknown_and_missing_sources(study, demo) -> None:
    with pytest.raises(oca.DataError, match="unknown data source 'surveys'"):
        study.run({"surveys": demo.survey, "engagement": demo.engagement})
    with pytest.raises(oca.DataError, match="no data given for source 'engagement'"):
        study.run({"survey": demo.survey, "community": demo.community})


def test_validate_estimates_nothing(study, demo) -> None:
    result = study.validate({"survey": demo.survey, "engagement": demo.engagement, "community": demo.community})
    assert result.ok
    assert set(result.tidy()["source"]) == {"survey", "engagement", "community"}
    assert "hypotheses" not in result.to_dict()


# ---- issue 22 items 5 and 6: one estimator's bug does not take the run down; OCA_DEBUG never changes exit codes

@pytest.fixture()
def two_survey_specs(tmp_path, repo_root):
    """A copy of the demo study with h1 and h2 only (no lock): quick to run."""
    import shutil

    study = tmp_path / "study"
    shutil.copytree(repo_root, study, ignore=shutil.ignore_patterns(".git", ".venv", "build", "tests", "notebooks",
                                                                  "benchmarks", "oca_experiments", "__pycache__",
                                                                  "design", "docs", "locale"))
    for spec in (study / "hypotheses").iterdir():
        if spec.name not in {"h1_horizontal_trust.yaml", "h2_vertical_trust.yaml"}:
            spec.unlink()
    return study


@pytest.fixture()
def h1_fitter_crashes():
    """survey_did's fitter raises for h1 (with a message quoting data) and works for the others."""
    import dataclasses

    from oca_experiments.estimators.registry import REGISTRY, register

    original = REGISTRY["survey_did"]

    def crashing(frame, values, spec, options, **kwargs):
        if spec.id == "h1_horizontal_trust":
            secret = frame.iloc[0].to_dict()
            raise ZeroDivisionError(f"divided by zero near {secret}")  # a message that quotes data
        return original.fitter(frame, values, spec, options, **kwargs)

    register(dataclasses.replace(original, fitter=crashing), replace=True)
    yield
    register(original, replace=True)


def test_an_internal_error_in_one_hypothesis_leaves_the_others_estimated(two_survey_specs, demo, h1_fitter_crashes):
    run = oca.load_study(two_survey_specs).run({"survey": demo.survey})
    failed, healthy = run["h1_horizontal_trust"], run["h2_vertical_trust"]
    assert failed.status == "estimation_failed" and failed.error_class == "ZeroDivisionError"
    assert "internal error in estimator survey_did (ZeroDivisionError in test_runner.py:" in failed.reason
    assert "R0" not in failed.reason and "respondent" not in failed.reason  # never the message, which quotes data
    assert healthy.status == "estimated"
    record = next(h for h in run.to_dict()["hypotheses"] if h["id"] == "h1_horizontal_trust")
    assert record["error_class"] == "ZeroDivisionError"
    assert "error_class" not in next(h for h in run.to_dict()["hypotheses"] if h["id"] == "h2_vertical_trust")


@pytest.mark.parametrize("debug", [None, "1"])
def test_the_cli_finishes_the_run_then_exits_70_and_debug_only_adds_a_traceback(
        two_survey_specs, demo, h1_fitter_crashes, tmp_path, debug):
    from typer.testing import CliRunner

    from oca_experiments.cli import app

    data = tmp_path / "survey.csv"
    demo.survey.to_csv(data, index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(two_survey_specs), "--data", f"survey={data}", "--out", str(out),
                                      "--no-report"], env={"OCA_DEBUG": debug})
    assert result.exit_code == 70, result.output
    assert ("Traceback" in result.stderr) == (debug is not None)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: internal error in 1 hypothesis(es): h1_horizontal_trust (ZeroDivisionError)")
    written = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {h["id"]: h["status"] for h in written["hypotheses"]} == {
        "h1_horizontal_trust": "estimation_failed", "h2_vertical_trust": "estimated"}


@pytest.mark.parametrize("debug", [None, "1"])
def test_debug_never_changes_the_exit_code_of_a_crash(monkeypatch, tmp_path, debug):
    """OCA_DEBUG=1 re-raised, which made the exit code 1 instead of 70."""
    from typer.testing import CliRunner

    from oca_experiments import api
    from oca_experiments.cli import app

    def broken(path):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(api, "load_study", broken)
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--out", str(tmp_path / "out")],
                                env={"OCA_DEBUG": debug})
    assert result.exit_code == 70
    assert ("Traceback" in result.stderr) == (debug is not None)
    assert result.stderr.strip().splitlines()[-1].startswith("error: internal error (ZeroDivisionError")


# ---- issue 18 item 6: validate refuses what run would refuse, before estimating

def test_validate_refuses_an_index_whose_items_are_all_empty_in_the_reference_group(two_survey_specs, demo):
    survey = demo.survey.copy()
    reference = (survey["treated"] == 0) & (survey["wave"] == "baseline")
    survey.loc[reference, "h_trust_2"] = float("nan")
    study = oca.load_study(two_survey_specs)
    result = study.validate({"survey": survey})
    assert not result.ok
    (h1,) = [t for t in result.testability if t["hypothesis"] == "h1_horizontal_trust"]
    assert not h1["testable"]
    assert "cannot be built: item 'h_trust_2': fewer than 2 answers in the reference group" in h1["reason"]
    assert [t["testable"] for t in result.testability if t["hypothesis"] == "h2_vertical_trust"] == [True]


def test_validate_refuses_a_missing_report_notebook(two_survey_specs, demo):
    (two_survey_specs / "reports" / "report.ipynb").unlink()
    result = oca.load_study(two_survey_specs).validate({"survey": demo.survey})
    assert not result.ok
    assert any("report notebook 'reports/report.ipynb' not found" in p and "--no-report" in p
               for p in result.problems)
