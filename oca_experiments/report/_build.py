"""Execute a report notebook on a run's artifacts and export it as one self-contained HTML file.

The report never re-estimates: the notebook reads only files in the run directory. Outputs are built in a
staging directory and swapped in only when everything succeeded, so a failed build keeps the last good report.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import nbformat
from jinja2 import DictLoader
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbconvert import HTMLExporter

from oca_experiments._atomic import staged_directory
from oca_experiments._layout import INDEX_HTML, RESULTS_FILE
from oca_experiments.errors import ReportError
from oca_experiments.report._decision import DECISION_HTML, write_decision_page
from oca_experiments.report._kernel import CurrentInterpreterKernelManager, ReportKernel, before_first_cell

__all__ = ["build_report", "default_notebook", "study_notebook"]

EXECUTED_NOTEBOOK = "report.ipynb"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"  # papermill's tag, so either tool recognises the other's cell
EXECUTION_KEY = "oca_execution_key"  # notebook metadata: the inputs' hash the executed notebook came from
KERNEL_START_TIMEOUT = 120  # seconds; a cold kernel start on a loaded CI machine can take tens of seconds

# Metadata that records when or how long something ran: it would make two builds of one run differ.
_VOLATILE_NOTEBOOK_METADATA = ("papermill",)
_VOLATILE_CELL_METADATA = ("papermill", "execution", "ExecuteTime")

# The stock "lab" template loads require.js, MathJax and mermaid from CDNs and runs widget/JS outputs.
# This child template drops all of them: the report must render offline without console errors.
_OFFLINE_TEMPLATE_NAME = "oca_offline.html.j2"
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_javascript -%}{%- endblock data_javascript -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
"""

# Tags that would make a browser fetch something: src/href/data pointing at http(s) or protocol-relative URLs.
_EXTERNAL_RESOURCE = re.compile(
    r"<(?:script|link|img|iframe|source|embed|object|video|audio)\b[^>]*?\b(?:src|href|data)\s*=\s*[\"']?\s*"
    r"(?:https?:)?//",
    re.IGNORECASE,
)
_EXTERNAL_CSS = re.compile(r"(?:url\(|@import)\s*[\"']?\s*(?:https?:)?//", re.IGNORECASE)


#: Where a study's own report notebook goes when it has one; study.yaml's ``report:`` may name another path.
CONVENTIONAL_NOTEBOOK = "reports/report.ipynb"


def default_notebook() -> Path:
    """The built-in report notebook: inside the installed package (wheel), or the repository's demo study
    (source checkout, where the wheel's copy comes from; see pyproject.toml's force-include)."""
    package_dir = Path(__file__).resolve().parents[1]
    for candidate in (package_dir / "_demo_study" / CONVENTIONAL_NOTEBOOK,
                      package_dir.parent / CONVENTIONAL_NOTEBOOK):
        if candidate.is_file():
            return candidate
    raise ReportError("the built-in report notebook is not installed with the package", path=str(package_dir),
                      fix="reinstall oca-experiments, or name a notebook with 'report:' in study.yaml")


def study_notebook(study_dir: Path, configured: str | None) -> Path:
    """The notebook a study's report runs: the one study.yaml names (it must exist), else the study's
    ``reports/report.ipynb`` when present, else the built-in one."""
    if configured:
        return Path(study_dir) / configured
    own = Path(study_dir) / CONVENTIONAL_NOTEBOOK
    return own if own.is_file() else default_notebook()


