"""Time as the user has it (issues 16 and 22): the data's spacing against the registered period, monthly /
quarterly / yearly / integer periods end to end, a 0/1 treated-and-post indicator, and the structural
time-series defects (covariates used, relative effects on the right scale, bounded bands)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from oca_experiments.contracts import assess_testability
from oca_experiments.contracts._testability import Requirements
from oca_experiments.errors import DataError
from oca_experiments.estimators import fit_its, fit_staggered_did
from oca_experiments.estimators._engagement_options import ItsOptions, StaggeredDiDOptions
from oca_experiments.estimators._its import fit_counterfactual
from oca_experiments.estimators._staggered import prepare_panel
from oca_experiments.io import native_spacing, spacing_problem

from _series_data import monthly_series, quarterly_panel, spec


@pytest.mark.parametrize(("dates", "expected"), [
    (pd.date_range("2020-01-01", periods=40, freq="D"), "day"),
    (pd.date_range("2020-01-06", periods=40, freq="7D"), "week"),
    (pd.date_range("2020-01-01", periods=40, freq="MS"), "month"),
    (pd.date_range("2020-01-31", periods=40, freq="ME"), "month"),
    (pd.date_range("2020-01-01", periods=12, freq="QS"), "quarter"),
    (pd.date_range("2001-01-01", periods=12, freq="YS"), "year"),
])
def test_native_spacing(dates, expected) -> None:
    assert native_spacing(pd.Series(dates.strftime("%Y-%m-%d"))) == expected


def test_spacing_problem_words() -> None:
    monthly = pd.Series(pd.date_range("2010-01-01", periods=120, freq="MS").strftime("%Y-%m-%d"))
    assert spacing_problem(monthly, "day", column="date") == (
        "column 'date' is monthly; this estimator's period is day: register period: month")
    assert spacing_problem(monthly, "month", column="date") is None
    assert spacing_problem(monthly, "quarter", column="date") is None  # finer data is averaged into quarters
    integers = pd.Series(range(1, 30))
    assert "holds whole numbers, not dates" in spacing_problem(integers, "day", column="t")
    assert spacing_problem(integers, "integer", column="t") is None
    assert "register period: month" in spacing_problem(monthly, "integer", column="date")


# --------------------------------------------------------------------------------------------------- its, monthly


def test_monthly_series_refused_by_a_daily_its_at_validate_time() -> None:
    """Issue 22 item 1: 120 monthly values were laid on 3,622 days. Now the testability check (validate and run)
    refuses them, and prepare_panel refuses them too for direct callers."""
    data = monthly_series()
    options = ItsOptions.model_validate({})
    check = assess_testability(data, spec("its"), Requirements(), periods=(options.period,))
    failed = {c.rule: c.message for c in check.failed}
    assert failed["period_spacing"] == (
        "column 'date' is monthly; this estimator's period is day: register period: month")
    with pytest.raises(DataError, match="register period: month"):
        prepare_panel(data, data["y"], unit="unit", time="date", adoption="start", treatment="treated",
                      cluster=None, period="day")


@pytest.fixture(scope="module")
def monthly_fit():
    data = monthly_series()
    options = ItsOptions.model_validate({"period": "month", "seasonal": [12], "comparison": "mean"})
    with_x = fit_its(data, data["y"], spec("its", covariates=("x",)), options, file="m.csv")
    without_x = fit_its(data, data["y"], spec("its"), options, file="m.csv")
    return with_x, without_x


def test_monthly_its_runs_on_a_monthly_grid_with_seasonality_and_a_regressor(monthly_fit) -> None:
    fit, _ = monthly_fit
    assert fit.counts["periods"] == 120  # months, not 3,622 days
    campaign = fit.extras["by_campaign"][0]
    assert campaign["start"] == "2017-07"
    assert campaign["n_pre"] == 90 and campaign["n_post"] == 30
    assert fit.ci_low < 3.0 < fit.ci_high
    assert fit.std_error < 1.0
    assert "seasonal of period 12" in fit.extras["model"] and "x" in fit.extras["regressors"]
    assert campaign["components"]["regression_coefficients"][-1] == pytest.approx(2.0, abs=0.15)
    assert set(campaign["variances"]) >= {"sigma2.irregular", "sigma2.level"}


def test_its_uses_the_registered_covariates(monthly_fit) -> None:
    """Issue 16: the estimate was bit-identical with and without the covariate while the report said
    'adjusting for'. Now the regressor enters the model, and the interval narrows (x explains part of
    the noise) and the estimate moves towards the truth."""
    with_x, without_x = monthly_fit
    assert with_x.estimate != without_x.estimate
    assert with_x.std_error < without_x.std_error
    assert abs(with_x.estimate - 3.0) < abs(without_x.estimate - 3.0)


def test_min_pre_periods_counts_periods_not_days() -> None:
    data = monthly_series(n=60, start=20)
    options = ItsOptions.model_validate({"period": "month", "seasonal": [12], "min_pre_periods": 24})
    from oca_experiments.estimators._survey_did import NotTestable

    with pytest.raises(NotTestable, match="observed pre-period months"):
        fit_its(data, data["y"], spec("its"), options, file="m.csv")


# --------------------------------------------------------------------------------------------------- scales


def _count_series(seed: int, n: int = 150, start: int = 100, ratio: float = 0.83, base: float = 40.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.2, n)
    mean = base * np.exp(x)
    mean[start:] *= ratio
    return rng.poisson(mean).astype(float), x[:, None]


def test_relative_effect_of_log1p_counts_is_on_the_count_scale() -> None:
    """Issue 16: with count_model log1p the relative effect was computed on log(1 + y) (-4% for a -17% effect).
    Now effects are back on the count scale, from the same draws as their interval."""
    relative, covered = [], []
    for seed in range(20):
        y, x = _count_series(seed)
        cf = fit_counterfactual(y, x, 100, seasonal=(), scale="log1p", draws=1000, seed=seed)
        assert cf.relative_ci[0] < cf.relative_effect < cf.relative_ci[1]
        assert cf.average_ci[0] < cf.average_effect < cf.average_ci[1]
        relative.append(cf.relative_effect)
        covered.append(cf.relative_ci[0] < -0.17 < cf.relative_ci[1])
    assert np.mean(relative) == pytest.approx(-0.17, abs=0.02)  # the old code gave about -0.04 (log scale)
    assert np.mean(covered) >= 0.8
    assert np.all(cf.lower >= 0)  # the band respects the bound


def test_relative_effect_of_an_outcome_that_already_is_a_log() -> None:
    """Issue 16: on an outcome that already is a log the relative effect read -2.6% for a -17% effect."""
    y, x = _count_series(4)
    logged = np.log(y)
    cf = fit_counterfactual(logged, x, 100, seasonal=(), scale="log_outcome")
    assert cf.relative_effect == pytest.approx(math.expm1(cf.average_effect))
    assert cf.relative_effect == pytest.approx(-0.17, abs=0.05)
    assert cf.relative_ci[0] < cf.relative_effect < cf.relative_ci[1]


def test_relative_effect_inside_its_interval_and_missing_bounds_in_words() -> None:
    """Issue 22 item 2: -1.51 against [-0.83, None]. A series near zero: the counterfactual total's interval
    reaches below zero, so the upper bound cannot be computed; that is said in words, and the point lies inside
    what is computed."""
    rng = np.random.default_rng(11)
    y = 0.3 + rng.normal(0, 1.0, 80)
    cf = fit_counterfactual(y, None, 60, seasonal=())
    if cf.relative_effect is None:
        assert "not computable" in cf.relative_note
        assert cf.relative_ci == (None, None)
    else:
        low, high = cf.relative_ci
        assert high is None and "upper bound not computable" in cf.relative_note
        assert low <= cf.relative_effect


def test_share_bands_stay_between_zero_and_one_on_the_logit_scale() -> None:
    """Issue 16: Gaussian counterfactual bands went below zero for shares. On the logit scale they cannot."""
    rng = np.random.default_rng(5)
    n = 120
    share = 1 / (1 + np.exp(-(-3.2 + rng.normal(0, 0.6, n))))
    level = fit_counterfactual(share, None, 90, seasonal=(), scale="level")
    logit = fit_counterfactual(share, None, 90, seasonal=(), scale="logit")
    assert np.any(level.lower < 0)  # the old behaviour, still what scale: level means
    assert np.all((logit.lower > 0) & (logit.upper < 1))
    assert logit.average_ci[0] < logit.average_effect < logit.average_ci[1]


# --------------------------------------------------------------------------------------------------- staggered


@pytest.fixture(scope="module")
def quarterly():
    return quarterly_panel()


def _did(data: pd.DataFrame, options: dict, **kw):
    opts = StaggeredDiDOptions.model_validate({"bootstrap_draws": 199, **options})
    return fit_staggered_did(data, data["y"], spec("staggered_did", se="CR1", **kw), opts, file="q.csv")


def test_staggered_did_on_quarters(quarterly) -> None:
    """Issue 16: quarterly dates gave 'no post-adoption periods with both treated and comparison units
    observed'. With period: quarter every unit is observed every quarter."""
    fit = _did(quarterly, {"period": "quarter"}, treatment="ever")
    assert fit.counts["periods"] == 20
    assert fit.ci_low < 1.0 < fit.ci_high
    assert fit.extras["att_gt"]["cohort"][0] == "2017Q1"


