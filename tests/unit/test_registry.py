"""The estimator registry: every record resolves, and every capability a record claims is exercised by a test.

A capability claimed without a test naming it here fails ``test_every_claimed_capability_is_exercised``; a spec
asking an estimator for a capability it does not claim is refused at plan time, naming the field.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from pydantic import BaseModel

from oca_experiments.errors import SpecError
from oca_experiments.estimators import CAPABILITIES, CATALOG, FITTERS, REGISTRY, SurveyDiDOptions, fit_survey_did
from oca_experiments.plan import make_plan
from oca_experiments.spec import Design, HypothesisSpec, load_hypotheses, load_study_config

REPO = Path(__file__).resolve().parents[2]
HERE = "tests/unit/test_registry.py"

#: (estimator, capability) -> the test that exercises it ("file::function"). Claiming a capability means adding
#: its test here.
EXERCISED = {
    ("survey_did", "fixed_effects"): f"{HERE}::test_survey_did_absorbs_fixed_effects_like_pyfixest",
    ("twfe", "fixed_effects"): "tests/unit/engagement/test_twfe.py::test_static_twfe_matches_pyfixest",
    ("survey_did", "disaggregation"): f"{HERE}::test_disaggregation_runs_for_every_estimator_claiming_it",
    ("ancova", "disaggregation"): f"{HERE}::test_disaggregation_runs_for_every_estimator_claiming_it",
    ("knowledge_gain", "disaggregation"): f"{HERE}::test_disaggregation_runs_for_every_estimator_claiming_it",
    ("share", "disaggregation"): f"{HERE}::test_disaggregation_runs_for_every_estimator_claiming_it",
    ("survey_did", "attrition"): f"{HERE}::test_attrition_runs_for_every_estimator_claiming_it",
    ("ancova", "attrition"): f"{HERE}::test_attrition_runs_for_every_estimator_claiming_it",
    ("survey_did", "simulation"):
        "tests/unit/design/test_engines_agree.py::test_closed_form_kernels_match_the_registered_fitter",
    ("bayes_did", "bayesian"): "tests/unit/bayes/test_bayes_fitters.py::test_bayes_did_fitter_outputs",
    ("ordinal_did", "bayesian"): "tests/unit/bayes/test_bayes_fitters.py::test_ordinal_fitter_reports_category_changes",
    ("bayes_its", "bayesian"): "tests/unit/bayes/test_bayes_fitters.py::test_its_fitter_reports_counterfactual_effects",
    ("survey_did", "survey_weights"):
        "tests/reference/test_survey_weights_reference.py::test_weighted_did_matches_r_survey",
    ("ancova", "survey_weights"):
        "tests/reference/test_survey_weights_reference.py::test_weighted_ancova_matches_r_survey",
    ("knowledge_gain", "survey_weights"):
        "tests/reference/test_survey_weights_reference.py::test_weighted_knowledge_gain_matches_r_survey",
    ("share", "survey_weights"):
        "tests/reference/test_survey_weights_reference.py::test_weighted_share_matches_r_survey",
}


# --------------------------------------------------------------------------- helpers


def _demo_spec(estimator: str) -> dict[str, Any]:
    """A demo spec (as a dict) for ``estimator``; ancova and share are h1 and h3 re-registered. Weighted specs
    (h10) are left out: weights refuse disaggregate and randomization, which the capability tests add."""
    for path in sorted((REPO / "hypotheses").glob("h*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if raw["estimator"]["name"] == estimator and "weights" not in raw:
            return raw
    if estimator == "ancova":
        raw = _demo_spec("survey_did")
        raw["estimator"] = {"name": "ancova"}
        return raw
    if estimator == "share":
        raw = _demo_spec("knowledge_gain")
        raw["outcome"] = {"source": "survey", "name": "participant_share",
                          "construction": {"method": "column", "column": "participant"}}
        raw["estimator"] = {"name": "share", "options": {"null_share": 0.5}}
        raw["inference"] = {**raw["inference"], "se": "CR1", "sesoi": None}
        raw.pop("testability", None)
        return raw
    if estimator in ("synthetic_did", "synthetic_control"):
        raw = _demo_spec("staggered_did")
        raw["estimator"] = {"name": estimator, "options": {"period": "week"}}
        raw["inference"] = {**raw["inference"], "se": "placebo"}
        return raw
    if estimator == "twfe":
        raw = _demo_spec("staggered_did")
        raw["estimator"] = {"name": "twfe", "options": {"period": "week"}}
        return raw
    if estimator == "sun_abraham":
        raw = _demo_spec("staggered_did")
        raw["estimator"] = {"name": "sun_abraham", "options": {"period": "week"}}
        raw["inference"] = {**raw["inference"], "se": "CR1"}
        return raw
    pytest.fail(f"no demo spec uses estimator {estimator!r}: add a base spec for it to _demo_spec")


def _quick(raw: dict[str, Any]) -> dict[str, Any]:
    """Frequentist inference without resampling (the capability, not the bootstrap, is under test here)."""
    inference = {k: v for k, v in raw["inference"].items() if k not in ("randomization", "bootstrap")}
    inference["few_clusters"] = {"threshold": 0}
    inference["se"] = "CR1"
    return {**raw, "inference": inference}


def _study(tmp_path: Path, specs: dict[str, dict[str, Any]]) -> Path:
    study = tmp_path / "study"
    study.mkdir(parents=True)
    shutil.copy(REPO / "study.yaml", study / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(REPO / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study / "hypotheses").mkdir()
    for name, raw in specs.items():
        (study / "hypotheses" / f"{name}.yaml").write_text(yaml.safe_dump({**raw, "id": name}, sort_keys=False),
                                                           encoding="utf-8")
    return study


def _plan_error(tmp_path: Path, raw: dict[str, Any]) -> SpecError:
    study = _study(tmp_path, {"h_probe": raw})
    with pytest.raises(SpecError) as caught:
        make_plan(study, load_study_config(study), load_hypotheses(study))
    return caught.value


# --------------------------------------------------------------------------- the registry itself


def test_every_record_resolves() -> None:
    design_fields = set(Design.model_fields)
    for name, record in REGISTRY.items():
        assert record.name == name
        assert record.data_kind in ("survey", "engagement"), name
        assert issubclass(record.options_model, BaseModel) and record.options_model.model_config.get("frozen"), name
        assert record.se_types and all(isinstance(se, str) for se in record.se_types), name
        assert set(record.design_fields) <= design_fields, name
        assert set(record.capabilities) <= set(CAPABILITIES), name
        assert record.available, f"{name}: a planned estimator (fitter=None) needs a test of not_yet_estimable"
        signature = inspect.signature(record.fitter)
        signature.bind(pd.DataFrame(), pd.Series(dtype=float), None, None, file="f.csv")  # the Fitter protocol
        if record.priors is not None:
            assert record.priors and all(isinstance(scale, float) and isinstance(text, str)
                                         for scale, text in record.priors.values()), name
            assert record.se_types == ("posterior",), name


def test_the_former_catalog_and_fitters_are_views_of_the_registry() -> None:
    assert CATALOG is REGISTRY
    assert set(FITTERS) == {name for name, record in REGISTRY.items() if record.available}
    for name in FITTERS:
        assert FITTERS[name] is REGISTRY[name].fitter


def test_every_claimed_capability_is_exercised() -> None:
    claimed = {(name, capability) for name, record in REGISTRY.items() for capability in record.capabilities}
    assert claimed == set(EXERCISED), ("a claimed capability needs a test named in EXERCISED (or a stale entry "
                                       f"must go): {sorted(claimed ^ set(EXERCISED))}")
    for where in set(EXERCISED.values()):
        file, _, function = where.partition("::")
        tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
        assert function in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, where


def test_every_demo_spec_plans_against_the_registry() -> None:
    plan = make_plan(REPO, load_study_config(REPO), load_hypotheses(REPO))
    for task in plan.tasks:
        assert task.estimator is REGISTRY[task.spec.estimator.name]


# --------------------------------------------------------------------------- refusals at plan time


# twfe absorbs the spec's fixed effects whatever its options; survey_did only as a panel (panel: false refuses).
@pytest.mark.parametrize("name", sorted(n for n, r in REGISTRY.items() if n != "twfe"))
def test_fixed_effects_are_refused_where_not_absorbed(tmp_path: Path, name: str) -> None:
    raw = {**_demo_spec(name), "fixed_effects": ["district"]}
    record = REGISTRY[name]
    if record.fixed_effects is not None:
        raw["estimator"] = {**raw["estimator"], "options": {**raw["estimator"].get("options", {}), "panel": False}}
    error = _plan_error(tmp_path, raw)
    assert error.field == "fixed_effects" and "does not absorb additional fixed effects" in error.message
    assert "survey_did" in (error.fix or "")


@pytest.mark.parametrize("name", sorted(n for n, r in REGISTRY.items() if r.disaggregation is None))
def test_disaggregation_is_refused_where_not_offered(tmp_path: Path, name: str) -> None:
    error = _plan_error(tmp_path, {**_demo_spec(name), "disaggregate": ["district"]})
    assert error.field == "disaggregate" and "survey_did" in (error.fix or "")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_bayes_section_and_priors_follow_the_record(tmp_path: Path, name: str) -> None:
    record = REGISTRY[name]
    raw = _demo_spec(name)
    if record.priors is None:
        error = _plan_error(tmp_path, {**raw, "bayes": {"priors": {}}})
        assert error.field == "bayes"
        return
    known = next(iter(record.priors))
    study = _study(tmp_path, {"h_probe": {**raw, "bayes": {**(raw.get("bayes") or {}), "priors": {known: 0.3}}}})
    make_plan(study, load_study_config(study), load_hypotheses(study))
    error = _plan_error(tmp_path / "other", {**raw, "bayes": {**(raw.get("bayes") or {}), "priors": {"nope": 1.0}}})
    assert error.field == "bayes.priors.nope"


# --------------------------------------------------------------------------- capabilities, exercised


def _fe_panel(seed: int = 5, clusters: int = 16, per_cluster: int = 25) -> pd.DataFrame:
    """A panel whose interviewer changes between waves: an effect that respondent fixed effects do not absorb."""
    rng = np.random.default_rng(seed)
    interviewer_effect = rng.normal(0, 0.8, size=6)
    rows = []
    for g in range(clusters):
        arm, shock = g % 2, rng.normal(0, 0.3)
        for i in range(per_cluster):
            person = rng.normal()
            for wave in ("pre", "post"):
                if wave == "post" and rng.random() < 0.1:
                    continue
                post = wave == "post"
                interviewer = int(rng.integers(0, 6)) if post else int(rng.integers(0, 3))  # endline team differs
                y = (shock + person + interviewer_effect[interviewer] + 0.1 * post + 0.3 * arm * post
                     + rng.normal(0, 0.5))
                rows.append({"pid": f"p{g:02d}_{i:03d}", "village": f"v{g:02d}", "round": wave, "arm": arm,
                             "interviewer": f"i{interviewer}", "y": y})
    return pd.DataFrame(rows)


def _fe_spec(**inference: Any) -> HypothesisSpec:
    return HypothesisSpec.model_validate({
        "id": "h_fe", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "s", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "pid", "time": "round", "pre": "pre", "post": "post", "treatment": "arm",
                   "cluster": "village"},
        "estimator": {"name": "survey_did"}, "fixed_effects": ["interviewer"],
        "inference": {"alpha": 0.05, "tails": "two", "se": "CR1", "few_clusters": {"threshold": 0}, **inference},
    })


@pytest.mark.parametrize("se, vcov", [("CR1", {"CRV1": "village"}), ("HC1", "hetero"), ("iid", "iid")])
def test_survey_did_absorbs_fixed_effects_like_pyfixest(se: str, vcov: Any) -> None:
    pf = pytest.importorskip("pyfixest")
    df = _fe_panel()
    result = fit_survey_did(df, df["y"], _fe_spec(se=se), SurveyDiDOptions(), file="x.csv")
    data = df.loc[df.groupby("pid")["round"].transform("nunique") == 2].copy()
    data["post"] = (data["round"] == "post").astype(float)
    data["D"] = data["arm"] * data["post"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Two absorbed dimensions are demeaned iteratively on both sides; pyfixest's default tolerance (1e-8)
        # leaves SE differences near 1e-6, so it demeans to 1e-12 like ours (1e-13).
        reference = pf.feols("y ~ D + post | pid + interviewer", data=data, vcov=vcov, fixef_tol=1e-12)
    assert result.estimate == pytest.approx(reference.coef()["D"], abs=1e-8)
    assert result.std_error == pytest.approx(reference.se()["D"], rel=1e-8)
    assert "| unit + interviewer" in result.extras["model"]
    without = fit_survey_did(df, df["y"], _fe_spec(se=se).model_copy(update={"fixed_effects": ()}),
                             SurveyDiDOptions(), file="x.csv")
    assert abs(without.estimate - result.estimate) > 1e-4  # the interviewer effects were really absorbed


def test_fixed_effect_column_with_gaps_is_a_data_error() -> None:
    from oca_experiments.errors import DataError

    df = _fe_panel()
    df.loc[df.index[3], "interviewer"] = None
    with pytest.raises(DataError) as caught:
        fit_survey_did(df, df["y"], _fe_spec(), SurveyDiDOptions(), file="x.csv")
    assert caught.value.column == "interviewer"


@pytest.fixture(scope="module")
def capability_runs(demo_data, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each survey estimator claiming disaggregation or attrition, estimated on the demo survey through the
    runner's own estimate step (subset, outcome, fitter, then the registry-driven extras)."""
    from oca_experiments.runner import LoadedSource, _estimate

    names = sorted(n for n, r in REGISTRY.items() if r.disaggregation is not None or r.attrition is not None)
    specs = {f"h_{name}": {**_quick(_demo_spec(name)), "disaggregate": ["sex"]} for name in names
             if REGISTRY[name].disaggregation is not None}
    specs.update({f"h_{name}": _quick(_demo_spec(name)) for name in names if f"h_{name}" not in specs})
    study = _study(tmp_path_factory.mktemp("capabilities"), specs)
    plan = make_plan(study, load_study_config(study), load_hypotheses(study))
    frame = pd.read_csv(demo_data.survey)
    source = LoadedSource("survey", frame, "survey.csv", {})
    return {task.spec.estimator.name: _estimate(task, source, threshold=10) for task in plan.tasks}


