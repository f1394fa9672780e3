"""The portfolio page: every hypothesis of every study, pooled effects by hypothesis family (random-effects
meta-analysis and its Bayesian hierarchical equivalent), forest and shrinkage plots, and what the next round of
experiments should test (``oca portfolio RUN_DIR... --out DIR``).

Reads only each run's ``results.json`` (the stable public interface), optional design diagnoses
(``<design dir>/<hypothesis id>/diagnosis.json``, written by ``oca design diagnose``) and an optional truth file
(the demo's ``truth.json``). Nothing is refitted.

What is pooled
    - *across studies*: a hypothesis id estimated in two or more runs (each run's estimate and standard error; for a
      Bayesian hypothesis the posterior mean and posterior SD, which the page says);
    - *across CSOs within one study*: per-CSO estimates of a hypothesis, from ``extras.by_group`` (the pipeline
      re-runs the registered estimator within each level of the registered ``design.group`` column, e.g. cso_id),
      a ``disaggregate: [cso_id]`` table, or an engagement estimator's per-campaign results when each campaign
      belongs to one CSO (``extras.by_campaign``). Bayesian hypotheses' per-CSO effects are already partially
      pooled by their own model and are not pooled again.

Frequentist pooling: REML τ², Hartung–Knapp–Sidik–Jonkman interval (floored at max(1, q) by default, or
unfloored; the page states which), prediction interval, I². Bayesian pooling: the normal–normal hierarchical
model of ``summarize.meta_bayes`` (needs the ``bayes`` extra; without it the page says so and shows the rest).
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .._atomic import atomic_write_bytes, atomic_write_json, atomic_write_text, staged_directory
from ..errors import DataError, EstimationError
from ..results import HypothesisResult, RunResult
from ..summarize.meta import INTERVAL_DESCRIPTIONS, MetaAnalysis, random_effects

_Z_ALPHA = 1.959963984540054  # two-sided 5%
_Z_POWER = 0.8416212335729143  # 80% power
_POSITIVE = {"increase", "greater"}
_NEGATIVE = {"decrease", "less"}
_POSTERIOR_SE = {"posterior_sd", "posterior"}


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
    se_type: str = ""

    @property
    def bayesian(self) -> bool:
        return self.se_type in _POSTERIOR_SE


@dataclass(frozen=True)
class Pooled:
    key: str
    hypothesis_id: str
    study: str | None  # the study whose CSOs are pooled; None when pooled across studies
    family: str
    direction: str
    sesoi: float | None
    labels: tuple[str, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    meta: MetaAnalysis
    note: str
    bayes: Any = None  # summarize.meta_bayes.BayesianMeta
    bayes_note: str = ""
    truth: float | None = None
    notes: tuple[str, ...] = field(default=())
    label: str = ""  # what the page and plots show (the key without the study when there is one study)

    @property
    def shown(self) -> str:
        return self.label or self.key


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None


def read_run(run_dir: Path) -> tuple[str, list[StudyRow], RunResult]:
    """One run directory's results.json as table rows and the typed run (its parts read by attribute); DataError
    naming the file when it is not one."""
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
    for item in payload["hypotheses"]:
        if not isinstance(item, dict) or "id" not in item:
            raise DataError("a hypothesis record has no 'id'", file=str(path), fix="rerun `oca run`")
    try:
        run = RunResult.from_dict(payload)
    except (TypeError, ValueError) as exc:  # e.g. an unknown status: not a results.json oca wrote
        raise DataError(f"a hypothesis record cannot be read ({exc})", file=str(path),
                        fix="pass a results.json written by `oca run` (schema_version 1)") from None
    rows = [_study_row(study, run_dir, h) for h in run.hypotheses]
    return study, rows, run


def _study_row(study: str, run_dir: Path, h: HypothesisResult) -> StudyRow:
    r = h.result
    return StudyRow(
        study=study, run_dir=str(run_dir), id=str(h.id), title=str(h.title or h.id),
        family=str(h.family or "unfamilied"), type=str(h.type or ""), estimator=str(h.estimator or ""),
        status=str(h.status or ""), verdict=str(h.verdict or h.status or ""),
        estimate=_number(r.estimate if r else None), std_error=_number(r.std_error if r else None),
        ci_low=_number(r.ci_low if r else None), ci_high=_number(r.ci_high if r else None),
        p_value=_number(r.p_value if r else None), direction=str(h.direction or "two_sided"),
        sesoi=_number(h.sesoi), se_type=str(r.se_type or "") if r else "")


def _meta(estimates: list[float], ses: list[float], interval: str) -> MetaAnalysis:
    return random_effects(estimates, [s ** 2 for s in ses], method="REML", interval=interval)  # type: ignore[arg-type]


def _pool_across_runs(rows: list[StudyRow], interval: str) -> list[Pooled]:
    by_id: dict[str, list[StudyRow]] = {}
    for row in rows:
        if row.status == "estimated" and row.estimate is not None and row.std_error and row.std_error > 0:
            by_id.setdefault(row.id, []).append(row)
    pooled = []
    for hypothesis_id, group in sorted(by_id.items()):
        if len(group) < 2:
            continue
        notes = []
        if any(r.bayesian for r in group):
            notes.append("Bayesian hypothesis: each study's posterior mean and posterior SD are used as its "
                         "estimate and standard error (a normal approximation to its posterior)")
        pooled.append(Pooled(
            key=hypothesis_id, hypothesis_id=hypothesis_id, study=None, family=group[0].family,
            direction=group[0].direction, sesoi=group[0].sesoi, labels=tuple(r.study for r in group),
            estimates=tuple(r.estimate for r in group),  # type: ignore[misc]
            std_errors=tuple(r.std_error for r in group),  # type: ignore[misc]
            meta=_meta([r.estimate for r in group], [r.std_error for r in group], interval),  # type: ignore[misc]
            note="pooled across studies from each run's estimate and standard error", notes=tuple(notes)))
    return pooled


def _cso_cells(hypothesis: HypothesisResult,
               group_column: str) -> tuple[list[tuple[str, float, float]], str] | None:
    """(label, estimate, SE) per CSO of one estimated hypothesis, and where they came from; None without any."""
    result = hypothesis.result
    assert result is not None
    tables = [result.by_group] if result.by_group is not None else []
    tables += list(result.disaggregation or ())
    for block in tables:
        if block.dimension != group_column:
            continue
        cells, from_ci = [], False
        for c in block.rows or ():
            est = _number(c.estimate)
            if c.status != "estimated" or est is None:
                continue  # suppressed and not-estimable cells are left out
            se = _number(c.std_error)
            if se is None:
                low, high = _number(c.ci_low), _number(c.ci_high)
                if low is None or high is None or not high > low:
                    continue
                se, from_ci = (high - low) / (2 * _Z_ALPHA), True
            if se > 0:
                cells.append((str(c.level), est, se))
        source = ("per-CSO estimates of the registered estimator re-run within each " + group_column +
                  (" (SE: the 95% interval's half-width / 1.96)" if from_ci else " (SE: each cell's standard error)"))
        return cells, source
    if result.by_campaign is not None:
        cells = []
        for c in result.by_campaign:
            groups = list(c.groups) if c.groups is not None else [c.group]
            # staggered cohorts carry an estimate, ITS campaigns their average effect
            est = _number(c.estimate if c.estimate is not None else c.average_effect)
            se = _number(c.std_error)
            if len(groups) == 1 and groups[0] is not None and est is not None and se and se > 0:
                cells.append((str(groups[0]), est, se))
        if cells:
            return cells, "per-campaign estimates of the registered estimator (one CSO each; SE as reported)"
    return None


def _pool_across_csos(study: str, run: RunResult, interval: str, group_column: str,
                      skipped: list[str]) -> list[Pooled]:
    pooled = []
    for hypothesis in run.hypotheses:
        result = hypothesis.result
        if hypothesis.status != "estimated" or result is None:
            continue
        if str(result.se_type or "") in _POSTERIOR_SE:
            if result.group_effects:
                skipped.append(f"{study} {hypothesis.id}: its per-CSO effects are already partially pooled by its "
                               "own hierarchical model; not pooled again")
            continue
        found = _cso_cells(hypothesis, group_column)
        if found is None:
            continue
        cells, source = found
        labels = [c[0] for c in cells]
        if len(cells) < 2 or len(set(labels)) != len(labels):
            skipped.append(f"{study} {hypothesis.id}: fewer than two distinct estimated CSOs")
            continue
        try:
            meta = _meta([c[1] for c in cells], [c[2] for c in cells], interval)
        except EstimationError as exc:
            skipped.append(f"{study} {hypothesis.id} by CSO: {exc}")
            continue
        pooled.append(Pooled(
            key=f"{hypothesis.id} ({study}, by CSO)", hypothesis_id=str(hypothesis.id), study=study,
            family=str(hypothesis.family or "unfamilied"), direction=str(hypothesis.direction or "two_sided"),
            sesoi=_number(hypothesis.sesoi), labels=tuple(labels), estimates=tuple(c[1] for c in cells),
            std_errors=tuple(c[2] for c in cells), meta=meta,
            note=f"pooled across CSOs: {source}; each SE is treated as known (with few clusters per CSO it is "
                 "itself noisy: read the interval with that in mind)"))
    return pooled


def pooled_verdict(low: float, high: float, direction: str) -> str:
    """The pooled interval against 0 on the registered side: 'effect in the registered direction', 'effect
    against the registered direction' or 'inconclusive' (two-sided hypotheses: 'effect' / 'inconclusive')."""
    if direction in _POSITIVE or direction in _NEGATIVE:
        sign = 1.0 if direction in _POSITIVE else -1.0
        if sign * low > 0 and sign * high > 0:
            return "effect in the registered direction"
        if sign * low < 0 and sign * high < 0:
            return "effect against the registered direction"
        return "inconclusive"
    return "effect" if low > 0 or high < 0 else "inconclusive"


