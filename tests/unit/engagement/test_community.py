"""Monthly community summaries from an activity log and from daily counts: counts by hand, trends, a campaign's
descriptive level shift, suppression, and no member id in the output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oca_experiments.engagement import monthly_community_summary


def _log(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c, community in enumerate(("A", "B")):
        for m, month in enumerate(pd.date_range("2024-01-01", periods=30, freq="MS")):
            posts = int(rng.poisson(20 + 0.5 * m + (15 if community == "A" and m >= 18 else 0)))
            for i in range(posts):
                day = month + pd.Timedelta(days=int(rng.integers(0, 28)))
                rows.append({"community": community, "when": day.strftime("%Y-%m-%d"), "kind": "post",
                             "member": f"{community}-m{int(rng.integers(0, 40))}",
                             "start": "2025-07-15" if community == "A" else None})
            for i in range(2):
                rows.append({"community": community, "when": month.strftime("%Y-%m-%d"), "kind": "join",
                             "member": f"{community}-new{m}-{i}", "start": "2025-07-15" if community == "A" else None})
            rows.append({"community": community, "when": month.strftime("%Y-%m-%d"), "kind": "discussion",
                         "member": f"{community}-m1", "start": "2025-07-15" if community == "A" else None})
    return pd.DataFrame(rows)


def test_summary_from_an_activity_log() -> None:
    log = _log()
    summary = monthly_community_summary(log, community="community", time="when", member="member", kind="kind",
                                        campaign_start="start")
    monthly = summary.monthly
    first = monthly[(monthly["community"] == "A") & (monthly["month"] == "2024-01")].iloc[0]
    rows = log[(log["community"] == "A") & log["when"].str.startswith("2024-01")]
    assert first["posts"] == int((rows["kind"] == "post").sum())
    assert first["discussions"] == 1
    assert first["active_members"] == rows.loc[rows["kind"].isin(["post", "discussion"]), "member"].nunique()
    assert first["members"] == 2
    assert monthly.loc[monthly["community"] == "A", "members"].iloc[-1] == 60
    assert len(monthly) == 60 and "member" not in monthly.columns
    trends = summary.trends.set_index(["community", "metric"])
    assert trends.loc[("B", "members"), "trend_per_month"] == pytest.approx(2.0, abs=0.01)
    shift = trends.loc[("A", "posts")]
    assert shift["campaign_month"] == "2025-07"
    assert shift["level_shift"] - 1.96 * shift["level_shift_se"] > 5  # +15 posts a month from the campaign on
    assert pd.isna(trends.loc[("B", "posts"), "level_shift"])  # no campaign in B
    assert "member" not in str(summary.to_dict()).replace("members", "")


def test_summary_from_daily_counts_refuses_to_sum_active_members() -> None:
    days = pd.date_range("2024-01-01", periods=90, freq="D")
    frame = pd.DataFrame({"community": "A", "date": days.strftime("%Y-%m-%d"), "members": np.arange(90) + 100,
                          "posts": 3, "active": 5, "threads": 1})
    summary = monthly_community_summary(frame, community="community", time="date", members="members",
                                        posts="posts", active_members="active", discussions="threads",
                                        suppress_below=10)
    monthly = summary.monthly.set_index("month")
    assert monthly.loc["2024-01", "posts"] == 93 and monthly.loc["2024-02", "members"] == 159
    assert "active_members" not in monthly.columns
    assert any("not summed from day counts" in n for n in summary.notes)
    assert summary.counts["cells_suppressed"] == 0  # 31 threads a month: nothing below 10
