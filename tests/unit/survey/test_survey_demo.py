"""The demo's trust hypotheses on the KLK index: truths inside the reported intervals, the few-cluster rule fires
(24 communities < 30), and every survey output (reliability, attrition, Lee bounds, adjusted p-values) is there."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import oca_experiments as oca
from oca_experiments.demo import simulate_demo

SURVEY_SPECS = ("h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h6_horizontal_trust_by_sex")


def survey_study(target: Path, *, light: bool = False) -> Path:
    """A copy of the demo study with only its survey hypotheses (``light``: without disaggregation and RI)."""
    repo = Path(__file__).resolve().parents[3]
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "study.yaml", target / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(repo / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (target / "hypotheses").mkdir()
    for name in SURVEY_SPECS:
        text = (repo / "hypotheses" / f"{name}.yaml").read_text(encoding="utf-8")
        if light:
            text = "\n".join(line for line in text.splitlines()
                             if not line.startswith("disaggregate:") and "randomization:" not in line) + "\n"
        (target / "hypotheses" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    demo = simulate_demo()
    study = oca.load_study(survey_study(tmp_path_factory.mktemp("survey") / "study"))
    return demo, study.run({"survey": demo.survey, "engagement": demo.engagement,
                          "community": demo.community})


def test_demo_specs_use_the_klk_index(repo_root) -> None:
    study = oca.load_study(repo_root)
    for hid in ("h1_horizontal_trust", "h2_vertical_trust", "h6_horizontal_trust_by_sex"):
        assert study.plan.task(hid).spec.outcome.construction.method == "zscore"


def test_truths_lie_inside_the_reported_intervals(demo_run) -> None:
    demo, run = demo_run
    for hid in SURVEY_SPECS:
        result = run[hid].result
        assert result.ci_low < demo.truth["hypotheses"][hid] < result.ci_high, hid
    # The truth is on the index's own scale: SD units, well away from the 1-5 mean-scale value.
    assert demo.truth["hypotheses"]["h1_horizontal_trust"] != demo.truth["extras"]["h1_mean_scale"]


def test_the_few_cluster_rule_fires_and_the_record_says_why(demo_run) -> None:
    _, run = demo_run
    for hid in ("h1_horizontal_trust", "h2_vertical_trust", "h6_horizontal_trust_by_sex"):
        result = run[hid].result
        rule = result.extras["inference"]["rule"]
        assert result.se_type == "wild_webb" and rule["fired"] and rule["n_clusters"] == 24
        assert rule["reason"].startswith("24 clusters < registered threshold 30")
        wild = result.extras["inference"]["alternatives"]["wild_webb"]
        assert wild["draws"] == 9999 and wild["seed"] == 20260307 and not wild["enumerated"]


def test_survey_outputs_are_recorded(demo_run) -> None:
    _, run = demo_run
    h1 = run["h1_horizontal_trust"].result
    assert [r["wave"] for r in h1.extras["reliability"]] == ["baseline", "endline"]
    assert all(r["alpha"] > 0.7 and r["omega"] > 0.7 for r in h1.extras["reliability"])
    attrition = h1.extras["attrition"]
    assert {"by_arm", "differential_test", "balance", "lee_bounds"} <= set(attrition)
    assert attrition["lee_bounds"]["lower"] <= attrition["lee_bounds"]["upper"]
    assert h1.extras["inference"]["alternatives"]["randomization"]["blocks"] == "cso_id"
    assert [t["dimension"] for t in h1.extras["disaggregation"]] == ["sex", "role", "district"]
    assert "knowledge increased by" in run["h3_knowledge_gain"].result.extras["statement"]
    assert not run["h1_horizontal_trust"].result.null_draws[1].flags.writeable
    for hid in ("h1_horizontal_trust", "h2_vertical_trust"):  # the demo's trust items: the same factor everywhere
        invariance = run[hid].result.extras["invariance"]
        assert invariance["verdict"] == "comparable" and "warning" not in invariance, hid
        assert list(invariance["groups"]) == ["comparison, baseline", "comparison, endline", "treated, baseline",
                                              "treated, endline"]
        assert [fit["level"] for fit in invariance["levels"]] == ["configural", "metric", "scalar"]


def test_per_cso_estimates_for_the_portfolio_page(demo_run) -> None:
    """Each survey hypothesis registering design.group (cso_id) carries the registered estimator re-run per CSO
    (extras.by_group) with an SE per cell, and the per-CSO truths of h1 lie within 3 SEs (4 clusters per CSO)."""
    demo, run = demo_run
    table = run["h1_horizontal_trust"].result.extras["by_group"]
    assert table["dimension"] == "cso_id" and "not preregistered" in table["note"]
    rows = {r["level"]: r for r in table["rows"]}
    assert sorted(rows) == [f"CSO{i}" for i in range(1, 7)]
    for cso, truth in demo.truth["extras"]["h1_by_cso"].items():
        assert rows[cso]["status"] == "estimated" and rows[cso]["std_error"] > 0
        assert abs(rows[cso]["estimate"] - truth) < 3 * rows[cso]["std_error"] + 0.05, cso


def test_adjusted_p_values_per_family(demo_run) -> None:
    _, run = demo_run
    families = {f["family"]: f for f in run.to_dict()["multiple_testing"]}
    trust = families["trust"]
    assert [h["id"] for h in trust["hypotheses"]] == ["h1_horizontal_trust", "h2_vertical_trust"]
    for entry in trust["hypotheses"]:
        assert entry["p_value"] <= entry["bh"] <= entry["holm"] + 1e-12
        assert entry["romano_wolf"] >= entry["p_value"] - 1e-12
    assert trust["romano_wolf"]["draws"] == 9999 and not trust["romano_wolf"]["notes"]
    # No lock in the demo: nothing is confirmatory, so every family is adjusted on the exploratory side.
    assert {f["side"] for f in families.values()} == {"exploratory"}


def test_same_data_same_numbers() -> None:
    """Seeded: the same data and spec give identical results, bootstrap draws included."""
    from survey_helpers import make_spec, panel

    from oca_experiments.estimators import SurveyDiDOptions, fit_survey_did

    df = panel(seed=9)
    spec = make_spec(inference={"randomization": {"draws": 199, "blocks": "block"}})
    first, second = (fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="x.csv") for _ in range(2))
    assert first.to_dict() == second.to_dict()
    assert np.array_equal(first.null_draws[1], second.null_draws[1])
