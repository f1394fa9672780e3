"""Report stage: execute ``reports/*.ipynb`` on a run's artifacts and export self-contained HTML.

``build_report(run_dir, notebook=...)`` writes ``run_dir/report/index.html`` (Quarto when on PATH, else
nbconvert) and ``run_dir/report/decision.html`` (the one-page decision summary the report also opens with); it
never re-estimates anything: the notebook reads only ``results.json`` and friends.
"""

from __future__ import annotations

from oca_experiments.report._build import build_report, default_notebook, study_notebook
from oca_experiments.report._decision import decision_page, decision_section
from oca_experiments.report._exposure import dose_response_figure, exposure_section
from oca_experiments.report._gate import CHECKS, CheckOutcome, GateResult, run_gate, write_junit
from oca_experiments.report._invariance import invariance_section
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

__all__ = ["CHECKS", "CheckOutcome", "Difference", "GateResult", "VerifyResult", "build_report", "collect_manifest",
           "compare_results", "decision_page", "decision_section", "default_notebook", "finish_manifest",
           "read_manifest", "reuse_demo_outputs", "reuse_outputs", "run_gate", "run_result_from_dict", "sha256_file",
           "study_notebook", "verify_run", "write_junit",
           "build_portfolio", "read_run", "what_to_test_next", "invariance_section",
           "SECTIONS", "ReportInputs", "load_report", "render_section", "show_section",
           "dose_response_figure", "exposure_section", "survey_weights_section", "survey_weights_table",
           "VALIDATION_HTML", "VALIDATION_JSON", "validation_html", "write_validation",
           "PlainPage", "plain_pages", "write_summaries"]
