"""The report's exposure-response and spillover section (issue 20), rendered from results.json records."""

from __future__ import annotations

import json
from pathlib import Path

from oca_experiments.report import dose_response_figure, exposure_section

FIXTURE = Path(__file__).parents[1] / "fixtures" / "results" / "demo_results.json"


def _records() -> dict[str, dict]:
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return {h["id"]: h for h in payload["hypotheses"]}


def test_the_section_states_the_assumptions_beside_each_estimate() -> None:
    records = _records()
    text = exposure_section(records.values())
    assert text.startswith("## Exposure-response and spillover")
    assert "Dose-response slope (ACRT per 1 exposure unit)" in text
    assert "Strong parallel trends (Callaway, Goodman-Bacon and Sant'Anna 2024)" in text
    assert "selection into dose" in text.lower()
    assert "2026-03-01 to 2026-09-30" in text and "survey `cso_id` = exposure `cso_id`" in text
    # h12 in the demo: the equivalence interval reaches beyond the SESOI, so the report says so
    assert "**Spillover not ruled out.**" in text and "Treated minus far (spillover-robust effect)" in text
    # no unit's outcome in the report: community ids never appear
    assert "C01" not in text


def test_a_run_without_portfolio_checks_has_no_section() -> None:
    records = _records()
    others = [h for h in records.values() if h["id"] not in ("h11_trust_exposure_response", "h12_spillover_near_far")]
    assert exposure_section(others) == ""
    assert dose_response_figure(records["h1_horizontal_trust"]) is None


def test_spillover_ruled_out_reads_as_such() -> None:
    record = _records()["h12_spillover_near_far"]
    part = dict(record["extras"]["spillover"], ruled_out=True, note=None)
    text = exposure_section([dict(record, extras=dict(record["extras"], spillover=part))])
    assert "spillover of that size is ruled out" in text and "not ruled out" not in text


def test_the_dose_response_figure_draws_the_curve() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = dose_response_figure(_records()["h11_trust_exposure_response"])
    assert fig is not None
    line = fig.axes[0].lines[0]
    assert len(line.get_xdata()) == 2  # the fixture keeps the first two of the 21 grid points
