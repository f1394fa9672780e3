"""Where each spec stands against the registry lock and the deviations log.

Statuses (``SpecState.status``):

=============================  =====================================================================================
``locked_unchanged``           the spec, the analysis code it runs and its contract suite are what was locked
``changed_with_deviation``     it changed, and every change is declared in ``hypotheses/deviations.yaml``
``changed_without_deviation``  it changed, and at least one field's change is not declared
``unregistered``               not in the lock: added after the lock (or never locked), hence exploratory
``withdrawn``                  locked, its file is gone, and a deviation declares ``withdrawn: true``
``removed_without_deviation``  locked, its file is gone, and nothing declares it
=============================  =====================================================================================

The lock decides what was registered, not the YAML: ``registered_type`` comes from the locked spec.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .._layout import ANALYSIS_DIR
from ..errors import PreregistrationError
from ..spec import HypothesisSpec, SpecFile, StudyConfig, load_hypotheses, load_study_config
from ._canonical import (FieldChange, canonical_json, canonical_spec, canonical_value, diff_fields,
                         reread_locked_spec, sha256_json)
from ._deviations import DEVIATIONS_FILE, Deviation, ReplayProblem, load_deviations, replay
from ._lock import LOCK_FILE, Lock, LockProblem, read_lock

STATUSES = ("locked_unchanged", "changed_with_deviation", "changed_without_deviation", "unregistered", "withdrawn",
            "removed_without_deviation")
_SHOWN_CHARS = 60


def file_sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def analysis_files(study_dir: Path, spec: HypothesisSpec) -> dict[str, str | None]:
    """The analysis/ code files a spec runs, with their SHA-256 (``None`` when the file is missing): the module its
    function reference names and every analysis/ module that module imports (followed transitively)."""
    reference = spec.outcome.construction.function
    if spec.outcome.construction.method != "function" or not reference:
        return {}
    parts = reference.partition(":")[0].split(".")
    if parts and parts[0] == ANALYSIS_DIR:
        parts = parts[1:]
    if not parts:
        return {}
    found: dict[str, str | None] = {}
    pending = [f"{ANALYSIS_DIR}/{'/'.join(parts)}.py"]
    while pending:
        relative = pending.pop()
        if relative in found:
            continue
        found[relative] = file_sha256(study_dir / relative)
        if found[relative] is not None:
            pending += [m for m in _imported_analysis_modules(study_dir, relative) if m not in found]
    return dict(sorted(found.items()))


def _imported_analysis_modules(study_dir: Path, relative: str) -> list[str]:
    """analysis/ modules that ``relative`` imports (``import analysis.x``, ``from analysis.x import``, ``from . import
    x``, ``from .x import``), as paths relative to the study; only those that exist as files."""
    import ast

    try:
        tree = ast.parse((study_dir / relative).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []  # the plan refuses such a module; the hash of the file itself is already recorded
    package = Path(relative).parent.relative_to(ANALYSIS_DIR).parts
    modules: list[tuple[str, ...]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [tuple(a.name.split(".")[1:]) for a in node.names if a.name.split(".")[0] == ANALYSIS_DIR]
        elif isinstance(node, ast.ImportFrom):
            base = tuple((node.module or "").split(".")) if node.module else ()
            if node.level:
                anchor = package[: len(package) - (node.level - 1)] if node.level - 1 <= len(package) else ()
                base = anchor + base
            elif base[:1] == (ANALYSIS_DIR,):
                base = base[1:]
            else:
                continue
            modules.append(base)
            modules += [base + (a.name,) for a in node.names]  # `from . import x`: x may be a module
    paths = []
    for module in modules:
        if not module:
            continue
        path = Path(ANALYSIS_DIR, *module).with_suffix(".py")
        if (study_dir / path).is_file():
            paths.append(path.as_posix())
    return paths


def contract_files(study_dir: Path, config: StudyConfig, spec: HypothesisSpec) -> dict[str, str | None]:
    source = config.sources.get(spec.outcome.source)
    return {source.contract: file_sha256(study_dir / source.contract)} if source else {}


def locked_input_files(entry: Mapping[str, Any]) -> dict[str, str | None]:
    """Every file a lock entry pins by its SHA-256: analysis code and the contract suite of the spec's source."""
    return {**dict(entry.get("analysis") or {}), **dict(entry.get("contracts") or {})}


def current_input_files(study_dir: Path, config: StudyConfig, spec: HypothesisSpec,
                        entry: Mapping[str, Any]) -> dict[str, str | None]:
    """The same files now. A lock written before contracts were recorded (``contracts`` empty) pins none."""
    files = analysis_files(study_dir, spec)
    if entry.get("contracts"):
        files.update(contract_files(study_dir, config, spec))
    return files


