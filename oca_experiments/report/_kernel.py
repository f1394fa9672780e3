"""The Jupyter kernel a report runs on, and starting it ahead of the report (issue 21: the cold demo).

A kernel's start (a new interpreter, ipykernel, zmq) and the notebook's imports (pandas, matplotlib, the report's
sections) took about 2 s of a cold report build, after every hypothesis had been fitted. ``ReportKernel.start``
launches the kernel while the run is still estimating, on the other core, and lets it import what the notebook
imports (``start_warm_imports``, run by ipykernel's ``exec_lines`` at start-up: no cell, no execution count, no
output in the notebook; in a background thread at low priority, joined before the first cell). ``build_report`` then executes the notebook on it exactly as on a kernel it started itself: the
same cells in the same order, in the run folder as working directory (set silently before the first cell). Two
builds, one on a prestarted kernel and one not, give byte-identical ``report.ipynb`` and ``index.html``
(tests/unit/report/test_report_kernel.py). A prestarted kernel that is not used (the run failed, the report was
reused) is shut down by ``close``; it also exits by itself when this process does (ipykernel polls its parent).
"""

from __future__ import annotations

import ast
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

__all__ = ["CurrentInterpreterKernelManager", "ReportKernel", "before_first_cell", "finish_warm_imports",
           "notebook_imports", "start_warm_imports", "warm_imports"]

#: Modules the built-in sections import on first use (figures): warmed with the report package's own imports.
_SECTION_MODULES = ("matplotlib.pyplot",)
_REPORT_PACKAGE = "oca_experiments.report"


class _CurrentInterpreterKernelSpecManager(KernelSpecManager):
    """Resolves every kernel name to ipykernel on this interpreter.

    An installed "python3" kernelspec (user or system wide) may point at another Python without the
    report's dependencies; the report must run in the environment that called build_report.
    """

    def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> KernelSpec:
        from ipykernel.kernelspec import get_kernel_dict

        # frozen_modules=off silences debugpy's start-up warning on Python >= 3.11.
        return KernelSpec(name=kernel_name, **get_kernel_dict(python_arguments=["-Xfrozen_modules=off"]))


class CurrentInterpreterKernelManager(AsyncKernelManager):
    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return _CurrentInterpreterKernelSpecManager()

    @default("transport_encryption")
    def _transport_encryption_default(self) -> str:
        # Outputs can hold survey data, so encrypt the local TCP link when libzmq can (CurveZMQ); this also
        # keeps ipykernel from warning about plain-text transport on stderr.
        return "auto" if zmq.has("curve") else "disabled"


def notebook_imports(nb: Any) -> list[tuple[str, list[str]]]:
    """The absolute imports at the top level of ``nb``'s code cells, in order: (module, names it imports from
    it). Cells that are not Python (magics) are skipped; nothing is executed."""
    found: list[tuple[str, list[str]]] = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(cell.get("source", ""))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                found += [(alias.name, []) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.module, [alias.name for alias in node.names if alias.name != "*"]))
    if any(module == _REPORT_PACKAGE or module.startswith(_REPORT_PACKAGE + ".") for module, _ in found):
        found += [(module, []) for module in _SECTION_MODULES]
    return found


def warm_imports(imports: list[tuple[str, list[str]]]) -> None:
    """Import each module and look up the names imported from it (a lazy package's attributes load their
    submodules), binding nothing in the notebook's namespace. Anything that fails is left for the notebook's own
    import to report: this only moves work earlier."""
    import importlib

    for module, names in imports:
        try:
            imported = importlib.import_module(module)
            for name in names:
                getattr(imported, name, None)
        except Exception:  # noqa: BLE001 - the notebook's own import raises it where the reader sees it
            continue


_warming: threading.Thread | None = None


def _warm_at_low_priority(imports: list[tuple[str, list[str]]]) -> None:
    # Linux gives each thread its own nice value: the warm-up then takes only CPU nobody else wants (the run is
    # still fitting and compiling on both cores), and the kernel's own thread keeps its priority for the cells.
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 15)
        except OSError:
            pass
    warm_imports(imports)


def start_warm_imports(imports: list[tuple[str, list[str]]]) -> None:
    """In the kernel, at start-up: warm the notebook's imports in a background thread (the kernel is ready at
    once); ``finish_warm_imports`` joins it before the first cell, so no cell ever imports alongside it."""
    global _warming
    _warming = threading.Thread(target=_warm_at_low_priority, args=(imports,), name="oca-warm-imports",
                                daemon=True)
    _warming.start()


def finish_warm_imports() -> None:
    """In the kernel, before the first cell: wait for the warm-up (it finishes the imports the cells need)."""
    global _warming
    if _warming is not None:
        _warming.join()
        _warming = None


def _exec_line(imports: list[tuple[str, list[str]]]) -> str:
    return (f"__import__({__name__!r}, fromlist=['start_warm_imports']).start_warm_imports("
            f"{json.dumps(imports)})")


class ReportKernel:
    """A kernel started for one notebook before its run folder exists; ``build_report`` takes it over."""

    def __init__(self, manager: CurrentInterpreterKernelManager, notebook: Path) -> None:
        self._manager: CurrentInterpreterKernelManager | None = manager
        self.notebook = notebook

    @classmethod
    def start(cls, notebook: Path, *, cwd: Path) -> ReportKernel | None:
        """Launch the kernel for ``notebook`` now (it imports the notebook's imports while starting). ``None``
        when the notebook cannot be read or the kernel cannot be launched: ``build_report`` then starts its own,
        which reports any problem."""
        import nbformat
        from jupyter_core.utils import run_sync

        try:
            nb = nbformat.reads(Path(notebook).read_text(encoding="utf-8"), as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable notebook is reported by build_report, not here
            return None
        manager = CurrentInterpreterKernelManager(kernel_name="python3")
        line = _exec_line(notebook_imports(nb))
        try:
            run_sync(manager.start_kernel)(extra_arguments=[f"--IPKernelApp.exec_lines={line}"], cwd=str(cwd))
        except Exception:  # noqa: BLE001 - no prestarted kernel: build_report starts one and reports failures
            return None
        return cls(manager, Path(notebook).resolve())

    def take(self, notebook: Path) -> CurrentInterpreterKernelManager | None:
        """The running kernel's manager, once, for ``notebook`` (another notebook gets ``None``: its imports were
        not warmed, and it runs on a fresh kernel; this one is then shut down)."""
        manager, self._manager = self._manager, None
        if manager is None:
            return None
        if Path(notebook).resolve() != self.notebook or not _alive(manager):
            _shutdown(manager)
            return None
        return manager

    def close(self) -> None:
        """Shut the kernel down if nobody took it (a failed run, a reused report)."""
        manager, self._manager = self._manager, None
        if manager is not None:
            _shutdown(manager)


def _alive(manager: CurrentInterpreterKernelManager) -> bool:
    from jupyter_core.utils import run_sync

    try:
        return bool(run_sync(manager.is_alive)())
    except Exception:  # noqa: BLE001
        return False


def _shutdown(manager: CurrentInterpreterKernelManager) -> None:
    from jupyter_core.utils import run_sync

    try:
        run_sync(manager.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - already gone
        pass


def before_first_cell(cwd: Path) -> str:
    """What the prestarted kernel runs silently before the first cell: the warm-up is finished and the run
    folder becomes its working directory, as for a kernel started there."""
    return (f"__import__({__name__!r}, fromlist=['finish_warm_imports']).finish_warm_imports(); "
            f"__import__('os').chdir({os.fspath(cwd)!r})")

