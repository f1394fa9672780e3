"""The report's measurement-invariance section: is each index comparable across arms and waves?

``invariance_section(run_dir)`` returns an HTML fragment for the notebook report (beside "Index reliability"): per
index (hypotheses sharing the same items and groups share one table), the configural, metric and scalar fits
(chi-square, df, p, CFI, TLI, RMSEA with its 90% CI, SRMR; when scalar fails, the partial scalar model with the
worst item's intercepts freed), the change from the level below (metric, for the partial model) (delta CFI, RMSEA,
SRMR; chi-square difference test), the Chen (2007) decision per level, the verdict, and a warning naming the
hypotheses whose mean comparison the verdict puts in doubt. Reads only ``results.json`` (``extras.invariance``).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from oca_experiments._format import format_p
from oca_experiments.results import RunResult
from oca_experiments.results.parts import MeasurementInvariance

__all__ = ["invariance_section"]

_VERDICT_TEXT = {
    "comparable": "comparable: scalar invariance holds, so the index's means (and the effects estimated from them) "
                  "can be compared between arms and waves",
    "only metric": "only metric invariance: loadings are equal but item intercepts differ, so compare associations, "
                   "not means",
    "not comparable": "not comparable: the items do not measure the same construct in the same units in every group",
}


def _number(value: Any, digits: int = 3) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "—"
    return f"{value:.{digits}f}"


def _signed(value: Any) -> str:
    text = _number(value)
    return text if text == "—" or text.startswith("-") else "+" + text


def _p(value: Any) -> str:
    """format_p without its "p = " (the column says p)."""
    text = format_p(value)
    return text[4:] if text.startswith("p = ") else text[2:] if text.startswith("p ") else text


def _records(results: Mapping[str, Any] | RunResult) -> list[tuple[list[str], MeasurementInvariance]]:
    """Each distinct invariance record and the hypotheses that carry it (the same index, the same groups)."""
    found: list[tuple[str, MeasurementInvariance]] = []
    if isinstance(results, RunResult):  # the report: typed parts, read by attribute
        found = [(h.id, h.result.invariance) for h in results if h.result is not None and h.result.invariance]
    else:  # a loaded results.json, or partial records (tests, other tools)
        for h in results.get("hypotheses") or []:
            extras = h.get("extras") if isinstance(h, Mapping) else None
            record = extras.get("invariance") if isinstance(extras, Mapping) else None
            if isinstance(record, Mapping):
                found.append((str(h.get("id")), MeasurementInvariance.from_dict(record)))
    grouped: dict[str, tuple[list[str], MeasurementInvariance]] = {}
    for hid, part in found:
        key = json.dumps(part.to_dict(), sort_keys=True, default=str)
        grouped.setdefault(key, ([], part))[0].append(str(hid))
    return list(grouped.values())


def _level_rows(part: MeasurementInvariance) -> list[str]:
    rows = []
    for fit in (*(part.levels or ()), *((part.partial_scalar,) if part.partial_scalar else ())):
        ci = fit.rmsea_ci or (None, None)
        delta = ("—" if fit.delta_chisq is None else
                 f"{_number(fit.delta_chisq, 2)} ({fit.delta_df}; {_p(fit.delta_p_value)})")
        decision = "holds" if fit.holds else "fails" if fit.holds is not None else "—"
        level = (f"{fit.level} (free intercept: {fit.free_intercept})" if fit.free_intercept else fit.level) or "—"
        cells = [level, _number(fit.chisq, 2), str(fit.df), _p(fit.p_value), _number(fit.cfi),
                 _number(fit.tli), f"{_number(fit.rmsea)} [{_number(ci[0])}, {_number(ci[1])}]", _number(fit.srmr),
                 _signed(fit.delta_cfi), _signed(fit.delta_rmsea), _signed(fit.delta_srmr), delta, decision]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return rows


_HEADER = ("level", "χ²", "df", "p", "CFI", "TLI", "RMSEA [90% CI]", "SRMR", "ΔCFI", "ΔRMSEA", "ΔSRMR",
           "Δχ² (Δdf; p)", "Chen (2007)")


def _index_block(ids: Sequence[str], part: MeasurementInvariance, sub: str,
                 item_label: Callable[[str], str] | None = None) -> str:
    items = ", ".join((item_label or str)(name) for name in part.item_names or ())
    who = ", ".join(ids)
    out = [f"<{sub}>{html.escape(items or 'index')} ({html.escape(who)})</{sub}>"]
    if not part.levels:
        out.append(f"<p>Not tested: {html.escape(part.note or 'no fit recorded')}.</p>")
        return "".join(out)
    groups = "; ".join(f"{g} (n = {n})" for g, n in zip(part.groups or (), part.group_n or (), strict=False))
    out.append(f"<p>Groups (complete answers): {html.escape(groups)}.</p>")
    out.append("<table><thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in _HEADER)
               + "</tr></thead><tbody>" + "".join(_level_rows(part)) + "</tbody></table>")
    verdict = _VERDICT_TEXT.get(part.verdict or "", part.verdict or "not decided")
    out.append(f"<p><strong>Verdict: {html.escape(verdict)}.</strong></p>")
    if part.warning:
        out.append(f'<p class="oca-warning"><strong>Warning ({html.escape(who)}):</strong> '
                   f"{html.escape(part.warning)}.</p>")
    if part.note:
        out.append(f"<p>Note: {html.escape(part.note)}.</p>")
    return "".join(out)


def invariance_section(run: str | Path | Mapping[str, Any] | RunResult, *, heading_level: int = 2,
                       item_label: Callable[[str], str] | None = None) -> str:
    """The measurement-invariance section as an HTML fragment (from a run folder, a loaded results.json or a typed
    ``RunResult``). ``item_label``: column -> how to name it (the XLSForm's label beside the column), plain text."""
    results = run if isinstance(run, (Mapping, RunResult)) else json.loads(
        (Path(run) / "results.json").read_text(encoding="utf-8"))
    h, sub = f"h{heading_level}", f"h{heading_level + 1}"
    out = [f'<div class="oca-invariance"><{h} id="Measurement-invariance">Measurement invariance</{h}>']
    records = _records(results)
    if not records:
        out.append("<p>No index in this run records a measurement-invariance test.</p></div>")
        return "".join(out)
    out.append("<p>Before an index's mean is compared between arms and waves, its items must measure the same "
               "construct in the same units in every group. Multi-group confirmatory factor analysis tests this in "
               "three steps: configural (one factor in every group), metric (equal loadings) and scalar (equal "
               "loadings and intercepts). Only a scalar-invariant index supports comparing means.</p>")
    out.extend(_index_block(ids, part, sub, item_label) for ids, part in records)
    first = records[0][1]
    out.append(f"<p>Method: {html.escape(first.method or '')}. Criterion: {html.escape(first.criterion or '')} "
               "(Chen, F. F. 2007, Sensitivity of goodness of fit indexes to lack of measurement invariance, "
               "Structural Equation Modeling 14(3), 464–504). The chi-square difference test is shown but does "
               "not decide: with hundreds of respondents per group it flags differences too small to matter.</p>")
    out.append("</div>")
    return "".join(out)