def shown(value: Any) -> str:
    """A value for a one-line message: canonical JSON, shortened."""
    text = canonical_json(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


@dataclass(frozen=True)
class SpecState:
    spec_id: str
    status: str
    spec_file: str | None
    declared_type: str | None
    registered_type: str | None
    registered_spec: HypothesisSpec | None
    changes: tuple[FieldChange, ...] = ()
    undeclared: tuple[FieldChange, ...] = ()
    deviations: tuple[tuple[int, Deviation], ...] = ()
    problems: tuple[ReplayProblem, ...] = ()
    notes: tuple[str, ...] = ()
    entry: int | None = None
    locked_at: str | None = None
    sha256: str | None = None
    registered_sha256: str | None = None

    @property
    def locked(self) -> bool:
        return self.registered_spec is not None or self.entry is not None

    @property
    def changed(self) -> bool:
        return self.status in {"changed_with_deviation", "changed_without_deviation", "withdrawn",
                               "removed_without_deviation"}

    def errors(self) -> list[PreregistrationError]:
        """What fails ``oca prereg check`` for this spec: an undeclared change of a confirmatory spec, or a
        deviations-log entry that does not fit it."""
        found = [PreregistrationError(p.message, spec_id=p.spec_id, field=p.field,
                                      fix="make the entry's 'before' the registered value ('oca prereg status' "
                                          "shows it); append a new entry rather than editing a locked one")
                 for p in self.problems]
        if self.registered_type != "confirmatory":
            return found
        fix = (f"restore the registered value, or declare the change in {DEVIATIONS_FILE} "
               "('oca prereg status STUDY' prints a template)")
        if self.status == "changed_without_deviation":
            found += [PreregistrationError(f"changed since the lock ({shown(c.before)} → {shown(c.after)}) "
                                           "without a declared deviation", spec_id=self.spec_id, field=c.field,
                                           fix=fix) for c in self.undeclared]
        elif self.status == "removed_without_deviation":
            found.append(PreregistrationError(f"the locked confirmatory spec ({self.spec_file}) was removed "
                                              "without a declared deviation", spec_id=self.spec_id, field="(file)",
                                              fix=f"restore the file, or declare 'withdrawn: true' in "
                                                  f"{DEVIATIONS_FILE}"))
        return found

    def summary(self) -> dict[str, Any]:
        """A flat record for manifests, reports and ``--json`` output."""
        return {"spec": self.spec_id, "status": self.status, "registered_type": self.registered_type,
                "declared_type": self.declared_type, "entry": self.entry, "locked_at": self.locked_at,
                "changed_fields": [c.field for c in self.changes],
                "undeclared_fields": [c.field for c in self.undeclared],
                "deviations": [n for n, _ in self.deviations]}


@dataclass(frozen=True)
class RegistryState:
    study_dir: Path
    lock: Lock
    deviations: tuple[Deviation, ...]
    specs: tuple[SpecState, ...]
    log_problems: tuple[LockProblem, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        """The lock verifies and the deviations log agrees with it: the lock can decide confirmatory status."""
        return self.lock.exists and self.lock.intact and not self.log_problems

    def spec(self, spec_id: str) -> SpecState:
        for state in self.specs:
            if state.spec_id == spec_id:
                return state
        raise KeyError(spec_id)

    def errors(self) -> list[PreregistrationError]:
        """Everything that fails ``oca prereg check`` / ``oca check``'s lock check, in a stable order."""
        found = [p.as_error() for p in (*self.lock.problems, *self.log_problems)]
        for state in self.specs:
            found += state.errors()
        return found

    def require(self) -> None:
        """Raise the first failure as a one-line PreregistrationError (``oca run --strict``)."""
        errors = self.errors()
        if errors:
            first = errors[0]
            if len(errors) > 1:
                first.message += f" (and {len(errors) - 1} more; see 'oca prereg status')"
            raise first


def _deviation_log_problems(lock: Lock, deviations: Sequence[Deviation], known: set[str]) -> list[LockProblem]:
    """Append-only: every deviation recorded by a lock must still stand, unchanged, at its place in the log."""
    problems: list[LockProblem] = []
    for number, (entry, deviation) in enumerate(zip(lock.deviation_entries(), deviations, strict=False), start=1):
        if entry.get("sha256") != sha256_json(deviation.canonical()):
            problems.append(LockProblem(f"{DEVIATIONS_FILE} entry {number} differs from the one locked at entry "
                                        f"{entry.get('seq')}: the log was edited; deviations are append-only",
                                        deviation.spec, f"deviations[{number}]", entry.get("seq")))
    locked = len(lock.deviation_entries())
    if len(deviations) < locked:
        entry = lock.deviation_entries()[len(deviations)]
        problems.append(LockProblem(f"{DEVIATIONS_FILE} has {len(deviations)} entries but the lock recorded "
                                    f"{locked}: an entry was removed; deviations are append-only",
                                    entry.get("spec_id"), f"deviations[{len(deviations) + 1}]", entry.get("seq")))
    for number, deviation in enumerate(deviations, start=1):
        if deviation.spec not in known:
            problems.append(LockProblem(f"{DEVIATIONS_FILE} entry {number} names spec '{deviation.spec}', which is "
                                        "not in the lock (only locked specs can deviate)", deviation.spec, "spec"))
    return problems


def _state_of_locked(study_dir: Path, config: StudyConfig, spec_id: str, entry: Mapping[str, Any],
                     current: SpecFile | None, declared: tuple[tuple[int, Deviation], ...]) -> SpecState:
    stored = entry.get("spec") if isinstance(entry.get("spec"), Mapping) else {}
    notes: list[str] = []
    try:
        registered = reread_locked_spec(stored)
        registered_form = canonical_spec(registered)
    except ValidationError as exc:
        registered, registered_form = None, canonical_value(stored)
        notes.append(f"the locked spec no longer validates with this oca ({exc.error_count()} problem(s)); "
                     "its registered version cannot be rerun")
    registered_type = stored.get("type") if isinstance(stored.get("type"), str) else None
    locked_code = locked_input_files(entry)  # code and contract suites: a change to either is a deviation
    base = {"spec_id": spec_id, "registered_type": registered_type, "registered_spec": registered,
            "entry": entry.get("seq"), "locked_at": entry.get("locked_at"),
            "registered_sha256": entry.get("sha256"), "deviations": declared}
    replayed = replay(registered_form, locked_code, declared)
    if current is None:
        status = "withdrawn" if replayed.withdrawn else "removed_without_deviation"
        return SpecState(status=status, spec_file=entry.get("spec_file"), declared_type=None,
                         problems=replayed.problems, notes=tuple(notes), **base)
    current_form = canonical_spec(current.spec)
    current_code = current_input_files(study_dir, config, current.spec, entry)
    changes = diff_fields(registered_form, current_form)
    changes += [FieldChange(path, locked_code.get(path), current_code.get(path))
                for path in sorted(set(locked_code) | set(current_code)) if locked_code.get(path) !=
                current_code.get(path)]
    undeclared = diff_fields(replayed.spec, current_form)
    undeclared += [FieldChange(path, replayed.code.get(path), current_code.get(path))
                   for path in sorted(set(replayed.code) | set(current_code))
                   if replayed.code.get(path) != current_code.get(path)]
    if not changes:
        status = "locked_unchanged"
    else:
        status = "changed_without_deviation" if undeclared else "changed_with_deviation"
    if declared and not changes:
        notes.append("deviations are declared but the spec equals its registered version")
    return SpecState(status=status, spec_file=current.path, declared_type=current.spec.type,
                     changes=tuple(changes), undeclared=tuple(undeclared), problems=replayed.problems,
                     notes=tuple(notes), sha256=sha256_json(current_form), **base)


def registry_state(study_dir: str | Path, spec_files: Sequence[SpecFile] | None = None,
                   config: StudyConfig | None = None) -> RegistryState:
    """Compare the study's specs with its lock and deviations log. Raises only on a malformed deviations log."""
    study_dir = Path(study_dir)
    config = config if config is not None else load_study_config(study_dir)
    spec_files = tuple(spec_files) if spec_files is not None else load_hypotheses(study_dir)
    lock = read_lock(study_dir)
    deviations = load_deviations(study_dir)
    registered = lock.spec_entries()
    if lock.exists:
        log_problems = _deviation_log_problems(lock, deviations, set(registered))
    elif deviations:
        log_problems = [LockProblem(f"{DEVIATIONS_FILE} declares deviations but there is no {LOCK_FILE}",
                                    field="deviations")]
    else:
        log_problems = []
    by_spec: dict[str, list[tuple[int, Deviation]]] = {}
    for number, deviation in enumerate(deviations, start=1):
        by_spec.setdefault(deviation.spec, []).append((number, deviation))
    current = {sf.spec.id: sf for sf in spec_files}
    states: list[SpecState] = []
    for sf in spec_files:
        spec_id = sf.spec.id
        if spec_id in registered:
            states.append(_state_of_locked(study_dir, config, spec_id, registered[spec_id], sf,
                                           tuple(by_spec.get(spec_id, ()))))
        else:
            notes = ()
            if sf.spec.status in {"registered", "amended"}:
                notes = (f"the spec says status '{sf.spec.status}' but it is not in the lock; the lock decides: "
                         "exploratory until locked",)
            states.append(SpecState(spec_id=spec_id, status="unregistered", spec_file=sf.path,
                                    declared_type=sf.spec.type, registered_type=None, registered_spec=None,
                                    notes=notes, sha256=sha256_json(canonical_spec(sf.spec))))
    for spec_id, entry in registered.items():  # locked specs whose file is gone, in lock order
        if spec_id not in current:
            states.append(_state_of_locked(study_dir, config, spec_id, entry, None,
                                           tuple(by_spec.get(spec_id, ()))))
    notes = []
    if lock.exists and len(deviations) > len(lock.deviation_entries()):
        notes.append(f"{len(deviations) - len(lock.deviation_entries())} deviation(s) declared but not yet locked: "
                     "run 'oca prereg lock' to timestamp them")
    return RegistryState(study_dir=study_dir, lock=lock, deviations=deviations, specs=tuple(states),
                         log_problems=tuple(log_problems), notes=tuple(notes))
