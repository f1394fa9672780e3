"""The report's sections (oca_experiments/report/_sections.py) and the thin notebook that calls them.

- The notebook's cells are one-line ``show_section`` calls, one per registered section, and read no results.
- The sections read estimator parts by attribute, never by string key: checked in the source (no ``extras``) and
  at run time (a part's dict interface used from the sections module fails the test).
- So do the portfolio page and the exposure and survey-weights sections (``report/_portfolio.py``, ``_exposure.py``,
  ``_weights.py``): no ``extras`` in their source (the portfolio's demo truth.json has a field of that name, read in
  ``_read_truth`` only), no part read by key when they render the demo.
- The TWFE diagnostics section (Goodman-Bacon 2x2 table and weights, Sun-Abraham cohort shares and interaction
  weights) renders on small fitted examples, and an event study without a uniform band (Sun-Abraham) draws.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from oca_experiments.report import SECTIONS, ReportInputs, load_report, render_section
from oca_experiments.results import HypothesisResult, Part, RunResult

REPO = Path(__file__).resolve().parents[3]
NOTEBOOK = REPO / "reports" / "report.ipynb"
SECTIONS_SOURCE = REPO / "oca_experiments" / "report" / "_sections.py"
PLOTS_SOURCE = REPO / "oca_experiments" / "engagement" / "_plots.py"
#: The other report modules that read estimates (decision page, gate, portfolio, exposure, weights): parts by
#: attribute too.
TYPED_READERS = [REPO / "oca_experiments" / "report" / f"_{name}.py"
                 for name in ("decision", "gate", "portfolio", "exposure", "weights")]
#: Modules whose reads of a part through its dict interface fail the tests that render under ``no_part_key_reads``.
GUARDED = tuple(str(Path("report", f"_{name}.py")) for name in ("sections", "portfolio", "exposure", "weights"))
FIXTURE = REPO / "tests" / "unit" / "fixtures" / "results" / "demo_results.json"
SETUP_CELL = "report = load_report(run_dir)"
CALL = re.compile(r'^show_section\(report, "([a-z_]+)"\)$')

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engagement"))


def _code_cells() -> list[tuple[list[str], str]]:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return [(c.get("metadata", {}).get("tags") or [], "".join(c["source"])) for c in notebook["cells"]
            if c["cell_type"] == "code"]


def _string_key_reads(tree: ast.AST) -> list[str]:
    """``x["key"]`` and ``x.get("key")`` in the code."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(
                node.slice.value, str):
            found.append(node.slice.value)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def _mentions_extras(tree: ast.AST) -> list[str]:
    """Any ``.extras`` attribute, ``extras`` name or "extras" string: the untyped mapping under the parts."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "extras":
            found.append(f"line {node.lineno}: .extras")
        if isinstance(node, ast.Name) and node.id == "extras":
            found.append(f"line {node.lineno}: extras")
        if isinstance(node, ast.Constant) and node.value == "extras":
            found.append(f"line {node.lineno}: 'extras'")
    return found


def test_notebook_cells_are_one_line_section_calls_and_cover_every_section() -> None:
    called = []
    for tags, source in _code_cells():
        if "parameters" in tags:
            continue
        tree = ast.parse(source)
        assert not _string_key_reads(tree), f"a notebook cell reads results by key: {source!r}"
        assert not _mentions_extras(tree), f"a notebook cell reads extras: {source!r}"
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not names & {"json", "open", "read_text", "loads"}, f"a notebook cell reads files: {source!r}"
        if SETUP_CELL in source:
            continue
        match = CALL.match(source.strip())
        assert match, f"a report cell is not one show_section call: {source!r}"
        called.append(match.group(1))
    assert called == list(SECTIONS), "every registered section has one cell, in report order"


@pytest.mark.parametrize("source", [SECTIONS_SOURCE, PLOTS_SOURCE, *TYPED_READERS], ids=lambda p: p.name)
def test_sections_and_plots_never_touch_the_untyped_extras(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    if source.name == "_portfolio.py":  # the demo's truth.json (not a result) keeps its targets under "extras"
        truth = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_read_truth")
        truth.body = []
    assert not _mentions_extras(tree)


@pytest.fixture
def no_part_key_reads(monkeypatch):
    """Fail when the sections module reads a part through its dict interface (``part["x"]``, ``part.get``)."""
    def guarded(name):
        original = getattr(dict, name)

        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            assert not caller.endswith(GUARDED), (
                f"{caller} reads {type(self).__name__} by key {args[:1]}: read it by attribute")
            return original(self, *args, **kwargs)
        return read

    for name in ("__getitem__", "get", "__contains__", "keys", "items", "values"):
        monkeypatch.setattr(Part, name, guarded(name))


def _cut_paths_start_inside(value):
    """The fixture cuts every list to two items: put each counterfactual path's start inside its cut dates."""
    if isinstance(value, dict):
        if "start_index" in value and isinstance(value.get("dates"), list):
            value["start_index"] = len(value["dates"]) - 1
        for item in value.values():
            _cut_paths_start_inside(item)
    elif isinstance(value, list):
        for item in value:
            _cut_paths_start_inside(item)
    return value


