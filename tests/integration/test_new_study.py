"""Issue 19, acceptance 1: from an empty folder to a report and a passing check, with no file from the demo.

``oca init`` → a synthetic survey (not the demo generator) → ``oca contract draft`` → ``oca prereg lock`` →
``oca run`` → ``oca report build`` → ``oca check`` (first run with --update-expected, then plain), all through the
CLI in one process. The faster tests below check init's refusals, --from-data, the contract draft's guard and the
built-in report notebook's resolution.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic_survey import synthetic_survey  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def oca(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def _no_demo_file(study: Path) -> None:
    """No file of the new study is a copy of a demo study file (byte for byte)."""
    demo_files = {p.read_bytes() for part in ("study.yaml", "hypotheses", "data_contracts", "analysis", "reports")
                  for p in ([REPO / part] if (REPO / part).is_file() else (REPO / part).rglob("*")) if p.is_file()}
    copied = [p for p in study.rglob("*") if p.is_file() and p.read_bytes() in demo_files]
    assert not copied, copied


@pytest.mark.slow
def test_empty_folder_to_report_and_check(tmp_path, monkeypatch):
    study = tmp_path / "my_study"
    study.mkdir()
    monkeypatch.chdir(study)
    code, out = oca("init")
    assert code == 0, out
    assert (study / "README.md").is_file() and not (study / "reports").exists()
    synthetic_survey().to_csv(study / "survey.csv", index=False)
    code, out = oca("contract", "draft", "--data", "survey=survey.csv")
    assert code == 0, out
    assert "unit = respondent_id" in out
    code, out = oca("prereg", "lock", ".")
    assert code == 0 and "locked 2 new spec(s)" in out, out
    code, out = oca("run", ".", "--data", "survey=survey.csv", "--out", "build/run", "--no-report", "--strict")
    assert code == 0, out
    results = json.loads((study / "build/run/results.json").read_text(encoding="utf-8"))
    assert [h["status"] for h in results["hypotheses"]] == ["estimated", "estimated"]
    assert all(c["passed"] for c in results["contracts"])
    did = next(h for h in results["hypotheses"] if h["id"] == "h1_index_did")
    assert did["estimate"] > 0 and did["type"] == "confirmatory"  # the synthetic survey has a positive effect of 0.5 points per item
    code, out = oca("report", "build", ".", "--data", "survey=survey.csv", "--out", "build/report")
    assert code == 0, out
    html = (study / "build/report/report/index.html").read_text(encoding="utf-8")
    assert "h1_index_did" in html
    manifest = json.loads((study / "build/report/manifest.json").read_text(encoding="utf-8"))
    assert manifest["study"]["report_notebook"]["file"] == "(built-in)"
    code, out = oca("check", ".", "--data", "survey=survey.csv")
    assert code == 2 and "--update-expected" in out  # the first-run path, named in the error
    code, out = oca("check", ".", "--data", "survey=survey.csv", "--update-expected")
    assert code == 0, out
    code, out = oca("check", ".", "--data", "survey=survey.csv")
    assert code == 0 and "0 failed" in out, out
    _no_demo_file(study)


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    (tmp_path / "hypotheses").mkdir()
    (tmp_path / "hypotheses" / "h1_index_did.yaml").write_text("id: mine\n", encoding="utf-8")
    code, out = oca("init", str(tmp_path))
    assert code == 2 and "never overwrites" in out
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["h1_index_did.yaml", "hypotheses"]


def test_init_from_data_names_the_files_columns_and_drafts_the_contract(tmp_path):
    frame = synthetic_survey(n_clusters=4, per_cluster=5).rename(
        columns={"community_id": "village", "wave": "round", **{f"h_trust_{i}": f"trust_q{i}" for i in range(1, 5)}})
    frame["round"] = frame["round"].map({"baseline": "R1", "endline": "R2"})
    frame.to_csv(tmp_path / "export.csv", index=False)
    code, out = oca("init", str(tmp_path / "study"), "--from-data", f"survey={tmp_path / 'export.csv'}",
                    "--reader", "time_zone=Asia/Bishkek")
    assert code == 0, out
    spec = (tmp_path / "study/hypotheses/h1_index_did.yaml").read_text(encoding="utf-8")
    assert "cluster: village" in spec and "time: round" in spec and '"R1"' in spec
    assert "[trust_q1, trust_q2, trust_q3, trust_q4]" in spec
    assert "time_zone: Asia/Bishkek" in (tmp_path / "study/study.yaml").read_text(encoding="utf-8")
    suite = json.loads((tmp_path / "study/data_contracts/survey.json").read_text(encoding="utf-8"))
    assert not suite["meta"]["oca"].get("placeholder") and len(suite["expectations"]) > 10
    from oca_experiments.runner import load_study

    study = load_study(tmp_path / "study")  # every generated file parses and plans
    assert study.hypothesis_ids == ("h1_index_did", "h2_knowledge_gain")


def test_contract_draft_keeps_a_reviewed_suite_unless_forced(tmp_path):
    synthetic_survey(n_clusters=4, per_cluster=5).to_csv(tmp_path / "survey.csv", index=False)
    assert oca("init", str(tmp_path))[0] == 0
    data = f"survey={tmp_path / 'survey.csv'}"
    assert oca("contract", "draft", "--data", data, "--study", str(tmp_path))[0] == 0  # over the placeholder
    code, out = oca("contract", "draft", "--data", data, "--study", str(tmp_path))
    assert code == 2 and "--force" in out
    assert oca("contract", "draft", "--data", data, "--study", str(tmp_path), "--force")[0] == 0


def test_version_option():
    from oca_experiments import __version__

    code, out = oca("--version")
    assert code == 0 and out.strip() == f"oca {__version__}"


def test_report_notebook_resolution(tmp_path):
    from oca_experiments.errors import ReportError
    from oca_experiments.report._build import build_report, default_notebook, study_notebook

    assert study_notebook(tmp_path, None) == default_notebook()  # no notebook of its own: the built-in one
    own = tmp_path / "reports" / "report.ipynb"
    own.parent.mkdir()
    own.write_text("{}", encoding="utf-8")
    assert study_notebook(tmp_path, None) == own
    assert study_notebook(tmp_path, "custom/r.ipynb") == tmp_path / "custom/r.ipynb"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text('{"study": "x"}', encoding="utf-8")
    with pytest.raises(ReportError, match="report notebook not found") as info:
        build_report(tmp_path / "run", notebook=study_notebook(tmp_path, "custom/r.ipynb"))
    assert "study.yaml" in (info.value.fix or "")
