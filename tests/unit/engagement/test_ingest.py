"""Ingest: raw exports -> Asia/Bishkek page x day panel, duplicates removed and counted, gaps reported."""

from __future__ import annotations

import pandas as pd
import pytest

from oca_experiments.engagement import build_daily_panel, derive_metrics
from oca_experiments.errors import DataError


def _posts() -> pd.DataFrame:
    return pd.DataFrame({
        "page_id": ["P1", "P1", "P1", "P1", "P1", "P2", "P2"],
        "post_id": ["a", "a", "a", "b", "c", "x", "y"],
        # a at 19:30 UTC is 01:30 the next day in Bishkek (UTC+6); its later re-export has grown counts.
        "created_at": ["2026-03-01T19:30:00Z", "2026-03-01T19:30:00Z", "2026-03-01T19:30:00Z",
                       "2026-03-01 10:00:00", "2026-03-05T01:00:00+06:00", "2026-03-01 23:30:00",
                       "2026-03-02 00:10:00"],
        "reactions": [5, 5, 9, 3, 1, 2, 2], "comments": [1, 1, 2, 0, 1, 1, 0], "shares": [0, 0, 1, 1, 0, 0, 0],
        "hostile_comments": [0, 0, 1, 0, 0, 1, 0],
    })


def test_posts_to_local_days_with_duplicates_counted() -> None:
    panel = build_daily_panel(_posts())
    frame = panel.frame.set_index(["page_id", "date"])
    assert panel.report.rows_read == 7 and panel.report.duplicates_removed == 2
    # Post a keeps its most-interacted copy (9 reactions) on the local day 2026-03-02.
    assert frame.loc[("P1", "2026-03-02"), "reactions"] == 9
    assert frame.loc[("P1", "2026-03-01"), "posts"] == 1  # b: 10:00 UTC = 16:00 local, same day
    assert frame.loc[("P1", "2026-03-05"), "posts"] == 1  # an explicit +06:00 offset is already local
    assert frame.loc[("P2", "2026-03-02"), "posts"] == 2  # naive UTC 23:30 and 00:10 are both 2026-03-02 local
    assert panel.report.gaps == ({"page_id": "P1", "first_missing": "2026-03-03", "last_missing": "2026-03-04",
                                  "days": 2},)
    assert panel.report.to_dict()["gap_days"] == 2


def test_naive_local_timestamps() -> None:
    frame = build_daily_panel(_posts(), naive_timestamps="local").frame
    p2 = frame.loc[frame["page_id"] == "P2", "date"].tolist()
    assert p2 == ["2026-03-01", "2026-03-02"]


def test_derived_metrics_are_missing_not_zero_without_denominator() -> None:
    frame = derive_metrics(pd.DataFrame({"posts": [0, 2], "reactions": [0, 10], "comments": [0, 4], "shares": [0, 2],
                                         "hostile_comments": [0, 1], "followers": [100, 0]}))
    assert frame["engagement_per_post"].isna().tolist() == [True, False]
    assert frame.loc[1, "engagement_per_post"] == 8.0
    assert frame.loc[0, "engagement_rate"] == 0.0 and pd.isna(frame.loc[1, "engagement_rate"])
    assert pd.isna(frame.loc[0, "hostile_share"]) and frame.loc[1, "hostile_share"] == 0.25


def test_daily_metrics_from_parquet_with_column_mapping(tmp_path) -> None:
    daily = pd.DataFrame({"page": ["P1", "P1", "P1", "P1"], "day": ["2026-03-01", "2026-03-01", "2026-03-02",
                                                                    "2026-03-05"],
                          "posts": [1, 1, 0, 2], "reactions": [5, 5, 0, 8], "comments": [1, 1, 0, 2],
                          "shares": [0, 0, 0, 1], "followers": [100, 100, 101, 103], "hostile_comments": [0, 0, 0, 1]})
    path = tmp_path / "daily.parquet"
    daily.to_parquet(path)
    pages = pd.DataFrame({"page_id": ["P1"], "cso_id": ["CSO1"], "treated": [1], "campaign_start": ["2026-03-04"]})
    panel = build_daily_panel(path, kind="daily", columns={"page_id": "page", "date": "day"}, pages=pages)
    assert panel.report.duplicates_removed == 1 and panel.report.rows_out == 3
    assert panel.report.gap_days == 2
    assert panel.frame["cso_id"].tolist() == ["CSO1"] * 3
    assert pd.isna(panel.frame.loc[1, "engagement_per_post"])  # a day with zero posts


def test_conflicting_daily_rows_are_an_error() -> None:
    daily = pd.DataFrame({"page_id": ["P1", "P1"], "date": ["2026-03-01", "2026-03-01"], "posts": [1, 2],
                          "reactions": [1, 1], "comments": [0, 0], "shares": [0, 0], "hostile_comments": [0, 0]})
    with pytest.raises(DataError, match="different numbers") as err:
        build_daily_panel(daily, kind="daily")
    assert "\n" not in str(err.value) and "Fix:" in str(err.value)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("created_at", "yesterday", "not readable"),
    ("reactions", "-1", "negative"),
    ("hostile_comments", "5", "more hostile comments"),
])
def test_bad_post_rows_name_the_column(column: str, value: str, message: str) -> None:
    raw = _posts().astype(str)
    raw.loc[0, column] = value
    with pytest.raises(DataError, match=message) as err:
        build_daily_panel(raw)
    assert err.value.column == column


def test_missing_column_is_named() -> None:
    with pytest.raises(DataError, match="ingest needs it as 'post_id'"):
        build_daily_panel(_posts().drop(columns="post_id"))


def test_ingest_reports_progress_on_a_terminal_only():
    import io

    from oca_experiments._progress import showing_steps

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    with showing_steps(tty):
        shown = build_daily_panel(_posts())
    with showing_steps(pipe):
        quiet = build_daily_panel(_posts())
    assert "ingest: reading the posts export: 1/1" in tty.getvalue() and pipe.getvalue() == ""
    pd.testing.assert_frame_equal(shown.frame, quiet.frame)


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_a_tied_re_export_keeps_the_same_copy_whatever_the_row_order(order: list[int]) -> None:
    # Two copies of one post with the same interactions (11) and the same time but a different split: the copy
    # with more reactions is kept, wherever it sits in the export (arg_max kept whichever copy came first).
    copies = pd.DataFrame({"page_id": ["P1", "P1"], "post_id": ["a", "a"],
                           "created_at": ["2026-03-01T10:00:00Z"] * 2, "reactions": [5, 9], "comments": [4, 1],
                           "shares": [2, 1], "hostile_comments": [3, 0]}).iloc[order]
    frame = build_daily_panel(copies.reset_index(drop=True)).frame
    assert frame[["posts", "reactions", "comments", "shares", "hostile_comments"]].to_dict("records") == [
        {"posts": 1, "reactions": 9, "comments": 1, "shares": 1, "hostile_comments": 0}]


def test_latest_copy_wins_when_interactions_tie() -> None:
    copies = pd.DataFrame({"page_id": ["P1", "P1"], "post_id": ["a", "a"],
                           "created_at": ["2026-03-01T20:00:00Z", "2026-03-01T10:00:00Z"], "reactions": [3, 9],
                           "comments": [4, 1], "shares": [4, 1], "hostile_comments": [0, 0]})
    frame = build_daily_panel(copies).frame  # 20:00 UTC is 02:00 on 2026-03-02 in Bishkek
    assert frame[["date", "reactions"]].to_dict("records") == [{"date": "2026-03-02", "reactions": 3}]
