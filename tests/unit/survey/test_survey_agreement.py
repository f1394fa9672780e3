"""Agreement with statsmodels, linearmodels and pyfixest on the same data, to 1e-8, for every SE type both sides
implement; and with R (clubSandwich, estimatr, sandwich; tests/reference/survey/reference.json) for CR2 and HC3.

Documented conventions (the only rescalings below):
- statsmodels on a dummy-variable regression counts every respondent dummy in K; fixest's (and oca's) CR1 leaves
  fixed effects nested in the clusters out of K, so the CR1 factor differs by ((n-1)/(n-K_fixest)) / ((n-1)/(n-K_sm)).
- linearmodels' PanelOLS clustered covariance (debiased, group_debias) uses G / (G - 1) * (n - 1) / (n - K_full),
  counting every effect; oca uses fixest's G / (G - 1) * (n - 1) / (n - K_nested).
- pyfixest multiplies HC3 by its default small-sample factor; with ``ssc(k_adj=False)`` it is the textbook HC3 that
  statsmodels, R's sandwich and oca compute.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from survey_helpers import make_spec, panel, read_reference_csv

from oca_experiments.estimators import CATALOG
from oca_experiments.estimators._ancova import fit_ancova
from oca_experiments.estimators._linalg import covariance, cr1_factor, factorize, fit_within, satterthwaite_df

TOL = 1e-8


def _ancova_frame() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    data = read_reference_csv("cross_section.csv")
    x = np.column_stack([np.ones(len(data)), data["treat"], data["y0"], data["x"]])
    return data, x, data["y1"].to_numpy(), factorize(data["g"].to_numpy())[0]


@pytest.mark.parametrize("se_type, sm_kind", [("iid", "nonrobust"), ("HC1", "HC1"), ("HC3", "HC3"),
                                               ("CR1", "cluster")])
def test_no_fixed_effects_match_statsmodels(se_type: str, sm_kind: str) -> None:
    import statsmodels.api as sm

    data, x, y, groups = _ancova_frame()
    design = fit_within(y, x, fixed_effects=[], clusters=groups)
    kwargs = {"cov_kwds": {"groups": groups}} if sm_kind == "cluster" else {}
    ref = sm.OLS(y, x).fit(cov_type=sm_kind, **kwargs)
    assert np.max(np.abs(design.params - ref.params)) < TOL
    assert np.max(np.abs(np.sqrt(np.diag(covariance(design, se_type))) - ref.bse)) < TOL


@pytest.mark.parametrize("se_type, lm_kind", [("iid", "unadjusted"), ("HC1", "robust"), ("CR1", "clustered")])
def test_no_fixed_effects_match_linearmodels(se_type: str, lm_kind: str) -> None:
    from linearmodels.iv import IV2SLS

    data, x, y, groups = _ancova_frame()
    design = fit_within(y, x, fixed_effects=[], clusters=groups)
    kwargs = {"clusters": pd.Series(groups)} if lm_kind == "clustered" else {}
    ref = IV2SLS(pd.Series(y), pd.DataFrame(x), None, None).fit(cov_type=lm_kind, debiased=True, **kwargs)
    assert np.max(np.abs(design.params - ref.params.to_numpy())) < TOL
    assert np.max(np.abs(np.sqrt(np.diag(covariance(design, se_type))) - ref.std_errors.to_numpy())) < TOL


@pytest.mark.parametrize("se_type, vcov", [("iid", "iid"), ("HC1", "hetero"), ("HC3", "HC3"),
                                           ("CR1", {"CRV1": "g"})])
def test_no_fixed_effects_match_pyfixest(se_type: str, vcov) -> None:
    pf = pytest.importorskip("pyfixest")
    data, x, y, groups = _ancova_frame()
    design = fit_within(y, x, fixed_effects=[], clusters=groups)
    extra = {"ssc": pf.ssc(k_adj=False, G_adj=False)} if se_type == "HC3" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("y1 ~ treat + y0 + x", data=data, vcov=vcov, **extra)
    assert abs(design.params[1] - ref.coef()["treat"]) < TOL
    assert abs(np.sqrt(covariance(design, se_type)[1, 1]) - ref.se()["treat"]) < TOL


def _panel_design():
    df = panel(seed=8, clusters=12, per_cluster=14)
    both = df.groupby("pid")["round"].transform("nunique") == 2
    data = df.loc[both].reset_index(drop=True)
    data["post"] = (data["round"] == "post").astype(float)
    data["D"] = data["arm"] * data["post"]
    clusters = factorize(data["village"].to_numpy())[0]
    design = fit_within(data["y"].to_numpy(), data[["D", "post"]].to_numpy(),
                        fixed_effects=[factorize(data["pid"].to_numpy())[0]], clusters=clusters)
    return data, design


def test_panel_matches_linearmodels_panelols() -> None:
    from linearmodels.panel import PanelOLS

    data, design = _panel_design()
    indexed = data.assign(t=data["post"].astype(int)).set_index(["pid", "t"])
    model = PanelOLS(indexed["y"], indexed[["D"]], entity_effects=True, time_effects=True)
    n, g = design.n_obs, design.n_clusters
    for se_type, kind in (("iid", "unadjusted"), ("HC1", "robust")):
        ref = model.fit(cov_type=kind, debiased=True)
        assert abs(design.params[0] - ref.params["D"]) < TOL
        assert abs(np.sqrt(covariance(design, se_type)[0, 0]) - ref.std_errors["D"]) < TOL
    clusters = pd.DataFrame({"v": factorize(indexed["village"].to_numpy())[0]}, index=indexed.index)
    ref = model.fit(cov_type="clustered", clusters=clusters, debiased=True, group_debias=True)
    rescale = (g / (g - 1) * (n - 1) / (n - design.k_full)) / cr1_factor(design)
    assert abs(np.sqrt(covariance(design, "CR1")[0, 0] * rescale) - ref.std_errors["D"]) < TOL


def test_panel_hc3_matches_statsmodels_dummy_regression() -> None:
    import statsmodels.formula.api as smf

    data, design = _panel_design()
    ref = smf.ols("y ~ D + post + C(pid)", data=data).fit(cov_type="HC3")
    assert abs(design.params[0] - ref.params["D"]) < TOL
    assert abs(np.sqrt(covariance(design, "HC3")[0, 0]) - ref.bse["D"]) < TOL


def test_ancova_estimator_matches_statsmodels_end_to_end() -> None:
    import statsmodels.formula.api as smf

    df = panel(seed=4, clusters=40, per_cluster=12)
    spec = make_spec(estimator={"name": "ancova"}, inference={"few_clusters": {"threshold": 0}})
    options = CATALOG["ancova"].options_model()
    result = fit_ancova(df, df["y"], spec, options, file="x.csv")
    wide = df.pivot(index="pid", columns="round", values="y").dropna().join(
        df.groupby("pid")[["arm", "village"]].first())
    ref = smf.ols("post ~ arm + pre", data=wide).fit(cov_type="cluster",
                                                      cov_kwds={"groups": factorize(wide["village"].to_numpy())[0]})
    assert abs(result.estimate - ref.params["arm"]) < TOL
    assert abs(result.std_error - ref.bse["arm"]) < TOL
    assert result.se_type == "CR1" and result.df == 39


def test_change_score_equals_panel_did() -> None:
    from oca_experiments.estimators import SurveyDiDOptions, fit_survey_did

    df = panel(seed=6)
    spec = make_spec(inference={"few_clusters": {"threshold": 0}})
    did = fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="x.csv")
    change = fit_ancova(df, df["y"], spec.model_copy(update={"estimator": spec.estimator.model_copy(
        update={"name": "ancova"})}), CATALOG["ancova"].options_model(model="change_score"), file="x.csv")
    assert abs(did.estimate - change.estimate) < 1e-10


# --- R references ------------------------------------------------------------------------------------------------


def test_cr2_and_satterthwaite_match_clubsandwich_with_fixed_effects(r_reference) -> None:
    data = read_reference_csv("panel.csv")
    data = data.loc[data.groupby("pid")["round"].transform("nunique") == 2].reset_index(drop=True)
    post = (data["round"] == "post").to_numpy(float)
    clusters = factorize(data["village"].to_numpy())[0]
    units = factorize(data["pid"].to_numpy())[0]
    for key, extra in (("panel_did", []), ("panel_did_covariate", [data["age"].to_numpy() * post])):
        x = np.column_stack([data["arm"].to_numpy() * post, post, *extra])
        design = fit_within(data["y"].to_numpy(), x, fixed_effects=[units], clusters=clusters)
        ref = r_reference[key]["cr2"]
        assert abs(design.params[0] - ref["estimate"]) < TOL
        assert abs(np.sqrt(covariance(design, "CR2")[0, 0]) - ref["se"]) < TOL
        assert abs(satterthwaite_df(design, design.contrast(0)) - ref["df"]) < 1e-7
    design = fit_within(data["y"].to_numpy(), np.column_stack([data["arm"].to_numpy() * post, post]),
                        fixed_effects=[units], clusters=clusters)
    assert abs(np.sqrt(covariance(design, "HC3")[0, 0]) - r_reference["panel_did"]["hc3_se"]) < TOL


@pytest.mark.parametrize("name", ["cross_section", "few_clusters"])
def test_cr2_hc3_hc1_cr1_match_r(r_reference, name: str) -> None:
    data = read_reference_csv(f"{name}.csv")
    x = np.column_stack([np.ones(len(data)), data["treat"], data["y0"], data["x"]])
    design = fit_within(data["y1"].to_numpy(), x, fixed_effects=[], clusters=factorize(data["g"].to_numpy())[0])
    ref = r_reference[name]
    se = {t: float(np.sqrt(covariance(design, t)[1, 1])) for t in ("CR2", "HC3", "HC1", "CR1")}
    assert abs(se["CR2"] - ref["cr2"]["se"]) < TOL and abs(se["CR2"] - ref["estimatr_cr2"]["se"]) < TOL
    assert abs(satterthwaite_df(design, design.contrast(1)) - ref["cr2"]["df"]) < 1e-7
    assert abs(satterthwaite_df(design, design.contrast(1)) - ref["estimatr_cr2"]["df"]) < 1e-7
    assert abs(se["HC3"] - ref["hc3_se"]) < TOL and abs(se["HC1"] - ref["hc1_se"]) < TOL
    assert abs(se["CR1"] - ref["estimatr_cr1"]["se"]) < TOL


def test_cr2_primary_inference_reports_satterthwaite_p_value(r_reference) -> None:
    """The whole path (few-cluster rule -> CR2) reproduces clubSandwich's p-value."""
    from oca_experiments.estimators._inference import regression_inference

    data = read_reference_csv("few_clusters.csv")
    x = np.column_stack([data["treat"], np.ones(len(data)), data["y0"], data["x"]])
    labels, codes = np.unique(data["g"].to_numpy(), return_inverse=True)
    design = fit_within(data["y1"].to_numpy(), x, fixed_effects=[], clusters=codes)
    spec = make_spec(direction="any", inference={"few_clusters": {"threshold": 30, "method": "cr2"}})
    primary = regression_inference(design, 0, spec, cluster_labels=[str(v) for v in labels])
    ref = r_reference["few_clusters"]["cr2"]
    assert primary.se_type == "CR2" and primary.record["rule"]["fired"]
    assert abs(primary.std_error - ref["se"]) < TOL
    assert abs(primary.df - ref["df"]) < 1e-7
    assert abs(primary.p_value - ref["p"]) < 1e-7
