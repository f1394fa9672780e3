"""The decision page: one row per confirmatory result with its verdict, effect in its units, its own-scale plot and
what it means; what could not be tested and why; data-quality flags. Self-contained and printable."""

from __future__ import annotations

import json
import re
from pathlib import Path

from oca_experiments.report import decision_page
from oca_experiments.report._decision import decision_rows, interval_svg

FIXTURE_RESULTS = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "results.json"


def _run(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(FIXTURE_RESULTS.read_text(encoding="utf-8"), encoding="utf-8")
    return run


def test_every_confirmatory_verdict_is_on_the_page(tmp_path: Path) -> None:
    run = _run(tmp_path)
    results = json.loads(FIXTURE_RESULTS.read_text(encoding="utf-8"))
    page = decision_page(run)
    confirmatory = [h for h in results["hypotheses"] if h.get("type") == "confirmatory"
                    and h.get("status") == "estimated"]
    assert confirmatory
    rows, _ = decision_rows(run)
    assert [r.hypothesis_id for r in rows] == [h["id"] for h in confirmatory]
    for h in confirmatory:
        assert re.search(rf'<span class="badge [a-z]*">{re.escape(h["verdict"])}</span>', page)
    assert "<script" not in page and "http" not in page.split("<body>")[1]
    assert "What could not be tested, and why" in page and "Data-quality flags" in page
    assert "not yet estimable: not yet estimable" not in page
    assert "<caption>Confirmatory questions</caption>" in page and 'scope="col"' in page


def test_frequentist_rows_state_verdict_and_interval_not_certainty(tmp_path: Path) -> None:
    rows, _ = decision_rows(_run(tmp_path))
    for row in rows:
        assert "sure" not in row.effect and row.interval.startswith("Most likely the change lies between")
        assert "p" in row.technical and row.meaning


def test_interval_plot_is_on_its_own_scale_and_says_the_finding() -> None:
    svg = interval_svg({"estimate": 5.88, "ci_low": -0.12, "ci_high": 11.88, "sesoi": 0.5, "direction": "increase"})
    assert svg.startswith("<svg") and "<title>Estimate +5.88, interval -0.12 to +11.9" in svg
    small = interval_svg({"estimate": -0.055, "ci_low": -0.1, "ci_high": -0.009, "sesoi": 0.02,
                          "direction": "decrease"}, factor=100, unit=" pp")
    assert "Estimate -5.5 pp" in small
