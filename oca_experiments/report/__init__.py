"""Report stage: execute ``reports/*.ipynb`` on a run's artifacts and export self-contained HTML.

``build_report(run_dir, notebook=...)`` writes ``run_dir/report/index.html`` (Quarto when on PATH, else
nbconvert) and ``run_dir/report/decision.html`` (the one-page decision summary the report also opens with); it
never re-estimates anything: the notebook reads only ``results.json`` and friends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as type checkers and import-linter see them
    from oca_experiments.report._build import build_report, default_notebook, study_notebook
    from oca_experiments.report._decision import decision_page, decision_section
    from oca_experiments.report._exposure import dose_response_figure, exposure_section
    from oca_experiments.report._gate import CHECKS, CheckOutcome, GateResult, run_gate, write_junit
    from oca_experiments.report._invariance import invariance_section
    from oca_experiments.report._kernel import ReportKernel
    from oca_experiments.report._manifest import (
        collect_manifest,
        finish_manifest,
        read_manifest,
        reuse_demo_outputs,
        reuse_outputs,
        run_result_from_dict,
        sha256_file,
    )
    from oca_experiments.report._sections import SECTIONS, ReportInputs, load_report, render_section, show_section
    from oca_experiments.report._portfolio import build_portfolio, read_run, what_to_test_next
    from oca_experiments.report._validation_page import (
        VALIDATION_HTML,
        VALIDATION_JSON,
        validation_html,
        write_validation,
    )
    from oca_experiments.report._trainer_pages import PlainPage, plain_pages, write_summaries
    from oca_experiments.report._verify import Difference, VerifyResult, compare_results, verify_run
    from oca_experiments.report._weights import survey_weights_section, survey_weights_table

#: Each public name and the submodule that defines it. Imported on first use (PEP 562), so that the report
#: notebook's ``from oca_experiments.report import load_report, show_section`` loads the sections and what they
#: read, not the gate, the builder and the estimators behind them (about 4 s of a cold report kernel, issue 21).
_SOURCES: dict[str, str] = {name: module for module, names in {
    "_build": ("build_report", "default_notebook", "study_notebook"),
    "_decision": ("decision_page", "decision_section"),
    "_exposure": ("dose_response_figure", "exposure_section"),
    "_gate": ("CHECKS", "CheckOutcome", "GateResult", "run_gate", "write_junit"),
    "_invariance": ("invariance_section",),
    "_kernel": ("ReportKernel",),
    "_manifest": ("collect_manifest", "finish_manifest", "read_manifest", "reuse_demo_outputs",
                  "reuse_outputs", "run_result_from_dict", "sha256_file"),
    "_sections": ("SECTIONS", "ReportInputs", "load_report", "render_section", "show_section"),
    "_portfolio": ("build_portfolio", "read_run", "what_to_test_next"),
    "_validation_page": ("VALIDATION_HTML", "VALIDATION_JSON", "validation_html", "write_validation"),
    "_trainer_pages": ("PlainPage", "plain_pages", "write_summaries"),
    "_verify": ("Difference", "VerifyResult", "compare_results", "verify_run"),
    "_weights": ("survey_weights_section", "survey_weights_table"),
}.items() for name in names}

__all__ = ["CHECKS", "CheckOutcome", "Difference", "GateResult", "VerifyResult", "build_report", "collect_manifest",
           "compare_results", "decision_page", "decision_section", "default_notebook", "finish_manifest",
           "read_manifest", "reuse_demo_outputs", "reuse_outputs", "run_gate", "run_result_from_dict", "sha256_file",
           "study_notebook", "verify_run", "write_junit",
           "build_portfolio", "read_run", "what_to_test_next", "invariance_section",
           "SECTIONS", "ReportInputs", "load_report", "render_section", "show_section",
           "dose_response_figure", "exposure_section", "survey_weights_section", "survey_weights_table",
           "VALIDATION_HTML", "VALIDATION_JSON", "validation_html", "write_validation",
           "PlainPage", "plain_pages", "write_summaries", "ReportKernel"]


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
