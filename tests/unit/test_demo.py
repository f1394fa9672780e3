"""The demo generator: determinism, the schemas of docs/architecture.md, the design, and truth.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oca_experiments.demo import DEFAULT_SEED, DemoData, DemoFiles, generate_demo, simulate_demo
from oca_experiments.errors import OcaError

SITES = {"Alamedin", "Sokuluk", "Osh", "Uzgen", "Jalal-Abad", "Batken", "Razzakov"}
H_ITEMS = ["h_trust_1", "h_trust_2", "h_trust_3", "h_trust_4"]
V_ITEMS = ["v_trust_lsg", "v_trust_police", "v_trust_courts", "v_trust_parliament"]
KNOW_ITEMS = [f"know_{k:02d}" for k in range(1, 11)]
LIKERT_ITEMS = H_ITEMS + V_ITEMS
SURVEY_COLUMNS = [
    "respondent_id", "phone", "comment", "wave", "interview_date", "site", "district", "community_id", "cso_id",
    "treated", "sex", "age_band", "role", "participant", *H_ITEMS, *V_ITEMS, *KNOW_ITEMS,
]
ENGAGEMENT_COLUMNS = [
    "page_id", "cso_id", "page_type", "treated", "campaign_start", "date",
    "posts", "reactions", "comments", "shares", "followers", "hostile_comments",
]
COUNT_COLUMNS = ["posts", "reactions", "comments", "shares", "followers", "hostile_comments"]
HYPOTHESIS_IDS = {
    "h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain",
    "h4_engagement_per_post", "h5_hostile_share", "h6_horizontal_trust_by_sex",
    "h7a_horizontal_trust_bayes", "h7b_horizontal_trust_weakest_cso", "h7c_trust_item_ordinal",
    "h7d_hostile_share_bayes", "h8_engagement_synthetic", "h9_community_monthly", "h10_horizontal_trust_weighted",
    "h11_trust_exposure_response", "h12_spillover_near_far",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return simulate_demo()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return generate_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def survey_csv(written: DemoFiles) -> pd.DataFrame:
    return pd.read_csv(written.survey, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def engagement_csv(written: DemoFiles) -> pd.DataFrame:
    return pd.read_csv(written.engagement, dtype=str, keep_default_na=False)


def _bytes(files: DemoFiles) -> list[bytes]:
    return [files.survey.read_bytes(), files.engagement.read_bytes(), files.truth.read_bytes(),
            files.community.read_bytes()]


# --- determinism and files --------------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(written: DemoFiles, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", seed=DEFAULT_SEED)
    assert _bytes(again) == _bytes(written)


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a", seed=1, n_respondents=240)
    second = generate_demo(tmp_path / "b", seed=2, n_respondents=240)
    assert all(a != b for a, b in zip(_bytes(first), _bytes(second), strict=True))


def test_files_are_named_as_documented_and_leave_no_temporaries(written: DemoFiles) -> None:
    assert (written.survey.name, written.engagement.name, written.truth.name, written.community.name) == (
        "survey.csv", "engagement.csv", "truth.json", "community.csv")
    assert sorted(p.name for p in written.survey.parent.iterdir()) == [
        "community.csv", "engagement.csv", "survey.csv", "truth.json"]


def test_rewriting_replaces_files(tmp_path: Path) -> None:
    first = _bytes(generate_demo(tmp_path, seed=3, n_respondents=96))
    second = _bytes(generate_demo(tmp_path, seed=4, n_respondents=96))
    assert first != second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["community.csv", "engagement.csv", "survey.csv",
                                                          "truth.json"]


def test_in_memory_data_is_what_is_written(demo: DemoData, written: DemoFiles) -> None:
    assert written.survey.read_text(encoding="utf-8") == demo.survey.to_csv(index=False, lineterminator="\n")
    assert json.loads(written.truth.read_text(encoding="utf-8")) == demo.truth


def test_engagement_does_not_depend_on_survey_size() -> None:
    small, large = simulate_demo(5, 96), simulate_demo(5, 480)
    pd.testing.assert_frame_equal(small.engagement, large.engagement)


@pytest.mark.parametrize("kwargs", [{"seed": -1}, {"seed": 1.5}, {"seed": True}, {"n_respondents": 47},
                                    {"n_respondents": 100.0}])
def test_bad_arguments_raise_oca_error(kwargs: dict) -> None:
    with pytest.raises(OcaError):
        simulate_demo(**kwargs)


# --- survey schema ----------------------------------------------------------------------------------------------


def test_survey_columns_in_documented_order(demo: DemoData, survey_csv: pd.DataFrame) -> None:
    assert list(demo.survey.columns) == SURVEY_COLUMNS
    assert list(survey_csv.columns) == SURVEY_COLUMNS


def test_survey_csv_values_look_as_documented(survey_csv: pd.DataFrame) -> None:
    assert survey_csv["respondent_id"].str.fullmatch(r"R\d{5}").all()
    assert survey_csv["phone"].str.fullmatch(r"\+996 7\d\d \d{3} \d{3}").all()
    assert set(survey_csv["wave"]) == {"baseline", "endline"}
    assert survey_csv["interview_date"].str.fullmatch(DATE).all()
    assert set(survey_csv["site"]) == SITES
    assert survey_csv["community_id"].str.fullmatch(r"C\d{2}").all()
    assert set(survey_csv["cso_id"]) == {f"CSO{k}" for k in range(1, 7)}
    assert set(survey_csv["treated"]) == {"0", "1"}
    assert set(survey_csv["participant"]) == {"0", "1"}
    assert set(survey_csv["sex"]) == {"female", "male"}
    assert set(survey_csv["age_band"]) == {"18-29", "30-44", "45-59", "60+"}
    assert set(survey_csv["role"]) == {"local_self_government", "cso", "religious_leader", "youth", "other"}
    for item in LIKERT_ITEMS:
        assert set(survey_csv[item]) <= {"1", "2", "3", "4", "5", ""}, item
    for item in KNOW_ITEMS:
        assert set(survey_csv[item]) <= {"0", "1", ""}, item


def test_survey_dtypes(demo: DemoData) -> None:
    for column in LIKERT_ITEMS + KNOW_ITEMS:
        assert demo.survey[column].dtype == "Int64", column
    for column in ("treated", "participant"):
        assert demo.survey[column].dtype == np.int64, column
    for column in ("respondent_id", "phone", "comment", "wave", "site", "district", "community_id", "sex"):
        assert pd.api.types.is_string_dtype(demo.survey[column]), column


def test_likert_items_have_about_two_percent_missing(demo: DemoData) -> None:
    missing = demo.survey[LIKERT_ITEMS].isna().to_numpy().mean()
    assert 0.01 < missing < 0.03


def test_knowledge_only_for_participants(demo: DemoData) -> None:
    survey = demo.survey
    answered = survey[KNOW_ITEMS].notna()
    assert not answered[survey["participant"] == 0].to_numpy().any()
    assert answered[survey["participant"] == 1].to_numpy().all()


def test_knowledge_rises_from_about_4_5_to_6_5(demo: DemoData) -> None:
    survey = demo.survey[demo.survey["participant"] == 1]
    score = survey[KNOW_ITEMS].sum(axis=1).astype("float64").groupby(survey["wave"]).mean()
    assert score["baseline"] == pytest.approx(4.5, abs=0.4)
    assert score["endline"] == pytest.approx(6.5, abs=0.4)


def test_comments_are_mostly_empty_and_cyrillic(demo: DemoData) -> None:
    comments = demo.survey["comment"]
    assert 0.05 < comments.notna().mean() < 0.3
    assert comments.dropna().str.contains(r"[А-Яа-яЁёҢңӨөҮү]").all()


# --- survey design ----------------------------------------------------------------------------------------------


def test_24_communities_in_14_districts_over_7_sites(demo: DemoData) -> None:
    survey = demo.survey
    assert survey["community_id"].nunique() == 24
    assert survey["district"].nunique() == 14
    assert survey.groupby("site")["district"].nunique().eq(2).all()
    assert survey.groupby("community_id")[["district", "cso_id", "treated"]].nunique().eq(1).all().all()
    assert survey.groupby("district")["site"].nunique().eq(1).all()


def test_each_cso_block_has_two_treated_and_two_comparison_communities(demo: DemoData) -> None:
    communities = demo.survey.drop_duplicates("community_id")
    assert communities.groupby("cso_id")["treated"].agg(["size", "sum"]).eq([4, 2]).all().all()


def test_about_50_respondents_per_community(demo: DemoData) -> None:
    baseline = demo.survey[demo.survey["wave"] == "baseline"]
    assert len(baseline) == 1200
    assert baseline.groupby("community_id").size().eq(50).all()


def test_panel_structure_and_attrition(demo: DemoData) -> None:
    survey = demo.survey
    assert not survey.duplicated(["respondent_id", "wave"]).any()
    baseline = survey[survey["wave"] == "baseline"]
    endline_ids = set(survey.loc[survey["wave"] == "endline", "respondent_id"])
    assert endline_ids <= set(baseline["respondent_id"])
    attrited = ~baseline["respondent_id"].isin(endline_ids)
    assert 0.09 < attrited.mean() < 0.16
    by_arm = attrited.groupby(baseline["treated"]).mean()
    assert by_arm[1] < by_arm[0]
    # Attributes other than the answers do not change between waves.
    fixed = ["phone", "community_id", "treated", "sex", "age_band", "role", "participant"]
    assert survey.groupby("respondent_id")[fixed].nunique().eq(1).all().all()


def test_participants_are_about_30_percent_of_treated_communities(demo: DemoData) -> None:
    baseline = demo.survey[demo.survey["wave"] == "baseline"]
    share = baseline.groupby("treated")["participant"].mean()
    assert 0.24 < share[1] < 0.36
    assert share[0] < 0.03


def test_fieldwork_dates(demo: DemoData) -> None:
    months = demo.survey["interview_date"].str[:7].groupby(demo.survey["wave"]).unique()
    assert list(months["baseline"]) == ["2026-02"]
    assert list(months["endline"]) == ["2026-10"]


def test_reverse_coded_item_runs_against_the_others(demo: DemoData) -> None:
    items = demo.survey[H_ITEMS].astype("float64")
    correlations = items.corr()
    assert (correlations.loc["h_trust_3", ["h_trust_1", "h_trust_2", "h_trust_4"]] < 0).all()
    assert (correlations.loc["h_trust_1", ["h_trust_2", "h_trust_4"]] > 0).all()


# --- engagement -------------------------------------------------------------------------------------------------


def test_engagement_columns_and_values(demo: DemoData, engagement_csv: pd.DataFrame) -> None:
    assert list(demo.engagement.columns) == ENGAGEMENT_COLUMNS
    assert list(engagement_csv.columns) == ENGAGEMENT_COLUMNS
    assert engagement_csv["page_id"].str.fullmatch(r"P\d{2}").all()
    assert engagement_csv["date"].str.fullmatch(DATE).all()
    for column in COUNT_COLUMNS:
        assert engagement_csv[column].str.fullmatch(r"\d+").all(), column
        assert demo.engagement[column].dtype == np.int64, column
        assert (demo.engagement[column] >= 0).all(), column


def test_pages_and_days(demo: DemoData) -> None:
    engagement = demo.engagement
    assert not engagement.duplicated(["page_id", "date"]).any()
    assert engagement["page_id"].nunique() == 12
    assert 170 <= engagement["date"].nunique() <= 190
    assert engagement.groupby("page_id").size().nunique() == 1
    pages = engagement.drop_duplicates("page_id").set_index("page_id")
    cso_pages = pages[pages["page_type"] == "cso"]
    comparison_pages = pages[pages["page_type"] == "comparison"]
    assert len(cso_pages) == len(comparison_pages) == 6
    assert cso_pages["treated"].eq(1).all() and comparison_pages["treated"].eq(0).all()
    assert cso_pages["campaign_start"].str.fullmatch(DATE).all()
    assert comparison_pages["campaign_start"].isna().all()
    assert cso_pages["campaign_start"].nunique() == 6  # staggered
    constant = engagement.groupby("page_id")[["cso_id", "page_type", "campaign_start"]].nunique(dropna=False)
    assert constant.eq(1).all().all()


def test_posts_and_hostile_comments_are_plausible(demo: DemoData) -> None:
    engagement = demo.engagement
    assert 0.05 < (engagement["posts"] == 0).mean() < 0.3
    assert engagement["posts"].quantile(0.9) <= 6
    assert (engagement["hostile_comments"] <= engagement["comments"]).all()
    assert (engagement.loc[engagement["posts"] == 0, ["reactions", "comments", "shares"]] == 0).all().all()
    by_page = engagement.groupby("page_id")["followers"]
    assert (by_page.last() >= by_page.first()).all()  # slow growth


def test_campaign_raises_engagement_per_post_and_lowers_hostility(demo: DemoData) -> None:
    engagement = demo.engagement
    after = engagement["campaign_start"].notna() & (engagement["date"] >= engagement["campaign_start"])
    per_post = (engagement[["reactions", "comments", "shares"]].sum(axis=1)
                / engagement["posts"].where(engagement["posts"] > 0))
    cso = engagement["page_type"] == "cso"
    assert per_post[cso & after].mean() > per_post[cso & ~after].mean()
    hostile = engagement["hostile_comments"].groupby(after).sum() / engagement["comments"].groupby(after).sum()
    assert hostile[True] < hostile[False]


# --- truth ------------------------------------------------------------------------------------------------------


def test_truth_file_structure(written: DemoFiles) -> None:
    truth = json.loads(written.truth.read_text(encoding="utf-8"))
    assert set(truth) == {"seed", "hypotheses", "definitions", "extras"}
    assert truth["seed"] == DEFAULT_SEED
    assert set(truth["hypotheses"]) == HYPOTHESIS_IDS
    assert set(truth["definitions"]) == HYPOTHESIS_IDS
    assert all(isinstance(v, float) for v in truth["hypotheses"].values())
    assert all(isinstance(v, str) and v for v in truth["definitions"].values())
    extras = truth["extras"]
    assert set(extras["h1_by_cso"]) == {f"CSO{k}" for k in range(1, 7)}
    assert extras["design"]["n_communities"] == 24
    assert set(extras["design"]["campaign_start"]) == set(extras["h4_by_campaign"])
    pooled = extras["portfolio_pooled_by_cso"]  # the portfolio page's pooled targets: means of the per-CSO truths
    assert pooled["h1_horizontal_trust"] == pytest.approx(sum(extras["h1_by_cso"].values()) / 6, abs=2e-6)
    assert pooled["h4_engagement_per_post"] == pytest.approx(sum(extras["h4_by_campaign"].values()) / 6, abs=2e-6)
    assert set(pooled) == {"h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h4_engagement_per_post",
                           "h5_hostile_share"}
    assert pooled["h3_knowledge_gain"] == truth["hypotheses"]["h3_knowledge_gain"]


def test_truth_values_are_plausible(demo: DemoData) -> None:
    truth = demo.truth["hypotheses"]
    assert 0.1 < truth["h1_horizontal_trust"] < 0.5
    assert 0.05 < truth["h2_vertical_trust"] < 0.3
    assert 0.3 < truth["h3_knowledge_gain"] < 0.6
    assert 2.0 < truth["h4_engagement_per_post"] < 25.0
    assert -0.08 < truth["h5_hostile_share"] < -0.02
    assert 0.05 < truth["h6_horizontal_trust_by_sex"] < 0.3
    assert 1.2 < demo.truth["extras"]["h4_engagement_lift"] < 1.5


def test_truth_campaign_starts_match_the_engagement_file(demo: DemoData) -> None:
    pages = demo.engagement[demo.engagement["page_type"] == "cso"].drop_duplicates("cso_id")
    assert dict(zip(pages["cso_id"], pages["campaign_start"], strict=True)) == (
        demo.truth["extras"]["design"]["campaign_start"])


def _horizontal_index(survey: pd.DataFrame) -> pd.Series:
    items = survey[H_ITEMS].astype("float64")
    items["h_trust_3"] = 6 - items["h_trust_3"]
    return items.mean(axis=1).where(items.notna().sum(axis=1) >= 3)


def test_simple_difference_in_differences_is_near_truth(demo: DemoData) -> None:
    survey = demo.survey.assign(index=_horizontal_index(demo.survey))
    panel = survey[survey["respondent_id"].isin(survey.loc[survey["wave"] == "endline", "respondent_id"])]
    means = panel.groupby(["treated", "wave"])["index"].mean()
    estimate = ((means[1, "endline"] - means[1, "baseline"]) - (means[0, "endline"] - means[0, "baseline"]))
    # A DiD of the 1-5 mean index: compare with the truth on that scale (h1's registered truth is on the KLK scale).
    assert abs(estimate - demo.truth["extras"]["h1_mean_scale"]) < 0.15


def test_simulating_does_not_share_state_between_calls() -> None:
    first = simulate_demo(7, 96)
    expected = first.survey.copy()
    first.survey.loc[0, "h_trust_1"] = pd.NA
    pd.testing.assert_frame_equal(simulate_demo(7, 96).survey, expected)


# --- communities of practice (issue 16: the demo's monthly series) ---------------------------------------------

#: sha256 of the demo's survey and engagement files for the default seed, from before the monthly community series
#: was added: its stream is a new, separate child of the seed, so these files (and every number computed from them)
#: did not move.
SURVEY_SHA256 = "1a2489aa3264d4c21992d892e954e020e299122a457d5c508a950b36e55cfd1b"
ENGAGEMENT_SHA256 = "5f58882dec7cb8160df7f2c3126a8c2a7a2b3edf80177b52e99f86ef437fd635"


def test_adding_the_community_series_left_the_other_files_byte_identical(written: DemoFiles) -> None:
    import hashlib

    assert hashlib.sha256(written.survey.read_bytes()).hexdigest() == SURVEY_SHA256
    assert hashlib.sha256(written.engagement.read_bytes()).hexdigest() == ENGAGEMENT_SHA256


def test_community_series_is_monthly_over_four_years_with_the_documented_columns(written: DemoFiles) -> None:
    from oca_experiments.demo._community import COMMUNITY_COLUMNS

    frame = pd.read_csv(written.community, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(COMMUNITY_COLUMNS)
    assert frame["month"].str.fullmatch(r"\d{4}-\d{2}-01").all()
    assert frame.groupby("community_id")["month"].nunique().eq(48).all()  # >= 3 years before every campaign
    assert (frame["month"].min(), frame["month"].max()) == ("2022-09-01", "2026-08-01")
    starts = frame.loc[frame["treated"] == "1"].groupby("community_id")["campaign_start"].first()
    assert starts.to_dict() == {"CP01": "2025-09-01", "CP02": "2025-11-01", "CP03": "2026-01-01"}
    assert (frame.loc[frame["treated"] == "0", "campaign_start"] == "").all()
    numbers = frame[["members", "posts", "active_members", "discussions"]].astype(int)
    assert (numbers >= 0).all().all() and (numbers["active_members"] <= numbers["members"]).all()
    outage = frame["outage_hours"].astype(float)
    assert outage.between(0, 24).all() and outage.max() > 2
    # The regressor is not a month-of-year pattern: January outages differ between winters.
    january = frame[frame["month"].str[5:7] == "01"].assign(outage=outage)
    assert january.groupby(january["month"].str[:4])["outage"].mean().std() > 0.3


def test_community_truth_is_the_mean_effect_over_campaign_months(demo: DemoData) -> None:
    truth = demo.truth
    value = truth["hypotheses"]["h9_community_monthly"]
    by_campaign = truth["extras"]["h9_by_campaign"]
    assert set(by_campaign) == {"CP01", "CP02", "CP03"}
    months = {"CP01": 12, "CP02": 10, "CP03": 8}  # campaign months up to 2026-08
    pooled = sum(by_campaign[c] * n for c, n in months.items()) / sum(months.values())
    assert value == pytest.approx(pooled, abs=1e-5)
    assert 20 < value < 60  # about 30% of ~120 posts a month


def test_community_series_does_not_depend_on_survey_size() -> None:
    small, large = simulate_demo(5, 96), simulate_demo(5, 480)
    pd.testing.assert_frame_equal(small.community, large.community)
