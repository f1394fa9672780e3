"""The report's sections as functions: each takes the run's typed results and returns what the notebook displays.

The report notebook (``reports/report.ipynb``) is one line per section:
``show_section(report, "attrition")``. Every
section reads hypotheses and their estimator parts by attribute (``h.result.event_study.band_low``,
``h.result.sampler.chains``), never by string key (tests/unit/report/test_sections.py guards it); results.json is
read once, through ``run_result_from_dict``. Only the run-level records that are not estimator results (contracts,
data provenance, the manifest, multiple-testing families, the demo's truth) are read as the JSON they are.

To add a section: write ``def my_section(report: ReportInputs) -> list`` returning IPython display objects
(``_md``/``_html``/``table`` below), register it in ``SECTIONS`` and add a cell
``show_section(report, "my_section")``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oca_experiments._display import bounded_band, posterior_claim
from oca_experiments._format import format_p  # one p-value format on every surface: never "p = 0"
from oca_experiments._layout import MANIFEST_FILE, RESULTS_FILE
from oca_experiments.io import FormLabels
from oca_experiments.report._decision import decision_section
from oca_experiments.report._exposure import dose_response_figure, exposure_section
from oca_experiments.report._invariance import invariance_section
from oca_experiments.report._weights import survey_weights_section
from oca_experiments.report._manifest import run_result_from_dict
from oca_experiments.results import EstimateResult, HypothesisResult, RunResult
from oca_experiments.results.parts import (
    ArtifactPaths,
    Attrition,
    AttritionTest,
    BalanceCell,
    CohortShare,
    Diagnostics,
    DiagnosticsThresholds,
    EventStudy,
    LeeBounds,
    PosteriorSummary,
    PretrendTest,
    PriorPredictiveCheck,
    SamplerSettings,
    TwfeComparison,
)

__all__ = ["SECTIONS", "ReportInputs", "load_report", "render_section", "show_section"]

STATUS_LABELS = {
    "estimated": "estimated",
    "not_yet_estimable": "not yet estimable",
    "contract_failed": "contract failed",
    "not_testable": "not testable",
}
MISSING = "—"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class ReportInputs:
    """What every section reads: the typed run, the run-level JSON records beside it, the manifest."""

    run_dir: Path
    run: RunResult
    #: results.json's run-level keys other than the hypotheses (schema_version, demo_seed, truth, preregistration)
    payload: Mapping[str, Any]
    manifest: Mapping[str, Any]
    #: the language the report is written in: XLSForm labels are shown in it when the form has it
    language: str = "en"
    #: PNG bytes -> the hypothesis whose section shows them (a figure shared by two hypotheses is shown once)
    shown_pngs: dict[bytes, str] = field(default_factory=dict, compare=False)

    @property
    def hypotheses(self) -> tuple[HypothesisResult, ...]:
        return self.run.hypotheses

    @property
    def truth(self) -> Mapping[str, Any]:
        truth = self.payload.get("truth")
        return truth if isinstance(truth, dict) else {}  # only runs on the demo have it

    @property
    def run_specs(self) -> Mapping[str, Any]:
        specs = self.manifest.get("specs")
        return specs if isinstance(specs, dict) else {}

    @property
    def form_labels(self) -> tuple[FormLabels, ...]:
        """Each source's XLSForm labels, as the run recorded them in manifest.json (none without a form)."""
        recorded = self.manifest.get("labels")
        found = (FormLabels.from_json(v) for v in recorded.values()) if isinstance(recorded, Mapping) else ()
        return tuple(labels for labels in found if labels is not None)

    def item_label(self, column: Any) -> str | None:
        """The XLSForm label of a column in the report's language, or None when no form labels it."""
        return next((text for labels in self.form_labels
                     if (text := labels.item(str(column), self.language)) is not None), None)

    def level_label(self, column: Any, level: Any) -> str | None:
        """The XLSForm choice label of one value of a select column (e.g. sex 1 -> "Female"), or None."""
        return next((text for labels in self.form_labels
                     if (text := labels.choice(str(column), level, self.language)) is not None), None)

    def column_text(self, column: Any) -> str:
        """Plain text naming a column: its label with the column in brackets, or the column alone."""
        label = self.item_label(column)
        return f"{label} ({column})" if label else str(column)

    def column_md(self, column: Any) -> str:
        """``column_text`` as markdown (escaped)."""
        return md_text(self.column_text(column))