def test_staggered_did_from_a_treated_and_post_indicator(quarterly) -> None:
    """Issue 16: a 0/1 treated-and-post column was refused ('treatment changes within unit'). Now adoption is
    derived from it, and the estimate equals the one from adoption dates."""
    from_dates = _did(quarterly, {"period": "quarter"}, treatment="ever")
    from_indicator = _did(quarterly, {"period": "quarter"}, treatment="treated", adoption=None)
    assert from_indicator.estimate == pytest.approx(from_dates.estimate, rel=1e-12)
    assert from_indicator.std_error == pytest.approx(from_dates.std_error, rel=1e-12)
    check = assess_testability(quarterly, spec("staggered_did", se="CR1", adoption=None), Requirements(),
                               periods=("quarter",))
    assert check.testable, check.reason


def test_staggered_did_on_integer_periods(quarterly) -> None:
    """Issue 16: an integer period column passed validate and failed run ('values not readable as dates')."""
    by_quarter = _did(quarterly, {"period": "quarter"}, treatment="ever")
    by_integer = _did(quarterly, {"period": "integer"}, treatment="ever", adoption="start_t", time="t")
    assert by_integer.estimate == pytest.approx(by_quarter.estimate, rel=1e-12)
    # validate refuses what run would: integer time under a calendar period, dates under integer.
    bad = assess_testability(quarterly, spec("staggered_did", se="CR1", adoption="start_t", time="t",
                                             treatment="ever"), Requirements(), periods=("day",))
    assert "holds whole numbers, not dates" in bad.reason
    mixed = assess_testability(quarterly, spec("staggered_did", se="CR1", adoption="start", time="t",
                                               treatment="ever"), Requirements(), periods=("integer",))
    assert "column 'start'" in mixed.reason and "not whole numbers" in mixed.reason