def _demo_report(tmp_path: Path) -> ReportInputs:
    payload = _cut_paths_start_inside(json.loads(FIXTURE.read_text(encoding="utf-8")))
    (tmp_path / "results.json").write_text(json.dumps(payload), encoding="utf-8")
    return load_report(tmp_path)


def _html(items) -> str:
    out = []
    for item in items:
        for method in ("_repr_html_", "_repr_markdown_"):
            text = getattr(item, method, lambda: None)()
            if text:
                out.append(text)
    return "\n".join(out)


def test_every_section_renders_the_demo_reading_parts_by_attribute(tmp_path, no_part_key_reads) -> None:
    report = _demo_report(tmp_path)
    rendered = {name: _html(render_section(report, name)) for name in SECTIONS}
    assert "Goodman-Bacon" not in rendered["title_and_contents"]  # the demo has no static TWFE
    assert "h4_engagement_per_post" in rendered["engagement"] and "uniform band" in rendered["engagement"]
    assert "Sampler: nutpie NUTS" in rendered["bayesian"] and "Prior predictive check" in rendered["bayesian"]
    assert "wild cluster bootstrap (Webb) (primary)" in rendered["inference"]
    assert r"h8\_engagement\_synthetic" in rendered["synthetic"]
    assert "Lee bounds" in rendered["attrition"]


def test_portfolio_exposure_and_weights_read_the_demo_parts_by_attribute(tmp_path, no_part_key_reads) -> None:
    """The exposure and survey-weights sections from typed hypotheses, from results.json records and from the
    file, and the portfolio page of two runs, render the demo's records with no part read by key."""
    from oca_experiments.report import build_portfolio, exposure_section, survey_weights_section

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    report = _demo_report(run_dir)
    records = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["hypotheses"]
    exposure = exposure_section(report.hypotheses)
    assert exposure == exposure_section(records)
    assert "Dose-response slope" in exposure and "Treated minus far (spillover-robust effect)" in exposure
    weights = survey_weights_section(run_dir)
    assert weights == survey_weights_section(report.hypotheses)
    assert "h10_horizontal_trust_weighted: survey weights" in weights and "Kish effective sample size" in weights
    assert "raking adjustment changes the variance by" in weights
    other = tmp_path / "other"
    other.mkdir()
    payload = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    (other / "results.json").write_text(json.dumps({**payload, "study": "a second study"}), encoding="utf-8")
    portfolio = build_portfolio([run_dir, other], tmp_path / "portfolio", bayes=False)
    pooled = {p["key"]: p for p in portfolio["pooled"]}
    assert "h1_horizontal_trust" in pooled  # across the two runs
    assert any(key.endswith("by CSO)") for key in pooled)  # per CSO, from by_group / disaggregation / by_campaign
    assert any("already partially pooled" in s for s in portfolio["not_pooled"])


def test_typed_sections_read_what_the_json_records_hold(tmp_path) -> None:
    """A few numbers the sections print, checked against the records themselves (not the parts)."""
    report = _demo_report(tmp_path)
    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    bayes = next(h for h in payload["hypotheses"] if h["id"] == "h7a_horizontal_trust_bayes")["extras"]
    text = _html(render_section(report, "bayesian"))
    sampler = bayes["sampler"]
    assert f"{sampler['chains']} chains × {sampler['draws']} draws after {sampler['tune']} warm-up" in text
    assert f"seed {sampler['seed']}" in text
    assert f"{100 * bayes['prior_predictive']['share_on_scale']:.1f}% on the scale" in text


# --------------------------------------------------------------------------- TWFE diagnostics (fitted examples)


def _hypothesis(hid: str, estimator: str, result) -> HypothesisResult:
    return HypothesisResult(id=hid, title=f"{estimator} example", type="exploratory", direction="increase",
                            estimator=estimator, outcome="y", source="panel", spec_file=f"{hid}.yaml",
                            status="estimated", verdict="supported", result=result)


