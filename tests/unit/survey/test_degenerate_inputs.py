"""Degenerate but valid survey data never crashes an estimator (issue 18, item 0).

Zero attrition is the best case a field team can deliver; it once crashed the panel estimators (the attrition
analysis regressed a constant and divided by its zero standard error). Every survey estimator is run here the way
``runner._estimate`` runs it (estimator, then the attrition / reliability / disaggregation extras) on data that is
valid but sits on an edge: no attrition, no missing items, one arm complete in one wave, equal cluster sizes, a
disaggregation column with a single level, covariates without variance.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from survey_helpers import make_spec

from oca_experiments.estimators import CATALOG
from oca_experiments.estimators._attrition import attrition_analysis, unit_table_for
from oca_experiments.estimators._ancova import fit_ancova
from oca_experiments.estimators._gain import fit_knowledge_gain, fit_share
from oca_experiments.estimators._survey_did import fit_survey_did
from oca_experiments.outcomes import build_outcome
from oca_experiments._secondary_estimates import secondary_estimates
from oca_experiments.summarize import hypothesis_extras

FITTERS = {"survey_did": fit_survey_did, "ancova": fit_ancova, "knowledge_gain": fit_knowledge_gain,
           "share": fit_share}

#: (label, estimator, options, outcome column)
ESTIMATORS = [
    ("did_panel", "survey_did", {}, "y"),
    ("did_cross_section", "survey_did", {"panel": False}, "y"),
    ("ancova", "ancova", {}, "y"),
    ("change_score", "ancova", {"model": "change_score"}, "y"),
    ("gain_paired", "knowledge_gain", {}, "score"),
    ("gain_unpaired", "knowledge_gain", {"paired": False}, "score"),
    ("share", "share", {"null_share": 0.5}, "applied"),
]


def _frame(*, leave_treated: float = 0.0, leave_comparison: float = 0.0, equal_sizes: bool = False,
           clusters: int = 12, seed: int = 5) -> pd.DataFrame:
    """Clustered baseline/endline survey; ``leave_*``: share of each arm missing at the post wave."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(clusters):
        arm = g % 2
        shock = rng.normal(0, 0.3)
        size = 20 if equal_sizes else int(rng.integers(10, 31))
        for i in range(size):
            person = rng.normal()
            leaves = rng.random() < (leave_treated if arm else leave_comparison)
            for wave in ("pre", "post"):
                if wave == "post" and leaves:
                    continue
                post = wave == "post"
                y = shock + person + 0.1 * post + 0.3 * arm * post + rng.normal(0, 0.5)
                items = np.clip(np.round(3 + person + 0.4 * post + rng.normal(0, 0.7, 3)), 1, 5)
                rows.append({"pid": f"p{g:02d}_{i:03d}", "village": f"v{g:02d}", "round": wave, "arm": arm, "y": y,
                             "score": float(np.clip(np.round(5 + 1.5 * person + post + rng.normal()), 0, 10)),
                             "applied": int(rng.random() < 0.4 + 0.1 * post), "sex": "female", "const": 1.0,
                             "region": "north", "age": int(rng.integers(18, 70)) if not post else None,
                             "q1": items[0], "q2": items[1], "q3": items[2]})
    frame = pd.DataFrame(rows)
    frame["age"] = frame.groupby("pid")["age"].transform("first")  # a baseline covariate, constant in a unit
    return frame


CASES = {
    "no_attrition": (dict(), {}),
    "comparison_complete": (dict(leave_treated=0.15), {}),
    "treated_complete": (dict(leave_comparison=0.15), {}),
    "equal_cluster_sizes": (dict(equal_sizes=True), {}),
    "one_level_subgroup": (dict(leave_treated=0.1, leave_comparison=0.1), {"disaggregate": ["sex"]}),
    "constant_covariates": (dict(), {"covariates": ["const", "region", "age"]}),
    "no_missing_items": (dict(), {"outcome": {"source": "s", "name": "y", "construction": {
        "method": "mean", "items": ["q1", "q2", "q3"], "scale": [1, 5], "min_items": 2}}}),
}