def build_report(
    run_dir: Path, *, notebook: Path, out_dir: Path | None = None, timeout: int = 600,
    reuse_execution: bool = True, kernel: ReportKernel | None = None,
) -> Path:
    """Execute ``notebook`` on ``run_dir``'s artifacts and write ``out_dir/index.html``; return its path.

    ``out_dir`` (default ``run_dir/report``) also receives the executed notebook as ``report.ipynb``.
    ``timeout`` bounds each cell, in seconds. Raises ``ReportError`` when the run's results are missing or the
    notebook fails; the previous report in ``out_dir`` then stays in place.

    With ``reuse_execution`` (the default) no kernel is started when ``out_dir/report.ipynb`` was executed from
    the same inputs (``execution_key``: the run's results, manifest and artifacts, the notebook with its
    injected parameters, and the installed package's version and source): the executed notebook is reused and
    exported again, which gives the same HTML because execution is deterministic.

    ``kernel``: a kernel started earlier for this notebook (``ReportKernel.start``, while the run was still
    estimating); the notebook runs on it, with the same result as on a kernel started here. It is shut down
    afterwards, or unused and shut down when the execution is reused.
    """
    run_dir = Path(run_dir).resolve()
    notebook = Path(notebook).resolve()
    out_dir = Path(out_dir).resolve() if out_dir is not None else run_dir / "report"
    if out_dir == run_dir or out_dir in run_dir.parents:
        raise ReportError(
            "the report directory would replace the run directory that holds its inputs",
            path=str(out_dir),
            fix="pass an out_dir inside or beside the run directory, e.g. run_dir/report",
        )

    study = _read_study_name(run_dir / RESULTS_FILE)
    nb = _read_notebook(notebook)
    injected_index = _inject_parameters(nb, run_dir=run_dir)
    nb.metadata["title"] = f"{study}: campaign impact report"
    key = execution_key(run_dir, nb, out_dir=out_dir)
    reused = _reusable_execution(out_dir / EXECUTED_NOTEBOOK, key) if reuse_execution else None
    if reused is not None:
        nb = reused
        if kernel is not None:
            kernel.close()
    else:
        manager = kernel.take(notebook) if kernel is not None else None
        _execute(nb, notebook=notebook, cwd=run_dir, timeout=timeout, injected_index=injected_index, manager=manager)
        _strip_volatile_metadata(nb)
        nb.metadata[EXECUTION_KEY] = key

    with staged_directory(out_dir) as staging:
        executed_path = staging / EXECUTED_NOTEBOOK
        executed_path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        index_path = staging / INDEX_HTML
        quarto = shutil.which("quarto")
        if quarto:
            _render_with_quarto(quarto, executed_path, index_path, timeout=timeout)
        else:
            index_path.write_text(_export_html(nb, images_dir=notebook.parent), encoding="utf-8")
        _require_self_contained(index_path, shown_path=out_dir / INDEX_HTML)
        # The one-page decision summary, printable on its own (the report shows the same section first).
        decision_path = write_decision_page(run_dir, staging)
        _require_self_contained(decision_path, shown_path=out_dir / DECISION_HTML)
    return out_dir / INDEX_HTML


