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


# --- figures -----------------------------------------------------------------------------------------------------

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
        from oca_experiments.engagement import plot_event_study

        return plot_event_study(h, title=h.title)
    if any(isinstance(c, Mapping) and "path" in c for c in extras.get("by_campaign") or []):
        from oca_experiments.engagement import plot_counterfactual

        return plot_counterfactual(h, title=h.title)
    if h.result is None:
        raise ValueError(f"{h.id} has no estimate to plot ({h.status.replace('_', ' ')})")
    r = h.result
    return interval_figure([(h.title, r.estimate, r.ci_low, r.ci_high, h.sesoi)],
                           xlabel=f"effect on {h.outcome} ({inference_text(r.se_type, r.extras)})")
