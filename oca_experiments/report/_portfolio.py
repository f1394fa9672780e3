"""The portfolio page: every hypothesis of every study, random-effects pooling per hypothesis, a forest plot per
hypothesis family, and what to test next (``oca portfolio RUN_DIR... --out DIR``).

Reads only each run's ``results.json`` (the stable public interface). A hypothesis id estimated in two or more
runs is pooled across runs (REML τ², Hartung–Knapp–Sidik–Jonkman interval, prediction interval); a run whose
results carry a ``cso_id`` disaggregation is also pooled across its CSOs. Nothing is refitted.
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, staged_directory
from ..errors import DataError, EstimationError
from ..results import STATUSES, RunResult
from ..summarize.meta import MetaAnalysis, random_effects

_Z_ALPHA = 1.959963984540054  # two-sided 5%
_Z_POWER = 0.8416212335729143  # 80% power


@dataclass(frozen=True)
class StudyRow:
    study: str
    run_dir: str
    id: str
    title: str
    family: str
    type: str
    estimator: str
    status: str
    verdict: str
    estimate: float | None
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    direction: str
    sesoi: float | None


@dataclass(frozen=True)
class Pooled:
    key: str
    family: str
    labels: tuple[str, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    meta: MetaAnalysis
    note: str


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def read_run(run_dir: Path) -> tuple[str, list[StudyRow], dict[str, Any]]:
    """One run directory's results.json as table rows; DataError naming the file when it is not one."""
    path = Path(run_dir) / "results.json"
    if not path.is_file():
        raise DataError("no results.json in this run directory", file=str(run_dir),
                        fix="pass folders written by `oca run` or `oca demo`")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"results.json is not readable JSON ({type(exc).__name__})", file=str(path),
                        fix="rerun `oca run` to rewrite it") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("hypotheses"), list):
        raise DataError("field 'hypotheses' is missing or not a list", file=str(path),
                        fix="pass a results.json written by `oca run` (schema_version 1)")
    study = str(payload.get("study") or Path(run_dir).name)
    rows = []
    for item in payload["hypotheses"]:
        if not isinstance(item, dict) or "id" not in item:
            raise DataError("a hypothesis record has no 'id'", file=str(path), fix="rerun `oca run`")
        rows.append(StudyRow(
            study=study, run_dir=str(run_dir), id=str(item["id"]), title=str(item.get("title") or item["id"]),
            family=str(item.get("family") or "unfamilied"), type=str(item.get("type") or ""),
            estimator=str(item.get("estimator") or ""), status=str(item.get("status") or ""),
            verdict=str(item.get("verdict") or item.get("status") or ""), estimate=_number(item.get("estimate")),
            std_error=_number(item.get("std_error")), ci_low=_number(item.get("ci_low")),
            ci_high=_number(item.get("ci_high")), p_value=_number(item.get("p_value")),
            direction=str(item.get("direction") or "two_sided"), sesoi=_number(item.get("sesoi"))))
    return study, rows, payload


def _pool_across_runs(rows: list[StudyRow]) -> list[Pooled]:
    by_id: dict[str, list[StudyRow]] = {}
    for row in rows:
        if row.status == "estimated" and row.estimate is not None and row.std_error and row.std_error > 0:
            by_id.setdefault(row.id, []).append(row)
    pooled = []
    for hypothesis_id, group in sorted(by_id.items()):
        if len(group) < 2:
            continue
        meta = random_effects([r.estimate for r in group], [r.std_error ** 2 for r in group])
        pooled.append(Pooled(key=hypothesis_id, family=group[0].family, labels=tuple(r.study for r in group),
                             estimates=tuple(r.estimate for r in group),
                             std_errors=tuple(r.std_error for r in group), meta=meta,
                             note="pooled across studies from each run's estimate and standard error"))
    return pooled


