"""Survey weights at plan and validate time (issue 20): refused where they would be ignored or misused, and
`oca validate` names a misspelt margin category in one line (exit 2) before any estimation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from oca_experiments.errors import SpecError
from oca_experiments.plan import make_plan
from oca_experiments.spec import load_hypotheses, load_study_config

REPO = Path(__file__).resolve().parents[3]


def _h10() -> dict[str, Any]:
    return yaml.safe_load((REPO / "hypotheses" / "h10_horizontal_trust_weighted.yaml").read_text(encoding="utf-8"))


def _study(tmp_path: Path, raw: dict[str, Any]) -> Path:
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(REPO / "study.yaml", study / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study / "hypotheses").mkdir()
    (study / "hypotheses" / f"{raw['id']}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return study


def _plan_error(tmp_path: Path, raw: dict[str, Any]) -> SpecError:
    study = _study(tmp_path, raw)
    with pytest.raises(SpecError) as caught:
        make_plan(study, load_study_config(study), load_hypotheses(study))
    return caught.value


def test_h10_plans() -> None:
    plan = make_plan(REPO, load_study_config(REPO), load_hypotheses(REPO))
    task = plan.task("h10_horizontal_trust_weighted")
    assert ("site", "weights.margins.site") in task.column_fields


def test_weights_on_an_estimator_without_them_are_refused(tmp_path: Path) -> None:
    raw = _h10()
    raw = {**raw, "estimator": {"name": "bayes_did"}, "inference": {**raw["inference"], "se": "posterior"}}
    error = _plan_error(tmp_path, raw)
    assert error.field == "weights" and "does not use survey weights" in error.message
    assert "survey_did" in (error.fix or "") and "share" in (error.fix or "")


@pytest.mark.parametrize(("extra", "field"), [
    ({"disaggregate": ["sex"]}, "disaggregate"),
    ({"inference": {"se": "CR1", "randomization": {"draws": 999}}}, "inference.randomization"),
    ({"inference": {"se": "wild"}}, "inference.se"),
])
def test_what_weighted_estimates_would_drop_is_refused(tmp_path: Path, extra: dict, field: str) -> None:
    error = _plan_error(tmp_path, {**_h10(), **extra})
    assert error.field == field


def test_margins_that_do_not_sum_are_refused_with_the_field(tmp_path: Path) -> None:
    raw = _h10()
    raw["weights"]["margins"]["sex"] = {"female": 0.49, "male": 0.41}
    study = _study(tmp_path, raw)
    with pytest.raises(SpecError) as caught:
        load_hypotheses(study)
    assert "weights.margins" in (caught.value.field or "") and "sums to 0.9" in caught.value.message


def test_validate_names_a_misspelt_margin_category_in_one_line(tmp_path: Path) -> None:
    from oca_experiments.demo import generate_demo

    raw = _h10()
    raw["weights"]["margins"]["site"] = {("Jalalabad" if k == "Jalal-Abad" else k): v
                                         for k, v in raw["weights"]["margins"]["site"].items()}
    study = _study(tmp_path, raw)
    files = generate_demo(tmp_path / "data")
    env = {k: v for k, v in os.environ.items() if k != "OCA_DEBUG"}
    proc = subprocess.run([sys.executable, "-m", "oca_experiments", "validate", str(study), "-d",
                           f"survey={files.survey}", "-d", f"engagement={files.engagement}"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "weights.margins.site category 'Jalalabad'" in lines[0] and "did you mean 'Jalal-Abad'" in lines[0]
