"""Event-study and observed-vs-counterfactual plots, drawn from a result's JSON-ready ``extras`` (so that a report
or notebook can redraw them from ``results.json`` without re-estimating). Each function returns a matplotlib
``Figure``; ``save_engagement_plots`` writes PNG artifacts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["plot_event_study", "plot_counterfactual", "save_engagement_plots"]

# Drawn at the bottom layer, so that results' own .plot() can use them without importing this package.
from oca_experiments._display import _campaigns, _extras, plot_counterfactual, plot_event_study  # noqa: E402


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
