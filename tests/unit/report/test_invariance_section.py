"""The report's measurement-invariance section (oca_experiments.report.invariance_section): one table per index,
the verdict, and a warning naming the hypotheses whose mean comparison is in doubt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from oca_experiments.measurement import measurement_invariance
from oca_experiments.report import invariance_section

REFERENCE = Path(__file__).resolve().parents[2] / "reference" / "invariance"


def _record() -> dict:
    data = pd.read_csv(REFERENCE / "items.csv")
    items = ["h1", "h2", "h3", "h4"]
    part = measurement_invariance(data[items].to_numpy(dtype=float), data["group"].to_numpy(), items)
    return json.loads(json.dumps(part.to_dict()))


def test_section_shows_levels_verdict_and_warning_once_per_index(tmp_path: Path) -> None:
    record = _record()
    results = {"hypotheses": [{"id": "h1_trust", "extras": {"invariance": record}},
                              {"id": "h6_trust_by_sex", "extras": {"invariance": record}},
                              {"id": "h3_other", "extras": {}}]}
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    page = invariance_section(tmp_path)
    assert page.count("<table>") == 1 and "h1_trust, h6_trust_by_sex" in page
    for level in ("configural", "metric", "scalar"):
        assert f"<td>{level}</td>" in page
    assert "RMSEA [90% CI]" in page and "Chen" in page and "only metric" in page
    assert "Warning (h1_trust, h6_trust_by_sex)" in page and "compare associations, not means" in page
    scalar = next(fit for fit in record["levels"] if fit["level"] == "scalar")
    assert f"{scalar['cfi']:.3f}" in page and "<td>fails</td>" in page
    assert "<td>partial scalar (free intercept: h3)</td>" in page
    assert np.isfinite(scalar["rmsea_ci"][1])


def test_section_without_records_and_untested_index() -> None:
    assert "No index in this run" in invariance_section({"hypotheses": [{"id": "h", "extras": {}}]})
    untested = {"item_names": ["a", "b"], "note": "fewer than 3 items: a one-factor model cannot be tested"}
    page = invariance_section({"hypotheses": [{"id": "h", "extras": {"invariance": untested}}]})
    assert "Not tested: fewer than 3 items" in page and "<table>" not in page


def test_decision_page_flags_an_index_that_is_not_scalar_invariant(tmp_path: Path) -> None:
    from oca_experiments.report import decision_section

    def hypothesis(hid: str, verdict: str) -> dict:
        return {"id": hid, "title": f"Title {hid}", "status": "estimated", "type": "exploratory",
                "direction": "increase", "estimate": 0.3, "std_error": 0.06, "ci_low": 0.18, "ci_high": 0.42,
                "p_value": 1e-4, "n": 2100, "n_clusters": 40, "verdict": "supported",
                "extras": {"invariance": {"verdict": verdict}}}

    results = {"study": "Demo", "hypotheses": [hypothesis("h1", "only metric"), hypothesis("h2", "comparable")]}
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    page = decision_section(tmp_path)
    assert "Title h1: the index is only metric across arms and waves" in page
    assert "Title h2: the index" not in page
