"""Issue 21 (cold demo) and issue 14 acceptance 5: the report's kernel starts while the run is still fitting
(``ReportKernel``). A notebook executed on it gives the same executed notebook and HTML, byte for byte, as on a
kernel started by ``build_report``; a kernel nobody takes is shut down."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from oca_experiments import api
from oca_experiments.errors import DataError
from oca_experiments.report import ReportKernel, build_report
from oca_experiments.report._kernel import notebook_imports

_CELLS = [
    'run_dir = "."',
    "import os\nimport warnings\nimport matplotlib.pyplot as plt\nfrom oca_experiments.report import load_report",
    # the working directory is the run folder (a prestarted kernel begins elsewhere and is moved there silently)
    "print(open('results.json').read()[:30])\nprint(os.path.basename(os.getcwd()))",
    "fig, ax = plt.subplots(figsize=(2, 1.5))\nax.plot([0, 1, 2], [1, 0, 2])\nax.set_title('a figure')",
    "import sys\nprint(sorted(k for k in ('warnings', 'os') if k in sys.modules), len(In))",
]


def _notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in _CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    for i, cell in enumerate(nb.cells, start=1):
        cell.id = f"cell-{i}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "results.json").write_text(json.dumps({"schema_version": 1, "study": "kernel"}), encoding="utf-8")
    return directory


def test_a_prestarted_kernel_gives_the_same_report_byte_for_byte(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "nb.ipynb")
    fresh = build_report(_run(tmp_path / "a" / "run"), notebook=notebook, timeout=120)

    elsewhere = tmp_path / "b"
    elsewhere.mkdir()
    kernel = ReportKernel.start(notebook, cwd=elsewhere)  # the run folder does not exist yet
    assert kernel is not None
    run_dir = _run(tmp_path / "b" / "run")
    prestarted = build_report(run_dir, notebook=notebook, timeout=120, kernel=kernel)

    executed = nbformat.read(prestarted.parent / "report.ipynb", as_version=4)
    # cells: parameters, injected parameters, imports, print, figure, modules
    assert executed.cells[3].outputs[0]["text"].endswith("\nrun\n")  # it worked in the run folder
    assert any("image/png" in out.get("data", {}) for out in executed.cells[4].outputs)
    assert [cell.execution_count for cell in executed.cells] == list(range(1, 7))  # the warm-up counted nothing
    def executed_text(report: Path, root: Path) -> str:  # the execution key hashes the (different) run paths
        text = (report.parent / "report.ipynb").read_text(encoding="utf-8").replace(str(root), "<tmp>")
        return re.sub(r'"oca_execution_key": "[0-9a-f]+"', "<key>", text)

    assert executed_text(prestarted, tmp_path / "b") == executed_text(fresh, tmp_path / "a")
    assert prestarted.read_text().replace(str(tmp_path / "b"), "<tmp>") == \
        fresh.read_text().replace(str(tmp_path / "a"), "<tmp>")
    assert kernel.take(notebook) is None  # taken once, and shut down after the build


def test_an_unused_kernel_is_shut_down(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "nb.ipynb")
    kernel = ReportKernel.start(notebook, cwd=tmp_path)
    assert kernel is not None
    pid = kernel._manager.provisioner.pid
    kernel.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the prestarted kernel is still running after close()")
    kernel.close()  # twice: nothing left to do


def test_another_notebook_does_not_take_the_kernel(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "nb.ipynb")
    kernel = ReportKernel.start(notebook, cwd=tmp_path)
    assert kernel is not None
    assert kernel.take(tmp_path / "other.ipynb") is None  # not warmed for it: shut down, the build starts one
    assert kernel.take(notebook) is None


def test_an_unreadable_notebook_gets_no_kernel(tmp_path: Path) -> None:
    broken = tmp_path / "nb.ipynb"
    broken.write_text("{not json", encoding="utf-8")
    assert ReportKernel.start(broken, cwd=tmp_path) is None  # build_report reports it, with its own message


def test_the_warm_up_imports_what_the_notebook_imports() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "import os, json as j\nfrom oca_experiments.report import load_report, show_section",
        "%matplotlib inline",  # not Python: skipped
        "from . import x\nif True:\n    import csv",  # relative and nested imports: left to the cell
    )]
    assert notebook_imports(nb) == [("os", []), ("json", []),
                                    ("oca_experiments.report", ["load_report", "show_section"]),
                                    ("matplotlib.pyplot", [])]


def test_bad_input_starts_no_kernel_and_a_failed_run_shuts_it_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    study_copy: Path, demo_data) -> None:
    """The kernel starts once the data are read and their contracts have run (``on_inputs_checked``): a missing
    file starts none; a run that fails later shuts the started one down."""
    events: list[str] = []

    class Spy:
        def close(self) -> None:
            events.append("closed")

    def start(cls, notebook, cwd):
        events.append("started")
        return Spy()

    monkeypatch.setattr(ReportKernel, "start", classmethod(start))
    study = api.load_study(study_copy)
    with pytest.raises(DataError):
        api.run_to_directory(study, {"survey": tmp_path / "missing.csv"}, tmp_path / "out")
    assert events == []

    def failing_fit(task, *args, **kwargs):
        raise KeyboardInterrupt  # a run stopped midway (an internal error would become a result instead)

    monkeypatch.setattr("oca_experiments.runner._run_task", failing_fit)
    data = {"survey": demo_data.survey, "engagement": demo_data.engagement, "community": demo_data.community}
    with pytest.raises(KeyboardInterrupt):
        api.run_to_directory(study, data, tmp_path / "out")
    assert events == ["started", "closed"]
