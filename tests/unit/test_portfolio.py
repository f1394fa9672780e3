"""`oca portfolio`: the page from two studies' results.json, pooled effects equal to the meta-analysis of the
inputs (floored HKSJ by default, stated), per-CSO pooling from by_group / disaggregation / by_campaign, Bayesian
hierarchical pooling with shrinkage plots (or a note that it needs the extra), posterior SDs used as SEs said on the
page, truth coverage, what to test next from design diagnoses, and bad input exiting 2."""

import io
import json

import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.report import build_portfolio
from oca_experiments.report._portfolio import StudyRow, what_to_test_next
from oca_experiments.summarize.meta import random_effects


def _hyp(hid, family, est, se, verdict, *, sesoi=0.2, direction="increase", extras=None, se_type="CR1"):
    return {"id": hid, "status": "estimated", "estimate": est, "std_error": se, "ci_low": est - 1.96 * se,
            "ci_high": est + 1.96 * se, "p_value": 0.01, "n": 500, "n_clusters": 24, "estimator": "survey_did",
            "verdict": verdict, "title": hid, "type": "confirmatory", "direction": direction, "family": family,
            "sesoi": sesoi, "se_type": se_type, "extras": extras or {}}


def _write_run(path, study, hypotheses):
    path.mkdir()
    (path / "results.json").write_text(json.dumps({"schema_version": 1, "study": study, "oca_version": "x",
                                                   "hypotheses": hypotheses, "contracts": [], "data": {}}))
    return path


CSO_ESTIMATES = [0.4, 0.1, 0.3, 0.5, 0.0]


@pytest.fixture
def two_runs(tmp_path):
    cso_rows = [{"level": f"CSO{i}", "n": 150, "status": "estimated", "estimate": e, "ci_low": e - 0.3,
                 "ci_high": e + 0.3, "p_value": 0.1} for i, e in enumerate(CSO_ESTIMATES, start=1)]
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
    result = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), str(two_runs[1]), "--out", str(out),
                                      "--no-bayes"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "portfolio.json").read_text())
    assert len(payload["hypotheses"]) == 5
    pooled = {p["key"]: p for p in payload["pooled"]}
    expected = random_effects([0.33, 0.12], [0.06 ** 2, 0.08 ** 2], interval="hksj_floored")
    assert payload["interval"] == "hksj_floored"
    assert pooled["h1_trust"]["meta"]["estimate"] == pytest.approx(expected.estimate, abs=1e-12)
    assert pooled["h1_trust"]["meta"]["ci_high"] == pytest.approx(expected.ci_high, abs=1e-12)
    by_cso = pooled["h1_trust (study_a, by CSO)"]
    assert by_cso["labels"] == ["CSO1", "CSO2", "CSO3", "CSO4", "CSO5"]  # the suppressed cell is left out
    assert by_cso["std_errors"][0] == pytest.approx(0.3 / 1.959963984540054)
    # h2 in study_a: 0.15 ≥ half the SESOI, not supported, power < 80% -> to test next; study_b's 0.05 is not
    nxt = {(t["study"], t["id"]) for t in payload["what_to_test_next"]}
    assert ("study_a", "h2_vertical") in nxt and ("study_b", "h2_vertical") not in nxt
    assert ("study_a", "h1_trust") not in nxt
    page = (out / "index.html").read_text()
    assert "study_b" in page and "h9_later" in page and "What the next round should test" in page
    assert "scale max(1, q) (Knapp–Hartung ad hoc floor)" in page  # the page says which HKSJ it used
    assert "switched off" in page
    png = (out / pooled["h1_trust"]["forest_plot"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    assert Image.open(io.BytesIO(png)).info["dpi"][0] == pytest.approx(150, abs=1)


def test_unfloored_hksj_on_request(two_runs, tmp_path):
    out = tmp_path / "page"
    result = CliRunner().invoke(app, ["portfolio", *map(str, two_runs), "--out", str(out), "--no-bayes",
                                      "--no-hksj-floor"])
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "portfolio.json").read_text())
    pooled = {p["key"]: p for p in payload["pooled"]}
    expected = random_effects([0.33, 0.12], [0.06 ** 2, 0.08 ** 2], interval="hksj")
    assert pooled["h1_trust"]["meta"]["ci_low"] == pytest.approx(expected.ci_low, abs=1e-12)
    assert "scale q as estimated (no floor)" in (out / "index.html").read_text()


@pytest.mark.bayes
def test_bayesian_pooling_and_shrinkage_plot(two_runs, tmp_path):
    out = tmp_path / "page"
    payload = build_portfolio(list(two_runs), out)
    by_cso = next(p for p in payload["pooled"] if p["key"] == "h1_trust (study_a, by CSO)")
    bayes = by_cso["bayes"]
    assert bayes["diagnostics_passed"] and bayes["k"] == 5
    assert [u["label"] for u in bayes["units"]] == by_cso["labels"]
    # partial pooling: every CSO's posterior mean lies between its raw estimate and mu
    for unit in bayes["units"]:
        low, high = sorted((unit["raw"], bayes["mu_mean"]))
        assert low - 0.02 <= unit["mean"] <= high + 0.02
    assert (out / by_cso["shrinkage_plot"]).read_bytes()[:4] == b"\x89PNG"
    page = (out / "index.html").read_text()
    assert "Bayesian hierarchical model (partial pooling)" in page and "half-Cauchy" in page


