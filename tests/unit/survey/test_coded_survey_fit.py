"""Survey DiD on integer-coded identifiers gives the numbers of the string-based code it replaced (issue 21).

The golden file was made by the code before the change (``tests/reference/survey/generate_coded_fit_golden.py``,
commit 99bdbc7): every estimate, SE, CI, p-value, df, count and record of each case, and the disaggregation
tables cell by cell. The coded subgroup frame (``subgroup_frame``) must give the plain frame's numbers on any rows.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from coded_fit_cases import CASES, DISAGGREGATED, fitted, frame, run_case, run_subgroups, spec
from oca_experiments.estimators import fit_survey_did
from oca_experiments.estimators._catalog import SurveyDiDOptions

GOLDEN = Path(__file__).resolve().parents[2] / "reference" / "survey" / "coded_fit_golden.json"


def _close(new: Any, old: Any, path: str = "") -> None:
    """Equal up to floating-point rounding (1e-9 relative): the same rows and operations in the same order."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), f"{path}: keys {sorted(new)} != {sorted(old)}"
        for key in old:
            _close(new[key], old[key], f"{path}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), path
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            _close(a, b, f"{path}[{i}]")
    elif isinstance(old, float) and not isinstance(new, bool):
        assert isinstance(new, (int, float)), path
        assert (math.isnan(old) and math.isnan(new)) or math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-12), \
            f"{path}: {new} != {old}"
    else:
        assert new == old, f"{path}: {new!r} != {old!r}"


@pytest.fixture(scope="module")
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_equals_the_string_based_code(golden: dict[str, Any], name: str) -> None:
    _close(json.loads(json.dumps(run_case(name), default=str)), golden[name], name)


@pytest.mark.parametrize("name", sorted(DISAGGREGATED))
def test_subgroup_tables_equal_the_string_based_code(golden: dict[str, Any], name: str) -> None:
    tables = json.loads(json.dumps(run_subgroups(name), default=str))
    _close(tables, golden["subgroup_tables"][name], name)
    statuses = {row["status"] for table in tables for row in table["rows"]}
    assert statuses == {"estimated", "not estimable"}  # both kinds of cell are compared
    assert any(row["level"] == "(missing)" for table in tables for row in table["rows"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_coded_subgroup_frame_gives_the_plain_frames_numbers(name: str) -> None:
    """On any subset of rows (a cell), the coded frame and the plain frame fit the same numbers; the coded one
    carries categoricals only for identifiers and keeps numeric columns as they are."""
    overrides, options = CASES[name]
    data = frame()
    coded = fit_survey_did.subgroup_frame(data, spec(**overrides), SurveyDiDOptions(**options))
    assert isinstance(coded["pid"].dtype, pd.CategoricalDtype)
    assert coded["arm"].dtype == data["arm"].dtype
    rows = (data["district"] != "d3").to_numpy()
    for subset in (np.ones(len(data), dtype=bool), rows):
        _close(json.loads(json.dumps(_fit(coded.loc[subset], data.loc[subset, "y"], name), default=str)),
               json.loads(json.dumps(fitted(data.loc[subset], name), default=str)), name)


def _fit(data: pd.DataFrame, y: pd.Series, name: str) -> dict[str, Any]:
    return fitted(data.assign(y=y), name)


def test_categorical_identifiers_with_numeric_categories_read_as_their_strings() -> None:
    """A data file may bring categorical columns of numbers (e.g. waves 1/2 from Stata): they are compared as the
    strings the spec registers, as before codes were read from categoricals."""
    data = frame()
    numeric_waves = data.assign(round=data["round"].map({"pre": 1, "post": 2, "pre ": 3}).astype("category"),
                                village=data["village"].str[1:].astype(int).astype("category"))
    the_spec = spec(design={"unit": "pid", "time": "round", "pre": "1", "post": "2", "treatment": "arm",
                            "cluster": "village"})
    coded = fit_survey_did(numeric_waves, data["y"], the_spec, SurveyDiDOptions(), file="f.csv")
    plain = fit_survey_did(numeric_waves.astype({"round": str, "village": str}), data["y"], the_spec,
                           SurveyDiDOptions(), file="f.csv")
    assert coded.estimate == pytest.approx(plain.estimate, rel=1e-12)
    assert (coded.ci_low, coded.ci_high) == pytest.approx((plain.ci_low, plain.ci_high), rel=1e-12)
    assert coded.extras["inference"] == plain.extras["inference"]
