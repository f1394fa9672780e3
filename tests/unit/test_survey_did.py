"""Survey DiD: agreement with independent libraries (pyfixest, statsmodels) to 1e-8, and edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators import NotTestable, SurveyDiDOptions, fit_survey_did
from oca_experiments.errors import DataError
from oca_experiments.spec import HypothesisSpec

TOL = 1e-8


def _spec(**overrides) -> HypothesisSpec:
    raw = {
        "id": "h_test", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "s", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "pid", "time": "round", "pre": "pre", "post": "post", "treatment": "arm",
                   "cluster": "village"},
        "estimator": {"name": "survey_did"},
        # The few-cluster rule is off here: these tests check CR1/HC1 themselves against other libraries.
        "inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "few_clusters": {"threshold": 0}},
    }
    for key, value in overrides.items():
        raw[key] = value
    raw["inference"].setdefault("few_clusters", {"threshold": 0})
    return HypothesisSpec.model_validate(raw)


def _panel(seed: int = 3, clusters: int = 16, per_cluster: int = 30, attrition: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        arm = g % 2
        shock = rng.normal(0, 0.3)
        for i in range(per_cluster):
            person = rng.normal()
            sex = "female" if rng.random() < 0.5 else "male"
            age = rng.integers(18, 70)
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < attrition:
                    continue
                post = wave == "post"
                effect = 0.3 + (0.2 if sex == "female" else 0.0)
                y = shock + person + 0.1 * post + effect * arm * post + 0.01 * age * post + rng.normal(0, 0.5)
                rows.append({"pid": f"p{g:02d}_{i:03d}", "village": f"v{g:02d}", "round": wave, "arm": arm,
                             "y": y, "sex": sex, "age": int(age)})
    return pd.DataFrame(rows)


def _fixest(formula: str, data: pd.DataFrame, vcov):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(formula, data=data, vcov=vcov)


def _balanced(df: pd.DataFrame) -> pd.DataFrame:
    both = df.groupby("pid")["round"].transform("nunique") == 2
    out = df.loc[both].copy()
    out["post"] = (out["round"] == "post").astype(float)
    out["D"] = out["arm"] * out["post"]
    return out


def test_panel_cr1_matches_pyfixest() -> None:
    df = _panel()
    res = fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")
    ref = _fixest("y ~ D | pid + post", _balanced(df), {"CRV1": "village"})
    assert abs(res.estimate - ref.coef()["D"]) < TOL
    assert abs(res.std_error - ref.se()["D"]) < TOL
    assert abs(res.p_value - ref.pvalue()["D"]) < TOL
    assert res.n_clusters == 16 and res.df == 15
    assert res.counts["units_not_in_both_waves"] > 0


def test_panel_hc1_matches_pyfixest() -> None:
    df = _panel()
    spec = _spec(inference={"se": "HC1"})
    res = fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="x.csv")
    ref = _fixest("y ~ D | pid + post", _balanced(df), "hetero")
    assert abs(res.estimate - ref.coef()["D"]) < TOL
    assert abs(res.std_error - ref.se()["D"]) < TOL


def test_panel_cr1_matches_statsmodels_dummy_regression() -> None:
    """Least-squares dummy variables in statsmodels: same coefficient; same SE after fixest's documented
    small-sample factor replaces statsmodels' (which counts every respondent dummy as a parameter)."""
    import statsmodels.formula.api as smf

    df = _panel(clusters=10, per_cluster=12)
    res = fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")
    data = _balanced(df)
    model = smf.ols("y ~ D + C(post) + C(pid)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["village"])[0]})
    n, k_sm, k_fixest = len(data), model.df_model + 1, 3
    rescale = np.sqrt(((n - 1) / (n - k_fixest)) / ((n - 1) / (n - k_sm)))
    assert abs(res.estimate - model.params["D"]) < TOL
    assert abs(res.std_error - model.bse["D"] * rescale) < TOL


def test_repeated_cross_sections_match_pyfixest() -> None:
    df = _panel()
    res = fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(panel=False), file="x.csv")
    data = df.assign(post=(df["round"] == "post").astype(float))
    data["D"] = data["arm"] * data["post"]
    ref = _fixest("y ~ arm + post + D", data, {"CRV1": "village"})
    assert abs(res.estimate - ref.coef()["D"]) < TOL
    assert abs(res.std_error - ref.se()["D"]) < TOL


def test_subgroup_contrast_matches_pyfixest() -> None:
    df = _panel(seed=5)
    options = SurveyDiDOptions.model_validate({"by": {"column": "sex", "level": "female", "reference": "male"}})
    res = fit_survey_did(df, df["y"], _spec(direction="any"), options, file="x.csv")
    data = _balanced(df)
    data["fem"] = (data["sex"] == "female").astype(float)
    data["D_fem"] = data["D"] * data["fem"]
    data["post_fem"] = data["post"] * data["fem"]
    ref = _fixest("y ~ D + D_fem + post_fem | pid + post", data, {"CRV1": "village"})
    assert abs(res.estimate - ref.coef()["D_fem"]) < TOL
    assert abs(res.std_error - ref.se()["D_fem"]) < TOL
    groups = res.extras["effect_by_group"]
    assert abs(groups["female"]["estimate"] - groups["male"]["estimate"] - res.estimate) < 1e-12


def test_covariates_enter_as_post_interactions() -> None:
    df = _panel(seed=9)
    res = fit_survey_did(df, df["y"], _spec(covariates=["age"]), SurveyDiDOptions(), file="x.csv")
    data = _balanced(df)
    data["age_post"] = data["age"] * data["post"]
    ref = _fixest("y ~ D + age_post | pid + post", data, {"CRV1": "village"})
    assert abs(res.estimate - ref.coef()["D"]) < TOL
    assert abs(res.std_error - ref.se()["D"]) < TOL


def test_does_not_mutate_input() -> None:
    df = _panel()
    before = df.copy(deep=True)
    fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")
    pd.testing.assert_frame_equal(df, before)


def test_recovers_known_effect() -> None:
    df = _panel(seed=11, clusters=40, per_cluster=40, attrition=0.0)
    res = fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")
    # true effect: 0.3 + 0.2 * share of women (~0.5) = 0.4
    assert res.ci_low < 0.4 < res.ci_high


def test_treatment_changing_within_unit_is_refused() -> None:
    df = _panel()
    df.loc[(df["pid"] == "p01_000") & (df["round"] == "post"), "arm"] = 0
    with pytest.raises(DataError, match="treatment changes within"):
        fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")


def test_arm_without_clusters_is_not_testable() -> None:
    df = _panel()
    df = df[~((df["arm"] == 1) & (df["village"] != "v01"))]
    with pytest.raises(NotTestable, match="treated arm has 1 cluster"):
        fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")


def test_missing_post_wave_is_not_testable() -> None:
    df = _panel()
    df = df[df["round"] == "pre"]
    with pytest.raises(NotTestable, match="post"):
        fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")


def test_results_are_read_only() -> None:
    df = _panel()
    res = fit_survey_did(df, df["y"], _spec(), SurveyDiDOptions(), file="x.csv")
    with pytest.raises(Exception):
        res.estimate = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        res.counts["observations"] = 1  # type: ignore[index]
    assert list(res.conf_int().columns) == ["lower", "upper"]
