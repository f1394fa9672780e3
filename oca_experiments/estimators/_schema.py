"""The JSON Schema of ``estimator:`` in a hypothesis spec: one variant per catalogued estimator, its ``name`` a
constant and its ``options`` that estimator's options model, so that editors and ``oca spec schema`` describe every
option (the spec model itself keeps ``options`` a mapping, validated against the catalogue at plan time)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .registry import REGISTRY

__all__ = ["estimator_schema", "with_estimator_options"]


def estimator_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the ``estimator`` schema, the ``$defs`` it refers to)."""
    models = list(dict.fromkeys(info.options_model for info in REGISTRY.values()))
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/$defs/{model}")
    variants = []
    for info in REGISTRY.values():
        variants.append({
            "type": "object", "title": info.name,
            "description": info.summary + ("" if info.available else " (planned, not yet available)")
            + f". SE types: {', '.join(info.se_types)}.",
            "properties": {"name": {"const": info.name}, "options": refs[(info.options_model, "validation")]},
            "required": ["name"], "additionalProperties": False})
    schema = {"description": "the estimator and its registered options", "oneOf": variants}
    return schema, defs.get("$defs", {})


def with_estimator_options(document: dict[str, Any]) -> dict[str, Any]:
    """A hypothesis-spec JSON Schema with its free-form ``estimator`` replaced by the per-estimator variants."""
    schema, defs = estimator_schema()
    out = dict(document)
    all_defs = dict(out.get("$defs", {}))
    for name, definition in defs.items():
        if name in all_defs and all_defs[name] != definition:
            raise ValueError(f"schema definition '{name}' is defined twice differently")
        all_defs[name] = definition
    all_defs["EstimatorSpec"] = schema
    out["$defs"] = all_defs
    return out