def _add_bayes(pooled: list[Pooled], settings: Any) -> tuple[list[Pooled], str]:
    """Each pooled block with its hierarchical-model fit; a page-level note when the extra is missing."""
    from .._extras import install_hint, missing
    from ..summarize.meta_bayes import HierarchicalPrior, bayesian_random_effects

    absent = missing("bayes")
    if absent:
        return pooled, (f"The Bayesian hierarchical pooling needs the bayes extra ({install_hint('bayes')}); "
                        "this installation has the frequentist pooling only.")
    out = []
    for block in pooled:
        try:
            fit = bayesian_random_effects(block.estimates, block.std_errors, block.labels,
                                          prior=HierarchicalPrior(), settings=settings)
            out.append(replace(block, bayes=fit))
        except EstimationError as exc:
            out.append(replace(block, bayes_note=str(exc)))
    return out, ""


def _power_at(curve: list[dict[str, Any]], effect: float) -> float | None:
    points = sorted((float(p["effect"]), float(p["power"])) for p in curve
                    if _number(p.get("effect")) is not None and _number(p.get("power")) is not None)
    if not points:
        return None
    if effect <= points[0][0]:
        return points[0][1]
    for (x0, p0), (x1, p1) in zip(points, points[1:]):
        if x0 <= effect <= x1:
            return p0 if x1 == x0 else p0 + (p1 - p0) * (effect - x0) / (x1 - x0)
    return points[-1][1]


