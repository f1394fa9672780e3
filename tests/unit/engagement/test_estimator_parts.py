"""The estimator-specific parts the demo does not produce (static TWFE's Bacon decomposition and negative weights,
Sun-Abraham's cohort shares, weights and cells), on small fitted examples: records round-trip exactly, nothing
escapes its type, and the estimate reads them by attribute."""

from __future__ import annotations

import json

import pytest

from oca_experiments.estimators import fit_twfe
from oca_experiments.estimators._engagement_options import SunAbrahamOptions, TwfeOptions
from oca_experiments.estimators._sun_abraham import fit_sun_abraham
from oca_experiments.results import EstimateResult, Part
from oca_experiments.results.parts import (
    EXTRAS_TYPES,
    NOT_IN_DEMO,
    BaconComparison,
    BaconDecomposition,
    CohortCell,
    NegativeWeights,
    _load,
)

from _series_data import quarterly_panel, spec

NO_RULE = {"few_clusters": {"threshold": 0}}


@pytest.fixture(scope="module")
def static_twfe() -> EstimateResult:
    data = quarterly_panel(seed=7)
    options = TwfeOptions.model_validate({"period": "quarter"})
    s = spec("twfe", adoption=None, treatment="treated", cluster=None, se="HC1", inference=NO_RULE)
    return fit_twfe(data, data["y"], s, options, file="panel.csv")


@pytest.fixture(scope="module")
def sun_abraham() -> EstimateResult:
    data = quarterly_panel(seed=3)
    options = SunAbrahamOptions.model_validate({"period": "quarter", "event_window": [-4, 3]})
    s = spec("sun_abraham", adoption=None, treatment="treated", cluster="unit", se="CR1", inference=NO_RULE)
    return fit_sun_abraham(data, data["y"], s, options, file="panel.csv")


def _walk(value, path):
    if isinstance(value, Part):
        yield path, value
        for name in value.__dataclass_fields__:
            if name not in ("other", "key_order"):
                yield from _walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def test_fitted_records_of_the_keys_outside_the_demo_round_trip_and_are_fully_typed(static_twfe, sun_abraham):
    seen = set()
    for result in (static_twfe, sun_abraham):
        record = json.loads(json.dumps(result.to_dict()["extras"]))
        for key in NOT_IN_DEMO & set(record):
            typed = _load(EXTRAS_TYPES[key], record[key])
            assert json.dumps(_dump(typed)) == json.dumps(record[key]), key
            for path, part in _walk(typed, key):
                assert not part.other, (path, sorted(part.other))
            seen.add(key)
    assert seen == NOT_IN_DEMO


def _dump(value):
    if isinstance(value, Part):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    return value


def test_static_twfe_reads_its_bacon_decomposition_by_attribute(static_twfe) -> None:
    bacon = static_twfe.bacon
    assert isinstance(bacon, BaconDecomposition) and bacon.available and bacon.staggered
    assert all(isinstance(row, BaconComparison) for row in bacon.table)
    assert sum(row.weight * row.estimate for row in bacon.table) == pytest.approx(static_twfe.estimate, rel=1e-8)
    assert sum(kind.weight for kind in bacon.by_kind.values()) == pytest.approx(1.0, abs=1e-10)
    assert isinstance(static_twfe.negative_weights, NegativeWeights) and static_twfe.negative_weights.available
    assert static_twfe.event_study is None and static_twfe.model.startswith("y ~ D")


def test_sun_abraham_reads_its_cohorts_and_event_study_by_attribute(sun_abraham) -> None:
    assert sum(share.share for share in sun_abraham.cohort_shares) == pytest.approx(1.0)
    assert all(isinstance(cell, CohortCell) and cell.weight is not None for cell in sun_abraham.iw_weights)
    assert all(cell.estimate is not None for cell in sun_abraham.cohort_effects)
    study = sun_abraham.event_study
    assert study.event_time == (-4, -3, -2, 0, 1, 2, 3) and study.reference == -1 and not study.has_band
    assert not study.other
