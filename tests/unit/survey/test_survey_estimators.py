"""Knowledge gain, shares with Wilson intervals, covariate rules, attrition (Lee bounds) and multiple testing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from survey_helpers import make_spec, panel

from oca_experiments.errors import DataError, SpecError
from oca_experiments.estimators import CATALOG, SurveyDiDOptions, fit_survey_did
from oca_experiments.estimators._ancova import fit_ancova
from oca_experiments.estimators._attrition import _trimmed_mean, attrition_analysis, lee_bounds
from oca_experiments.estimators._gain import fit_knowledge_gain, fit_share, wilson_interval
from oca_experiments.summarize import benjamini_hochberg, holm, romano_wolf


def _knowledge_frame(seed: int = 1, clusters: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        level = rng.normal(0, 0.3)
        for i in range(int(rng.integers(8, 16))):
            ability = rng.normal() + level
            for wave, shift in (("pre", 0.0), ("post", 0.8)):
                if wave == "post" and rng.random() < 0.1:
                    continue
                score = float(np.clip(np.round(4 + 1.5 * (ability + shift) + rng.normal(0, 1)), 0, 10))
                rows.append({"pid": f"p{g}_{i}", "village": f"v{g:02d}", "round": wave, "arm": g % 2,
                             "score": score, "applied": int(rng.random() < 0.6)})
    return pd.DataFrame(rows)


def _gain_spec(**inference) -> object:
    return make_spec(estimator={"name": "knowledge_gain"}, inference={"tails": "one", **inference})


def test_knowledge_gain_delta_method_by_hand() -> None:
    df = _knowledge_frame()
    result = fit_knowledge_gain(df, df["score"], _gain_spec(few_clusters={"threshold": 0}),
                                CATALOG["knowledge_gain"].options_model(), file="k.csv")
    wide = df.pivot(index="pid", columns="round", values="score").dropna()
    wide = wide.join(df.groupby("pid")["village"].first())
    theta = wide["post"].mean() / wide["pre"].mean()
    z = (wide["post"] - theta * wide["pre"]) / wide["pre"].mean()
    sums = z.groupby(wide["village"]).sum()
    g, n = len(sums), len(z)
    std_error = np.sqrt(g / (g - 1) * np.sum(sums**2)) / n
    assert result.estimate == pytest.approx(theta - 1, abs=1e-12)
    assert result.std_error == pytest.approx(std_error, abs=1e-12)
    assert result.se_type == "CR1" and result.df == g - 1
    statement = result.extras["statement"]
    assert statement.startswith(f"knowledge increased by {100 * (theta - 1):.0f}% (95% CI ")
    boot = result.extras["inference"]["alternatives"]["cluster_bootstrap_percentile"]
    assert boot["ci_low"] < result.estimate < boot["ci_high"]
    assert boot["seed"] == _gain_spec(few_clusters={"threshold": 0}).inference.bootstrap.seed  # derived: no seed given


def test_knowledge_gain_few_clusters_uses_the_wild_bootstrap() -> None:
    df = _knowledge_frame(seed=2, clusters=10)
    result = fit_knowledge_gain(df, df["score"], _gain_spec(), CATALOG["knowledge_gain"].options_model(),
                                file="k.csv")
    assert result.se_type == "wild_webb" and result.extras["inference"]["rule"]["fired"]
    assert result.ci_low < result.estimate < result.ci_high
    assert result.null_draws is not None and len(result.null_draws[1]) == 999


def test_share_wilson_matches_statsmodels_without_clusters() -> None:
    from statsmodels.stats.proportion import proportion_confint

    df = _knowledge_frame()
    spec = make_spec(estimator={"name": "share", "options": {"null_share": 0.5}},
                     design={"cluster": None}, inference={"se": "iid"})
    options = CATALOG["share"].options_model(null_share=0.5)
    result = fit_share(df, df["applied"], spec, options, file="k.csv")
    post = df.loc[df["round"] == "post", "applied"]
    low, high = proportion_confint(post.sum(), len(post), alpha=0.05, method="wilson")
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert result.estimate == pytest.approx(post.mean())
    clustered = fit_share(df, df["applied"], make_spec(estimator={"name": "share", "options": {"null_share": 0.5}}),
                          options, file="k.csv")
    assert clustered.extras["inference"]["design_effect"] >= 1.0
    assert clustered.ci_high - clustered.ci_low >= high - low - 1e-12
    assert wilson_interval(0.0, 20, 0.95)[0] == pytest.approx(0.0, abs=1e-12)


def test_post_treatment_covariate_is_refused_from_the_data() -> None:
    df = panel(seed=3)
    df["income"] = df["age"] + np.where(df["round"] == "post", 1, 0)  # changes between waves: measured after
    spec = make_spec(covariates=["income"])
    with pytest.raises(DataError) as err:
        fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="survey.csv")
    text = str(err.value)
    assert err.value.column == "income" and "survey.csv" in text and "after treatment" in text
    assert "Fix:" in text and "\n" not in text
    with pytest.raises(DataError, match="after treatment"):
        fit_ancova(df, df["y"], spec, CATALOG["ancova"].options_model(), file="survey.csv")
    fine = fit_survey_did(df, df["y"], make_spec(covariates=["age"]), SurveyDiDOptions(), file="survey.csv")
    assert "covariates" in fine.extras["model"]


def test_post_treatment_covariate_is_refused_when_registered(study_copy) -> None:
    import oca_experiments as oca

    config = study_copy / "study.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("    default_file: survey.csv\n",
                                   "    default_file: survey.csv\n    post_treatment: [participant]\n"),
                      encoding="utf-8")
    spec = study_copy / "hypotheses" / "h1_horizontal_trust.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("disaggregate:", "covariates: [participant]\n"
                                                                                 "disaggregate:"), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        oca.load_study(study_copy)
    assert err.value.field == "covariates[0]" and "after treatment" in str(err.value)


def test_trimmed_mean_trims_fractionally() -> None:
    values, weights = np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4)
    assert _trimmed_mean(values, weights, 0.25, top=True) == pytest.approx(2.0)
    assert _trimmed_mean(values, weights, 0.375, top=True) == pytest.approx((1 + 2 + 0.5 * 3) / 2.5)
    assert _trimmed_mean(values, weights, 0.25, top=False) == pytest.approx(3.0)


def test_lee_bounds_by_hand() -> None:
    # Treated keep 10 of 10, comparison 8 of 10: trim 20% of the treated outcomes.
    treated_values = np.arange(1.0, 11.0)
    comparison_values = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, np.nan, np.nan])
    outcome = np.concatenate([treated_values, comparison_values])
    treated = np.repeat([True, False], 10)
    stays = ~np.isnan(outcome)
    bounds = lee_bounds(outcome, stays, treated, None, level=0.95, seed=1, draws=199)
    assert bounds["trim_share"] == pytest.approx(0.2) and bounds["trimmed_arm"] == "treated"
    assert bounds["lower"] == pytest.approx(np.mean(np.arange(1.0, 9.0)) - 4.5)
    assert bounds["upper"] == pytest.approx(np.mean(np.arange(3.0, 11.0)) - 4.5)
    assert bounds["ci_low"] < bounds["lower"] < bounds["upper"] < bounds["ci_high"]


def test_attrition_analysis_on_a_panel() -> None:
    df = panel(seed=7, clusters=20, attrition=0.25)
    units = df.pivot_table(index="pid", columns="round", values="y", aggfunc="first").rename(
        columns={"pre": "y_pre", "post": "y_post"})
    units = units.join(df.groupby("pid")[["arm", "village", "age"]].first()).reset_index()
    units = units.rename(columns={"arm": "treated", "village": "cluster"})
    record = attrition_analysis(units, make_spec(inference={"bootstrap": {"draws": 199}}), outcome_kind="change",
                                covariates=("age",))
    arms = record["by_arm"]
    assert arms["treated"]["leavers"] + arms["treated"]["stayers"] == arms["treated"]["baseline_n"]
    assert record["differential_test"]["estimate"] == pytest.approx(arms["treated"]["rate"]
                                                                   - arms["comparison"]["rate"], abs=1e-12)
    assert [row["variable"] for row in record["balance"]] == ["outcome (pre wave)", "age"]
    assert record["lee_bounds"]["lower"] <= record["lee_bounds"]["upper"]


def test_holm_and_bh_match_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    p = [0.01, 0.04, 0.03, 0.2, 0.005]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]), abs=1e-15)
    assert benjamini_hochberg(p) == pytest.approx(list(multipletests(p, method="fdr_bh")[1]), abs=1e-15)


def test_romano_wolf_properties() -> None:
    rng = np.random.default_rng(0)
    common = rng.standard_normal(5000)
    independent = rng.standard_normal((5000, 3))
    # Perfectly correlated statistics: one test in effect, so no multiplicity penalty.
    same = np.abs(np.column_stack([common, common, common]))
    adjusted = romano_wolf([2.0, 2.0, 2.0], same)
    single = (1 + np.sum(np.abs(common) >= 2.0)) / 5001
    assert adjusted == pytest.approx([single] * 3)
    # Independent statistics: close to Holm/Sidak, never below the raw p-values.
    observed = [2.5, 1.0, 3.0]
    adjusted = romano_wolf(observed, np.abs(independent))
    raw = [(1 + np.sum(np.abs(independent[:, j]) >= t)) / 5001 for j, t in enumerate(observed)]
    assert all(a >= r - 1e-12 for a, r in zip(adjusted, raw, strict=True))
    assert adjusted[2] <= adjusted[0] <= adjusted[1]  # monotone in the statistics


def test_survey_did_records_the_raw_means_behind_the_estimate() -> None:
    """The report's arm x wave picture: four means whose difference in differences is the balanced-panel estimate,
    hidden all together when any cell is small (three cells and the estimate would give the fourth back)."""
    from oca_experiments.summarize._disaggregate import protect_raw_means

    df = panel(seed=5, attrition=0.0)
    result = fit_survey_did(df, df["y"], make_spec(inference={"few_clusters": {"threshold": 0}}),
                            SurveyDiDOptions(), file="x.csv")
    raw = result.extras["raw_means"]
    arms = raw["arms"]
    did = ((arms["treated"]["post"]["mean"] - arms["treated"]["pre"]["mean"])
           - (arms["comparison"]["post"]["mean"] - arms["comparison"]["pre"]["mean"]))
    assert did == pytest.approx(result.estimate, abs=1e-10)  # a balanced panel: the DiD of the raw means
    assert raw["waves"] == ["pre", "post"] and arms["treated"]["pre"]["n"] > 0
    assert protect_raw_means(raw, threshold=10) == raw
    hidden = protect_raw_means(raw, threshold=10**6)
    assert hidden["suppressed"] and all(c["mean"] is None for a in hidden["arms"].values() for c in a.values())
