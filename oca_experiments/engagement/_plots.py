"""Event-study and observed-vs-counterfactual plots, drawn from a result's JSON-ready ``extras`` (so that a report
or notebook can redraw them from ``results.json`` without re-estimating). Each function returns a matplotlib
``Figure``; ``save_engagement_plots`` writes PNG artifacts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..results.parts import EventStudy

__all__ = ["plot_event_study", "plot_counterfactual", "save_engagement_plots"]


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
    if not isinstance(study, EventStudy):  # a results.json record
        study = EventStudy.from_dict(study)
    event = list(study.event_time or ())
    est = _clean(list(study.estimate or ()))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.fill_between(event, _clean(list(study.band_low or ())), _clean(list(study.band_high or ())), color="#9ecae1",
                    alpha=0.5, step=None, label="uniform band")
    lo, hi = _clean(list(study.ci_low or ())), _clean(list(study.ci_high or ()))
    colors = ["#b2182b" if e >= 0 else "#1f4e79" for e in event]
    ax.vlines(event, lo, hi, colors=colors, linewidth=1)
    ax.scatter(event, est, c=colors, s=14, zorder=3, label="estimate (pointwise CI)")
    ax.axhline(0, color="#555555", linewidth=0.8, linestyle="--")
    ax.axvline(-0.5, color="#999999", linewidth=0.8)
    ax.set_xlabel(f"{study.period or 'period'}s since adoption")
    ax.set_ylabel("effect")
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
        ax.fill_between(x[start:], _clean(path["lower"]), _clean(path["upper"]), color="#1f4e79", alpha=0.15)
        ax.axvline(start, color="#b2182b", linewidth=1)
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


def save_engagement_plots(run: Any, out_dir: str | Path) -> list[Path]:
    """Write ``<hypothesis>_event_study.png`` / ``<hypothesis>_counterfactual.png`` for every engagement result of
    a ``RunResult`` (or a parsed results.json). Returns the written paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hypotheses = run.get("hypotheses", []) if isinstance(run, Mapping) else list(run)
    written: list[Path] = []
    for h in hypotheses:
        hid = h.get("id") if isinstance(h, Mapping) else h.id
        extras = _extras(h)
        if not extras:
            continue
        for suffix, draw, present in (("event_study", plot_event_study, "event_study" in extras),
                                      ("counterfactual", plot_counterfactual, bool(_campaigns(h)))):
            if not present:
                continue
            fig = draw(h)
            path = out / f"{hid}_{suffix}.png"
            fig.savefig(path, dpi=110, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written
