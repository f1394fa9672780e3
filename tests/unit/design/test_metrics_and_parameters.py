"""Diagnosands with Monte Carlo SEs, parameter validation and precedence, and estimates from pilot data."""

from __future__ import annotations

import math

import numpy as np
import pytest

import oca_experiments as oca
from oca_experiments import design
from oca_experiments.design._metrics import Replicates, diagnosands
from oca_experiments.design._resolve import resolve_parameters


def _replicates(estimates, p_values, covered=None) -> Replicates:
    estimates = np.asarray(estimates, dtype=float)
    covered = np.ones_like(estimates) if covered is None else np.asarray(covered, dtype=float)
    return Replicates(estimates, np.full_like(estimates, 0.1), np.full_like(estimates, 20.0),
                      np.asarray(p_values, dtype=float), covered)


def test_diagnosands_and_their_monte_carlo_errors() -> None:
    rep = _replicates([0.3, -0.2, 0.1, 0.5], [0.01, 0.02, 0.4, 0.001], covered=[1, 0, 1, 1])
    out = diagnosands(rep, effect=0.2, alpha=0.05, direction="increase")
    # 2 of 4 reject in the registered direction; the significant negative one is not "supported".
    assert out["power"]["value"] == 0.5 and out["power"]["mc_se"] == pytest.approx(math.sqrt(0.25 / 4))
    errors = np.array([0.1, -0.4, -0.1, 0.3])
    assert out["bias"]["value"] == pytest.approx(errors.mean())
    assert out["bias"]["mc_se"] == pytest.approx(errors.std(ddof=1) / 2)
    assert out["rmse"]["value"] == pytest.approx(math.sqrt(np.mean(errors**2)))
    assert out["coverage"]["value"] == 0.75
    # Significant: 0.3, -0.2, 0.5 -> one of three has the wrong sign; exaggeration (1.5 + 1 + 2.5) / 3.
    assert out["type_s"]["value"] == pytest.approx(1 / 3) and out["type_s"]["n"] == 3
    assert out["type_m"]["value"] == pytest.approx(5 / 3)
    assert out["type_m"]["mc_se"] == pytest.approx(np.std([1.5, 1.0, 2.5], ddof=1) / math.sqrt(3))


def test_type_s_and_m_are_undefined_at_zero_effect_and_refused_replicates_never_reject() -> None:
    rep = _replicates([0.3, -0.1, np.nan, 0.05], [0.01, 0.5, np.nan, 0.7])
    out = diagnosands(rep, effect=0.0, alpha=0.05, direction="any")
    assert out["power"]["value"] == 0.25  # the refused replicate counts as "no rejection"
    assert out["type_s"]["value"] is None and "undefined" in out["type_s"]["note"]
    assert out["bias"]["n"] == 3
    too_few = diagnosands(_replicates([0.3, np.nan], [0.01, np.nan]), effect=0.2, alpha=0.05, direction="any")
    assert too_few["bias"]["value"] is None and "fewer than 2" in too_few["bias"]["note"]


def test_bad_parameters_fail_with_one_line_naming_the_option() -> None:
    base = dict(clusters=24, respondents=1200, icc=0.05, effect=0.2, attrition=0.1, outcome_sd=1.0,
                outcome_mean=0.0, individual_autocorrelation=0.5, cluster_autocorrelation=0.8, treated_share=0.5,
                target_power=0.8)
    for change, option in (({"icc": 1.2}, "--icc"), ({"attrition": 0.99}, "--attrition"),
                           ({"clusters": 3}, "--clusters"), ({"respondents": 30}, "--n"),
                           ({"outcome_sd": 0.0}, "--sd"), ({"target_power": 1.0}, "--power")):
        with pytest.raises(design.DesignInputError) as caught:
            design.DesignParameters(**{**base, **change, "sources": {next(iter(change)): "option"}})
        text = str(caught.value)
        assert option in text and "\n" not in text and "Fix:" in text, text


def test_precedence_option_then_data_then_spec_power_then_sesoi(repo_root) -> None:
    study = oca.load_study(repo_root)
    task = study.plan.task("h1_horizontal_trust")
    registered = task.spec.power
    params = resolve_parameters(task)
    assert params.clusters == registered.planned_clusters
    assert params.sources["clusters"] == "spec power.planned_clusters"
    assert params.effect == registered.mde and params.sources["effect"] == "spec power.mde"
    assert params.target_power == registered.power
    params = resolve_parameters(task, options={"clusters": 40, "effect": None})
    assert params.clusters == 40 and params.sources["clusters"] == "option"
    pilot = design._pilot.PilotEstimates(source="survey", file="pilot.csv", values={"clusters": 30, "icc": 0.02})
    params = resolve_parameters(task, options={"icc": 0.1}, pilot=pilot)
    assert (params.clusters, params.icc) == (30, 0.1)
    assert params.sources["clusters"] == "data (pilot.csv)" and params.sources["icc"] == "option"


