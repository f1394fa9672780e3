"""Monthly community summaries: the community-of-practice facilitator's view.

Per community and calendar month: ``members`` (at the month's end), ``posts``, ``active_members`` (distinct members
with any activity in the month) and ``discussions`` (threads started), from either

- an activity log, one row per event (``kind``: post, comment, discussion, join, leave) with a pseudonymous member
  id, or
- counts already summarised per community and day/week/month (``members`` a stock: the period's last value;
  ``posts`` and ``discussions`` flows: summed). Distinct active members cannot be summed from days, so from counts
  they are taken only when the counts are already monthly, and are otherwise missing (said in ``notes``).

For each community and metric the summary also gives the trend (the final slope of a local linear trend model,
per month, with its standard error) and, where the community has a campaign start, a descriptive level shift (a
local linear trend model of the whole monthly series with a step from the campaign month). With at least
``SEASONAL_FROM_MONTHS`` observed months both models carry a fixed month-of-year seasonal, so that a campaign
starting in a busy month is not credited with the season. These are descriptive: the registered effect of a
campaign is the hypothesis' (e.g. ``its`` with ``period: month``); given the run's per-campaign effects
(``registered``, e.g. read from results.json by ``oca engagement summary --results``), the trends table shows them
beside the descriptive shift, on the row of the hypothesis' outcome. Member ids never leave this function; counts
below ``suppress_below`` are blanked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import native_spacing, period_codes, period_label, read_time

__all__ = ["CommunitySummary", "METRICS", "RegisteredEffect", "monthly_community_summary"]

METRICS = ("members", "posts", "active_members", "discussions")
_POST_KINDS = ("post", "comment")
_MIN_MONTHS_FOR_TREND = 8
#: Observed months from which the trend and shift models carry a fixed 12-month seasonal (two full years).
SEASONAL_FROM_MONTHS = 24


@dataclass(frozen=True)
class RegisteredEffect:
    """One campaign's registered effect from a run: the hypothesis, the summary metric its outcome is, the
    community (the hypothesis' unit) and the estimate with its interval (the outcome's units per month)."""

    hypothesis: str
    metric: str
    community: str
    effect: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class CommunitySummary:
    """``monthly``: one row per community and month; ``trends``: one row per community and metric."""

    monthly: pd.DataFrame
    trends: pd.DataFrame
    notes: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return self.monthly.copy()

    def to_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
                    for row in frame.to_dict(orient="records")]

        return {"monthly": records(self.monthly), "trends": records(self.trends), "notes": list(self.notes),
                "counts": dict(self.counts)}


def _months(values: pd.Series, *, file: str, column: str) -> np.ndarray:
    times = read_time(values, "month", file=file, column=column, allow_missing=False)
    return period_codes(times, "month")


def _from_events(frame: pd.DataFrame, *, community: str, time: str, member: str, kind: str,
                 file: str) -> pd.DataFrame:
    kinds = frame[kind].astype("string").str.strip().str.lower()
    unknown = ~kinds.isin([*_POST_KINDS, "discussion", "join", "leave"]) & kinds.notna()
    if unknown.any():
        raise DataError(f"{int(unknown.sum())} rows have an activity kind other than post, comment, discussion, "
                        "join or leave", file=file, column=kind, fix="recode the kind column")
    month = _months(frame[time], file=file, column=time)
    data = pd.DataFrame({"community": frame[community].astype("string"), "month": month, "kind": kinds,
                         "member": frame[member].astype("string")})
    grouped = data.groupby(["community", "month"])
    out = pd.DataFrame({
        "posts": grouped["kind"].apply(lambda k: int(k.isin(_POST_KINDS).sum())),
        "discussions": grouped["kind"].apply(lambda k: int((k == "discussion").sum())),
        "active_members": data[data["kind"].isin([*_POST_KINDS, "discussion"])]
        .groupby(["community", "month"])["member"].nunique(),
        "joins": grouped["kind"].apply(lambda k: int((k == "join").sum())),
        "leaves": grouped["kind"].apply(lambda k: int((k == "leave").sum())),
    }).fillna({"active_members": 0})
    out = _complete_months(out.reset_index())
    for name in ("posts", "discussions", "active_members", "joins", "leaves"):
        out[name] = out[name].fillna(0).astype(int)
    out["members"] = (out["joins"] - out["leaves"]).groupby(out["community"]).cumsum()
    return out.drop(columns=["joins", "leaves"])


def _complete_months(frame: pd.DataFrame) -> pd.DataFrame:
    """Every month between each community's first and last, so that a month without activity shows zeros."""
    parts = []
    for name, rows in frame.groupby("community", sort=True):
        full = pd.DataFrame({"month": np.arange(rows["month"].min(), rows["month"].max() + 1)})
        parts.append(full.merge(rows, on="month", how="left").assign(community=name))
    return pd.concat(parts, ignore_index=True)


