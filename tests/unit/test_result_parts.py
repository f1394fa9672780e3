"""Typed result parts: exact dict round trips, attribute reads, and results.json unchanged by them."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oca_experiments.report import run_result_from_dict
from oca_experiments.results import (
    PART_TYPES,
    Diagnostics,
    EstimateResult,
    InferenceRecord,
    PosteriorSummary,
    RunResult,
)
from oca_experiments.results.parts import Attrition, EventStudy, FewClusterRule, InferenceAlternative
from oca_experiments.summarize import bayesian_verdict

INFERENCE = {
    "primary": "wild_webb", "registered_se": "CR1",
    "rule": {"name": "few_clusters", "threshold": 30, "method": "wild_webb", "n_clusters": 24, "registered_se": "CR1",
             "fired": True, "reason": "24 clusters < registered threshold 30"},
    "alternatives": {"iid": {"std_error": 0.1, "df": 100.0, "ci_low": 0.0, "ci_high": 0.4, "p_value": 0.01,
                             "p_value_two_sided": 0.01},
                     "HC3": {"error": "HC3 needs at most one absorbed fixed-effect dimension"},
                     "wild_webb": {"p_value": 0.02, "p_value_two_sided": 0.02, "ci_low": 0.01, "ci_high": 0.39,
                                   "ci_level": 0.95, "draws": 9999, "weights": "webb", "seed": 1, "enumerated": False,
                                   "t_stat": 2.3, "type": "WCR"},
                     "randomization": {"p_value": 0.03, "p_value_two_sided": 0.03, "draws": 9999,
                                       "enumerated": False, "seed": 1, "blocks": "cso_id",
                                       "possible_assignments": 46656, "statistic": "coefficient"}},
    "estimate": 0.2, "sesoi_interval": [0.05, 0.35], "std_error_note": "CR1 studentizes the bootstrap",
}
SHARE_INFERENCE = {  # the share estimator's record: no alternatives, a null, no n_clusters in its rule
    "primary": "wilson (iid design effect)", "registered_se": "iid",
    "rule": {"name": "few_clusters", "fired": False, "reason": "no cluster column: the rule does not apply"},
    "design_effect": 1.0, "effective_n": 400.0, "null_share": 0.5, "sesoi_interval": [0.4, None], "null": 0.5,
    "statement": "45% (95% CI 40% to 50%)", "wave": "endline",
}
POSTERIOR = {"mean": 0.3, "median": 0.29, "sd": 0.1, "ci_low": 0.1, "ci_high": 0.5, "ci_level": 0.95,
             "interval": "ETI", "mcse_mean": 0.001, "p_gt_0": 0.99, "p_lt_0": 0.01, "n_draws": 4000, "sesoi": 0.1,
             "p_gt_sesoi": 0.97, "p_lt_minus_sesoi": 0.0, "rope": [-0.1, 0.1], "p_in_rope": 0.03,
             "rope_decision": "outside"}
DIAGNOSTICS = {"passed": False, "failures": ["max R-hat 1.05 > 1.01 (effect)"],
               "table": [{"parameter": "effect", "size": 1, "mean": 0.3, "sd": 0.1, "max_rhat": 1.05,
                          "min_ess_bulk": 300.0, "min_ess_tail": 280.0}], "divergences": 0, "chains": 4,
               "draws_per_chain": 1000, "bfmi": [0.9, 1.0, 0.95, 0.97],
               "thresholds": {"max_rhat": 1.01, "min_ess_bulk": 400.0, "min_ess_tail": 400.0, "max_divergences": 0},
               "notes": []}
EVENT_STUDY = {"event_time": [-2, -1, 0, 1], "estimate": [0.01, None, 0.2, 0.3], "std_error": [0.1, None, 0.1, 0.1],
               "ci_low": [-0.2, None, 0.0, 0.1], "ci_high": [0.2, None, 0.4, 0.5], "band_low": [-0.3, None, -0.1, 0.0],
               "band_high": [0.3, None, 0.5, 0.6], "uniform_critical_value": 2.6, "period": "day"}
ATTRITION = {"unit_of_count": "units", "by_arm": {"treated": {"baseline_n": 100, "stayers": 90, "leavers": 10,
                                                              "rate": 0.1},
                                                  "comparison": {"baseline_n": None, "stayers": None, "leavers": None,
                                                                 "rate": None, "display": "suppressed (n < 10)"}},
             "leaver_definition": "no answer at the post wave",
             "differential_test": {"what": "difference in attrition rates", "p_value": 0.4, "display": "hidden"},
             "balance": [{"variable": "outcome (pre wave)",
                          "cells": {"treated stayers": {"n": 90, "mean": 3.1}, "treated leavers": {"n": 10,
                                                                                                   "mean": None}},
                          "selective_attrition_p_value": 0.5}],
             "lee_bounds": {"note": "attrition rates are equal in both arms: no trimming is needed"},
             "suppressed": "suppressed (n < 10)"}
SURVEY_WEIGHTS = {"method": "rake", "margins_as": "shares", "design_weight": None, "columns": ["sex", "site"],
                  "n": 200, "effective_n": 170.5, "design_effect": 1.17, "weight_ratio_min": 0.4,
                  "weight_ratio_max": 2.6, "weight_cv": 0.46, "trim": {"lower": None, "upper": 5.0},
                  "waves": [{"wave": "baseline", "n": 100, "effective_n": 85.2, "design_effect": 1.17,
                             "weight_ratio_min": 0.4, "weight_ratio_max": 2.6, "weight_cv": 0.46, "sweeps": 6,
                             "trimmed": 0, "max_margin_error": 3e-11}],
                  "margins": [{"wave": "baseline", "column": "sex", "category": "female", "population_share": 0.49,
                               "n": 52, "sample_share": 0.52, "weighted_share": 0.49},
                              {"wave": "baseline", "column": "site", "category": "Osh", "population_share": 0.2,
                               "n": None, "sample_share": None, "weighted_share": None, "suppressed": True,
                               "display": "suppressed (n < 10)"}],
                  "variance": "Taylor linearization", "suppressed": 2}
RECORDS = {"inference": [INFERENCE, SHARE_INFERENCE], "posterior": [POSTERIOR], "diagnostics": [DIAGNOSTICS],
           "event_study": [EVENT_STUDY], "attrition": [ATTRITION, {"error": "singular matrix"}],
           "survey_weights": [SURVEY_WEIGHTS]}


def _json(value) -> str:
    return json.dumps(value)  # key order included


def test_every_part_type_has_records_here() -> None:
    assert set(PART_TYPES) == set(RECORDS)


@pytest.mark.parametrize("key, record", [(k, r) for k, rs in RECORDS.items() for r in rs])
def test_records_round_trip_exactly(key: str, record: dict) -> None:
    part = PART_TYPES[key].from_dict(record)
    assert _json(part.to_dict()) == _json(record)
    assert not part.other
    assert PART_TYPES[key].from_dict(part.to_dict()) == part


def test_unknown_keys_are_kept_in_place_and_written_back() -> None:
    record = {"primary": "CR1", "new_key_from_a_producer": {"a": 1}, "estimate": 0.1}
    part = InferenceRecord.from_dict(record)
    assert dict(part.other) == {"new_key_from_a_producer": {"a": 1}}
    assert _json(part.to_dict()) == _json(record)


def test_parts_are_read_by_attribute_and_frozen() -> None:
    part = InferenceRecord.from_dict(INFERENCE)
    assert isinstance(part.rule, FewClusterRule) and part.rule.fired is True and part.rule.n_clusters == 24
    assert isinstance(part.alternatives["wild_webb"], InferenceAlternative)
    assert part.alternatives["HC3"].error.startswith("HC3") and part.alternatives["randomization"].blocks == "cso_id"
    assert part.primary_interval == (0.05, 0.35)
    assert InferenceRecord.from_dict(SHARE_INFERENCE).primary_interval is None  # an open side is no interval
    diagnostics = Diagnostics.from_dict(DIAGNOSTICS)
    assert diagnostics.table[0].max_rhat == 1.05 and diagnostics.thresholds.max_divergences == 0
    assert Attrition.from_dict(ATTRITION).by_arm["comparison"].display == "suppressed (n < 10)"
    assert EventStudy.from_dict(EVENT_STUDY).event_time == (-2, -1, 0, 1)
    with pytest.raises(AttributeError):
        diagnostics.passed = True  # type: ignore[misc]


def test_parts_built_in_code_write_their_set_fields() -> None:
    part = PosteriorSummary(mean=0.1, p_gt_0=0.9)
    assert part.to_dict() == {"mean": 0.1, "p_gt_0": 0.9}


_numbers = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False), st.integers(-5, 5))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["mean", "sd", "p_gt_0", "p_lt_0", "rope", "interval", "extra"]),
                       st.one_of(_numbers, st.lists(_numbers, max_size=3), st.text(max_size=5)), max_size=7))
def test_posterior_round_trip_holds_for_any_record(record: dict) -> None:
    assert _json(PosteriorSummary.from_dict(record).to_dict()) == _json(record)


def test_estimate_result_lifts_known_parts_and_keeps_its_dict() -> None:
    extras = {"model": "m", "inference": INFERENCE, "posterior": POSTERIOR, "diagnostics": DIAGNOSTICS}
    result = EstimateResult(estimate=0.2, std_error=0.1, ci_low=0.0, ci_high=0.4, ci_level=0.95, p_value=0.02,
                            p_value_two_sided=0.02, df=None, n=100, n_clusters=24, se_type="wild_webb",
                            extras=extras)
    assert result.inference.rule.fired and result.posterior.p_gt_0 == 0.99 and not result.diagnostics.passed
    assert result.attrition is None and result.event_study is None
    assert _json(result.to_dict()["extras"]) == _json(extras)


def test_bayesian_verdict_reads_typed_parts_as_it_read_records() -> None:
    for diagnostics in (DIAGNOSTICS, {**DIAGNOSTICS, "passed": True, "failures": []}):
        for direction in ("increase", "decrease", "any"):
            from_records = bayesian_verdict(posterior=POSTERIOR, diagnostics=diagnostics, direction=direction,
                                            sesoi=0.1)
            from_parts = bayesian_verdict(posterior=PosteriorSummary.from_dict(POSTERIOR),
                                          diagnostics=Diagnostics.from_dict(diagnostics), direction=direction,
                                          sesoi=0.1)
            assert from_records == from_parts


def test_results_json_of_a_demo_run_round_trips_through_the_typed_parts(demo_data, tmp_path) -> None:
    """The survey hypotheses of the demo, run; results.json -> typed run -> results.json is byte-identical, and
    nothing the demo writes lands in a part's ``other``."""
    import shutil
    from pathlib import Path

    import oca_experiments as oca

    repo = Path(__file__).resolve().parents[2]
    study = tmp_path / "study"
    study.mkdir()
    shutil.copy(repo / "study.yaml", study / "study.yaml")
    for folder in ("data_contracts", "analysis", "reports"):
        shutil.copytree(repo / folder, study / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (study / "hypotheses").mkdir()
    for name in ("h1_horizontal_trust", "h3_knowledge_gain", "h6_horizontal_trust_by_sex"):
        text = (repo / "hypotheses" / f"{name}.yaml").read_text(encoding="utf-8")
        text = text.replace("draws: 9999", "draws: 199")  # the parts, not the resampling, are under test
        (study / "hypotheses" / f"{name}.yaml").write_text(text, encoding="utf-8")
    run = oca.load_study(study).run({"survey": demo_data.survey, "engagement": demo_data.engagement,
                                     "community": demo_data.community})
    payload = json.loads(json.dumps(run.to_dict()))
    again = run_result_from_dict(payload)
    assert isinstance(again, RunResult)
    assert _json(json.loads(json.dumps(again.to_dict()))) == _json(payload)
    h1 = run["h1_horizontal_trust"].result
    assert h1.inference is not None and h1.attrition is not None and h1.attrition.differential_test is not None
    for hypothesis in again:
        for value in (hypothesis.result.extras.values() if hypothesis.result else ()):
            assert not getattr(value, "other", None), (hypothesis.id, type(value).__name__, value.other)
    assert math.isfinite(h1.inference.alternatives["CR1"].std_error)


def _walk_parts(value, path: str):
    from oca_experiments.results import Part

    if isinstance(value, Part):
        yield path, value
        for name in value.__dataclass_fields__:
            if name not in ("other", "key_order"):
                yield from _walk_parts(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_parts(item, f"{path}.{key}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _walk_parts(item, f"{path}[{i}]")


def test_every_record_the_demo_writes_round_trips_and_is_fully_typed() -> None:
    """tests/unit/fixtures/results/demo_results.json: results.json of `oca demo` (default seed, all ten hypotheses,
    Bayesian and engagement included) with every list cut to its first two items."""
    from pathlib import Path

    from oca_experiments.results.parts import EXTRAS_TYPES, NOT_IN_DEMO

    text = (Path(__file__).parent / "fixtures" / "results" / "demo_results.json").read_text(encoding="utf-8")
    payload = json.loads(text)
    run = run_result_from_dict(payload)
    for recorded, hypothesis in zip(payload["hypotheses"], run.hypotheses, strict=True):
        assert _json(hypothesis.to_dict()) == _json(recorded), hypothesis.id
    seen = set()
    for hypothesis in run:
        for key, value in (hypothesis.result.extras.items() if hypothesis.result else ()):
            for path, part in _walk_parts(value, f"{hypothesis.id}.{key}"):
                assert not part.other, (path, sorted(part.other))
                seen.add(key)
    # every typed key occurs in the demo (the others in tests/unit/engagement/test_estimator_parts.py), nothing escapes its type
    assert seen == set(EXTRAS_TYPES) - NOT_IN_DEMO
    bayes = run["h7a_horizontal_trust_bayes"].result
    assert bayes.posterior.p_gt_0 is not None and bayes.diagnostics.thresholds.max_rhat == 1.01
    assert bayes.extras["group_effects"]["CSO1"].weight is not None
    assert run["h4_engagement_per_post"].result.event_study.period in ("day", "week")


def test_parts_read_as_the_dicts_they_replace() -> None:
    """Notebooks and pandas read extras records as dicts: a part is one (read-only)."""
    import pickle

    import pandas as pd

    from oca_experiments.results.parts import ReliabilityRecord, UnitEffect

    effects = {"A": UnitEffect.from_dict({"mean": 1.0, "weight": 0.25}), "B": UnitEffect.from_dict({"mean": 2.0,
                                                                                                  "weight": 0.75})}
    assert pd.DataFrame(effects).T["weight"].tolist() == [0.25, 0.75]
    record = ReliabilityRecord.from_dict({"wave": "baseline", "items": 4, "alpha": 0.8})
    assert record.n_items == 4 and record["items"] == 4 and json.dumps(record) == json.dumps(record.to_dict())
    assert record == {"wave": "baseline", "items": 4, "alpha": 0.8}
    assert pickle.loads(pickle.dumps(record)) == record
    with pytest.raises(TypeError):
        record["alpha"] = 0.9


def test_results_pickle_and_come_back_equal_and_typed() -> None:
    """Analysts send results through joblib/multiprocessing (pickle) and copy them: a run read from the demo's
    results.json comes back with the same to_dict (and results.json), equal hypotheses, every part typed, and
    still read-only."""
    import copy
    import pickle
    from pathlib import Path
    from types import MappingProxyType

    from oca_experiments.results import ValidationResult

    text = (Path(__file__).parent / "fixtures" / "results" / "demo_results.json").read_text(encoding="utf-8")
    run = run_result_from_dict(json.loads(text))
    for again in (pickle.loads(pickle.dumps(run)), copy.deepcopy(run)):
        assert _json(again.to_dict()) == _json(run.to_dict())
        for before, after in zip(run, again, strict=True):
            if before.result is not None and math.isnan(before.result.p_value):  # Bayesian: NaN != NaN
                assert _json(after.to_dict()) == _json(before.to_dict())
            else:
                assert after == before, before.id
            if after.result is not None:
                assert isinstance(after.result.extras, MappingProxyType)
                assert {k: type(v) for k, v in after.result.extras.items()} == {
                    k: type(v) for k, v in before.result.extras.items()}, before.id
        assert isinstance(again.data, MappingProxyType)
        with pytest.raises(TypeError):
            again["h1_horizontal_trust"].result.extras["inference"] = {}  # type: ignore[index]
    h1 = pickle.loads(pickle.dumps(run["h1_horizontal_trust"].result))
    assert h1.inference.rule.fired is run["h1_horizontal_trust"].result.inference.rule.fired
    validation = ValidationResult(study="s", contracts=({"passed": True},), data={"survey": {"rows": 3}})
    assert pickle.loads(pickle.dumps(validation)) == validation


def test_an_estimate_with_bootstrap_draws_pickles_and_keeps_them_read_only() -> None:
    import pickle

    import numpy as np

    draws = np.array([0.1, -0.2, 0.3])
    result = EstimateResult(estimate=0.2, std_error=0.1, ci_low=0.0, ci_high=0.4, ci_level=0.95, p_value=0.04,
                            p_value_two_sided=0.04, df=20.0, n=100, n_clusters=24, se_type="CR1",
                            counts={"units": 100}, extras={"inference": InferenceRecord.from_dict(INFERENCE),
                                                           "model": "y ~ D"},
                            artifacts={"artifacts/x.png": b"png"}, null_draws=(2.1, draws))
    again = pickle.loads(pickle.dumps(result))
    assert again == result and again.to_dict() == result.to_dict() and again.artifacts == result.artifacts
    assert again.null_draws[0] == 2.1 and np.array_equal(again.null_draws[1], draws)
    assert not again.null_draws[1].flags.writeable
    assert type(again.inference) is InferenceRecord and again.inference.alternatives["wild_webb"].draws == 9999
    assert _json(again.inference.to_dict()) == _json(INFERENCE)
