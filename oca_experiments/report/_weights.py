"""The survey-weights section of the technical report: what the registered weights did to the sample.

``survey_weights_section(results)`` takes a run's ``results.json`` (as a dict, or a path) and returns HTML: one
block per hypothesis that registered weights, with the Kish effective sample size and design effect per wave, the
spread of the weights (smallest and largest relative to the mean, coefficient of variation), trimming, raking
sweeps and the largest margin error, the margin table (population, sample and weighted shares; categories below
the suppression threshold arrive already suppressed from the summaries and are shown as such), and how much the
raking adjustment changed the standard error (the linearized SE beside the same SE with the weights held fixed).
``survey_weights_table(results)`` gives the per-wave numbers as a DataFrame for notebooks.

It reads only what the run wrote (never re-estimates), and writes no respondent-level value: the margin table's
cells are counts and shares of categories, already protected.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["survey_weights_section", "survey_weights_table"]


def _load(results: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    if isinstance(results, Mapping):
        return results
    path = Path(results)
    if path.is_dir():
        path = path / "results.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _weighted(results: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    found = []
    for hypothesis in results.get("hypotheses") or ():
        record = (hypothesis.get("extras") or {}).get("survey_weights")
        if isinstance(record, Mapping):
            found.append((hypothesis, record))
    return found


def survey_weights_table(results: Mapping[str, Any] | str | Path) -> pd.DataFrame:
    """One row per weighted hypothesis and wave: n, Kish effective n, design effect, weight spread, trimming."""
    rows = []
    for hypothesis, record in _weighted(_load(results)):
        for wave in record.get("waves") or ():
            rows.append({"hypothesis": hypothesis.get("id"), "wave": wave.get("wave"), "n": wave.get("n"),
                         "effective_n": wave.get("effective_n"), "design_effect": wave.get("design_effect"),
                         "weight_min_over_mean": wave.get("weight_ratio_min"),
                         "weight_max_over_mean": wave.get("weight_ratio_max"), "weight_cv": wave.get("weight_cv"),
                         "trimmed": wave.get("trimmed"), "sweeps": wave.get("sweeps"),
                         "max_margin_error": wave.get("max_margin_error")})
    return pd.DataFrame(rows, columns=["hypothesis", "wave", "n", "effective_n", "design_effect",
                                       "weight_min_over_mean", "weight_max_over_mean", "weight_cv", "trimmed",
                                       "sweeps", "max_margin_error"])


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:,.{digits}f}"


def _share(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _se_change(hypothesis: Mapping[str, Any]) -> str | None:
    alternatives = ((hypothesis.get("extras") or {}).get("inference") or {}).get("alternatives") or {}
    fixed = (alternatives.get("linearized_weights_fixed") or {}).get("std_error")
    primary = hypothesis.get("std_error")
    if fixed is None or primary is None:
        return None
    return (f"Standard error {_number(primary, 4)} (linearized, with the raking adjustment) against "
            f"{_number(fixed, 4)} with the weights held fixed: the raking adjustment changes the variance by "
            f"{100 * ((primary / fixed) ** 2 - 1):+.1f}%" if fixed > 0 else None)
    # (calibration usually lowers the variance, but it can raise it a little: "explain -0%" read as nonsense)


def _block(hypothesis: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    hid = html.escape(str(hypothesis.get("id")))
    trim = record.get("trim") or {}
    bounds = ", ".join(f"{k} {v:g} x mean" for k, v in trim.items() if v is not None) or "none registered"
    source = f"design weights from column {record['design_weight']}" if record.get("design_weight") else \
        "equal design weights"
    lines = [f"<h3>{hid}: survey weights</h3>",
             f"<p>{html.escape(str(record.get('method')))} to population {html.escape(str(record.get('margins_as')))}"
             f" of {html.escape(', '.join(map(str, record.get('columns') or ())))}, from {html.escape(source)}; "
             f"trimming: {html.escape(bounds)}. Kish effective sample size {_number(record.get('effective_n'), 1)} of "
             f"{_number(record.get('n'))} rows (design effect {_number(record.get('design_effect'))}).</p>"]
    change = _se_change(hypothesis)
    if change:
        lines.append(f"<p>{html.escape(change)}. {html.escape(str(record.get('variance') or ''))}.</p>")
    waves = survey_weights_table({"hypotheses": [hypothesis]})
    head = "".join(f"<th>{html.escape(c)}</th>" for c in waves.columns[1:])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_number(v) if not isinstance(v, str) else v)}</td>"
                                    for v in row[1:]) + "</tr>" for row in waves.itertuples(index=False))
    lines.append(f"<table class=\"weights-waves\"><tr>{head}</tr>{body}</table>")
    margin_rows = []
    for row in record.get("margins") or ():
        n = row.get("display") if row.get("suppressed") else _number(row.get("n"))
        margin_rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            row.get("wave"), row.get("column"), row.get("category"), _share(row.get("population_share")), n,
            _share(row.get("sample_share")), _share(row.get("weighted_share")))) + "</tr>")
    lines.append("<table class=\"weights-margins\"><tr><th>wave</th><th>column</th><th>category</th>"
                 "<th>population</th><th>n</th><th>sample</th><th>weighted</th></tr>" + "".join(margin_rows)
                 + "</table>")
    return "\n".join(lines)


def survey_weights_section(results: Mapping[str, Any] | str | Path) -> str:
    """HTML for the technical report (empty string when no hypothesis registered weights)."""
    blocks = [_block(h, r) for h, r in _weighted(_load(results))]
    if not blocks:
        return ""
    return "<section class=\"survey-weights\"><h2>Survey weights</h2>\n" + "\n".join(blocks) + "\n</section>"
