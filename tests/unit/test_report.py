"""The report stage: reports/report.ipynb executed on a run's results.json, exported to self-contained HTML."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from oca_experiments.errors import ReportError
from oca_experiments.report import _build, build_report

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "reports" / "report.ipynb"
FIXTURE_RESULTS = Path(__file__).parent / "fixtures" / "report" / "results.json"
HYPOTHESIS_IDS = ["h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h4_engagement_per_post",
                  "h5_hostile_share", "h6_horizontal_trust_by_sex"]
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RESOURCE_ATTRIBUTE = re.compile(r"\b(?:src|href)\s*=\s*[\"']?([^\"'\s>]*)", re.IGNORECASE)


def _make_run(directory: Path, results: dict | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if results is None:
        shutil.copy(FIXTURE_RESULTS, directory / "results.json")
    else:
        (directory / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return directory


def _write_notebook(path: Path, *sources: str) -> Path:
    """A small notebook: a parameters cell, then one code cell per source."""
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('run_dir = "."')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters] + [nbformat.v4.new_code_cell(textwrap.dedent(source)) for source in sources]
    for number, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{number}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _body(html: str) -> str:
    """The report itself, without the stylesheet in <head>."""
    return html[html.index("<body"):]


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory):
    run_dir = _make_run(tmp_path_factory.mktemp("fixture") / "run")
    index = build_report(run_dir, notebook=NOTEBOOK)
    return run_dir, index, index.read_text(encoding="utf-8")


def test_report_is_written_to_run_dir_report(fixture_report):
    run_dir, index, _ = fixture_report
    assert index == run_dir / "report" / "index.html"
    assert sorted(os.listdir(run_dir / "report")) == ["decision.html", "index.html", "report.ipynb"]
    assert sorted(os.listdir(run_dir)) == ["report", "results.json"]  # no staging directory left behind


def test_report_shows_every_hypothesis_with_numbers_or_reasons(fixture_report):
    body = _body(fixture_report[2])
    for hypothesis_id in HYPOTHESIS_IDS:
        assert hypothesis_id in body
    assert "OCA pilot: trust and engagement (demo)" in body
    for shown in ["0.231", "[0.113, 0.349]", "&lt; 0.001", "0.447", "2,880", "survey_did", "confirmatory",
                  "exploratory", "not yet estimable: estimator its not available",
                  "not yet estimable: estimator participant_did not available"]:
        assert shown in body, shown
    for verdict in ["supported", "not_supported"]:
        assert f">{verdict}</td>" in body
    assert "not yet estimable: not yet estimable" not in body  # reasons that name the status are not prefixed
    assert "Why these verdicts" in body and "p = 0.00012 &lt; alpha = 0.05" in body


def test_report_shows_demo_truth_and_whether_the_ci_covers_it(fixture_report):
    body = _body(fixture_report[2])
    assert "true effect (demo)" in body
    for value in ["0.250", "0.200", "0.400"]:
        assert f">{value}</td>" in body
    h1_row = re.search(r"<tr><td[^>]*>[^<]*\(h1_horizontal_trust\)</td>.*?</tr>", body).group(0)
    h2_row = re.search(r"<tr><td[^>]*>[^<]*\(h2_vertical_trust\)</td>.*?</tr>", body).group(0)
    assert h1_row.endswith(">yes</td></tr>") and h2_row.endswith(">no</td></tr>")


def test_report_shows_contracts_and_provenance(fixture_report):
    body = _body(fixture_report[2])
    for shown in ["FAILED", "41 / 41", "18 / 18", "expect_column_values_to_be_between", "hostile_comments",
                  "0.07%", "118, 2045, 3391", "survey.csv", "engagement.csv", "4,320",
                  "9f2c1a7be04d3e5f6a8b7c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"]:
        assert shown in body, shown
    assert "-4, -1, -2" not in body  # example values stay out of the report, even when the run recorded them


def test_report_embeds_the_coefficient_plot_as_png(fixture_report):
    body = _body(fixture_report[2])
    match = re.search(r'<img alt="Estimates at a glance, one panel per hypothesis on its own scale: [^"]*" '
                      r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', body)
    assert match, "no embedded coefficient plot (small multiples, each on its own scale)"
    assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")


def test_report_is_self_contained_and_hides_code(fixture_report):
    html = fixture_report[2]
    for value in RESOURCE_ATTRIBUTE.findall(html):
        assert not value.lower().startswith(("http:", "https:", "//")), value
    assert not re.search(r"<(?:script|link)\b[^>]*(?:https?:)?//", html, re.IGNORECASE)
    assert "<script" not in html  # nothing to run, so nothing can fail in the browser console
    assert "import matplotlib" not in html and "run_dir =" not in html
    assert "jp-InputArea-editor" not in _body(html)
    assert "format: html" not in html  # the Quarto front matter (a raw cell) is not shown


def test_report_has_no_timestamps_and_no_noise(fixture_report):
    run_dir, index, html = fixture_report
    assert not TIMESTAMP.search(html)
    executed = nbformat.read(run_dir / "report" / "report.ipynb", as_version=4)
    assert "papermill" not in executed.metadata
    for cell in executed.cells:
        assert "execution" not in cell.metadata and "papermill" not in cell.metadata
        for output in cell.get("outputs", []):
            assert output.output_type == "display_data", (cell.id, output.output_type)  # no stderr, no warnings
    assert not TIMESTAMP.search(nbformat.writes(executed))
    assert str(run_dir) not in html  # the HTML does not depend on where the run lives


def test_rebuilding_gives_identical_bytes(fixture_report):
    run_dir, index, html = fixture_report
    first = index.read_bytes()
    rebuilt = build_report(run_dir, notebook=NOTEBOOK, reuse_execution=False)  # executed again, not reused
    assert rebuilt.read_bytes() == first


def test_failing_notebook_raises_and_keeps_the_last_good_report(fixture_report, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(fixture_report[0], run_dir)
    good_html = (run_dir / "report" / "index.html").read_bytes()
    broken = _write_notebook(tmp_path / "broken.ipynb",
                             "x = 1",
                             'raise ValueError("respondent R00042, phone +996 700 123 456")')
    with pytest.raises(ReportError) as caught:
        build_report(run_dir, notebook=broken, timeout=60)
    message = str(caught.value)
    assert "\n" not in message
    assert "broken.ipynb" in message and "cell 3" in message and "ValueError" in message
    assert "R00042" not in message and "996" not in message and "Traceback" not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert (run_dir / "report" / "index.html").read_bytes() == good_html
    assert sorted(os.listdir(run_dir)) == ["report", "results.json"]


def test_kernel_runs_this_interpreter_in_the_run_dir(tmp_path):
    run_dir = _make_run(tmp_path / "run", {"schema_version": 1})
    checks = _write_notebook(
        tmp_path / "checks.ipynb",
        f"""
        import sys
        from pathlib import Path
        assert Path(sys.prefix).resolve() == Path({sys.prefix!r}).resolve(), "wrong interpreter"
        assert isinstance(run_dir, str) and Path(run_dir).resolve() == Path.cwd().resolve()
        assert (Path.cwd() / "results.json").is_file()
        """,
    )
    index = build_report(run_dir, notebook=checks, out_dir=tmp_path / "elsewhere", timeout=60)
    assert index == tmp_path / "elsewhere" / "index.html" and index.is_file()
    assert not (run_dir / "report").exists()


def test_report_notebook_tolerates_missing_optional_keys(tmp_path):
    run_dir = _make_run(tmp_path / "run", {"schema_version": 1, "study": "Bare study",
                                           "hypotheses": [{"id": "h1_only", "status": "not_testable"}]})
    html = build_report(run_dir, notebook=NOTEBOOK).read_text(encoding="utf-8")
    for shown in ["Bare study", "h1_only", "not testable", "nothing to plot",
                  "No data contract results were recorded", "No data provenance was recorded"]:
        assert shown in html, shown


def test_missing_results_json_is_a_report_error(tmp_path):
    with pytest.raises(ReportError, match="results.json not found"):
        build_report(tmp_path, notebook=NOTEBOOK)
    assert os.listdir(tmp_path) == []


def test_out_dir_may_not_replace_the_run_dir(tmp_path):
    run_dir = _make_run(tmp_path / "run")
    for out_dir in (run_dir, tmp_path):
        with pytest.raises(ReportError, match="would replace the run directory"):
            build_report(run_dir, notebook=NOTEBOOK, out_dir=out_dir)
    assert (run_dir / "results.json").is_file()


@pytest.mark.skipif(os.name != "posix", reason="the stand-in quarto is a shebang script")
def test_quarto_is_used_when_on_path(tmp_path, monkeypatch):
    """No quarto here: a stand-in records its arguments and writes the output Quarto would."""
    fake_quarto = tmp_path / "bin" / "quarto"
    fake_quarto.parent.mkdir()
    fake_quarto.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys
        from pathlib import Path
        args = sys.argv[1:]
        Path(args[args.index("--output") + 1]).write_text("<html><body>rendered by quarto</body></html>")
        Path({str(tmp_path / "quarto-args.json")!r}).write_text(json.dumps({{"args": args, "cwd": str(Path.cwd())}}))
        """))
    fake_quarto.chmod(fake_quarto.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(_build.shutil, "which", lambda name: str(fake_quarto) if name == "quarto" else None)
    run_dir = _make_run(tmp_path / "run", {"schema_version": 1})
    index = build_report(run_dir, notebook=_write_notebook(tmp_path / "tiny.ipynb", "x = 1"), timeout=60)
    assert index.read_text() == "<html><body>rendered by quarto</body></html>"
    call = json.loads((tmp_path / "quarto-args.json").read_text())
    assert call["args"][:4] == ["render", "report.ipynb", "--to", "html"] and "--embed-resources" in call["args"]
    assert Path(call["cwd"]).parent == run_dir  # rendered inside the staging directory, then swapped in


def test_notebook_without_cell_ids_still_gives_identical_bytes(tmp_path):
    """nbformat invents random ids for cells saved without one; they would end up in the HTML."""
    notebook = tmp_path / "no_ids.ipynb"
    notebook.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                   "source": "from IPython.display import Markdown, display\ndisplay(Markdown('# Hello'))"}],
    }), encoding="utf-8")
    run_dir = _make_run(tmp_path / "run", {"schema_version": 1})
    first = build_report(run_dir, notebook=notebook, timeout=60).read_bytes()
    second = build_report(run_dir, notebook=notebook, timeout=60, reuse_execution=False).read_bytes()
    assert first == second
    assert b'id="cell-id=oca-cell-1"' in first


def test_output_that_loads_from_the_network_is_refused(tmp_path):
    run_dir = _make_run(tmp_path / "run", {"schema_version": 1})
    notebook = _write_notebook(tmp_path / "cdn.ipynb", """
        from IPython.display import HTML, display
        display(HTML('<script src="https://cdn.example.org/chart.js"></script>'))
        """)
    with pytest.raises(ReportError, match="external resource"):
        build_report(run_dir, notebook=notebook, timeout=60)
    assert os.listdir(run_dir) == ["results.json"]
