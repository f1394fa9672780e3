"""Exposure-response (continuous-dose DiD within the treated arm) and the spillover contrast (issue 20).

References: statsmodels WLS with cluster-robust covariance (and pyfixest when installed) on the community-level
regression built independently from the respondent rows (1e-8); recovery of a known slope / spillover in small
simulated designs (few clusters, skewed exposure, one treated community per dose level) with 95% coverage sanity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from oca_experiments.errors import NotTestable
from oca_experiments.estimators import REGISTRY, LinkedFrame
from oca_experiments.results import EstimateResult
from oca_experiments.results.parts import ExposureResponse, Spillover
from oca_experiments.spec import HypothesisSpec

WAVES = [{"label": "pre", "start": "2026-02-01", "end": "2026-02-28"},
         {"label": "post", "start": "2026-10-01", "end": "2026-10-31"}]


def _spec(estimator: dict[str, Any], *, sesoi: float | None = 0.1, threshold: int = 0,
          method: str = "wild_webb") -> HypothesisSpec:
    return HypothesisSpec.model_validate({
        "id": "h_dose", "title": "t", "hypothesis": "t", "type": "exploratory", "direction": "increase",
        "outcome": {"source": "survey", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "pid", "time": "wave", "pre": "pre", "post": "post", "treatment": "treated",
                   "cluster": "community", "waves": WAVES},
        "estimator": estimator,
        # few_clusters threshold 0: the analytic CR1 is primary, as the references compute it
        "inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "sesoi": sesoi,
                      "few_clusters": {"threshold": threshold, "method": method}},
    })


def _exposure_options(**overrides: Any) -> dict[str, Any]:
    options = {"exposure": {"source": "engagement", "columns": ["reach"], "date": "date",
                            "key": {"survey": "community", "exposure": "community"}, "per": "population"}}
    options.update(overrides)
    return options


def _world(seed: int, *, treated_doses: np.ndarray, comparison: int = 6, per_unit: int = 25, slope: float = 0.2,
           att: float = 0.3, spill: float = 0.0, near_share: float = 0.5, skew: bool = True,
           attrition: float = 0.1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Respondent panel and daily exposure: treated community c has dose d_c; its effect is att + slope (d - mean)."""
    rng = np.random.default_rng(seed)
    n_treated = len(treated_doses)
    rows, exposure = [], []
    mean_dose = treated_doses.mean()
    for c in range(n_treated + comparison):
        treated = int(c < n_treated)
        name = f"C{c:02d}"
        district = f"D{c % n_treated:02d}" if (treated or rng.random() < near_share) else f"F{c:02d}"
        near = int(not treated and district.startswith("D"))
        shock = rng.normal(0, 0.15)
        effect = att + slope * (treated_doses[c] - mean_dose) if treated else spill * near
        for i in range(per_unit):
            person = rng.normal()
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < attrition:
                    continue
                noise = rng.gamma(2.0, 0.5) - 1.0 if skew else rng.normal()
                y = person + (0.1 + shock + effect if wave == "post" else 0.0) + noise
                rows.append({"pid": f"{name}-{i}", "wave": wave, "community": name, "treated": treated,
                             "district": district, "y": y})
        if treated:
            population = float(rng.integers(800, 3000))
            days = pd.date_range("2026-03-01", "2026-09-30", freq="7D")
            daily = treated_doses[c] * population / len(days)
            for day in days:
                exposure.append({"community": name, "date": day.date().isoformat(), "reach": daily,
                                 "population": population})
            exposure.append({"community": name, "date": "2026-01-15", "reach": 1e6, "population": population})
    return pd.DataFrame(rows), pd.DataFrame(exposure)


def _fit(estimator: dict[str, Any], survey: pd.DataFrame, exposure: pd.DataFrame | None = None,
         **spec_kw: Any) -> EstimateResult:
    spec = _spec(estimator, **spec_kw)
    record = REGISTRY[estimator["name"]]
    options = record.options_model.model_validate(estimator.get("options", {}))
    kwargs: dict[str, Any] = {"file": "survey.csv"}
    if exposure is not None:
        kwargs["linked"] = {"engagement": LinkedFrame(exposure, "engagement.csv")}
    return record.fitter(survey, survey["y"], spec, options, **kwargs)


def _community_changes(survey: pd.DataFrame) -> pd.DataFrame:
    """Independent of the package: within-respondent changes averaged per community."""
    wide = survey.pivot_table(index=["community", "pid"], columns="wave", values="y").dropna()
    change = (wide["post"] - wide["pre"]).groupby(level="community").agg(["mean", "size"])
    first = survey.groupby("community")[["treated", "district"]].first()
    return change.join(first).rename(columns={"mean": "change", "size": "n"})


