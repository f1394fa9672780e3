"""Engagement time series: raw page exports -> Asia/Bishkek page x day panel (DuckDB), derived metrics, plots.

The estimators that use the panel are ``staggered_did``, ``twfe`` and ``its`` (see ``oca_experiments.estimators``).
``monthly_community_summary`` gives the community-of-practice view: members, posts, active members and
discussions per community and month, with trends, a descriptive level shift and the registered per-campaign
effects of a run (``RegisteredEffect``).
"""

from ._community import METRICS, CommunitySummary, RegisteredEffect, monthly_community_summary
from ._ingest import LOCAL_TIMEZONE, DailyPanel, IngestReport, build_daily_panel, derive_metrics
from ._plots import plot_counterfactual, plot_event_study, save_engagement_plots
from ._synthetic_plots import plot_synthetic, synthetic_png

__all__ = ["METRICS", "CommunitySummary", "LOCAL_TIMEZONE", "DailyPanel", "IngestReport", "build_daily_panel",
           "derive_metrics", "monthly_community_summary", "plot_counterfactual", "plot_event_study",
           "plot_synthetic", "RegisteredEffect", "save_engagement_plots", "synthetic_png"]
