"""Acceptance 1 through the CLI: ``oca design diagnose`` on the demo's horizontal-trust hypothesis prints power,
bias, coverage, type-S and type-M with Monte Carlo SEs and the MDE at 80% power, saves JSON + PNG, and the lock
records the diagnosis' hash. Also: executors give identical files, bad input is one line with exit code 2."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HID = "h1_horizontal_trust"


def oca(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("design") / "study"
    target.mkdir()
    shutil.copy(REPO / "study.yaml", target / "study.yaml")
    for folder in ("hypotheses", "data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "hypotheses" / "registry.lock.json").unlink(missing_ok=True)
    (target / "hypotheses" / "deviations.yaml").unlink(missing_ok=True)
    return target


@pytest.fixture(scope="module")
def diagnosed(study: Path) -> tuple[Path, subprocess.CompletedProcess[str]]:
    # Default executor: local worker processes (2 on this machine).
    proc = oca("design", "diagnose", str(study), HID, "--sims", "60", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    return study / "design" / HID, proc


def test_diagnose_prints_every_diagnosand_with_mc_se_and_the_mde(diagnosed) -> None:
    out_dir, proc = diagnosed
    text = proc.stdout
    for name in ("power", "bias", "rmse", "coverage", "type_s", "type_m"):
        assert re.search(rf"^  {name}: -?\d\.\d+ \(MC SE \d\.\d+\)$", text, re.M), (name, text)
    assert re.search(r"MDE at 80% power: \d", text), text
    assert "wild_webb inference as registered" in text  # 24 clusters < 30: the few-cluster rule fires
    payload = json.loads((out_dir / "diagnosis.json").read_text())
    assert payload["parameters"]["sources"]["clusters"] == "spec power.planned_clusters"
    assert payload["simulation"]["sims"] == 60 and payload["mde"]["target_power"] == 0.8
    assert len(payload["power_curve"]) >= 9
    assert (out_dir / "power_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    digest = hashlib.sha256((out_dir / "diagnosis.json").read_bytes()).hexdigest()
    assert f"sha256 {digest}" in text


def test_the_lock_records_the_diagnosis_hash(diagnosed, study: Path) -> None:
    out_dir, _ = diagnosed
    proc = oca("prereg", "lock", str(study))
    assert proc.returncode == 0, proc.stderr
    lock = json.loads((study / "hypotheses" / "registry.lock.json").read_text())
    entry = next(e for e in lock["entries"] if e.get("spec_id") == HID)
    justification = entry["power_justification"]
    assert justification["file"] == f"design/{HID}/diagnosis.json"
    assert justification["sha256"] == hashlib.sha256((out_dir / "diagnosis.json").read_bytes()).hexdigest()
    assert justification["mde"] is not None and justification["sims"] == 60


@pytest.fixture(scope="module")
def scheduler_address():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, host="127.0.0.1", protocol="tcp://",
                           dashboard_address=None, silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close(timeout=30)


def test_every_executor_writes_the_same_file(diagnosed, study: Path, tmp_path: Path, scheduler_address) -> None:
    """Local processes (the default run) and a Dask cluster give the same bytes (serial = Dask: test_executors)."""
    out_dir, _ = diagnosed
    dask = oca("design", "diagnose", str(study), HID, "--sims", "60", "--scheduler", scheduler_address,
               "--out", str(tmp_path / "dask"))
    assert dask.returncode == 0, dask.stderr
    expected = (out_dir / "diagnosis.json").read_bytes()
    assert (tmp_path / "dask" / "diagnosis.json").read_bytes() == expected


@pytest.mark.parametrize("args, needle", [
    (["--icc", "1.5"], "--icc"),
    (["--sims", "5"], "--sims"),
    (["--scheduler", "localhost:8786"], "--scheduler"),
    (["--data", "survey=/nonexistent/survey.csv"], "the data file does not exist"),  # as oca run says
    (["--clusters", "3"], "--clusters"),
], ids=["icc", "sims", "scheduler", "data", "clusters"])
def test_bad_input_is_one_line_and_exit_2(study: Path, args: list[str], needle: str) -> None:
    from typer.testing import CliRunner

    from oca_experiments.cli import app

    result = CliRunner().invoke(app, ["design", "diagnose", str(study), HID, "--workers", "1", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.output, result.stderr


def test_unknown_and_unsimulable_hypotheses_are_refused(study: Path) -> None:
    from typer.testing import CliRunner

    from oca_experiments.cli import app

    runner = CliRunner()
    unknown = runner.invoke(app, ["design", "diagnose", str(study), "h9_missing"])
    assert unknown.exit_code == 2 and "h1_horizontal_trust" in unknown.stderr
    engagement = runner.invoke(app, ["design", "diagnose", str(study), "h4_engagement_per_post"])
    assert engagement.exit_code == 2 and "no data-generating model" in engagement.stderr