def test_disaggregation_runs_for_every_estimator_claiming_it(capability_runs) -> None:
    claiming = [n for n, r in REGISTRY.items() if r.disaggregation is not None]
    assert claiming
    for name in claiming:
        tables = capability_runs[name].extras["disaggregation"]
        assert [t["dimension"] for t in tables] == ["sex"], name
        rows = tables[0]["rows"]
        assert {r["level"] for r in rows} == {"female", "male"}, name
        assert all(r["status"] == "estimated" and r["n"] >= 10 and np.isfinite(r["estimate"]) for r in rows), name
        assert tables[0]["total"]["estimate"] == capability_runs[name].estimate


def test_attrition_runs_for_every_estimator_claiming_it(capability_runs) -> None:
    for name, record in REGISTRY.items():
        if record.attrition is None:
            continue
        attrition = capability_runs[name].extras["attrition"]
        assert "error" not in attrition, (name, attrition)
        assert attrition["differential_test"]["p_value"] is not None, name
        assert "lee_bounds" in attrition, name
    for name in ("knowledge_gain", "share"):  # no attrition claim: no attrition section
        assert "attrition" not in capability_runs[name].extras


def test_fixed_effects_across_clusters_say_why_the_wild_bootstrap_cannot_run() -> None:
    """Interviewers work across villages: with the few-cluster rule's wild bootstrap as primary, the error names the
    nesting the bootstrap needs instead of a generic failure."""
    from oca_experiments.errors import EstimationError

    df = _fe_panel()
    spec = _fe_spec(few_clusters={"threshold": 30}, bootstrap={"draws": 99})
    with pytest.raises(EstimationError) as caught:
        fit_survey_did(df, df["y"], spec, SurveyDiDOptions(), file="x.csv")
    assert "nested in the clusters" in caught.value.message