def _diagnosis(design_dirs: list[Path], hypothesis_id: str) -> dict[str, Any] | None:
    for directory in design_dirs:
        path = Path(directory) / hypothesis_id / "diagnosis.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                raise DataError("diagnosis.json is not readable JSON", file=str(path),
                                fix=f"rerun `oca design diagnose STUDY {hypothesis_id}`") from None
    return None


def what_to_test_next(rows: list[StudyRow], design_dirs: list[Path] | None = None) -> list[dict[str, Any]]:
    """Underpowered but promising: estimated, not supported, the point estimate in the registered direction and at
    least half the SESOI (or p < 0.20 without one).

    Power at the observed estimate comes from the hypothesis' design diagnosis when one exists (simulated power
    curve of the registered design, linear interpolation; ``oca design diagnose``), else from the normal
    approximation with the run's SE. The sample factor is the multiple of the current sample that gives 80% power
    at a two-sided 5% level if the point estimate were the truth (SE ∝ 1/√n). For a Bayesian hypothesis (decision
    registered against the SESOI) both are computed for the distance between the estimate and the SESOI."""
    out = []
    for row in rows:
        if row.status != "estimated" or row.verdict == "supported" or not row.estimate or not row.std_error:
            continue
        if (row.direction in _POSITIVE and row.estimate <= 0) or (row.direction in _NEGATIVE and row.estimate >= 0):
            continue
        promising = (abs(row.estimate) >= 0.5 * row.sesoi) if row.sesoi else (row.p_value or 1.0) < 0.20
        if not promising:
            continue
        # a Bayesian decision is registered against the SESOI: power is for clearing it, not 0
        margin = abs(row.estimate) - (row.sesoi if row.bayesian and row.sesoi else 0.0)
        if margin <= 0:
            continue
        factor = ((_Z_ALPHA + _Z_POWER) * row.std_error / margin) ** 2
        z = margin / row.std_error
        from scipy import stats

        power = float(stats.norm.sf(_Z_ALPHA - z) + stats.norm.cdf(-_Z_ALPHA - z))
        source = "normal approximation with the run's SE"
        mde = None
        diagnosis = _diagnosis(design_dirs or [], row.id)
        if diagnosis is not None:
            simulated = _power_at(diagnosis.get("power_curve") or [], abs(row.estimate))
            if simulated is not None:
                power, source = simulated, "design diagnosis (simulated power curve of the registered design)"
            mde = _number((diagnosis.get("mde") or {}).get("value"))
        if power >= 0.8:
            continue  # promising and already well powered: not a next-round priority
        out.append({"study": row.study, "id": row.id, "family": row.family, "estimate": row.estimate,
                    "std_error": row.std_error, "verdict": row.verdict, "power_at_estimate": power,
                    "power_source": source, "design_mde": mde, "sample_factor_for_80pct_power": factor,
                    "diagnose": f"oca design diagnose STUDY {row.id} --effect {abs(row.estimate):.3g}"})
    return sorted(out, key=lambda r: r["sample_factor_for_80pct_power"])


