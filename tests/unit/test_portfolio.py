"""`oca portfolio`: the page from two studies' results.json, pooled effects equal to the meta-analysis of the
inputs, per-CSO pooling from a cso_id disaggregation, what to test next, and bad input exiting 2."""

import json

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.summarize.meta import random_effects


def _hyp(hid, family, est, se, verdict, *, sesoi=0.2, direction="greater", extras=None):
    return {"id": hid, "status": "estimated", "estimate": est, "std_error": se, "ci_low": est - 1.96 * se,
            "ci_high": est + 1.96 * se, "p_value": 0.01, "n": 500, "n_clusters": 24, "estimator": "survey_did",
            "verdict": verdict, "title": hid, "type": "confirmatory", "direction": direction, "family": family,
            "sesoi": sesoi, "extras": extras or {}}


def _write_run(path, study, hypotheses):
    path.mkdir()
    (path / "results.json").write_text(json.dumps({"schema_version": 1, "study": study, "oca_version": "x",
                                                   "hypotheses": hypotheses, "contracts": [], "data": {}}))
    return path


@pytest.fixture
def two_runs(tmp_path):
    cso_rows = [{"level": f"CSO{i}", "n": 150, "status": "estimated", "estimate": e, "ci_low": e - 0.3,
                 "ci_high": e + 0.3, "p_value": 0.1} for i, e in enumerate([0.4, 0.1, 0.3, 0.5, 0.0], start=1)]
    cso_rows.append({"level": "CSO6", "status": "suppressed", "display": "suppressed", "n": None, "estimate": None,
                     "ci_low": None, "ci_high": None, "p_value": None})
    a = _write_run(tmp_path / "a", "study_a", [
        _hyp("h1_trust", "trust", 0.33, 0.06, "supported",
             extras={"disaggregation": [{"dimension": "cso_id", "rows": cso_rows}]}),
        _hyp("h2_vertical", "trust", 0.15, 0.10, "inconclusive")])
    b = _write_run(tmp_path / "b", "study_b", [
        _hyp("h1_trust", "trust", 0.12, 0.08, "inconclusive"),
        _hyp("h2_vertical", "trust", 0.05, 0.09, "inconclusive"),
        {"id": "h9_later", "status": "not_yet_estimable", "estimate": None, "std_error": None, "verdict": None}])
    return a, b


def test_portfolio_page_from_two_studies(two_runs, tmp_path):
    out = tmp_path / "page"
    result = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), str(two_runs[1]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "portfolio.json").read_text())
    assert len(payload["hypotheses"]) == 5
    pooled = {p["key"]: p for p in payload["pooled"]}
    expected = random_effects([0.33, 0.12], [0.06 ** 2, 0.08 ** 2])
    assert pooled["h1_trust"]["meta"]["estimate"] == pytest.approx(expected.estimate, abs=1e-12)
    assert pooled["h1_trust"]["meta"]["ci_high"] == pytest.approx(expected.ci_high, abs=1e-12)
    by_cso = pooled["h1_trust (study_a, by CSO)"]
    assert by_cso["labels"] == ["CSO1", "CSO2", "CSO3", "CSO4", "CSO5"]  # the suppressed cell is left out
    assert by_cso["std_errors"][0] == pytest.approx(0.3 / 1.959963984540054)
    # h2 in study_a: 0.15 ≥ half the SESOI, not supported -> to test next; study_b's 0.05 is not
    nxt = {(t["study"], t["id"]) for t in payload["what_to_test_next"]}
    assert ("study_a", "h2_vertical") in nxt and ("study_b", "h2_vertical") not in nxt
    assert ("study_a", "h1_trust") not in nxt
    page = (out / "index.html").read_text()
    assert "study_b" in page and "h9_later" in page and "What to test next" in page
    png = (out / pooled["h1_trust"]["forest_plot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(png)).info["dpi"][0] == pytest.approx(150, abs=1)


def test_portfolio_bad_input_exits_2_and_writes_nothing(two_runs, tmp_path):
    out = tmp_path / "page"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), str(empty), "--out", str(out)])
    assert result.exit_code == 2
    assert "no results.json" in result.output and "Traceback" not in result.output
    assert not out.exists()
    one = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), "--out", str(out)])
    assert one.exit_code == 2 and "two or more" in one.output


def test_portfolio_refuses_one_run_twice(two_runs, tmp_path):
    result = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), str(two_runs[0]), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "given twice" in result.output