def _pool_across_csos(study: str, payload: dict[str, Any]) -> list[Pooled]:
    """Per-CSO estimates from a `cso_id` disaggregation; the SE is read off the (symmetrised) 95% interval."""
    pooled = []
    records = [item for item in payload.get("hypotheses", []) if isinstance(item, dict)
               and item.get("status") in STATUSES]
    for item in RunResult.from_dict({"hypotheses": records}).hypotheses:
        for block in (item.result.disaggregation if item.result is not None else None) or ():
            if block.dimension != "cso_id":
                continue
            cells = [c for c in block.rows or () if c.status == "estimated"
                     and _number(c.estimate) is not None and _number(c.ci_low) is not None
                     and _number(c.ci_high) is not None and c.ci_high > c.ci_low]  # type: ignore[operator]
            if len(cells) < 2:
                continue
            ses = [(c.ci_high - c.ci_low) / (2 * _Z_ALPHA) for c in cells]  # type: ignore[operator]
            meta = random_effects([c.estimate for c in cells], [s ** 2 for s in ses])
            pooled.append(Pooled(
                key=f"{item.id} ({study}, by CSO)", family=str(item.family or "unfamilied"),
                labels=tuple(str(c.level) for c in cells), estimates=tuple(c.estimate for c in cells),
                std_errors=tuple(ses), meta=meta,
                note="pooled across CSOs; each CSO's SE is its 95% interval's half-width / 1.96 (suppressed "
                     "cells are left out)"))
    return pooled


def what_to_test_next(rows: list[StudyRow]) -> list[dict[str, Any]]:
    """Underpowered but promising: estimated, not supported, the point estimate in the registered direction and at
    least half the SESOI (or p < 0.20 without one). The sample factor is the multiple of the current sample
    that gives 80% power at a two-sided 5% level if the point estimate were the truth (SE ∝ 1/√n)."""
    out = []
    for row in rows:
        if row.status != "estimated" or row.verdict == "supported" or not row.estimate or not row.std_error:
            continue
        if (row.direction == "greater" and row.estimate <= 0) or (row.direction == "less" and row.estimate >= 0):
            continue
        promising = (abs(row.estimate) >= 0.5 * row.sesoi) if row.sesoi else (row.p_value or 1.0) < 0.20
        if not promising:
            continue
        factor = ((_Z_ALPHA + _Z_POWER) * row.std_error / abs(row.estimate)) ** 2
        out.append({"study": row.study, "id": row.id, "family": row.family, "estimate": row.estimate,
                    "std_error": row.std_error, "verdict": row.verdict, "sample_factor_for_80pct_power": factor})
    return sorted(out, key=lambda r: r["sample_factor_for_80pct_power"])