# --------------------------------------------------------------------------- plots


def _figure(height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height), dpi=150)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150)
    return buffer.getvalue()


def render_forest(family: str, pooled: list[Pooled], interval: str = "hksj_floored") -> bytes:
    """One forest plot per family, one panel per pooled hypothesis (each on its own outcome scale): each
    study/CSO estimate with its 95% interval, the frequentist pooled diamond with its prediction interval (dotted)
    and, when fitted, the Bayesian posterior of μ with a new unit's 95% interval (dotted); a green star marks the
    true pooled value when one is known (the demo)."""
    sizes = [len(p.labels) + (3 if p.bayes is not None else 2) for p in pooled]
    figure = _figure(0.9 + sum(0.28 * n + 0.55 for n in sizes))
    axes = figure.subplots(len(pooled), 1, squeeze=False, gridspec_kw={"height_ratios": sizes})[:, 0]
    label = "pooled, REML + HKSJ" + (" floored" if interval == "hksj_floored" else "")
    for ax, block, size in zip(axes, pooled, sizes):
        y, ticks, names = size - 1, [], []
        for name, est, se in zip(block.labels, block.estimates, block.std_errors):
            ax.errorbar([est], [y], xerr=[[_Z_ALPHA * se], [_Z_ALPHA * se]], fmt="s", color="#333333",
                        markersize=4, capsize=2)
            ticks.append(y)
            names.append(name)
            y -= 1
        m = block.meta
        ax.fill([m.ci_low, m.estimate, m.ci_high, m.estimate], [y, y + 0.3, y, y - 0.3], color="#1f5fa8")
        ax.plot([m.pi_low, m.pi_high], [y, y], color="#1f5fa8", linewidth=1, linestyle=":")
        ticks.append(y)
        names.append(label)
        if block.truth is not None:
            ax.plot([block.truth], [y], marker="*", color="#2a9d2a", markersize=11, linestyle="none", zorder=5)
        y -= 1
        if block.bayes is not None:
            b = block.bayes
            ax.plot([b.pred_low, b.pred_high], [y, y], color="#b3541e", linewidth=1, linestyle=":")
            ax.errorbar([b.mu_mean], [y], xerr=[[b.mu_mean - b.mu_ci_low], [b.mu_ci_high - b.mu_mean]], fmt="D",
                        color="#b3541e", markersize=5, capsize=3)
            ticks.append(y)
            names.append("Bayesian μ (partial pooling)")
            if block.truth is not None:
                ax.plot([block.truth], [y], marker="*", color="#2a9d2a", markersize=11, linestyle="none", zorder=5)
        ax.axvline(0.0, color="#999999", linewidth=0.8)
        ax.set_yticks(ticks, names, fontsize=8)
        ax.set_ylim(y - 0.7, size - 0.3)
        ax.set_title(block.shown, fontsize=9, loc="left")
    axes[-1].set_xlabel("effect on each hypothesis' own scale; bars 95% intervals; dotted: prediction for a new "
                        "CSO/study; green star: true pooled value", fontsize=8)
    figure.suptitle(f"Family {family!r}: estimates and pooled effects", fontsize=10, x=0.01, ha="left")
    return _png(figure)


