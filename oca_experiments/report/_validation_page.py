"""``validation.html``: the typed ``ValidationReport`` of ``oca validate`` as a self-contained page (no scripts, no
links out), written beside ``validation.json``. The contracts decide what failed; this module only renders it."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from oca_experiments._atomic import atomic_write_json, atomic_write_text
from oca_experiments.contracts import SourceValidation, ValidationReport, validation_report

VALIDATION_JSON = "validation.json"
VALIDATION_HTML = "validation.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } .num { text-align: right; }
.passed { color: #1a7f37; font-weight: bold; } .failed { color: #b42318; font-weight: bold; }
"""


def write_validation(payload: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``validation.json`` and ``validation.html`` into ``out_dir`` atomically; return both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write_json(out / VALIDATION_JSON, dict(payload))
    html_path = atomic_write_text(out / VALIDATION_HTML, validation_html(validation_report(payload)))
    return json_path, html_path


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


def _source_section(source: SourceValidation) -> str:
    parts = [f"<section><h2>Source {_e(source.source)}: {_status(source.passed)}</h2>",
             _table(["data file", "rows", "columns", "sha256"],
                    [[source.data_file, source.n_rows, source.n_columns, source.sha256]], numeric=(1, 2)),
             _table(["suite", "suite file", "expectations evaluated / in suite"],
                    [[source.suite, source.suite_file, source.evaluated]])]
    if source.error:
        parts.append(f"<p>The suite could not be run: {_e(source.error)}</p>")
    if source.failures:
        rows = [[f.expectation, f.column, f.unexpected, f.percent, f.example_rows, f.example_values, f.message]
                for f in source.failures]
        parts.append("<h3>Failed expectations</h3>")
        parts.append(_table(["expectation", "column", "unexpected", "percent", "example rows (from 0)",
                             "example values", "message"], rows, numeric=(2, 3)))
    elif source.passed:
        parts.append("<p>Every expectation of the suite was evaluated and met.</p>")
    return "".join(parts) + "</section>"


def _testability_section(report: ValidationReport) -> str:
    if not report.excluded:  # no hypothesis was checked
        return ""
    rows = [[row.hypothesis, row.rule, "met" if row.met else "NOT MET", row.message] for row in report.testability]
    return ("<section><h2>Testability of each hypothesis</h2><p>Registered requirements the data must meet before a "
            "hypothesis is estimated (a hypothesis that misses one is reported as not testable).</p>"
            + _table(["hypothesis", "requirement", "result", "detail"], rows)
            + "<h3>Rows excluded by registered rules</h3>" + _table(["hypothesis", "counts"], report.excluded)
            + "</section>")


def validation_html(report: ValidationReport) -> str:
    """A self-contained page: the result, one section per source, then testability."""
    summary = ("<p>Everything passed.</p>" if report.ok else
               "<p>Problems:</p><ul>" + "".join(f"<li>{_e(p)}</li>" for p in report.problems) + "</ul>")
    if report.error:
        summary = f"<p>The validation stopped: {_e(report.error)}</p>"
    title = f"Data validation: {report.study}"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + _e(title) + "</title>"
            f"<style>{_STYLE}</style></head><body><h1>{_e(title)}</h1>"
            f"<p>Result: {_status(report.ok)}</p>{summary}"
            + "".join(_source_section(s) for s in report.sources) + _testability_section(report)
            + "</body></html>\n")
