"""The package's shape: layers that import one way, no reach into another package's private modules, and a curated
``__all__`` per package. See docs/architecture.md; the layers are the import-linter contract in pyproject.toml.
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "oca_experiments"


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on the package found under ``root`` with ``root/pyproject.toml``, in a fresh interpreter (so
    that the package imported by this test session is not the one analysed)."""
    pytest.importorskip("importlinter")
    env = {**os.environ, "PYTHONPATH": str(root)}
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))")
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_layers_import_one_way() -> None:
    result = _lint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """The contract is not vacuous: the plan importing the pipeline that consumes it is reported."""
    shutil.copytree(PACKAGE, tmp_path / "oca_experiments", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    plan = tmp_path / "oca_experiments" / "plan.py"
    plan.write_text(plan.read_text(encoding="utf-8") + "\nfrom .runner import Study  # noqa: E402\n",
                    encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout and "oca_experiments.plan -> oca_experiments.runner" in result.stdout


# --------------------------------------------------------------------------- private modules


@functools.cache
def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the module, relative ones resolved; ``from X import y`` is
    reported as ``X.y`` when ``X.y`` is a module."""
    modules = _modules()
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full if full in modules else target, node.lineno))
    return [(target, line) for target, line in found if target.split(".")[0] == "oca_experiments"]


def test_no_module_imports_another_packages_private_module() -> None:
    """``pkg._mod`` is importable only from inside ``pkg`` (the root's ``_layout``, ``_atomic``... from anywhere)."""
    offences = []
    for name, path in sorted(_modules().items()):
        for target, line in _imports(name, path):
            parts = target.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__")]
            if not private:
                continue
            owner = ".".join(parts[:private[0]])
            if not (name == owner or name.startswith(owner + ".")):
                offences.append(f"{path.relative_to(REPO)}:{line} imports {target}")
    assert not offences, "import the package's public name instead:\n" + "\n".join(offences)


def test_nothing_inside_the_package_imports_its_root() -> None:
    """The root re-exports the api; a module importing it (e.g. for ``__version__``) would import everything."""
    offences = [f"{path.relative_to(REPO)}:{line}" for name, path in sorted(_modules().items())
                if name not in ("oca_experiments", "oca_experiments.__main__")
                for target, line in _imports(name, path) if target == "oca_experiments"]
    assert not offences, offences


# --------------------------------------------------------------------------- curated __all__ per package

#: Each package's public names. Changing one is a decision: update this table in the same commit.
EXPECTED_ALL = {
    "oca_experiments.bayes": {
        "DID_PRIORS", "MODEL_CODE_VERSION", "DiagnosticsReport", "DidData", "FitOutput", "ITS_PRIORS", "ItsData",
        "LATENT_SD",
        "NotEstimable", "ORDINAL_PRIORS", "OrdinalData", "PRIORS_BY_ESTIMATOR", "SamplerSettings", "Thresholds",
        "build_did_model", "build_its_model", "build_ordinal_model", "cache_dir", "check_diagnostics",
        "compile_model", "density_for", "did_derived", "did_from_units", "did_model_data", "did_ppc_png",
        "did_prior_png", "did_replicates", "draws_key", "eti", "hdi", "its_effects", "its_model_data",
        "its_ppc_png", "its_prior_png", "library_versions", "ordinal_derived", "ordinal_model_data",
        "ordinal_ppc_png", "ordinal_prior_png", "ordinal_replicates", "prepare_did", "prepare_its",
        "prepare_ordinal", "prior_scales", "prior_table", "sample_model", "start_kernel_warmup", "summarize_draws"},
    "oca_experiments.contracts": {
        "ContractFailure", "ContractResult", "ContractSuite", "Requirements", "Roles", "TestabilityCheck",
        "TestabilityResult", "assess_task", "draft_suite", "guess_roles", "sensitive_guess", "assess_testability", "contract_problem", "load_suite", "resolve_requirements",
        "run_contract", "sensitive_columns_of", "validation_problems", "validation_report", "FailedExpectation",
        "SourceValidation", "TestabilityRow", "ValidationReport"},
    "oca_experiments.demo": {"DEFAULT_SEED", "DemoData", "DemoFiles", "generate_demo", "simulate_demo"},
    "oca_experiments.design": {
        "CHUNK_SIZE", "DEFAULT_SEED", "DEFAULT_SIMS", "DIAGNOSIS_FILE", "DaskExecutor", "DesignInputError",
        "DesignParameters", "Diagnosis", "LikertScale", "PLOT_FILE", "ProcessExecutor", "SavedDiagnosis",
        "SerialExecutor", "analytic_mde", "analytic_power", "analytic_std_error", "default_output_dir", "diagnose",
        "find_task", "load_diagnosis", "make_executor", "power_justification", "render_power_curve",
        "save_diagnosis"},
    "oca_experiments.engagement": {
        "DailyPanel", "IngestReport", "LOCAL_TIMEZONE", "build_daily_panel", "derive_metrics", "plot_counterfactual",
        "plot_event_study", "save_engagement_plots", "METRICS", "CommunitySummary", "monthly_community_summary",
        "plot_synthetic", "synthetic_png", "RegisteredEffect"},
    "oca_experiments.estimators": {
        "CAPABILITIES", "CATALOG", "ClusterCounts", "Contrast", "EstimatorInfo", "EstimatorRecord", "FITTERS", "Fitter",
        "LinkedFrame",
        "NotTestable", "REGISTRY", "SE_TYPES", "SurveyDiDOptions", "attrition_analysis", "bootstrap_weights",
        "check_weight_margins",
        "enumerable", "enumerated_weights", "few_cluster_decision", "fit_its", "fit_staggered_did",
        "fit_survey_did", "get_record", "lee_bounds", "register", "unit_table_for", "unregister",
        "fit_twfe", "fit_counterfactual", "fit_intervention", "estimator_schema", "with_estimator_options",
        "precompile_its", "compiled_its_worth_it"},
    "oca_experiments.io": {
        "ReaderOptions", "escape_formula", "escape_formulas", "file_sha256", "read_table", "reader_options",
        "safe_csv_text", "write_table", "PERIODS", "SPACING_WORD", "holds_whole_numbers", "native_spacing",
        "period_codes", "period_label", "read_time", "spacing_problem", "FormQuestion", "XLSForm",
        "closest_columns", "missing_column_error", "read_xlsform", "strip_group_prefixes", "FormLabels", "read_form_labels"},
    "oca_experiments.prereg": {
        "AMENDED_SUFFIX", "DEVIATIONS_FILE", "Deviation", "DeviationLog", "FORMATS", "FieldChange", "LOCK_FILE",
        "Lock", "LockProblem", "LockResult", "RegistryState", "STATUSES", "SpecState", "apply_firewall",
        "canonical_json", "canonical_spec", "confirmatory_families", "diff_fields", "exploratory_families",
        "export_plan", "gate_lock_outcomes", "load_deviations", "lock_study", "manifest_state",
        "power_justification", "read_lock", "registry_state", "spec_sha256"},
    "oca_experiments.report": {
        "CHECKS", "CheckOutcome", "Difference", "GateResult", "VerifyResult", "build_report", "collect_manifest",
        "compare_results", "decision_page", "decision_section", "default_notebook", "finish_manifest",
        "read_manifest", "reuse_demo_outputs", "reuse_outputs", "run_gate", "run_result_from_dict", "sha256_file",
        "study_notebook", "verify_run",
        "write_junit", "build_portfolio", "read_run", "what_to_test_next", "invariance_section",
        "SECTIONS", "ReportInputs", "load_report", "render_section", "show_section",
        "dose_response_figure", "exposure_section", "survey_weights_section", "survey_weights_table",
        "VALIDATION_HTML", "VALIDATION_JSON", "validation_html", "write_validation",
        "PlainPage", "plain_pages", "write_summaries", "ReportKernel"},
    "oca_experiments.results": {
        "PART_TYPES", "RESULTS_SCHEMA_VERSION", "STABLE_KEYS", "STATUSES", "Attrition", "Diagnostics",
        "EstimateResult", "EventStudy", "HypothesisResult", "InferenceRecord", "Part", "PosteriorSummary",
        "RunResult", "ValidationResult", "multiple_testing_families"},
    "oca_experiments.spec": {
        "Bayes", "BayesDecision", "BayesDiagnostics", "BayesSampler", "Bootstrap", "Construction", "DataRules",
        "Design", "EstimatorSpec", "Exclusions", "FewClusters", "HYPOTHESES_DIR", "HypothesisSpec", "Inference",
        "NOT_SPECS", "Outcome", "Power", "Randomization", "RobustnessCheck", "STUDY_FILE", "SourceConfig",
        "SpecFile", "StudyConfig", "Subgroup", "SurveyWeights", "Wave", "WeightTrim", "load_hypotheses", "load_study_config", "parse_model",
        "read_yaml", "validation_to_spec_error"},
    "oca_experiments.summarize": {
        "EQUIVALENCE_READINGS", "LANGUAGES", "UNRELIABLE", "VERDICTS", "Verdict", "adjust_families",
        "bayesian_verdict", "benjamini_hochberg", "equivalence_reading", "frequentist_verdict", "holm",
        "hypothesis_extras", "load_translations", "romano_wolf", "suppress_table", "suppression_plan",
        "ResultRecord", "SummaryPage", "SummaryPicture", "TrainerSummary", "study_words", "trainer_summary"},
}


def test_every_package_has_a_guarded_all() -> None:
    packages = {name for name, path in _modules().items() if path.name == "__init__.py"} - {"oca_experiments"}
    assert packages == set(EXPECTED_ALL), "a new package needs its __all__ here: " + str(packages ^ set(EXPECTED_ALL))


@pytest.mark.parametrize("package", sorted(EXPECTED_ALL))
def test_package_all_is_curated(package: str) -> None:
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__)), "duplicate names in __all__"
    assert set(module.__all__) == EXPECTED_ALL[package], (
        f"{package}.__all__ changed: added {sorted(set(module.__all__) - EXPECTED_ALL[package])}, removed "
        f"{sorted(EXPECTED_ALL[package] - set(module.__all__))}; update EXPECTED_ALL if intended")
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"


def test_docs_draw_every_layer_of_the_contract() -> None:
    """docs/architecture.md's layer drawing names every module of the contract, in the contract's order."""
    import re
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    layers = config["tool"]["importlinter"]["contracts"][0]["layers"]
    modules = [m.strip() for layer in layers for m in re.split(r"[|:]", layer) if m.strip() != "__main__"]
    docs = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = docs.split("## Layers", 1)[1].split("```", 2)[1]
    drawn = [m.strip() for line in drawing.splitlines() for m in re.split(r"[|:]", re.split(r"\s{3,}", line)[0])
             if m.strip()]  # the left column of each line: the modules; the right one describes them
    assert drawn == modules, "docs/architecture.md draws other layers than pyproject.toml's contract"
