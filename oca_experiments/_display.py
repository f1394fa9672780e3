"""How results show themselves in notebooks: compact summary tables (``summary()``, ``_repr_html_``) and figures
(``plot()``). Reads results through small accessors so that typed result parts can replace ``extras`` keys here
alone. Nothing here prints or writes files; figures are returned, never shown.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ._format import format_p, inference_label

BAYESIAN_SE = "posterior_sd"
_RESAMPLED = ("wild_", "randomization")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- accessors ---------------------------------------------------------------------------------------------------

def inference_record(extras: Mapping[str, Any]) -> Mapping[str, Any]:
    record = extras.get("inference")
    return record if isinstance(record, Mapping) else {}


def inference_method(se_type: str | None, extras: Mapping[str, Any]) -> str | None:
    """The method that produced the interval and p-value (``wild_webb`` when the few-cluster rule fired)."""
    return inference_record(extras).get("primary") or se_type


def std_error_type(se_type: str | None, extras: Mapping[str, Any]) -> str | None:
    """What the reported standard error is: the studentizing CR1 SE when a bootstrap produced the inference."""
    record = inference_record(extras)
    primary = str(record.get("primary") or se_type or "")
    if primary.startswith(_RESAMPLED) and "alternatives" in record:
        return "CR1" if "CR1" in (record.get("alternatives") or {}) else record.get("registered_se")
    return se_type


def resampling_draws(extras: Mapping[str, Any]) -> tuple[int | None, bool]:
    record = inference_record(extras)
    primary = (record.get("alternatives") or {}).get(record.get("primary")) if isinstance(
        record.get("alternatives"), Mapping) else None
    if isinstance(primary, Mapping) and _finite(primary.get("draws")):
        return int(primary["draws"]), bool(primary.get("enumerated"))
    return None, False


def inference_text(se_type: str | None, extras: Mapping[str, Any]) -> str:
    if se_type == BAYESIAN_SE or extras.get("bayesian"):
        return "posterior"
    return inference_label(se_type, extras.get("inference") or None)


def p_text(p_value: Any, extras: Mapping[str, Any]) -> str:
    draws, enumerated = resampling_draws(extras)
    return format_p(p_value, draws=draws, enumerated=enumerated)


def posterior_claim(h: Any) -> str | None:
    """The probability the Bayesian verdict uses, in the registered direction: P(effect < -0.02) = 0.934.

    ``h``: a ``HypothesisResult`` (typed parts, read by attribute) or its results.json record."""
    if isinstance(h, Mapping):
        extras = h.get("extras") if isinstance(h.get("extras"), Mapping) else {}
        posterior = extras.get("posterior") if isinstance(extras.get("posterior"), Mapping) else {}
        rule = extras.get("decision_rule") if isinstance(extras.get("decision_rule"), Mapping) else {}
        sesoi, direction = h.get("sesoi"), h.get("direction")
    else:
        result = h.result
        posterior = (result.posterior if result is not None else None) or {}
        rule = (result.decision_rule if result is not None else None) or {}
        sesoi, direction = h.sesoi, h.direction
    if not posterior:
        return None
    bar = float(sesoi) if rule.get("against", "sesoi") == "sesoi" and _finite(sesoi) and sesoi > 0 else 0.0
    up_key, down_key = ("p_gt_sesoi", "p_lt_minus_sesoi") if bar else ("p_gt_0", "p_lt_0")
    up, down = posterior.get(up_key), posterior.get(down_key)
    needed = rule.get("probability", 0.95)
    suffix = f" (needed: {needed:g})" if _finite(needed) else ""
    if direction == "decrease" and _finite(down):
        return f"P(effect < {-bar:g}) = {down:.3f}{suffix}"
    if direction == "increase" and _finite(up):
        return f"P(effect > {bar:g}) = {up:.3f}{suffix}"
    if _finite(up) and _finite(down):
        return (f"P(effect > {bar:g}) = {up:.3f}" if up >= down else f"P(effect < {-bar:g}) = {down:.3f}") + suffix
    return None


# --- tables ------------------------------------------------------------------------------------------------------

def estimate_row(result: Any) -> dict[str, Any]:
    """One row for an ``EstimateResult`` (numbers stay numbers; p and inference as text, in the one format)."""
    extras = result.extras
    bayesian = result.se_type == BAYESIAN_SE or bool(extras.get("bayesian"))
    return {"estimate": result.estimate, "std_error": result.std_error,
            "std_error_type": "posterior SD" if bayesian else std_error_type(result.se_type, extras),
            "ci_low": result.ci_low, "ci_high": result.ci_high, "ci_level": result.ci_level,
            "p_value": "no p-value (posterior)" if bayesian else p_text(result.p_value, extras),
            "n": result.n, "n_clusters": result.n_clusters, "inference": inference_text(result.se_type, extras)}


def hypothesis_row(h: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"id": h.id, "title": h.title, "type": h.type, "status": h.status,
                           "verdict": h.verdict if h.verdict is not None else h.status.replace("_", " ")}
    if h.result is not None:
        row.update(estimate_row(h.result))
    else:
        row["reason"] = h.reason
    return row


def frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows)).reset_index(drop=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return str(value)


def html_table(table: pd.DataFrame, caption: str) -> str:
    """A compact, escaped HTML table with a caption and scoped headers (no pandas styling, no scripts)."""
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return (f'<table class="oca-result"><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


# --- figures: event study and counterfactual paths (engagement re-exports them) --------------------------------

def _clean(values: list[Any]) -> list[float]:
    return [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else math.nan for v in values]


def _extras(result: Any) -> Mapping[str, Any]:
    if isinstance(result, Mapping):
        return result.get("extras", result)
    inner = getattr(result, "result", result)
    return getattr(inner, "extras", {})


def plot_event_study(result: Any, *, title: str | None = None):
    """Event-time estimates with pointwise intervals and the uniform (sup-t) band; ``result`` is a
    ``HypothesisResult``, ``EstimateResult``, a results.json hypothesis record or its extras."""
    import matplotlib.pyplot as plt

    study = _extras(result).get("event_study")
    if not study:
        raise ValueError("this result has no event study (estimator staggered_did)")
    event = study["event_time"]
    est = _clean(study["estimate"])
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if study.get("band_low") and study.get("band_high"):  # Sun-Abraham's event study has no uniform band
        ax.fill_between(event, _clean(study["band_low"]), _clean(study["band_high"]), color="#9ecae1", alpha=0.5,
                        step=None, label="uniform band")
    lo, hi = _clean(study["ci_low"]), _clean(study["ci_high"])
    colors = ["#b2182b" if e >= 0 else "#1f4e79" for e in event]
    ax.vlines(event, lo, hi, colors=colors, linewidth=1)
    ax.scatter(event, est, c=colors, s=14, zorder=3, label="estimate (pointwise CI)")
    ax.axhline(0, color="#555555", linewidth=0.8, linestyle="--")
    ax.axvline(-0.5, color="#999999", linewidth=0.8)
    ax.set_xlabel(f"{study.get('period', 'period')}s since adoption")
    ax.set_ylabel(f"effect ({_extras(result).get('scale') or 'outcome units'})")
    ax.set_title(title or "Event study (Callaway-Sant'Anna)")
    ax.legend(frameon=False, loc="upper left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def _campaigns(result: Any) -> list[Mapping[str, Any]]:
    extras = _extras(result)
    if "its_by_campaign" in extras:
        return list(extras["its_by_campaign"]["campaigns"])
    return [c for c in extras.get("by_campaign", []) if "path" in c]


def bounded_band(path: Mapping[str, Any]) -> tuple[Any, Any, str | None]:
    """The band to draw, cut at the outcome's bounds (``path["bounds"]``, from the estimator), and a note naming
    the bound when a level-scale band had to be cut (log1p / logit bands are bounded by construction). Only the
    drawing is cut; the reported numbers are the model's."""
    import numpy as np

    low = np.asarray(_clean(path["lower"]), dtype=float)
    high = np.asarray(_clean(path["upper"]), dtype=float)
    floor, ceiling = (list(path.get("bounds") or []) + [None, None])[:2]
    cuts = []
    if floor is not None and np.nanmin(low, initial=np.inf) < floor:
        cuts.append(f"{floor:g}")
    if ceiling is not None and np.nanmax(high, initial=-np.inf) > ceiling:
        cuts.append(f"{ceiling:g}")
    low = np.clip(low, floor, ceiling) if (floor is not None or ceiling is not None) else low
    high = np.clip(high, floor, ceiling) if (floor is not None or ceiling is not None) else high
    note = (f"band cut at {' and '.join(cuts)} (level-scale model ignores the bound)" if cuts else None)
    return low, high, note