def render_shrinkage(family: str, pooled: list[Pooled]) -> bytes:
    """Raw vs partially pooled estimates: per block, each unit's raw estimate ± 1.96 SE (grey) above its
    posterior mean and 95% interval under the hierarchical model (orange), with the posterior mean of μ."""
    blocks = [p for p in pooled if p.bayes is not None]
    figure = _figure(1.2 + sum(0.55 * len(p.labels) + 0.6 for p in blocks))
    axes = figure.subplots(len(blocks), 1, squeeze=False,
                           gridspec_kw={"height_ratios": [len(p.labels) for p in blocks]})[:, 0]
    for ax, block in zip(axes, blocks):
        b = block.bayes
        k = len(block.labels)
        for j, unit in enumerate(b.units):
            row = k - j
            ax.errorbar([unit.raw], [row + 0.15], xerr=[[_Z_ALPHA * unit.raw_se], [_Z_ALPHA * unit.raw_se]],
                        fmt="o", color="#888888", markersize=4, capsize=2)
            ax.errorbar([unit.mean], [row - 0.15], xerr=[[unit.mean - unit.ci_low], [unit.ci_high - unit.mean]],
                        fmt="D", color="#b3541e", markersize=4, capsize=2)
            ax.annotate("", xy=(unit.mean, row - 0.1), xytext=(unit.raw, row + 0.1),
                        arrowprops={"arrowstyle": "->", "color": "#555555", "linewidth": 0.7})
        ax.axvline(b.mu_mean, color="#b3541e", linewidth=1, linestyle="--")
        ax.axvline(0.0, color="#999999", linewidth=0.8)
        ax.set_yticks(range(k, 0, -1), list(block.labels), fontsize=8)
        ax.set_ylim(0.4, k + 0.6)
        ax.set_title(block.shown, fontsize=9, loc="left")
    axes[-1].set_xlabel("effect; grey: raw estimate ± 1.96 SE; orange: partially pooled posterior mean and 95% "
                        "interval; dashed: posterior mean of μ", fontsize=8)
    figure.suptitle(f"Family {family!r}: shrinkage under the hierarchical model", fontsize=10, x=0.01, ha="left")
    return _png(figure)


# --------------------------------------------------------------------------- page


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:0 16px;color:#222;"
        "line-height:1.4}table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;"
        "padding:4px 7px;font-size:13px;vertical-align:top}th{background:#f2f4f7;text-align:left}"
        "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
        ".note{color:#555;font-size:13px}.ok{color:#1b7a1b}.miss{color:#b00020;font-weight:600}"
        "img{max-width:100%;border:1px solid #eee;margin:6px 0}")


def _table(headers: tuple[str, ...], rows: list[tuple[Any, ...]], numeric: set[int] = frozenset()) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{esc(str(c))}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _covered(low: float, high: float, truth: float | None) -> str:
    if truth is None:
        return ""
    return "yes" if low <= truth <= high else "NO"


