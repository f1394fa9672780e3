"""Event-study and observed-vs-counterfactual plots, drawn from a result's typed parts (``result.event_study``,
``result.by_campaign``, ``result.its_by_campaign``), so that a report or notebook can redraw them from
``results.json`` without re-estimating. Each function returns a matplotlib ``Figure``; ``save_engagement_plots``
writes PNG artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oca_experiments.results import EstimateResult, HypothesisResult, RunResult

__all__ = ["plot_event_study", "plot_counterfactual", "save_engagement_plots"]

# Drawn at the bottom layer, so that results' own .plot() can use them without importing this package.
from oca_experiments._display import plot_counterfactual, plot_event_study  # noqa: E402


def _has_counterfactual_paths(result: EstimateResult) -> bool:
    its = result.its_by_campaign
    campaigns = its.campaigns if its is not None else result.by_campaign
    return any(c.path is not None for c in campaigns or ())


def save_engagement_plots(run: Any, out_dir: str | Path) -> list[Path]:
    """Write ``<hypothesis>_event_study.png`` / ``<hypothesis>_counterfactual.png`` for every engagement result of
    a ``RunResult`` (or a parsed results.json, read into one). Returns the written paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hypotheses: list[HypothesisResult] = list(RunResult.from_dict(run) if isinstance(run, Mapping) else run)
    written: list[Path] = []
    for h in hypotheses:
        result = h.result
        if result is None:
            continue
        for suffix, draw, present in (("event_study", plot_event_study, result.event_study is not None),
                                      ("counterfactual", plot_counterfactual, _has_counterfactual_paths(result))):
            if not present:
                continue
            fig = draw(h)
            path = out / f"{h.id}_{suffix}.png"
            fig.savefig(path, dpi=110, metadata={"Software": None})
            plt.close(fig)
            written.append(path)
    return written
