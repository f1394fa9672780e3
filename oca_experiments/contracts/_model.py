"""Contract results and suite loading; pure Python, no Great Expectations import (that is slow and lives in ``_gx``)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oca_experiments.errors import ContractError

__all__ = ["ContractFailure", "ContractResult", "ContractSuite", "load_suite", "sensitive_columns_of"]


@dataclass(frozen=True)
class ContractFailure:
    """One expectation that failed, raised, or could not be built. Carries no cell values unless allowed.

    ``example_values`` is filled only when the caller asked for values (``show_values=True``) and none of the
    expectation's columns is listed as sensitive by the suite; otherwise it is ``None``.
    ``unexpected_count``/``unexpected_percent`` are ``None`` for expectations that do not count rows
    (table-level checks, aggregate checks, expectations that raised).
    """

    expectation: str
    column: str | None
    unexpected_count: int | None
    unexpected_percent: float | None
    example_rows: tuple[int, ...]
    example_values: tuple[Any, ...] | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "column": self.column,
            "unexpected_count": self.unexpected_count,
            "unexpected_percent": self.unexpected_percent,
            "example_rows": list(self.example_rows),
            "example_values": None if self.example_values is None else list(self.example_values),
            "message": self.message,
        }


@dataclass(frozen=True)
class ContractResult:
    """Outcome of one source's contract. ``passed`` is True only if every expectation was evaluated and met."""

    source: str
    suite: str
    suite_path: str
    suite_sha256: str
    passed: bool
    n_expectations: int
    n_evaluated: int
    failures: tuple[ContractFailure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "suite": self.suite,
            "suite_path": self.suite_path,
            "suite_sha256": self.suite_sha256,
            "passed": self.passed,
            "n_expectations": self.n_expectations,
            "n_evaluated": self.n_evaluated,
            "failures": [failure.to_dict() for failure in self.failures],
        }

    def summary_line(self) -> str:
        head = f"source '{self.source}', suite '{self.suite}':"
        if self.passed:
            return f"{head} passed ({self.n_evaluated}/{self.n_expectations} expectations met)"
        return (f"{head} FAILED ({len(self.failures)} failure(s); "
                f"{self.n_evaluated}/{self.n_expectations} expectations evaluated)")


@dataclass(frozen=True)
class ContractSuite:
    """A suite file as loaded: GX 1.x suite JSON plus the oca metadata read from ``meta.oca``.

    ``expectations`` holds the raw expectation entries; they are turned into GX objects only when run,
    so that one bad entry fails that entry (and the contract) instead of the whole load.
    """

    name: str
    path: str
    sha256: str
    expectations: tuple[Any, ...]
    sensitive_columns: frozenset[str] = field(default_factory=frozenset)
    suite_parameters: dict[str, Any] = field(default_factory=dict)


def load_suite(suite_path: str | Path) -> ContractSuite:
    """Read a GX 1.x ExpectationSuite JSON file. Raises ContractError if the file cannot be loaded at all."""
    path = Path(suite_path)
    fix_json = "write the suite as Great Expectations 1.x suite JSON (name, expectations, meta)"
    if not path.is_file():
        raise ContractError("the suite file does not exist", suite=path.name,
                            fix="check the 'contract' path of this source in study.yaml")
    raw = path.read_bytes()
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ContractError("the suite file is not UTF-8 text", suite=path.name, fix=fix_json) from err
    except json.JSONDecodeError as err:
        raise ContractError(f"the suite file is not valid JSON (line {err.lineno}, column {err.colno})",
                            suite=path.name, fix=fix_json) from err

    if not isinstance(document, dict):
        raise ContractError("the suite file must hold a JSON object", suite=path.name, fix=fix_json)
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ContractError("the suite has no 'name'", suite=path.name, fix=fix_json)
    expectations = document.get("expectations")
    if not isinstance(expectations, list):
        raise ContractError("the suite has no 'expectations' list", suite=path.name, fix=fix_json)
    suite_parameters = document.get("suite_parameters") or {}
    if not isinstance(suite_parameters, dict):
        raise ContractError("'suite_parameters' must be an object", suite=path.name, fix=fix_json)

    return ContractSuite(
        name=name.strip(),
        path=str(suite_path),
        sha256=hashlib.sha256(raw).hexdigest(),
        expectations=tuple(expectations),
        sensitive_columns=_sensitive_columns(document.get("meta"), path.name),
        suite_parameters=suite_parameters,
    )


def _sensitive_columns(meta: Any, suite_file: str) -> frozenset[str]:
    fix = "write meta.oca.sensitive_columns as a list of column names"
    if meta is None:
        return frozenset()
    if not isinstance(meta, dict):
        raise ContractError("the suite's 'meta' must be an object", suite=suite_file, fix=fix)
    oca_meta = meta.get("oca") or {}
    if not isinstance(oca_meta, dict):
        raise ContractError("the suite's 'meta.oca' must be an object", suite=suite_file, fix=fix)
    columns = oca_meta.get("sensitive_columns", [])
    if not isinstance(columns, list) or not all(isinstance(column, str) for column in columns):
        raise ContractError("'meta.oca.sensitive_columns' must be a list of column names", suite=suite_file,
                            fix=fix)
    return frozenset(columns)


def json_safe(value: Any) -> Any:
    """Plain JSON types for an example value: numpy scalars unwrapped, NaN as None, anything else as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        try:
            return json_safe(value.item())
        except (TypeError, ValueError):
            pass
    if isinstance(value, dict):
        return [json_safe(item) for item in value.values()]
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return str(value)


def sensitive_columns_of(suite_path: str | Path) -> frozenset[str]:
    """The suite's sensitive columns, or none when it cannot be loaded (its contract then fails anyway)."""
    try:
        return load_suite(suite_path).sensitive_columns
    except ContractError:
        return frozenset()
