"""Every case of the bad-input corpus (cases.yaml) through the CLI: exit 2, one line naming file and column or field,
no traceback, nothing planted echoed back. See corpus.py for how cases run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_NAME = "oca_bad_input_corpus"  # one module object for this file and tests/integration/test_privacy_scan.py
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("corpus.py"))
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
    _spec.loader.exec_module(sys.modules[_NAME])  # type: ignore[union-attr]
corpus = sys.modules[_NAME]

CASES = corpus.load_cases()
# What the issue asks the corpus to cover, as words that must appear in some case's `covers`.
REQUIRED_COVERAGE = ("empty", "header without data", "truncated", "binary", "delimiter", "encodings",
                     "missing column", "duplicated column", "Likert value of 0", "Likert value of 6", '"agree"',
                     "duplicate respondent", "unknown wave", "treatment that changes", "negative engagement count",
                     "duplicate (page, date)", "date that cannot be parsed", "two header rows", "formula-injection",
                     "empty hypothesis spec", "wrong type", "naming a column the data does not have",
                     "missing contract file", "misspelled", "zero expectations")


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return corpus.run_all(tmp_path_factory.mktemp("bad_inputs"))


def test_the_corpus_is_large_and_covers_the_issue() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES), "case ids are unique"
    covered = " ".join(case.covers for case in CASES)
    missing = [topic for topic in REQUIRED_COVERAGE if topic not in covered]
    assert not missing, missing
    for case in CASES:
        assert (case.column is None) != (case.field is None), f"{case.id}: give exactly one of column or field"


def test_the_base_files_pass(tmp_path: Path) -> None:
    """The corpus files differ from these in one defect each, so each error is caused by that defect."""
    # h8 (monthly synthetic DiD) needs more months than the corpus' short engagement slice holds; h10 rakes to the
    # population margins of all seven sites, of which the corpus' 48-row survey slice holds three
    base = corpus.Case(id="base", covers="clean files", file="", says="", field="-", exit_code=0,
                       remove=("hypotheses/h8_engagement_synthetic.yaml",
                               "hypotheses/h10_horizontal_trust_weighted.yaml"), args=(
        "validate", "{study}", "--data", "survey={files}/survey_base.csv", "--data",
        "engagement={files}/engagement_base.csv"))
    outcome = corpus.run_case(base, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert outcome.stderr == ""
    assert "NOT TESTABLE" not in outcome.stdout


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case, outcomes) -> None:
    outcome = outcomes[case.id]
    assert outcome.exception is None, f"{case.id}: raised {outcome.exception!r}"
    assert "Traceback" not in outcome.stderr + outcome.stdout
    assert outcome.exit_code == case.exit_code, outcome.stderr
    lines = outcome.error_lines
    assert len(lines) == 1, f"{case.id}: expected one line on stderr, got {len(lines)}:\n{outcome.stderr}"
    line = lines[0]
    assert line.startswith("error: ")
    assert case.file in line, f"{case.id}: the file '{case.file}' is not named in: {line}"
    where = case.column if case.column is not None else case.field
    assert where in line, f"{case.id}: '{where}' is not named in: {line}"
    assert case.says in line, f"{case.id}: expected {case.says!r} in: {line}"
    written = [p for p in outcome.out_dir.rglob("*") if p.is_file()] if outcome.out_dir.exists() else []
    texts = [outcome.stdout, outcome.stderr, *(p.read_text(encoding="utf-8", errors="replace") for p in written)]
    for forbidden in case.must_not_say:
        assert not any(forbidden in text for text in texts), f"{case.id}: {forbidden!r} was echoed"
    # validate writes only JSON and HTML; a CSV/XLSX output is written only by the safe writer (test_writers.py)
    assert not [p for p in written if p.suffix in {".csv", ".xlsx"}]


SUBPROCESS_CASES = [case for case in CASES if case.subprocess]


@pytest.mark.parametrize("case", SUBPROCESS_CASES, ids=[case.id for case in SUBPROCESS_CASES])
def test_case_in_a_real_process(case, outcomes, tmp_path: Path) -> None:
    """The in-process run above gives what a real process gives: same exit code and the same one stderr line."""
    real = corpus.run_case_in_subprocess(case, tmp_path)
    assert "Traceback" not in real.stderr
    assert real.exit_code == outcomes[case.id].exit_code
    assert real.error_lines == [line.replace(str(outcomes[case.id].out_dir), str(real.out_dir))
                                for line in outcomes[case.id].error_lines]


def test_files_alone_can_be_validated_before_every_wave_exists(tmp_path: Path) -> None:
    """--no-testability: a delivery that is fine as a file passes even when the hypotheses cannot be tested yet."""
    case = corpus.Case(id="no_testability", covers="", file="", says="", field="-", exit_code=0, args=(
        "validate", "{study}", "--data", "survey={files}/survey_no_cso2_endline.csv", "--no-testability"))
    outcome = corpus.run_case(case, tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    assert "NOT TESTABLE" not in outcome.stdout
