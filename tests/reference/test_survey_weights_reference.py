"""Survey weights against R survey (issue 20, acceptance 4): raked weights, point estimates and linearized SEs.

The reference (tests/reference/survey_weights/: make_data.py -> example.csv, margins.json; survey_weights.R ->
reference.json) rakes each wave of every estimator's estimation sample with ``calibrate(calfun = "raking")`` and
fits ``svyglm`` / ``svyratio`` / ``svymean`` on ``svydesign(ids = ~community_id, strata = ~district,
weights = ~base_weight)`` (district, a margin constant within communities, is a stratum of whole clusters).
Tolerance: 1e-6 relative on estimates, standard errors and weights (measured: at most 4.6e-11; the raking
tolerances of both sides bound it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from oca_experiments.estimators._ancova import fit_ancova
from oca_experiments.estimators._catalog import AncovaOptions, KnowledgeGainOptions, ShareOptions, SurveyDiDOptions
from oca_experiments.estimators._gain import fit_knowledge_gain, fit_share
from oca_experiments.estimators._survey_did import fit_survey_did
from oca_experiments.spec import HypothesisSpec

HERE = Path(__file__).resolve().parent / "survey_weights"
RTOL = 1e-6  # measured: at most 4.6e-11 relative over the 21 numbers compared


def _reference() -> dict:
    return json.loads((HERE / "reference.json").read_text(encoding="utf-8"))


def _data() -> pd.DataFrame:
    return pd.read_csv(HERE / "example.csv")


def _spec(estimator: str, *, margins: dict | None = None, design_weight: str | None = "base_weight",
          options: dict | None = None, column: str = "y", se: str = "CR1") -> HypothesisSpec:
    margins = margins or json.loads((HERE / "margins.json").read_text(encoding="utf-8"))
    weights: dict = {"margins": margins}
    if design_weight:
        weights["design_weight"] = design_weight
    return HypothesisSpec.model_validate({
        "id": "h_weighted", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "survey", "name": "y", "construction": {"method": "column", "column": column}},
        "design": {"unit": "respondent_id", "time": "wave", "pre": "baseline", "post": "endline",
                   "treatment": "treated", "cluster": "community_id"},
        "estimator": {"name": estimator, "options": options or {}},
        "inference": {"se": se, "bootstrap": {"draws": 99, "seed": 1}},
        "weights": weights,
    })


def _close(actual: float, expected: float, what: str) -> None:
    assert actual == pytest.approx(expected, rel=RTOL), f"{what}: oca {actual!r}, R survey {expected!r}"


def _fit_did(case: str, *, panel: bool, margins: dict | None = None, design_weight: str | None = "base_weight"):
    frame = _data()
    if design_weight is None:
        frame = frame.drop(columns="base_weight")
    spec = _spec("survey_did", margins=margins, design_weight=design_weight, options={"panel": panel})
    return fit_survey_did(frame, frame["y"], spec, SurveyDiDOptions(panel=panel), file="example.csv")


@pytest.mark.parametrize(("case", "panel", "design_weight"), [
    ("did_panel", True, "base_weight"),
    ("did_panel_no_design_weights", True, None),
    ("did_cross_section", False, "base_weight"),
])
def test_weighted_did_matches_r_survey(case: str, panel: bool, design_weight: str | None) -> None:
    expected = _reference()[case]
    result = _fit_did(case, panel=panel, design_weight=design_weight)
    _close(result.estimate, expected["estimate"], f"{case} estimate")
    _close(result.std_error, expected["std_error"], f"{case} linearized SE")
    assert result.n == expected["n"] and result.n_clusters == expected["clusters"]
    _close(result.extras["survey_weights"]["effective_n"], expected["kish_effective_n"], f"{case} Kish n")
    # district is constant within communities: its 4 categories are strata, t with R's degf = G - H = 12 df
    assert result.se_type == "linearized" and result.df == expected["degf"] == expected["clusters"] - 4


def test_raked_weights_match_r_calibrate_row_by_row() -> None:
    expected = _reference()["did_cross_section"]
    frame = _data()
    answered = frame.loc[frame["y"].notna()].reset_index(drop=True)
    from oca_experiments.estimators._weights import calibrate

    spec = _spec("survey_did", options={"panel": False})
    calibration = calibrate(answered, answered["wave"].to_numpy(), spec.weights, file="example.csv")
    ours = pd.Series(calibration.weights, index=pd.MultiIndex.from_arrays([answered["respondent_id"],
                                                                            answered["wave"]]))
    theirs = pd.Series(expected["weights"], index=pd.MultiIndex.from_arrays([expected["respondent_id"],
                                                                              expected["wave"]]))
    np.testing.assert_allclose(ours.loc[theirs.index].to_numpy(), theirs.to_numpy(), rtol=RTOL)


def test_poststratification_to_one_margin_matches_r_survey() -> None:
    expected = _reference()["did_cross_section_poststratified"]
    margins = json.loads((HERE / "margins.json").read_text(encoding="utf-8"))
    result = _fit_did("ps", panel=False, margins={"district": margins["district"]})
    _close(result.estimate, expected["estimate"], "post-stratified estimate")
    _close(result.std_error, expected["std_error"], "post-stratified SE")


@pytest.mark.parametrize(("case", "model"), [("ancova", "ancova"), ("change_score", "change_score")])
def test_weighted_ancova_matches_r_survey(case: str, model: str) -> None:
    expected = _reference()[case]
    frame = _data()
    spec = _spec("ancova", options={"model": model})
    result = fit_ancova(frame, frame["y"], spec, AncovaOptions(model=model), file="example.csv")
    _close(result.estimate, expected["estimate"], f"{case} estimate")
    _close(result.std_error, expected["std_error"], f"{case} SE")
    assert result.n == expected["n"]


@pytest.mark.parametrize(("case", "paired"), [("gain_paired", True), ("gain_unpaired", False)])
def test_weighted_knowledge_gain_matches_r_survey(case: str, paired: bool) -> None:
    expected = _reference()[case]
    frame = _data()
    spec = _spec("knowledge_gain", options={"paired": paired}, column="score")
    result = fit_knowledge_gain(frame, frame["score"], spec, KnowledgeGainOptions(paired=paired),
                                file="example.csv")
    _close(result.estimate, expected["estimate"], f"{case} estimate")
    _close(result.std_error, expected["std_error"], f"{case} SE")


def test_weighted_share_matches_r_survey() -> None:
    expected = _reference()["share"]
    frame = _data()
    spec = _spec("share", column="y01", options={"null_share": 0.5})
    result = fit_share(frame, frame["y01"], spec, ShareOptions(null_share=0.5), file="example.csv")
    _close(result.estimate, expected["estimate"], "share")
    _close(result.std_error, expected["std_error"], "share SE")

