"""The report's portfolio checks: exposure-response (dose-response) and spillover sections, from results.json.

Reads only the hypothesis records (dicts, or the typed parts, which are dicts too); nothing is re-estimated. The
assumptions each estimate needs travel with it in ``extras`` and are printed beside it, so the reader sees the
strong-parallel-trends caveat next to the slope and the spillover note next to the contrast. No unit's outcome is
shown: only counts, doses, effects and intervals.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

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


def _interval(record: Mapping[str, Any] | None) -> str:
    if not isinstance(record, Mapping):
        return "–"
    kind = f" ({_text(record['se_type'])})" if record.get("se_type") else ""
    return f"{_num(record.get('estimate'))} [{_num(record.get('ci_low'))}, {_num(record.get('ci_high'))}]{kind}"


def _headline(hypothesis: Mapping[str, Any]) -> str:
    level = 100 * (1 - float(hypothesis.get("alpha") or 0.05))
    inference = (hypothesis.get("extras") or {}).get("inference") or {}
    return (f"{_num(hypothesis.get('estimate'))} ({level:g}% CI {_num(hypothesis.get('ci_low'))} to "
            f"{_num(hypothesis.get('ci_high'))}; {_text(inference.get('primary') or hypothesis.get('se_type') or '')}"
            f"; {hypothesis.get('n_clusters') or '–'} clusters)")


def _bullets(lines: Iterable[Any]) -> str:
    return "\n".join(f"- {_text(line)}" for line in lines or ())


def _exposure_block(hypothesis: Mapping[str, Any], part: Mapping[str, Any]) -> str:
    title = _text(hypothesis.get("title") or hypothesis.get("id"))
    window = part.get("window") or ("?", "?")
    key = part.get("key") or ("?", "?")
    dose_low, dose_high = (part.get("dose_range") or (None, None))[:2]
    lines = [
        f"### {title}",
        "",
        f"**Dose-response slope (ACRT per {_num(part.get('scale'))} exposure unit):** {_headline(hypothesis)}. "
        f"Verdict: {_text(hypothesis.get('verdict') or hypothesis.get('status'))}.",
        "",
        "| | |",
        "|---|---|",
        f"| Exposure | {_text(part.get('measure'))} (source {_code(part.get('source'))}, {window[0]} to "
        f"{window[1]}) |",
        f"| Linked by | survey {_code(key[0])} = exposure {_code(key[1])}; one row per "
        f"{_code(part.get('unit'))} |",
        f"| Doses | {part.get('dose_levels')} distinct among {part.get('treated_units')} treated units, "
        f"{_num(dose_low)} to {_num(dose_high)} (mean {_num(part.get('mean_dose'))}); "
        f"{part.get('comparison_units')} comparison units at dose 0 |",
        f"| Curve | {_text(part.get('curve'))}"
        + (f", knots at {', '.join(_num(k) for k in part.get('knots') or ())}" if part.get("knots") else "") + " |",
        f"| Average ATT over the treated units | {_interval(part.get('average_att'))} |",
        "",
        f"*Estimand.* {_text(part.get('estimand'))}",
        "",
        "*Assumptions this estimate needs.*",
        "",
        _bullets(part.get("assumptions")),
    ]
    if part.get("notes"):
        lines += ["", "*Notes.*", "", _bullets(part.get("notes"))]
    return "\n".join(lines)


def _spillover_block(hypothesis: Mapping[str, Any], part: Mapping[str, Any]) -> str:
    title = _text(hypothesis.get("title") or hypothesis.get("id"))
    lines = [
        f"### {title}",
        "",
        f"**Near minus far comparison units:** {_headline(hypothesis)}.",
        "",
        "| | |",
        "|---|---|",
        f"| Near means | {_text(part.get('rule'))} |",
        f"| Units | {part.get('treated_units')} treated, {part.get('near_units')} near and {part.get('far_units')} far "
        f"comparison (one row per {_code(part.get('unit'))}) |",
        f"| Treated minus far (spillover-robust effect) | {_interval(part.get('treated_vs_far'))} |",
        f"| Treated minus all comparison units | {_interval(part.get('treated_vs_all_comparison'))} |",
        "",
    ]
    if part.get("ruled_out"):
        lines.append("The equivalence interval of the near-minus-far contrast lies within the SESOI: spillover of "
                     "that size is ruled out.")
    else:
        lines.append(f"**Spillover not ruled out.** {_text(part.get('note') or '')}")
    lines += ["", "*Assumptions.*", "", _bullets(part.get("assumptions"))]
    return "\n".join(lines)


def exposure_section(hypotheses: Iterable[Mapping[str, Any]]) -> str:
    """Markdown for every estimated exposure-response and spillover hypothesis; "" when the run has none."""
    blocks = []
    for hypothesis in hypotheses:
        if not isinstance(hypothesis, Mapping) or hypothesis.get("status") != "estimated":
            continue
        extras = hypothesis.get("extras") or {}
        if isinstance(extras.get("exposure_response"), Mapping):
            blocks.append(_exposure_block(hypothesis, extras["exposure_response"]))
        if isinstance(extras.get("spillover"), Mapping):
            blocks.append(_spillover_block(hypothesis, extras["spillover"]))
    if not blocks:
        return ""
    intro = ("## Exposure-response and spillover\n\nHow the effect varies with the campaign exposure each community "
             "received, and whether comparison communities near treated ones moved too. Both are community-level "
             "differences in differences; the assumptions under each estimate say what it can and cannot show.")
    return "\n\n".join([intro, *blocks])


def dose_response_figure(hypothesis: Mapping[str, Any]) -> Any:
    """ATT(d) with its pointwise band over the treated doses, and a rug of the doses; None without a curve."""
    part = ((hypothesis.get("extras") or {}) if isinstance(hypothesis, Mapping) else {}).get("exposure_response")
    points = [p for p in (part or {}).get("points") or () if isinstance(p, Mapping)]
    if not points:
        return None
    import matplotlib.pyplot as plt

    dose = [p["dose"] for p in points]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.fill_between(dose, [p["ci_low"] for p in points], [p["ci_high"] for p in points], alpha=0.25,
                    label="pointwise 95% interval")
    ax.plot(dose, [p["estimate"] for p in points], label="ATT(d)")
    ax.axhline(0.0, color="grey", linewidth=0.8)
    treated = [u.get("dose") for u in part.get("units") or () if isinstance(u, Mapping) and u.get("treated")]
    ax.plot(treated, [0.0] * len(treated), "|", color="black", markersize=12, label="treated units' doses")
    ax.set_xlabel(str(part.get("measure") or "dose"))
    ax.set_ylabel("effect at dose d")
    ax.set_title(str(hypothesis.get("title") or hypothesis.get("id") or ""), fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return fig
