"""Registered options of the series and panel estimators (``staggered_did``, ``its``, ``twfe``). Pydantic only, no
numerics, so that the plan stage can validate a spec's options in milliseconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Period = Literal["day", "week", "month", "quarter", "year", "integer"]
PERIOD_DESCRIPTION = ("the time axis: day, week, month, quarter, year (read from dates; year also from whole-number "
                      "years) or integer (whole-number periods). Data finer than the period is averaged into it; "
                      "data coarser than it is refused at validate time")
#: Observed pre-intervention periods a campaign needs by default, per period.
DEFAULT_MIN_PRE = {"day": 28, "week": 12, "month": 24, "quarter": 12, "year": 10, "integer": 10}


class ItsModelOptions(_Options):
    """The structural time-series model (statsmodels ``UnobservedComponents``) fitted on each campaign unit."""

    period: Period = Field(default="day", description=PERIOD_DESCRIPTION)
    level: Literal["local_level", "local_linear_trend"] = Field(
        default="local_level", description="stochastic level, or level and slope")
    seasonal: tuple[int, ...] | None = Field(
        default=None, description="seasonal periods in units of the period, several allowed (e.g. [12] for months, "
        "[4] for quarters, [7] for days); default: [7] for day, none otherwise")
    stochastic_seasonal: bool = Field(default=False, description="let the seasonal pattern drift (else fixed)")
    weekly_seasonality: bool | None = Field(
        default=None, description="legacy shorthand for seasonal: [7] on daily data (true) or no seasonality (false)")
    comparison: Literal["mean", "none"] = Field(
        default="mean", description="regressor: the per-period mean outcome of the comparison (never-treated) units")
    intervention: Literal["forecast", "level_shift", "pulse", "slope_change", "none"] = Field(
        default="forecast", description="forecast: CausalImpact-style counterfactual from the pre-period; "
        "level_shift / pulse / slope_change: an intervention term in a model of the whole series (the effect is "
        "its coefficient); none: a plain fit of the whole series, the estimate is the final slope (needs "
        "level: local_linear_trend)")
    scale: Literal["level", "log", "log1p", "logit", "log_outcome"] = Field(
        default="level", description="level: model y; log / log1p: model log(y) / log(1 + y) (counts; bands stay "
        ">= 0); logit: model logit(y) (shares strictly between 0 and 1; bands stay in (0, 1)); effects are reported "
        "on the outcome's own scale. log_outcome: the outcome already is a log; effects in log points and the "
        "relative effect is exp(effect) - 1")
    count_model: Literal["none", "log1p"] = Field(
        default="none", description="legacy: log1p is scale: log1p")
    min_pre_periods: int | None = Field(
        default=None, ge=4, description="observed pre-intervention periods a campaign needs (default per period: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_MIN_PRE.items()) + ")")
    placebo_fraction: float = Field(
        default=0.33, gt=0, lt=0.8,
        description="placebo-in-time test: a fake start this share of the pre-period before the real one")
    draws: int = Field(default=4000, ge=500, le=100_000, description="joint forecast draws for effects on a "
                       "transformed scale (log, log1p, logit)")
    seed: int = Field(default=20260307, ge=0, description="seed of those draws")

    @model_validator(mode="after")
    def _check_model(self) -> ItsModelOptions:
        if self.seasonal is not None and self.weekly_seasonality is not None:
            raise ValueError("give seasonal or weekly_seasonality, not both")
        if self.weekly_seasonality and self.period != "day":
            raise ValueError(f"weekly_seasonality is for daily data; with period {self.period} register seasonal: "
                             "[...] in periods (e.g. [12] for months)")
        if any(s < 2 for s in self.seasonal or ()):
            raise ValueError("each seasonal period must be at least 2")
        if len(set(self.seasonal or ())) != len(self.seasonal or ()):
            raise ValueError("a seasonal period is listed twice")
        for short in self.seasonal or ():
            for long in self.seasonal or ():
                if short < long and long % short == 0:
                    # Every pattern of period `short` is also one of period `long`: the two are not identified.
                    raise ValueError(f"seasonal period {short} is contained in {long} (it divides it); list only "
                                     f"{long}")
        if self.count_model == "log1p" and self.scale not in ("level", "log1p"):
            raise ValueError("count_model: log1p is scale: log1p; give one of them")
        if self.intervention == "none" and self.level != "local_linear_trend":
            raise ValueError("intervention: none estimates the final slope: register level: local_linear_trend")
        return self

    @property
    def seasonal_periods(self) -> tuple[int, ...]:
        if self.seasonal is not None:
            return tuple(self.seasonal)
        if self.weekly_seasonality is None:
            return (7,) if self.period == "day" else ()
        return (7,) if self.weekly_seasonality else ()

    @property
    def model_scale(self) -> str:
        return "log1p" if self.count_model == "log1p" else self.scale

    @property
    def min_pre(self) -> int:
        return self.min_pre_periods if self.min_pre_periods is not None else DEFAULT_MIN_PRE[self.period]


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
    period: Period = Field(default="day", description=PERIOD_DESCRIPTION + "; weeks start on Monday")
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


class SmallSample(_Options):
    """fixest's ``ssc()`` for the regression's standard errors (pyfixest's argument names)."""

    k_adj: bool = Field(default=True, description="apply (N - 1) / (N - K) (N / (N - K) for HC1)")
    k_fixef: Literal["nonnested", "full", "none"] = Field(
        default="nonnested", description="fixed effects counted in K: nonnested (those not nested in the clusters; "
        "fixest's default fixef.K = 'nested'), full (all), none")
    G_adj: bool = Field(default=True, description="apply G / (G - 1) to cluster-robust (CR1) variances "
                        "(fixest's cluster.adj)")


class TwfeOptions(_Options):
    period: Period = Field(default="day", description=PERIOD_DESCRIPTION)
    event_window: tuple[int, int] | None = Field(
        default=None, description="[first, last] periods relative to adoption: an event study with these leads "
        "(negative) and lags; the estimate is the mean of the lags 0..last. Omit for the static TWFE")
    reference: int = Field(default=-1, description="the relative period left out of the event study")
    bin_endpoints: bool = Field(default=True, description="relative periods beyond the window are binned into its "
                                "first / last indicator (false: those rows are dropped)")
    ssc: SmallSample = Field(default_factory=SmallSample, description="small-sample conventions (fixest's ssc)")

    @model_validator(mode="after")
    def _check(self) -> TwfeOptions:
        if self.event_window is not None:
            first, last = self.event_window
            if not first < 0 <= last:
                raise ValueError("event_window must be [first, last] with first < 0 <= last")
            if not first <= self.reference < 0:
                raise ValueError("reference must be a lead inside event_window (usually -1)")
        return self