def _statsmodels(y: np.ndarray, x: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> Any:
    return sm.WLS(y, x, weights=weights).fit(cov_type="cluster", cov_kwds={"groups": groups})


DOSES = np.array([0.05, 0.08, 0.12, 0.2, 0.35, 0.6, 1.1, 2.4])  # skewed: a long right tail


@pytest.mark.parametrize("weights", ["equal", "respondents"])
def test_linear_dose_response_matches_statsmodels(weights: str) -> None:
    survey, exposure = _world(1, treated_doses=DOSES)
    result = _fit({"name": "exposure_response", "options": _exposure_options(weights=weights)}, survey, exposure)
    table = _community_changes(survey)
    doses = dict(zip([f"C{c:02d}" for c in range(len(DOSES))], DOSES))
    dose = np.array([doses.get(c, 0.0) for c in table.index])
    w = table["n"].to_numpy(float) if weights == "respondents" else np.ones(len(table))
    t = table["treated"].to_numpy(float)
    centre = np.average(dose[t == 1], weights=w[t == 1])
    x = np.column_stack([np.ones(len(t)), t, t * (dose - centre)])
    reference = _statsmodels(table["change"].to_numpy(), x, w, np.arange(len(t)))
    assert result.estimate == pytest.approx(reference.params[2], abs=1e-8)
    cr1 = result.extras["inference"].alternatives["CR1"]
    assert cr1.std_error == pytest.approx(reference.bse[2], rel=1e-8)
    part = result.extras["exposure_response"]
    assert isinstance(part, ExposureResponse)
    assert part.average_att.estimate == pytest.approx(reference.params[1], abs=1e-8)
    assert part.average_att.std_error == pytest.approx(reference.bse[1], rel=1e-8)
    # the average ATT is the binary DiD of the unit changes (treated minus comparison weighted means)
    binary = np.average(table["change"][t == 1], weights=w[t == 1]) - np.average(table["change"][t == 0],
                                                                                 weights=w[t == 0])
    assert part.average_att.estimate == pytest.approx(binary, abs=1e-10)
    assert part.mean_dose == pytest.approx(centre, rel=1e-12)
    assert ExposureResponse.from_dict(part.to_dict()).to_dict() == part.to_dict()
    assert any("strong parallel trends" in a.lower() for a in part.assumptions)
    assert all("change" not in unit for unit in part.to_dict()["units"])  # no community's outcome in results


def test_spline_acrt_is_the_average_derivative_as_statsmodels_computes_it() -> None:
    survey, exposure = _world(2, treated_doses=DOSES)
    result = _fit({"name": "exposure_response", "options": _exposure_options(curve="spline", knots=1)},
                  survey, exposure)
    table = _community_changes(survey)
    doses = dict(zip([f"C{c:02d}" for c in range(len(DOSES))], DOSES))
    t = table["treated"].to_numpy(float)
    dose = np.array([doses.get(c, 0.0) for c in table.index])
    treated_doses = dose[t == 1]
    knot = np.quantile(treated_doses, 0.5)
    hinge = np.clip(dose - knot, 0, None)
    x = np.column_stack([np.ones(len(t)), t, t * (dose - treated_doses.mean()), t * (hinge - hinge[t == 1].mean())])
    reference = _statsmodels(table["change"].to_numpy(), x, np.ones(len(t)), np.arange(len(t)))
    contrast = np.array([0.0, 0.0, 1.0, np.mean(treated_doses > knot)])
    test = reference.t_test(contrast)
    assert result.estimate == pytest.approx(float(test.effect[0]), abs=1e-8)
    assert result.extras["inference"].alternatives["CR1"].std_error == pytest.approx(float(test.sd[0, 0]), rel=1e-8)
    assert result.extras["exposure_response"].knots == pytest.approx((knot,))
    # centred hinges: the average ATT is the binary DiD whatever the curve's shape
    change = table["change"].to_numpy()
    average = result.extras["exposure_response"].average_att.estimate
    assert average == pytest.approx(change[t == 1].mean() - change[t == 0].mean(), abs=1e-10)


def test_pyfixest_agrees_on_the_same_regression() -> None:
    pf = pytest.importorskip("pyfixest")
    survey, exposure = _world(3, treated_doses=DOSES)
    result = _fit({"name": "exposure_response", "options": _exposure_options()}, survey, exposure)
    table = _community_changes(survey).reset_index()
    doses = dict(zip([f"C{c:02d}" for c in range(len(DOSES))], DOSES))
    table["dose"] = [doses.get(c, 0.0) for c in table["community"]]
    table["td"] = table["treated"] * (table["dose"] - DOSES.mean())
    fit = pf.feols("change ~ treated + td", data=table, vcov={"CRV1": "community"})
    assert result.estimate == pytest.approx(float(fit.coef()["td"]), abs=1e-8)
    assert result.extras["inference"].alternatives["CR1"].std_error == pytest.approx(float(fit.se()["td"]), rel=1e-8)


def test_the_window_and_per_capita_define_the_dose() -> None:
    """The January row (outside between_waves) would dominate the dose if it were counted."""
    survey, exposure = _world(4, treated_doses=DOSES)
    result = _fit({"name": "exposure_response", "options": _exposure_options()}, survey, exposure)
    part = result.extras["exposure_response"]
    assert part.window == ("2026-03-01", "2026-09-30")
    treated = {u.unit: u.dose for u in part.units if u.treated}
    assert [treated[f"C{c:02d}"] for c in range(len(DOSES))] == pytest.approx(list(DOSES), rel=1e-9)
    assert all(u.dose == 0.0 for u in part.units if not u.treated)


def test_a_treated_unit_without_exposure_is_not_testable() -> None:
    survey, exposure = _world(5, treated_doses=DOSES)
    exposure = exposure.loc[exposure["community"] != "C03"]
    with pytest.raises(NotTestable, match="1 treated units have no exposure in engagement.csv"):
        _fit({"name": "exposure_response", "options": _exposure_options()}, survey, exposure)
    check = REGISTRY["exposure_response"].link_check
    options = REGISTRY["exposure_response"].options_model.model_validate(_exposure_options())
    reason = check(survey, {"engagement": LinkedFrame(exposure, "engagement.csv")},
                   _spec({"name": "exposure_response", "options": _exposure_options()}), options)
    assert reason is not None and "engagement.csv" in reason and "'community'" in reason


def test_one_dose_level_is_not_testable() -> None:
    survey, exposure = _world(6, treated_doses=np.full(4, 0.5))
    with pytest.raises(NotTestable, match="1 distinct dose"):
        _fit({"name": "exposure_response", "options": _exposure_options()}, survey, exposure)


def _coverage(estimator: dict[str, Any], truth: float, seeds: range, **world: Any) -> tuple[float, float]:
    """Coverage of the primary 95% interval under the few-cluster rule (CR2-Satterthwaite below 30 clusters: with
    one treated community per skewed dose the high-leverage communities make CR1's t(G-1) cover only ~75%)."""
    hits, estimates = 0, []
    for seed in seeds:
        survey, exposure = _world(seed, **world)
        linked = exposure if estimator["name"] == "exposure_response" else None
        result = _fit(estimator, survey, linked, threshold=30, method="cr2")
        assert result.se_type == "CR2"
        hits += result.ci_low <= truth <= result.ci_high
        estimates.append(result.estimate)
    return hits / len(seeds), float(np.mean(estimates))


@pytest.mark.parametrize("doses", [DOSES[:5], DOSES], ids=["5_treated", "8_treated"])
def test_simulated_dose_response_slope_is_recovered(doses: np.ndarray) -> None:
    """One treated community per dose level, skewed exposure and errors, 6 comparison communities: the CR2 95%
    interval of the slope covers the true slope in about 95% of 150 draws, and the mean estimate is unbiased."""
    coverage, mean = _coverage({"name": "exposure_response", "options": _exposure_options()}, 0.2,
                               range(150), treated_doses=doses)
    assert 0.89 <= coverage <= 0.995
    spread = 0.2 * 0.25  # the slope's sampling SD is about 0.1-0.2 here: the mean of 150 is within ~0.02
    assert mean == pytest.approx(0.2, abs=spread)


# --------------------------------------------------------------------------- spillover


def _spill_options(**overrides: Any) -> dict[str, Any]:
    return {"near": {"by": "district"}, **overrides}


def test_spillover_contrast_matches_statsmodels_and_pyfixest() -> None:
    survey, _ = _world(7, treated_doses=DOSES, comparison=12, spill=0.2)
    result = _fit({"name": "spillover", "options": _spill_options()}, survey)
    table = _community_changes(survey)
    treated = table["treated"].to_numpy(float)
    with_treated = set(table.loc[table["treated"] == 1, "district"])
    near = ((treated == 0) & table["district"].isin(with_treated).to_numpy()).astype(float)
    x = np.column_stack([np.ones(len(treated)), near, treated])
    reference = _statsmodels(table["change"].to_numpy(), x, np.ones(len(treated)), np.arange(len(treated)))
    assert result.estimate == pytest.approx(reference.params[1], abs=1e-8)
    assert result.extras["inference"].alternatives["CR1"].std_error == pytest.approx(reference.bse[1], rel=1e-8)
    part = result.extras["spillover"]
    assert isinstance(part, Spillover)
    assert part.treated_vs_far.estimate == pytest.approx(reference.params[2], abs=1e-8)
    assert part.treated_vs_far.std_error == pytest.approx(reference.bse[2], rel=1e-8)
    assert (part.near_units, part.far_units) == (int(near.sum()), int(((treated == 0) & (near == 0)).sum()))
    assert Spillover.from_dict(part.to_dict()).to_dict() == part.to_dict()
    pf = pytest.importorskip("pyfixest")
    frame = table.assign(near=near).reset_index()
    fit = pf.feols("change ~ near + treated", data=frame, vcov={"CRV1": "community"})
    assert result.estimate == pytest.approx(float(fit.coef()["near"]), abs=1e-8)
    assert result.std_error == pytest.approx(float(fit.se()["near"]), rel=1e-8)


def test_a_registered_nearness_column_defines_near_units() -> None:
    survey, _ = _world(8, treated_doses=DOSES, comparison=10)
    by_district = _fit({"name": "spillover", "options": _spill_options()}, survey)
    with_treated = set(survey.loc[survey["treated"] == 1, "district"])
    survey["adjacent"] = ((survey["treated"] == 0) & survey["district"].isin(with_treated)).astype(int)
    by_column = _fit({"name": "spillover", "options": {"near": {"column": "adjacent"}}}, survey)
    assert by_column.estimate == pytest.approx(by_district.estimate, abs=1e-12)
    assert by_column.extras["spillover"].rule == "registered 0/1 column adjacent"


def test_too_few_far_units_leave_spillover_not_ruled_out() -> None:
    survey, _ = _world(13, treated_doses=DOSES, comparison=10, near_share=0.6, per_unit=200)  # 4 far units
    result = _fit({"name": "spillover", "options": _spill_options(min_far=50)}, survey, sesoi=10.0)
    part = result.extras["spillover"]
    assert part.ruled_out is False
    assert "far comparison unit(s) (at least 50 registered)" in part.note
    wide = _fit({"name": "spillover", "options": _spill_options()}, survey, sesoi=0.001)
    assert wide.extras["spillover"].ruled_out is False and "reaches beyond the SESOI" in wide.extras["spillover"].note
    narrow = _fit({"name": "spillover", "options": _spill_options(min_far=2)}, survey, sesoi=10.0)
    assert narrow.extras["spillover"].ruled_out is True and narrow.extras["spillover"].note is None


@pytest.mark.parametrize("spill", [0.0, 0.3])
def test_simulated_spillover_is_recovered(spill: float) -> None:
    coverage, mean = _coverage({"name": "spillover", "options": _spill_options()}, spill, range(150),
                               treated_doses=DOSES, comparison=14, spill=spill)
    assert 0.89 <= coverage <= 0.995
    assert mean == pytest.approx(spill, abs=0.04)


@pytest.mark.parametrize("estimator", ["exposure_response", "spillover"])
def test_repeated_cross_sections_use_the_difference_of_wave_means(estimator: str) -> None:
    """panel: false (different people per wave, no attrition): a unit's change is its post mean minus its pre mean."""
    survey, exposure = _world(10, treated_doses=DOSES, comparison=10, attrition=0.0)
    survey["pid"] = survey["pid"] + "-" + survey["wave"]  # nobody is interviewed twice
    options = _exposure_options(panel=False) if estimator == "exposure_response" else _spill_options(panel=False)
    result = _fit({"name": estimator, "options": options}, survey,
                  exposure if estimator == "exposure_response" else None)
    means = survey.groupby(["community", "wave"])["y"].mean().unstack()
    table = (means["post"] - means["pre"]).rename("change").to_frame().join(
        survey.groupby("community")[["treated", "district"]].first())
    t = table["treated"].to_numpy(float)
    if estimator == "exposure_response":
        doses = dict(zip([f"C{c:02d}" for c in range(len(DOSES))], DOSES))
        dose = np.array([doses.get(c, 0.0) for c in table.index])
        x = np.column_stack([np.ones(len(t)), t, t * (dose - DOSES.mean())])
        index = 2
    else:
        near = ((t == 0) & table["district"].isin(set(table.loc[t == 1, "district"])).to_numpy()).astype(float)
        x = np.column_stack([np.ones(len(t)), near, t])
        index = 1
    reference = _statsmodels(table["change"].to_numpy(), x, np.ones(len(t)), np.arange(len(t)))
    assert result.estimate == pytest.approx(reference.params[index], abs=1e-8)
    assert result.extras["inference"].alternatives["CR1"].std_error == pytest.approx(reference.bse[index], rel=1e-8)