def _run(frame: pd.DataFrame, estimator: str, options: dict, column: str, overrides: dict):
    spec_overrides = dict(overrides)
    if estimator == "share":
        spec_overrides.pop("outcome", None)  # a share needs its 0/1 column, not an index
    spec_overrides.setdefault("outcome", {"source": "s", "name": column,
                                          "construction": {"method": "column", "column": column}})
    if estimator not in ("survey_did", "ancova"):
        spec_overrides.pop("covariates", None)  # gains and shares take no covariates
    spec = make_spec(estimator={"name": estimator, "options": options}, **spec_overrides)
    option_model = CATALOG[estimator].options_model(**options)
    built = build_outcome(frame, spec.outcome.construction, file="s.csv", design=spec.design)
    fitter = FITTERS[estimator]
    result = fitter(frame, built.values, spec, option_model, file="s.csv")
    task = SimpleNamespace(spec=spec, options=option_model, estimator=SimpleNamespace(fitter=fitter))
    secondary = secondary_estimates(frame, built.values, task, result, file="s.csv")  # as the run estimates them
    extras = hypothesis_extras(built, result, attrition=secondary.attrition,
                               disaggregation=secondary.disaggregation, by_group=secondary.by_group, threshold=5)
    return result, extras


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("label, estimator, options, column", ESTIMATORS, ids=[e[0] for e in ESTIMATORS])
def test_degenerate_but_valid_data_gives_an_estimate(case: str, label: str, estimator: str, options: dict,
                                                     column: str) -> None:
    frame_options, overrides = CASES[case]
    result, extras = _run(_frame(**frame_options), estimator, options, column, overrides)
    assert np.isfinite(result.estimate) and np.isfinite(result.std_error) and result.std_error > 0
    assert result.ci_low <= result.estimate <= result.ci_high and 0 <= result.p_value <= 1
    attrition = extras.get("attrition")
    if attrition is not None:
        assert "error" not in attrition, attrition
        if case in ("no_attrition", "equal_cluster_sizes", "constant_covariates", "no_missing_items"):
            assert attrition["no_attrition"] is True and attrition["note"].startswith("no attrition")
    if case == "one_level_subgroup":
        (table,) = extras["disaggregation"]
        assert [row["level"] for row in table["rows"]] == ["female"]
        assert table["rows"][0]["estimate"] == pytest.approx(result.estimate)
    if case == "constant_covariates" and estimator in ("survey_did", "ancova"):
        assert set(result.extras["covariates_dropped"]) == {"const"}
        assert "age" in result.extras["coefficients"]


@pytest.mark.parametrize("estimator, options", [("survey_did", {}), ("ancova", {})])
def test_balanced_panel_reports_no_attrition_and_the_estimate(estimator: str, options: dict) -> None:
    """The exact report of issue 18: a balanced panel exited 70 with a ZeroDivisionError in _inference.py."""
    frame = _frame()
    spec = make_spec(estimator={"name": estimator, "options": options})
    units = unit_table_for(spec, frame, frame["y"], file="s.csv")
    record = attrition_analysis(units, spec, outcome_kind="change")
    assert record["no_attrition"] is True
    assert record["by_arm"]["treated"]["leavers"] == 0 and record["by_arm"]["comparison"]["rate"] == 0.0
    assert "p_value" not in record["differential_test"] and "balance" not in record
    assert record["lee_bounds"]["note"].startswith("no attrition")


def test_one_arm_without_leavers_skips_the_interaction_test_and_says_why() -> None:
    frame = _frame(leave_treated=0.2)
    spec = make_spec()
    record = attrition_analysis(unit_table_for(spec, frame, frame["y"], file="s.csv"), spec, outcome_kind="change")
    assert record["no_attrition"] is False
    assert record["by_arm"]["comparison"]["leavers"] == 0 and record["by_arm"]["treated"]["leavers"] > 0
    assert np.isfinite(record["differential_test"]["p_value"])
    (row,) = record["balance"]
    assert row["selective_attrition_p_value"] is None
    assert "comparison leavers" in row["selective_attrition_note"]
    assert record["lee_bounds"]["trimmed_arm"] == "comparison"