def _from_counts(frame: pd.DataFrame, *, community: str, time: str, columns: dict[str, str | None], file: str,
                 notes: list[str]) -> pd.DataFrame:
    spacing = native_spacing(frame[time])
    month = _months(frame[time], file=file, column=time)
    data = pd.DataFrame({"community": frame[community].astype("string"), "month": month,
                         "_order": read_time(frame[time], "month", file=file, column=time, allow_missing=False)})
    for metric, column in columns.items():
        if column is not None:
            data[metric] = pd.to_numeric(frame[column], errors="coerce")
    data = data.sort_values(["community", "_order"], kind="stable")
    grouped = data.groupby(["community", "month"])
    out = pd.DataFrame(index=grouped.size().index)
    if columns.get("members"):
        out["members"] = grouped["members"].last()
    for flow in ("posts", "discussions"):
        if columns.get(flow):
            out[flow] = grouped[flow].sum(min_count=1)
    if columns.get("active_members"):
        if spacing in ("month", None):
            out["active_members"] = grouped["active_members"].last()
        else:
            notes.append(f"active members are not summed from {spacing} counts (the same member is active on "
                         "several days); give the activity log or monthly values")
    return _complete_months(out.reset_index())


def _smoothed_last(series: np.ndarray, exog: np.ndarray | None, index: int, *, seasonal: bool = False
                   ) -> tuple[float, float]:
    """A local linear trend (with an optional regressor kept in the state) fitted by exact-diffuse MLE; the
    smoothed state ``index`` at the last month and its standard error. (The ``its`` estimator fits the same model
    family; the engagement layer sits below the estimators, so it calls statsmodels directly.)"""
    import warnings

    from statsmodels.tsa.statespace.structural import UnobservedComponents

    kwargs: dict[str, Any] = {"level": "lltrend", "use_exact_diffuse": True}
    if seasonal:
        kwargs.update(seasonal=12, stochastic_seasonal=False)
    if exog is not None:
        kwargs.update(exog=exog, mle_regression=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the numbers are descriptive
        res = UnobservedComponents(series, **kwargs).fit(disp=False, method="bfgs", maxiter=500)
    state, cov = np.asarray(res.smoothed_state), np.asarray(res.smoothed_state_cov)
    row = index if index >= 0 else state.shape[0] + index
    return float(state[row, -1]), float(math.sqrt(max(cov[row, row, -1], 0.0)))


def _trend_and_shift(series: np.ndarray, start: int | None) -> dict[str, Any]:
    observed = np.isfinite(series)
    record: dict[str, Any] = {"trend_per_month": None, "trend_se": None, "level_shift": None,
                              "level_shift_se": None, "seasonal": False}
    if observed.sum() < _MIN_MONTHS_FOR_TREND or np.nanstd(series) == 0:
        record["note"] = f"fewer than {_MIN_MONTHS_FOR_TREND} months or a constant series: no trend"
        return record
    seasonal = bool(observed.sum() >= SEASONAL_FROM_MONTHS)
    record["seasonal"] = seasonal
    slope, slope_se = _smoothed_last(series, None, 1, seasonal=seasonal)  # states: level, slope, (seasonal)
    record.update(trend_per_month=slope, trend_se=slope_se)
    if start is not None and 2 <= start <= series.size - 1:
        step = (np.arange(series.size) >= start).astype(float)[:, None]
        shift, shift_se = _smoothed_last(series, step, -1, seasonal=seasonal)  # the step is the last state
        record.update(level_shift=shift, level_shift_se=shift_se)
    return record


def monthly_community_summary(frame: pd.DataFrame, *, community: str, time: str, member: str | None = None,
                              kind: str | None = None, members: str | None = None, posts: str | None = None,
                              active_members: str | None = None, discussions: str | None = None,
                              campaign_start: str | None = None, suppress_below: int | None = None,
                              registered: Sequence[RegisteredEffect] = (), file: str = "<data>") -> CommunitySummary:
    """Members, posts, active members and discussions per community and month, with trends and (where a campaign
    start is given) a descriptive level shift. Give ``member`` and ``kind`` for an activity log, or the count
    columns (any of ``members``, ``posts``, ``active_members``, ``discussions``) for summarised counts."""
    for name in (community, time, member, kind, members, posts, active_members, discussions, campaign_start):
        if name is not None and name not in frame.columns:
            raise DataError("column not found", file=file, column=name, fix="name a column of the file")
    notes: list[str] = []
    if member is not None and kind is not None:
        monthly = _from_events(frame, community=community, time=time, member=member, kind=kind, file=file)
        source = "activity log"
    elif any(c is not None for c in (members, posts, active_members, discussions)):
        monthly = _from_counts(frame, community=community, time=time,
                               columns={"members": members, "posts": posts, "active_members": active_members,
                                        "discussions": discussions}, file=file, notes=notes)
        source = "counts"
    else:
        raise DataError("give member and kind (an activity log) or at least one count column", file=file,
                        column=community, fix="name the columns to summarise")
    starts: dict[str, int] = {}
    if campaign_start is not None:
        when = read_time(frame[campaign_start], "month", file=file, column=campaign_start, allow_missing=True)
        first = pd.DataFrame({"community": frame[community].astype("string"), "start": when}).dropna()
        for name, rows in first.groupby("community"):
            starts[str(name)] = int(period_codes(pd.Series([rows["start"].min()]), "month")[0])
    metrics = [m for m in METRICS if m in monthly.columns]
    effects = {(e.community, e.metric): e for e in registered}
    unknown = sorted({e.metric for e in registered} - set(metrics))
    if unknown:
        raise DataError(f"the registered effect is on '{unknown[0]}', which this summary does not show", file=file,
                        column=unknown[0], fix="summarise the hypothesis' outcome column too (e.g. --posts posts)")
    trends = []
    for name, rows in monthly.groupby("community", sort=True):
        rows = rows.sort_values("month")
        start = starts.get(str(name))
        offset = int(start - rows["month"].iloc[0]) if start is not None else None
        for metric in metrics:
            record = _trend_and_shift(rows[metric].to_numpy(dtype=np.float64), offset)
            effect = effects.get((str(name), metric))
            trends.append({"community": str(name), "metric": metric,
                           "campaign_month": period_label(start, "month") if start is not None else None, **record,
                           "registered_hypothesis": effect.hypothesis if effect else None,
                           "registered_effect": effect.effect if effect else None,
                           "registered_ci_low": effect.ci_low if effect else None,
                           "registered_ci_high": effect.ci_high if effect else None})
    monthly = monthly.assign(month=[period_label(int(m), "month") for m in monthly["month"]])
    monthly = monthly[["community", "month", *metrics]].reset_index(drop=True)
    suppressed = 0
    if suppress_below:
        for metric in metrics:
            small = monthly[metric].notna() & (monthly[metric] > 0) & (monthly[metric] < suppress_below)
            suppressed += int(small.sum())
            monthly[metric] = monthly[metric].astype("float64").where(~small)
        if suppressed:
            notes.append(f"{suppressed} counts between 1 and {suppress_below - 1} blanked (suppress_below)")
    counts = {"rows_in_source": len(frame), "communities": int(monthly["community"].nunique()),
              "months": int(monthly["month"].nunique()), "cells_suppressed": suppressed}
    missing = sorted({e.community for e in registered} - set(monthly["community"]))
    if missing:
        notes.append(f"{len(missing)} registered campaign(s) not in this file: {', '.join(missing)}")
    notes.append(f"summarised from the {source}")
    return CommunitySummary(monthly=monthly, trends=pd.DataFrame(trends), notes=tuple(notes), counts=counts)
