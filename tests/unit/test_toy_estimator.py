"""docs/architecture.md's walk-through, kept honest: a new estimator (tests/unit/toy/mean_difference.py) plus one
registry record goes through plan, run, summary and report without touching anything else in the package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from scipy import stats

import oca_experiments as oca
from oca_experiments.errors import SpecError
from oca_experiments.estimators import REGISTRY, EstimatorRecord, register, unregister
from oca_experiments.report import write_summaries

from toy.mean_difference import MeanDifferenceOptions, fit_mean_difference

REPO = Path(__file__).resolve().parents[2]

#: The registry entry (in the package it would be one more EstimatorRecord in estimators/registry.py's RECORDS).
TOY = EstimatorRecord("mean_difference", "post-wave difference in means between the arms, Welch t interval",
                      "survey", MeanDifferenceOptions, fit_mean_difference, se_types=("iid",),
                      design_fields=("post",))


@pytest.fixture()
def toy_registered():
    register(TOY)
    try:
        yield TOY
    finally:
        unregister(TOY.name)


def _toy_study(tmp_path: Path, **changes) -> Path:
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(REPO / "study.yaml", study / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study / "hypotheses").mkdir()
    spec = yaml.safe_load((REPO / "hypotheses" / "h1_horizontal_trust.yaml").read_text(encoding="utf-8"))
    spec.update({"id": "h_toy", "estimator": {"name": "mean_difference"}, "disaggregate": [],
                 "inference": {"alpha": 0.05, "tails": "two", "se": "iid", "sesoi": 0.1, "family": "toy"}})
    spec.pop("subgroups", None)
    spec.update(changes)
    (study / "hypotheses" / "h_toy.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return study


def test_an_unregistered_estimator_is_refused_at_plan_time(tmp_path: Path) -> None:
    assert "mean_difference" not in REGISTRY
    with pytest.raises(SpecError) as caught:
        oca.load_study(_toy_study(tmp_path))
    assert caught.value.field == "estimator.name"


@pytest.mark.slow  # builds the notebook report (about 20 s)
def test_the_toy_estimator_goes_through_plan_run_summary_and_report(toy_registered, demo_data, tmp_path) -> None:
    study = oca.load_study(_toy_study(tmp_path))  # plan: name, options, SE type and design fields resolved
    task = study.plan.task("h_toy")
    assert task.estimator is TOY and isinstance(task.options, MeanDifferenceOptions)

    out = tmp_path / "run"
    run = oca.run_to_directory(study, {"survey": demo_data.survey}, out, build_html=True, reuse=False)
    toy = run["h_toy"]
    assert toy.status == "estimated" and toy.verdict in ("supported", "not supported", "inconclusive")
    result = toy.result
    assert result.inference.primary == "welch" and result.df > 100
    # independent check of the number: scipy's Welch test on the same post-wave index values
    from oca_experiments.outcomes import build_outcome
    import pandas as pd

    frame = pd.read_csv(demo_data.survey)
    built = build_outcome(frame, task.spec.outcome.construction, file="survey.csv", design=task.spec.design,
                          reliability_seed=task.spec.inference.bootstrap.seed).values
    post = (frame["wave"] == "endline").to_numpy()
    welch = stats.ttest_ind(built[post & (frame["treated"] == 1).to_numpy()].dropna(),
                            built[post & (frame["treated"] == 0).to_numpy()].dropna(), equal_var=False)
    assert result.p_value == pytest.approx(float(welch.pvalue), rel=1e-9)

    recorded = json.loads((out / "results.json").read_text(encoding="utf-8"))  # run: the stable record
    record = next(h for h in recorded["hypotheses"] if h["id"] == "h_toy")
    assert record["estimator"] == "mean_difference" and record["extras"]["inference"]["primary"] == "welch"
    assert recorded["families"]["exploratory"]["toy"] == ["h_toy"]  # summary: the multiple-testing families

    pages = write_summaries(out, lang="en", out_dir=out / "summary")  # summary: the trainers' pages
    assert any("h_toy" in Path(p).name for p in pages)
    html = (out / "report" / "index.html").read_text(encoding="utf-8")  # report: the notebook rendered it
    assert "h_toy" in html and "mean_difference" in html
