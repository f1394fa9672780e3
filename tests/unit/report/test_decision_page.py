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


def _css_px(page: str, selector: str, prop: str) -> str:
    """The screen rule's value of ``prop`` for ``selector`` (print rules, inside @media, are cut off first)."""
    screen = page.split("@media print")[0]
    match = re.search(re.escape(selector) + r"\{([^}]*)\}", screen)
    assert match, f"no CSS rule for {selector}"
    return dict(part.split(":", 1) for part in match.group(1).split(";") if ":" in part)[prop]


def test_plot_text_is_legible_at_100_percent_zoom(tmp_path: Path) -> None:
    """The plot's tick labels were font-size 9-10 in a 260-wide viewBox squeezed into an 18% column (~190 px on a
    1200 px screen): about 7 px. The picture is now never shrunk on screen (min-width = its own width, the plot
    column at least that wide), so its text size in px is what is drawn, and that is at least 11 px."""
    page = decision_page(_run(tmp_path))
    svgs = re.findall(r'<svg width="(\d+)"[^>]*viewBox="0 0 (\d+) \d+" class="interval-plot">(.*?)</svg>', page)
    assert svgs
    min_width = _css_px(page, ".oca-decision svg.interval-plot", "min-width")
    column = _css_px(page, ".oca-decision .c-plot", "width")
    for width, viewbox_width, body in svgs:
        assert width == viewbox_width and min_width == f"{width}px"  # drawn 1:1, never scaled down on screen
        assert column.startswith(f"calc({width}px")
        sizes = [float(s) for s in re.findall(r'<text [^>]*font-size="([\d.]+)"', body)]
        assert sizes and min(sizes) >= 11
        # the two bound labels do not overlap (about 0.62 em per character)
        labels = re.findall(r'<text x="([\d.]+)" y="\d+" font-size="([\d.]+)"[^>]*>([^<]+)</text>', body)[:2]
        (x1, size1, t1), (x2, size2, t2) = labels
        assert float(x2) - float(x1) >= 0.62 * float(size1) * (len(t1) + len(t2)) / 2


def test_the_few_cluster_flag_names_what_replaced_the_registered_errors(tmp_path: Path) -> None:
    """Off the demo's path (an `oca init` study with 8 communities): the rule chose CR2, not the wild bootstrap,
    and the flag used to say "wild cluster bootstrap" whatever the rule chose; counts of one read in the singular."""
    from oca_experiments.report._decision import _quality_flags

    def record(hid: str, title: str, se_type: str) -> dict:
        rule = {"name": "few_clusters", "threshold": 30, "method": se_type.lower(), "n_clusters": 8,
                "registered_se": "CR1", "fired": True, "valid": True}
        return {"id": hid, "title": title, "status": "estimated", "type": "confirmatory", "estimator": "survey_did",
                "estimate": 0.5, "std_error": 0.1, "ci_low": 0.3, "ci_high": 0.7, "p_value": 0.01, "n": 320,
                "n_clusters": 8, "se_type": se_type, "verdict": "supported",
                "extras": {"inference": {"primary": se_type, "registered_se": "CR1", "rule": rule}}}

    one = _quality_flags({"hypotheses": [record("h1", "Knowledge", "CR2")]})
    assert one == ["Few clusters: for 1 hypothesis the registered rule replaced the registered standard errors "
                   "(intervals and p-values come from the replacement): cluster-robust CR2 (Bell-McCaffrey) for "
                   "Knowledge."]
    two = _quality_flags({"hypotheses": [record("h1", "Knowledge", "CR2"), record("h2", "Trust", "wild_webb")]})
    assert "for 2 hypotheses" in two[0]
    assert "cluster-robust CR2 (Bell-McCaffrey) for Knowledge; wild cluster bootstrap (Webb weights) for Trust" in two[0]