# --------------------------------------------------------------------------- fitters build typed parts


def _untyped(annotation: Any, value: Any, path: str) -> list[str]:
    """Where ``value`` holds a plain dict or list in place of the typed part(s) ``annotation`` names."""
    from oca_experiments.results import Part
    from oca_experiments.results.parts import _holds_parts, _part_type

    import typing
    from collections.abc import Mapping

    if _part_type(annotation) is not None:
        if isinstance(value, Mapping) and not isinstance(value, Part):
            return [f"{path}: a plain {type(value).__name__} where {_part_type(annotation).__name__} exists"]
        return []
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and args and _part_type(args[0]) is not None:
        if not isinstance(value, tuple):
            return [f"{path}: a plain {type(value).__name__} where tuple[{_part_type(args[0]).__name__}, ...] exists"]
        return [bad for i, item in enumerate(value) for bad in _untyped(args[0], item, f"{path}[{i}]")]
    if typing.get_origin(annotation) in (Mapping, dict) and len(args) == 2 and _holds_parts(args[1]):
        if isinstance(value, Part) or not isinstance(value, Mapping):
            return [f"{path}: {type(value).__name__} where a mapping of parts exists"]
        return [bad for key, item in value.items() for bad in _untyped(args[1], item, f"{path}.{key}")]
    return []


