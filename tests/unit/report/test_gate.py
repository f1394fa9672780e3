"""The checks behind `oca check`, on synthetic results: outcomes per hypothesis and check, exit codes, JUnit XML."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from oca_experiments.errors import EXIT_CODES, SpecError
from oca_experiments.report import _gate
from oca_experiments.report._gate import CHECKS, CheckOutcome, GateResult, expected_payload, write_junit


def _hypothesis(hid: str, **changes) -> dict:
    record = {"id": hid, "status": "estimated", "type": "confirmatory", "source": "survey",
              "estimator": "survey_did", "verdict": "supported", "estimate": 0.3, "std_error": 0.06,
              "ci_low": 0.18, "ci_high": 0.42, "p_value": 0.001, "n": 2100, "n_clusters": 24, "reason": None,
              "extras": {}}
    record.update(changes)
    return record


def _results(*hypotheses: dict, contract_passed: bool = True) -> dict:
    return {"hypotheses": list(hypotheses),
            "contracts": [{"source": "survey", "suite": "survey", "passed": contract_passed, "n_expectations": 4,
                           "n_evaluated": 4, "failures": [] if contract_passed else [{"column": "h_trust_1"}]}],
            "data": {"survey": {"sha256": "a" * 64}}}


def _by(outcomes, check):
    return {o.hypothesis: o for o in outcomes if o.check == check}


def test_contract_outcome_names_the_source_and_columns() -> None:
    outcomes = _by(_gate._contract_outcomes(_results(_hypothesis("h1"), contract_passed=False)), "contract")
    assert outcomes["h1"].status == "failed"
    assert "survey" in outcomes["h1"].message and "h_trust_1" in outcomes["h1"].message


def test_rerun_skips_planned_estimators_and_fails_confirmatory_errors() -> None:
    results = _results(_hypothesis("ok"),
                       _hypothesis("planned", status="not_yet_estimable", reason="estimator its not available"),
                       _hypothesis("broken", status="estimation_failed", reason="singular design"),
                       _hypothesis("extra", status="estimation_failed", type="exploratory", reason="x"))
    outcomes = _by(_gate._rerun_outcomes(results), "rerun")
    assert [outcomes[h].status for h in ("ok", "planned", "broken", "extra")] == ["passed", "skipped", "failed",
                                                                                  "skipped"]
    assert "singular design" in outcomes["broken"].message


def test_expected_results_within_and_outside_tolerance(tmp_path: Path) -> None:
    results = _results(_hypothesis("h1"), _hypothesis("h2"))
    expected = expected_payload(results)
    assert expected["hypotheses"]["h1"]["tolerance"] == {"abs": 1e-9, "rel": 1e-9}
    drifted = copy.deepcopy(results)
    drifted["hypotheses"][0]["estimate"] += 1e-12  # within tolerance
    drifted["hypotheses"][1]["estimate"] += 1e-3  # outside
    drifted["hypotheses"][1]["verdict"] = "inconclusive"
    outcomes = _by(_gate._expected_outcomes(drifted, expected, tmp_path / "expected_results.json"), "expected")
    assert outcomes["h1"].status == "passed"
    assert outcomes["h2"].status == "failed"
    message = outcomes["h2"].message
    assert "estimate 0.301" in message and "expected 0.3" in message and "verdict 'inconclusive'" in message
    assert "--update-expected" in message


def test_expected_results_flag_new_and_missing_hypotheses_and_changed_data(tmp_path: Path) -> None:
    expected = expected_payload(_results(_hypothesis("h1"), _hypothesis("gone")))
    now = _results(_hypothesis("h1", estimate=0.5), _hypothesis("new"))
    now["data"]["survey"]["sha256"] = "b" * 64
    outcomes = _by(_gate._expected_outcomes(now, expected, tmp_path / "expected_results.json"), "expected")
    assert outcomes["new"].status == "failed" and "no entry" in outcomes["new"].message
    assert outcomes["gone"].status == "failed" and "no such hypothesis" in outcomes["gone"].message
    assert "survey data differ" in outcomes["h1"].message


def test_registered_tolerances_are_kept_and_sampled_results_get_a_wider_one() -> None:
    bayes = _hypothesis("hb", estimator="bayes_did", std_error=0.2, extras={"diagnostics": {"passed": True}})
    first = expected_payload(_results(_hypothesis("h1"), bayes))
    assert first["hypotheses"]["hb"]["tolerance"] == {"abs": 0.02, "rel": 0.0}
    first["hypotheses"]["h1"]["tolerance"] = {"abs": 0.5, "rel": 0}
    again = expected_payload(_results(_hypothesis("h1"), bayes), previous=first)
    assert again["hypotheses"]["h1"]["tolerance"] == {"abs": 0.5, "rel": 0}


@pytest.mark.parametrize(("diagnostics", "status"), [
    ({"passed": True}, "passed"),
    ({"passed": False, "reasons": ["R-hat 1.08 > 1.01"]}, "failed"),
    ({"rhat_max": 1.002, "ess_bulk_min": 1200, "divergences": 0}, "passed"),
    ({"rhat_max": 1.05, "ess_bulk_min": 150, "divergences": 3}, "failed"),
    (None, "failed"),
])
def test_diagnostics_gate(diagnostics, status) -> None:
    extras = {} if diagnostics is None else {"diagnostics": diagnostics}
    results = _results(_hypothesis("hb", estimator="bayes_did", extras=extras), _hypothesis("hf"))
    outcomes = _by(_gate._diagnostics_outcomes(results), "diagnostics")
    assert outcomes["hb"].status == status
    assert outcomes["hf"].status == "skipped"
    if diagnostics and diagnostics.get("rhat_max") == 1.05:
        assert "R-hat" in outcomes["hb"].message and "ESS" in outcomes["hb"].message
        assert "3 divergent" in outcomes["hb"].message


def test_exit_code_is_the_first_failing_class_in_the_documented_order(tmp_path: Path) -> None:
    codes = {"lock": 10, "contract": 11, "rerun": 12, "expected": 13, "diagnostics": 14}
    assert {check: _gate.EXIT_BY_CHECK[check] for check in CHECKS} == codes
    assert EXIT_CODES["check_spec_changed"] == 10 and EXIT_CODES["check_diagnostics_failed"] == 14
    for check in CHECKS:
        outcomes = (CheckOutcome("expected", "h1", "failed"), CheckOutcome(check, "h2", "failed"))
        expected_code = min(codes[check], codes["expected"])
        assert GateResult(outcomes, tmp_path).exit_code == expected_code
    assert GateResult((CheckOutcome("rerun", "h1", "skipped"),), tmp_path).exit_code == 0


def test_junit_has_one_case_per_hypothesis_and_check(tmp_path: Path) -> None:
    outcomes = [CheckOutcome(check, hid, status, f"{check} {status}")
                for hid in ("h1", "h2") for check, status in zip(CHECKS, ("passed", "failed", "skipped", "passed",
                                                                           "skipped"))]
    path = write_junit(outcomes, tmp_path / "junit.xml")
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite.get("tests") == "10" and suite.get("failures") == "2" and suite.get("skipped") == "4"
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert set(cases) == {(h, c) for h in ("h1", "h2") for c in CHECKS}
    assert cases[("h1", "contract")].find("failure").get("message") == "contract failed"
    assert cases[("h2", "rerun")].find("skipped") is not None


def test_missing_or_broken_expected_file_is_a_one_line_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no expected-results file.*--update-expected"):
        _gate._read_expected(tmp_path / "expected_results.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid UTF-8 JSON"):
        _gate._read_expected(broken)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"schema_version": 0}), encoding="utf-8")
    with pytest.raises(SpecError, match="schema_version"):
        _gate._read_expected(old)