def test_indicator_that_switches_off_is_refused(quarterly) -> None:
    data = quarterly.copy()
    flip = (data["unit"] == "D00") & (data["t"] == 20)
    data.loc[flip, "treated"] = 0
    check = assess_testability(data, spec("staggered_did", se="CR1", adoption=None), Requirements(),
                               periods=("quarter",))
    assert "switches back to 0 in 1 unit(s)" in check.reason
    with pytest.raises(DataError, match="switches back to 0"):
        _did(data, {"period": "quarter"}, adoption=None)


def test_yearly_series_with_whole_number_years() -> None:
    """Issue 22: a yearly series (years written 1990, 1991, ...) runs with period: year, the level shift modelled
    on the whole series, and is refused by a daily period."""
    rng = np.random.default_rng(8)
    years = np.arange(1980, 2020)
    rows = []
    for u in range(3):
        y = 100 + np.cumsum(rng.normal(0, 1, years.size)) + rng.normal(0, 1, years.size)
        if u == 0:
            y[years >= 2005] += 8
        rows.append(pd.DataFrame({"unit": f"U{u}", "date": years, "y": y, "treated": int(u == 0),
                                  "start": 2005 if u == 0 else None}))
    data = pd.concat(rows, ignore_index=True)
    daily = assess_testability(data, spec("its"), Requirements(), periods=("day",))
    assert "holds whole numbers, not dates" in daily.reason
    options = ItsOptions.model_validate({"period": "year", "intervention": "level_shift", "comparison": "none"})
    assert assess_testability(data, spec("its"), Requirements(), periods=("year",)).testable
    fit = fit_its(data, data["y"], spec("its"), options, file="y.csv")
    assert fit.counts["periods"] == 40
    assert fit.extras["by_campaign"][0]["start"] == "2005"
    assert fit.ci_low < 8 < fit.ci_high


