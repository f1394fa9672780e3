"""The confirmatory/exploratory firewall: the lock, not the YAML, decides what is confirmatory.

- A result is confirmatory only when the lock verifies, the lock registered its spec as confirmatory, and the result
  comes from the *registered* version of that spec.
- Unregistered specs (added after the lock, or never locked) are exploratory.
- A locked spec that changed (declared or not) is estimated twice: the registered version, rebuilt from the canonical
  spec stored in the lock (id ``<id>``, ``variant: registered``), and the current one (id ``<id>__amended``,
  ``variant: amended``, always exploratory). A locked spec whose file was removed is still estimated from the lock.
- Multiple-testing families are formed from confirmatory results only (``confirmatory_families``).

Every result carries ``type`` (the effective type), ``declared_type`` (the YAML), ``registered_type`` (the lock),
``confirmatory``, ``lock_status`` and ``variant``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..plan import Plan, Task, make_plan
from ..results import HypothesisResult, multiple_testing_families
from ..spec import SpecFile, StudyConfig
from ._lock import LOCK_FILE
from ._status import RegistryState, SpecState, registry_state

AMENDED_SUFFIX = "__amended"


def _labelled(result: HypothesisResult, state: SpecState | None, registry: RegistryState, *, variant: str,
              confirmatory: bool, result_id: str | None = None) -> HypothesisResult:
    lock_status = state.status if state is not None else "unregistered"
    if registry.lock.exists and not registry.intact:
        lock_status = "lock_invalid"
    changes = tuple(c.to_dict() for c in state.changes) if state is not None and variant != "unregistered" else ()
    return dataclasses.replace(
        result, id=result_id or result.id, spec_id=state.spec_id if state is not None else result.id,
        declared_type=result.type, registered_type=state.registered_type if state is not None else None,
        type="confirmatory" if confirmatory else "exploratory", confirmatory=confirmatory,
        lock_status=lock_status, variant=variant, changes=changes)


def _unplannable(state: SpecState, reason: str) -> HypothesisResult:
    spec = state.registered_spec
    return HypothesisResult(
        id=state.spec_id, title=spec.title if spec else state.spec_id, type=state.registered_type or "exploratory",
        direction=spec.direction if spec else "any", estimator=spec.estimator.name if spec else "",
        outcome=spec.outcome.name if spec else "", source=spec.outcome.source if spec else "",
        spec_file=state.spec_file or LOCK_FILE, status="not_testable", verdict=None, reason=reason)


def _registered_result(state: SpecState, study_dir: Path, config: StudyConfig,
                       run_task: Callable[[Task], HypothesisResult]) -> HypothesisResult:
    if state.registered_spec is None:
        return _unplannable(state, "the registered spec in the lock no longer validates with this version of oca: "
                                   + "; ".join(state.notes))
    spec_file = SpecFile(path=f"{LOCK_FILE} ({state.spec_id}, registered)", spec=state.registered_spec)
    try:
        task = make_plan(study_dir, config, (spec_file,)).tasks[0]
    except SpecError as exc:
        return _unplannable(state, f"the registered version cannot be planned any more: {exc}")
    return run_task(task)


def apply_firewall(study_dir: Path, config: StudyConfig, spec_files: Sequence[SpecFile], plan: Plan,
                   results: Sequence[HypothesisResult],
                   run_task: Callable[[Task], HypothesisResult]) -> tuple[HypothesisResult, ...]:
    """Label every result and add the registered versions of changed or removed locked specs.

    ``results`` are the current specs' results (one per spec); ``run_task`` estimates one more task on the same
    data (it must not assume the task's columns were preflighted).
    """
    registry = registry_state(study_dir, spec_files, config)
    current = {r.id: r for r in results}
    if not registry.intact:  # no lock, or one that does not verify: nothing can be confirmatory
        states = {s.spec_id: s for s in registry.specs} if registry.lock.exists else {}
        return tuple(_labelled(r, states.get(r.id), registry, variant="unregistered", confirmatory=False)
                     for r in results)
    labelled: list[HypothesisResult] = []
    for state in registry.specs:
        now = current.get(state.spec_id)
        registered_confirmatory = state.registered_type == "confirmatory"
        if state.status == "unregistered":
            labelled.append(_labelled(now, state, registry, variant="unregistered", confirmatory=False))
        elif state.status == "locked_unchanged":
            labelled.append(_labelled(now, state, registry, variant="registered",
                                      confirmatory=registered_confirmatory))
        else:
            registered = _registered_result(state, study_dir, config, run_task)
            labelled.append(_labelled(registered, state, registry, variant="registered",
                                      confirmatory=registered_confirmatory))
            if now is not None:
                labelled.append(_labelled(now, state, registry, variant="amended", confirmatory=False,
                                          result_id=f"{state.spec_id}{AMENDED_SUFFIX}"))
    return tuple(labelled)


def confirmatory_families(hypotheses: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """Multiple-testing families of the confirmatory results only: family → result ids, in run order.

    Exploratory results (unregistered, amended, or registered as exploratory) never appear here. A confirmatory
    result without a family is a family of one, keyed by its id. See ``results.multiple_testing_families``.
    """
    return {family: tuple(ids) for family, ids in multiple_testing_families(hypotheses)["confirmatory"].items()}


def exploratory_families(hypotheses: Iterable[Any]) -> dict[str, tuple[str, ...]]:
    """The same for exploratory results: adjusted among themselves, if at all, never with confirmatory ones."""
    return {family: tuple(ids) for family, ids in multiple_testing_families(hypotheses)["exploratory"].items()}
