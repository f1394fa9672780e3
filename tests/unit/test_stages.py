"""Stages do not leak (issue 14): summarize reads typed results and fits nothing; the estimates beside a primary fit
(per-subgroup fits, attrition) are the pipeline's, and summarize only suppresses them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from oca_experiments.results.parts import Attrition, DisaggregationTable
from oca_experiments.summarize import hypothesis_extras

PACKAGE = Path(__file__).resolve().parents[2] / "oca_experiments"


def _imported(path: Path) -> set[str]:
    """Every module a file imports, relative imports written as ``..x`` resolved to ``oca_experiments.x``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 2:  # summarize/x.py: ..y is oca_experiments.y
                module = f"oca_experiments.{module}"
            found.add(module)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "summarize").glob("*.py")), ids=lambda p: p.name)
def test_summarize_refits_no_estimator_and_reads_no_data(path: Path) -> None:
    """Before, summarize/_disaggregate.py imported the estimator registry and re-ran the fitter per subgroup.
    (Pooling finished estimates, e.g. the Bayesian meta-analysis, may sample: it reads results, not data.)"""
    below = ("oca_experiments.estimators", "oca_experiments.outcomes", "oca_experiments.io",
             "oca_experiments.contracts")
    assert not [m for m in _imported(path) if m.startswith(below)]


def test_summarize_suppresses_the_raw_parts_the_run_estimated() -> None:
    """``hypothesis_extras`` takes the run's typed raw parts (no frame, no fitter) and hides the small cells."""
    raw = DisaggregationTable.from_dict({
        "dimension": "role", "unit": "units (respondent_id) in the estimation sample",
        "rows": [{"level": "elder", "n": 4, "status": "estimated", "estimate": 0.9, "ci_low": 0.1, "ci_high": 1.7,
                  "p_value": 0.03, "inference": "CR2", "n_clusters": 3},
                 {"level": "teacher", "n": 60, "status": "estimated", "estimate": 0.2, "ci_low": 0.0,
                  "ci_high": 0.4, "p_value": 0.04, "inference": "CR2", "n_clusters": 12},
                 {"level": "youth", "n": 80, "status": "estimated", "estimate": 0.3, "ci_low": 0.1,
                  "ci_high": 0.5, "p_value": 0.01, "inference": "CR2", "n_clusters": 12}],
        "total": {"level": "all", "n": 144, "status": "estimated", "estimate": 0.25, "ci_low": 0.1, "ci_high": 0.4,
                  "p_value": 0.01}})
    attrition = Attrition.from_dict({"error": "no pre wave"})
    result = type("R", (), {"extras": {}})()
    extras = hypothesis_extras(None, result, attrition=attrition, disaggregation=(raw,), threshold=10)
    table = extras["disaggregation"][0]
    assert isinstance(table, DisaggregationTable) and table.suppressed == 2 and table.threshold == 10
    assert [c.status for c in table.rows] == ["suppressed", "suppressed", "estimated"]
    assert table.rows[0].n is None and table.rows[0].estimate is None and table.total.n == 144
    assert extras["attrition"] == {"error": "no pre wave"}


@pytest.mark.parametrize("package", ["summarize", "contracts"])
def test_summarize_and_contracts_render_no_html(package: str) -> None:
    """Rendering belongs to the report layer: before, summarize/_plain.py built the trainer pages (HTML and PNG)
    and contracts/_validation.py wrote validation.html."""
    for path in sorted((PACKAGE / package).glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not {"html", "base64", "matplotlib", "matplotlib.pyplot"} & _imported(path), path.name
        assert "<!DOCTYPE" not in text and "<table" not in text and "<p>" not in text, path.name


def test_the_trainer_summary_is_a_typed_frozen_model_the_report_renders(tmp_path: Path) -> None:
    import dataclasses
    import json

    from oca_experiments.report import plain_pages
    from oca_experiments.report._trainer_pages import render_page
    from oca_experiments.results.parts import PosteriorSummary
    from oca_experiments.summarize import ResultRecord, TrainerSummary, trainer_summary

    record = {"id": "h7a", "status": "estimated", "type": "confirmatory", "direction": "increase", "estimate": 0.31,
              "ci_low": 0.12, "ci_high": 0.5, "sesoi": 0.1, "n_clusters": 24, "counts": {"units": 1050},
              "verdict": "supported", "se_type": "posterior_sd", "outcome": "trust",
              "extras": {"bayesian": True, "posterior": {"p_gt_sesoi": 0.999, "p_gt_0": 1.0}}}
    typed = ResultRecord.from_record(record)
    assert isinstance(typed.posterior, PosteriorSummary) and typed.posterior.p_gt_sesoi == 0.999
    assert typed.units == 1050
    summary = trainer_summary([record], lang="ru", study="S")
    assert isinstance(summary, TrainerSummary) and summary.lang == "ru"
    page = summary.pages[0]
    assert page.verdict == "supported" and page.estimate == 0.31 and page.picture is not None
    assert page.headline.startswith("Да:") and "уверены" in page.headline and "<" not in page.headline
    assert page.picture.high == pytest.approx(0.5) and page.picture.alt.startswith("Рисунок")
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.headline = "x"  # type: ignore[misc]
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"study": "S", "hypotheses": [record]}), encoding="utf-8")
    (rendered,), _ = plain_pages(run, lang="ru")
    assert render_page(summary, page).html == rendered.html  # the report renders the model, word for word