def test_several_seasonal_components_and_nested_periods_refused() -> None:
    """Two seasonal patterns at once (periods 5 and 7 on integer periods), recovered with the effect; a period
    that divides another is refused at plan time (not identified)."""
    with pytest.raises(ValueError, match="seasonal period 6 is contained in 12"):
        ItsOptions.model_validate({"period": "month", "seasonal": [12, 6]})
    rng = np.random.default_rng(21)
    n, start = 210, 170
    t = np.arange(n)
    five = np.array([2.0, -1.0, 0.5, -2.0, 0.5])
    seven = np.array([0.0, 1.0, 2.0, 1.0, -1.0, -1.5, -1.5])
    y = 10 + five[t % 5] + seven[t % 7] + rng.normal(0, 0.3, n)
    y[start:] += 1.5
    both = fit_counterfactual(y, None, start, seasonal=(5, 7))
    only_five = fit_counterfactual(y, None, start, seasonal=(5,))
    assert both.average_ci[0] < 1.5 < both.average_ci[1]
    assert both.average_se < 0.5 * only_five.average_se  # the second pattern is modelled, not noise
    assert {"seasonal", "seasonal_2"} <= set(both.components)


def test_pulse_and_slope_change_interventions() -> None:
    from oca_experiments.estimators import fit_intervention

    rng = np.random.default_rng(4)
    n, start = 120, 80
    t = np.arange(n)
    base = 50 + rng.normal(0, 1, n)
    ramp = base + np.where(t >= start, 0.4 * (t - start + 1), 0.0)
    slope = fit_intervention(ramp, None, start, kind="slope_change", level="local_level")
    assert slope.ci[0] < 0.4 < slope.ci[1] and slope.ci[0] > 0.2
    assert slope.relative_effect is None and slope.relative_note == "no relative effect for a slope"
    pulse = base.copy()
    pulse[start] += 12
    spike = fit_intervention(pulse, None, start, kind="pulse", level="local_level")
    assert spike.ci[0] < 12 < spike.ci[1]
    plain = fit_intervention(ramp[:start], None, None, kind="none", level="local_linear_trend")
    assert abs(plain.estimate) < 3 * plain.std_error + 0.05  # no trend before the ramp


def test_relative_effect_branches() -> None:
    """The three cases of observed / counterfactual - 1 with the counterfactual total's interval [lo, hi]."""
    from oca_experiments.estimators._its import _relative

    point, (low, high), note = _relative(120.0, 100.0, (80.0, 120.0))
    assert (point, low, high, note) == (pytest.approx(0.2), pytest.approx(0.0), pytest.approx(0.5), None)
    point, (low, high), note = _relative(120.0, 100.0, (-5.0, 205.0))
    assert low < point and high is None and note.startswith("upper bound not computable")
    # The issue-22 case: a counterfactual total below zero gave -1.51 beside [-0.83, None].
    point, interval, note = _relative(51.0, -100.0, (-300.0, 100.0))
    assert point is None and interval == (None, None) and note.startswith("not computable")


def test_validate_refuses_outcomes_outside_the_scale_and_regressor_gaps() -> None:
    """What `its` would refuse at run time (a share of exactly 0 on the logit scale, a regressor missing where the
    outcome is observed) is refused by the testability check that `oca validate` runs."""
    data = monthly_series()
    data["share"] = 1 / (1 + np.exp(-data["y"] / 10))
    data.loc[5, "share"] = 0.0
    data.loc[7, "x"] = np.nan
    s = spec("its", covariates=("x",)).model_copy(update={"outcome": spec("its").outcome.model_copy(
        update={"construction": spec("its").outcome.construction.model_copy(update={"column": "share"})})})
    check = assess_testability(data, s, Requirements(), periods=("month",), scale="logit", regressors=("x",))
    assert "outcome 'share' has 1 values not strictly between 0 and 1" in check.reason
    assert "regressor 'x' is missing in 1 row(s)" in check.reason


def test_level_band_below_zero_is_said() -> None:
    rng = np.random.default_rng(5)
    share = 1 / (1 + np.exp(-(-3.2 + rng.normal(0, 0.6, 120))))
    frame = pd.DataFrame({"unit": "U0", "date": pd.date_range("2020-01-01", periods=120, freq="MS")
                          .strftime("%Y-%m-%d"), "y": share, "treated": 1, "start": "2027-07-01"})
    options = ItsOptions.model_validate({"period": "month", "comparison": "none", "min_pre_periods": 24})
    fit = fit_its(frame, frame["y"], spec("its"), options, file="s.csv")
    assert "register scale: log1p (counts) or logit" in fit.extras["by_campaign"][0]["band_note"]
    logit = fit_its(frame, frame["y"], spec("its"), options.model_copy(update={"scale": "logit"}), file="s.csv")
    assert logit.extras["by_campaign"][0]["band_note"] is None