def load_report(run_dir: str | Path, *, language: str = "en") -> ReportInputs:
    """Read a run directory's results.json (typed, via ``run_result_from_dict``) and manifest.json. ``language``:
    the report's language, in which the XLSForm labels recorded by the run are shown when the form has it."""
    run_dir = Path(run_dir)
    payload = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
    payload = payload if isinstance(payload, dict) else {}
    payload = {**payload, "hypotheses": [h for h in payload.get("hypotheses") or [] if isinstance(h, dict)]}
    try:
        manifest = json.loads((run_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    manifest = manifest if isinstance(manifest, dict) else {}
    run = run_result_from_dict(payload)
    return ReportInputs(run_dir=run_dir, run=run, payload={k: v for k, v in payload.items() if k != "hypotheses"},
                        manifest=manifest, language=language)


def render_section(report: ReportInputs, name: str) -> list[Any]:
    """The display objects of one section, in order."""
    return SECTIONS[name](report)


def show_section(report: ReportInputs, name: str) -> None:
    """Display one section in the running notebook."""
    from IPython.display import display

    for item in render_section(report, name):
        display(item)


# --------------------------------------------------------------------------- formatting helpers


def _md(text: str) -> Any:
    from IPython.display import Markdown

    return Markdown(text)


def _html(text: str) -> Any:
    from IPython.display import HTML

    return HTML(text)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt(value: Any, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if is_number(value) else MISSING


def fmt_count(value: Any) -> str:
    return f"{int(value):,}" if is_number(value) else MISSING


def fmt_p(value: Any, draws: Any = None) -> str:
    """A p-value for a table cell: "< 0.001", "0.054", "≤ 0.01" (at the floor of B resampling draws)."""
    if not is_number(value):
        return MISSING
    text = format_p(value, draws=draws)
    return text[4:] if text.startswith("p = ") else text[2:]


def plain(value: Any) -> str:
    """Readable text for a value from JSON: no Python reprs (True, None, [{'name': ...}]) in the report."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        if value.get("name") is not None:
            described = value.get("description") or value.get("column")
            return f"{value['name']} ({described})" if described else str(value["name"])
        return "; ".join(f"{k.replace('_', ' ')}: {plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if not value:
            return "none"
        joiner = "; " if any(isinstance(v, (dict, list, tuple)) for v in value) else ", "
        return joiner.join(plain(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def details(summary: str, content_html: str) -> Any:
    """Boilerplate folded away: a <details> block whose summary says what is inside."""
    return _html(f"<details><summary>{html.escape(summary)}</summary>{content_html}</details>")


def fmt_ci(low: Any, high: Any) -> str:
    return f"[{fmt(low)}, {fmt(high)}]" if is_number(low) and is_number(high) else MISSING


def status_label(status: Any) -> str:
    return STATUS_LABELS.get(status, str(status or "unknown").replace("_", " "))


def pick(mapping: Mapping[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that holds a value (contract failures name counts unexpected_* or plain)."""
    for key in keys:
        if mapping.get(key) is not None:
            return mapping[key]
    return None


def md_text(value: Any) -> str:
    """Plain text inside generated markdown: escape the characters markdown would act on."""
    text = str(value)
    for char in "\\`*_[]#<>|$":
        text = text.replace(char, "\\" + char)
    return text


def cell(value: Any, align: str = "left", colspan: int = 1) -> dict[str, Any]:
    return {"text": str(value), "align": align, "colspan": colspan}


def num(value: Any) -> dict[str, Any]:
    return cell(value, align="right")


def table_html(header: list[Any], rows: Iterable[list[Any]], caption: str | None = None) -> str:
    """A plain HTML table; cells are dicts from cell()/num() or plain text. Text is always escaped. Header cells
    carry scope="col" and a caption names the table (screen readers announce both)."""
    def td(item: Any, tag: str) -> str:
        item = item if isinstance(item, dict) else cell(item)
        span = f' colspan="{item["colspan"]}"' if item["colspan"] > 1 else ""
        scope = ' scope="col"' if tag == "th" else ""
        return f'<{tag}{scope}{span} style="text-align: {item["align"]}">{html.escape(item["text"])}</{tag}>'

    head = "".join(td(item, "th") for item in header)
    body = "".join("<tr>" + "".join(td(item, "td") for item in row) + "</tr>" for row in rows)
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{caption_html}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table(header: list[Any], rows: Iterable[list[Any]], caption: str | None = None) -> Any:
    return _html(table_html(header, rows, caption))


def wrap(text: Any, width: int = 38) -> str:
    words_, lines, line = str(text).split(), [], ""
    for word in words_:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if is_number(value) else MISSING


def finite(values: Iterable[Any]) -> list[float]:
    return [v if is_number(v) else float("nan") for v in values]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # off-screen rendering; the figure is embedded as a PNG
    import matplotlib.pyplot as plt

    return plt


def figure_html(fig: Any, alt: str) -> Any:
    """The figure as an <img> with alt text (nbconvert cannot attach alt text to a plain image output)."""
    plt = _pyplot()
    png = io.BytesIO()
    # metadata=None for Software: the PNG bytes then depend only on the figure, not the library build
    fig.savefig(png, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    encoded = base64.b64encode(png.getvalue()).decode("ascii")
    return _html(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}" style="max-width: 100%">')


def embed_png(report: ReportInputs, relative: Any, alt: str, owner: str | None = None) -> Any:
    path = report.run_dir / str(relative)
    if not relative or not path.is_file():
        return None
    data = path.read_bytes()
    if data in report.shown_pngs and report.shown_pngs[data] != owner:
        return _md(f"*The same figure as for {md_text(report.shown_pngs[data])} (same model and data).*")
    report.shown_pngs[data] = owner  # type: ignore[assignment]
    encoded = base64.b64encode(data).decode("ascii")
    return _html(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}" style="max-width: 100%">')


# --------------------------------------------------------------------------- reading typed results


def title_of(h: HypothesisResult) -> str:
    return str(h.title or h.id or MISSING)


def units_of(report: ReportInputs, h: HypothesisResult) -> str:
    """The outcome and its units as the spec labels them (e.g. "Horizontal trust (KLK index, SD units ...)")."""
    spec = report.run_specs.get(h.spec_id or h.id) or {}
    label = (spec.get("outcome") or {}).get("label") if isinstance(spec, dict) else None
    label = str(label) if label else str(h.outcome or "outcome units")
    if h.estimator == "knowledge_gain":  # the estimate is mean(post) / mean(pre) - 1
        return f"relative change, post/pre − 1, in: {label}"
    return label


def estimated(report: ReportInputs) -> list[tuple[HypothesisResult, EstimateResult]]:
    """Every estimated hypothesis with its estimate."""
    return [(h, h.result) for h in report.hypotheses if h.status == "estimated" and h.result is not None]


def number(h: HypothesisResult, name: str) -> Any:
    """A headline number of the hypothesis (None when it has no estimate)."""
    return getattr(h.result, name) if h.result is not None else None


def counts_of(h: HypothesisResult) -> Mapping[str, Any]:
    if h.result is not None:
        return h.result.counts
    counts = (h.testability or {}).get("counts")
    return counts if isinstance(counts, Mapping) else {}


# --------------------------------------------------------------------------- sections


def title_and_contents(report: ReportInputs) -> list[Any]:
    out: list[Any] = []
    payload = report.payload
    hypotheses = report.hypotheses
    study = report.run.study or "Unnamed study"
    out.append(_md(f"# {md_text(study)}"))
    facts = [f"{len(hypotheses)} preregistered hypotheses"]
    if report.run.oca_version:
        facts.append(f"oca_experiments {md_text(report.run.oca_version)}")
    if payload.get("schema_version") is not None:
        facts.append(f"results schema {md_text(payload['schema_version'])}")
    if payload.get("demo_seed") is not None:
        facts.append(f"simulated demo data, seed {md_text(payload['demo_seed'])}")
    out.append(_md("Campaign impact report · " + " · ".join(facts)))

    results = [h.result for h in hypotheses if h.result is not None]
    has_bayes = any(r.bayesian for r in results)
    has_engagement = any(r.event_study or r.by_campaign for r in results)
    has_inference = any(r.inference is not None for r in results)
    has_raw = any(r.raw_means is not None for r in results)
    sections = [("Decision summary", "decision-summary"), ("Hypotheses", "Hypotheses"),
                ("Estimates at a glance", "Estimates-at-a-glance")]
    if has_raw:
        sections.append(("Raw means by arm and wave", "Raw-means-by-arm-and-wave"))
    if has_bayes:
        sections.append(("Bayesian analyses", "Bayesian-analyses"))
    if has_engagement:
        sections.append(("Engagement: event studies and counterfactuals",
                         "Engagement:-event-studies-and-counterfactuals"))
    if any(_has_twfe_parts(r) for r in results):
        sections.append(("TWFE diagnostics: Goodman-Bacon decomposition and Sun-Abraham",
                         "TWFE-diagnostics:-Goodman-Bacon-decomposition-and-Sun-Abraham"))
    if any(r.exposure_response is not None or r.spillover is not None for r in results):
        sections.append(("Exposure-response and spillover", "Exposure-response-and-spillover"))
    if has_inference:
        sections.append(("Inference: the registered rule and the few-cluster rule",
                         "Inference:-the-registered-rule-and-the-few-cluster-rule"))
    sections += [(name, name.replace(" ", "-")) for name in (
        "Multiple testing", "Index reliability", "Measurement invariance", "Attrition", "Disaggregation", "Data contracts", "Testability",
        "Data provenance", "Preregistration: locks and deviations",
        "Methods (generated from the preregistered specs)")]
    out.append(_html('<nav aria-label="Contents"><strong>Contents</strong><ol>' + "".join(
        f'<li><a href="#{html.escape(anchor)}">{html.escape(name)}</a></li>' for name, anchor in sections)
        + '</ol><p>The decision summary is also a page of its own, <a href="decision.html">decision.html</a>, '
        "for printing.</p></nav>"))
    out.append(_html(decision_section(report.run_dir)))
    return out


def hypotheses_table(report: ReportInputs) -> list[Any]:
    out: list[Any] = []
    hypotheses = report.hypotheses
    truth = report.truth
    counts: dict[str, int] = {}
    for h in hypotheses:
        label = status_label(h.status)
        counts[label] = counts.get(label, 0) + 1
    summary = ", ".join(f"{count} {label}" for label, count in counts.items()) or "none recorded"
    out.append(_md(f"## Hypotheses\n\n{len(hypotheses)} hypotheses: {summary}."))

    show_truth = bool(truth)
    ci_levels = {h.result.ci_level for h, _ in estimated(report) if is_number(h.result.ci_level)}  # type: ignore[union-attr]
    ci_header = f"{100 * ci_levels.pop():g}% CI" if len(ci_levels) == 1 else "95% CI" if not ci_levels else "CI"
    header = ["hypothesis", "outcome (units)", "type", "status", num("estimate"), num(ci_header), num("p-value"),
              num("n"), num("clusters"), "estimator", "verdict"]
    if show_truth:
        header += [num("true effect (demo)"), "truth inside CI"]

    rows = []
    for h in hypotheses:
        status = h.status
        row: list[Any] = [f"{title_of(h)} ({h.id})", units_of(report, h), h.type or MISSING, status_label(status)]
        if status == "estimated":
            ci = fmt_ci(number(h, "ci_low"), number(h, "ci_high"))
            ci_level = number(h, "ci_level")
            if ci_header == "CI" and is_number(ci_level):  # levels differ: say each row's
                ci += f" ({100 * ci_level:g}%)"
            row += [num(fmt(number(h, "estimate"))), num(ci), num(fmt_p(number(h, "p_value"))),
                    num(fmt_count(number(h, "n"))), num(fmt_count(number(h, "n_clusters")))]
        else:
            reason = str(h.reason or "")
            label = status_label(status)
            why = reason if reason.startswith(label) else f"{label}: {reason}" if reason else label
            row.append(cell(why, colspan=5))  # one explanation instead of five blank numbers
        row += [h.estimator or MISSING, h.verdict or MISSING]
        if show_truth:
            true_value = truth.get(h.id)
            low, high = number(h, "ci_low"), number(h, "ci_high")
            inside = MISSING
            if status == "estimated" and is_number(true_value) and is_number(low) and is_number(high):
                inside = "yes" if low <= true_value <= high else "no"
            row += [num(fmt(true_value)), inside]
        rows.append(row)

    if rows:
        out.append(table(header, rows, caption="Every hypothesis of the run: estimates in each outcome's own units"))
    else:
        out.append(_md("No hypotheses were recorded in this run."))
    reasons = [f"<li><strong>{html.escape(title_of(h))}</strong> ({html.escape(str(h.verdict))}): "
               f"{html.escape(str(h.verdict_reason))}</li>" for h in hypotheses if h.verdict and h.verdict_reason]
    if reasons:
        out.append(details("Why these verdicts (the registered rule applied to each hypothesis)",
                           "<ul>" + "".join(reasons) + "</ul>"))
    if show_truth:
        out.append(_md("*True effects come from the simulated demo data and are shown only to check the estimators; "
                       "a real study has no such column.*"))
    return out


def registered_and_amended(report: ReportInputs) -> list[Any]:
    """Registered and amended versions side by side: a locked spec that changed runs in both versions; only the
    registered one is confirmatory (the lock decides), the amended one is exploratory."""
    out: list[Any] = []
    by_spec: dict[str, dict[str, HypothesisResult]] = {}
    for h in report.hypotheses:
        if h.variant in ("registered", "amended") and h.lock_status not in (None, "locked_unchanged"):
            by_spec.setdefault(h.spec_id or h.id, {})[h.variant] = h
    if not by_spec:
        return out
    out.append(_md("## Registered and amended versions\n\nThese specs changed after they were locked. The "
                   "registered version (rebuilt from the lock) is the confirmatory result; the amended version "
                   "is shown beside it and is exploratory."))

    def version_cells(record: HypothesisResult | None) -> list[Any]:
        if not record:
            return [cell(MISSING, colspan=3)]
        if record.status != "estimated":
            return [cell(f"{status_label(record.status)}: {record.reason or ''}", colspan=3)]
        return [num(fmt(number(record, "estimate"))), num(fmt_ci(number(record, "ci_low"), number(record, "ci_high"))),
                record.verdict or MISSING]

    rows = []
    for spec_id, pair in by_spec.items():
        registered, amended = pair.get("registered"), pair.get("amended")
        either = registered or amended
        changes = (either.changes if either else ()) or []
        changed = "; ".join(f"{c.get('field')}: {json.dumps(c.get('before'))} → {json.dumps(c.get('after'))}"
                            for c in changes if isinstance(c, dict)) or MISSING
        declared = {"changed_with_deviation": "yes", "withdrawn": "yes (withdrawn)"}.get(
            either.lock_status if either else None, "NO")
        rows.append([spec_id, *version_cells(registered), *version_cells(amended), changed, declared])
    out.append(table(["spec", num("registered estimate"), num("registered CI"), "registered verdict",
                      num("amended estimate"), num("amended CI"), "amended verdict", "changed fields",
                      "deviation declared"], rows))
    return out


def sesoi_bounds(value: Any) -> list[float]:
    """SESOI as [low, high]: a single number means the symmetric band ±value."""
    if is_number(value):
        return [-abs(value), abs(value)]
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) for v in value):
        return sorted(value)
    return []


def estimates_at_a_glance(report: ReportInputs) -> list[Any]:
    out: list[Any] = []
    truth = report.truth
    plotted = [h for h, r in estimated(report) if all(is_number(v) for v in (r.estimate, r.ci_low, r.ci_high))]
    out.append(_md("## Estimates at a glance"))
    if not plotted:
        out.append(_md("No hypothesis has an estimate yet, so there is nothing to plot."))
        return out
    plt = _pyplot()
    columns = 2 if len(plotted) > 1 else 1
    rows_n = -(-len(plotted) // columns)
    fig, axes = plt.subplots(rows_n, columns, figsize=(10, 2.1 * rows_n), squeeze=False)
    for ax, h in zip(axes.flat, plotted):
        r = h.result
        estimate, low, high = r.estimate, r.ci_low, r.ci_high
        bounds = sesoi_bounds(h.sesoi)
        if bounds:
            ax.axvspan(bounds[0], bounds[1], color="#f3e3bf", label="within ± SESOI")
        ax.axvline(0, color="#555555", linestyle="--", linewidth=1, label="no effect")
        ax.errorbar(estimate, 0, xerr=[[estimate - low], [high - estimate]], fmt="o", color="#1f4e79",
                    ecolor="#1f4e79", capsize=5, label=f"estimate, {100 * (r.ci_level if is_number(r.ci_level) else 0.95):g}% "
                    "interval")
        true_value = truth.get(h.id)
        if is_number(true_value):
            ax.plot([true_value], [0], marker="x", markersize=9, markeredgewidth=2, linestyle="none",
                    color="#b2182b", label="true effect (demo)")
        ax.set_yticks([])
        ax.set_ylim(-1, 1)
        kind = "" if h.type == "confirmatory" else " [exploratory]"
        ax.set_title(wrap(title_of(h) + kind, 60), fontsize=9, loc="left")
        ax.set_xlabel(wrap(units_of(report, h), 70), fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    for ax in list(axes.flat)[len(plotted):]:
        ax.set_visible(False)
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=4, frameon=False,
               fontsize=9, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    alt = "Estimates at a glance, one panel per hypothesis on its own scale: " + "; ".join(
        f"{title_of(h)}: {h.result.estimate:.3g} ({h.result.ci_low:.3g} to {h.result.ci_high:.3g}), {h.verdict}"
        for h in plotted)
    out.append(figure_html(fig, alt))
    out.append(_md("One panel per hypothesis, each on its own outcome's scale (named under it): the dot is the "
                   "estimate, the bar its interval, the dashed line no effect and the shaded band the smallest "
                   "effect size of interest (SESOI) either side of zero."))
    return out


def raw_means(report: ReportInputs) -> list[Any]:
    """Survey DiDs: mean outcome per arm and wave, the raw picture behind each estimate."""
    out: list[Any] = []
    raw = [(h, r.raw_means) for h, r in estimated(report) if r.raw_means is not None]
    if not raw:
        return out
    out.append(_md("## Raw means by arm and wave"))
    shown = [(h, r) for h, r in raw if not r.suppressed]
    hidden = [title_of(h) for h, r in raw if r.suppressed]

    if shown:
        plt = _pyplot()
        columns = 2 if len(shown) > 1 else 1
        rows_n = -(-len(shown) // columns)
        fig, axes = plt.subplots(rows_n, columns, figsize=(10, 2.6 * rows_n), squeeze=False)
        for ax, (h, means) in zip(axes.flat, shown):
            waves = means.waves or ["pre", "post"]
            for arm, color, marker in (("treated", "#b2182b", "o"), ("comparison", "#1f4e79", "s")):
                pre, post = means.cell(arm, "pre"), means.cell(arm, "post")
                ax.plot([0, 1], [m if is_number(m) else float("nan") for m in (pre.mean, post.mean)],
                        marker=marker, color=color, label=f"{arm} (n = {fmt_count(pre.n)} / {fmt_count(post.n)})")
            ax.set_xticks([0, 1], [str(w) for w in waves])
            ax.set_xlim(-0.3, 1.3)
            ax.set_xlabel("wave", fontsize=8)
            ax.set_ylabel(wrap(units_of(report, h), 34), fontsize=8)
            ax.set_title(wrap(title_of(h), 60), fontsize=9, loc="left")
            ax.legend(frameon=False, fontsize=7)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        for ax in list(axes.flat)[len(shown):]:
            ax.set_visible(False)
        fig.tight_layout()
        alt = "Raw means by arm and wave: " + "; ".join(
            f"{title_of(h)}: treated " + " to ".join(fmt(m.cell("treated", w).mean) for w in ("pre", "post"))
            + ", comparison " + " to ".join(fmt(m.cell("comparison", w).mean) for w in ("pre", "post"))
            for h, m in shown)
        out.append(figure_html(fig, alt))
        out.append(_md("Each line joins an arm's mean at the two waves (n: units at each wave). The DiD estimate "
                       "is the treated change minus the comparison change; with two waves the picture cannot test "
                       "parallel trends, it shows what the estimate is made of."))
        out += _outcome_items(report, [h for h, _ in shown])
    if hidden:
        out.append(_md("Hidden because a cell has fewer respondents than the suppression threshold: "
                       + ", ".join(md_text(t) for t in hidden) + "."))
    return out


def _outcome_columns(report: ReportInputs, h: HypothesisResult) -> list[str]:
    """The columns an outcome is built from, as its spec (recorded in the manifest) names them."""
    spec = report.run_specs.get(h.spec_id or h.id) or {}
    construction = ((spec.get("outcome") or {}).get("construction") or {}) if isinstance(spec, dict) else {}
    columns = construction.get("items") or construction.get("inputs") or (
        [construction["column"]] if construction.get("column") else [])
    return [str(c) for c in columns]


def _outcome_items(report: ReportInputs, hypotheses: Iterable[HypothesisResult]) -> list[Any]:
    """Each hypothesis' outcome items with their XLSForm labels; nothing when no form labels them."""
    lines = []
    for h in hypotheses:
        columns = _outcome_columns(report, h)
        if any(report.item_label(c) for c in columns):
            lines.append(f"- {md_text(title_of(h))}: " + "; ".join(report.column_md(c) for c in columns))
    return [_md("Items (labels from the survey's XLSForm):\n\n" + "\n".join(lines))] if lines else []


#: the posterior variables that can hold the verdict's quantity, first match wins ({target}: the result's target)
TARGET_DRAW_NAMES = ("{target}_effect", "top_change", "average_effect", "effect")
#: netCDF attributes that change a variable's stored values on decoding; such a variable is read through xarray
_CF_ENCODING_ATTRS = ("scale_factor", "add_offset", "_Unsigned", "units", "calendar")


def target_draws(report: ReportInputs, r: EstimateResult) -> Any:
    """The posterior draws of the quantity the verdict is about, from the run's InferenceData (NetCDF); None when
    the file or the variable is missing, or its mean does not match the recorded posterior mean.

    Reads the one variable it needs straight from the HDF5 file (h5py), not the whole posterior group through
    xarray: the report shows one density per hypothesis, and opening and decoding every posterior variable was
    most of the Bayesian section's time. Values are those xarray would decode (float draws, ``_FillValue`` as NaN);
    a variable stored with another netCDF encoding is read through xarray."""
    relative = (r.artifact_paths or ArtifactPaths()).inference_data
    path = report.run_dir / str(relative or "")
    if not relative or not path.is_file():
        return None
    import h5py
    import numpy as np

    names = [name.format(target=r.target) for name in TARGET_DRAW_NAMES]
    recorded = (r.posterior or PosteriorSummary()).mean
    try:
        with h5py.File(path, "r") as f:
            posterior = f.get("posterior")
            if not isinstance(posterior, h5py.Group):
                return None
            for name in names:
                variable = posterior.get(name)
                if not isinstance(variable, h5py.Dataset) or not set(_dimension_names(variable)) <= {"chain", "draw"}:
                    continue
                if variable.dtype.kind != "f" or any(a in variable.attrs for a in _CF_ENCODING_ATTRS):
                    draws = _decoded_draws(path, name)
                else:
                    draws = _masked(np.asarray(variable[()], dtype=float), variable.attrs.get("_FillValue"))
                if draws is None:
                    continue
                draws = draws.ravel()
                if is_number(recorded) and abs(draws.mean() - recorded) <= 1e-6 * max(1.0, abs(recorded)):
                    return draws
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None


def _dimension_names(variable: Any) -> list[str]:
    """A netCDF-4 variable's dimension names (its attached HDF5 dimension scales); '' for a dimension without one."""
    return [dim[0].name.rsplit("/", 1)[-1] if len(dim) else "" for dim in variable.dims]


def _masked(values: Any, fill: Any) -> Any:
    """``values`` with the variable's ``_FillValue`` as NaN, as xarray's CF decoding shows them."""
    import numpy as np

    if fill is None:
        return values
    fill_value = float(np.asarray(fill).ravel()[0])
    if not np.isnan(fill_value):
        values = np.where(values == fill_value, np.nan, values)
    return values


def _decoded_draws(path: Path, name: str) -> Any:
    """One posterior variable decoded by xarray (for netCDF encodings the direct read does not apply)."""
    import numpy as np
    import xarray as xr

    with xr.open_dataset(path, group="posterior") as posterior:
        return np.asarray(posterior[name].values, dtype=float)


def scott_kde(draws: Any, grid: Any) -> Any:
    """scipy's ``gaussian_kde(draws)(grid)`` for 1-D draws (Scott's bandwidth n^(-1/5) times the ddof-1 SD), in numpy:
    importing scipy.stats costs the report kernel about 2 s, more than every density plot together."""
    import numpy as np

    x = np.asarray(draws, dtype=float).ravel()
    at = np.asarray(grid, dtype=float)
    bandwidth = float(np.std(x, ddof=1)) * x.size ** (-1 / 5)
    density = np.zeros(at.shape)
    for start in range(0, x.size, 8192):  # bounded memory for long chains: grid x 8192 at a time
        z = (at[:, None] - x[None, start:start + 8192]) / bandwidth
        density += np.exp(-0.5 * z * z).sum(axis=1)
    return density / (x.size * bandwidth * math.sqrt(2 * math.pi))


def posterior_density(report: ReportInputs, h: HypothesisResult) -> Any:
    """Posterior density of the verdict's quantity, with its interval, zero and the SESOI in the registered
    direction; an <img> whose alt text states the probability the verdict uses."""
    import numpy as np

    r = h.result
    draws = target_draws(report, r)
    if draws is None or draws.size < 10 or not np.isfinite(draws).all() or draws.std() == 0:
        return None
    post = r.posterior or PosteriorSummary()
    plt = _pyplot()
    grid = np.linspace(draws.min(), draws.max(), 400)
    density = scott_kde(draws, grid)
    fig, ax = plt.subplots(figsize=(7.5, 2.4))
    ax.plot(grid, density, color="#1f4e79")
    low, high = post.ci_low, post.ci_high
    if is_number(low) and is_number(high):
        inside = (grid >= low) & (grid <= high)
        ax.fill_between(grid[inside], density[inside], color="#1f4e79", alpha=0.2,
                        label=f"{100 * (post.ci_level or 0.95):g}% {str(post.interval or 'hdi').upper()}")
    ax.axvline(0, color="#555555", linestyle="--", linewidth=1, label="no effect")
    sesoi = h.sesoi
    if is_number(sesoi) and sesoi > 0:
        bar = -sesoi if h.direction == "decrease" else sesoi
        ax.axvline(bar, color="#d08c00", linewidth=1.5, label=f"SESOI ({bar:+g})")
    ax.set_xlabel(f"posterior of the effect ({units_of(report, h)})")
    ax.set_ylabel("density")
    ax.set_yticks([])
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(frameon=False, fontsize=8)
    claim = posterior_claim(h) or ""
    return figure_html(fig, f"Posterior density for {title_of(h)}: mean {fmt(post.mean)}; {claim}")


def bayesian_analyses(report: ReportInputs) -> list[Any]:
    """Bayesian hypotheses: decision statements, diagnostics gate, predictive checks (from the run's artifacts)."""
    out: list[Any] = []
    bayesian = [h for h, r in estimated(report) if r.bayesian]
    if not bayesian:
        return out
    out.append(_md("## Bayesian analyses\n\nFor these hypotheses the estimate is the posterior mean, the interval "
                   "a 95% credible interval (HDI or ETI, as registered) and there is no p-value: the verdict "
                   "follows the registered posterior-probability rule, and a fit that fails the diagnostics "
                   "gate is marked *unreliable* whatever its numbers say."))
    rows = []
    for h in bayesian:
        d = h.result.diagnostics or Diagnostics()
        table_rows = d.table or ()
        rhat = max((r.max_rhat for r in table_rows if is_number(r.max_rhat)), default=None)
        bulk = min((r.min_ess_bulk for r in table_rows if is_number(r.min_ess_bulk)), default=None)
        tail = min((r.min_ess_tail for r in table_rows if is_number(r.min_ess_tail)), default=None)
        limits = d.thresholds or DiagnosticsThresholds()
        rows.append([h.id or MISSING, num(fmt(rhat)), num(fmt_count(bulk)), num(fmt_count(tail)),
                     num(fmt_count(d.divergences)),
                     f"R-hat ≤ {limits.max_rhat}, ESS ≥ {limits.min_ess_bulk}/"
                     f"{limits.min_ess_tail}, divergences ≤ {limits.max_divergences}",
                     "passed" if d.passed else "FAILED: " + "; ".join(d.failures or [])])
    out.append(_md("### Diagnostics gate"))
    out.append(table(["id", num("max R-hat"), num("min bulk ESS"), num("min tail ESS"), num("divergences"),
                      "registered thresholds", "gate"], rows))
    for h in bayesian:
        out += _bayesian_hypothesis(report, h)
    return out


def _bayesian_hypothesis(report: ReportInputs, h: HypothesisResult) -> list[Any]:
    out: list[Any] = []
    r = h.result
    post = r.posterior or PosteriorSummary()
    sesoi = h.sesoi
    out.append(_md(f"### {md_text(h.id)}: {md_text(h.title)}"))
    lines = [f"- **Target**: {md_text(r.target_description or r.target or MISSING)}",
             f"- Posterior mean {fmt(post.mean)}, median {fmt(post.median)}, SD "
             f"{fmt(post.sd)}; {100 * (post.ci_level or 0.95):g}% "
             f"{str(post.interval or 'hdi').upper()} {fmt_ci(post.ci_low, post.ci_high)}",
             f"- P(effect > 0) = {fmt(post.p_gt_0)}; P(effect < 0) = {fmt(post.p_lt_0)}"]
    if is_number(sesoi):
        up = f"P(effect > {sesoi:g}) = {fmt(post.p_gt_sesoi)}"
        down = f"P(effect < −{sesoi:g}) = {fmt(post.p_lt_minus_sesoi)}"
        # the probability the registered direction's verdict uses comes first, in bold
        first, second = (down, up) if h.direction == "decrease" else (up, down)
        lines.append(f"- **{first}** (the registered {md_text(h.direction)}); {second}; "
                     f"P(inside ROPE ±{sesoi:g}) = {fmt(post.p_in_rope)}; ROPE decision: "
                     f"{md_text(post.rope_decision or MISSING)}")
    lines.append(f"- **Verdict**: {md_text(h.verdict or MISSING)} — {md_text(h.verdict_reason or '')}")
    if r.statement:
        lines.append(f"- In words: {md_text(r.statement)}")
    if r.cumulative_effect is not None:
        c = r.cumulative_effect
        lines.append(f"- Cumulative effect {fmt(c.mean, 1)} ({md_text(c.units or '')}), "
                     f"95% interval {fmt_ci(c.ci_low, c.ci_high)}; P(cumulative effect > 0) = "
                     f"{fmt(r.p_cumulative_effect_gt_0)}, P(< 0) = {fmt(r.p_cumulative_effect_lt_0)}")
    prior_check = r.prior_predictive or PriorPredictiveCheck()
    if prior_check:
        scale = list(prior_check.scale) if prior_check.scale is not None else None
        lines.append(f"- Prior predictive check ({md_text(prior_check.quantity or '')}): "
                     f"{pct(prior_check.share_on_scale)} on the scale "
                     f"{md_text(plain(scale))} — "
                     f"{'passed' if prior_check.passed else 'FAILED'}")
    sampler = r.sampler or SamplerSettings()
    cache = sampler.draws_cache
    lines.append(f"- Sampler: {md_text(sampler.sampler or 'NUTS')}, {sampler.chains} chains × "
                 f"{sampler.draws} draws after {sampler.tune} warm-up, seed {sampler.seed}"
                 + (f" (draws {md_text(cache)} in the draws cache)" if cache else ""))
    out.append(_md("\n".join(lines)))
    density = posterior_density(report, h)
    if density is not None:
        out.append(density)
    groups = r.group_effects or r.unit_effects or {}
    if groups:
        header = ["group" if r.group_effects else "unit", num("posterior mean"), num("95% interval"),
                  num("P(effect > 0)"), num("P(effect < 0)")]
        if is_number(sesoi):
            header.append(num(f"P(effect > {sesoi:g})"))
        group_rows = []
        for name, g in groups.items():
            row = [name + (f" ({g.group})" if g.group else ""), num(fmt(g.mean)), num(fmt_ci(g.ci_low, g.ci_high)),
                   num(fmt(g.p_gt_0)), num(fmt(g.p_lt_0))]
            if is_number(sesoi):
                row.append(num(fmt(g.p_gt_sesoi)))
            group_rows.append(row)
        out.append(table(header, group_rows))
    categories = r.category_probability_change or {}
    if categories:
        out.append(table(["answer", num("change in share (points)"), num("95% interval (points)")],
                         [[k, num(f"{100 * v.mean:+.1f}"), num(f"[{100 * v.ci_low:+.1f}, {100 * v.ci_high:+.1f}]")]
                          for k, v in categories.items() if is_number(v.mean)]))
    sensitivity = r.prior_sensitivity or ()
    if sensitivity:
        out.append(_md("Prior sensitivity (every prior scale multiplied by the factor):"))
        out.append(table(["prior scale factor", num("posterior mean"), num("95% interval"), num("P(effect > 0)")]
                         + ([num(f"P(effect > {sesoi:g})")] if is_number(sesoi) else []),
                         [[f"× {s.prior_scale_factor}", num(fmt(s.mean)), num(fmt_ci(s.ci_low, s.ci_high)),
                           num(fmt(s.p_gt_0))] + ([num(fmt(s.p_gt_sesoi))] if is_number(sesoi) else [])
                          for s in sensitivity]))
    artifacts = r.artifact_paths or ArtifactPaths()
    for path, alt in ((artifacts.ppc_plot, "posterior predictive check"),
                      (artifacts.prior_predictive_plot, "prior predictive check")):
        image = embed_png(report, path, f"{alt} for {title_of(h)}", owner=title_of(h))
        if image is not None:
            out.append(_md(f"*{alt.capitalize()}*"))
            out.append(image)
    if artifacts.inference_data:
        out.append(_html(f"<p>InferenceData (NetCDF): <code>{html.escape(str(artifacts.inference_data))}</code></p>"))
    return out


def engagement(report: ReportInputs) -> list[Any]:
    """Engagement analyses: event studies and counterfactual paths (nothing re-estimated)."""
    out: list[Any] = []
    shown_hypotheses = [(h, r) for h, r in estimated(report)
                        if r.event_study or r.by_campaign and h.estimator == "its"]
    if shown_hypotheses:
        out.append(_md("## Engagement: event studies and counterfactuals"))
    for h, r in shown_hypotheses:
        hid = md_text(h.id)
        if r.event_study:
            out += _event_study(report, h, r)
        if h.estimator == "its":
            campaigns, its_record = r.by_campaign, r
        else:
            its = r.its_by_campaign
            campaigns, its_record = (its.campaigns if its else None), its
        if campaigns:
            out += _campaign_paths(report, h, hid, campaigns, its_record)
    return out


def _event_study(report: ReportInputs, h: HypothesisResult, r: EstimateResult) -> list[Any]:
    out: list[Any] = []
    study: EventStudy = r.event_study  # type: ignore[assignment]
    hid = md_text(h.id)
    period = study.period if study.period is not None else "period"
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3))
    event = list(study.event_time or ())
    if study.has_band:
        ax.fill_between(event, finite(study.band_low), finite(study.band_high), color="#9ecae1",
                        alpha=0.5, label="uniform band")
    ax.vlines(event, finite(study.ci_low), finite(study.ci_high), color="#1f4e79", linewidth=1)
    ax.plot(event, finite(study.estimate), "o", color="#1f4e79", markersize=3, label="estimate")
    ax.axhline(0, color="#555555", linestyle="--", linewidth=0.8)
    ax.axvline(-0.5, color="#999999", linewidth=0.8)
    ax.set_xlabel(f"{period}s since campaign start")
    ax.set_ylabel(wrap(f"effect ({units_of(report, h)})", 40), fontsize=8)
    ax.legend(frameon=False, loc="upper left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out.append(_md(f"**{hid}**: {md_text(r.model or '')}."))
    bands = "pointwise intervals and a uniform band" if study.has_band else "pointwise intervals (no uniform band)"
    out.append(figure_html(fig, f"Event study for {title_of(h)}: effects by {period} since the campaign start, "
                                f"with {bands}"))
    pretrend = r.pretrend_test or PretrendTest()
    twfe = r.twfe or TwfeComparison()
    notes = []
    if is_number(pretrend.sup_t_p_value):
        notes.append(f"joint pre-trend test (sup-t bootstrap) {format_p(pretrend.sup_t_p_value)}")
    if is_number(pretrend.wald_p_value):
        notes.append(f"Wald {format_p(pretrend.wald_p_value)}")
    if is_number(twfe.estimate):
        notes.append(f"TWFE beside it: {fmt(twfe.estimate)} {fmt_ci(twfe.ci_low, twfe.ci_high)}")
    if twfe.note:
        notes.append(md_text(twfe.note))
    if notes:
        out.append(_md("; ".join(notes) + "."))
    return out


def _campaign_paths(report: ReportInputs, h: HypothesisResult, hid: str, campaigns: Iterable[Any],
                    its_record: Any) -> list[Any]:
    out: list[Any] = []
    shown = [c for c in campaigns if c.path is not None]
    plt = _pyplot()
    cols = 3
    rows_n = max(1, math.ceil(len(shown) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(10, 2.1 * rows_n), squeeze=False)
    for ax, campaign in zip(axes.ravel(), shown):
        path = campaign.path
        x = list(range(len(path.dates or ())))
        start = int(path.start_index)
        ax.plot(x, finite(path.observed), color="#999999", linewidth=0.6)
        ax.plot(x, finite(path.counterfactual), color="#1f4e79", linewidth=1)
        band_low, band_high, band_cut = bounded_band(path)
        ax.fill_between(x[start:], band_low, band_high, color="#1f4e79", alpha=0.15)
        if band_cut:
            ax.text(0.99, 0.02, band_cut, transform=ax.transAxes, ha="right", va="bottom", fontsize=6)
        ax.axvline(start, color="#b2182b", linewidth=1)
        ax.set_title(f"{campaign.group}: {fmt(campaign.average_effect)} "
                     f"{fmt_ci(campaign.ci_low, campaign.ci_high)}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("days since window start", fontsize=7)
        ax.set_ylabel(wrap(units_of(report, h), 30), fontsize=7)
    for ax in axes.ravel()[len(shown):]:
        ax.set_visible(False)
    fig.tight_layout()
    label = "registered estimator" if h.estimator == "its" else "robustness check"
    period = getattr(its_record, "period", None) if its_record is not None else None
    unit = {"day": "days", "week": "weeks", "month": "months", "quarter": "quarters", "year": "years"}.get(
        period if period is not None else "day", "periods")
    out.append(_md(f"**{hid}**: observed (grey) vs counterfactual (blue, 95% band) per campaign, {unit} since "
                   f"the window start ({label}); titles give the average effect and its interval."))
    out.append(figure_html(fig, f"Observed versus counterfactual per campaign for {h.id}"))
    # Relative effects (a bound that cannot be computed is said in words) and the estimated variances.
    relative_rows = []
    for campaign in shown:
        rel, low, high = campaign.relative_effect, campaign.relative_ci_low, campaign.relative_ci_high
        text = f"{100 * rel:.1f}%" if is_number(rel) else "not computed"
        if is_number(rel):
            text += " [" + (f"{100 * low:.1f}%" if is_number(low) else "no lower bound") + ", " + \
                (f"{100 * high:.1f}%" if is_number(high) else "no upper bound") + "]"
        if campaign.relative_note:
            text += f" ({md_text(campaign.relative_note)})"
        variances = ", ".join(f"{md_text(k.removeprefix('sigma2.'))} {fmt(v)}"
                              for k, v in (campaign.variances or {}).items())
        relative_rows.append(f"| {md_text(campaign.group)} | {md_text(campaign.start)} | "
                             f"{campaign.n_pre} / {campaign.n_post} | {text} | {variances or 'n/a'} |")
    out.append(_md("| campaign | start | periods before / after | relative effect [95% CI] | estimated variances "
                   "|\n|---|---|---|---|---|\n" + "\n".join(relative_rows)))
    return out


def _has_twfe_parts(r: EstimateResult) -> bool:
    return bool((r.bacon is not None and r.bacon.available) or r.cohort_shares or r.iw_weights)


def twfe_diagnostics(report: ReportInputs) -> list[Any]:
    """TWFE estimators: the Goodman-Bacon (2021) decomposition of the static coefficient (its 2x2 comparisons and
    their weights), and Sun and Abraham's (2021) interaction-weighted event study (cohort shares, weights)."""
    out: list[Any] = []
    chosen = [(h, r) for h, r in estimated(report) if _has_twfe_parts(r)]
    if not chosen:
        return out
    out.append(_md("## TWFE diagnostics: Goodman-Bacon decomposition and Sun-Abraham\n\nWith staggered adoption "
                   "the static two-way fixed-effects coefficient is a weighted average of every 2×2 DiD between "
                   "timing groups (Goodman-Bacon 2021); comparisons that use already-treated units as controls "
                   "(later vs earlier) can pull it away from any average treatment effect. Sun and Abraham (2021) "
                   "estimate each cohort's effect at each event time against never-treated units and average them "
                   "with the cohorts' shares, which removes that contamination from the event study."))
    for h, r in chosen:
        out.append(_md(f"### {md_text(h.id)}: {md_text(h.title)}"))
        if r.bacon is not None and r.bacon.available:
            out += _bacon(r)
        if r.cohort_shares or r.iw_weights:
            out += _sun_abraham(report, h, r)
    return out


BACON_KINDS = {"treated_vs_never": "treated vs never treated", "earlier_vs_later": "earlier vs later treated",
               "later_vs_earlier": "later vs earlier treated (already-treated controls)"}


def _cohort_label(value: Any) -> str:
    return "never" if value is None else str(value)


def _bacon(r: EstimateResult) -> list[Any]:
    bacon = r.bacon
    out: list[Any] = []
    by_kind = bacon.by_kind or {}
    out.append(_md(f"**Goodman-Bacon decomposition** of the static TWFE coefficient {fmt(bacon.twfe)}: "
                   + "; ".join(f"{md_text(BACON_KINDS.get(kind, kind))} weight {fmt(k.weight)}, mean estimate "
                               f"{fmt(k.estimate)}" for kind, k in by_kind.items()) + "."))
    rows = [[BACON_KINDS.get(row.kind or "", row.kind or MISSING), _cohort_label(row.treated_cohort),
             _cohort_label(row.control_cohort), num(fmt(row.estimate)), num(fmt(row.weight)),
             num(fmt(None if row.weight is None or row.estimate is None else row.weight * row.estimate))]
            for row in bacon.table or ()]
    out.append(table(["comparison", "treated cohort", "control cohort", num("2×2 DiD"), num("weight"),
                      num("weight × DiD")], rows,
                     caption="Every 2×2 comparison; the weights sum to 1 and the weighted DiDs to the TWFE "
                             "coefficient"))
    if bacon.note:
        out.append(_md(f"*{md_text(bacon.note)}.*"))
    later = by_kind.get("later_vs_earlier")
    if later is not None and is_number(later.weight) and later.weight > 0:
        out.append(_md(f"**{100 * later.weight:.1f}%** of the TWFE weight comes from comparisons that use "
                       "already-treated units as controls; read the static coefficient with care and prefer the "
                       "event study or a heterogeneity-robust estimator."))
    return out


def _sun_abraham(report: ReportInputs, h: HypothesisResult, r: EstimateResult) -> list[Any]:
    out: list[Any] = []
    shares: tuple[CohortShare, ...] = r.cohort_shares or ()
    if shares:
        out.append(_md("**Sun-Abraham interaction-weighted event study**: each cohort × event-time effect is "
                       "estimated against never-treated units, then averaged with the cohorts' shares below."))
        out.append(table(["cohort", num("treated units"), num("share")],
                         [[_cohort_label(s.cohort), num(fmt_count(s.units)), num(fmt(s.share))] for s in shares],
                         caption="Cohort shares (the interaction weights at each event time)"))
    weights = r.iw_weights or ()
    effects = {(e.cohort, e.event_time): e.estimate for e in r.cohort_effects or ()}
    if weights:
        rows = [[_cohort_label(w.cohort), num(str(w.event_time)), num(fmt(w.weight)),
                 num(fmt(effects.get((w.cohort, w.event_time))))] for w in weights]
        out.append(details(f"Interaction weights and cohort effects ({len(rows)} cohort × event-time cells)",
                           table_html(["cohort", num("event time"), num("weight"), num("cohort effect")], rows,
                                      "Sun-Abraham cohort x event-time cells")))
    study = r.event_study
    if study is not None and study.event_time and h.estimator != "sun_abraham":
        # the sun_abraham estimator's own event study is drawn in the engagement section
        out += _event_study(report, h, r)
    return out


INFERENCE_LABELS = {"iid": "iid", "HC1": "HC1", "HC3": "HC3", "CR1": "CR1, t(G-1)", "CR2": "CR2, Satterthwaite df",
                    "wild_webb": "wild cluster bootstrap (Webb)",
                    "wild_rademacher": "wild cluster bootstrap (Rademacher)",
                    "randomization": "randomization inference",
                    "cluster_bootstrap_percentile": "cluster bootstrap, percentile"}


def synthetic(report: ReportInputs) -> list[Any]:
    """Few treated units (synthetic DiD / synthetic control): SDID, SC and DiD side by side, weights, the fit."""
    out: list[Any] = []
    chosen = [(h, r) for h, r in estimated(report) if r.trajectory and r.unit_weights is not None]
    if not chosen:
        return out
    out.append(_md("## Few treated units: synthetic control and synthetic DiD\n\nThe comparison units are "
                   "weighted so that their weighted average tracks the treated units before the start "
                   "(Arkhangelsky et al. 2021); the table shows the three estimators of the paper's Table 1 "
                   "with the registered standard error."))
    for h, r in chosen:
        out.append(_md(f"### {md_text(h.id)}: {md_text(h.title)}"))
        out.append(_md(f"- Treated: {md_text(', '.join(r.treated_units or []))} from "
                       f"{md_text(r.treatment_start)}; {r.n_comparison} comparison units, "
                       f"{r.n_pre_periods} pre- and {r.n_post_periods} post-periods\n"
                       f"- Inference: {md_text(r.inference_description or MISSING)}\n"
                       f"- Effective number of comparison units (1/sum of squared weights): "
                       f"{fmt(r.effective_controls, 1)}; pre-period RMSE {fmt(r.pre_period_rmse)}"))
        for warning in r.warnings or []:
            out.append(_md(f"**Warning:** {md_text(warning)}"))
        rows = [[c.estimator or name, num(fmt(c.estimate)), num(fmt(c.std_error)), num(fmt_ci(c.ci_low, c.ci_high))]
                for name, c in (r.comparison or {}).items()]
        if rows:
            out.append(table(["estimator", num("estimate"), num("SE"), num("95% CI")], rows))
        weights = [w for w in r.unit_weights or () if is_number(w.weight) and w.weight > 0][:10]
        out.append(table(["comparison unit", num("weight")], [[w.label, num(fmt(w.weight))] for w in weights]))
        image = embed_png(report, (r.artifact_paths or ArtifactPaths()).fit_plot,
                          f"synthetic control fit for {h.id}")
        if image is not None:
            out.append(image)
    return out


def exposure(report: ReportInputs) -> list[Any]:
    """Exposure-response and spillover (report/_exposure.py, which reads the typed parts), with the
    dose-response figure of each exposure-response hypothesis."""
    text = exposure_section(report.hypotheses)
    if not text:
        return []
    out: list[Any] = [_md(text)]
    for h in report.hypotheses:
        if h.result is None or h.result.exposure_response is None:
            continue
        fig = dose_response_figure(h)
        if fig is not None:
            out.append(figure_html(fig, f"Dose-response curve for {title_of(h)}: the effect at each exposure "
                                        "dose with its pointwise interval, and the treated units' doses"))
    return out


def inference(report: ReportInputs) -> list[Any]:
    """Survey effects: which inference decided each estimate, and why."""
    out: list[Any] = []
    survey_inference = [(h, r.inference) for h, r in estimated(report)
                        if r.inference is not None and r.inference.rule is not None]
    out.append(_md("## Inference: the registered rule and the few-cluster rule"))
    if not survey_inference:
        out.append(_md("No estimate in this run records an inference rule."))
        return out
    rows = []
    for h, record in survey_inference:
        rule = record.rule
        rows.append([h.id or MISSING, record.registered_se or MISSING, record.primary or MISSING,
                     "fired" if rule.fired else "did not fire", rule.reason or MISSING])
    out.append(table(["id", "registered SE", "primary inference", "few-cluster rule", "why"], rows))
    fired = [h.id for h, record in survey_inference if record.rule.fired]
    if fired:
        out.append(_md(
            f"**The few-cluster rule fired** for {', '.join(md_text(i) for i in fired)}: with fewer clusters than "
            "the registered threshold, cluster-robust (CR1) intervals are too short, so the primary p-value and "
            "interval come from the wild cluster bootstrap (Webb weights; null imposed; the interval inverts the "
            "test) or from CR2 with Satterthwaite degrees of freedom, as each spec registers. The CR1 numbers stay "
            "below for comparison."))
    rows = []
    for h, record in survey_inference:
        for name, alt in (record.alternatives or {}).items():
            primary = name == record.primary
            df = alt.df
            rows.append([h.id or MISSING, INFERENCE_LABELS.get(name, name) + (" (primary)" if primary else ""),
                         num(fmt(alt.std_error)), num(fmt(df, 1) if is_number(df) else MISSING),
                         num(fmt_ci(alt.ci_low, alt.ci_high)),
                         num(fmt_p(alt.p_value, None if alt.enumerated else alt.draws)),
                         alt.error or (f"{alt.draws:,} draws, seed {alt.seed}"
                                       + (", enumerated" if alt.enumerated else "")
                                       if is_number(alt.draws) else "")])
    out.append(_md("### The same estimate under each inference method"))
    out.append(table(["id", "method", num("SE"), num("df"), num("95% CI"), num("p-value"), "note"], rows))
    return out


def survey_weights(report: ReportInputs) -> list[Any]:
    """Survey weights as applied (report/_weights.py, from results.json): effective n, spread, margin table."""
    text = survey_weights_section(report.run_dir / RESULTS_FILE)
    return [_html(text)] if text else []


def multiple_testing(report: ReportInputs) -> list[Any]:
    """Multiple testing across each registered family: raw and adjusted p-values side by side."""
    out: list[Any] = []
    families = [f for f in report.run.multiple_testing if isinstance(f, Mapping)]
    out.append(_md("## Multiple testing"))
    if not families:
        out.append(_md("This run records no multiple-testing families."))
        return out
    rows = []
    for family in families:
        for entry in family.get("hypotheses") or []:
            rows.append([family.get("family") or MISSING, family.get("side") or MISSING, entry.get("id") or MISSING,
                         num(fmt_p(entry.get("p_value"))), num(fmt_p(entry.get("holm"))), num(fmt_p(entry.get("bh"))),
                         num(fmt_p(entry.get("romano_wolf"))), family.get("registered_adjustment") or MISSING])
    if rows:
        out.append(table(["family", "confirmatory / exploratory", "id", num("raw p"), num("Holm"),
                          num("Benjamini-Hochberg"), num("Romano-Wolf"), "registered adjustment"], rows))
    notes = [f"- {md_text(note)}" for f in families for note in (f.get("romano_wolf") or {}).get("notes") or []]
    left = [f"- {md_text(x.get('id'))}: {md_text(x.get('reason'))}" for f in families for x in f.get("left_out") or []]
    out.append(_md(
        "Holm and Romano-Wolf control the family-wise error rate, Benjamini-Hochberg the false discovery rate. "
        "Romano-Wolf uses the joint wild-bootstrap distribution of the family's test statistics (hypotheses on the "
        "same clusters share their bootstrap weights), so it is less conservative than Holm when tests are "
        "correlated. Exploratory results are never adjusted together with confirmatory ones."
        + ("\n\n" + "\n".join(notes) if notes else "") + ("\n\nNot adjusted (no p-value):\n\n" + "\n".join(left)
                                                          if left else "")))
    return out


def reliability(report: ReportInputs) -> list[Any]:
    """Reliability of the registered indices, per wave: Cronbach's alpha and McDonald's omega with CIs."""
    out: list[Any] = [_md("## Index reliability")]
    rows, warnings_shown, with_items = [], [], []
    for h in report.hypotheses:
        if h.result is not None and h.result.reliability:
            with_items.append(h)
        for record in (h.result.reliability if h.result is not None else None) or ():
            alpha_ci, omega_ci = record.alpha_ci or [None, None], record.omega_ci or [None, None]
            below = record.below_threshold or []
            rows.append([h.id or MISSING, record.wave or MISSING, num(fmt_count(record.n)),
                         num(fmt_count(record.n_items)), num(fmt(record.alpha)), num(fmt_ci(*alpha_ci)),
                         num(fmt(record.omega)), num(fmt_ci(*omega_ci)),
                         ("below " + fmt(record.threshold, 2) + ": " + ", ".join(below)) if below else "ok"])
            if below:
                warnings_shown.append(f"- **Warning: {md_text(h.id)}** at {md_text(record.wave)}: "
                                      f"{' and '.join(below)} below the registered threshold {record.threshold}; "
                                      "the index measures its construct with more error than registered.")
    if rows:
        out.append(table(["id", "wave", num("n (complete)"), num("items"), num("alpha"), num("95% CI"),
                          num("omega"), num("95% CI"), "threshold"], rows))
        out.append(_md("Alpha: Cronbach, Feldt F interval. Omega: one-factor maximum likelihood, percentile "
                       "bootstrap over respondents. Both on the items as the index combines them, complete answers "
                       "only." + ("\n\n" + "\n".join(warnings_shown) if warnings_shown else "")))
        out += _outcome_items(report, with_items)
    else:
        out.append(_md("No index in this run records reliability."))
    return out


def invariance(report: ReportInputs) -> list[Any]:
    """Measurement invariance of each index across arms and waves (report/_invariance.py)."""
    return [_html(invariance_section(report.run, item_label=report.column_text))]


def attrition(report: ReportInputs) -> list[Any]:
    """Differential attrition, stayers vs leavers by arm, and Lee bounds. Small cells arrive suppressed in the
    results; this section shows what it finds, never a hidden number."""
    out: list[Any] = [_md("## Attrition")]
    found = False
    for h in report.hypotheses:
        record = h.result.attrition if h.result is not None else None
        if record is None:
            continue
        found = True
        out.append(_md(f"### {md_text(title_of(h))}"))
        if record.error:
            out.append(_md(f"Attrition could not be analysed: {md_text(record.error)}"))
            continue
        out += _attrition_record(record)
    if not found:
        out.append(_md("No hypothesis in this run records an attrition analysis (it needs a baseline/endline "
                       "panel)."))
    return out


def _attrition_record(record: Attrition) -> list[Any]:
    out: list[Any] = []

    def shown(value: Any, text: str | None, display: str | None) -> str:
        return text if value is not None else (display if display is not None else MISSING)  # type: ignore[return-value]

    rows = [[arm, num(shown(a.baseline_n, fmt_count(a.baseline_n), a.display)),
             num(shown(a.stayers, fmt_count(a.stayers), a.display)),
             num(shown(a.leavers, fmt_count(a.leavers), a.display)),
             num(f"{100 * a.rate:.1f}%" if is_number(a.rate) else (a.display if a.display is not None else MISSING))]
            for arm, a in (record.by_arm or {}).items()]
    if rows:
        out.append(table(["arm", num("at baseline"), num("stayers"), num("leavers"), num("attrition rate")], rows))
    test = record.differential_test or AttritionTest()
    if test:
        text = (f"**Differential attrition** ({md_text(test.what or 'treated minus comparison')}): "
                + (f"{fmt(test.estimate)} {fmt_ci(test.ci_low, test.ci_high)}, "
                   if is_number(test.estimate) else md_text(test.display or "") + "; ")
                + f"{format_p(test.p_value)} ({md_text(test.inference or '?')}).")
        out.append(_md(text))
    balance = record.balance or ()
    if balance:
        names = list(dict.fromkeys(name for row in balance for name in (row.cells or {})))
        rows = []
        for row in balance:
            cells = row.cells or {}
            values = []
            for name in names:
                c = cells.get(name) or BalanceCell()
                values.append(num(c.display if c.display else f"{fmt(c.mean)} (n = {fmt_count(c.n)})"))
            rows.append([row.variable or MISSING, *values, num(fmt_p(row.selective_attrition_p_value))])
        out.append(_md("**Baseline balance of stayers and leavers, by arm** (mean, n; the p-value tests whether "
                       "attrition selects differently in the two arms)"))
        out.append(table(["variable", *[num(n) for n in names], num("p (arm x leaver)")], rows))
    bounds = record.lee_bounds or LeeBounds()
    if is_number(bounds.lower):
        out.append(_md(
            f"**Lee bounds** on the {md_text(bounds.outcome or 'outcome')}: [{fmt(bounds.lower)}, "
            f"{fmt(bounds.upper)}], {100 * (bounds.ci_level or 0.95):g}% CI "
            f"{fmt_ci(bounds.ci_low, bounds.ci_high)} ({md_text(bounds.interval or '')}); "
            f"the {md_text(bounds.trimmed_arm or '?')} arm is trimmed"
            + (f" by {100 * bounds.trim_share:.1f}% of its stayers." if is_number(bounds.trim_share) else ".")
            + " The point estimate above assumes attrition unrelated to potential outcomes; the bounds do not."))
    elif bounds.note:
        out.append(_md(f"**Lee bounds**: {md_text(bounds.note)}"))
    return out


def disaggregation(report: ReportInputs) -> list[Any]:
    """Effects by registered subgroup columns. Small cells are suppressed in the results (primary and
    secondary), so nothing here can show or recompute them."""
    out: list[Any] = [_md("## Disaggregation")]
    found = False
    for h in report.hypotheses:
        for tab in (h.result.disaggregation if h.result is not None else None) or ():
            found = True
            entries = [e for e in (*(tab.rows or ()), tab.total) if e]
            rows = []
            for entry in entries:
                level = entry.level or MISSING
                if entry.level is not None and (text := report.level_label(tab.dimension, entry.level)):
                    level = f"{text} ({entry.level})"
                if entry.status == "suppressed":
                    rows.append([level, cell(entry.display or "suppressed", colspan=4)])
                elif entry.status == "not estimable":
                    rows.append([level, num(fmt_count(entry.n)),
                                 cell("not estimable: " + str(entry.reason or ""), colspan=3)])
                else:
                    rows.append([level, num(fmt_count(entry.n)), num(fmt(entry.estimate)),
                                 num(fmt_ci(entry.ci_low, entry.ci_high)), num(fmt_p(entry.p_value))])
            header = [report.column_text(tab.dimension), num("n"), num("estimate"), num("95% CI"), num("p-value")]
            caption = f"{title_of(h)} by {report.column_text(tab.dimension)}"
            estimable = [e for e in entries if e.status not in ("not estimable", "suppressed")
                         and is_number(e.estimate)]
            if not estimable:
                out.append(details(f"{caption}: no cell estimable (details)", table_html(header, rows, caption)))
                continue
            out.append(_md(f"### {md_text(caption)}"))
            out.append(table(header, rows, caption=caption))
            out.append(_md(f"n counts {md_text(tab.unit or 'units')}. Cells with fewer than "
                           f"{tab.threshold} are suppressed, and so are further cells where needed so that no "
                           "suppressed value can be recovered from the total."))
    if not found:
        out.append(_md("No hypothesis in this run registers a disaggregation."))
    return out


def data_contracts(report: ReportInputs) -> list[Any]:
    out: list[Any] = [_md("## Data contracts")]
    contracts = [c for c in report.run.contracts if isinstance(c, Mapping)]
    if not contracts:
        out.append(_md("No data contract results were recorded for this run."))
        return out
    failed = [c for c in contracts if not c.get("passed")]
    out.append(_md(f"{len(contracts) - len(failed)} of {len(contracts)} sources passed their contract."))
    rows = []
    for contract in contracts:
        evaluated, total = contract.get("n_evaluated"), contract.get("n_expectations")
        rows.append([contract.get("source") or MISSING, contract.get("suite") or MISSING,
                     "passed" if contract.get("passed") else "FAILED",
                     num(f"{fmt_count(evaluated)} / {fmt_count(total)}"),
                     num(fmt_count(len(contract.get("failures") or [])))])
    out.append(table(["source", "suite", "result", num("expectations evaluated / total"), num("failures")], rows))

    failure_rows = []
    for contract in contracts:
        if contract.get("error"):  # the suite itself could not be run: the source failed closed
            failure_rows.append([contract.get("source") or MISSING, "(suite could not be run)", MISSING,
                                 num(MISSING), num(MISSING), MISSING, str(contract["error"])])
        for failure in contract.get("failures") or []:
            if not isinstance(failure, dict):
                failure = {"expectation": failure}
            examples = failure.get("example_rows") or []
            if not isinstance(examples, (list, tuple)):
                examples = [examples]
            shown = ", ".join(json.dumps(e, ensure_ascii=False) if isinstance(e, (dict, list)) else str(e)
                              for e in examples[:5])
            if len(examples) > 5:
                shown += f", … ({len(examples) - 5} more)"
            percent = pick(failure, "unexpected_percent", "percent")
            column = failure.get("column")
            if isinstance(column, (list, tuple)):  # multi-column expectations
                column = ", ".join(map(report.column_text, column))
            elif column:
                column = report.column_text(column)
            count = pick(failure, "unexpected_count", "count")
            # Example values are never shown: the report is shared more widely than the data.
            note = failure.get("message") if count is None and failure.get("message") else MISSING
            failure_rows.append([contract.get("source") or MISSING,
                                 failure.get("expectation") or MISSING,
                                 column or MISSING,
                                 num(fmt_count(count)),
                                 num(f"{fmt(percent, 2)}%" if is_number(percent) else MISSING),
                                 shown or MISSING, note])
    if failure_rows:
        out.append(_md("### Failed expectations"))
        out.append(table(["source", "expectation", "column", num("failing rows"), num("percent"), "example rows",
                          "note"], failure_rows))
    return out


EXCLUSION_PREFIXES = ("rows_excluded", "rows_outside", "rows_missing", "rows_with", "units_not")


def testability(report: ReportInputs) -> list[Any]:
    """The registered requirements each hypothesis' data had to meet before estimation, and the rows each
    registered rule excluded. `oca validate --out DIR` shows the same checks in validation.json/.html."""
    out: list[Any] = []
    hypotheses = report.hypotheses
    checked = [h for h in hypotheses if isinstance(h.testability, Mapping)]
    out.append(_md("## Testability"))
    if not checked:
        out.append(_md("No testability checks were recorded for this run."))
    else:
        failing = [h for h in checked if not h.testability.get("testable")]  # type: ignore[union-attr]
        out.append(_md(f"{len(checked) - len(failing)} of {len(checked)} checked hypotheses met every registered "
                       "requirement; the others are reported as not testable, with every reason."))
        rows = [[title_of(h), check.get("rule") or MISSING, "met" if check.get("passed") else "NOT MET",
                 check.get("message") or MISSING]
                for h in checked for check in h.testability.get("checks") or []  # type: ignore[union-attr]
                if isinstance(check, dict)]
        if rows:
            header = ["hypothesis", "requirement", "result", "detail"]
            not_met = [r for r in rows if r[2] != "met"]
            if not_met:
                out.append(table(header, not_met, caption="Requirements not met"))
            out.append(details(f"All {len(rows)} requirement checks, one row each ({len(rows) - len(not_met)} met)",
                               table_html(header, rows, "Every registered requirement check")))
    count_rows = []
    for h in hypotheses:
        excluded = {k: v for k, v in counts_of(h).items() if is_number(v) and v and (
            k.startswith(EXCLUSION_PREFIXES) or k.endswith("too_few_items"))}
        if excluded:
            count_rows.append([h.id or MISSING,
                               "; ".join(f"{k.replace('_', ' ')}: {fmt_count(v)}" for k, v in excluded.items())])
    if count_rows:
        out.append(_md("### Rows excluded by registered rules"))
        out.append(table(["hypothesis", "rows or units excluded"], count_rows))
    return out


def data_provenance(report: ReportInputs) -> list[Any]:
    out: list[Any] = [_md("## Data provenance")]
    rows = []
    for name, source in report.run.data.items():
        source = source if isinstance(source, Mapping) else {}
        rows.append([name, source.get("file") or MISSING, num(fmt_count(source.get("n_rows"))),
                     num(fmt_count(source.get("n_columns"))), source.get("sha256") or MISSING])
    if rows:
        out.append(table(["source", "file", num("rows"), num("columns"), "sha256"], rows))
        out.append(_md("The sha256 fingerprint identifies the exact file each result was computed from."))
    else:
        out.append(_md("No data provenance was recorded for this run."))
    return out


def records_table(records: Iterable[Any]) -> Any:
    """A table of a list of dicts (the union of their keys as columns); nested values are shown as JSON."""
    records = [r for r in records if isinstance(r, dict)]
    keys = list(dict.fromkeys(k for r in records for k in r))

    def show_value(value: Any) -> str:
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        return MISSING if value in (None, "") else plain(value)

    return table(keys, [[show_value(r.get(k)) for k in keys] for r in records])


def preregistration(report: ReportInputs) -> list[Any]:
    """Lock status, deviations and the fingerprints of the study files, from manifest.json."""
    out: list[Any] = [_md("## Preregistration: locks and deviations")]
    manifest = report.manifest
    prereg = report.payload.get("preregistration") if isinstance(report.payload.get("preregistration"), dict) \
        else None
    prereg = prereg or (manifest.get("preregistration") if isinstance(manifest.get("preregistration"), dict) else {})
    lock = prereg.get("lock")
    deviations = prereg.get("deviations") or []
    if not prereg or (prereg.get("available") is False and not lock and not deviations):
        out.append(_md("This run records no registry lock, so the report cannot say whether the specs match a "
                       "registered version. Lock the specs before outcome data are seen."))
    else:
        if isinstance(lock, dict):
            specs_state = lock.get("specs") if isinstance(lock.get("specs"), (list, dict)) else None
            summary = {k: v for k, v in lock.items() if k != "specs" and not isinstance(v, (dict, list))}
            if summary:
                intact = summary.get("intact")
                words_ = [f"The registry lock {md_text(summary.get('file') or '')} holds "
                          f"{summary.get('entries', '?')} entries" + (
                              " and its hash chain is intact." if intact else
                              "; its hash chain does NOT verify." if intact is False else ".")]
                problems = lock.get("problems")
                words_.append(f"Problems: {md_text(plain(problems))}." if problems else "No problems were found.")
                if summary.get("head"):
                    words_.append(f"Head entry hash {md_text(str(summary['head'])[:16])}….")
                out.append(_md(" ".join(words_)))
            if isinstance(specs_state, dict):
                specs_state = [{"spec": k, **(v if isinstance(v, dict) else {"status": v})}
                               for k, v in specs_state.items()]
            if specs_state:
                out.append(records_table(specs_state))
        elif isinstance(lock, list):
            out.append(records_table(lock))
        elif lock:
            out.append(_md(f"Lock: {md_text(lock)}"))
        if deviations:
            out.append(_md(f"### Declared deviations ({len(deviations)})"))
            out.append(records_table(deviations if isinstance(deviations, list) else [deviations]))
        else:
            out.append(_md("No deviations from the registered specs were declared."))

    study_files = manifest.get("study") if isinstance(manifest.get("study"), dict) else {}
    rows = []
    for group, label in (("specs", "spec"), ("contracts", "contract suite")):
        for name, record in (study_files.get(group) or {}).items():
            if isinstance(record, dict):
                rows.append([label, record.get("file") or name, (record.get("sha256") or MISSING)[:16]])
    for name, digest in (study_files.get("analysis") or {}).items():
        rows.append(["analysis code", name, str(digest)[:16]])
    if rows:
        out.append(_md("### Study files this run was computed from"))
        out.append(table(["kind", "file", "sha256 (first 16)"], rows))
    seeds = manifest.get("seeds") or {}
    if seeds:
        out.append(_md("Seeds: " + ", ".join(f"{md_text(k)} = {md_text(v)}" for k, v in seeds.items()) + "."))
    if manifest:
        env = manifest.get("environment") or {}
        out.append(_md(f"`manifest.json` next to this report records every input's SHA-256, the seeds, Python "
                       f"{md_text(env.get('python') or '?')} and the version of each of "
                       f"{len(env.get('packages') or {})} installed packages. `oca report verify` rebuilds the run "
                       "from it and compares every number."))
    return out


def words(values: Any, name: Callable[[Any], str] = md_text) -> str:
    shown = [name(v) for v in values or []]
    return ", ".join(shown) if shown else MISSING


def flat(value: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """Leaves of a nested spec section as (dotted key, value), skipping empty ones."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flat(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and not any(isinstance(v, (dict, list)) for v in value):
        yield prefix, ", ".join(map(str, value))
    elif value not in (None, [], {}, ""):
        yield prefix, plain(value)


def fmt_scale(value: Any) -> str:
    return f"{value:g}" if is_number(value) else md_text(value)


def construction_text(construction: Mapping[str, Any], name: Callable[[Any], str] = md_text) -> str:
    method = construction.get("method")
    if method == "mean":
        text = f"the mean of {words(construction.get('items'), name)}"
        if construction.get("reverse"):
            text += f", with {words(construction.get('reverse'), name)} reverse-coded"
        scale = construction.get("scale")
        if isinstance(scale, list) and len(scale) == 2:
            text += f", on the scale {fmt_scale(scale[0])} to {fmt_scale(scale[1])}"
        if construction.get("min_items"):
            text += f"; respondents need at least {md_text(construction['min_items'])} answered items"
        return text
    if method in ("zscore", "icw"):
        kind = ("a Kling-Liebman-Katz index (mean of item z-scores)" if method == "zscore" else
                "an Anderson (2008) inverse-covariance-weighted index of item z-scores")
        text = (f"{kind} of {words(construction.get('items'), name)}, standardized against the comparison arm at "
                "baseline (SD units)")
        if construction.get("reverse"):
            text += f", with {words(construction.get('reverse'), name)} reverse-coded"
        if construction.get("min_items"):
            text += f"; respondents need at least {md_text(construction['min_items'])} answered items"
        return text
    if method == "column":
        return f"the column {name(construction.get('column'))}"
    if method == "function":
        return (f"computed by {md_text(construction.get('function'))} from "
                f"{words(construction.get('inputs'), name)}")
    return "; ".join(f"{md_text(k)}: {md_text(v)}" for k, v in flat(construction)) or MISSING


KNOWN_SPEC_FIELDS = {"id", "title", "hypothesis", "type", "direction", "outcome", "design", "estimator",
                     "covariates", "inference"}


def methods(report: ReportInputs) -> list[Any]:
    """A methods section generated from the specs the run used (their content is recorded in manifest.json)."""
    specs = report.run_specs
    out: list[Any] = [_md("## Methods (generated from the preregistered specs)")]
    if not specs:
        out.append(_md("The specs are not recorded with this run (no manifest.json), so no methods are shown."))
    # The type the registry lock allows (results.json), not only what the YAML claims.
    effective_types = {h.spec_id or h.id: h.type for h in report.hypotheses if h.variant != "amended"}
    for hid, spec in specs.items():
        if not isinstance(spec, dict):
            continue
        out += _spec_methods(hid, spec, effective_types, report.column_md)
    return out


def _spec_methods(hid: str, spec: Mapping[str, Any], effective_types: Mapping[str, Any],
                  name: Callable[[Any], str] = md_text) -> list[Any]:
    out: list[Any] = []
    kind = effective_types.get(hid) or spec.get("type") or "?"
    if spec.get("type") and kind != spec.get("type"):
        kind = f"{kind} (the spec says {spec.get('type')}; the registry lock decides)"
    outcome = spec.get("outcome") or {}
    design = spec.get("design") or {}
    estimator = spec.get("estimator") or {}
    inference_spec = spec.get("inference") or {}
    lines = [f"### {md_text(hid)}: {md_text(spec.get('title') or '')}",
             f"*{md_text(kind)}, registered direction: {md_text(spec.get('direction') or '?')}.* "
             f"{md_text(' '.join(str(spec.get('hypothesis') or '').split()))}",
             f"- **Outcome** {md_text(outcome.get('name') or MISSING)} from source "
             f"{md_text(outcome.get('source') or MISSING)}: {construction_text(outcome.get('construction') or {}, name)}."]
    waves = (f" observed at {md_text(design['pre'])} (before) and {md_text(design['post'])} (after) in "
             f"{md_text(design.get('time'))}" if design.get("pre") and design.get("post") else
             f" over {md_text(design.get('time'))}" if design.get("time") else "")
    design_text = f"- **Design** units {md_text(design.get('unit') or MISSING)}{waves}; treatment " \
                  f"{md_text(design.get('treatment') or MISSING)}"
    if design.get("adoption"):
        design_text += f" starting at {md_text(design['adoption'])}"
    if design.get("cluster"):
        design_text += f"; clusters {md_text(design['cluster'])}"
    if design.get("group"):
        design_text += f"; implementing groups {md_text(design['group'])}"
    if design.get("subset"):
        design_text += "; only rows with " + "; ".join(f"{md_text(k)} in {words(v)}"
                                                      for k, v in design["subset"].items())
    lines.append(design_text + ".")
    options = "; ".join(f"{md_text(k)}: {md_text(v)}" for k, v in flat(estimator.get("options") or {}))
    lines.append(f"- **Estimator** {md_text(estimator.get('name') or MISSING)}"
                 + (f" ({options})" if options else "")
                 + (f", adjusting for {words(spec.get('covariates'), name)}" if spec.get("covariates") else "") + ".")
    if inference_spec:
        tails = {"one": "one-sided", "two": "two-sided"}.get(inference_spec.get("tails"), inference_spec.get("tails"))
        parts = [f"alpha {md_text(inference_spec.get('alpha'))} {md_text(tails or '')}".strip()]
        if inference_spec.get("se"):
            parts.append(f"{md_text(inference_spec['se'])} standard errors")
        if inference_spec.get("ci_level"):
            parts.append(f"{100 * inference_spec['ci_level']:g}% intervals")
        parts.append(f"smallest effect size of interest {md_text(inference_spec['sesoi'])}"
                     if inference_spec.get("sesoi") is not None else "no smallest effect size of interest")
        if inference_spec.get("family"):
            parts.append(f"multiple-testing family {md_text(inference_spec['family'])}")
        parts += [f"{md_text(k)}: {md_text(v)}" for k, v in flat({k: v for k, v in inference_spec.items() if k not in
                  {"alpha", "tails", "se", "ci_level", "sesoi", "family"}})]
        lines.append("- **Inference** " + "; ".join(parts) + ".")
    other = list(flat({k: v for k, v in spec.items() if k not in KNOWN_SPEC_FIELDS}))
    out.append(_md("\n".join(lines)))
    if other:
        out.append(details(f"Also registered for {hid} ({len(other)} fields)", "<ul>" + "".join(
            f"<li><strong>{html.escape(k.replace('_', ' '))}</strong>: {html.escape(str(v))}</li>" for k, v in other)
            + "</ul>"))
    return out


#: Section name -> its renderer, in report order (the notebook has one cell per name).
SECTIONS: Mapping[str, Callable[[ReportInputs], list[Any]]] = {
    "title_and_contents": title_and_contents,
    "hypotheses": hypotheses_table,
    "registered_and_amended": registered_and_amended,
    "estimates_at_a_glance": estimates_at_a_glance,
    "raw_means": raw_means,
    "bayesian": bayesian_analyses,
    "engagement": engagement,
    "twfe_diagnostics": twfe_diagnostics,
    "synthetic": synthetic,
    "exposure": exposure,
    "inference": inference,
    "survey_weights": survey_weights,
    "multiple_testing": multiple_testing,
    "reliability": reliability,
    "invariance": invariance,
    "attrition": attrition,
    "disaggregation": disaggregation,
    "data_contracts": data_contracts,
    "testability": testability,
    "data_provenance": data_provenance,
    "preregistration": preregistration,
    "methods": methods,
}