def _html(rows: list[StudyRow], pooled: list[Pooled], next_tests: list[dict[str, Any]],
          plots: dict[str, dict[str, str]], skipped: list[str], interval: str, bayes_missing: str) -> str:
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Portfolio of experiments</title>",
             f"<style>{_CSS}</style></head><body><h1>Portfolio of experiments</h1>",
             "<h2>Every hypothesis of every study</h2>"]
    studies = sorted({r.study for r in rows})
    single = len(studies) == 1
    if single:
        parts.append(f"<p>Study: <b>{esc(studies[0])}</b> (one study: pooling is across its CSOs).</p>")
    study_rows = []
    for r in rows:
        ci = f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]" if r.ci_low is not None else ""
        cells = (f"{r.id}: {r.title}", r.family, r.type, r.estimator, _fmt(r.estimate),
                 _fmt(r.std_error) + (" (posterior SD)" if r.bayesian and r.std_error is not None else ""),
                 ci, _fmt(r.p_value, 4), r.verdict)
        study_rows.append(cells if single else (r.study, *cells))
    headers = ("hypothesis", "family", "type", "estimator", "estimate", "SE", "95% interval", "p", "verdict")
    shift = 0 if single else 1
    parts.append(_table(headers if single else ("study", *headers), study_rows, {4 + shift, 5 + shift, 6 + shift,
                                                                              7 + shift}))
    if any(r.bayesian for r in rows):
        parts.append("<p class=note>For Bayesian hypotheses the estimate is the posterior mean and the SE column "
                     "is the posterior SD; the interval is the registered credible interval, and no p-value exists. "
                     "Where such a hypothesis is pooled, its posterior mean and SD are used as estimate and SE.</p>")
    parts.append("<h2>Pooled effects by hypothesis family</h2>")
    parts.append(f"<p class=note>Frequentist: random-effects meta-analysis, τ² by REML, interval "
                 f"{esc(INTERVAL_DESCRIPTIONS[interval])}; prediction interval for a new CSO's or study's true "
                 "effect. Bayesian: normal–normal hierarchical model, μ ~ flat (p(μ) ∝ 1), τ ~ half-Cauchy(0, the "
                 "median SE of the pooled estimates) (Gelman 2006), sampled with nutpie (4 chains × 1000 draws), "
                 "95% equal-tailed intervals; the θ_j are integrated out for sampling and drawn from their exact "
                 "conditional; a new unit's effect is μ + τ·N(0, 1). Pooled verdict: the pooled "
                 "95% interval against 0 on the registered side. These pooled effects are descriptive summaries "
                 "across CSOs and studies, not preregistered tests.</p>")
    if bayes_missing:
        parts.append(f"<p class=miss>{esc(bayes_missing)}</p>")
    if not pooled:
        parts.append("<p>No hypothesis was estimated in two or more studies or CSOs; nothing to pool.</p>")
    for family in sorted({p.family for p in pooled}):
        blocks = [p for p in pooled if p.family == family]
        parts.append(f"<h3>Family: {esc(family)}</h3>")
        table = []
        for p in blocks:
            m = p.meta
            table.append((p.shown, m.k, _fmt(m.estimate), f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]",
                          f"[{_fmt(m.pi_low)}, {_fmt(m.pi_high)}]", _fmt(math.sqrt(m.tau2), 4), _fmt(m.i2, 1),
                          pooled_verdict(m.ci_low, m.ci_high, p.direction), _fmt(p.truth),
                          _covered(m.ci_low, m.ci_high, p.truth)))
        parts.append("<h4>Frequentist (REML)</h4>" + _table(
            ("pooled hypothesis", "k", "pooled", "95% CI", "prediction interval", "τ", "I² %", "pooled verdict",
             "true pooled value", "CI covers truth"), table, {1, 2, 3, 4, 5, 6, 8}))
        bayes_rows = []
        for p in blocks:
            b = p.bayes
            if b is None:
                if p.bayes_note:
                    bayes_rows.append((p.shown, "", "", "", "", "", "", p.bayes_note, "", ""))
                continue
            gate = "passed" if b.diagnostics_passed else "FAILED: " + "; ".join(b.diagnostics_failures)
            bayes_rows.append((p.shown, _fmt(b.mu_mean), f"[{_fmt(b.mu_ci_low)}, {_fmt(b.mu_ci_high)}]",
                               _fmt(b.p_mu_positive), f"{_fmt(b.tau_median)} [{_fmt(b.tau_ci_low)}, "
                               f"{_fmt(b.tau_ci_high)}]", f"[{_fmt(b.pred_low)}, {_fmt(b.pred_high)}]",
                               f"{_fmt(b.tau_scale, 4)}", gate,
                               pooled_verdict(b.mu_ci_low, b.mu_ci_high, p.direction),
                               _covered(b.mu_ci_low, b.mu_ci_high, p.truth)))
        if bayes_rows:
            parts.append("<h4>Bayesian hierarchical model (partial pooling)</h4>" + _table(
                ("pooled hypothesis", "μ (posterior mean)", "95% interval", "P(μ > 0)", "τ median [95%]",
                 "new CSO/study, 95%", "τ prior scale", "diagnostics (R-hat, ESS, divergences, E-BFMI)",
                 "pooled verdict", "interval covers truth"), bayes_rows, {1, 2, 3, 4, 5, 6}))
        notes = sorted({p.note for p in blocks} | {n for p in blocks for n in p.notes})
        parts.append("<ul class=note>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>")
        parts.append(f"<img alt='forest plot, family {esc(family)}' src='{esc(plots[family]['forest'])}'>")
        if "shrinkage" in plots[family]:
            parts.append(f"<img alt='shrinkage plot, family {esc(family)}' "
                         f"src='{esc(plots[family]['shrinkage'])}'>")
    parts.append("<h2>What the next round should test</h2><p class=note>Estimated but not supported, pointing "
                 "the registered way and at least half the SESOI (or p &lt; 0.20), and with power below 80% at the "
                 "observed effect: from the hypothesis' design diagnosis (<code>oca design diagnose</code>, "
                 "simulated power of the registered design) when there is one, else the normal approximation with "
                 "the run's SE. The sample factor is the multiple of the current sample that gives 80% power if the "
                 "estimate were true.</p>")
    next_rows = [(t["study"], t["id"], _fmt(t["estimate"]), _fmt(t["std_error"]), t["verdict"],
                  f"{t['power_at_estimate']:.2f}", t["power_source"], _fmt(t["design_mde"]),
                  f"×{t['sample_factor_for_80pct_power']:.1f}", t["diagnose"]) for t in next_tests]
    next_headers = ("study", "hypothesis", "estimate", "SE", "verdict", "power at the estimate", "power from",
                    "design MDE (80% power)", "sample factor", "to diagnose the next design")
    if single:
        parts.append(_table(next_headers[1:], [r[1:] for r in next_rows], {1, 2, 4, 6, 7}))
    else:
        parts.append(_table(next_headers, next_rows, {2, 3, 5, 7, 8}))
    if skipped:
        parts.append("<h2>Not pooled</h2><ul>" + "".join(f"<li>{esc(s)}</li>" for s in skipped) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def _read_truth(path: Path | None) -> dict[str, float]:
    if path is None:
        return {}
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"the truth file is not readable JSON ({type(exc).__name__})", file=str(path),
                        fix="pass the truth.json written by `oca demo`") from None
    values = (payload.get("extras") or {}).get("portfolio_pooled_by_cso") if isinstance(payload, dict) else None
    if not isinstance(values, dict):
        raise DataError("field 'extras.portfolio_pooled_by_cso' is missing", file=str(path),
                        fix="pass the truth.json written by `oca demo` (this oca version or later)")
    return {str(k): float(v) for k, v in values.items() if _number(v) is not None}


