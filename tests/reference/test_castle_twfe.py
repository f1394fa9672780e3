"""TWFE and a TWFE event study on a public panel: the castle-doctrine state panel (Cheng and Hoekstra 2013; the
Mixtape's chapter 9), 50 states x 11 years, staggered adoption, the 0/1 ``post`` column as the treated-and-post
indicator and ``period: year`` on whole-number years. Reference: pyfixest's feols with CR1 by state, stored by the
committed script ``panel/make_castle.py`` (the suite needs neither causaldata nor a pyfixest refit). Tolerance
1e-8 relative."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from oca_experiments.estimators import fit_staggered_did, fit_twfe
from oca_experiments.estimators._engagement_options import StaggeredDiDOptions, TwfeOptions
from oca_experiments.spec import HypothesisSpec

HERE = Path(__file__).resolve().parent / "panel"


def _spec(name: str, options: dict) -> HypothesisSpec:
    return HypothesisSpec.model_validate({
        "id": "castle", "title": "Castle doctrine", "hypothesis": "x", "type": "exploratory", "direction": "increase",
        "outcome": {"source": "castle", "name": "l_homicide",
                    "construction": {"method": "column", "column": "l_homicide"}},
        "design": {"unit": "sid", "time": "year", "treatment": "post", "cluster": "sid"},
        "estimator": {"name": name, "options": options},
        "inference": {"se": "CR1", "few_clusters": {"threshold": 0}}})


@pytest.fixture(scope="module")
def castle() -> tuple[pd.DataFrame, dict]:
    data = pd.read_csv(HERE / "castle.csv")
    return data, json.loads((HERE / "castle_pyfixest.json").read_text(encoding="utf-8"))


def test_castle_static_twfe_matches_pyfixest(castle) -> None:
    data, reference = castle
    options = TwfeOptions.model_validate({"period": "year"})
    fit = fit_twfe(data, data["l_homicide"], _spec("twfe", {"period": "year"}), options, file="castle.csv")
    assert fit.estimate == pytest.approx(reference["static"]["estimate"], rel=1e-8)
    assert fit.std_error == pytest.approx(reference["static"]["std_error"], rel=1e-8)
    assert fit.counts["units"] == 50 and fit.counts["periods"] == 11


def test_castle_event_study_matches_pyfixest(castle) -> None:
    data, reference = castle
    raw = {"period": "year", "event_window": [-5, 4]}
    fit = fit_twfe(data, data["l_homicide"], _spec("twfe", raw), TwfeOptions.model_validate(raw), file="castle.csv")
    table = fit.extras["event_study"]
    for e, b, s in zip(table["event_time"], table["estimate"], table["std_error"], strict=True):
        ref_b, ref_s = reference["event_study"][str(e)]
        assert b == pytest.approx(ref_b, rel=1e-8), e
        assert s == pytest.approx(ref_s, rel=1e-8), e


def test_castle_staggered_did_runs_on_years_from_the_indicator(castle) -> None:
    """Callaway-Sant'Anna on the same panel, adoption derived from the 0/1 column, yearly integer periods."""
    data, _ = castle
    raw = {"period": "year", "bootstrap_draws": 199}
    fit = fit_staggered_did(data, data["l_homicide"], _spec("staggered_did", raw),
                            StaggeredDiDOptions.model_validate(raw), file="castle.csv")
    assert fit.counts["periods"] == 11
    assert fit.extras["att_gt"]["cohort"][0] in {"2005", "2006"}
    assert fit.ci_low < fit.estimate < fit.ci_high
