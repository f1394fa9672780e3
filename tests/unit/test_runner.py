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
    return study.run({"survey": demo.survey, "engagement": demo.engagement})


def test_caller_frames_are_not_mutated(study, demo) -> None:
    survey, engagement = demo.survey.copy(deep=True), demo.engagement.copy(deep=True)
    study.run({"survey": demo.survey, "engagement": demo.engagement})
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
    again = study.run({"survey": demo.survey, "engagement": demo.engagement})
    assert again.to_dict() == run.to_dict()


def test_failed_source_stops_only_its_hypotheses(study, demo) -> None:
    engagement = demo.engagement.copy()
    engagement.loc[0, "posts"] = -1
    run = study.run({"survey": demo.survey, "engagement": engagement})
    statuses = {h.id: h.status for h in run}
    assert statuses["h4_engagement_per_post"] == "contract_failed"
    assert statuses["h5_hostile_share"] == "contract_failed"
    assert statuses["h1_horizontal_trust"] == "estimated"


def test_unknown_and_missing_sources(study, demo) -> None:
    with pytest.raises(oca.DataError, match="unknown data source 'surveys'"):
        study.run({"surveys": demo.survey, "engagement": demo.engagement})
    with pytest.raises(oca.DataError, match="no data given for source 'engagement'"):
        study.run({"survey": demo.survey})


def test_validate_estimates_nothing(study, demo) -> None:
    result = study.validate({"survey": demo.survey, "engagement": demo.engagement})
    assert result.ok
    assert set(result.tidy()["source"]) == {"survey", "engagement"}
    assert "hypotheses" not in result.to_dict()
