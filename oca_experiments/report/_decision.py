"""The decision page: one printable page a manager or trainer reads in two minutes, at the top of the report and on
its own as ``report/decision.html``.

Per confirmatory hypothesis one row: the question in plain words, the registered verdict, the effect in the
outcome's own units with its interval (the trainer summaries' wording, so both say the same thing), a small
interval plot on that hypothesis' own scale (inline SVG: sharp at any zoom and in print, with a title that states
the finding), the inference behind the numbers, and what the answer means for the programme. Then what could not be
tested and why, exploratory results in one line each, and data-quality flags. Reads only the run folder.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oca_experiments._display import posterior_claim
from oca_experiments._format import format_p, inference_label, inference_method
from oca_experiments.report._trainer_pages import run_summary
from oca_experiments.results import EstimateResult, RunResult

__all__ = ["DecisionRow", "decision_page", "decision_rows", "decision_section", "write_decision_page"]

DECISION_HTML = "decision.html"

_MEANING = {
    "supported": "The campaign achieved this aim in this study: evidence to keep and scale this part of the "
                 "programme.",
    "not supported": "The campaign did not move this outcome by the amount the team decided would matter: "
                     "rethink this part before scaling it.",
    "inconclusive": "No decision either way from these data: a larger or longer study is needed before acting "
                    "on this outcome.",
}
_UNRELIABLE_MEANING = "Do not use this result yet: the model did not pass its registered diagnostics."
_BADGE_CLASS = {"supported": "yes", "not supported": "no", "inconclusive": "unclear"}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- accessors: the estimate's typed parts (a results.json record read through RunResult.from_dict) --------------

def _estimates(results: Mapping[str, Any]) -> list[EstimateResult | None]:
    """The typed estimate of each hypothesis record, in order (None when it was not estimated)."""
    return [h.result for h in RunResult.from_dict(results).hypotheses]


def _inference(h: Mapping[str, Any], result: EstimateResult | None) -> str:
    if result is not None and result.bayesian:
        level = h.get("ci_level")
        interval = result.posterior.interval if result.posterior is not None else None
        shown = f"{100 * level:g}% " if _is_number(level) else ""
        return f"posterior ({shown}{'highest-density' if interval == 'hdi' else 'credible'} interval)"
    inference = (result.inference or result.inference_description) if result is not None else None
    return inference_label(h.get("se_type"), inference)


def _draws(result: EstimateResult | None) -> tuple[int | None, bool]:
    """(resampling draws behind the p-value, enumerated?) for the p-value's format."""
    record = result.inference if result is not None else None
    primary = (record.alternatives or {}).get(record.primary or "") if record is not None else None
    if primary is not None and _is_number(primary.draws):
        return int(primary.draws), bool(primary.enumerated)  # type: ignore[arg-type]
    return None, False


# --- rows --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DecisionRow:
    hypothesis_id: str
    title: str
    question: str
    verdict: str
    effect: str  # the plain-language effect sentence(s), as in the trainer summary
    interval: str  # the interval in plain words, with its unit
    technical: str  # estimate [interval], p-value or posterior probability, inference
    meaning: str
    plot_svg: str


def _verdict_of(h: Mapping[str, Any]) -> str:
    return str(h.get("verdict") or h.get("status") or "unknown")


def _meaning(verdict: str, h: Mapping[str, Any]) -> str:
    if verdict.startswith("unreliable"):
        return _UNRELIABLE_MEANING
    if verdict == "supported" and h.get("estimator") == "knowledge_gain":  # before/after, no comparison group
        return ("The outcome improved as hoped, but there was no comparison group: part of the change may have "
                "other causes, so credit the programme with caution.")
    return _MEANING.get(verdict.replace("_", " "), "")


