"""Spec stage: parsing, strictness, and one-line errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_experiments.errors import SpecError
from oca_experiments.spec import HypothesisSpec, load_hypotheses, load_study_config


def test_demo_specs_parse(repo_root: Path) -> None:
    specs = load_hypotheses(repo_root)
    ids = [s.spec.id for s in specs]
    assert ids == sorted(ids)
    assert {"h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h4_engagement_per_post",
            "h5_hostile_share", "h6_horizontal_trust_by_sex"} <= set(ids)  # other issues add specs
    config = load_study_config(repo_root)
    assert set(config.sources) == {"survey", "engagement"}


def test_specs_are_frozen(repo_root: Path) -> None:
    spec = load_hypotheses(repo_root)[0].spec
    with pytest.raises(Exception):
        spec.id = "other"  # type: ignore[misc]


def _write(study: Path, name: str, text: str) -> None:
    (study / "hypotheses" / name).write_text(text, encoding="utf-8")


def test_yaml_syntax_error_names_file_and_line(study_copy: Path) -> None:
    _write(study_copy, "h1_horizontal_trust.yaml", "id: h1\ntitle: [unclosed\n")
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    text = str(err.value)
    assert "hypotheses/h1_horizontal_trust.yaml" in text and "line" in text and "\n" not in text


def test_unknown_key_is_named(study_copy: Path) -> None:
    path = study_copy / "hypotheses" / "h2_vertical_trust.yaml"
    path.write_text(path.read_text().replace("  alpha: 0.05", "  alpha: 0.05\n  alpah: 0.1"), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    assert err.value.field == "inference.alpah"
    assert "unknown key 'alpah'" in str(err.value) and "alpha" in str(err.value)


def test_duplicate_yaml_key_is_refused(study_copy: Path) -> None:
    path = study_copy / "hypotheses" / "h2_vertical_trust.yaml"
    path.write_text(path.read_text() + "direction: decrease\n", encoding="utf-8")
    with pytest.raises(SpecError, match="duplicate key 'direction'"):
        load_hypotheses(study_copy)


@pytest.mark.parametrize("text, field", [
    ("", None),
    ("- a\n- b\n", None),
])
def test_empty_or_non_mapping_spec(study_copy: Path, text: str, field: str | None) -> None:
    _write(study_copy, "h9.yaml", text)
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    assert err.value.file == "hypotheses/h9.yaml"


def test_wrong_type_names_field(study_copy: Path) -> None:
    path = study_copy / "hypotheses" / "h1_horizontal_trust.yaml"
    path.write_text(path.read_text().replace("alpha: 0.05", "alpha: lots"), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    assert err.value.field == "inference.alpha"


def test_reverse_item_must_be_an_item() -> None:
    raw = {"method": "mean", "items": ["a", "b"], "reverse": ["c"], "scale": [1, 5]}
    from oca_experiments.spec import Construction

    with pytest.raises(ValueError, match="not in 'items'"):
        Construction.model_validate(raw)


def test_one_tailed_needs_direction(repo_root: Path) -> None:
    spec = load_hypotheses(repo_root)[0].spec
    raw = spec.model_dump()
    raw["direction"] = "any"
    raw["inference"]["tails"] = "one"
    with pytest.raises(ValueError, match="one-tailed"):
        HypothesisSpec.model_validate(raw)


def test_duplicate_ids_are_refused(study_copy: Path) -> None:
    source = (study_copy / "hypotheses" / "h1_horizontal_trust.yaml").read_text()
    _write(study_copy, "h1_copy.yaml", source)
    with pytest.raises(SpecError, match="also used by"):
        load_hypotheses(study_copy)


@pytest.mark.parametrize("old, new, field, allowed", [
    ("  planned_respondents:", "  planned_respondent:", "power.planned_respondent", "planned_respondents"),
    ("{name: by_sex, column: sex,", "{name: by_sex, colum: sex,", "subgroups.0.colum", "column"),
    ("{label: baseline,", "{lable: baseline,", "design.waves.0.lable", "label"),
    ("    speeders:", "    speeder:", "data_rules.exclusions.speeder", "attention_checks"),
])
def test_unknown_keys_in_plan_sections_are_named(study_copy: Path, old: str, new: str, field: str,
                                                 allowed: str) -> None:
    path = study_copy / "hypotheses" / "h1_horizontal_trust.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    assert err.value.file == "hypotheses/h1_horizontal_trust.yaml" and err.value.field.startswith(field)
    assert allowed in str(err.value) and "\n" not in str(err.value)
