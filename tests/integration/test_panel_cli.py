"""sun_abraham and twfe (with its Bacon decomposition) through the CLI: `oca validate` and `oca run` on a small
synthetic quarterly district panel with a 0/1 treated-and-post column and staggered adoption, written as a study."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit" / "engagement"))
from _series_data import quarterly_panel  # noqa: E402


def oca(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=600)


def _study(tmp_path: Path) -> tuple[Path, str]:
    data = quarterly_panel(seed=3)
    csv = tmp_path / "panel.csv"
    data.to_csv(csv, index=False)
    study = tmp_path / "study"
    (study / "hypotheses").mkdir(parents=True)
    (study / "data_contracts").mkdir()
    contract = {"name": "panel", "id": None, "meta": {}, "expectations": [
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": list(data.columns),
                                                                 "exact_match": True},
         "meta": {}, "severity": "critical"}]}
    (study / "data_contracts" / "panel.json").write_text(json.dumps(contract), encoding="utf-8")
    (study / "study.yaml").write_text(yaml.safe_dump({
        "name": "Quarterly district panel", "sources": {"panel": {
            "contract": "data_contracts/panel.json",
            "description": "One row per district and quarter; treated = 1 from the adoption quarter on."}}}),
        encoding="utf-8")
    base = {"title": "Campaign", "hypothesis": "The campaign raised y.", "type": "exploratory",
            "direction": "increase",
            "outcome": {"source": "panel", "name": "y", "construction": {"method": "column", "column": "y"}},
            "design": {"unit": "unit", "time": "date", "treatment": "treated", "cluster": "unit"},
            "inference": {"se": "CR1", "few_clusters": {"threshold": 0}}}
    (study / "hypotheses" / "sa.yaml").write_text(yaml.safe_dump({
        **base, "id": "sa", "estimator": {"name": "sun_abraham",
                                          "options": {"period": "quarter", "event_window": [-4, 3]}}}),
        encoding="utf-8")
    (study / "hypotheses" / "tw.yaml").write_text(yaml.safe_dump({
        **base, "id": "tw", "estimator": {"name": "twfe", "options": {"period": "quarter"}}}), encoding="utf-8")
    return study, f"panel={csv}"


def test_sun_abraham_and_twfe_bacon_end_to_end(tmp_path: Path) -> None:
    study, data = _study(tmp_path)
    proc = oca("validate", str(study), "--data", data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "out"
    proc = oca("run", str(study), "--data", data, "--out", str(out), "--no-report")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    records = {r["id"]: r for r in json.loads((out / "results.json").read_text(encoding="utf-8"))["hypotheses"]}
    sa, tw = records["sa"], records["tw"]
    assert sa["status"] == "estimated" and sa["estimator"] == "sun_abraham"
    assert sa["estimate"] == pytest.approx(1.0, abs=0.4)  # simulated effect 1.0
    assert sa["extras"]["event_study"]["event_time"] == [-4, -3, -2, 0, 1, 2, 3]
    assert len(sa["extras"]["cohort_shares"]) == 3
    assert tw["status"] == "estimated" and tw["extras"]["bacon"]["available"] is True
    assert sum(row["weight"] for row in tw["extras"]["bacon"]["table"]) == pytest.approx(1.0, abs=1e-9)


def test_validate_refuses_covariates_for_sun_abraham(tmp_path: Path) -> None:
    study, data = _study(tmp_path)
    path = study / "hypotheses" / "sa.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["covariates"] = ["x"]
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    proc = oca("validate", str(study), "--data", data)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "covariates" in text and "Traceback" not in text


def test_the_report_shows_the_bacon_decomposition_and_the_sun_abraham_event_study(tmp_path: Path) -> None:
    """`oca run` with the report on the TWFE and Sun-Abraham study: the report builds (the old notebook failed on
    an event study without a uniform band) and shows the 2x2 table, the cohort shares and the interaction weights."""
    study, data = _study(tmp_path)
    out = tmp_path / "out"
    proc = oca("run", str(study), "--data", data, "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "TWFE diagnostics: Goodman-Bacon decomposition and Sun-Abraham" in page
    assert "Every 2×2 comparison; the weights sum to 1" in page
    assert "Cohort shares (the interaction weights at each event time)" in page
    assert "Interaction weights and cohort effects" in page
    assert "Event study for Campaign" in page and "(no uniform band)" in page


def _records(checked) -> dict[str, dict]:
    return {record["hypothesis"]: record for record in checked.testability}


def test_validate_refuses_an_unbalanced_panel_for_sun_abraham_as_run_does(tmp_path: Path) -> None:
    """sun_abraham refused an unbalanced panel only inside the fitter (run time) while `oca validate` passed: the
    registry's design check now refuses it at validate time, with the fitter's own reason."""
    import pandas as pd

    import oca_experiments as api

    study, data = _study(tmp_path)
    full = pd.read_csv(data.split("=", 1)[1])
    holed = tmp_path / "holed.csv"
    full.drop(index=[3]).to_csv(holed, index=False)
    loaded = api.load_study(study)
    record = _records(loaded.validate({"panel": holed}))["sa"]
    assert not record["testable"]
    assert "sun_abraham needs a balanced panel" in record["reason"]
    assert _records(loaded.validate({"panel": holed}))["tw"]["testable"]  # twfe takes unbalanced panels
    run = {h.id: h for h in loaded.run({"panel": holed}).hypotheses}["sa"]
    assert run.status != "estimated" and "balanced panel" in (run.reason or "")
    assert _records(loaded.validate({"panel": data.split("=", 1)[1]}))["sa"]["testable"]


def test_validate_refuses_allow_unbalanced_with_covariates(tmp_path: Path) -> None:
    """staggered_did's att_gt refuses covariates with unbalanced_panel: allow_unbalanced (run time); the plan now
    refuses the registered combination, so `oca validate` exits 2 naming the option before reading any data."""
    study, data = _study(tmp_path)
    spec = {"id": "cs", "title": "Campaign", "hypothesis": "The campaign raised y.", "type": "exploratory",
            "direction": "increase", "covariates": ["x"],
            "outcome": {"source": "panel", "name": "y", "construction": {"method": "column", "column": "y"}},
            "design": {"unit": "unit", "time": "date", "adoption": "start", "treatment": "ever", "cluster": "unit"},
            "estimator": {"name": "staggered_did", "options": {"period": "quarter",
                                                               "unbalanced_panel": "allow_unbalanced"}},
            "inference": {"se": "CR1"}}
    (study / "hypotheses" / "cs.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    proc = oca("validate", str(study), "--data", data)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "estimator.options.unbalanced_panel" in text and "covariates" in text and "Traceback" not in text
    spec["estimator"]["options"]["unbalanced_panel"] = "pairwise"
    (study / "hypotheses" / "cs.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    proc = oca("validate", str(study), "--data", data)
    assert proc.returncode == 0, proc.stdout + proc.stderr
