"""Issue 21: a report rebuilt from identical inputs starts no kernel (the executed notebook is reused) and gives
the same HTML; any change to an input executes it again."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from oca_experiments import _version
from oca_experiments.report import _build, build_report


def _notebook(path: Path, source: str = "print(open(run_dir + '/results.json').read()[:40])") -> Path:
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('run_dir = "."')
    parameters.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(source)
    parameters.id, body.id = "cell-1", "cell-2"
    nb.cells = [parameters, body]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(directory: Path, results: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return directory


def test_second_build_with_identical_inputs_starts_no_kernel(tmp_path, monkeypatch) -> None:
    run_dir = _run(tmp_path / "run", {"schema_version": 1, "study": "s"})
    notebook = _notebook(tmp_path / "nb.ipynb")
    first = build_report(run_dir, notebook=notebook, timeout=60)
    html, executed = first.read_bytes(), (first.parent / "report.ipynb").read_bytes()

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for identical inputs")

    monkeypatch.setattr(_build, "_execute", no_kernel)
    second = build_report(run_dir, notebook=notebook, timeout=60)
    assert second.read_bytes() == html
    assert (second.parent / "report.ipynb").read_bytes() == executed


@pytest.fixture()
def counted(monkeypatch):
    """``_execute`` replaced by a stand-in that counts calls and leaves one output (no kernel: fast)."""
    calls: list[int] = []

    def fake(nb, **kwargs):
        calls.append(1)
        nb.cells[-1].outputs = [nbformat.v4.new_output("display_data", {"text/plain": f"run {len(calls)}"})]

    monkeypatch.setattr(_build, "_execute", fake)
    return calls


def test_any_input_change_executes_again(tmp_path, monkeypatch, counted) -> None:
    run_dir = _run(tmp_path / "run", {"schema_version": 1, "study": "s"})
    notebook = _notebook(tmp_path / "nb.ipynb")

    def build() -> int:
        build_report(run_dir, notebook=notebook, timeout=60)
        return len(counted)

    assert build() == 1
    assert build() == 1  # identical inputs: reused
    _run(run_dir, {"schema_version": 1, "study": "s", "changed": True})
    assert build() == 2  # results.json
    (run_dir / "manifest.json").write_text("{}", encoding="utf-8")
    assert build() == 3  # the manifest
    (run_dir / "artifacts").mkdir()
    (run_dir / "artifacts" / "figure.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert build() == 4  # an artifact the notebook may read
    _notebook(notebook, "print('another notebook')")
    assert build() == 5  # the notebook
    monkeypatch.setattr(_version, "__version__", "999.0")
    assert build() == 6  # the package version
    assert build() == 6
    build_report(run_dir, notebook=notebook, timeout=60, reuse_execution=False)
    assert len(counted) == 7  # asked not to reuse


def test_an_unreadable_previous_notebook_is_executed_again(tmp_path, counted) -> None:
    run_dir = _run(tmp_path / "run", {"schema_version": 1, "study": "s"})
    notebook = _notebook(tmp_path / "nb.ipynb")
    index = build_report(run_dir, notebook=notebook, timeout=60)
    (index.parent / "report.ipynb").write_text("not a notebook", encoding="utf-8")
    build_report(run_dir, notebook=notebook, timeout=60)
    assert len(counted) == 2