def render_forest(family: str, pooled: list[Pooled]) -> bytes:
    """One forest plot per family: each study/CSO estimate with its 95% interval, then the pooled diamond and the
    prediction interval, per pooled hypothesis. PNG at 150 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    lines = sum(len(p.labels) + 2 for p in pooled)
    figure = Figure(figsize=(10, 1.4 + 0.32 * lines), dpi=150)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    y, ticks, names = lines, [], []
    for block in pooled:
        for label, est, se in zip(block.labels, block.estimates, block.std_errors):
            ax.errorbar([est], [y], xerr=[[_Z_ALPHA * se], [_Z_ALPHA * se]], fmt="s", color="#333333",
                        markersize=4, capsize=2)
            ticks.append(y)
            names.append(f"{block.key}: {label}")
            y -= 1
        m = block.meta
        ax.fill([m.ci_low, m.estimate, m.ci_high, m.estimate], [y, y + 0.3, y, y - 0.3], color="#1f5fa8")
        ax.plot([m.pi_low, m.pi_high], [y, y], color="#1f5fa8", linewidth=1, linestyle=":")
        ticks.append(y)
        names.append(f"{block.key}: pooled (REML, HKSJ); dotted: prediction interval")
        y -= 2
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_yticks(ticks, names, fontsize=7)
    ax.set_xlabel("effect on the hypothesis' outcome scale (95% intervals)")
    ax.set_title(f"Family {family!r}: estimates and random-effects pooled effect", fontsize=9, loc="left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _html(rows: list[StudyRow], pooled: list[Pooled], next_tests: list[dict[str, Any]],
          plots: dict[str, str], skipped: list[str]) -> str:
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Portfolio</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}</style></head><body>",
             "<h1>Portfolio of experiments</h1><h2>Every hypothesis of every study</h2><table><tr>",
             "".join(f"<th>{h}</th>" for h in ("study", "hypothesis", "family", "type", "estimator", "estimate",
                                                "95% CI", "p", "verdict")), "</tr>"]
    for r in rows:
        ci = f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if r.ci_low is not None else ""
        parts.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in (
            r.study, f"{r.id}: {r.title}", r.family, r.type, r.estimator, _fmt(r.estimate), ci,
            _fmt(r.p_value, 4), r.verdict)) + "</tr>")
    parts.append("</table><h2>Pooled effects by hypothesis family</h2>")
    if not pooled:
        parts.append("<p>No hypothesis was estimated in two or more studies or CSOs; nothing to pool.</p>")
    for family in sorted({p.family for p in pooled}):
        parts.append(f"<h3>{esc(family)}</h3><table><tr>" + "".join(f"<th>{h}</th>" for h in (
            "hypothesis", "k", "pooled", "95% CI (HKSJ)", "prediction interval", "τ² (REML)", "I² %", "Q (df)",
            "p(Q)", "note")) + "</tr>")
        for p in (p for p in pooled if p.family == family):
            m = p.meta
            parts.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in (
                p.key, m.k, _fmt(m.estimate), f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]",
                f"[{_fmt(m.pi_low)}, {_fmt(m.pi_high)}]", _fmt(m.tau2, 4), _fmt(m.i2, 1),
                f"{_fmt(m.q, 2)} ({m.q_df})", _fmt(m.q_p_value, 4), p.note)) + "</tr>")
        parts.append(f"</table><img alt='forest plot, family {esc(family)}' src='{esc(plots[family])}' "
                     "style='max-width:100%'>")
    parts.append("<h2>What to test next</h2><p>Estimated but not supported, pointing the registered way and at least "
                 "half the SESOI (or p &lt; 0.20): the sample factor is the multiple of the current sample that "
                 "gives 80% power if the estimate were true.</p><table><tr><th>study</th><th>hypothesis</th>"
                 "<th>estimate</th><th>SE</th><th>verdict</th><th>sample factor</th></tr>")
    for t in next_tests:
        parts.append("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in (
            t["study"], t["id"], _fmt(t["estimate"]), _fmt(t["std_error"]), t["verdict"],
            f"×{t['sample_factor_for_80pct_power']:.1f}")) + "</tr>")
    parts.append("</table>")
    if skipped:
        parts.append("<h2>Not pooled</h2><ul>" + "".join(f"<li>{esc(s)}</li>" for s in skipped) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def build_portfolio(run_dirs: list[Path], out: Path) -> dict[str, Any]:
    """Write ``out/index.html``, ``out/portfolio.json`` and one forest plot per family; return the JSON payload."""
    rows: list[StudyRow] = []
    pooled: list[Pooled] = []
    skipped: list[str] = []
    seen: dict[Path, Path] = {}
    for run_dir in run_dirs:
        resolved = Path(run_dir).resolve()
        if resolved in seen:  # one run twice would be pooled as two independent studies
            raise DataError("this run folder is given twice", file=str(run_dir),
                            fix="pass each study's run folder once")
        seen[resolved] = Path(run_dir)
        study, study_rows, payload = read_run(Path(run_dir))
        if any(r.study == study for r in rows):  # two runs of one study: label them apart by folder
            study = f"{study} [{Path(run_dir).name}]"
            study_rows = [StudyRow(**{**r.__dict__, "study": study}) for r in study_rows]
        rows.extend(study_rows)
        try:
            pooled.extend(_pool_across_csos(study, payload))
        except EstimationError as exc:
            skipped.append(f"{study} by CSO: {exc}")
    pooled = _pool_across_runs(rows) + pooled
    next_tests = what_to_test_next(rows)
    families = sorted({p.family for p in pooled})
    plot_names = {f: f"forest_{i:02d}.png" for i, f in enumerate(families, start=1)}
    payload = {"schema_version": 1, "runs": [str(d) for d in run_dirs],
               "hypotheses": [r.__dict__ for r in rows],
               "pooled": [{"key": p.key, "family": p.family, "labels": list(p.labels),
                           "estimates": list(p.estimates), "std_errors": list(p.std_errors), "note": p.note,
                           "meta": p.meta.to_dict(), "forest_plot": plot_names[p.family]} for p in pooled],
               "what_to_test_next": next_tests, "not_pooled": skipped}
    with staged_directory(out) as staging:  # nothing half-written: the folder appears whole or not at all
        for family, name in plot_names.items():
            atomic_write_bytes(staging / name, render_forest(family, [p for p in pooled if p.family == family]))
        atomic_write_json(staging / "portfolio.json", payload)
        atomic_write_text(staging / "index.html", _html(rows, pooled, next_tests, plot_names, skipped))
    return payload