def execution_key(run_dir: Path, nb: nbformat.NotebookNode, *, out_dir: Path) -> str:
    """SHA-256 of everything an execution of ``nb`` can depend on: every file of the run directory outside the
    report folder (results.json, manifest.json, artifacts/), the notebook as it will run (parameters injected),
    and oca_experiments' version and source files (the notebook calls the package's report code)."""
    from oca_experiments._version import __version__

    digest = hashlib.sha256()

    def add(label: str, payload: bytes) -> None:
        digest.update(f"{label}\0{len(payload)}\0".encode())
        digest.update(payload)

    add("version", __version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        add(f"package/{path.relative_to(package).as_posix()}", path.read_bytes())
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        if out_dir == path or out_dir in path.parents or path.name.startswith("."):
            continue
        add(f"run/{path.relative_to(run_dir).as_posix()}", path.read_bytes())
    clean = copy.deepcopy(nb)
    clean.metadata.pop(EXECUTION_KEY, None)
    add("notebook", nbformat.writes(clean).encode())
    return digest.hexdigest()


def _reusable_execution(executed_path: Path, key: str) -> nbformat.NotebookNode | None:
    """The previously executed notebook when it was executed from the same inputs, else None."""
    if not executed_path.is_file():
        return None
    try:
        previous = nbformat.reads(executed_path.read_text(encoding="utf-8"), as_version=4)
    except (OSError, ValueError, UnicodeDecodeError):
        return None  # unreadable: execute again and overwrite it
    return previous if previous.metadata.get(EXECUTION_KEY) == key else None


def _read_study_name(results_path: Path) -> str:
    if not results_path.is_file():
        raise ReportError(
            "results.json not found; the report only reads a finished run's artifacts",
            path=str(results_path),
            fix="run the analysis first, or pass the run directory that holds results.json",
        )
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        # The position says where to look; the decoder's message is left out because it can quote content.
        line = getattr(exc, "lineno", None)
        where = f" at line {line}" if line else ""
        raise ReportError(
            f"results.json is not valid UTF-8 JSON{where}",
            path=str(results_path),
            fix="re-run the analysis to rewrite results.json",
        ) from None
    if not isinstance(results, dict):
        raise ReportError(
            f"results.json holds a JSON {type(results).__name__}, expected an object",
            path=str(results_path),
            fix="re-run the analysis to rewrite results.json",
        )
    study = results.get("study")
    return str(study) if study else "Study"


def _read_notebook(notebook: Path) -> nbformat.NotebookNode:
    if not notebook.is_file():
        raise ReportError("report notebook not found", path=str(notebook),
                          fix="fix 'report:' in study.yaml, or delete that line to use the built-in report")
    try:
        text = notebook.read_text(encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # missing cell ids are repaired below
            nb = nbformat.reads(text, as_version=4)
        cells_on_disk = json.loads(text).get("cells")
    except Exception as exc:  # nbformat raises several unrelated types for unreadable files
        raise ReportError(
            f"report notebook cannot be read as a Jupyter notebook ({type(exc).__name__})",
            path=str(notebook),
            fix="open it in Jupyter and save it again",
        ) from None
    _give_cells_stable_ids(nb, cells_on_disk)
    return nb


def _give_cells_stable_ids(nb: nbformat.NotebookNode, cells_on_disk: Any) -> None:
    """Replace cell ids that nbformat invented (random ones) with positional ones: ids appear in the HTML."""
    aligned = isinstance(cells_on_disk, list) and len(cells_on_disk) == len(nb.cells)
    nb.nbformat_minor = max(nb.nbformat_minor, 5)  # 4.5 is the first version with cell ids
    for position, cell in enumerate(nb.cells, start=1):
        had_id = aligned and isinstance(cells_on_disk[position - 1], dict) and "id" in cells_on_disk[position - 1]
        if not had_id:
            cell.id = f"oca-cell-{position}"


def _inject_parameters(nb: nbformat.NotebookNode, *, run_dir: Path) -> int:
    """Insert ``run_dir = "..."`` after the ``parameters`` cell, as papermill does; return its cell index."""
    nb.cells = [cell for cell in nb.cells if INJECTED_TAG not in cell.metadata.get("tags", [])]
    source = f"# Parameters injected by oca_experiments.report\nrun_dir = {str(run_dir)!r}\n"
    injected = nbformat.v4.new_code_cell(source)
    injected.id = INJECTED_TAG  # a fixed id: random ones would change the HTML on every build
    injected.metadata["tags"] = [INJECTED_TAG]
    tagged = [i for i, cell in enumerate(nb.cells) if PARAMETERS_TAG in cell.metadata.get("tags", [])]
    if tagged:
        index = tagged[0] + 1
    else:  # no parameters cell: define run_dir before any code runs
        index = next((i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"), len(nb.cells))
    nb.cells.insert(index, injected)
    return index


def _execute(nb: nbformat.NotebookNode, *, notebook: Path, cwd: Path, timeout: int, injected_index: int,
             manager: CurrentInterpreterKernelManager | None = None) -> None:
    """Run every cell on a new kernel in ``cwd``, or on ``manager``'s running kernel (moved to ``cwd`` silently
    first); either way the kernel is shut down at the end."""
    progress: dict[str, Any] = {"cell_index": None, "error_name": None}

    from .._progress import step

    cells = step("report: executing notebook cells", len(nb.cells))

    def on_cell_start(cell: Any, cell_index: int) -> None:
        progress["cell_index"] = cell_index
        cells_progress.advance()

    def on_cell_error(cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        progress["error_name"] = execute_reply.get("content", {}).get("ename")

    async def move_to_run_folder(notebook: Any) -> None:
        # silent: no execution count, no history, no output; a kernel started here would have begun in cwd
        assert client.kc is not None
        await client.async_wait_for_reply(client.kc.execute(before_first_cell(cwd), silent=True, store_history=False))

    client = NotebookClient(
        nb,
        km=manager,
        timeout=timeout,
        startup_timeout=KERNEL_START_TIMEOUT,
        kernel_name="python3",
        kernel_manager_class=CurrentInterpreterKernelManager,
        resources={"metadata": {"path": str(cwd)}},  # the kernel's working directory
        record_timing=False,
        allow_errors=False,
        on_cell_start=on_cell_start,
        on_cell_error=on_cell_error,
        on_notebook_start=move_to_run_folder if manager is not None else None,
    )

    def failing_cell() -> str:
        index = progress["cell_index"]
        if index == injected_index:
            return "the injected parameters cell"
        # Numbered as in the source notebook, 1-based: the injected cell does not count.
        number = index + 1 if index < injected_index else index
        return f"cell {number}"

    # Errors are re-raised "from None" and carry no evalue or traceback: both can quote survey data.
    try:
        with cells as cells_progress:
            client.execute(cleanup_kc=True)  # also shuts a prestarted kernel down (nbclient keeps those by default)
    except CellTimeoutError:
        raise ReportError(f"{failing_cell()} did not finish within {timeout} s", path=str(notebook),
                          fix="raise the timeout or make the cell faster") from None
    except CellExecutionError:
        error_name = progress["error_name"] or "an error"
        raise ReportError(f"{failing_cell()} raised {error_name}; the report was not updated",
                          path=str(notebook),
                          fix="open the notebook with run_dir set to this run and run that cell") from None
    except DeadKernelError:
        where = failing_cell() if progress["cell_index"] is not None else "start-up"
        raise ReportError(f"the Python kernel died during {where}", path=str(notebook),
                          fix="check memory use, then run the notebook by hand") from None
    except (RuntimeError, TimeoutError, OSError) as exc:
        raise ReportError(f"the Python kernel could not be started or stopped responding ({type(exc).__name__})",
                          path=str(notebook), fix="check that ipykernel is installed in this environment") from None


def _strip_volatile_metadata(nb: nbformat.NotebookNode) -> None:
    for key in _VOLATILE_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)


def _export_html(nb: nbformat.NotebookNode, *, images_dir: Path) -> str:
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
        exclude_input=True,  # readers get a report, not code
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_raw=True,  # the Quarto front matter is a raw cell
        embed_images=True,  # markdown images become data: URIs
    )
    resources = {"metadata": {"name": "report", "path": str(images_dir)}}
    body, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
    return body


def _render_with_quarto(quarto: str, executed_path: Path, index_path: Path, *, timeout: int) -> None:
    """Render the already executed notebook; Quarto does not execute .ipynb inputs unless told to."""
    command = [quarto, "render", executed_path.name, "--to", "html", "--embed-resources",
               "-M", "echo:false", "--output", index_path.name]
    try:
        completed = subprocess.run(command, cwd=executed_path.parent, capture_output=True, timeout=timeout,
                                   check=False)
    except subprocess.TimeoutExpired:
        raise ReportError(f"quarto render did not finish within {timeout} s", path=str(executed_path.name),
                          fix="raise the timeout") from None
    if completed.returncode != 0 or not index_path.is_file():
        raise ReportError(f"quarto render failed with exit code {completed.returncode}",
                          path=str(executed_path.name),
                          fix=f"run '{' '.join(command[1:])}' on the executed notebook to see Quarto's message")


def _require_self_contained(index_path: Path, *, shown_path: Path) -> None:
    html = index_path.read_text(encoding="utf-8")
    external = _EXTERNAL_RESOURCE.search(html) or _EXTERNAL_CSS.search(html)
    if external:
        line = html.count("\n", 0, external.start()) + 1
        raise ReportError(
            f"the HTML loads an external resource at line {line}; the report must render offline",
            path=str(shown_path),
            fix="embed the resource (data: URI) instead of linking it",
        )
