"""The report's portfolio checks: exposure-response (dose-response) and spillover sections, from results.json.

Reads typed hypotheses (``HypothesisResult``; a results.json record is read into one) and their parts by attribute
(``ExposureResponse``, ``Spillover``); nothing is re-estimated. The assumptions each estimate needs travel with its
part and are printed beside it, so the reader sees the
strong-parallel-trends caveat next to the slope and the spillover note next to the contrast. No unit's outcome is
shown: only counts, doses, effects and intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from oca_experiments.results import HypothesisResult
from oca_experiments.results.parts import EffectInterval, ExposureResponse, Spillover

__all__ = ["dose_response_figure", "exposure_section"]


def _num(value: Any, digits: int = 3) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _text(value: Any) -> str:
    """Markdown-safe text (a spec's words can hold table pipes or emphasis marks)."""
    text = " ".join(str(value).split())
    for mark in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        text = text.replace(mark, "\\" + mark)
    return text


def _code(value: Any) -> str:
    """A column or source name as inline code (no escaping inside backticks; a backtick itself is dropped)."""
    return "`" + " ".join(str(value).split()).replace("`", "") + "`"


def _interval(record: EffectInterval | None) -> str:
    if not isinstance(record, EffectInterval):
        return "–"
    kind = f" ({_text(record.se_type)})" if record.se_type else ""
    return f"{_num(record.estimate)} [{_num(record.ci_low)}, {_num(record.ci_high)}]{kind}"


def _typed(hypothesis: HypothesisResult | Mapping[str, Any]) -> HypothesisResult | None:
    """The hypothesis typed: as given, or a results.json record read back (None for anything else)."""
    if isinstance(hypothesis, HypothesisResult):
        return hypothesis
    if isinstance(hypothesis, Mapping) and hypothesis.get("status") == "estimated":
        return HypothesisResult.from_dict(hypothesis)
    return None


def _headline(hypothesis: HypothesisResult) -> str:
    result = hypothesis.result
    assert result is not None
    level = 100 * (1 - float(hypothesis.alpha or 0.05))
    primary = result.inference.primary if result.inference is not None else None
    return (f"{_num(result.estimate)} ({level:g}% CI {_num(result.ci_low)} to "
            f"{_num(result.ci_high)}; {_text(primary or result.se_type or '')}"
            f"; {result.n_clusters or '–'} clusters)")


def _bullets(lines: Iterable[Any] | None) -> str:
    return "\n".join(f"- {_text(line)}" for line in lines or ())


def _exposure_block(hypothesis: HypothesisResult, part: ExposureResponse) -> str:
    title = _text(hypothesis.title or hypothesis.id)
    window = part.window or ("?", "?")
    key = part.key or ("?", "?")
    dose_low, dose_high = (part.dose_range or (None, None))[:2]
    lines = [
        f"### {title}",
        "",
        f"**Dose-response slope (ACRT per {_num(part.scale)} exposure unit):** {_headline(hypothesis)}. "
        f"Verdict: {_text(hypothesis.verdict or hypothesis.status)}.",
        "",
        "| | |",
        "|---|---|",
        f"| Exposure | {_text(part.measure)} (source {_code(part.source)}, {window[0]} to "
        f"{window[1]}) |",
        f"| Linked by | survey {_code(key[0])} = exposure {_code(key[1])}; one row per "
        f"{_code(part.unit)} |",
        f"| Doses | {part.dose_levels} distinct among {part.treated_units} treated units, "
        f"{_num(dose_low)} to {_num(dose_high)} (mean {_num(part.mean_dose)}); "
        f"{part.comparison_units} comparison units at dose 0 |",
        f"| Curve | {_text(part.curve)}"
        + (f", knots at {', '.join(_num(k) for k in part.knots or ())}" if part.knots else "") + " |",
        f"| Average ATT over the treated units | {_interval(part.average_att)} |",
        "",
        f"*Estimand.* {_text(part.estimand)}",
        "",
        "*Assumptions this estimate needs.*",
        "",
        _bullets(part.assumptions),
    ]
    if part.notes:
        lines += ["", "*Notes.*", "", _bullets(part.notes)]
    return "\n".join(lines)


def _spillover_block(hypothesis: HypothesisResult, part: Spillover) -> str:
    title = _text(hypothesis.title or hypothesis.id)
    lines = [
        f"### {title}",
        "",
        f"**Near minus far comparison units:** {_headline(hypothesis)}.",
        "",
        "| | |",
        "|---|---|",
        f"| Near means | {_text(part.rule)} |",
        f"| Units | {part.treated_units} treated, {part.near_units} near and {part.far_units} far "
        f"comparison (one row per {_code(part.unit)}) |",
        f"| Treated minus far (spillover-robust effect) | {_interval(part.treated_vs_far)} |",
        f"| Treated minus all comparison units | {_interval(part.treated_vs_all_comparison)} |",
        "",
    ]
    if part.ruled_out:
        lines.append("The equivalence interval of the near-minus-far contrast lies within the SESOI: spillover of "
                     "that size is ruled out.")
    else:
        lines.append(f"**Spillover not ruled out.** {_text(part.note or '')}")
    lines += ["", "*Assumptions.*", "", _bullets(part.assumptions)]
    return "\n".join(lines)


def exposure_section(hypotheses: Iterable[HypothesisResult | Mapping[str, Any]]) -> str:
    """Markdown for every estimated exposure-response and spillover hypothesis; "" when the run has none.
    ``hypotheses``: typed hypotheses or results.json hypothesis records."""
    blocks = []
    for item in hypotheses:
        hypothesis = _typed(item)
        if hypothesis is None or hypothesis.status != "estimated" or hypothesis.result is None:
            continue
        if hypothesis.result.exposure_response is not None:
            blocks.append(_exposure_block(hypothesis, hypothesis.result.exposure_response))
        if hypothesis.result.spillover is not None:
            blocks.append(_spillover_block(hypothesis, hypothesis.result.spillover))
    if not blocks:
        return ""
    intro = ("## Exposure-response and spillover\n\nHow the effect varies with the campaign exposure each community "
             "received, and whether comparison communities near treated ones moved too. Both are community-level "
             "differences in differences; the assumptions under each estimate say what it can and cannot show.")
    return "\n\n".join([intro, *blocks])


def dose_response_figure(hypothesis: HypothesisResult | Mapping[str, Any]) -> Any:
    """ATT(d) with its pointwise band over the treated doses, and a rug of the doses; None without a curve."""
    typed = _typed(hypothesis)
    part = typed.result.exposure_response if typed is not None and typed.result is not None else None
    points = [p for p in (part.points if part is not None else None) or () if p is not None]
    if part is None or not points:
        return None
    import matplotlib.pyplot as plt

    dose = [p.dose for p in points]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.fill_between(dose, [p.ci_low for p in points], [p.ci_high for p in points], alpha=0.25,
                    label="pointwise 95% interval")
    ax.plot(dose, [p.estimate for p in points], label="ATT(d)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    treated = [u.dose for u in part.units or () if u is not None and u.treated]
    ax.plot(treated, [0.0] * len(treated), "|", color="black", markersize=12, label="treated units' doses")
    ax.set_xlabel(str(part.measure or "dose"))
    ax.set_ylabel("effect at dose d")
    ax.set_title(str(typed.title or typed.id or ""), fontsize=10)  # type: ignore[union-attr]
    ax.legend(fontsize=8, frameon=False)
    return fig
