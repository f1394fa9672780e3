"""End to end through the CLI: the demo, a study with renamed columns, bad inputs and atomic outputs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def oca(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=600)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    proc = oca("demo", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


def test_demo_end_to_end(demo_run: Path) -> None:
    results = json.loads((demo_run / "results.json").read_text())
    truth = json.loads((demo_run / "data" / "truth.json").read_text())["hypotheses"]
    specs = {p.stem for p in (REPO / "hypotheses").glob("*.yaml")}
    by_id = {h["id"]: h for h in results["hypotheses"]}
    assert set(by_id) == specs
    for key in ("id", "status", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters",
                "estimator", "verdict"):
        assert all(key in h for h in results["hypotheses"])
    for hid in ("h1_horizontal_trust", "h2_vertical_trust", "h6_horizontal_trust_by_sex"):
        h = by_id[hid]
        assert h["status"] == "estimated"
        assert h["ci_low"] < truth[hid] < h["ci_high"], (hid, h["ci_low"], truth[hid], h["ci_high"])
    for hid in ("h4_engagement_per_post", "h5_hostile_share", "h8_engagement_synthetic",
                "h9_community_monthly"):  # issues 6 and 16
        h = by_id[hid]
        assert h["status"] == "estimated"
        assert h["ci_low"] < truth[hid] < h["ci_high"], (hid, h["ci_low"], truth[hid], h["ci_high"])
    for hid in [h for h in by_id if by_id[h]["status"] == "not_yet_estimable"]:  # planned estimators
        assert by_id[hid]["estimate"] is None
        assert "not available" in by_id[hid]["reason"]
    html = (demo_run / "report" / "index.html").read_text()
    for hid in by_id:
        assert hid in html
    assert f"{truth['h1_horizontal_trust']:.3f}" in html
    assert "data:image/png;base64" in html
    assert not list(demo_run.parent.glob(".*staging*"))


def _rename_study(study: Path, mapping: dict[str, str]) -> None:
    for path in [*(study / "hypotheses").glob("*.yaml"), *(study / "data_contracts").glob("*.json")]:
        text = path.read_text(encoding="utf-8")
        for old, new in mapping.items():
            text = re.sub(rf"\b{re.escape(old)}\b", new, text)
        path.write_text(text, encoding="utf-8")


def test_other_column_names_work_once_the_spec_names_them(demo_run: Path, study_copy: Path, tmp_path: Path) -> None:
    mapping = {"h_trust_1": "trust_neighbours", "h_trust_3": "careful_with_people", "community_id": "village",
               "respondent_id": "resp_code", "treated": "arm", "wave": "round"}
    survey = pd.read_csv(demo_run / "data" / "survey.csv", dtype={"comment": "string"})
    renamed = survey.rename(columns=mapping)
    renamed_path = tmp_path / "my_survey.csv"
    renamed.to_csv(renamed_path, index=False)
    engagement = pd.read_csv(demo_run / "data" / "engagement.csv")
    engagement_path = tmp_path / "pages.csv"
    engagement.rename(columns={"treated": "arm"}).to_csv(engagement_path, index=False)
    community = pd.read_csv(demo_run / "data" / "community.csv", dtype={"campaign_start": "string"})
    community_path = tmp_path / "communities.csv"  # the renamed specs name its unit and treatment columns too
    community.rename(columns={"community_id": "village", "treated": "arm"}).to_csv(community_path, index=False)
    _rename_study(study_copy, mapping)
    # A study with its own column names is a different study: the demo's lock (which registers the demo's names)
    # does not apply to it, so it runs unlocked here.
    (study_copy / "hypotheses" / "registry.lock.json").unlink()
    out = tmp_path / "out"
    proc = oca("run", str(study_copy), "--data", f"survey={renamed_path}", "--data",
               f"engagement={engagement_path}", "--data", f"community={community_path}",
               "--out", str(out), "--no-report")
    assert proc.returncode == 0, proc.stderr
    mine = {h["id"]: h for h in json.loads((out / "results.json").read_text())["hypotheses"]}
    reference = {h["id"]: h for h in json.loads((demo_run / "results.json").read_text())["hypotheses"]}
    for hid in ("h1_horizontal_trust", "h2_vertical_trust", "h9_community_monthly"):
        assert mine[hid]["estimate"] == pytest.approx(reference[hid]["estimate"], abs=1e-12)
        assert mine[hid]["std_error"] == pytest.approx(reference[hid]["std_error"], abs=1e-12)


def test_missing_column_is_a_one_line_error(demo_run: Path, tmp_path: Path) -> None:
    survey = pd.read_csv(demo_run / "data" / "survey.csv", dtype={"comment": "string"})
    broken = tmp_path / "survey_no_item.csv"
    survey.drop(columns=["h_trust_2"]).to_csv(broken, index=False)
    proc = oca("run", str(REPO), "--data", f"survey={broken}", "--data",
               f"engagement={demo_run / 'data' / 'engagement.csv'}", "--data",
               f"community={demo_run / 'data' / 'community.csv'}", "--out", str(tmp_path / "out"))
    line = assert_one_line_error(proc, "survey_no_item.csv", "h_trust_2", "hypotheses/h1_horizontal_trust.yaml")
    assert "R0" not in line  # no respondent ids in errors
    assert not (tmp_path / "out" / "results.json").exists()


def test_yaml_syntax_error(study_copy: Path, demo_run: Path, tmp_path: Path) -> None:
    path = study_copy / "hypotheses" / "h2_vertical_trust.yaml"
    path.write_text(path.read_text().replace("direction: increase", "direction: [increase"), encoding="utf-8")
    proc = oca("validate", str(study_copy), "--data", f"survey={demo_run / 'data' / 'survey.csv'}")
    assert_one_line_error(proc, "hypotheses/h2_vertical_trust.yaml", "YAML syntax error", "line")


def test_unknown_estimator(study_copy: Path, demo_run: Path, tmp_path: Path) -> None:
    path = study_copy / "hypotheses" / "h1_horizontal_trust.yaml"
    path.write_text(path.read_text().replace("name: survey_did", "name: causal_forest"), encoding="utf-8")
    proc = oca("run", str(study_copy), "--data", f"survey={demo_run / 'data' / 'survey.csv'}", "--out",
               str(tmp_path / "out"))
    assert_one_line_error(proc, "hypotheses/h1_horizontal_trust.yaml", "estimator.name", "causal_forest")


def test_bad_data_argument(tmp_path: Path) -> None:
    proc = oca("validate", str(REPO), "--data", "survey")
    assert_one_line_error(proc, "NAME=PATH")


def test_validate_estimates_nothing(demo_run: Path) -> None:
    proc = oca("validate", str(REPO), "--data", f"survey={demo_run / 'data' / 'survey.csv'}", "--data",
               f"engagement={demo_run / 'data' / 'engagement.csv'}")
    assert proc.returncode == 0, proc.stderr
    assert "survey: contract" in proc.stdout and "passed" in proc.stdout
    assert "estimate" not in proc.stdout


def test_contract_failure_stops_only_its_hypotheses(demo_run: Path, tmp_path: Path) -> None:
    engagement = pd.read_csv(demo_run / "data" / "engagement.csv")
    engagement.loc[5, "posts"] = -3
    bad = tmp_path / "engagement_bad.csv"
    engagement.to_csv(bad, index=False)
    out = tmp_path / "out"
    proc = oca("run", str(REPO), "--data", f"survey={demo_run / 'data' / 'survey.csv'}", "--data",
               f"engagement={bad}", "--data", f"community={demo_run / 'data' / 'community.csv'}", "--out",
               str(out), "--no-report")
    assert proc.returncode == 0, proc.stderr
    by_id = {h["id"]: h for h in json.loads((out / "results.json").read_text())["hypotheses"]}
    assert by_id["h4_engagement_per_post"]["status"] == "contract_failed"
    assert "posts" in by_id["h4_engagement_per_post"]["reason"]
    assert by_id["h1_horizontal_trust"]["status"] == "estimated"
    strict = oca("run", str(REPO), "--data", f"survey={demo_run / 'data' / 'survey.csv'}", "--data",
                 f"engagement={bad}", "--data", f"community={demo_run / 'data' / 'community.csv'}", "--out",
                 str(out), "--no-report", "--strict")
    assert strict.returncode == 2


def test_failed_run_keeps_the_last_good_output(demo_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    data = ["--data", f"survey={demo_run / 'data' / 'survey.csv'}", "--data",
            f"engagement={demo_run / 'data' / 'engagement.csv'}", "--data",
            f"community={demo_run / 'data' / 'community.csv'}"]
    assert oca("run", str(REPO), *data, "--out", str(out), "--no-report").returncode == 0
    good = (out / "results.json").read_bytes()
    proc = oca("run", str(REPO), "--data", f"survey={tmp_path / 'missing.csv'}", "--data", data[3], "--out",
               str(out), "--no-report")
    assert proc.returncode == 2
    assert (out / "results.json").read_bytes() == good
    # no staging: beside the outputs only the control folder, holding the current run and the lock
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".oca"]
    assert len(list((out / ".oca" / "runs").iterdir())) == 1
