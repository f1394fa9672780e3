"""Contracts: the demo suites pass clean data, fail closed on every suite problem, and never leak sensitive values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oca_experiments.contracts import ContractFailure, ContractResult, load_suite, run_contract
from oca_experiments.errors import ContractError

CONTRACTS = Path(__file__).resolve().parents[2] / "data_contracts"
SURVEY_SUITE = CONTRACTS / "survey.json"
ENGAGEMENT_SUITE = CONTRACTS / "engagement.json"

SITES = ["Alamedin", "Sokuluk", "Osh", "Uzgen", "Jalal-Abad", "Batken", "Razzakov"]
LIKERT = ["h_trust_1", "h_trust_2", "h_trust_3", "h_trust_4",
          "v_trust_lsg", "v_trust_police", "v_trust_courts", "v_trust_parliament"]
KNOWLEDGE = [f"know_{i:02d}" for i in range(1, 11)]

# Planted sensitive values: each violates an expectation, so GX puts it into its own result objects.
SECRET_ID = "R99999-SECRET"
SECRET_PHONE = "+996 SECRET 42"
SECRET_COMMENT = "Секретный комментарий"


def survey_frame(n_respondents: int = 60, seed: int = 7) -> pd.DataFrame:
    """A small frame with the demo survey schema (docs/architecture.md), two waves per respondent."""
    rng = np.random.default_rng(seed)
    n = n_respondents
    community = rng.integers(1, 25, n)
    people = pd.DataFrame({
        "respondent_id": [f"R{i:05d}" for i in range(1, n + 1)],
        "phone": [f"+996 7{rng.integers(10, 99)} {rng.integers(100, 999)} {rng.integers(100, 999)}"
                  for _ in range(n)],
        "comment": rng.choice(["Хорошо", "ok", None], n),
        "site": rng.choice(SITES, n),
        "district": rng.choice(["Первый", "Второй"], n),
        "community_id": [f"C{c:02d}" for c in community],
        "cso_id": [f"CSO{(c - 1) // 4 + 1}" for c in community],
        "treated": community % 2,
        "sex": rng.choice(["female", "male"], n),
        "age_band": rng.choice(["18-29", "30-44", "45-59", "60+"], n),
        "role": rng.choice(["local_self_government", "cso", "religious_leader", "youth", "other"], n),
        "participant": rng.integers(0, 2, n),
    })
    waves = []
    for wave, date in (("baseline", "2024-03-01"), ("endline", "2024-10-15")):
        frame = people.assign(wave=wave, interview_date=date)
        for column in LIKERT:
            answers = rng.integers(1, 6, n).astype(float)
            answers[rng.random(n) < 0.1] = np.nan  # skipped items are allowed
            frame[column] = answers
        for column in KNOWLEDGE:
            scores = rng.integers(0, 2, n).astype(float)
            scores[frame["participant"].to_numpy() == 0] = np.nan
            frame[column] = scores
        waves.append(frame)
    return pd.concat(waves, ignore_index=True)


def engagement_frame(n_pages: int = 4, n_days: int = 10) -> pd.DataFrame:
    rows = []
    for page in range(1, n_pages + 1):
        is_cso = page % 2 == 1
        for day in pd.date_range("2024-05-01", periods=n_days):
            rows.append({
                "page_id": f"P{page:02d}", "cso_id": f"CSO{(page + 1) // 2}",
                "page_type": "cso" if is_cso else "comparison", "treated": int(is_cso),
                "campaign_start": "2024-05-05" if is_cso else None, "date": day.strftime("%Y-%m-%d"),
                "posts": 2, "reactions": 10, "comments": 4, "shares": 1, "followers": 500, "hostile_comments": 1,
            })
    return pd.DataFrame(rows)


def write_suite(path: Path, suite: dict) -> Path:
    path.write_text(json.dumps(suite), encoding="utf-8")
    return path


def survey_suite_json() -> dict:
    return json.loads(SURVEY_SUITE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clean_survey() -> pd.DataFrame:
    return survey_frame()


# --------------------------------------------------------------------------- passing


def test_clean_survey_passes_silently(clean_survey, capsys, caplog):
    before = clean_survey.copy(deep=True)
    result = run_contract(SURVEY_SUITE, clean_survey, source="survey")
    assert result.passed, [failure.message for failure in result.failures]
    assert result.failures == ()
    assert result.n_expectations == result.n_evaluated
    assert 20 <= result.n_expectations <= 40
    assert result.suite == "survey"
    assert len(result.suite_sha256) == 64
    pd.testing.assert_frame_equal(clean_survey, before)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not [record for record in caplog.records if record.name.startswith("great_expectations")]


def test_clean_engagement_passes(capsys):
    result = run_contract(ENGAGEMENT_SUITE, engagement_frame(), source="engagement")
    assert result.passed, [failure.message for failure in result.failures]
    assert result.n_evaluated == result.n_expectations >= 20
    assert capsys.readouterr().out == ""


def test_extra_columns_are_allowed(clean_survey):
    result = run_contract(SURVEY_SUITE, clean_survey.assign(extra_note="x"), source="survey")
    assert result.passed


def test_suites_declare_sensitive_columns():
    assert load_suite(SURVEY_SUITE).sensitive_columns == {"respondent_id", "phone", "comment"}
    assert load_suite(ENGAGEMENT_SUITE).sensitive_columns == frozenset()


# --------------------------------------------------------------------------- failing on data


def test_likert_out_of_range_fails_naming_the_column(clean_survey):
    # A non-range index checks that example rows are 0-based positions, not the caller's labels.
    data = clean_survey.set_index(clean_survey.index + 1000)
    data.iloc[[3, 17], data.columns.get_loc("h_trust_1")] = 6.0
    result = run_contract(SURVEY_SUITE, data, source="survey")
    assert not result.passed
    assert result.n_evaluated == result.n_expectations, "a data failure is still an evaluated expectation"
    (failure,) = result.failures
    assert failure.expectation == "expect_column_values_to_be_between"
    assert failure.column == "h_trust_1"
    assert failure.unexpected_count == 2
    assert failure.example_rows == (3, 17)
    assert failure.example_values is None, "values only on request"
    assert "'h_trust_1'" in failure.message and "rows 3, 17" in failure.message
    assert "6" not in failure.message.replace("h_trust_1", "")


def test_negative_engagement_count_fails():
    data = engagement_frame()
    data.loc[5, "shares"] = -3
    result = run_contract(ENGAGEMENT_SUITE, data, source="engagement")
    assert not result.passed
    assert [failure.column for failure in result.failures] == ["shares"]


def test_wrong_dtype_for_a_check_fails_closed(clean_survey):
    data = clean_survey.assign(h_trust_2=clean_survey["h_trust_2"].astype(str))
    result = run_contract(SURVEY_SUITE, data, source="survey")
    assert not result.passed
    assert result.n_evaluated < result.n_expectations
    assert any(failure.column == "h_trust_2" for failure in result.failures)


# --------------------------------------------------------------------------- failing closed on the suite


def test_empty_suite_fails(tmp_path, clean_survey):
    suite = write_suite(tmp_path / "empty.json", {"name": "empty_suite", "expectations": [], "meta": {}})
    result = run_contract(suite, clean_survey, source="survey")
    assert not result.passed
    assert result.n_expectations == 0
    assert "empty_suite" in result.failures[0].message


def test_misspelled_column_fails_naming_the_suite(tmp_path, clean_survey):
    suite = survey_suite_json()
    for expectation in suite["expectations"]:
        if expectation["kwargs"].get("column") == "h_trust_1":
            expectation["kwargs"]["column"] = "h_trust_l"
    result = run_contract(write_suite(tmp_path / "typo.json", suite), clean_survey, source="survey")
    assert not result.passed
    assert result.n_evaluated == result.n_expectations - 1
    (failure,) = result.failures
    assert failure.column == "h_trust_l"
    assert "suite 'survey'" in failure.message and "'h_trust_l'" in failure.message


def test_unknown_expectation_type_is_not_silently_dropped(tmp_path, clean_survey):
    # GX's ExpectationSuite(...) would drop this entry with a log line and validate the rest.
    suite = {"name": "typo_type", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "wave"}},
        {"type": "expect_column_values_to_be_in_sett", "kwargs": {"column": "wave", "value_set": ["baseline"]}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "h_trust_1", "min_valu": 1}},
    ]}
    result = run_contract(write_suite(tmp_path / "t.json", suite), clean_survey, source="survey")
    assert not result.passed
    assert (result.n_expectations, result.n_evaluated) == (3, 1)
    assert [failure.expectation for failure in result.failures] == [
        "expect_column_values_to_be_in_sett", "expect_column_values_to_be_between"]
    assert all("typo_type" in failure.message for failure in result.failures)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"name": "x"}', '{"expectations": []}',
                                     '{"name": "x", "expectations": [], "meta": {"oca": {"sensitive_columns": "a"}}}'])
def test_unloadable_suite_raises_naming_the_file(tmp_path, content, clean_survey):
    path = tmp_path / "broken_suite.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ContractError) as info:
        run_contract(path, clean_survey, source="survey")
    assert "broken_suite.json" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_suite_raises(tmp_path, clean_survey):
    with pytest.raises(ContractError, match="does not exist") as info:
        run_contract(tmp_path / "nowhere.json", clean_survey, source="survey")
    assert "nowhere.json" in str(info.value)


# --------------------------------------------------------------------------- privacy


def planted_frame(clean: pd.DataFrame) -> pd.DataFrame:
    data = clean.copy()
    data.loc[2, "respondent_id"] = SECRET_ID            # violates the respondent_id regex
    data.loc[5, "respondent_id"] = data.loc[6, "respondent_id"]  # duplicate (id, wave): compound-unique failure
    data.loc[9, "phone"] = SECRET_PHONE                 # violates the phone regex
    data.loc[11, "comment"] = SECRET_COMMENT
    data.loc[4, "h_trust_1"] = 6.0                      # non-sensitive failure
    data.loc[8, "sex"] = "unknown"                      # non-sensitive failure
    return data


@pytest.mark.parametrize("show_values", [False, True])
def test_sensitive_values_never_leak(clean_survey, capsys, show_values):
    data = planted_frame(clean_survey)
    duplicated_id = data.loc[6, "respondent_id"]
    result = run_contract(SURVEY_SUITE, data, source="survey", show_values=show_values)
    assert not result.passed
    failing_columns = {failure.column for failure in result.failures}
    assert {"respondent_id", "phone", "respondent_id, wave", "h_trust_1", "sex"} <= failing_columns

    surfaces = [repr(result), json.dumps(result.to_dict(), ensure_ascii=False), result.summary_line(),
                *(failure.message for failure in result.failures)]
    captured = capsys.readouterr()
    surfaces += [captured.out, captured.err]
    for text in surfaces:
        for secret in (SECRET_ID, SECRET_PHONE, SECRET_COMMENT, duplicated_id, "SECRET"):
            assert secret not in text

    for failure in result.failures:
        if failure.column in {"respondent_id", "phone", "respondent_id, wave"}:
            assert failure.example_values is None
            assert failure.example_rows, "row numbers are not values and are always given"


def test_show_values_only_for_non_sensitive_columns(clean_survey):
    result = run_contract(SURVEY_SUITE, planted_frame(clean_survey), source="survey", show_values=True)
    by_column = {failure.column: failure for failure in result.failures}
    assert by_column["h_trust_1"].example_values == (6.0,)
    assert by_column["sex"].example_values == ("unknown",)
    assert "'unknown'" in by_column["sex"].message
    assert by_column["respondent_id"].example_values is None
    assert by_column["phone"].example_values is None


def test_result_serialises_to_one_line_json(clean_survey):
    data = clean_survey.copy()
    data.loc[0, "wave"] = "midline"
    result = run_contract(SURVEY_SUITE, data, source="survey")
    assert isinstance(result, ContractResult)
    assert all(isinstance(failure, ContractFailure) for failure in result.failures)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["passed"] is False
    assert payload["suite_path"] == str(SURVEY_SUITE)
    assert set(payload) >= {"source", "suite", "passed", "n_expectations", "n_evaluated", "failures"}
    assert "\n" not in result.summary_line()
    assert all("\n" not in failure["message"] for failure in payload["failures"])
    with pytest.raises(AttributeError):
        result.passed = True  # type: ignore[misc]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_files_read_back_by_the_reader_pass_the_suite(tmp_path, clean_survey, suffix):
    from oca_experiments.io import read_table

    path = tmp_path / f"survey{suffix}"
    if suffix == ".csv":  # a Russian-locale Excel export: cp1251, semicolons
        path.write_bytes(clean_survey.to_csv(index=False, sep=";").encode("cp1251"))
    elif suffix == ".xlsx":
        clean_survey.to_excel(path, index=False)
    else:
        clean_survey.to_parquet(path)
    result = run_contract(SURVEY_SUITE, read_table(path), source="survey")
    assert result.passed, [failure.message for failure in result.failures]


# --------------------------------------------------------------------------- text in numbers, one-line problems, pages


def test_text_in_a_likert_column_is_counted_with_rows(clean_survey):
    data = clean_survey.assign(h_trust_2=clean_survey["h_trust_2"].astype(object))
    data.loc[[4, 9], "h_trust_2"] = "agree"
    result = run_contract(SURVEY_SUITE, data, source="survey")
    (failure,) = [f for f in result.failures if f.column == "h_trust_2"]
    assert failure.unexpected_count == 2 and failure.example_rows == (4, 9)
    assert "2 value(s) are not numbers" in failure.message and "agree" not in failure.message
    assert result.n_evaluated < result.n_expectations, "an expectation that raised is still not evaluated"
    shown = run_contract(SURVEY_SUITE, data, source="survey", show_values=True)
    assert [f.example_values for f in shown.failures if f.column == "h_trust_2"] == [("agree", "agree")]


def test_one_line_problem_names_file_column_and_suite(clean_survey):
    from oca_experiments.contracts._validation import contract_problem

    data = planted_frame(clean_survey)
    record = run_contract(SURVEY_SUITE, data, source="survey").to_dict()
    line = contract_problem(record, data_file="survey_march.csv", suite_display="data_contracts/survey.json")
    assert line.startswith("survey_march.csv: column 'respondent_id': the data contract 'survey' "
                           "(data_contracts/survey.json) failed: ")
    assert "more failing expectation(s)" in line and "\n" not in line
    for secret in (SECRET_ID, SECRET_PHONE, SECRET_COMMENT):
        assert secret not in line


def test_validation_page_has_a_section_per_source_and_escapes_text(clean_survey, tmp_path):
    from oca_experiments.report import write_validation

    data = clean_survey.copy()
    data.loc[3, "site"] = "<script>alert(1)</script>"
    survey = run_contract(SURVEY_SUITE, data, source="survey", show_values=True).to_dict()
    engagement = run_contract(ENGAGEMENT_SUITE, engagement_frame(), source="engagement").to_dict()
    payload = {"study": "s", "ok": False, "problems": [], "contracts": [survey, engagement],
               "data": {"survey": {"file": "survey.csv", "n_rows": len(data)}}, "testability": []}
    json_path, html_path = write_validation(payload, tmp_path / "val")
    page = html_path.read_text(encoding="utf-8")
    assert page.count("<section>") == 2 and "Source survey" in page and "Source engagement" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert json.loads(json_path.read_text(encoding="utf-8"))["contracts"][0]["source"] == "survey"


# --------------------------------------------------------------------------- issue 18 items 7 and 9


def test_one_text_cell_in_a_numeric_value_set_counts_only_that_cell(clean_survey):
    """'treated' in {0, 1} with one cell 'x' was '120 unexpected values (100%), e.g. rows 0, 1, 2'."""
    data = clean_survey.copy()
    data["treated"] = data["treated"].astype(object)
    data.loc[17, "treated"] = "x"
    result = run_contract(SURVEY_SUITE, data, source="survey")
    (failure,) = [f for f in result.failures if f.column == "treated"]
    assert failure.unexpected_count == 1 and failure.example_rows == (17,)
    assert "1 unexpected value(s), of which 1 not a number" in failure.message
    assert failure.unexpected_percent == pytest.approx(100 / len(data))


def test_numeric_value_set_read_as_text_still_passes_when_every_cell_fits(clean_survey):
    data = clean_survey.assign(treated=clean_survey["treated"].astype(str))  # "0"/"1", e.g. a text export
    result = run_contract(SURVEY_SUITE, data, source="survey")
    assert not [f for f in result.failures if f.column == "treated"]


def _fix_of(record, suite_display="survey.json"):
    from oca_experiments.contracts._validation import contract_problem

    return contract_problem(record, data_file="survey.csv", suite_display=suite_display).partition("Fix: ")[2]


def test_the_fix_fits_the_failure(tmp_path, clean_survey):
    empty = run_contract(write_suite(tmp_path / "e.json", {"name": "e", "expectations": []}), clean_survey,
                         source="survey")
    unknown = run_contract(write_suite(tmp_path / "u.json", {"name": "u", "expectations": [
        {"type": "expect_column_values_to_be_in_sett", "kwargs": {"column": "wave", "value_set": ["baseline"]}}]}),
        clean_survey, source="survey")
    rows = clean_survey.copy()
    rows.loc[3, "h_trust_1"] = 9
    out_of_range = run_contract(SURVEY_SUITE, rows, source="survey")
    assert "rows in the data" not in _fix_of(empty.to_dict()) and "suite file" in _fix_of(empty.to_dict())
    assert "rows in the data" not in _fix_of(unknown.to_dict()) and "suite file" in _fix_of(unknown.to_dict())
    assert _fix_of(out_of_range.to_dict()).startswith("correct those rows in the data")