@contextlib.contextmanager
def _watching_untyped_records() -> Iterator[list[str]]:
    """While open, ``EstimateResult``'s lifting of plain records is watched: each record an estimator module hands
    over as a plain dict (or list) where a typed part exists is listed (the run's own re-wrapping of a result with
    summarize's records is not an estimator's, and old results.json are read through ``from_dict``)."""
    import sys

    import oca_experiments.results as results_module
    from oca_experiments.results.parts import EXTRAS_TYPES

    untyped: list[str] = []
    original = results_module.lift_parts

    def watching(extras: Any) -> dict[str, Any]:
        caller = sys._getframe(3)  # watching <- __post_init__ <- the dataclass __init__ <- who built the result
        module = caller.f_globals.get("__name__", "")
        if module.startswith("oca_experiments.estimators"):
            for key, annotation in EXTRAS_TYPES.items():
                if key in extras:
                    untyped.extend(f"{module}.{caller.f_code.co_name}: {bad}"
                                   for bad in _untyped(annotation, extras[key], key))
        return original(extras)

    patch = pytest.MonkeyPatch()
    patch.setattr(results_module, "lift_parts", watching)
    try:
        yield untyped
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def fitter_extras(demo_data, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[str]]:
    """Every frequentist estimator of the registry fitted through the runner's estimate step on the demo data
    (sun_abraham, which needs a balanced panel, on a small quarterly one), its records watched."""
    import sys

    from oca_experiments.estimators._engagement_options import SunAbrahamOptions
    from oca_experiments.estimators._sun_abraham import fit_sun_abraham
    from oca_experiments.runner import LoadedSource, _estimate

    sys.path.insert(0, str(REPO / "tests" / "unit" / "engagement"))
    from _series_data import quarterly_panel
    from _series_data import spec as series_spec

    names = sorted(n for n, r in REGISTRY.items() if not r.bayesian and n != "sun_abraham")
    specs = {f"h_{name}": _quick(_demo_spec(name)) if "CR1" in REGISTRY[name].se_types else _demo_spec(name)
             for name in names}
    one_start = _demo_spec("synthetic_did")  # h8: one campaign page, one common start
    specs["h_synthetic_control"] = {**one_start, "estimator": {"name": "synthetic_control",
                                                               "options": {"period": "month"}}}
    weighted = yaml.safe_load((REPO / "hypotheses" / "h10_horizontal_trust_weighted.yaml").read_text("utf-8"))
    specs["h_weighted"] = {**weighted, "inference": {k: v for k, v in weighted["inference"].items()
                                                     if k not in ("randomization", "bootstrap")}}
    study = _study(tmp_path_factory.mktemp("typed"), specs)
    plan = make_plan(study, load_study_config(study), load_hypotheses(study))
    loaded = {name: LoadedSource(name, pd.read_csv(getattr(demo_data, name)), f"{name}.csv", {})
              for name in ("survey", "engagement", "community")}
    results: dict[str, Any] = {}
    with _watching_untyped_records() as untyped:
        for task in plan.tasks:
            results[task.spec.estimator.name if task.spec.id != "h_weighted" else "weighted"] = _estimate(
                task, loaded[task.spec.outcome.source], threshold=10, loaded=loaded)
        panel = quarterly_panel(seed=3)
        results["sun_abraham"] = fit_sun_abraham(
            panel, panel["y"], series_spec("sun_abraham", adoption=None, treatment="treated", cluster="unit",
                                           se="CR1", inference={"few_clusters": {"threshold": 0}}),
            SunAbrahamOptions.model_validate({"period": "quarter", "event_window": [-4, 3]}), file="panel.csv")
    return results, untyped


