"""The registry lock: append-only locking, and tamper evidence (acceptance 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prereg_helpers import DEVIATION_SESOI, LOCKED_AT, NEW_CONFIRMATORY_SPEC, edit

from oca_experiments.errors import PreregistrationError
from oca_experiments.prereg import LOCK_FILE, lock_study, read_lock, registry_state


def _lock(study: Path) -> dict[str, Any]:
    return json.loads((study / LOCK_FILE).read_text(encoding="utf-8"))


def _write_lock(study: Path, payload: dict[str, Any]) -> None:
    (study / LOCK_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")


def test_lock_records_each_spec_with_its_provenance(locked_study: Path) -> None:
    payload = _lock(locked_study)
    entries = payload["entries"]
    assert [e["spec_id"] for e in entries] == ["h1_horizontal_trust", "h2_vertical_trust",
                                               "h6_horizontal_trust_by_sex"]
    first = entries[0]
    assert first["spec"]["id"] == "h1_horizontal_trust" and first["spec"]["inference"]["alpha"] == 0.05
    assert first["spec"]["inference"]["ci_level"] == 0.95  # defaults are filled in
    assert first["contracts"] == {"data_contracts/survey.json": first["contracts"]["data_contracts/survey.json"]}
    assert len(first["contracts"]["data_contracts/survey.json"]) == 64
    assert first["locked_at"] == LOCKED_AT and first["oca_version"]
    assert first["git_commit"] is None  # a tmp copy is not a git checkout
    assert payload["head"] == {"entries": 3, "entry_sha256": entries[-1]["entry_sha256"]}
    assert read_lock(locked_study).intact


def test_relocking_is_a_no_op_and_new_specs_are_appended(locked_study: Path) -> None:
    before = (locked_study / LOCK_FILE).read_bytes()
    result = lock_study(locked_study, now="2026-02-01T00:00:00Z")
    assert not result.written and (locked_study / LOCK_FILE).read_bytes() == before

    (locked_study / "hypotheses" / "h8_added_after_lock.yaml").write_text(NEW_CONFIRMATORY_SPEC, encoding="utf-8")
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    result = lock_study(locked_study, now="2026-03-01T00:00:00Z")
    assert result.added == ("h8_added_after_lock",) and result.changed == ("h2_vertical_trust",)
    after = _lock(locked_study)["entries"]
    assert json.dumps(after[:3]) == json.dumps(json.loads(before)["entries"])  # earlier entries untouched
    assert after[3]["spec_id"] == "h8_added_after_lock" and after[3]["locked_at"] == "2026-03-01T00:00:00Z"
    # the changed spec keeps its first entry as the registered version
    assert registry_state(locked_study).spec("h2_vertical_trust").status == "changed_without_deviation"


def test_locking_records_deviations_and_they_become_append_only(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    log = locked_study / "hypotheses" / "deviations.yaml"
    log.write_text(DEVIATION_SESOI, encoding="utf-8")
    result = lock_study(locked_study, now="2026-03-02T00:00:00Z")
    assert result.deviations_added == 1 and _lock(locked_study)["entries"][-1]["kind"] == "deviation"
    assert registry_state(locked_study).errors() == []
    edit(log, "irrelevant for policy", "irrelevant")  # rewriting history after the lock
    errors = registry_state(locked_study).errors()
    assert errors and "append-only" in str(errors[0]) and errors[0].spec_id == "h2_vertical_trust"


def test_a_deviation_that_does_not_fit_is_refused(locked_study: Path) -> None:
    edit(locked_study / "hypotheses" / "h2_vertical_trust.yaml", "  sesoi: 0.1", "  sesoi: 0.15")
    (locked_study / "hypotheses" / "deviations.yaml").write_text(DEVIATION_SESOI.replace("before: 0.1", "before: 0.2"),
                                                                 encoding="utf-8")
    with pytest.raises(PreregistrationError) as err:
        lock_study(locked_study)
    assert err.value.spec_id == "h2_vertical_trust" and err.value.field == "inference.sesoi"
    assert "\n" not in str(err.value)


# --- tampering (acceptance 4) -------------------------------------------------------------------------------------

def test_edited_hash_is_detected(locked_study: Path) -> None:
    payload = _lock(locked_study)
    payload["entries"][1]["sha256"] = "0" * 64
    _write_lock(locked_study, payload)
    lock = read_lock(locked_study)
    assert not lock.intact
    fields = {(p.spec_id, p.field) for p in lock.problems}
    assert ("h2_vertical_trust", "sha256") in fields and ("h2_vertical_trust", "entry_sha256") in fields
    errors = registry_state(locked_study).errors()
    assert errors and "h2_vertical_trust" in str(errors[0]) and "sha256" in str(errors[0])


@pytest.mark.parametrize("position", [0, 1, 2])
def test_removed_entry_is_detected(locked_study: Path, position: int) -> None:
    payload = _lock(locked_study)
    del payload["entries"][position]
    _write_lock(locked_study, payload)
    lock = read_lock(locked_study)
    assert not lock.intact, position
    message = " ".join(str(p.as_error()) for p in lock.problems)
    assert "removed" in message


def test_removed_last_entry_with_edited_head_still_shows_as_unregistered(locked_study: Path) -> None:
    """The one edit the file alone cannot reveal: its spec then counts as unregistered, i.e. exploratory."""
    payload = _lock(locked_study)
    payload["entries"].pop()
    payload["head"] = {"entries": 2, "entry_sha256": payload["entries"][-1]["entry_sha256"]}
    _write_lock(locked_study, payload)
    state = registry_state(locked_study)
    assert state.intact and state.spec("h6_horizontal_trust_by_sex").status == "unregistered"


def test_edited_spec_inside_the_lock_is_detected(locked_study: Path) -> None:
    payload = _lock(locked_study)
    payload["entries"][0]["spec"]["inference"]["alpha"] = 0.1
    _write_lock(locked_study, payload)
    assert {p.field for p in read_lock(locked_study).problems} >= {"sha256", "entry_sha256"}


def test_unreadable_lock_is_a_problem_not_a_crash(locked_study: Path) -> None:
    (locked_study / LOCK_FILE).write_text("{ not json", encoding="utf-8")
    state = registry_state(locked_study)
    assert not state.intact and "JSON" in str(state.errors()[0])
    with pytest.raises(PreregistrationError, match="restore the file"):
        lock_study(locked_study)  # never extends a broken lock


_ENTRY_FIELDS = ("seq", "kind", "spec_id", "spec_file", "sha256", "spec", "contracts", "analysis", "locked_at",
                 "git_commit", "oca_version", "previous_entry_sha256", "entry_sha256")


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operation=st.sampled_from(["remove", "edit", "swap", "duplicate"]), position=st.integers(0, 2),
       other=st.integers(0, 2), field=st.sampled_from(_ENTRY_FIELDS), value=st.sampled_from(["x", 0, None, [], {}]))
def test_any_single_tampering_is_detected(locked_study: Path, operation: str, position: int, other: int, field: str,
                                          value: Any) -> None:
    original = (locked_study / LOCK_FILE).read_text(encoding="utf-8")
    payload = json.loads(original)
    entries = payload["entries"]
    if operation == "remove":
        del entries[position]
    elif operation == "edit":
        if entries[position].get(field) == value:
            return
        entries[position][field] = value
    elif operation == "swap":
        if position == other:
            return
        entries[position], entries[other] = entries[other], entries[position]
    else:
        entries.insert(position, dict(entries[other]))
    try:
        _write_lock(locked_study, payload)
        assert not read_lock(locked_study).intact, (operation, position, field, value)
    finally:
        (locked_study / LOCK_FILE).write_text(original, encoding="utf-8")
