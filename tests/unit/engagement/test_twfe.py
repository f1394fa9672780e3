"""The registered TWFE estimator against pyfixest (feols) to 1e-8: static DiD and event study, extra fixed
effects, covariates, CR1 by unit and by a coarser cluster under each of fixest's small-sample conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators import fit_twfe
from oca_experiments.estimators._engagement_options import TwfeOptions

from _series_data import quarterly_panel, spec

pf = pytest.importorskip("pyfixest")
NO_RULE = {"few_clusters": {"threshold": 0}}


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    data = quarterly_panel(seed=7)
    # Unbalanced: drop a few unit-quarters.
    drop = np.random.default_rng(1).choice(len(data), size=25, replace=False)
    data = data.drop(index=drop).reset_index(drop=True)
    data["y"] = data["y"] + 0.5 * data["x"]
    data["q"] = pd.to_datetime(data["date"]).dt.year * 4 + (pd.to_datetime(data["date"]).dt.month - 1) // 3
    return data


def _ours(data, *, cluster="unit", ssc=None, fixed_effects=(), covariates=(), window=None, treatment="treated",
          adoption=None, se="CR1"):
    options = TwfeOptions.model_validate({"period": "quarter", "ssc": ssc or {},
                                          **({"event_window": window} if window else {})})
    s = spec("twfe", adoption=adoption, treatment=treatment, cluster=cluster, se=se, fixed_effects=fixed_effects,
             covariates=covariates, inference=NO_RULE)
    return fit_twfe(data, data["y"], s, options, file="panel.csv")


@pytest.mark.parametrize("ssc", [{}, {"k_fixef": "full"}, {"k_fixef": "none"}, {"k_adj": False},
                                 {"G_adj": False}])
@pytest.mark.parametrize("cluster", ["unit", "region"])
def test_static_twfe_matches_pyfixest(panel, ssc, cluster) -> None:
    ours = _ours(panel, cluster=cluster, ssc=ssc, fixed_effects=("grp",), covariates=("x",))
    fit = pf.feols("y ~ treated + x | unit + q + grp", data=panel, vcov={"CRV1": cluster},
                   ssc=pf.ssc(k_adj=ssc.get("k_adj", True), k_fixef=ssc.get("k_fixef", "nonnested"),
                              G_adj=ssc.get("G_adj", True)),
                   fixef_tol=1e-12)
    assert ours.estimate == pytest.approx(float(fit.coef()["treated"]), rel=1e-8)
    assert ours.std_error == pytest.approx(float(fit.se()["treated"]), rel=1e-8)
    assert ours.se_type == "CR1"


def test_adoption_dates_and_indicator_give_the_same_twfe(panel) -> None:
    from_indicator = _ours(panel)
    from_dates = _ours(panel, treatment="ever", adoption="start")
    assert from_dates.estimate == pytest.approx(from_indicator.estimate, rel=1e-12)


def test_hc1_matches_pyfixest(panel) -> None:
    ours = _ours(panel, se="HC1", cluster=None)
    fit = pf.feols("y ~ treated | unit + q", data=panel, vcov="hetero")
    assert ours.estimate == pytest.approx(float(fit.coef()["treated"]), rel=1e-8)
    assert ours.std_error == pytest.approx(float(fit.se()["treated"]), rel=1e-8)


def test_event_study_matches_pyfixest(panel) -> None:
    window = (-4, 3)
    ours = _ours(panel, cluster="unit", window=list(window))
    data = panel.copy()
    adoption = data.loc[data["treated"] == 1].groupby("unit")["q"].min()
    data["adopt_q"] = data["unit"].map(adoption)
    rel = (data["q"] - data["adopt_q"]).clip(*window)
    data["rel"] = rel.fillna(-1000).astype(int)
    # Never-treated units carry the reference category, i.e. zeros in every event-time indicator.
    data["rel"] = data["rel"].where(data["rel"] != -1000, -1)
    fit = pf.feols("y ~ i(rel, ref=-1) | unit + q", data=data, vcov={"CRV1": "unit"}, fixef_tol=1e-12)
    table = ours.extras["event_study"]
    coef, se = fit.coef(), fit.se()
    for e, b, s in zip(table["event_time"], table["estimate"], table["std_error"], strict=True):
        name = next(n for n in coef.index if n.endswith(f"::{e}") or n.endswith(f"[T.{e}]"))
        assert b == pytest.approx(float(coef[name]), rel=1e-8), e
        assert s == pytest.approx(float(se[name]), rel=1e-8), e
    lags = [n for n in coef.index if int(n.split("::")[-1].rstrip("]")) >= 0]
    assert ours.estimate == pytest.approx(float(coef[lags].mean()), rel=1e-8)
    assert ours.extras["pretrend_test"]["available"]


@pytest.mark.parametrize("se", ["CR2", "wild"])
def test_few_cluster_inference_runs_by_a_coarse_cluster(panel, se) -> None:
    """CR2-Satterthwaite and the wild cluster bootstrap by region (6 clusters, units nested in them)."""
    options = TwfeOptions.model_validate({"period": "quarter"})
    s = spec("twfe", cluster="region", se=se, inference={"bootstrap": {"draws": 199}})
    fit = fit_twfe(panel, panel["y"], s, options, file="panel.csv")
    cr1 = _ours(panel, cluster="region")
    assert fit.estimate == pytest.approx(cr1.estimate, rel=1e-12)
    assert fit.ci_low < fit.estimate < fit.ci_high
    assert fit.se_type.startswith("wild") if se == "wild" else fit.se_type == "CR2"
    assert fit.n_clusters == 6


def test_daily_rows_in_weekly_periods_are_treated_from_the_adoption_date() -> None:
    """With daily rows and period: week, D switches on at the adoption date, not at the start of its week: the
    estimate equals pyfixest's with D built from the dates and week fixed effects."""
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=84, freq="D")
    rows = []
    for u in range(12):
        start = days[40 + 3 * (u % 3)] if u < 6 else None
        for day in days:
            on = start is not None and day >= start
            rows.append({"unit": f"U{u:02d}", "date": day.strftime("%Y-%m-%d"), "ever": int(start is not None),
                         "start": start.strftime("%Y-%m-%d") if start is not None else None,
                         "d": int(on), "y": rng.normal() + 2.0 * on + 0.05 * u})
    data = pd.DataFrame(rows)
    data["week"] = (pd.to_datetime(data["date"]) - pd.Timestamp("2024-01-01")).dt.days // 7
    options = TwfeOptions.model_validate({"period": "week"})
    s = spec("twfe", adoption="start", treatment="ever", cluster="unit", se="CR1", inference=NO_RULE)
    ours = fit_twfe(data, data["y"], s, options, file="daily.csv")
    fit = pf.feols("y ~ d | unit + week", data=data, vcov={"CRV1": "unit"}, fixef_tol=1e-12)
    assert ours.estimate == pytest.approx(float(fit.coef()["d"]), rel=1e-8)
    assert ours.std_error == pytest.approx(float(fit.se()["d"]), rel=1e-8)