def test_every_frequentist_fitter_builds_typed_parts(fitter_extras) -> None:
    """The fitters build the typed parts themselves; reading plain records into parts is for old results.json."""
    results, untyped = fitter_extras
    assert sorted(results) == sorted([n for n, r in REGISTRY.items() if not r.bayesian] + ["weighted"])
    assert not untyped, "\n".join(sorted(set(untyped)))
    # the typed parts the frequentist fitters are known for, present and typed
    assert results["survey_did"].inference.rule is not None and results["weighted"].extras["survey_weights"]
    assert results["staggered_did"].att_gt is not None and results["staggered_did"].aggregations is not None
    assert results["its"].by_campaign[0].path is not None and results["twfe"].bacon is not None
    assert results["synthetic_did"].unit_weights and results["synthetic_did"].trajectory is not None
    assert results["sun_abraham"].event_study is not None and results["sun_abraham"].cohort_shares


def test_fitted_parts_round_trip_through_results_json_and_pickle(fitter_extras) -> None:
    """What each frequentist fitter built reads back from its JSON record to the same record (key order included),
    and pickles (with its bootstrap draws) to the same record."""
    import json
    import pickle

    from oca_experiments.results import HypothesisResult

    results, _ = fitter_extras
    for name, result in results.items():
        payload = json.loads(json.dumps(result.to_dict()))
        again = HypothesisResult.from_dict({"id": name, "status": "estimated", **payload}).result
        assert json.dumps(json.loads(json.dumps(again.to_dict()))) == json.dumps(payload), name
        unpickled = pickle.loads(pickle.dumps(result))
        assert json.dumps(json.loads(json.dumps(unpickled.to_dict()))) == json.dumps(payload), name
        assert {k: type(v) for k, v in unpickled.extras.items()} == {k: type(v) for k, v in result.extras.items()}
        if result.null_draws is not None:
            assert np.array_equal(unpickled.null_draws[1], result.null_draws[1]), name
