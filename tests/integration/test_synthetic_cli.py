"""synthetic_did through the CLI: `oca validate` and `oca run` on the California Proposition 99 panel as a study,
and `oca validate` refusing a design the estimator cannot handle before anything is estimated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = f"prop99={REPO / 'tests' / 'reference' / 'california_prop99.csv'}"
sys.path.insert(0, str(REPO / "tests" / "unit" / "engagement"))
from test_synthetic import write_prop99_study  # noqa: E402


def oca(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    return subprocess.run([sys.executable, "-m", "oca_experiments", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=600)


def test_oca_validate_and_run_end_to_end(tmp_path: Path) -> None:
    study = write_prop99_study(tmp_path, "synthetic_did")
    shutil.copytree(REPO / "reports", study / "reports")
    proc = oca("validate", str(study), "--data", DATA)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    proc = oca("run", str(study), "--data", DATA, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    (record,) = json.loads((out / "results.json").read_text(encoding="utf-8"))["hypotheses"]
    assert record["status"] == "estimated" and record["estimator"] == "synthetic_did"
    assert record["estimate"] == pytest.approx(-15.603827872733849, abs=1e-9)  # the R package's estimate
    assert record["se_type"] == "placebo" and record["ci_low"] < record["estimate"] < record["ci_high"]
    assert record["extras"]["resampling"] == {"replications": 38, "assignments": "all"}
    assert record["extras"]["unit_weights"][0]["label"] == "Nevada"
    assert set(record["extras"]["comparison"]) == {"sdid", "sc", "did"}
    from PIL import Image

    with Image.open(out / "artifacts" / "prop99_synthetic.png") as image:
        assert round(image.info["dpi"][0]) >= 150
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Few treated units: synthetic control and synthetic DiD" in page
    assert 'alt="synthetic control fit for prop99"' in page


def test_oca_validate_refuses_the_jackknife_with_one_treated_state(tmp_path: Path) -> None:
    study = write_prop99_study(tmp_path, "synthetic_did", inference={"se": "jackknife"})
    proc = oca("validate", str(study), "--data", DATA)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "jackknife SE is undefined with one treated unit" in text, text
    assert "Traceback" not in text
