"""Small-cell suppression: no visible cell below the threshold and none recoverable from the margins, in the API
result, in results.json and in the HTML report, checked on a demo variant with a tiny subgroup."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import oca_experiments as oca
from oca_experiments.demo import simulate_demo
from oca_experiments.summarize import suppress_table, suppression_plan
from oca_experiments.summarize._disaggregate import protect_attrition, protect_groups

THRESHOLD = 10
TINY_ROLE = "elder"


@pytest.mark.parametrize("counts, expected", [
    ([50, 40, 30], [None, None, None]),
    ([50, 40, 3], [None, "secondary", "primary"]),          # one small cell: the next smallest goes too
    ([50, 4, 3], ["secondary", "primary", "primary"]),      # two small cells that together are still small
    ([50, 40, 6, 7], [None, None, "primary", "primary"]),   # two small cells, 13 together: enough
    ([5], ["primary"]),
])
def test_suppression_plan(counts, expected) -> None:
    assert suppression_plan(counts, THRESHOLD) == expected


def _recoverable(raw: list[int], hidden: list[bool], threshold: int) -> bool:
    """Can a hidden cell's n be recomputed from the visible cells and the total (or is the hidden sum small)?"""
    hidden_n = [n for n, h in zip(raw, hidden, strict=True) if h]
    return len(hidden_n) == 1 or (0 < len(hidden_n) and sum(hidden_n) < threshold)


def test_suppressed_cells_carry_no_numbers() -> None:
    cells = [{"level": "a", "n": 40, "estimate": 0.1, "ci_low": 0.0, "ci_high": 0.2, "p_value": 0.1},
             {"level": "b", "n": 3, "estimate": 0.9, "ci_low": 0.5, "ci_high": 1.3, "p_value": 0.01},
             {"level": "c", "n": 25, "estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3, "p_value": 0.2}]
    table = suppress_table(cells, THRESHOLD)
    assert table[0]["n"] == 40
    assert table[1] == {"level": "b", "status": "suppressed", "display": "suppressed (n < 10)", "n": None,
                        "estimate": None, "ci_low": None, "ci_high": None, "p_value": None}
    assert table[2]["status"] == "suppressed" and table[2]["n"] is None and "25" not in json.dumps(table[2])


def test_subgroup_effects_and_attrition_tables_are_protected() -> None:
    groups = protect_groups({"female": {"estimate": 0.4, "n": 6}, "male": {"estimate": 0.2, "n": 300}}, THRESHOLD)
    assert all(g["estimate"] is None and g["n"] is None for g in groups.values())
    record = {"by_arm": {"treated": {"baseline_n": 12, "stayers": 10, "leavers": 2, "rate": 2 / 12},
                         "comparison": {"baseline_n": 30, "stayers": 27, "leavers": 3, "rate": 0.1}},
              "differential_test": {"estimate": 0.07, "ci_low": -0.1, "ci_high": 0.2, "p_value": 0.4,
                                    "what": "difference"},
              "balance": [{"variable": "y", "cells": {"treated leavers": {"n": 2, "mean": 3.1}},
                           "selective_attrition_p_value": 0.3}],
              "lee_bounds": {"lower": 0.1, "upper": 0.2, "trim_share": 0.07}}
    protected = protect_attrition(record, THRESHOLD)
    text = json.dumps(protected)
    assert '"leavers": null' in text and "3.1" not in text and "0.07" not in text
    assert protected["differential_test"]["p_value"] == 0.4


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The demo study with h1 and h3 only, on demo data where four respondents have a role of their own."""
    repo = Path(__file__).resolve().parents[3]
    study = tmp_path_factory.mktemp("tiny") / "study"
    study.mkdir()
    shutil.copy(repo / "study.yaml", study / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(repo / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study / "hypotheses").mkdir()
    for name in ("h1_horizontal_trust.yaml", "h3_knowledge_gain.yaml"):
        shutil.copy(repo / "hypotheses" / name, study / "hypotheses" / name)
    contract = study / "data_contracts" / "survey.json"
    contract.write_text(contract.read_text(encoding="utf-8").replace('"religious_leader"',
                                                                     f'"religious_leader", "{TINY_ROLE}"'),
                        encoding="utf-8")
    demo = simulate_demo(seed=11)
    survey = demo.survey.copy()
    stayers = survey.loc[survey["wave"] == "endline", "respondent_id"].unique()
    chosen = set(np.random.default_rng(0).choice(stayers, 4, replace=False))
    survey.loc[survey["respondent_id"].isin(chosen), "role"] = TINY_ROLE
    out = study.parent / "run"
    run = oca.run_to_directory(oca.load_study(study), {"survey": survey, "engagement": demo.engagement,
                                                          "community": demo.community}, out,
                               reuse=False)
    return run, survey, chosen, out


def _raw_counts(survey, respondents_in_sample, column):
    levels = survey.loc[survey["wave"] == "baseline"].set_index("respondent_id")[column]
    return levels[levels.index.isin(respondents_in_sample)].value_counts()


def test_tiny_subgroup_is_suppressed_everywhere(tiny_run) -> None:
    run, survey, chosen, out = tiny_run
    payload = json.loads((out / "results.json").read_text(encoding="utf-8"))
    checked = 0
    for api_record, json_record in zip(run.to_dict()["hypotheses"], payload["hypotheses"], strict=True):
        assert api_record["extras"].get("disaggregation") == json_record["extras"].get("disaggregation")
        for table in json_record["extras"].get("disaggregation") or []:
            rows = table["rows"]
            visible = [r for r in rows if r["status"] != "suppressed"]
            hidden = [r for r in rows if r["status"] == "suppressed"]
            assert all(r["n"] >= THRESHOLD for r in visible)
            assert all(r["n"] is None and r["estimate"] is None and r["ci_low"] is None for r in hidden)
            assert len(hidden) != 1  # a lone suppressed cell would be total minus the visible ones
            if hidden:  # and the hidden ones together are not a small group either
                assert table["total"]["n"] - sum(r["n"] for r in visible) >= THRESHOLD
            checked += 1
            if table["dimension"] == "role" and json_record["id"] == "h1_horizontal_trust":
                tiny = next(r for r in rows if r["level"] == TINY_ROLE)
                assert tiny["display"] == "suppressed (n < 10)"
    assert checked == 6
    # The HTML report shows the tiny role's row only as suppressed, never with a count or an estimate.
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(rf"<tr><td[^>]*>{TINY_ROLE}</td>(.*?)</tr>", html)
    shown = [re.sub(r"<[^>]+>", " ", row) for row in rows]  # the cells' text, without the markup
    assert shown and all("suppressed (n &lt; 10)" in text and not re.search(r"\d", text.replace("10", ""))
                         for text in shown)


def test_report_shows_the_survey_sections(tiny_run) -> None:
    _, _, _, out = tiny_run
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    for heading in ("Inference: the registered rule and the few-cluster rule", "Multiple testing",
                    "Index reliability", "Attrition", "Lee bounds", "Disaggregation"):
        assert heading in html
    assert "clusters &lt; registered threshold 30" in html
