"""Report stage: execute ``reports/*.ipynb`` on a run's artifacts and export self-contained HTML.

``build_report(run_dir, notebook=...)`` writes ``run_dir/report/index.html`` (Quarto when on PATH, else
nbconvert) and ``run_dir/report/decision.html`` (the one-page decision summary the report also opens with); it
never re-estimates anything: the notebook reads only ``results.json`` and friends.
"""

from __future__ import annotations

from oca_experiments.report._build import build_report
from oca_experiments.report._decision import decision_page, decision_section

__all__ = ["build_report", "decision_page", "decision_section"]
