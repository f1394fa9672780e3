"""Spec stage: parsing, strictness, and one-line errors that name file and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from oca_experiments.errors import SpecError
from oca_experiments.spec import HypothesisSpec, load_hypotheses, load_study_config


def test_demo_specs_parse(repo_root: Path) -> None:
    specs = load_hypotheses(repo_root)
    ids = [s.spec.id for s in specs]
    # natural order: numbers by value (h8 before h11)
    assert ids == sorted(ids, key=lambda i: [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", i) if p])
    assert {"h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h4_engagement_per_post",
            "h5_hostile_share", "h6_horizontal_trust_by_sex"} <= set(ids)  # other issues add specs
    config = load_study_config(repo_root)
    assert set(config.sources) == {"survey", "engagement", "community"}


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


# ---- issue 18 items 4 and 9: non-finite numbers refused when the spec loads; every error carries a fitting fix

def _replace_in(study: Path, name: str, old: str, new: str) -> None:
    path = study / "hypotheses" / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "field", "seen"), [
    ("sesoi: 0.1 ", "sesoi: .inf ", "inference.sesoi", "+infinity"),
    ("sesoi: 0.1 ", "sesoi: 1e400 ", "inference.sesoi", "finite"),  # YAML reads 1e400 as text; pydantic: inf
    ("alpha: 0.05", "alpha: .nan", "inference.alpha", "NaN"),
    ("reliability_threshold: 0.7", "reliability_threshold: -.inf", "outcome.construction.reliability_threshold",
     "-infinity"),
    ("panel: true", "panel: true\n    ridge: .inf", "estimator.options.ridge", "+infinity"),
    ("scale: [1, 5]", "scale: [1, .inf]", "outcome.construction.scale.1", "+infinity"),
])
def test_non_finite_numbers_are_refused_with_the_field_named(study_copy: Path, old: str, new: str, field: str,
                                                             seen: str) -> None:
    _replace_in(study_copy, "h2_vertical_trust.yaml", old, new)
    with pytest.raises(SpecError) as err:
        load_hypotheses(study_copy)
    assert err.value.file == "hypotheses/h2_vertical_trust.yaml" and err.value.field == field
    assert seen in str(err.value) and "finite" in str(err.value) and "Fix:" in str(err.value)
    assert "less than" not in str(err.value)  # alpha: .nan said "should be less than 0.5"


def test_non_finite_numbers_are_refused_by_the_models_too() -> None:
    from oca_experiments.spec._models import Inference

    with pytest.raises(Exception, match="finite"):
        Inference(sesoi=float("inf"))


@pytest.mark.parametrize(("old", "new", "fix"), [
    ("alpha: 0.05", "alpha: lots", "write 'alpha' as a number"),
    ("alpha: 0.05", "alpha: 0.7", "give 'alpha' a value below 0.5"),
    ("sesoi: 0.1 ", "sesoi: -1 ", "give 'sesoi' a value at least 0"),
    ("min_items: 3", "min_items: 2.5", "write 'min_items' as a whole number"),
    ("min_items: 3", "min_items: 0", "give 'min_items' a value at least 1"),
    ("tails: two", "tails: both", "use one of: 'one' or 'two'"),
    ("unit: respondent_id", "unit: [respondent_id]", "write 'unit' as a single text value"),
    ("name: vertical_trust_index", "name: Vertical Trust", "use lower-case letters"),
    ("registration_date: 2026-01-20", "registration_date: 20 January", "write 'registration_date' as a date"),
    ("adjustment: holm", "adjustment: bonferroni", "use one of: 'holm', 'bh' or 'romano_wolf'"),
    ("    panel: true", "    panel: maybe", "panel"),
    ("items: [v_trust_lsg, v_trust_police, v_trust_courts, v_trust_parliament]", "items: []",
     "change 'construction' as the message says"),
])
def test_every_type_and_range_error_carries_a_fitting_fix(study_copy: Path, old: str, new: str, fix: str) -> None:
    from oca_experiments.plan import make_plan

    _replace_in(study_copy, "h2_vertical_trust.yaml", old, new)
    with pytest.raises(SpecError) as err:
        make_plan(study_copy, load_study_config(study_copy), load_hypotheses(study_copy))
    text = str(err.value)
    assert "Fix:" in text and fix in text.partition("Fix:")[2], text


def test_a_spec_without_a_seed_gets_one_derived_from_its_id_and_says_so(study_copy: Path) -> None:
    """Issue 18 item 9: a study without a registered seed silently used the demo's bootstrap seed."""
    from oca_experiments._cli_common import derived_seed_notes
    from oca_experiments.runner import load_study
    from oca_experiments.spec._models import derived_seed

    path = study_copy / "hypotheses" / "h3_knowledge_gain.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(line for line in text.splitlines() if "bootstrap: {seed:" not in line) + "\n")
    study = load_study(study_copy)
    by_id = {sf.spec.id: sf.spec for sf in study.specs}
    bootstrap = by_id["h3_knowledge_gain"].inference.bootstrap
    assert bootstrap.seed_source == "derived" and bootstrap.seed == derived_seed("h3_knowledge_gain") != 20260307
    assert derived_seed("h3_knowledge_gain") != derived_seed("h6_horizontal_trust_by_sex")
    assert by_id["h1_horizontal_trust"].inference.bootstrap.seed_source == "registered"
    # h8 (synthetic DiD, placebo over every control) registers no seed either: only h3's note is checked here
    (note,) = [n for n in derived_seed_notes(study) if n.startswith("note: h3_knowledge_gain:")]
    assert note.startswith(f"note: h3_knowledge_gain: no bootstrap seed registered; using {bootstrap.seed}")
    # the manifest records it (its seeds section is collected from the specs)
    from oca_experiments.report._manifest import _find_seeds, _spec_contents

    seeds = _find_seeds(_spec_contents(study), "specs")
    assert seeds["specs.h3_knowledge_gain.inference.bootstrap.seed"] == bootstrap.seed
    assert seeds["specs.h3_knowledge_gain.inference.bootstrap.seed_source"] == "derived"


def test_specs_load_in_natural_order(tmp_path: Path, repo_root: Path) -> None:
    """h10 and h11 come after h9, not between h1 and h2 (the report and results list specs in this order)."""
    import shutil

    study = tmp_path / "study"
    (study / "hypotheses").mkdir(parents=True)
    source = (repo_root / "hypotheses" / "h1_horizontal_trust.yaml").read_text(encoding="utf-8")
    for name in ("h2_b", "h10_c", "h1_a", "h9_d", "h1b_e"):
        _write(study, f"{name}.yaml", source.replace("id: h1_horizontal_trust", f"id: {name}"))
    shutil.copy(repo_root / "study.yaml", study / "study.yaml")
    assert [s.spec.id for s in load_hypotheses(study)] == ["h1_a", "h1b_e", "h2_b", "h9_d", "h10_c"]