def _technical(h: Mapping[str, Any], result: EstimateResult | None) -> str:
    estimate, low, high = h.get("estimate"), h.get("ci_low"), h.get("ci_high")
    if not _is_number(estimate):
        return ""
    level = h.get("ci_level")
    shown_level = f"{100 * level:g}% " if _is_number(level) else ""
    parts = [f"estimate {estimate:.3g}"]
    if _is_number(low) and _is_number(high):
        parts[0] += f", {shown_level}interval {low:.3g} to {high:.3g}"
    claim = posterior_claim(h)
    if claim:
        parts.append(claim)
    elif _is_number(h.get("p_value")):
        draws, enumerated = _draws(result)
        parts.append(format_p(h["p_value"], draws=draws, enumerated=enumerated))
    parts.append(_inference(h, result))
    return "; ".join(parts)


#: Plot text size in px. The picture is drawn at its own width and never shrunk (``min-width`` in the page's CSS),
#: so this is the size on screen at 100% zoom: legible (>= 11 px), not the ~7 px a 260-wide viewBox squeezed into a
#: ~190 px table column gave.
PLOT_FONT_PX = 12
PLOT_WIDTH = 240


def interval_svg(h: Mapping[str, Any], *, width: int = PLOT_WIDTH, height: int = 58, factor: float = 1.0,
                 unit: str = "") -> str:
    """A small interval plot on this hypothesis' own scale: zero, the SESOI band, the interval and the estimate."""
    estimate, low, high, sesoi = h.get("estimate"), h.get("ci_low"), h.get("ci_high"), h.get("sesoi")
    if not all(_is_number(v) for v in (estimate, low, high)):
        return ""
    values = [v * factor for v in (estimate, low, high)]
    band = abs(sesoi) * factor if _is_number(sesoi) and sesoi > 0 else None
    lo = min(values[1], 0.0, -(band or 0.0) if h.get("direction") != "increase" else 0.0)
    hi = max(values[2], 0.0, (band or 0.0) if h.get("direction") != "decrease" else 0.0)
    pad = (hi - lo) * 0.12 or 1.0
    lo, hi = lo - pad, hi + pad
    left, right, mid = 8, width - 8, 22

    def x(v: float) -> float:
        return left + (v - lo) / (hi - lo) * (right - left)

    def label(v: float) -> str:
        return f"{v:+.3g}" if v else "0"

    parts = [f'<svg width="{width}" height="{height}" role="img" '
             f'viewBox="0 0 {width} {height}" class="interval-plot">']
    title = (f"Estimate {label(values[0])}{unit}, interval {label(values[1])} to {label(values[2])}{unit}"
             + (f"; smallest effect that matters {band:.3g}" if band else "") + "; dashed line: no effect")
    parts.append(f"<title>{html.escape(title)}</title>")
    if band:
        start, end = (x(-band), x(band))
        parts.append(f'<rect x="{start:.1f}" y="{mid - 10}" width="{end - start:.1f}" height="20" fill="#f3e3bf">'
                     "</rect>")
    parts.append(f'<line x1="{x(0):.1f}" y1="13" x2="{x(0):.1f}" y2="{mid + 12}" stroke="#555" '
                 'stroke-dasharray="3,2"></line>')
    parts.append(f'<line x1="{x(values[1]):.1f}" y1="{mid}" x2="{x(values[2]):.1f}" y2="{mid}" stroke="#1f4e79" '
                 'stroke-width="5" stroke-linecap="round" opacity="0.45"></line>')
    parts.append(f'<circle cx="{x(values[0]):.1f}" cy="{mid}" r="5" fill="#1f4e79"></circle>')
    # bound labels under the bar ends, kept inside the picture and apart from each other
    texts = [label(v) for v in (values[1], values[2])]
    half = [0.62 * PLOT_FONT_PX * len(t) / 2 + 1 for t in texts]  # half a label's width (digits ~0.6 em)
    at = [min(max(x(v), left + w), right - w) for v, w in zip((values[1], values[2]), half)]
    gap = half[0] + half[1] + 4
    if at[1] - at[0] < gap:
        centre = (at[0] + at[1]) / 2
        at = [centre - gap / 2, centre + gap / 2]
        shift = max(0.0, left + half[0] - at[0]) - max(0.0, at[1] - (right - half[1]))
        at = [a + shift for a in at]
    for where, text in zip(at, texts):
        parts.append(f'<text x="{where:.1f}" y="{mid + 26}" font-size="{PLOT_FONT_PX}" text-anchor="middle" '
                     f'fill="#333">{html.escape(text)}</text>')
    parts.append(f'<text x="{x(0):.1f}" y="{PLOT_FONT_PX - 1}" font-size="{PLOT_FONT_PX}" text-anchor="middle" '
                 'fill="#555">0</text>')
    parts.append("</svg>")
    return "".join(parts)


