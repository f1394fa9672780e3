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
def test_summarize_fits_nothing_and_reads_no_data(path: Path) -> None:
    """Before, summarize/_disaggregate.py imported the estimator registry and re-ran the fitter per subgroup."""
    below = ("oca_experiments.estimators", "oca_experiments.bayes", "oca_experiments.outcomes", "oca_experiments.io",
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