def build_portfolio(run_dirs: list[Path], out: Path, *, interval: str = "hksj_floored", bayes: bool = True,
                    truth: Path | None = None, design_dirs: list[Path] | None = None, group_column: str = "cso_id",
                    bayes_settings: Any = None) -> dict[str, Any]:
    """Write ``out/index.html``, ``out/portfolio.json``, a forest plot per family and a shrinkage plot per family
    (when the Bayesian pooling ran); return the JSON payload."""
    if interval not in INTERVAL_DESCRIPTIONS:
        raise DataError(f"unknown interval '{interval}'", fix=f"use one of {', '.join(INTERVAL_DESCRIPTIONS)}")
    truths = _read_truth(truth)
    for directory in design_dirs or []:  # checked before any work: a mistyped folder would silently drop power
        if not Path(directory).is_dir():
            raise DataError("the design folder does not exist", file=str(directory),
                            fix="pass a folder holding <hypothesis id>/diagnosis.json (e.g. STUDY/design)")
    rows: list[StudyRow] = []
    pooled: list[Pooled] = []
    skipped: list[str] = []
    seen: set[Path] = set()
    for run_dir in run_dirs:
        resolved = Path(run_dir).resolve()
        if resolved in seen:  # one run twice would be pooled as two independent studies
            raise DataError("this run folder is given twice", file=str(run_dir),
                            fix="pass each study's run folder once")
        seen.add(resolved)
        study, study_rows, run = read_run(Path(run_dir))
        if any(r.study == study for r in rows):  # two runs of one study: label them apart by folder
            study = f"{study} [{Path(run_dir).name}]"
            study_rows = [replace(r, study=study) for r in study_rows]
        rows.extend(study_rows)
        pooled.extend(_pool_across_csos(study, run, interval, group_column, skipped))
    pooled = _pool_across_runs(rows, interval) + pooled
    # the demo's truths are per-CSO pooled targets of its one study
    pooled = [replace(p, truth=truths.get(p.hypothesis_id)) if p.study is not None else p for p in pooled]
    single = len({r.study for r in rows}) == 1
    pooled = [replace(p, label=f"{p.hypothesis_id} by CSO" if single and p.study is not None else p.key)
              for p in pooled]
    bayes_missing = ""
    if bayes and pooled:
        pooled, bayes_missing = _add_bayes(pooled, bayes_settings)
    elif not bayes:
        bayes_missing = "Bayesian pooling switched off (--no-bayes)."
    next_tests = what_to_test_next(rows, design_dirs)
    families = sorted({p.family for p in pooled})
    plots: dict[str, dict[str, str]] = {}
    for i, family in enumerate(families, start=1):
        plots[family] = {"forest": f"forest_{i:02d}.png"}
        if any(p.bayes is not None for p in pooled if p.family == family):
            plots[family]["shrinkage"] = f"shrinkage_{i:02d}.png"
    payload_out = {
        "schema_version": 1, "runs": [str(d) for d in run_dirs], "interval": interval,
        "interval_description": INTERVAL_DESCRIPTIONS[interval], "bayes_note": bayes_missing,
        "hypotheses": [{**r.__dict__, "se_is_posterior_sd": r.bayesian} for r in rows],
        "pooled": [{"key": p.key, "hypothesis_id": p.hypothesis_id, "study": p.study, "family": p.family,
                    "labels": list(p.labels), "estimates": list(p.estimates), "std_errors": list(p.std_errors),
                    "note": p.note, "notes": list(p.notes), "meta": p.meta.to_dict(),
                    "verdict": pooled_verdict(p.meta.ci_low, p.meta.ci_high, p.direction),
                    "bayes": p.bayes.to_dict() if p.bayes is not None else None, "bayes_note": p.bayes_note,
                    "truth": p.truth,
                    "truth_covered": None if p.truth is None else p.meta.ci_low <= p.truth <= p.meta.ci_high,
                    "truth_covered_bayes": None if p.truth is None or p.bayes is None
                    else p.bayes.mu_ci_low <= p.truth <= p.bayes.mu_ci_high,
                    "forest_plot": plots[p.family]["forest"], "shrinkage_plot": plots[p.family].get("shrinkage")}
                   for p in pooled],
        "what_to_test_next": next_tests, "not_pooled": skipped}
    with staged_directory(out) as staging:  # nothing half-written: the folder appears whole or not at all
        for family, names in plots.items():
            blocks = [p for p in pooled if p.family == family]
            atomic_write_bytes(staging / names["forest"], render_forest(family, blocks, interval))
            if "shrinkage" in names:
                atomic_write_bytes(staging / names["shrinkage"], render_shrinkage(family, blocks))
        atomic_write_json(staging / "portfolio.json", payload_out)
        atomic_write_text(staging / "index.html", _html(rows, pooled, next_tests, plots, skipped, interval,
                                                        bayes_missing))
    return payload_out
