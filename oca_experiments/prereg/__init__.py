"""Preregistration that holds: canonical spec hashes, an append-only hash-chained lock, declared deviations, the
confirmatory/exploratory firewall and registry export.

Stage: after ``plan`` (it plans registered specs) and before ``summarize``; the runner applies the firewall.

- ``lock_study``: ``oca prereg lock`` — append not-yet-locked specs and deviations to
  ``hypotheses/registry.lock.json``.
- ``registry_state``: where each spec stands (``oca prereg status``); ``RegistryState.errors()`` is what fails
  ``oca prereg check``, ``oca check`` (lock check, exit 10) and ``oca run --strict`` (exit 2).
- ``apply_firewall``: labels results (effective ``type``, ``confirmatory``, ``lock_status``, ``variant``) and runs
  the registered version of changed specs; ``confirmatory_families`` feeds multiple testing.
- ``export_plan``: AEA / OSF registry text (``oca prereg export``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._canonical import FieldChange, canonical_json, canonical_spec, diff_fields, spec_sha256
from ._deviations import DEVIATIONS_FILE, Deviation, DeviationLog, load_deviations
from ._export import FORMATS, export_plan
from ._firewall import AMENDED_SUFFIX, apply_firewall, confirmatory_families, exploratory_families
from ._lock import LOCK_FILE, Lock, LockProblem, read_lock
from ._justification import power_justification
from ._register import LockResult, lock_study
from ._status import STATUSES, RegistryState, SpecState, registry_state

__all__ = [
    "AMENDED_SUFFIX",
    "DEVIATIONS_FILE",
    "FORMATS",
    "LOCK_FILE",
    "STATUSES",
    "Deviation",
    "DeviationLog",
    "FieldChange",
    "Lock",
    "LockProblem",
    "LockResult",
    "RegistryState",
    "SpecState",
    "apply_firewall",
    "canonical_json",
    "canonical_spec",
    "confirmatory_families",
    "diff_fields",
    "exploratory_families",
    "export_plan",
    "gate_lock_outcomes",
    "load_deviations",
    "lock_study",
    "manifest_state",
    "power_justification",
    "read_lock",
    "registry_state",
    "spec_sha256",
]


def gate_lock_outcomes(study_dir: str | Path) -> Iterator[tuple[str, bool, str]]:
    """``oca check``'s lock check (report/_gate.py): (hypothesis or "registry", passed, message) per spec."""
    state = registry_state(study_dir)
    for problem in (*state.lock.problems, *state.log_problems):
        error = problem.as_error()
        yield problem.spec_id or "registry", False, f"{error.field + ': ' if error.field else ''}{error.message}"
    if not state.lock.exists:
        for spec in state.specs:
            yield spec.spec_id, True, "no registry lock: exploratory (run 'oca prereg lock' before data are seen)"
        return
    for spec in state.specs:
        errors = spec.errors()
        if errors:
            for error in errors:
                yield spec.spec_id, False, f"{error.field}: {error.message}. Fix: {error.fix}"
            continue
        detail = {"locked_unchanged": f"locked at entry {spec.entry}, unchanged",
                  "changed_with_deviation": "changed with declared deviation(s): "
                                            + ", ".join(c.field for c in spec.changes),
                  "unregistered": "not in the lock: exploratory",
                  "withdrawn": "withdrawn with a declared deviation"}.get(spec.status, spec.status.replace("_", " "))
        yield spec.spec_id, True, detail


def manifest_state(study_dir: str | Path) -> dict[str, Any]:
    """Lock and deviations for manifest.json and the report (report/_manifest.py). No clock is read here: the
    times shown are the lock's own."""
    state = registry_state(study_dir)
    lock: dict[str, Any] | None = None
    if state.lock.exists:
        lock = {"file": LOCK_FILE, "intact": state.lock.intact and not state.log_problems,
                "entries": len(state.lock.entries), "head": state.lock.head,
                "problems": "; ".join(str(p.as_error()) for p in (*state.lock.problems, *state.log_problems))
                or None,
                "specs": [{k: ", ".join(map(str, v)) if isinstance(v, list) else v for k, v in s.summary().items()}
                          for s in state.specs]}  # lists joined: the report shows them as table cells
    deviations = [{"entry": number, "spec": d.spec, "date": d.date.isoformat(),
                   "fields": ", ".join(c.field for c in d.changes) or ("withdrawn" if d.withdrawn else ""),
                   "outcome_data_seen": d.outcome_data_seen, "reason": d.reason,
                   "expected_impact": d.expected_impact}
                  for number, d in enumerate(state.deviations, start=1)]
    return {"lock": lock, "deviations": deviations}