def test_missing_plan_values_say_how_to_give_them(variant_study) -> None:
    study = oca.load_study(variant_study({"power": None, "inference.sesoi": None}))
    with pytest.raises(design.DesignInputError, match="--n TOTAL"):
        design.diagnose(study, "h1_horizontal_trust", sims=20)
    with pytest.raises(design.DesignInputError, match="HYPOTHESIS_ID"):
        design.diagnose(study, "h9_nope", sims=20)
    with pytest.raises(design.DesignInputError, match="--sims"):
        design.diagnose(study, "h1_horizontal_trust", sims=5)


def test_parameters_estimated_from_the_demo_baseline(repo_root, demo_data) -> None:
    study = oca.load_study(repo_root)
    task = study.plan.task("h1_horizontal_trust")
    pilot = design._pilot.estimate_from_data(study.plan, task, {"survey": demo_data.survey})
    values = pilot.values
    assert values["clusters"] == 24 and 1150 <= values["respondents"] <= 1250
    assert 0.08 <= values["attrition"] <= 0.16  # the generator drops about 12%
    assert 0.0 <= values["icc"] < 0.1 and values["treated_share"] == 0.5
    assert 0.0 <= values["individual_autocorrelation"] <= 1 and 0 <= values["cluster_autocorrelation"] <= 1


def test_diagnosis_is_read_only_json_ready_and_seeded(variant_study) -> None:
    study = variant_study({"inference.se": "CR1", "inference.few_clusters": {"threshold": 0}})
    kwargs = dict(design={"clusters": 12, "respondents": 240}, sims=60, seed=3, curve_points=3)
    first = design.diagnose(study, "h1_horizontal_trust", **kwargs)
    again = design.diagnose(study, "h1_horizontal_trust", **kwargs)
    other = design.diagnose(study, "h1_horizontal_trust", **{**kwargs, "seed": 4})
    assert first.to_json() == again.to_json() and first.sha256() != other.sha256()
    payload = first.to_dict()
    assert payload["simulation"]["seed"] == 3 and payload["inference_rule"]["method_at_planned_clusters"] == "CR1"
    with pytest.raises(TypeError):
        first.payload["simulation"]["seed"] = 5  # type: ignore[index]
    assert list(first.tidy()["diagnosand"])[:3] == ["power", "bias", "rmse"]
    curve = first.power_curve()
    assert curve["effect"].is_monotonic_increasing and curve["power"].iloc[0] < 0.1


def test_pilot_data_is_read_with_the_errors_of_oca_run(repo_root, demo_data, tmp_path) -> None:
    """Design diagnosis reads pilot data with the pipeline's loader and preflight (issue 14): the same one-line
    errors as ``oca run``, with "did you mean" for a missing column (issue 19); before, it had its own texts."""
    import pandas as pd

    study = oca.load_study(repo_root)
    task = study.plan.task("h1_horizontal_trust")
    missing = tmp_path / "pilot.csv"
    with pytest.raises(oca.DataError) as run_error:
        study.run({"survey": missing, "engagement": demo_data.engagement, "community": demo_data.community})
    with pytest.raises(oca.DataError) as pilot_error:
        design._pilot.estimate_from_data(study.plan, task, {"survey": missing})
    assert str(pilot_error.value) == str(run_error.value) and "does not exist" in str(pilot_error.value)
    with pytest.raises(oca.DataError) as unknown:
        design._pilot.estimate_from_data(study.plan, task, {"surveys": missing})
    assert str(unknown.value).startswith("unknown data source 'surveys'")
    frame = pd.read_csv(demo_data.survey)
    item = study.plan.task("h1_horizontal_trust").spec.outcome.construction.items[0]
    renamed = frame.rename(columns={item: f"trust/{item}"})
    with pytest.raises(oca.DataError) as pilot_column:
        design._pilot.estimate_from_data(study.plan, task, {"survey": renamed})
    assert f"did you mean 'trust/{item}'" in str(pilot_column.value)
    assert pilot_column.value.column == item and "\n" not in str(pilot_column.value)
