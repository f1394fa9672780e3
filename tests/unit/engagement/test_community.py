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


def _seasonal_counts(seed: int = 7, *, effect: float = 0.0) -> pd.DataFrame:
    """48 months of monthly counts with a strong month-of-year pattern; the campaign starts in a peak month."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2022-01-01", periods=48, freq="MS")
    season = np.array([-20, -15, 0, 5, 10, -10, -30, -25, 35, 30, 15, 5], dtype=float)
    rows = []
    for community in ("A", "B"):
        start = 44 if community == "A" else None  # 2025-09: September is the busiest month
        for m, month in enumerate(months):
            on = start is not None and m >= start
            rows.append({"community": community, "month": month.strftime("%Y-%m-%d"),
                         "posts": float(100 + season[month.month - 1] + effect * on + rng.normal(0, 3)),
                         "start": "2025-09-01" if community == "A" else None})
    return pd.DataFrame(rows)


def test_level_shift_does_not_credit_the_campaign_with_the_season() -> None:
    """A campaign with no effect that starts in the busiest month: without a seasonal term the step took the
    September rise (+35 over August's -25) as the campaign's; with 24+ months the models carry a fixed 12-month
    seasonal and the shift is near zero."""
    summary = monthly_community_summary(_seasonal_counts(), community="community", time="month", posts="posts",
                                        campaign_start="start")
    row = summary.trends.set_index(["community", "metric"]).loc[("A", "posts")]
    assert bool(row["seasonal"]) is True
    assert abs(row["level_shift"]) < 3 * row["level_shift_se"] + 1.0
    lifted = monthly_community_summary(_seasonal_counts(effect=12.0), community="community", time="month",
                                       posts="posts", campaign_start="start")
    shift = lifted.trends.set_index(["community", "metric"]).loc[("A", "posts"), "level_shift"]
    assert shift == pytest.approx(12.0, abs=4.0)


def test_demo_community_summary_has_every_metric_trends_and_the_registered_effect() -> None:
    """The facilitator's view on the demo's communities of practice: members, posts, active members and
    discussions per community and month, trends, the descriptive shift, and the registered per-campaign effect
    (h9's) on the posts row of each campaign community."""
    from oca_experiments.demo import simulate_demo
    from oca_experiments.engagement import RegisteredEffect

    community = simulate_demo().community
    registered = [RegisteredEffect("h9_community_monthly", "posts", "CP01", 29.4, 17.9, 39.9),
                  RegisteredEffect("h9_community_monthly", "posts", "CP09", 1.0, 0.0, 2.0)]
    summary = monthly_community_summary(community, community="community_id", time="month", members="members",
                                        posts="posts", active_members="active_members",
                                        discussions="discussions", campaign_start="campaign_start",
                                        registered=registered, file="community.csv")
    assert list(summary.monthly.columns) == ["community", "month", "members", "posts", "active_members",
                                             "discussions"]
    assert summary.counts["communities"] == 8 and summary.counts["months"] == 48
    trends = summary.trends.set_index(["community", "metric"])
    assert len(trends) == 8 * 4 and trends["seasonal"].all()
    assert trends["trend_per_month"].notna().all()
    campaign_rows = trends.loc[["CP01", "CP02", "CP03"]]
    assert campaign_rows["level_shift"].notna().all()
    assert (trends.loc[["CP01", "CP02", "CP03"]].xs("posts", level="metric")["level_shift"] > 0).all()
    assert trends.loc[("CP01", "posts"), "registered_effect"] == 29.4
    assert trends.loc[("CP01", "posts"), "registered_hypothesis"] == "h9_community_monthly"
    assert pd.isna(trends.loc[("CP01", "members"), "registered_effect"])
    assert pd.isna(trends.loc[("CP04", "posts"), "registered_effect"])
    assert any("CP09" in note for note in summary.notes)
    with pytest.raises(Exception, match="does not show"):
        monthly_community_summary(community, community="community_id", time="month", members="members",
                                  registered=registered, file="community.csv")