def _plot_factor(page: Any, h: Mapping[str, Any]) -> tuple[float, str]:
    """Shares are drawn in percentage points and relative gains in percent, as the sentences say them."""
    if h.get("estimator") == "knowledge_gain":
        return 100.0, "%"
    text = " ".join(page.details) if page else ""
    if "percentage points" in text:
        return 100.0, " pp"
    return 1.0, ""


def decision_rows(run_dir: str | Path, *, study_dir: str | Path | None = None) -> tuple[list[DecisionRow],
                                                                                         dict[str, Any]]:
    """The confirmatory rows and the run's results (for the other sections)."""
    run_dir = Path(run_dir)
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    pages = {p.hypothesis_id: p for p in run_summary(run_dir, lang="en", study_dir=study_dir).pages}  # words only
    rows = []
    records = [h for h in results.get("hypotheses") or [] if isinstance(h, Mapping)]
    for h, result in zip(records, _estimates({"hypotheses": records}), strict=True):
        if h.get("type") != "confirmatory" or h.get("status") != "estimated":
            continue
        hid = str(h.get("id"))
        page = pages.get(hid)
        verdict = _verdict_of(h)
        factor, unit = _plot_factor(page, h)
        headline = page.headline if page else ""
        effect = headline.split(". ", 1)[1] if headline.startswith(("Yes:", "No:", "Not clear:")) and ". " in \
            headline else headline
        interval = next((d for d in (page.details if page else ()) if d.startswith("Most likely")), "")
        rows.append(DecisionRow(hid, str(h.get("title") or hid), page.question if page else str(h.get("title")),
                                verdict, effect, interval, _technical(h, result), _meaning(verdict, h),
                                interval_svg(h, factor=factor, unit=unit)))
    return rows, results


