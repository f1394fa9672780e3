"""The survey-weights section of the technical report: what the registered weights did to the sample.

``survey_weights_section(results)`` takes a run (a ``RunResult``, typed hypotheses, or ``results.json`` as a dict or
a path, read into typed hypotheses) and returns HTML: one
block per hypothesis that registered weights, with the Kish effective sample size and design effect per wave, the
spread of the weights (smallest and largest relative to the mean, coefficient of variation), trimming, raking
sweeps and the largest margin error, the margin table (population, sample and weighted shares; categories below
the suppression threshold arrive already suppressed from the summaries and are shown as such), and how much the
raking adjustment changed the standard error (the linearized SE beside the same SE with the weights held fixed).
``survey_weights_table(results)`` gives the per-wave numbers as a DataFrame for notebooks.

It reads only what the run wrote (never re-estimates), the ``SurveyWeightsRecord`` part by attribute, and writes no
respondent-level value: the margin table's cells are counts and shares of categories, already protected.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from oca_experiments.results import HypothesisResult, RunResult
from oca_experiments.results.parts import SurveyWeightsRecord

Run = RunResult | Iterable[HypothesisResult] | Mapping[str, Any] | str | Path

__all__ = ["survey_weights_section", "survey_weights_table"]


def _hypotheses(results: Run) -> list[HypothesisResult]:
    """The run's hypotheses, typed. A results.json (dict or path) is read back; a hand-made record without a status
    is read as an estimate."""
    if isinstance(results, RunResult):
        return list(results.hypotheses)
    if isinstance(results, (str, Path)):
        path = Path(results)
        if path.is_dir():
            path = path / "results.json"
        results = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(results, Mapping):
        records = results.get("hypotheses") or ()
        return [HypothesisResult.from_dict({"status": "estimated", **record}) for record in records
                if isinstance(record, Mapping)]
    return [h for h in results if isinstance(h, HypothesisResult)]


def _weighted(hypotheses: Iterable[HypothesisResult]) -> list[tuple[HypothesisResult, SurveyWeightsRecord]]:
    return [(h, h.result.survey_weights) for h in hypotheses
            if h.result is not None and h.result.survey_weights is not None]


def survey_weights_table(results: Run) -> pd.DataFrame:
    """One row per weighted hypothesis and wave: n, Kish effective n, design effect, weight spread, trimming."""
    rows = []
    for hypothesis, record in _weighted(_hypotheses(results)):
        for wave in record.waves or ():
            rows.append({"hypothesis": hypothesis.id, "wave": wave.wave, "n": wave.n,
                         "effective_n": wave.effective_n, "design_effect": wave.design_effect,
                         "weight_min_over_mean": wave.weight_ratio_min,
                         "weight_max_over_mean": wave.weight_ratio_max, "weight_cv": wave.weight_cv,
                         "trimmed": wave.trimmed, "sweeps": wave.sweeps,
                         "max_margin_error": wave.max_margin_error})
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


def _se_change(hypothesis: HypothesisResult) -> str | None:
    result = hypothesis.result
    assert result is not None
    alternatives = (result.inference.alternatives if result.inference is not None else None) or {}
    fixed_weights = alternatives.get("linearized_weights_fixed")  # the named alternatives (a plain mapping)
    fixed = fixed_weights.std_error if fixed_weights is not None else None
    primary = result.std_error if math.isfinite(result.std_error) else None  # absent in results.json: NaN here
    if fixed is None or primary is None:
        return None
    return (f"Standard error {_number(primary, 4)} (linearized, with the raking adjustment) against "
            f"{_number(fixed, 4)} with the weights held fixed: the raking adjustment changes the variance by "
            f"{100 * ((primary / fixed) ** 2 - 1):+.1f}%" if fixed > 0 else None)
    # (calibration usually lowers the variance, but it can raise it a little: "explain -0%" read as nonsense)


def _block(hypothesis: HypothesisResult, record: SurveyWeightsRecord) -> str:
    hid = html.escape(str(hypothesis.id))
    trim = record.trim
    bounds = ", ".join(f"{k} {v:g} x mean" for k, v in (("lower", trim.lower if trim else None),
                                                         ("upper", trim.upper if trim else None))
                       if v is not None) or "none registered"
    source = f"design weights from column {record.design_weight}" if record.design_weight else \
        "equal design weights"
    lines = [f"<h3>{hid}: survey weights</h3>",
             f"<p>{html.escape(str(record.method))} to population {html.escape(str(record.margins_as))}"
             f" of {html.escape(', '.join(map(str, record.columns or ())))}, from {html.escape(source)}; "
             f"trimming: {html.escape(bounds)}. Kish effective sample size {_number(record.effective_n, 1)} of "
             f"{_number(record.n)} rows (design effect {_number(record.design_effect)}).</p>"]
    change = _se_change(hypothesis)
    if change:
        lines.append(f"<p>{html.escape(change)}. {html.escape(str(record.variance or ''))}.</p>")
    waves = survey_weights_table([hypothesis])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in waves.columns[1:])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_number(v) if not isinstance(v, str) else v)}</td>"
                                    for v in row[1:]) + "</tr>" for row in waves.itertuples(index=False))
    lines.append(f"<table class=\"weights-waves\"><tr>{head}</tr>{body}</table>")
    margin_rows = []
    for row in record.margins or ():
        n = row.display if row.suppressed else _number(row.n)
        margin_rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            row.wave, row.column, row.category, _share(row.population_share), n,
            _share(row.sample_share), _share(row.weighted_share))) + "</tr>")
    lines.append("<table class=\"weights-margins\"><tr><th>wave</th><th>column</th><th>category</th>"
                 "<th>population</th><th>n</th><th>sample</th><th>weighted</th></tr>" + "".join(margin_rows)
                 + "</table>")
    return "\n".join(lines)


def survey_weights_section(results: Run) -> str:
    """HTML for the technical report (empty string when no hypothesis registered weights)."""
    blocks = [_block(h, r) for h, r in _weighted(_hypotheses(results))]
    if not blocks:
        return ""
    return "<section class=\"survey-weights\"><h2>Survey weights</h2>\n" + "\n".join(blocks) + "\n</section>"