@pytest.fixture(scope="module")
def twfe_run() -> RunResult:
    from _series_data import quarterly_panel, spec

    from oca_experiments.estimators import fit_twfe
    from oca_experiments.estimators._engagement_options import SunAbrahamOptions, TwfeOptions
    from oca_experiments.estimators._sun_abraham import fit_sun_abraham

    no_rule = {"few_clusters": {"threshold": 0}}
    data = quarterly_panel(seed=7)
    static = fit_twfe(data, data["y"], spec("twfe", adoption=None, cluster=None, se="HC1", inference=no_rule),
                      TwfeOptions.model_validate({"period": "quarter"}), file="panel.csv")
    data = quarterly_panel(seed=3)
    sun_abraham = fit_sun_abraham(
        data, data["y"], spec("sun_abraham", adoption=None, cluster="unit", se="CR1", inference=no_rule),
        SunAbrahamOptions.model_validate({"period": "quarter", "event_window": [-4, 3]}), file="panel.csv")
    hypotheses = (_hypothesis("h_twfe", "twfe", static), _hypothesis("h_sa", "sun_abraham", sun_abraham))
    # through results.json, as the report reads it
    payload = json.loads(json.dumps(RunResult(study="s", oca_version="0", hypotheses=hypotheses, contracts=(),
                                              data={}).to_dict()))
    return RunResult.from_dict(payload)


def test_twfe_diagnostics_show_the_bacon_table_and_sun_abraham_weights(twfe_run, tmp_path,
                                                                      no_part_key_reads) -> None:
    report = ReportInputs(run_dir=tmp_path, run=twfe_run, payload={}, manifest={})
    text = _html(render_section(report, "twfe_diagnostics"))
    bacon = twfe_run["h_twfe"].result.bacon
    assert "## TWFE diagnostics: Goodman-Bacon decomposition and Sun-Abraham" in text
    assert f"static TWFE coefficient {bacon.twfe:.3f}" in text
    assert text.count("<tr>") >= len(bacon.table) + 1  # one row per 2x2 comparison, with its weight
    for row in bacon.table:
        assert f">{row.weight:.3f}</td>" in text and f">{row.estimate:.3f}</td>" in text
    assert "later vs earlier treated (already-treated controls)" in text
    shares = twfe_run["h_sa"].result.cohort_shares
    assert "Sun-Abraham interaction-weighted event study" in text
    for share in shares:
        assert f">{share.share:.3f}</td>" in text
    assert f"({len(twfe_run['h_sa'].result.iw_weights)} cohort × event-time cells)" in text
    (tmp_path / "results.json").write_text(json.dumps(twfe_run.to_dict()), encoding="utf-8")  # the decision page
    contents = _html(render_section(report, "title_and_contents")[2:3])
    assert "#TWFE-diagnostics:-Goodman-Bacon-decomposition-and-Sun-Abraham" in contents


def test_an_event_study_without_a_uniform_band_is_drawn(twfe_run, tmp_path, no_part_key_reads) -> None:
    """Sun-Abraham's event study has no band: the old notebook cell failed on it (KeyError 'band_low')."""
    report = ReportInputs(run_dir=tmp_path, run=twfe_run, payload={}, manifest={})
    text = _html(render_section(report, "engagement"))
    assert "Event study for sun_abraham example" in text and "(no uniform band)" in text
    assert "<img" in text


def test_posterior_claim_reads_the_typed_hypothesis_as_it_read_the_record(tmp_path) -> None:
    from oca_experiments._display import posterior_claim

    payload = json.loads(FIXTURE.read_text(encoding="utf-8"))
    run = RunResult.from_dict(payload)
    claims = [(posterior_claim(record), posterior_claim(typed)) for record, typed in zip(payload["hypotheses"], run,
                                                                                         strict=True)]
    assert all(from_record == from_type for from_record, from_type in claims)
    assert sum(claim is not None for claim, _ in claims) >= 4  # the Bayesian hypotheses


def test_engagement_plots_are_drawn_from_typed_parts(tmp_path, twfe_run) -> None:
    from oca_experiments.engagement import save_engagement_plots

    payload = _cut_paths_start_inside(json.loads(FIXTURE.read_text(encoding="utf-8")))
    written = {p.name for p in save_engagement_plots(payload, tmp_path / "demo")}
    assert {"h4_engagement_per_post_event_study.png", "h4_engagement_per_post_counterfactual.png",
            "h5_hostile_share_counterfactual.png"} <= written
    # Sun-Abraham's event study has no uniform band; the static TWFE has no event study
    assert {p.name for p in save_engagement_plots(twfe_run, tmp_path / "twfe")} == {"h_sa_event_study.png"}


def test_scalar_extras_read_by_attribute(twfe_run) -> None:
    result = twfe_run["h_twfe"].result
    assert result.model.startswith("y ~ D") and result.period == "quarter"
    assert result.statement is None  # not recorded by this estimator
    with pytest.raises(AttributeError):
        result.no_such_part  # noqa: B018
