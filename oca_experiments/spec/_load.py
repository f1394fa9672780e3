"""Read ``study.yaml`` and ``hypotheses/*.yaml`` into frozen models, with errors that name file and field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .._layout import HYPOTHESES_DIR, STUDY_FILE
from ..errors import SpecError
from ._models import HypothesisSpec, StudyConfig

#: Files in hypotheses/ that are not specs: the deviations log (oca_experiments/prereg) is YAML too.
NOT_SPECS = frozenset({"deviations.yaml", "deviations.yml"})

_Model = TypeVar("_Model", bound=BaseModel)


# libyaml's parser when PyYAML was built with it (10x faster on specs; the constructors below stay Python).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that refuses duplicate keys: PyYAML would silently keep the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, *, display: str) -> Any:
    """Parse one YAML file; syntax errors become a one-line SpecError with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", file=display, fix="check the path") from None
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", file=display, fix="save the spec as UTF-8") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(f"{where}YAML syntax error: {problem}", file=display,
                        fix="correct the YAML at that position") from None


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def validation_to_spec_error(exc: ValidationError, *, display: str, model: type[BaseModel]) -> SpecError:
    """Turn pydantic's multi-line report into one line naming the first bad field (and how many more)."""
    errors = exc.errors(include_url=False, include_input=False)
    # An unknown key is usually a typo of a key the model then reports as missing: name the typo first.
    errors.sort(key=lambda error: error.get("type") != "extra_forbidden")
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    kind = first.get("type", "")
    field = _field_path(loc)
    if kind == "extra_forbidden":
        message = f"unknown key '{loc[-1] if loc else field}'"
        fix = f"remove or rename it; allowed keys here: {', '.join(_allowed_keys(model, loc[:-1]))}"
    elif kind == "missing":
        message = "required field is missing"
        fix = f"add '{loc[-1]}'"
    else:
        message = str(first.get("msg", "invalid value"))
        fix = _fix_for(kind, first.get("ctx") or {}, field)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} in this file)"
    return SpecError(message, file=display, field=field, fix=fix)


_WRITE_AS = {
    "float_parsing": "a number, e.g. 0.05", "float_type": "a number, e.g. 0.05",
    "int_parsing": "a whole number, e.g. 3", "int_type": "a whole number, e.g. 3",
    "int_from_float": "a whole number, e.g. 3", "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "a single text value (quote it if it looks like a number or a list)",
    "list_type": "a list, e.g. [a, b]", "tuple_type": "a list, e.g. [a, b]", "set_type": "a list, e.g. [a, b]",
    "dict_type": "a mapping of keys to values", "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "date_parsing": "a date as YYYY-MM-DD", "date_type": "a date as YYYY-MM-DD",
    "date_from_datetime_parsing": "a date as YYYY-MM-DD", "date_from_datetime_inexact": "a date as YYYY-MM-DD",
    "finite_number": "a finite number (not .nan or .inf)",
}
_BOUND = {"less_than": "below {lt}", "less_than_equal": "at most {le}", "greater_than": "above {gt}",
          "greater_than_equal": "at least {ge}"}


def _fix_for(kind: str, ctx: Mapping[str, Any], field: str) -> str:
    """A fix that fits pydantic's error type (issue 18 item 9: every error says how to fix it)."""
    name = field.rsplit(".", 1)[-1]
    if kind in _WRITE_AS:
        return f"write '{name}' as {_WRITE_AS[kind]}"
    if kind in _BOUND:
        return f"give '{name}' a value {_BOUND[kind].format(**{k: ctx.get(k) for k in ('lt', 'le', 'gt', 'ge')})}"
    if kind == "literal_error":
        return f"use one of: {ctx.get('expected', 'the values the schema lists')}"
    if kind == "string_pattern_mismatch":
        return f"use lower-case letters, digits and '_', starting with a letter (pattern {ctx.get('pattern')})"
    if kind in {"string_too_short", "too_short"}:
        return f"give '{name}' a non-empty value"
    if kind in {"string_too_long", "too_long"}:
        return f"shorten '{name}'"
    if kind == "value_error":
        return f"change '{name}' as the message says ('oca spec schema' lists every field and its meaning)"
    return f"correct '{name}' ('oca spec schema' lists every field, its type and allowed values)"