def test_static_twfe_reports_its_bacon_decomposition() -> None:
    """Balanced staggered panel: extras["bacon"] holds the 2x2 table, weights sum to 1 and add up to the TWFE
    coefficient; the unbalanced panel says why there is none (fails on the code before extras["bacon"])."""
    balanced = quarterly_panel(seed=7)
    ours = _ours(balanced, se="HC1", cluster=None)
    bacon = ours.extras["bacon"]
    assert bacon["available"] is True and bacon["staggered"] is True
    weights = np.array([row["weight"] for row in bacon["table"]])
    estimates = np.array([row["estimate"] for row in bacon["table"]])
    assert weights.sum() == pytest.approx(1.0, abs=1e-10)
    assert float(weights @ estimates) == pytest.approx(ours.estimate, rel=1e-8)
    assert {row["kind"] for row in bacon["table"]} <= {"treated_vs_never", "earlier_vs_later", "later_vs_earlier"}
    assert sum(v["weight"] for v in bacon["by_kind"].values()) == pytest.approx(1.0, abs=1e-10)
    unbalanced = balanced.drop(index=[0, 5]).reset_index(drop=True)
    assert _ours(unbalanced, se="HC1", cluster=None).extras["bacon"]["available"] is False
    with_covariate = _ours(balanced, se="HC1", cluster=None, covariates=("x",))
    assert with_covariate.extras["bacon"]["available"] is False