def plot_counterfactual(result: Any, *, title: str | None = None, max_campaigns: int = 12):
    """Observed series against the ITS counterfactual (with its prediction band), one panel per campaign."""
    import matplotlib.pyplot as plt
    import numpy as np

    campaigns = _campaigns(result)[:max_campaigns]
    if not campaigns:
        raise ValueError("this result has no counterfactual paths (estimator its, or its_by_campaign)")
    n = len(campaigns)
    cols = 2 if n > 1 else 1
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.4 * rows), squeeze=False, sharex=True)
    for ax, campaign in zip(axes.ravel(), campaigns, strict=False):
        path = campaign["path"]
        x = np.arange(len(path["dates"]))
        start = int(path["start_index"])
        ax.plot(x, _clean(path["observed"]), color="#888888", linewidth=0.7, label="observed")
        ax.plot(x, _clean(path["counterfactual"]), color="#1f4e79", linewidth=1.2, label="counterfactual")
        low, high, cut = bounded_band(path)
        ax.fill_between(x[start:], low, high, color="#1f4e79", alpha=0.15)
        if cut:
            ax.text(0.99, 0.02, cut, transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="#555555")
        ax.axvline(start, color="#b2182b", linewidth=1)
        ax.set_xlabel("days since window start", fontsize=8)
        ax.set_ylabel("outcome", fontsize=8)
        ax.set_title(f"{campaign.get('group', '')} {campaign.get('unit', '')}: average effect "
                     f"{campaign['average_effect']:.3g}", fontsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(frameon=False, fontsize=8)
    fig.suptitle(title or "Observed vs counterfactual (days since window start)")
    fig.tight_layout()
    return fig


# --- interval figures ------------------------------------------------------------------------------------------

def interval_figure(items: Sequence[tuple[str, float, float, float, float | None]], *, xlabel: str = "effect"):
    """One small panel per (label, estimate, low, high, sesoi), each on its own scale: estimates in different
    units never share an axis. Returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    items = [i for i in items if all(_finite(v) for v in i[1:4])]
    if not items:
        raise ValueError("no estimate with an interval to plot")
    columns = 2 if len(items) > 1 else 1
    rows = -(-len(items) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 1.7 * rows), squeeze=False, dpi=150)
    for ax, (label, estimate, low, high, sesoi) in zip(axes.flat, items):
        if _finite(sesoi) and sesoi > 0:
            ax.axvspan(-sesoi, sesoi, color="#f3e3bf", label="± SESOI")
        ax.axvline(0, color="#555555", linestyle="--", linewidth=1, label="no effect")
        ax.errorbar(estimate, 0, xerr=[[estimate - low], [high - estimate]], fmt="o", color="#1f4e79", capsize=5,
                    label="estimate and interval")
        ax.set_yticks([])
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_xlabel(xlabel, fontsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    for ax in list(axes.flat)[len(items):]:
        ax.set_visible(False)
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(text, handle)
    fig.legend(list(handles.values()), list(handles.keys()), loc="lower center", ncol=3, frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.12 if rows == 1 else 0.06, 1, 1))
    return fig


def hypothesis_figure(h: Any):
    """The natural plot of a hypothesis: its event study, its counterfactual paths, or its interval."""
    extras = h.result.extras if h.result is not None else {}
    if extras.get("event_study"):
        return plot_event_study(h, title=h.title)
    if _campaigns(h):
        return plot_counterfactual(h, title=h.title)
    if h.result is None:
        raise ValueError(f"{h.id} has no estimate to plot ({h.status.replace('_', ' ')})")
    r = h.result
    return interval_figure([(h.title, r.estimate, r.ci_low, r.ci_high, h.sesoi)],
                           xlabel=f"effect on {h.outcome} ({inference_text(r.se_type, r.extras)})")