def non_finite_field(raw: Any, path: tuple[Any, ...] = ()) -> tuple[str, float] | None:
    """The first field holding NaN or an infinity (YAML .nan, .inf, 1e400), as (dotted path, value)."""
    if isinstance(raw, float) and not math.isfinite(raw):
        return _field_path(path), raw
    if isinstance(raw, Mapping):
        items = raw.items()
    elif isinstance(raw, (list, tuple)):
        items = enumerate(raw)
    else:
        return None
    for key, value in items:
        found = non_finite_field(value, (*path, key))
        if found is not None:
            return found
    return None


def refuse_non_finite(raw: Any, *, display: str, prefix: str = "") -> None:
    """Refuse NaN and infinities anywhere in a spec when it loads: no registered number may be non-finite (a
    ``sesoi: .inf`` passed validation and crashed the run after estimating)."""
    found = non_finite_field(raw)
    if found is not None:
        field, value = found
        seen = "NaN" if value != value else ("+infinity" if value > 0 else "-infinity")
        raise SpecError(f"the value is {seen}; numbers in a spec must be finite", file=display,
                        field=f"{prefix}{field}" if prefix else field,
                        fix="write a finite number (YAML .nan, .inf and numbers beyond 1e308 are not allowed)")


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along loc to list the keys allowed at that level (for the 'unknown key' fix)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):  # a list position: the element's model is already current
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = field.annotation
        # unwrap Optional[...] / X | None
        args = getattr(current, "__args__", ())
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            current = models[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def parse_model(raw: Any, model: type[_Model], *, display: str) -> _Model:
    if raw is None:
        raise SpecError("file is empty", file=display,
                        fix=f"write a mapping with the keys: {', '.join(model.model_fields)}")
    if not isinstance(raw, Mapping):
        raise SpecError(f"top level is a {type(raw).__name__}, expected a mapping of keys to values", file=display,
                        fix="start the file with 'id: ...' style keys")
    refuse_non_finite(raw, display=display)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise validation_to_spec_error(exc, display=display, model=model) from None


@dataclass(frozen=True)
class SpecFile:
    """A parsed hypothesis spec and the file it came from (relative to the study folder)."""

    path: str
    spec: HypothesisSpec


def load_study_config(study_dir: Path) -> StudyConfig:
    path = study_dir / STUDY_FILE
    if not path.is_file():
        raise SpecError("no study.yaml in the study folder", file=str(study_dir),
                        fix="point to the folder that holds study.yaml and hypotheses/")
    return parse_model(read_yaml(path, display=STUDY_FILE), StudyConfig, display=STUDY_FILE)


def _natural_order(path: Path) -> tuple[tuple[int, int | str], ...]:
    """h1, h2, ..., h9, h10, h11 (numbers by value), so that adding h10 does not reorder a study's specs."""
    parts = re.split(r"(\d+)", path.name)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts if part)


def load_hypotheses(study_dir: Path) -> tuple[SpecFile, ...]:
    folder = study_dir / HYPOTHESES_DIR
    if not folder.is_dir():
        raise SpecError("no hypotheses/ folder", file=str(study_dir), fix="add hypotheses/*.yaml specs")
    files = sorted((p for p in folder.iterdir()
                    if p.suffix in {".yaml", ".yml"} and p.is_file() and p.name not in NOT_SPECS), key=_natural_order)
    if not files:
        raise SpecError("no *.yaml hypothesis specs", file=HYPOTHESES_DIR, fix="add at least one spec")
    specs: list[SpecFile] = []
    seen: dict[str, str] = {}
    for path in files:
        display = f"{HYPOTHESES_DIR}/{path.name}"
        spec = parse_model(read_yaml(path, display=display), HypothesisSpec, display=display)
        if spec.id in seen:
            raise SpecError(f"hypothesis id '{spec.id}' is also used by {seen[spec.id]}", file=display, field="id",
                            fix="give every hypothesis a unique id")
        seen[spec.id] = display
        specs.append(SpecFile(path=display, spec=spec))
    return tuple(specs)