def test_core_install_builds_the_frequentist_page_and_names_the_extra(two_runs, tmp_path, monkeypatch):
    import oca_experiments._extras as extras

    monkeypatch.setattr(extras, "missing", lambda extra: ["pymc"])
    payload = build_portfolio(list(two_runs), tmp_path / "page")
    assert all(p["bayes"] is None and p["shrinkage_plot"] is None for p in payload["pooled"])
    page = (tmp_path / "page" / "index.html").read_text()
    assert "needs the bayes extra (pip install &#x27;oca-experiments[bayes]&#x27;)" in page
    assert "Frequentist (REML)" in page


def test_posterior_sd_used_as_se_is_said(tmp_path):
    runs = [_write_run(tmp_path / name, name, [_hyp("h7a", "trust_bayes", est, sd, "supported",
                                                    se_type="posterior_sd")])
            for name, est, sd in (("s1", 0.30, 0.06), ("s2", 0.22, 0.07))]
    payload = build_portfolio(runs, tmp_path / "page", bayes=False)
    assert "posterior mean and posterior SD" in payload["pooled"][0]["notes"][0]
    page = (tmp_path / "page" / "index.html").read_text()
    assert "0.060 (posterior SD)" in page and "posterior mean and posterior SD are used" in page


def test_per_cso_blocks_from_by_group_and_by_campaign_and_no_double_pooling(tmp_path):
    by_group = {"dimension": "cso_id", "rows": [
        {"level": f"CSO{i}", "n": 100, "status": "estimated", "estimate": e, "std_error": s, "ci_low": e - 1,
         "ci_high": e + 1} for i, (e, s) in enumerate([(0.3, 0.1), (0.1, 0.12), (0.5, 0.2)], start=1)]}
    campaigns = [{"unit": f"P0{i}", "group": f"CSO{i}", "average_effect": e, "std_error": 0.005}
                 for i, e in enumerate([-0.05, -0.03, -0.06], start=1)]
    run = _write_run(tmp_path / "r", "demo", [
        _hyp("h1", "trust", 0.3, 0.06, "supported", extras={"by_group": by_group}),
        _hyp("h5", "engagement", -0.05, 0.02, "supported", direction="decrease",
             extras={"by_campaign": campaigns}),
        _hyp("h7a", "trust_bayes", 0.3, 0.06, "supported", se_type="posterior_sd",
             extras={"group_effects": {"CSO1": {"mean": 0.3}}})])
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"extras": {"portfolio_pooled_by_cso": {"h1": 0.28, "h5": 0.5}}}))
    payload = build_portfolio([run], tmp_path / "page", bayes=False, truth=truth)
    pooled = {p["hypothesis_id"]: p for p in payload["pooled"]}
    assert pooled["h1"]["std_errors"] == [0.1, 0.12, 0.2]  # the cells' own SEs, not their intervals
    assert pooled["h5"]["labels"] == ["CSO1", "CSO2", "CSO3"] and pooled["h5"]["verdict"] == (
        "effect in the registered direction")
    assert pooled["h1"]["truth_covered"] is True and pooled["h5"]["truth_covered"] is False
    assert "h7a" not in pooled and any("already partially pooled" in s for s in payload["not_pooled"])


def _row(**changes):
    base = dict(study="s", run_dir="r", id="h", title="h", family="f", type="confirmatory", estimator="e",
                status="estimated", verdict="inconclusive", estimate=0.15, std_error=0.1, ci_low=None,
                ci_high=None, p_value=0.2, direction="increase", sesoi=0.2)
    return StudyRow(**{**base, **changes})


def test_what_to_test_next_respects_registered_decrease():
    """A 'decrease' hypothesis whose estimate went up is not promising (the old check knew only 'less')."""
    assert what_to_test_next([_row(direction="decrease", estimate=0.15)]) == []
    assert len(what_to_test_next([_row(direction="decrease", estimate=-0.15)])) == 1


def test_what_to_test_next_reads_power_from_the_design_diagnosis(tmp_path):
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "diagnosis.json").write_text(json.dumps({
        "mde": {"value": 0.3}, "power_curve": [{"effect": 0.0, "power": 0.05}, {"effect": 0.1, "power": 0.2},
                                               {"effect": 0.2, "power": 0.6}, {"effect": 0.3, "power": 0.8}]}))
    [found] = what_to_test_next([_row()], [tmp_path])
    assert found["power_at_estimate"] == pytest.approx(0.4)  # halfway between 0.2 and 0.6
    assert found["power_source"].startswith("design diagnosis") and found["design_mde"] == 0.3
    [analytic] = what_to_test_next([_row()])
    assert analytic["power_source"].startswith("normal approximation")


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
    bad_truth = tmp_path / "truth.json"
    bad_truth.write_text("{}")
    truth = CliRunner().invoke(app, ["portfolio", *map(str, two_runs), "--out", str(out), "--truth", str(bad_truth)])
    assert truth.exit_code == 2 and "portfolio_pooled_by_cso" in truth.output and not out.exists()
    design = CliRunner().invoke(app, ["portfolio", *map(str, two_runs), "--out", str(out), "--design",
                                      str(tmp_path / "nope")])
    assert design.exit_code == 2 and "design folder does not exist" in design.output and not out.exists()


def test_portfolio_refuses_one_run_twice(two_runs, tmp_path):
    result = CliRunner().invoke(app, ["portfolio", str(two_runs[0]), str(two_runs[0]), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2 and "given twice" in result.output
