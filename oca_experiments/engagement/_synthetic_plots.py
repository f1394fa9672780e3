"""Fit plots of ``synthetic_did`` / ``synthetic_control``: the treated units' mean against its synthetic comparison
(with the time weights under it) and the unit weights. Drawn from a result's JSON-ready extras, so that a report or
notebook can redraw them from ``results.json``; PNG bytes carry no software or time metadata."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["plot_synthetic", "synthetic_png", "PLOT_DPI"]

PLOT_DPI = 150
BLUE, RED, GREY = "#1f4e79", "#b2182b", "#9aa5b1"


def _extras(result: Any) -> Mapping[str, Any]:
    if isinstance(result, Mapping):
        if "trajectory" in result:
            return result
        if "extras" in result:
            return result["extras"]
        return (result.get("result") or {}).get("extras", {})
    inner = getattr(result, "result", result)
    return getattr(inner, "extras", {})


def plot_synthetic(result: Any, *, title: str | None = None, outcome_label: str = "outcome",
                   max_units: int = 15):
    """Trajectories (treated vs synthetic, treatment start marked, time weights as bars below) and unit weights.
    ``result`` is a ``HypothesisResult``, an ``EstimateResult``, a results.json hypothesis record or its extras."""
    from matplotlib.figure import Figure

    extras = _extras(result)
    path = extras.get("trajectory")
    if not path:
        raise ValueError("this result has no synthetic-control trajectory (estimators synthetic_did, "
                         "synthetic_control)")
    periods = list(path["periods"])
    x = list(range(len(periods)))
    start = int(path["start_index"])
    treated = [math.nan if v is None else float(v) for v in path["treated"]]
    synthetic = [math.nan if v is None else float(v) for v in path["synthetic"]]
    method = extras.get("method", "sdid")
    fig = Figure(figsize=(11, 4.2), dpi=PLOT_DPI)
    grid = fig.add_gridspec(2, 2, width_ratios=(2.2, 1), height_ratios=(4, 1), hspace=0.08, wspace=0.28)
    ax = fig.add_subplot(grid[0, 0])
    ax.plot(x, treated, color=RED, linewidth=1.6, label="treated (mean)")
    ax.plot(x, synthetic, color=BLUE, linewidth=1.6,
            label="synthetic control (unit-weighted comparison)" if method != "did" else "comparison (mean)")
    if method == "sdid":
        # SDID compares changes: shift the synthetic control by the time-weighted pre-period gap.
        weights = [w["weight"] for w in extras.get("time_weights", [])]
        gap = sum(w * (t - s) for w, t, s in zip(weights, treated[:start], synthetic[:start], strict=False))
        ax.plot(x, [s + gap for s in synthetic], color=BLUE, linewidth=1.0, linestyle="--",
                label="synthetic control + weighted pre-period gap")
    ax.axvline(start - 0.5, color=GREY, linewidth=1)
    ax.set_ylabel(outcome_label)
    ax.set_title(title or f"{extras.get('model', 'synthetic control').split(' (')[0]}: estimate "
                 f"{_number(result, extras)}", fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.tick_params(labelbottom=False)
    _tidy(ax)
    bars = fig.add_subplot(grid[1, 0], sharex=ax)
    lambdas = [w["weight"] for w in extras.get("time_weights", [])]
    bars.bar(x[:len(lambdas)], lambdas, color=BLUE, width=0.8)
    bars.set_ylabel("time weight", fontsize=8)
    bars.set_xlabel("period (treatment starts at the vertical line)")
    step = max(1, len(periods) // 8)
    bars.set_xticks(x[::step], [periods[i] for i in x[::step]], fontsize=7, rotation=30, ha="right")
    _tidy(bars)
    units = fig.add_subplot(grid[:, 1])
    shown = [w for w in extras.get("unit_weights", []) if w["weight"] > 0][:max_units]
    units.barh([w["label"] for w in shown][::-1], [w["weight"] for w in shown][::-1], color=BLUE)
    units.set_xlabel("unit weight (omega)")
    units.set_ylabel("comparison unit")
    units.set_title(f"largest unit weights ({len(shown)} shown)", fontsize=9)
    units.tick_params(axis="y", labelsize=7)
    _tidy(units)
    return fig


def _number(result: Any, extras: Mapping[str, Any]) -> str:
    inner = getattr(result, "result", result)
    value = getattr(inner, "estimate", None)
    if value is None and isinstance(result, Mapping):
        value = result.get("estimate", (result.get("result") or {}).get("estimate"))
    if value is None:
        compared = extras.get("comparison", {}).get(extras.get("method", ""), {})
        value = compared.get("estimate")
    return f"{value:.3g}" if isinstance(value, (int, float)) else "n/a"


def _tidy(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def synthetic_png(extras: Mapping[str, Any], *, title: str | None = None, outcome_label: str = "outcome") -> bytes:
    fig = plot_synthetic(extras, title=title, outcome_label=outcome_label)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PLOT_DPI, metadata={"Software": None}, bbox_inches="tight")
    return buffer.getvalue()
