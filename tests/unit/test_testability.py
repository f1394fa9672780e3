"""Testability: registered requirements checked per hypothesis before estimation; counts and no data values."""

from __future__ import annotations

import pandas as pd
import pytest

from oca_experiments.contracts import Requirements, assess_testability, resolve_requirements
from oca_experiments.spec import HypothesisSpec
from oca_experiments.spec._models import Testability

SECRET_GROUP = "CSO-SECRET"


def spec(**design) -> HypothesisSpec:
    base = {"unit": "respondent_id", "time": "wave", "pre": "baseline", "post": "endline", "treatment": "treated",
            "cluster": "community_id", "group": "cso_id"}
    return HypothesisSpec.model_validate({
        "id": "h_test", "title": "t", "hypothesis": "h", "type": "exploratory", "direction": "increase",
        "outcome": {"source": "survey", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {**base, **design}, "estimator": {"name": "survey_did"}})


def panel(groups=("G1", "G2"), communities_per_arm=2, people=3) -> pd.DataFrame:
    rows = []
    for group in groups:
        for arm in (1, 0):
            for c in range(communities_per_arm):
                community = f"{group}-{arm}-{c}"
                for p in range(people):
                    for wave in ("baseline", "endline"):
                        rows.append({"respondent_id": f"R{community}-{p}", "wave": wave, "treated": arm,
                                     "community_id": community, "cso_id": group, "y": 1.0, "participant": p % 2})
    return pd.DataFrame(rows)


def failed(result) -> dict[str, str]:
    return {check.rule: check.message for check in result.failed}


def test_requirements_resolve_spec_then_source_then_study_then_default():
    resolved = resolve_requirements(Testability(max_attrition=0.2), Testability(max_attrition=0.5,
                                    min_clusters_per_arm=3), Testability(min_clusters_per_arm=9, complete_groups=True),
                                    None)
    assert (resolved.max_attrition, resolved.min_clusters_per_arm, resolved.complete_groups) == (0.2, 3, True)
    assert resolved.no_treatment_reversal is True and resolved.min_units_per_arm_wave == 1  # oca's defaults


def test_clean_panel_is_testable_and_every_check_is_recorded():
    requirements = Requirements(min_units_per_arm_wave=6, min_clusters_per_arm=4, max_attrition=0.1,
                                max_differential_attrition=0.05, complete_groups=True, balanced_panel=True)
    result = assess_testability(panel(), spec(), requirements)
    assert result.testable, result.reason
    assert {c.rule for c in result.checks} >= {"no_treatment_reversal", "min_units_per_arm_wave",
                                               "min_clusters_per_arm", "complete_groups", "max_attrition",
                                               "max_differential_attrition", "balanced_panel"}
    assert result.counts["rows_excluded_by_subset"] == 0 and result.counts["rows_outside_registered_waves"] == 0


def test_a_group_missing_its_endline_fails_the_sample_frame_without_naming_it():
    data = panel(groups=("G1", SECRET_GROUP))
    data = data.loc[~((data["cso_id"] == SECRET_GROUP) & (data["wave"] == "endline"))]
    result = assess_testability(data, spec(), Requirements(complete_groups=True))
    assert not result.testable
    message = failed(result)["complete_groups"]
    assert "1 of 2 implementing groups ('cso_id')" in message and "endline × treated" in message
    assert SECRET_GROUP not in result.reason
    shown = assess_testability(data, spec(), Requirements(complete_groups=True), show_values=True)
    assert SECRET_GROUP in shown.reason
    sensitive = assess_testability(data, spec(), Requirements(complete_groups=True), show_values=True,
                                   sensitive_columns=frozenset({"cso_id"}))
    assert SECRET_GROUP not in sensitive.reason


def test_treatment_reversal_within_unit_and_cluster():
    data = panel()
    data.loc[1, "treated"] = 0  # the first respondent's endline row
    result = assess_testability(data, spec(), Requirements())
    message = failed(result)["no_treatment_reversal"]
    assert "changes within 1 unit(s) of 'respondent_id'" in message
    assert "differs within 1 cluster(s) of 'community_id'" in message
    assert "R" not in message.replace("'respondent_id'", "")  # no ids


def test_too_few_units_and_clusters_name_the_cells():
    data = panel(communities_per_arm=2, people=2)
    result = assess_testability(data, spec(), Requirements(min_units_per_arm_wave=10, min_clusters_per_arm=5))
    messages = failed(result)
    assert "baseline × treated has 8" in messages["min_units_per_arm_wave"]
    assert "endline × comparison has 4" in messages["min_clusters_per_arm"]


def test_attrition_overall_and_differential():
    data = panel(people=5)
    leavers = data[(data["treated"] == 1) & (data["wave"] == "endline")].index[:8]
    result = assess_testability(data.drop(index=leavers), spec(), Requirements(max_attrition=0.1,
                                                                              max_differential_attrition=0.1))
    messages = failed(result)
    assert "attrition 20.0% of pre-wave units exceeds the registered maximum 10.0%" in messages["max_attrition"]
    assert "differential attrition 40.0 points" in messages["max_differential_attrition"]
    cross_sections = assess_testability(data.drop(index=leavers), spec(), Requirements(max_attrition=0.1),
                                        panel=False)
    assert cross_sections.testable, "nobody is followed in repeated cross-sections"


def test_subset_rows_are_counted_and_pooled_arms_for_one_group_designs():
    data = panel()
    design = spec(subset={"participant": [1]})
    result = assess_testability(data, design, Requirements(min_units_per_arm_wave=4, arms="pooled"))
    assert result.counts["rows_excluded_by_subset"] == int((data["participant"] == 0).sum())
    assert result.testable, result.reason
    assert "baseline × both arms" not in (result.reason or "")


def test_pre_period_of_adopting_units():
    days = pd.date_range("2026-03-01", periods=40).strftime("%Y-%m-%d")
    rows = [{"page_id": page, "date": day, "treated": int(page != "P03"), "cso_id": "CSO1",
             "campaign_start": start} for page, start in (("P01", "2026-03-31"), ("P02", "2026-03-05"),
                                                          ("P03", None)) for day in days]
    design = spec(unit="page_id", time="date", pre=None, post=None, cluster="page_id", adoption="campaign_start")
    result = assess_testability(pd.DataFrame(rows), design, Requirements(min_pre_period_days=28))
    message = failed(result)["min_pre_period_days"]
    assert "1 of 2 adopting units have fewer than 28 days" in message and "(fewest 4)" in message
    assert "'campaign_start'" in message


@pytest.mark.parametrize("value", [0, -1])
def test_requirements_are_validated(value):
    with pytest.raises(Exception, match="greater than or equal to 1"):
        Testability(min_units_per_arm_wave=value)


def test_a_wave_label_the_data_do_not_hold_is_said_as_such():
    """Issue 18 item 9: 'pre: baseline' on a column holding pre/post gave 'baseline × treated has 0'."""
    data = panel().replace({"wave": {"baseline": "pre", "endline": "post"}})
    result = assess_testability(data, spec(), Requirements())
    assert not result.testable
    message = failed(result)["waves_present"]
    assert message.startswith("column 'wave' has no value 'baseline' or 'endline' (values: post, pre)")
    assert "design.pre and design.post" in message
    assert result.reason.startswith("column 'wave' has no value")  # the first reason given is the real one


def test_wave_values_of_a_sensitive_time_column_are_counted_not_shown():
    data = panel().replace({"wave": {"baseline": "pre"}})
    result = assess_testability(data, spec(), Requirements(), sensitive_columns=frozenset({"wave"}))
    assert "(values: 2 distinct values)" in failed(result)["waves_present"]
    assert "'baseline'" in failed(result)["waves_present"] and "endline" not in failed(result)["waves_present"]


WAVES = [{"label": "baseline", "start": "2026-02-01", "end": "2026-02-28"},
         {"label": "endline", "start": "2026-10-01", "end": "2026-10-31"}]


def dated_panel() -> pd.DataFrame:
    data = panel()
    data["interview_date"] = data["wave"].map({"baseline": "2026-02-10", "endline": "2026-10-10"})
    data.loc[[0, 2], "interview_date"] = "2026-03-15"  # two baseline interviews after the window closed
    return data


@pytest.mark.parametrize("mode", [None, "note", "refuse"])
def test_interviews_outside_the_registered_fieldwork_window_are_flagged(mode):
    """Issue 18 item 8: dates outside design.waves' windows were accepted silently."""
    requirements = Requirements() if mode is None else Requirements(fieldwork_windows=mode)
    result = assess_testability(dated_panel(), spec(interview_date="interview_date", waves=WAVES), requirements)
    (check,) = [c for c in result.checks if c.rule == "fieldwork_windows"]
    assert "2 of 24 rows of wave 'baseline' (window 2026-02-01 to 2026-02-28) are dated outside" in check.message
    assert "e.g. rows 0, 2" in check.message and "2026-03-15" not in check.message
    assert result.counts["rows_outside_fieldwork_windows"] == 2
    assert result.testable == (mode != "refuse")
    if mode != "refuse":
        assert check.message.startswith("note: ")


def test_interviews_inside_their_windows_pass():
    data = dated_panel()
    data.loc[[0, 2], "interview_date"] = "2026-02-20"
    result = assess_testability(data, spec(interview_date="interview_date", waves=WAVES),
                                Requirements(fieldwork_windows="refuse"))
    assert result.testable and result.counts["rows_outside_fieldwork_windows"] == 0
