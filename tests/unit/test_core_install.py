"""Issue 19: the core does not import the Bayesian stack or Dask; what needs them names the extra to install.

A subprocess hides the extras' modules (an import hook refuses them, as in an installation without the extras) and
runs a survey hypothesis and a Bayesian one: the first is estimated, the second fails with one line naming
``pip install 'oca-experiments[bayes]'``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HIDE = textwrap.dedent("""
    import sys
    HIDDEN = {"pymc", "pytensor", "nutpie", "numba", "arviz", "arviz_stats", "arviz_base", "xarray", "dask",
              "distributed", "h5py", "h5netcdf", "linearmodels", "papermill"}

    class Hide:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, Hide())
""")


def run_hidden(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OCA_CACHE": "off"}
    return subprocess.run([sys.executable, "-c", HIDE + textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_core_modules_import_without_the_extras(tmp_path):
    done = run_hidden("""
        import oca_experiments, oca_experiments.cli, oca_experiments.api, oca_experiments.runner, oca_experiments.report
        import oca_experiments.contracts._draft, oca_experiments.design, oca_experiments.estimators
        from oca_experiments._extras import missing
        print(missing("bayes"), missing("dask"))
        print(sorted(m for m in sys.modules if m.split(".")[0] in HIDDEN))
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-2].startswith("['pymc'") and "['distributed']" in lines[-2]
    assert lines[-1] == "[]"


def test_bayes_extra_missing_gives_one_line_naming_it():
    from oca_experiments import _extras
    from oca_experiments.errors import EstimationError
    from oca_experiments.estimators._bayes import _require_bayes_stack

    saved = _extras.EXTRAS["bayes"]
    _extras.EXTRAS["bayes"] = ("no_such_module_for_oca_tests",)
    try:
        with pytest.raises(EstimationError, match="needs the Bayesian stack") as info:
            _require_bayes_stack("bayes_did")
    finally:
        _extras.EXTRAS["bayes"] = saved
    assert "pip install 'oca-experiments[bayes]'" in (info.value.fix or "")


@pytest.mark.slow
def test_a_core_install_runs_survey_hypotheses_and_names_the_extra_for_bayesian_ones(tmp_path):
    sys.path.insert(0, str(REPO / "tests" / "integration"))
    from _synthetic_survey import synthetic_survey

    from typer.testing import CliRunner

    from oca_experiments.cli import app

    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    spec = (tmp_path / "hypotheses" / "h1_index_did.yaml").read_text(encoding="utf-8")
    bayes = (spec.replace("id: h1_index_did", "id: h1b_index_bayes").replace("name: survey_did", "name: bayes_did")
             .replace("se: CR1                    # cluster-robust", "se: posterior  #")
             .replace("  options:\n    panel: true\n", "").replace("family: main", "family: bayes"))
    bayes = "\n".join(line for line in bayes.splitlines() if "few_clusters" not in line and "bootstrap" not in line)
    (tmp_path / "hypotheses" / "h1b_index_bayes.yaml").write_text(bayes + "\n", encoding="utf-8")
    (tmp_path / "hypotheses" / "h2_knowledge_gain.yaml").unlink()
    synthetic_survey(n_clusters=8, per_cluster=8).to_csv(tmp_path / "survey.csv", index=False)
    assert CliRunner().invoke(app, ["contract", "draft", "--data", f"survey={tmp_path / 'survey.csv'}",
                                    "--study", str(tmp_path)]).exit_code == 0
    done = run_hidden(f"""
        from oca_experiments.cli import main
        sys.argv = ["oca", "run", {str(tmp_path)!r}, "--data", "survey=survey.csv", "--out", "out", "--no-report"]
        main()
    """, tmp_path)
    assert done.returncode == 0, done.stderr
    results = {h["id"]: h for h in json.loads((tmp_path / "out" / "results.json").read_text())["hypotheses"]}
    assert results["h1_index_did"]["status"] == "estimated"
    assert results["h1b_index_bayes"]["status"] == "estimation_failed"
    assert "oca-experiments[bayes]" in results["h1b_index_bayes"]["reason"]
    assert "Traceback" not in done.stderr


def test_a_core_install_builds_the_portfolio_page_and_names_the_extra(tmp_path):
    """Issue 20: without the bayes extra `oca portfolio` pools with the frequentist meta-analysis only and the page
    says the Bayesian part needs the extra."""
    for name, est in (("a", 0.3), ("b", 0.1)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps({"study": name, "hypotheses": [
            {"id": "h1", "status": "estimated", "estimate": est, "std_error": 0.08, "ci_low": est - 0.16,
             "ci_high": est + 0.16, "family": "trust", "direction": "increase", "verdict": "supported"}]}))
    proc = run_hidden("""
        import sys
        from oca_experiments.cli import app
        sys.argv = ["oca", "portfolio", "a", "b", "--out", "page"]
        app()
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "needs the bayes extra" in proc.stdout
    page = (tmp_path / "page" / "index.html").read_text()
    assert "Frequentist (REML)" in page and "oca-experiments[bayes]" in page
    assert json.loads((tmp_path / "page" / "portfolio.json").read_text())["pooled"][0]["bayes"] is None
