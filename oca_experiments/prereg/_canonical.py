"""The canonical form of a hypothesis spec, its SHA-256, and field-level differences between two forms.

Canonical form: the YAML is parsed and validated into the frozen ``HypothesisSpec``, dumped with every default
filled in (``model_dump(mode="json")``), normalised, and written as JSON with sorted keys, no whitespace, UTF-8.
So formatting, comments, key order, quoting and ``1`` vs ``1.0`` never change the hash; content does.

Choices, stated once:

- *Defaults are content.* A field written out at its default value is the same content as the field left out
  (both dump the default). Setting it to any other value is a change.
- *Numbers:* an integral float is written as an integer (``5.0`` → ``5``): YAML ``5`` and ``5.0`` are one number.
  Booleans stay booleans (``true`` is not ``1``). Non-finite floats become the strings ``"NaN"``, ``"Infinity"``.
- *Text:* NFC-normalised; YAML's own folding and the models' stripping of surrounding whitespace apply first, so
  re-wrapping a folded (``>``) paragraph is formatting, while changing a word is content.
- *Lists are ordered:* reordering ``items`` is a change (the plan listed them in that order).
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..spec import HypothesisSpec

# An integral float beyond this is left alone: converting it to int would claim a precision it does not have.
_LARGEST_EXACT_INTEGER = 2**53


def canonical_value(value: Any) -> Any:
    """JSON-ready copy of ``value`` in normal form (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if value.is_integer() and abs(value) <= _LARGEST_EXACT_INTEGER:
            return int(value)
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {unicodedata.normalize("NFC", str(k)): canonical_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical_value(v) for v in value]
    raise TypeError(f"no canonical form for a {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept (the bytes are UTF-8)."""
    return json.dumps(canonical_value(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def canonical_spec(spec: HypothesisSpec) -> dict[str, Any]:
    """The spec as the lock stores it: every field, defaults filled, normalised."""
    return canonical_value(spec.model_dump(mode="json"))


def spec_sha256(spec: HypothesisSpec) -> str:
    return sha256_json(canonical_spec(spec))


def reread_locked_spec(stored: Mapping[str, Any]) -> HypothesisSpec:
    """A canonical spec from the lock, validated by this version of oca.

    Fields that a newer oca added with a default are filled in here, so that comparing with the current spec flags
    only real changes; a default whose *value* changed in a newer oca still shows, because the lock stores the old
    value explicitly.
    """
    return HypothesisSpec.model_validate(stored)


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its dotted path in the canonical spec and the canonical values before and after."""

    field: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


def diff_fields(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Field-level differences between two canonical forms.

    Mappings with the same keys are compared key by key; a mapping that gained or lost keys (only free-form ones
    can, e.g. ``estimator.options``) and every list is compared as one value, so each reported path exists on both
    sides and a deviation can name it with a plain before/after.
    """
    if isinstance(before, Mapping) and isinstance(after, Mapping) and set(before) == set(after):
        changes: list[FieldChange] = []
        for key in sorted(before):
            changes += diff_fields(before[key], after[key], f"{path}.{key}" if path else str(key))
        return changes
    if canonical_json(before) != canonical_json(after):
        return [FieldChange(path or "(whole spec)", canonical_value(before), canonical_value(after))]
    return []


def leaf_paths(value: Any, path: str = "") -> Iterator[str]:
    """Every field path ``diff_fields`` can report for this canonical form (mapping leaves; lists are leaves)."""
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from leaf_paths(value[key], f"{path}.{key}" if path else str(key))
    else:
        yield path


_MISSING = object()


def get_path(value: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path, or ``None`` when a key along it is absent."""
    current: Any = value
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def has_path(value: Mapping[str, Any], path: str) -> bool:
    current: Any = value
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False
        current = current[part]
    return True


def set_path(value: Mapping[str, Any], path: str, new: Any) -> dict[str, Any]:
    """A copy of ``value`` with the dotted path set to ``new`` (its parent mappings must exist)."""
    head, _, rest = path.partition(".")
    copy = dict(value)
    if not rest:
        copy[head] = new
        return copy
    child = copy.get(head, _MISSING)
    if not isinstance(child, Mapping):
        raise KeyError(path)
    copy[head] = set_path(child, rest, new)
    return copy
