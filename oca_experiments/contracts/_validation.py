"""What ``oca validate`` shows and writes: one-line problems, ``validation.json`` and ``validation.html``.

The page has one section per source (its file, the suite, every failing expectation with counts, percentages and
example row numbers) and one for the hypotheses' testability. It carries exactly what ``validation.json`` carries,
which is what results.json's contract records carry: never a value from a sensitive column, and example values of
other columns only when ``--show-values`` asked for them. The page is self-contained (no scripts, no links out).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oca_experiments._atomic import atomic_write_json, atomic_write_text

__all__ = ["VALIDATION_HTML", "VALIDATION_JSON", "contract_problem", "validation_html", "validation_problems",
           "write_validation"]

VALIDATION_JSON = "validation.json"
VALIDATION_HTML = "validation.html"
_SHOWN_FAILURES = 3


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


def write_validation(payload: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``validation.json`` and ``validation.html`` into ``out_dir`` atomically; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write_json(out / VALIDATION_JSON, dict(payload))
    html_path = atomic_write_text(out / VALIDATION_HTML, validation_html(payload))
    return json_path, html_path


# --------------------------------------------------------------------------- HTML

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } .num { text-align: right; }
.passed { color: #1a7f37; font-weight: bold; } .failed { color: #b42318; font-weight: bold; }
"""


def _e(value: Any) -> str:
    return html.escape("—" if value is None else str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)

    def td(position: int, value: Any) -> str:
        css = ' class="num"' if position in numeric else ""
        return f"<td{css}>{_e(value)}</td>"

    body = "".join("<tr>" + "".join(td(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(passed: bool) -> str:
    return '<span class="passed">passed</span>' if passed else '<span class="failed">FAILED</span>'


def _source_section(record: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    source = record.get("source")
    parts = [f"<section><h2>Source {_e(source)}: {_status(bool(record.get('passed')))}</h2>"]
    parts.append(_table(["data file", "rows", "columns", "sha256"],
                        [[data.get("file") or "(in-memory data)", data.get("n_rows"), data.get("n_columns"),
                          data.get("sha256")]], numeric=(1, 2)))
    parts.append(_table(["suite", "suite file", "expectations evaluated / in suite"],
                        [[record.get("suite"), Path(str(record.get("suite_path") or "")).name,
                          f"{record.get('n_evaluated')} / {record.get('n_expectations')}"]]))
    if record.get("error"):
        parts.append(f"<p>The suite could not be run: {_e(record['error'])}</p>")
    failures = [f for f in record.get("failures") or [] if isinstance(f, Mapping)]
    if failures:
        rows = []
        for failure in failures:
            percent = failure.get("unexpected_percent")
            values = failure.get("example_values")
            rows.append([failure.get("expectation"), failure.get("column"), failure.get("unexpected_count"),
                         f"{percent:.2f}%" if isinstance(percent, (int, float)) else None,
                         ", ".join(map(str, failure.get("example_rows") or [])) or None,
                         ", ".join(map(str, values)) if values else None, failure.get("message")])
        parts.append("<h3>Failed expectations</h3>")
        parts.append(_table(["expectation", "column", "unexpected", "percent", "example rows (from 0)",
                             "example values", "message"], rows, numeric=(2, 3)))
    elif record.get("passed"):
        parts.append("<p>Every expectation of the suite was evaluated and met.</p>")
    return "".join(parts) + "</section>"


def _testability_section(records: Sequence[Mapping[str, Any]]) -> str:
    if not records:
        return ""
    rows = []
    for record in records:
        for check in record.get("checks") or []:
            rows.append([record.get("hypothesis"), check.get("rule"), "met" if check.get("passed") else "NOT MET",
                         check.get("message")])
    counts = [[r.get("hypothesis"), ", ".join(f"{k}: {v}" for k, v in (r.get("counts") or {}).items())]
              for r in records]
    return ("<section><h2>Testability of each hypothesis</h2><p>Registered requirements the data must meet before a "
            "hypothesis is estimated (a hypothesis that misses one is reported as not testable).</p>"
            + _table(["hypothesis", "requirement", "result", "detail"], rows)
            + "<h3>Rows excluded by registered rules</h3>" + _table(["hypothesis", "counts"], counts)
            + "</section>")


def validation_html(payload: Mapping[str, Any]) -> str:
    """A self-contained page: one section per source, then testability."""
    data = payload.get("data") or {}
    sections = [_source_section(record, data.get(record.get("source")) or {})
                for record in payload.get("contracts") or []]
    problems = payload.get("problem_lines") or payload.get("problems") or []
    summary = ("<p>Everything passed.</p>" if payload.get("ok") else
               "<p>Problems:</p><ul>" + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>")
    if payload.get("error"):
        summary = f"<p>The validation stopped: {_e(payload['error'])}</p>"
    title = f"Data validation: {payload.get('study') or 'study'}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + _e(title) + "</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>"
            f"<p>Result: {_status(bool(payload.get('ok')))}</p>{summary}"
            + "".join(sections) + _testability_section(payload.get("testability") or [])
            + "</body></html>\n")
