"""What ``oca validate`` finds: one-line problems, and the typed ``ValidationReport`` the report layer renders as
``validation.html`` (``report.write_validation`` writes it beside ``validation.json``).

The report has one section per source (its file, the suite, every failing expectation with counts, percentages and
example row numbers) and the hypotheses' testability. It carries exactly what ``validation.json`` carries, which is
what results.json's contract records carry: never a value from a sensitive column, and example values of other
columns only when ``--show-values`` asked for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FailedExpectation", "SourceValidation", "TestabilityRow", "ValidationReport", "contract_problem",
           "validation_problems", "validation_report"]


def contract_problem(record: Mapping[str, Any], *, data_file: str | None, suite_display: str | None) -> str:
    """One line for a failed contract: the data file, the first failing column, the suite and what failed."""
    where = data_file or f"source '{record.get('source')}'"
    suite = f"'{record.get('suite')}' ({suite_display or Path(str(record.get('suite_path'))).name})"
    if record.get("error"):
        return f"{where}: the data contract {suite} could not be run: {record['error']}"
    failures = [f for f in record.get("failures") or [] if isinstance(f, Mapping)]
    if not failures:
        return (f"{where}: the data contract {suite} did not pass: {record.get('n_evaluated')} of "
                f"{record.get('n_expectations')} expectations evaluated")
    first = failures[0]
    column = f"column '{first['column']}': " if first.get("column") else ""
    line = f"{where}: {column}the data contract {suite} failed: {first.get('message')}"
    if len(failures) > 1:
        others = sorted({str(f.get("column")) for f in failures[1:] if f.get("column")})
        on = f" (on {', '.join(others[:5])}{'…' if len(others) > 5 else ''})" if others else ""
        line += f"; and {len(failures) - 1} more failing expectation(s){on}"
    return line + f". Fix: {_contract_fix(first, suite_display or str(record.get('suite_path') or 'the suite'))}"


def _contract_fix(failure: Mapping[str, Any], suite: str) -> str:
    """The fix that fits the first failure: rows in the data, a column name, or the suite file itself."""
    message = str(failure.get("message") or "")
    if failure.get("example_rows") or failure.get("unexpected_count"):
        return "correct those rows in the data, or the suite if the data is right"
    if failure.get("expectation") == "(suite)" or "is not a valid Great Expectations" in message:
        return f"correct the suite file {suite} (every entry a Great Expectations 1.x expectation with its kwargs)"
    if "not in the data" in message or "does not have" in message:
        return "correct the column name in the suite, or add the column to the data file"
    return "correct the data, or the suite if the data is right"


def validation_problems(payload: Mapping[str, Any], *, files: Mapping[str, str | None],
                        suites: Mapping[str, str], spec_files: Mapping[str, str]) -> list[str]:
    """Every problem of a validation as one line each, most basic first: columns, contracts, testability."""
    lines = [str(problem) for problem in payload.get("problems") or []]
    for record in payload.get("contracts") or []:
        if not record.get("passed"):
            source = str(record.get("source"))
            lines.append(contract_problem(record, data_file=files.get(source), suite_display=suites.get(source)))
    for record in payload.get("testability") or []:
        if not record.get("testable"):
            hypothesis = str(record.get("hypothesis"))
            where = ": ".join(p for p in (spec_files.get(hypothesis), files.get(str(record.get("source")))) if p)
            lines.append(f"{where}: hypothesis '{hypothesis}' is not testable with this data: {record.get('reason')}. "
                         "Fix: complete the data, or register different requirements before the data are seen")
    return lines


@dataclass(frozen=True)
class FailedExpectation:
    """One failing expectation as the page lists it (``percent`` already written, e.g. "12.50%")."""

    expectation: Any
    column: Any
    unexpected: Any
    percent: str | None
    example_rows: str | None
    example_values: str | None
    message: Any


@dataclass(frozen=True)
class SourceValidation:
    """One source: its data file, its suite and what failed (or why the suite could not run)."""

    source: Any
    passed: bool
    data_file: str
    n_rows: Any
    n_columns: Any
    sha256: Any
    suite: Any
    suite_file: str
    evaluated: str  # "evaluated / in suite"
    error: Any
    failures: tuple[FailedExpectation, ...]


@dataclass(frozen=True)
class TestabilityRow:
    """One registered requirement of one hypothesis and whether the data meet it."""

    __test__ = False  # not a pytest test class

    hypothesis: Any
    rule: Any
    met: bool
    message: Any


@dataclass(frozen=True)
class ValidationReport:
    """Everything ``validation.html`` shows, typed and frozen; built from the validation payload
    (``ValidationResult.to_dict()`` plus the problem lines) by ``validation_report``."""

    study: str
    ok: bool
    problems: tuple[str, ...]
    error: str | None
    sources: tuple[SourceValidation, ...]
    testability: tuple[TestabilityRow, ...]
    excluded: tuple[tuple[Any, str], ...]  # (hypothesis, "rule: count, ...") per checked hypothesis


def _failure(failure: Mapping[str, Any]) -> FailedExpectation:
    percent = failure.get("unexpected_percent")
    values = failure.get("example_values")
    return FailedExpectation(
        expectation=failure.get("expectation"), column=failure.get("column"),
        unexpected=failure.get("unexpected_count"),
        percent=f"{percent:.2f}%" if isinstance(percent, (int, float)) else None,
        example_rows=", ".join(map(str, failure.get("example_rows") or [])) or None,
        example_values=", ".join(map(str, values)) if values else None, message=failure.get("message"))


def _source(record: Mapping[str, Any], data: Mapping[str, Any]) -> SourceValidation:
    return SourceValidation(
        source=record.get("source"), passed=bool(record.get("passed")),
        data_file=data.get("file") or "(in-memory data)", n_rows=data.get("n_rows"),
        n_columns=data.get("n_columns"), sha256=data.get("sha256"), suite=record.get("suite"),
        suite_file=Path(str(record.get("suite_path") or "")).name,
        evaluated=f"{record.get('n_evaluated')} / {record.get('n_expectations')}", error=record.get("error") or None,
        failures=tuple(_failure(f) for f in record.get("failures") or [] if isinstance(f, Mapping)))


def validation_report(payload: Mapping[str, Any]) -> ValidationReport:
    """The typed report of a validation payload (what ``oca validate`` writes to validation.json)."""
    data = payload.get("data") or {}
    records = payload.get("testability") or []
    return ValidationReport(
        study=str(payload.get("study") or "study"), ok=bool(payload.get("ok")),
        problems=tuple(str(p) for p in payload.get("problem_lines") or payload.get("problems") or []),
        error=str(payload["error"]) if payload.get("error") else None,
        sources=tuple(_source(record, data.get(record.get("source")) or {})
                      for record in payload.get("contracts") or []),
        testability=tuple(TestabilityRow(record.get("hypothesis"), check.get("rule"), bool(check.get("passed")),
                                         check.get("message"))
                          for record in records for check in record.get("checks") or []),
        excluded=tuple((r.get("hypothesis"), ", ".join(f"{k}: {v}" for k, v in (r.get("counts") or {}).items()))
                       for r in records))