def _not_tested(hypotheses: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = []
    for h in hypotheses:
        if h.get("status") == "estimated":
            continue
        status = str(h.get("status") or "unknown").replace("_", " ")
        reason = str(h.get("reason") or "no reason recorded")
        why = reason if reason.startswith(status) else f"{status}: {reason}"  # reasons often name the status
        lines.append(f"{h.get('title') or h.get('id')} ({h.get('type')}): {why}")
    return lines


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _quality_flags(results: Mapping[str, Any]) -> list[str]:
    flags = []
    for contract in results.get("contracts") or []:
        if isinstance(contract, Mapping) and not contract.get("passed"):
            flags.append(f"The {contract.get('source')} data failed {len(contract.get('failures') or [])} of its "
                         f"{contract.get('n_expectations')} data-contract checks.")
    few: dict[str, list[str]] = {}  # what replaced the registered standard errors -> the hypotheses
    records = [h for h in results.get("hypotheses") or [] if isinstance(h, Mapping)]
    for h, result in zip(records, _estimates({"hypotheses": records}), strict=True):
        if h.get("status") != "estimated" or result is None:
            continue
        verdict = str(h.get("verdict") or "")
        if verdict.startswith("unreliable"):
            flags.append(f"{h.get('title')}: the Bayesian model missed a registered diagnostics threshold.")
        rule = result.inference.rule if result.inference is not None else None
        if rule is not None and rule.fired:
            few.setdefault(inference_method(h.get("se_type")), []).append(str(h.get("title")))
        invariance = result.invariance
        if invariance is not None and invariance.verdict in ("only metric", "not comparable"):
            flags.append(f"{h.get('title')}: the index is {invariance.verdict} across arms and waves "
                         "(measurement invariance), so its mean comparison is in doubt; see the technical report.")
        test = result.attrition.differential_test if result.attrition is not None else None
        p_value = test.p_value if test is not None else None
        if _is_number(p_value) and p_value < 0.05:  # type: ignore[operator]
            flags.append(f"{h.get('title')}: attrition differs between arms "
                         f"({format_p(p_value)}); see the bounds in the technical report.")
    if few:
        # the rule picks the replacement per hypothesis (wild bootstrap, CR2, randomization): name each one
        count = sum(len(titles) for titles in few.values())
        replaced = "; ".join(f"{method} for {', '.join(titles)}" for method, titles in few.items())
        flags.append(f"Few clusters: for {_count(count, 'hypothesis', 'hypotheses')} the registered rule replaced "
                     f"the registered standard errors (intervals and p-values come from the replacement): "
                     f"{replaced}.")
    return flags


_STYLE = """
.oca-decision{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1b1b1b;
max-width:100%;line-height:1.4}
.oca-decision h1{font-size:1.5rem;margin:.2rem 0}.oca-decision h2{font-size:1.15rem;margin:1rem 0 .3rem}
.oca-decision table{border-collapse:collapse;width:100%;table-layout:fixed}
.oca-decision caption{text-align:left;font-weight:600;padding:.3rem 0}
.oca-decision th,.oca-decision td{border-top:1px solid #ccc;padding:.45rem .4rem;vertical-align:top;
text-align:left!important;overflow-wrap:anywhere}
.oca-decision th{background:#f2f4f7;font-size:.85rem}
.oca-decision .question{font-weight:600}.oca-decision .technical{color:#555;font-size:.78rem}
.oca-decision .badge{display:inline-block;padding:.1rem .45rem;border-radius:.3rem;font-weight:700;font-size:.85rem}
.oca-decision .yes{background:#d7ecd9;color:#14532d}.oca-decision .no{background:#f8d9d4;color:#7f1d1d}
.oca-decision .unclear{background:#fbefc9;color:#6b4e00}.oca-decision .unreliable{background:#e5e5e5;color:#333}
.oca-decision svg{max-width:100%;height:auto}
.oca-decision .c-question{width:22%}.oca-decision .c-answer{width:10%}.oca-decision .c-effect{width:26%}
.oca-decision .c-meaning{width:19%}
.oca-decision .c-plot{width:calc(PLOT_WIDTH_PX + .8rem)}.oca-decision svg.interval-plot{min-width:PLOT_WIDTH_PX}
@page{size:A4;margin:12mm}
@media print{.oca-decision .c-question{width:20%}.oca-decision .c-effect{width:22%}.oca-decision .c-plot{width:32%}.oca-decision .c-meaning{width:16%}.oca-decision svg.interval-plot{min-width:0}.oca-decision{font-size:10pt}.oca-decision tr{page-break-inside:avoid}.oca-decision img{max-width:100%;height:auto}.oca-decision table{width:100%}details>summary{list-style:none}}
""".replace("PLOT_WIDTH_PX", f"{PLOT_WIDTH}px")  # the plot column holds the picture unshrunk


def decision_section(run_dir: str | Path, *, study_dir: str | Path | None = None, heading_level: int = 2) -> str:
    """The decision summary as an HTML fragment (the report's first section)."""
    rows, results = decision_rows(run_dir, study_dir=study_dir)
    hypotheses = [h for h in results.get("hypotheses") or [] if isinstance(h, Mapping)]
    counts: dict[str, int] = {}
    for row in rows:
        key = "unreliable" if row.verdict.startswith("unreliable") else row.verdict
        counts[key] = counts.get(key, 0) + 1
    tally = ", ".join(f"{n} {verdict}" for verdict, n in counts.items()) or "none estimated"
    h = f"h{heading_level}"
    sub = f"h{heading_level + 1}"
    out = [f'<div class="oca-decision"><style>{_STYLE}</style>',
           f'<{h} id="decision-summary">Decision summary</{h}>',
           (f"<p>{_count(len(rows), 'confirmatory question', 'confirmatory questions')} answered: "
            f"{html.escape(tally)}. Each row gives the answer the "
            "registered rule reached, the change in the outcome's own units with the range it most likely lies in, "
            "and what it means for the programme. The plot shows each result on its own scale: dot = estimate, bar "
            "= interval, dashed line = no effect, shaded band = smallest effect that matters.</p>" if rows else
            "<p>No confirmatory question was answered in this run: nothing here decides anything. Only results the "
            "registry lock makes confirmatory appear in this table.</p>")]
    if rows:
        out.append('<table><caption>Confirmatory questions</caption><thead><tr>'
                   '<th scope="col" class="c-question">Question</th><th scope="col" class="c-answer">Answer</th>'
                   '<th scope="col" class="c-effect">Effect and likely range</th>'
                   '<th scope="col" class="c-plot">On its own scale</th>'
                   '<th scope="col" class="c-meaning">What it means for the programme</th></tr></thead><tbody>')
        for row in rows:
            badge = ("unreliable" if row.verdict.startswith("unreliable") else
                     _BADGE_CLASS.get(row.verdict.replace("_", " "), ""))
            out.append(
                f'<tr><th scope="row"><span class="question">{html.escape(row.question)}</span><br>'
                f'<span class="technical">{html.escape(row.title)}</span></th>'
                f'<td><span class="badge {badge}">{html.escape(row.verdict)}</span></td>'
                f"<td>{html.escape(row.effect)} {html.escape(row.interval)}<br>"
                f'<span class="technical">{html.escape(row.technical)}</span></td>'
                f"<td>{row.plot_svg}</td><td>{html.escape(row.meaning)}</td></tr>")
        out.append("</tbody></table>")
    exploratory = [x for x in hypotheses if x.get("type") != "confirmatory" and x.get("status") == "estimated"]
    if exploratory:
        out.append(f"<{sub}>Exploratory results (ideas for the next study, not decisions)</{sub}><ul>")
        for x in exploratory:
            out.append(f"<li>{html.escape(str(x.get('title')))}: {html.escape(str(x.get('verdict')))}</li>")
        out.append("</ul>")
    out.append(f"<{sub}>What could not be tested, and why</{sub}>")
    missing = _not_tested(hypotheses)
    out.append("<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in missing) + "</ul>" if missing
               else "<p>Every registered hypothesis was estimated.</p>")
    out.append(f"<{sub}>Data-quality flags</{sub}>")
    flags = _quality_flags(results)
    out.append("<ul>" + "".join(f"<li>{html.escape(f)}</li>" for f in flags) + "</ul>" if flags
               else "<p>No data-quality flags: every data contract passed.</p>")
    out.append("</div>")
    return "\n".join(out)


def decision_page(run_dir: str | Path, *, study_dir: str | Path | None = None) -> str:
    """The decision summary as a whole, self-contained, printable HTML page."""
    results = json.loads((Path(run_dir) / "results.json").read_text(encoding="utf-8"))
    study = str(results.get("study") or "Study")
    body = decision_section(run_dir, study_dir=study_dir, heading_level=2)
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(study)}: decision summary</title>\n"
            "<style>body{margin:1.5rem auto;max-width:72rem;padding:0 1rem}</style>\n</head>\n<body>\n"
            f'<h1 style="font-family:system-ui,sans-serif">{html.escape(study)}</h1>\n{body}\n'
            '<p style="font-family:system-ui,sans-serif;color:#555;font-size:.85rem">The full technical report is in '
            '<a href="index.html">index.html</a>.</p>\n</body>\n</html>\n')


def write_decision_page(run_dir: str | Path, out_dir: str | Path, *, study_dir: str | Path | None = None) -> Path:
    path = Path(out_dir) / DECISION_HTML
    path.write_text(decision_page(run_dir, study_dir=study_dir), encoding="utf-8")
    return path
