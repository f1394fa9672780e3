"""Where each spec stands against the lock and the deviations log."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from prereg_helpers import DEVIATION_SESOI, LOCKED_AT, NEW_CONFIRMATORY_SPEC, REPO, copy_study, edit

from oca_experiments.errors import SpecError
from oca_experiments.prereg import LOCK_FILE, lock_study, registry_state
from oca_experiments.prereg._canonical import sha256_json
from oca_experiments.prereg._lock import entry_hash
from oca_experiments.spec import load_hypotheses


def test_unchanged_study(locked_study: Path) -> None:
    state = registry_state(locked_study)
    assert state.intact and state.errors() == []
    assert {s.spec_id: (s.status, s.registered_type) for s in state.specs} == {
        "h1_horizontal_trust": ("locked_unchanged", "confirmatory"),
        "h2_vertical_trust": ("locked_unchanged", "confirmatory"),
        "h6_horizontal_trust_by_sex": ("locked_unchanged", "exploratory")}


def test_no_lock_means_everything_is_unregistered(small_study: Path) -> None:
    state = registry_state(small_study)
    assert not state.lock.exists and not state.intact and state.errors() == []
    assert {s.status for s in state.specs} == {"unregistered"}


def test_change_without_then_with_a_declared_deviation(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    spec = registry_state(locked_study).spec("h2_vertical_trust")
    assert spec.status == "changed_without_deviation"
    assert [(c.field, c.before, c.after) for c in spec.undeclared] == [("inference.sesoi", 0.1, 0.15)]
    (error,) = spec.errors()
    assert (error.spec_id, error.field) == ("h2_vertical_trust", "inference.sesoi")
    assert "0.1 → 0.15" in str(error) and "deviations.yaml" in str(error) and "\n" not in str(error)

    (locked_study / "hypotheses" / "deviations.yaml").write_text(DEVIATION_SESOI, encoding="utf-8")
    spec = registry_state(locked_study).spec("h2_vertical_trust")
    assert spec.status == "changed_with_deviation" and spec.errors() == [] and spec.undeclared == ()
    assert [c.field for c in spec.changes] == ["inference.sesoi"]

    # a second, undeclared change on top of the declared one is still caught
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  alpha: 0.05", "  alpha: 0.1")
    spec = registry_state(locked_study).spec("h2_vertical_trust")
    assert spec.status == "changed_without_deviation" and [c.field for c in spec.undeclared] == ["inference.alpha"]


def test_declared_value_must_be_the_one_in_the_spec(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.2")
    (locked_study / "hypotheses" / "deviations.yaml").write_text(DEVIATION_SESOI, encoding="utf-8")  # says 0.15
    spec = registry_state(locked_study).spec("h2_vertical_trust")
    assert spec.status == "changed_without_deviation"
    assert [(c.field, c.before, c.after) for c in spec.undeclared] == [("inference.sesoi", 0.15, 0.2)]


def test_exploratory_changes_do_not_fail_the_check(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h6_horizontal_trust_by_sex.yaml", "  alpha: 0.05", "  alpha: 0.1")
    state = registry_state(locked_study)
    assert state.spec("h6_horizontal_trust_by_sex").status == "changed_without_deviation"
    assert state.errors() == []


def test_removed_and_withdrawn_specs(locked_study: Path) -> None:
    (locked_study / "hypotheses" / "h1_horizontal_trust.yaml").unlink()
    state = registry_state(locked_study)
    assert state.spec("h1_horizontal_trust").status == "removed_without_deviation"
    assert state.errors()[0].spec_id == "h1_horizontal_trust"
    (locked_study / "hypotheses" / "deviations.yaml").write_text(
        "deviations:\n  - {spec: h1_horizontal_trust, date: 2026-03-01, withdrawn: true, reason: dropped,\n"
        "     outcome_data_seen: false, expected_impact: one hypothesis fewer}\n", encoding="utf-8")
    state = registry_state(locked_study)
    assert state.spec("h1_horizontal_trust").status == "withdrawn" and state.errors() == []


def test_changed_analysis_code_is_a_change(tmp_path: Path) -> None:
    study = copy_study(tmp_path / "study", ("h4_engagement_per_post.yaml",))
    lock_study(study, now=LOCKED_AT)
    with (study / "analysis" / "engagement.py").open("a", encoding="utf-8") as handle:
        handle.write("\n# a comment is still a code change: the file's hash binds the outcome definition\n")
    spec = registry_state(study).spec("h4_engagement_per_post")
    assert spec.status == "changed_without_deviation"
    assert [c.field for c in spec.undeclared] == ["analysis/engagement.py"]


def test_changed_contract_suite_is_a_change_to_declare(locked_study: Path) -> None:
    """Issue 18 item 2: max_value 5 -> 7 in the locked suite passed 'prereg check'; it is a locked input."""
    suite = locked_study / "data_contracts" / "survey.json"
    before = hashlib.sha256(suite.read_bytes()).hexdigest()
    text = suite.read_text(encoding="utf-8")
    assert '"max_value": 5' in text
    suite.write_text(text.replace('"max_value": 5', '"max_value": 7', 1), encoding="utf-8")
    after = hashlib.sha256(suite.read_bytes()).hexdigest()
    state = registry_state(locked_study)
    spec = state.spec("h1_horizontal_trust")
    assert spec.status == "changed_without_deviation"
    assert [c.field for c in spec.undeclared] == ["data_contracts/survey.json"]
    assert any(e.field == "data_contracts/survey.json" for e in state.errors())
    (locked_study / "hypotheses" / "deviations.yaml").write_text(
        "deviations:\n" + "".join(
            f"  - {{spec: {spec_id}, date: 2026-03-01, changes: [{{field: data_contracts/survey.json, before: {before},"
            f" after: {after}}}], reason: a 7-point item, outcome_data_seen: false, expected_impact: none}}\n"
            for spec_id in ("h1_horizontal_trust", "h2_vertical_trust", "h6_horizontal_trust_by_sex")),
        encoding="utf-8")
    state = registry_state(locked_study)
    assert state.spec("h1_horizontal_trust").status == "changed_with_deviation"
    assert state.errors() == []


def test_a_newer_oca_adding_a_field_with_a_default_is_not_a_change(locked_study: Path) -> None:
    """Simulate a lock written before the field 'robustness' existed: its stored spec lacks the key."""
    path = locked_study / LOCK_FILE
    payload = json.loads(path.read_text(encoding="utf-8"))
    previous = None
    for entry in payload["entries"]:
        entry["spec"].pop("robustness", None)
        entry["spec"]["data_rules"].pop("stopping", None)
        entry["sha256"] = sha256_json(entry["spec"])
        entry["previous_entry_sha256"] = previous
        entry["entry_sha256"] = entry_hash(entry)
        previous = entry["entry_sha256"]
    payload["head"]["entry_sha256"] = previous
    path.write_text(json.dumps(payload), encoding="utf-8")
    for name in ("h1_horizontal_trust.yaml", "h2_vertical_trust.yaml"):  # specs that set neither field
        text = (locked_study / "hypotheses" / name).read_text(encoding="utf-8")
        text = text[: text.index("robustness:")] if "robustness:" in text else text
        (locked_study / "hypotheses" / name).write_text(text.replace("  stopping:", "  # stopping:"), "utf-8")
    edit(locked_study / "hypotheses" / "h6_horizontal_trust_by_sex.yaml", "  stopping:", "  # stopping:")
    state = registry_state(locked_study)
    assert state.intact
    assert {s.status for s in state.specs} == {"locked_unchanged"}, [(s.spec_id, s.changes) for s in state.specs]


def test_deviation_for_an_unlocked_spec_is_a_problem(locked_study: Path) -> None:
    (locked_study / "hypotheses" / "h8_added_after_lock.yaml").write_text(NEW_CONFIRMATORY_SPEC, encoding="utf-8")
    (locked_study / "hypotheses" / "deviations.yaml").write_text(
        DEVIATION_SESOI.replace("spec: h2_vertical_trust", "spec: h8_added_after_lock"), encoding="utf-8")
    state = registry_state(locked_study)
    assert state.spec("h8_added_after_lock").status == "unregistered"
    assert any("not in the lock" in str(e) for e in state.errors())


def test_deviations_log_errors_name_file_and_key(locked_study: Path) -> None:
    (locked_study / "hypotheses" / "deviations.yaml").write_text(
        DEVIATION_SESOI.replace("outcome_data_seen: false", "outcome_data_seen: false\n    seen_by: nobody"),
        encoding="utf-8")
    with pytest.raises(SpecError) as err:
        registry_state(locked_study)
    assert err.value.file == "hypotheses/deviations.yaml" and err.value.field == "deviations.0.seen_by"
    assert "outcome_data_seen" in str(err.value)  # the allowed keys are listed


def test_deviations_log_is_not_a_spec(locked_study: Path) -> None:
    (locked_study / "hypotheses" / "deviations.yaml").write_text("deviations: []\n", encoding="utf-8")
    assert len(load_hypotheses(locked_study)) == 3


def test_full_plan_fields_are_validated() -> None:
    from pydantic import ValidationError

    from oca_experiments.spec import HypothesisSpec

    # h1 (a spec with a family); file order puts h11 before h1
    spec = next(s.spec for s in load_hypotheses(REPO) if s.spec.id == "h1_horizontal_trust").model_dump(mode="json")
    bad_wave = {**spec, "design": {**spec["design"], "pre": "midline"}}
    with pytest.raises(ValidationError, match="not in 'waves'"):
        HypothesisSpec.model_validate(bad_wave)
    shared_family = {**spec, "subgroups": [{"name": "by_x", "column": "sex", "family": spec["inference"]["family"]}]}
    with pytest.raises(ValidationError, match="own family"):
        HypothesisSpec.model_validate(shared_family)
    window = {**spec, "design": {**spec["design"], "waves": [{"label": "baseline", "start": "2026-03-01",
                                                              "end": "2026-02-01"}, {"label": "endline"}]}}
    with pytest.raises(ValidationError, match="ends"):
        HypothesisSpec.model_validate(window)
