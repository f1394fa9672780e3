"""Issue 16 acceptance 4: `oca spec schema` describes every estimator's options (estimator.options used to be a
free-form object). The demo's specs validate against the schema; a misspelled option does not."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.estimators import CATALOG

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema() -> dict:
    result = CliRunner().invoke(app, ["spec", "schema"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_estimator_and_its_options_are_described(schema) -> None:
    variants = {v["title"]: v for v in schema["$defs"]["EstimatorSpec"]["oneOf"]}
    assert set(variants) == set(CATALOG)
    its = schema["$defs"]["ItsOptions"]["properties"]
    assert set(its["period"]["enum"]) == {"day", "week", "month", "quarter", "year", "integer"}
    assert "seasonal" in its and "scale" in its and "intervention" in its
    assert "event_window" in schema["$defs"]["TwfeOptions"]["properties"]


def test_demo_specs_validate_and_a_misspelled_option_does_not(schema) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "hypotheses").glob("h*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = list(validator.iter_errors(json.loads(json.dumps(document, default=str))))
        assert not errors, (path.name, errors[0].message)
    bad = yaml.safe_load((ROOT / "hypotheses" / "h5_hostile_share.yaml").read_text(encoding="utf-8"))
    bad["estimator"]["options"]["periodd"] = "month"
    assert list(validator.iter_errors(json.loads(json.dumps(bad, default=str))))
