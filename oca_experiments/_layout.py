"""Every file and folder name oca reads or writes, defined once.

Study folder: ``study.yaml``, ``hypotheses/`` (with the registry lock and the deviations log), ``analysis/``,
``design/<hypothesis>/diagnosis.json``. Run folder: ``results.json``, ``manifest.json``, ``artifacts/``,
``report/index.html``. The study's default small-cell threshold lives here too, so that the runner, the
disaggregation and the trainer summaries cannot disagree about it.
"""

STUDY_FILE = "study.yaml"
HYPOTHESES_DIR = "hypotheses"
LOCK_FILE = f"{HYPOTHESES_DIR}/registry.lock.json"
DEVIATIONS_FILE = f"{HYPOTHESES_DIR}/deviations.yaml"
ANALYSIS_DIR = "analysis"
DESIGN_DIR = "design"
DIAGNOSIS_FILE = "diagnosis.json"
EXPECTED_FILE = "expected_results.json"

RESULTS_FILE = "results.json"
MANIFEST_FILE = "manifest.json"
ARTIFACTS_DIR = "artifacts"
REPORT_DIR = "report"
INDEX_HTML = "index.html"

#: Cells (people) below this count are never shown; a study may raise it (study.yaml suppression_threshold).
DEFAULT_SUPPRESSION_THRESHOLD = 10

__all__ = ["ANALYSIS_DIR", "ARTIFACTS_DIR", "DEFAULT_SUPPRESSION_THRESHOLD", "DESIGN_DIR", "DEVIATIONS_FILE",
           "DIAGNOSIS_FILE", "EXPECTED_FILE", "HYPOTHESES_DIR", "INDEX_HTML", "LOCK_FILE", "MANIFEST_FILE",
           "REPORT_DIR", "RESULTS_FILE", "STUDY_FILE"]
