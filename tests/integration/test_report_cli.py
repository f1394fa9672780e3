"""Reports evaluators can regenerate and verify, trainer summaries and the CI gate, through the CLI.

One demo is built per module (``oca demo``) on a copy of the demo study that keeps its fast frequentist hypotheses
(h1, h2, h6): the sampled models would make these end-to-end tests minutes long, and the code paths they exercise
are the same. benchmarks/demo_speed.py and the acceptance run in docs/ci-github-actions.md use the whole demo.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.report._manifest import sha256_file

REPO = Path(__file__).resolve().parents[2]
HYPOTHESES = ["h1_horizontal_trust", "h2_vertical_trust", "h6_horizontal_trust_by_sex"]


def copy_study(target: Path, hypotheses: list[str] = HYPOTHESES) -> Path:
    """The demo study with only ``hypotheses``; no registry lock (the copy is not the registered study)."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "study.yaml", target / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports", "locale"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "hypotheses").mkdir()
    for hid in hypotheses:
        shutil.copy(REPO / "hypotheses" / f"{hid}.yaml", target / "hypotheses" / f"{hid}.yaml")
    return target


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_study(tmp_path_factory.mktemp("study") / "study")


def oca(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=600)


runner = CliRunner()


def oca_in_process(*args: str):
    """The CLI in this process: no interpreter start and no re-import for each call."""
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, study: Path) -> Path:
    out = tmp_path_factory.mktemp("report_cli") / "demo"
    result = oca_in_process("demo", "--study", str(study), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def _data_args(run_dir: Path, **override: Path) -> list[str]:
    files = {"survey": run_dir / "data" / "survey.csv", "engagement": run_dir / "data" / "engagement.csv",
             "community": run_dir / "data" / "community.csv"}
    files.update(override)
    return [arg for name, path in files.items() for arg in ("--data", f"{name}={path}")]


def test_every_run_writes_a_manifest(demo: Path, study: Path) -> None:
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    copy = json.loads((demo / "report" / "manifest.json").read_text(encoding="utf-8"))
    assert copy == {**manifest, "run_dir": ".."}
    assert manifest["data"]["survey"]["path"] == "data/survey.csv"
    assert manifest["data"]["survey"]["sha256"] == sha256_file(demo / "data" / "survey.csv")
    assert set(manifest["study"]["specs"]) == set(HYPOTHESES)
    for record in manifest["study"]["specs"].values():
        assert record["sha256"] == sha256_file(REPO / record["file"])
    assert manifest["study"]["path"] == str(study)
    assert manifest["study"]["contracts"]["survey"]["sha256"] == sha256_file(REPO / "data_contracts" / "survey.json")
    assert manifest["seeds"]["annotate.demo_seed"] == 20260307
    assert manifest["environment"]["python"].startswith("3.")
    assert {"pandas", "numpy", "babel"} <= set(manifest["environment"]["packages"])
    assert isinstance(manifest["command"], list)  # sys.argv of the process (pytest here)
    assert manifest["outputs"] == {"results.json": sha256_file(demo / "results.json"),
                                   "report/index.html": sha256_file(demo / "report" / "index.html"),
                                   "report/decision.html": sha256_file(demo / "report" / "decision.html")}
    assert "preregistration" in manifest and "git" in manifest


def test_a_demo_with_nothing_changed_is_reused(demo: Path, study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs are not rewritten. (The package-code hash is pinned: parallel edits of the package during development
    would otherwise, rightly, force a rebuild. benchmarks/demo_speed.py times the real command.)"""
    from oca_experiments.report import _manifest

    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(_manifest, "package_code_sha256", lambda: manifest["package_sha256"])
    outputs = ("results.json", "report/index.html", "manifest.json")
    before = {name: (demo / name).stat().st_mtime_ns for name in outputs}
    started = time.perf_counter()
    result = oca_in_process("demo", "--study", str(study), "--out", str(demo))
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert "h1_horizontal_trust: supported" in result.output  # the summary is printed from the reused results
    assert {name: (demo / name).stat().st_mtime_ns for name in outputs} == before
    assert elapsed < 10, elapsed


def test_an_edited_output_or_data_file_is_not_reused(demo: Path, study: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from oca_experiments import runner as runner_module
    from oca_experiments.report import _manifest

    copy = tmp_path / "demo"
    shutil.copytree(demo, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    monkeypatch.setattr(_manifest, "package_code_sha256", lambda: manifest["package_sha256"])
    loaded = runner_module.load_study(study)
    assert _manifest.reuse_demo_outputs(loaded, copy, seed=20260307, build_html=True) is not None
    assert _manifest.reuse_demo_outputs(loaded, copy, seed=1, build_html=True) is None
    with (copy / "data" / "survey.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    assert _manifest.reuse_demo_outputs(loaded, copy, seed=20260307, build_html=True) is None


def test_verify_passes_on_the_built_report(demo: Path) -> None:
    result = oca_in_process("report", "verify", str(demo / "report"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("verified: ") and "3 hypotheses" in result.output
    assert "note:" not in result.output  # the rebuilt HTML is byte-identical too


def test_verify_names_a_changed_data_cell(demo: Path, tmp_path: Path) -> None:
    changed = tmp_path / "demo"
    shutil.copytree(demo, changed)
    survey_path = changed / "data" / "survey.csv"
    survey = pd.read_csv(survey_path, dtype=str, keep_default_na=False)
    row = survey.index[(survey["wave"] == "endline") & (survey["treated"] == "1") & (survey["h_trust_1"] != "1")][0]
    survey.loc[row, "h_trust_1"] = "1"
    survey.to_csv(survey_path, index=False)
    proc = oca("report", "verify", str(changed / "report"))
    assert proc.returncode == 15, proc.stderr
    lines = proc.stderr.splitlines()
    assert any(line.startswith("differs: data file of source 'survey' (data/survey.csv): SHA-256 differs")
               for line in lines), proc.stderr
    assert any(line.startswith("differs: h1_horizontal_trust.estimate: recorded ") for line in lines), proc.stderr
    assert "Traceback" not in proc.stderr


def test_verify_without_a_manifest_is_a_one_line_error(tmp_path: Path) -> None:
    result = oca_in_process("report", "verify", str(tmp_path))
    assert result.exit_code == 4
    assert result.output.count("\n") == 1 and "manifest.json" in result.output and "Fix:" in result.output


def test_summaries_in_three_languages_for_every_hypothesis(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary"
    result = oca_in_process("summary", str(demo), "--lang", "en", "--lang", "ru", "--lang", "ky", "--out", str(out))
    assert result.exit_code == 0, result.output
    for lang, word in (("en", "Trust between neighbours"), ("ru", "доверие между соседями"),
                       ("ky", "кошуналар ортосундагы ишеним")):
        pages = {p.stem for p in (out / lang).glob("*.html")}
        assert pages == {*HYPOTHESES, "index"}
        h1 = (out / lang / "h1_horizontal_trust.html").read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in h1 and word in h1 and "data:image/png;base64," in h1


def test_summary_refuses_an_unknown_language(demo: Path) -> None:
    result = oca_in_process("summary", str(demo), "--lang", "de")
    assert result.exit_code == 2 and "--lang 'de'" in result.output and "en, ru, ky" in result.output


# --- oca check -----------------------------------------------------------------------------------------------------

def _check(*args: str):
    return runner.invoke(app, ["check", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def expected(study: Path, demo: Path) -> Path:
    """The study's expected-results file, written by ``oca check --update-expected`` from a real rerun."""
    result = _check(str(study), *_data_args(demo), "--update-expected")
    assert result.exit_code == 0, result.output
    assert f"wrote {study / 'expected_results.json'}" in result.output
    return study / "expected_results.json"


@pytest.fixture()
def recorded_run(demo: Path, monkeypatch: pytest.MonkeyPatch):
    """Study.run returns the demo's recorded results: for checks whose subject is not the rerun itself."""
    from oca_experiments import runner as runner_module
    from oca_experiments.report._manifest import run_result_from_dict

    recorded = run_result_from_dict(json.loads((demo / "results.json").read_text(encoding="utf-8")))
    monkeypatch.setattr(runner_module.Study, "run", lambda self, data, **kwargs: recorded)
    return recorded


def test_check_passes_on_the_demo_and_writes_junit(study: Path, demo: Path, expected: Path, tmp_path: Path) -> None:
    junit = tmp_path / "check.xml"
    result = _check(str(study), *_data_args(demo), "--junit", str(junit))
    assert result.exit_code == 0, result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase")}
    assert cases >= {(h, c) for h in HYPOTHESES for c in ("lock", "contract", "rerun", "expected", "diagnostics")}
    assert suite.get("failures") == "0"
    assert json.loads(expected.read_text(encoding="utf-8"))["hypotheses"].keys() == set(HYPOTHESES)


def test_check_fails_on_a_contract_failure(study: Path, demo: Path, expected: Path, tmp_path: Path) -> None:
    survey = pd.read_csv(demo / "data" / "survey.csv", dtype=str, keep_default_na=False)
    survey.loc[5, "h_trust_2"] = "9"  # outside the 1-5 scale the contract allows
    bad = tmp_path / "survey.csv"
    survey.to_csv(bad, index=False)
    result = _check(str(study), *_data_args(demo, survey=bad))
    assert result.exit_code == 11, result.output
    assert "h1_horizontal_trust: contract: source 'survey' failed suite" in result.output


def test_check_fails_on_a_drifted_result(study: Path, demo: Path, expected: Path, tmp_path: Path,
                                         recorded_run) -> None:
    payload = json.loads(expected.read_text(encoding="utf-8"))
    payload["hypotheses"]["h2_vertical_trust"]["estimate"] += 0.01
    drifted = tmp_path / "expected.json"
    drifted.write_text(json.dumps(payload), encoding="utf-8")
    junit = tmp_path / "check.xml"
    result = _check(str(study), *_data_args(demo), "--expected", str(drifted), "--junit", str(junit))
    assert result.exit_code == 13, result.output
    assert "h2_vertical_trust: expected: estimate " in result.output
    failing = [c for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert [(c.get("classname"), c.get("name")) for c in failing] == [("h2_vertical_trust", "expected")]


def test_check_fails_on_a_failed_diagnostics_gate(study: Path, demo: Path, expected: Path, recorded_run) -> None:
    """A Bayesian result whose diagnostics gate failed (the fast test study has no sampled model of its own)."""
    from oca_experiments.results import EstimateResult

    h = recorded_run["h1_horizontal_trust"]
    extras = {**h.result.extras, "diagnostics": {"passed": False, "failures": ["R-hat 1.09 > 1.01"]}}
    object.__setattr__(h, "result", EstimateResult(**{**h.result.__dict__, "extras": extras}))
    result = _check(str(study), *_data_args(demo))
    assert result.exit_code == 14, result.output
    assert "h1_horizontal_trust: diagnostics: R-hat 1.09 > 1.01" in result.output


def test_check_fails_on_an_undeclared_spec_change(demo: Path, expected: Path, tmp_path: Path) -> None:
    locked = copy_study(tmp_path / "study")
    shutil.copy(expected, locked / "expected_results.json")
    lock = runner.invoke(app, ["prereg", "lock", str(locked)])
    assert lock.exit_code == 0, lock.output
    spec = locked / "hypotheses" / "h2_vertical_trust.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("sesoi: 0.1", "sesoi: 0.2"), encoding="utf-8")
    result = _check(str(locked), *_data_args(demo))
    assert result.exit_code == 10, result.output
    assert "h2_vertical_trust: lock: " in result.output and "sesoi" in result.output


def test_report_build_reuses_results_when_only_the_notebook_changed(demo: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from oca_experiments import runner as runner_module

    study = copy_study(tmp_path / "study")
    out = tmp_path / "run"
    first = runner.invoke(app, ["report", "build", str(study), *_data_args(demo), "--out", str(out)])
    assert first.exit_code == 0, first.output
    results_mtime = (out / "results.json").stat().st_mtime_ns
    old_report = sha256_file(out / "report" / "index.html")

    def no_rerun(*args, **kwargs):
        raise AssertionError("the study was re-estimated although only the report notebook changed")

    monkeypatch.setattr(runner_module.Study, "run", no_rerun)
    notebook = study / "reports" / "report.ipynb"
    # the shipped notebook's cells are one-line section calls: a team's edit adds a cell of its own
    cells = json.loads(notebook.read_text(encoding="utf-8"))
    cells["cells"].append({"cell_type": "markdown", "metadata": {}, "source": ["## Where the data came from"]})
    notebook.write_text(json.dumps(cells, indent=1), encoding="utf-8")
    second = runner.invoke(app, ["report", "build", str(study), *_data_args(demo), "--out", str(out)])
    assert second.exit_code == 0, second.output
    assert (out / "results.json").stat().st_mtime_ns == results_mtime
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Where the data came from" in html and sha256_file(out / "report" / "index.html") != old_report
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["outputs"]["report/index.html"] == sha256_file(out / "report" / "index.html")
