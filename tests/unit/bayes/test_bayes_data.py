"""Data preparation for the Bayesian models: sufficient statistics, validation before sampling, no mutation."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from bayes_helpers import panel_frame

from oca_experiments.bayes import did_from_units, prepare_did, prepare_its, prepare_ordinal
from oca_experiments.bayes._data import NotEstimable
from oca_experiments.errors import DataError

DESIGN = SimpleNamespace(unit="rid", time="wave", pre="baseline", post="endline", treatment="treated",
                         cluster="community", group="cso", adoption=None)


def test_did_sufficient_statistics_match_the_respondent_changes() -> None:
    frame = panel_frame()
    before = frame.copy(deep=True)
    data = prepare_did(frame, frame["y"], DESIGN, file="x.csv")
    pd.testing.assert_frame_equal(frame, before)  # never mutates the caller's frame
    wide = frame.pivot(index="rid", columns="wave", values="y")
    change = (wide["endline"] - wide["baseline"]) / wide["baseline"].std(ddof=1)
    clusters = frame.drop_duplicates("rid").set_index("rid").loc[wide.index, "community"]
    expected = change.groupby(clusters.to_numpy()).agg(["count", "mean", lambda s: ((s - s.mean()) ** 2).sum()])
    np.testing.assert_allclose(data.n, expected["count"].to_numpy())
    np.testing.assert_allclose(data.mean_change, expected["mean"].to_numpy())
    np.testing.assert_allclose(data.within_ss, expected.iloc[:, 2].to_numpy())
    assert data.n_groups == 3 and data.n_clusters == 12
    assert data.treated.sum() == 6
    np.testing.assert_allclose(data.treated_weights(), [1 / 3] * 3)


def test_did_drops_units_not_in_both_waves_and_missing_outcomes() -> None:
    frame = panel_frame()
    frame = frame.drop(index=frame.index[(frame["rid"] == "R0001") & (frame["wave"] == "endline")])
    frame.loc[frame["rid"] == "R0002", "y"] = np.nan
    data = prepare_did(frame, frame["y"], DESIGN, file="x.csv")
    assert data.counts["units_not_in_both_waves"] == 1 and data.counts["rows_missing_outcome"] == 2
    assert data.n_units == 12 * 20 - 2


@pytest.mark.parametrize("mutation, message", [
    (lambda f: f.assign(treated=f["treated"] * 2), "0/1"),
    (lambda f: f.assign(cso=np.where(f["rid"] == "R0001", "OTHER", f["cso"])), "more than one group"),
    (lambda f: f[~f["community"].isin(["C00", "C01", "C10", "C11", "C20"])], "treated arm has 1"),
])
def test_did_bad_data_fail_before_sampling(mutation, message) -> None:
    frame = mutation(panel_frame())
    with pytest.raises((DataError, NotEstimable), match=message):
        prepare_did(frame, frame["y"], DESIGN, file="x.csv")


def test_did_from_units_single_cluster_spread() -> None:
    data = did_from_units(np.array([1.0, 3.0, 2.0, 2.0]), np.array([0, 0, 1, 1]), np.array([1.0, 0.0]),
                          np.array([0, 0]))
    np.testing.assert_allclose(data.mean_change, [2.0, 2.0])
    np.testing.assert_allclose(data.within_ss, [2.0, 0.0])


def test_ordinal_counts_per_cluster_wave_category() -> None:
    frame = panel_frame()
    frame["item"] = np.round(frame["y"]).astype(int)
    data = prepare_ordinal(frame, frame["item"], DESIGN, (1, 5), file="x.csv", column="item")
    assert data.counts.shape == (12, 2, 5)
    assert data.counts.sum() == len(frame)
    c00_base = frame[(frame["community"] == "C00") & (frame["wave"] == "baseline")]["item"].value_counts()
    assert data.counts[0, 0, 2] == c00_base.get(3, 0)


def test_ordinal_refuses_answers_off_the_scale() -> None:
    frame = panel_frame()
    frame["item"] = frame["y"]  # not whole numbers
    with pytest.raises(DataError, match="whole numbers"):
        prepare_ordinal(frame, frame["item"], DESIGN, (1, 5), file="x.csv", column="item")
    with pytest.raises(NotEstimable, match="scale"):
        prepare_ordinal(frame, frame["item"], DESIGN, None, file="x.csv", column="item")


def engagement_frame(days: int = 60, start: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for page, treated in (("P1", 1), ("P2", 1), ("P3", 0)):
        for day in range(days):
            comments = int(rng.poisson(6))
            hostile = int(rng.binomial(comments, 0.12))
            rows.append({"page": page, "date": str(np.datetime64("2026-03-01") + day), "treated": treated,
                         "start": "2026-03-31" if treated else None, "comments": comments, "hostile": hostile})
    frame = pd.DataFrame(rows)
    frame["share"] = frame["hostile"] / frame["comments"].where(frame["comments"] > 0)
    return frame


ITS_DESIGN = SimpleNamespace(unit="page", time="date", treatment="treated", adoption="start", group=None,
                             cluster="page")


def test_its_arrays_and_regressor() -> None:
    frame = engagement_frame()
    data = prepare_its(frame, frame["share"], ITS_DESIGN, denominator="comments", file="e.csv",
                       level_step_days=7, use_regressor=True)
    assert data.successes.shape == (2, 60)
    np.testing.assert_array_equal(data.start_day, [30, 30])
    assert data.successes.sum() == frame.loc[frame["treated"] == 1, "hostile"].sum()
    assert abs(data.regressor.mean()) < 1e-9 and data.n_steps == 9
    obs = data.observed_pre()
    assert (obs["day"] < 30).all() and (obs["trials"] > 0).all()


def test_its_validation() -> None:
    frame = engagement_frame()
    with pytest.raises(DataError, match="denominator"):
        prepare_its(frame, frame["share"], ITS_DESIGN, denominator="nope", file="e.csv", level_step_days=7,
                    use_regressor=True)
    with pytest.raises(NotEstimable, match="fewer than 40 pre-period days"):
        prepare_its(frame, frame["share"], ITS_DESIGN, denominator="comments", file="e.csv", level_step_days=7,
                    use_regressor=True, min_pre_days=40)
    with pytest.raises(DataError, match="not a count"):
        prepare_its(frame, frame["share"] * 0.5 + 0.01, ITS_DESIGN, denominator="comments", file="e.csv",
                    level_step_days=7, use_regressor=True)
