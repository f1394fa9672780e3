"""The confirmatory/exploratory firewall, on stand-in results (no data needed; test_prereg_cli runs real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prereg_helpers import DEVIATION_SESOI, NEW_CONFIRMATORY_SPEC, edit

from oca_experiments.errors import PreregistrationError
from oca_experiments.plan import Task
from oca_experiments.prereg import LOCK_FILE, apply_firewall, confirmatory_families, registry_state
from oca_experiments.results import HypothesisResult, multiple_testing_families
from oca_experiments.runner import load_study


def _stand_in(task: Task) -> HypothesisResult:
    """What the runner would return, with the spec's SESOI as the 'estimate' so variants can be told apart."""
    spec = task.spec
    return HypothesisResult(id=spec.id, title=spec.title, type=spec.type, direction=spec.direction,
                            estimator=spec.estimator.name, outcome=spec.outcome.name, source=spec.outcome.source,
                            spec_file=task.spec_file, status="not_yet_estimable", verdict=None,
                            reason=f"sesoi {spec.inference.sesoi}", sesoi=spec.inference.sesoi,
                            family=spec.inference.family)


def _firewall(study_dir: Path) -> tuple[HypothesisResult, ...]:
    study = load_study(study_dir)
    results = [_stand_in(task) for task in study.plan.tasks]
    return apply_firewall(study.path, study.config, study.specs, study.plan, results, run_task=_stand_in)


def test_locked_types_decide(locked_study: Path) -> None:
    by_id = {r.id: r for r in _firewall(locked_study)}
    assert by_id["h1_horizontal_trust"].confirmatory and by_id["h1_horizontal_trust"].type == "confirmatory"
    assert by_id["h6_horizontal_trust_by_sex"].type == "exploratory"
    assert {r.variant for r in by_id.values()} == {"registered"}


def test_without_a_lock_nothing_is_confirmatory(small_study: Path) -> None:
    results = _firewall(small_study)
    assert all(r.type == "exploratory" and r.confirmatory is False for r in results)
    assert [r.declared_type for r in results] == ["confirmatory", "confirmatory", "exploratory"]
    assert confirmatory_families(results) == {}


def test_spec_added_after_the_lock_is_exploratory_and_outside_the_family(locked_study: Path) -> None:
    """Acceptance 3 (the run with real data is in tests/integration/test_prereg_cli.py)."""
    (locked_study / "hypotheses" / "h8_added_after_lock.yaml").write_text(NEW_CONFIRMATORY_SPEC, encoding="utf-8")
    results = _firewall(locked_study)
    added = next(r for r in results if r.id == "h8_added_after_lock")
    assert (added.declared_type, added.type, added.confirmatory, added.lock_status) == (
        "confirmatory", "exploratory", False, "unregistered")
    assert added.family == "trust"  # the YAML puts it in the confirmatory family 'trust' ...
    assert confirmatory_families(results) == {"trust": ("h1_horizontal_trust", "h2_vertical_trust")}  # ... it is not
    assert multiple_testing_families(results)["exploratory"]["trust"] == ["h8_added_after_lock"]


def test_changed_spec_runs_registered_and_amended_versions(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    (locked_study / "hypotheses" / "deviations.yaml").write_text(DEVIATION_SESOI, encoding="utf-8")
    results = _firewall(locked_study)
    assert [r.id for r in results] == ["h1_horizontal_trust", "h2_vertical_trust", "h2_vertical_trust__amended",
                                       "h6_horizontal_trust_by_sex"]
    registered, amended = results[1], results[2]
    assert (registered.variant, registered.sesoi, registered.confirmatory) == ("registered", 0.1, True)
    assert (amended.variant, amended.sesoi, amended.confirmatory, amended.type) == ("amended", 0.15, False,
                                                                                     "exploratory")
    assert registered.spec_id == amended.spec_id == "h2_vertical_trust"
    assert registered.lock_status == amended.lock_status == "changed_with_deviation"
    assert [dict(c) for c in amended.changes] == [{"field": "inference.sesoi", "before": 0.1, "after": 0.15}]
    assert confirmatory_families(results) == {"trust": ("h1_horizontal_trust", "h2_vertical_trust")}


def test_removed_locked_spec_still_runs_from_the_lock(locked_study: Path) -> None:
    (locked_study / "hypotheses" / "h2_vertical_trust.yaml").unlink()
    results = _firewall(locked_study)
    removed = next(r for r in results if r.id == "h2_vertical_trust")
    assert removed.variant == "registered" and removed.lock_status == "removed_without_deviation"
    assert removed.spec_file.startswith(LOCK_FILE)


def test_tampered_lock_makes_everything_exploratory(locked_study: Path) -> None:
    payload = json.loads((locked_study / LOCK_FILE).read_text(encoding="utf-8"))
    payload["entries"][0]["sha256"] = "f" * 64
    (locked_study / LOCK_FILE).write_text(json.dumps(payload), encoding="utf-8")
    results = _firewall(locked_study)
    assert all(r.type == "exploratory" and r.lock_status == "lock_invalid" for r in results)


def test_strict_requirement_names_spec_and_field(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h1_horizontal_trust.yaml", "  alpha: 0.05", "  alpha: 0.1")
    with pytest.raises(PreregistrationError) as err:
        registry_state(locked_study).require()
    assert (err.value.spec_id, err.value.field) == ("h1_horizontal_trust", "inference.alpha")
    assert str(err.value).startswith("h1_horizontal_trust: inference.alpha: changed since the lock")


def test_equivalence_reading() -> None:
    from oca_experiments.summarize import equivalence_reading

    assert equivalence_reading(estimate=0.0, std_error=0.01, df=None, alpha=0.05, sesoi=0.1).verdict == \
        "practically equivalent"
    assert equivalence_reading(estimate=0.5, std_error=0.01, df=None, alpha=0.05, sesoi=0.1).verdict == \
        "practically relevant"
    assert equivalence_reading(estimate=0.1, std_error=0.05, df=20, alpha=0.05, sesoi=0.1).verdict == "undecided"
    assert equivalence_reading(estimate=0.1, std_error=0.05, df=20, alpha=0.05, sesoi=None) is None
