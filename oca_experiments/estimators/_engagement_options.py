"""Registered options of the engagement estimators (``staggered_did``, ``its``). Pydantic only, no numerics, so that
the plan stage can validate a spec's options in milliseconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ItsModelOptions(_Options):
    """The structural time-series model fitted on each campaign page's pre-campaign days."""

    level: Literal["local_level", "local_linear_trend"] = Field(
        default="local_level", description="stochastic level, or level and slope")
    weekly_seasonality: bool = Field(default=True, description="fixed day-of-week effects")
    comparison: Literal["mean", "none"] = Field(
        default="mean", description="regressor: the daily mean outcome of the comparison (never-treated) units")
    count_model: Literal["none", "log1p"] = Field(
        default="none", description="log1p: model log(1 + y) and report effects on that scale")
    min_pre_periods: int = Field(default=28, ge=8, description="observed pre-campaign days a campaign needs")
    placebo_fraction: float = Field(
        default=0.33, gt=0, lt=0.8,
        description="placebo-in-time test: a fake start this share of the pre-period before the real one")


class StaggeredOptions(_Options):
    """Callaway-Sant'Anna ATT(g,t) settings."""

    control_group: Literal["never_treated", "not_yet_treated"] = "never_treated"
    method: Literal["dr", "or"] = Field(
        default="dr", description="doubly robust or outcome regression on the spec's covariates (the same "
        "without covariates)")
    base_period: Literal["varying", "universal"] = "varying"
    anticipation: int = Field(default=0, ge=0, description="periods before adoption already affected")
    unbalanced_panel: Literal["pairwise", "balance", "allow_unbalanced"] = Field(
        default="pairwise", description="units missing some periods: pairwise (default) uses, in each ATT(g,t) "
        "cell, the units observed in both its periods; balance (R did's default) drops every unit not observed in "
        "all periods; allow_unbalanced (R did's allow_unbalanced_panel) uses every observation as repeated cross-"
        "sections, without within-unit differencing (much noisier when unit levels differ; no covariates)")
    period: Literal["day", "week"] = Field(
        default="day", description="week: average each unit's days by calendar week (Monday start) first")
    aggregation: Literal["simple", "event_time", "group"] = Field(
        default="simple", description="which aggregate of ATT(g,t) is the hypothesis' estimate")
    count_model: Literal["none", "log1p", "ppml"] = Field(
        default="none", description="log1p: ATT on log(1 + y); ppml: Poisson pseudo-likelihood with unit and "
        "period effects and cohort-specific post indicators, reported as a proportional change")
    event_window: tuple[int, int] | None = Field(
        default=None, description="[first, last] event time (in periods) shown and used for the pre-trend test")
    bootstrap_draws: int = Field(default=999, ge=99, le=100_000)
    seed: int = Field(default=20260307, ge=0, description="seed of the multiplier bootstrap")
    relative_magnitudes: tuple[float, ...] = Field(
        default=(), description="HonestDiD sensitivity (Rambachan-Roth Delta^RM): Mbar values; the post-period "
        "violation may change per period by at most Mbar times the largest pre-period change")
    smoothness: tuple[float, ...] = Field(
        default=(), description="HonestDiD sensitivity (Delta^SD): M values, the largest change in slope of the "
        "violation per period (outcome units); M = 0 extrapolates a linear pre-trend")
    sensitivity_method_rm: Literal["hybrid", "conditional"] = Field(
        default="hybrid", description="confidence set under Delta^RM: ARP conditional-least-favorable hybrid (as R "
        "HonestDiD's default) or conditional")
    sensitivity_method_sd: Literal["flci", "hybrid", "conditional"] = Field(
        default="flci", description="confidence set under Delta^SD: optimal fixed-length interval (R HonestDiD's "
        "default) or an ARP set")
    sensitivity_target: Literal["average", "first"] = Field(
        default="average", description="theta: the average of the post-period event-time effects in the "
        "sensitivity window, or the first post-period effect")
    sensitivity_window: tuple[int, int] = Field(
        default=(-5, 5), description="[first, last] event time of the universal-base event study the sensitivity "
        "analysis uses (the reference period -1 - anticipation is left out)")
    few_treated_inference: Literal["auto", "permutation", "influence_function"] = Field(
        default="auto", description="auto: with fewer than permutation_below treated units, a Fisher permutation "
        "test over units (adoption dates re-assigned) and its inverted interval; otherwise the influence function "
        "with t(G - 1). One treated unit always uses the permutation test (or is refused when it cannot reach "
        "the registered level)")
    permutation_below: int = Field(default=10, ge=1, description="auto uses the permutation rule below this many "
                                   "treated units")
    permutation_draws: int = Field(default=1999, ge=99, le=100_000, description="random re-assignments when "
                                   "there are more distinct ones than this (otherwise all are used)")

    @model_validator(mode="after")
    def _check_window(self) -> StaggeredOptions:
        if self.event_window is not None and self.event_window[0] >= self.event_window[1]:
            raise ValueError("event_window must be [first, last] with first < last")
        if any(m < 0 for m in (*self.relative_magnitudes, *self.smoothness)):
            raise ValueError("relative_magnitudes and smoothness values must be >= 0")
        first, last = self.sensitivity_window
        if not first < -1 - self.anticipation < 0 <= last:
            raise ValueError("sensitivity_window must be [first, last] with first < -1 - anticipation and last >= 0 "
                             "(at least one pre-period besides the reference, and one post-period)")
        return self


class StaggeredDiDOptions(StaggeredOptions):
    its_by_campaign: ItsModelOptions | None = Field(
        default=None, description="also fit each campaign's counterfactual ITS (robustness; not the verdict)")


class ItsOptions(ItsModelOptions):
    staggered_did: StaggeredOptions | None = Field(
        default=None, description="also estimate the staggered DiD (robustness; not the verdict)")
