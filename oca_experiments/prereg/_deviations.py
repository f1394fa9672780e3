"""``hypotheses/deviations.yaml``: the append-only log of declared changes to locked specs.

::

    deviations:
      - spec: h1_horizontal_trust
        date: 2026-05-02
        changes:
          - {field: inference.sesoi, before: 0.1, after: 0.15}
        reason: The partner asked for a larger effect to be policy-relevant.
        outcome_data_seen: false
        expected_impact: Fewer "not supported" verdicts; the estimate itself is unchanged.

``field`` is a dotted path in the canonical spec (``oca prereg status`` prints the paths and a ready template), or a
locked file whose SHA-256 changed: an ``analysis/…`` code file or the source's contract suite (e.g.
``data_contracts/survey.json``), with its SHA-256 before and after. A spec removed after the lock is declared with ``withdrawn: true``.
``oca prereg lock`` records each new entry in the registry lock, after which editing or removing it is detected.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .._layout import DEVIATIONS_FILE
from ..spec import HYPOTHESES_DIR, parse_model, read_yaml
from ._canonical import canonical_json, canonical_value, get_path, has_path, set_path

#: Changes to code files are declared with the file's path as the field (its SHA-256 before and after).
CODE_FIELD_PREFIX = "analysis/"
#: Other locked files (contract suites) are declared the same way; these suffixes mark a field as a file path.
_FILE_SUFFIXES = (".py", ".json", ".yaml", ".yml")


def is_file_field(field: str, known: Mapping[str, Any] = {}) -> bool:  # noqa: B006 - read only
    """Whether a declared change names a locked file (by its path) rather than a field of the spec."""
    return (field in known or field.startswith(CODE_FIELD_PREFIX)
            or ("/" in field and field.endswith(_FILE_SUFFIXES)))


class _LogModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class DeclaredChange(_LogModel):
    field: str = Field(min_length=1, description="dotted path in the canonical spec, or an analysis/ file")
    before: Any = None
    after: Any = None


class Deviation(_LogModel):
    spec: str = Field(min_length=1, description="id of the locked spec")
    date: dt.date
    changes: tuple[DeclaredChange, ...] = ()
    reason: str = Field(min_length=1)
    outcome_data_seen: bool = Field(description="had anyone seen outcome data when the change was decided?")
    expected_impact: str = Field(min_length=1)
    withdrawn: bool = Field(default=False, description="the spec was removed (the hypothesis is dropped)")

    @model_validator(mode="after")
    def _says_what_changed(self) -> Deviation:
        if not self.changes and not self.withdrawn:
            raise ValueError("list the changed fields under 'changes' (or set 'withdrawn: true')")
        return self

    def canonical(self) -> dict[str, Any]:
        return canonical_value(self.model_dump(mode="json"))


class DeviationLog(_LogModel):
    deviations: tuple[Deviation, ...] = ()


def load_deviations(study_dir: Path) -> tuple[Deviation, ...]:
    """The declared deviations in file order; none when the file does not exist. Bad YAML raises a SpecError."""
    path = Path(study_dir) / DEVIATIONS_FILE
    if not path.is_file():
        return ()
    raw = read_yaml(path, display=DEVIATIONS_FILE)
    if raw is None:  # an empty log is a valid log
        return ()
    return parse_model(raw, DeviationLog, display=DEVIATIONS_FILE).deviations


@dataclass(frozen=True)
class ReplayProblem:
    """A deviation entry that does not fit the spec it amends (its 'before' is not the value at that point)."""

    spec_id: str
    field: str
    message: str


@dataclass(frozen=True)
class Replayed:
    spec: dict[str, Any]
    code: dict[str, str | None]
    problems: tuple[ReplayProblem, ...]
    withdrawn: bool


def replay(spec: Mapping[str, Any], code: Mapping[str, str | None], deviations: tuple[tuple[int, Deviation], ...],
           ) -> Replayed:
    """Apply the declared changes, in log order, to the registered spec and code hashes.

    The result is what the spec should be now if every change was declared; anything else is undeclared.
    ``deviations`` holds (1-based position in the log, entry) for one spec.
    """
    current_spec: dict[str, Any] = dict(spec)
    current_code: dict[str, str | None] = dict(code)
    problems: list[ReplayProblem] = []
    withdrawn = False
    for number, deviation in deviations:
        withdrawn = withdrawn or deviation.withdrawn
        for change in deviation.changes:
            where = f"{DEVIATIONS_FILE} entry {number}"
            if is_file_field(change.field, current_code):
                previous = current_code.get(change.field)
                if (change.before or None) != previous:
                    problems.append(ReplayProblem(deviation.spec, change.field,
                                                  f"{where} gives 'before' {change.before!r} but the registered "
                                                  f"SHA-256 at that point is {previous!r}"))
                current_code[change.field] = change.after
                continue
            parent = change.field.rpartition(".")[0]
            if not has_path(current_spec, change.field) and parent and not has_path(current_spec, parent):
                problems.append(ReplayProblem(deviation.spec, change.field,
                                              f"{where} names a field the spec does not have"))
                continue
            previous = get_path(current_spec, change.field)
            if canonical_json(change.before) != canonical_json(previous):
                problems.append(ReplayProblem(deviation.spec, change.field,
                                              f"{where} gives 'before' {canonical_json(change.before)} but the "
                                              f"registered value at that point is {canonical_json(previous)}"))
            current_spec = set_path(current_spec, change.field, canonical_value(change.after))
    return Replayed(current_spec, current_code, tuple(problems), withdrawn)

