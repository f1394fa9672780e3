"""Draft a data contract (a Great Expectations 1.x suite) from a data file, and optionally its XLSForm.

``oca contract draft`` profiles one source and writes a suite for the team to review and commit:

- the columns the file has (extra columns allowed) and at least one row;
- not-null for the design columns it recognises (unit, wave, arm, cluster, group) and the server's meta IDs;
- uniqueness of unit x wave (a panel survey) or of the submission's ``_uuid``;
- allowed values for categorical columns (arm, wave, Likert items as the whole scale between the lowest and
  highest answer seen, yes/no, short text categories), ranges for other numbers, a strftime format for date
  text;
- with the form: each select_one column takes only its choice list's names, each select_multiple column only
  space-separated names from its list, each split 0/1 choice column only 0 and 1; labels go into the suite's
  ``meta.oca.labels`` (what a value outside the form allows is a contract failure, as the issue asks);
- which columns are sensitive (``meta.oca.sensitive_columns``): IDs, names, phones, locations, device IDs and free
  text. Their values never enter the suite, and contract failures never show them.

What is drafted from data is what this file holds; an expectation marked ``"drafted_from": "data"`` in its meta
encodes the observed range or set and may be too tight for later waves: review it before committing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
import pandas as pd

from oca_experiments.io import XLSForm

__all__ = ["Roles", "draft_suite", "guess_roles", "sensitive_guess"]

#: Names each design role goes by, best first (a file with both community_id and site takes community_id).
_ROLE_PATTERNS = {
    "unit": (r"(respondent|resp|person|participant|household|hh|member|unit)_?(id|code|no|key)",),
    "time": (r"wave", r"(survey_)?round", r"period|phase|visit"),
    "treatment": (r"treated|treatment|treat", r"arm|assignment|assigned"),
    "cluster": (r"(community|village|cluster)(_?(id|code))?", r"(settlement|aiyl_okmotu|ao)(_?(id|code))?",
                r"site(_?(id|code))?"),
    "group": (r"(cso|organisation|organization|partner|ngo)(_?(id|code))?", r"(block|stratum|strata)(_?(id|code))?"),
    "participant": (r"participant|trained|training_participant|attended",),
}
_SENSITIVE_NAME = re.compile(
    r"(^|_)(name|fio|surname|phone|tel|mobile|whatsapp|email|e_mail|address|passport|inn|pin|birth|dob|gps|"
    r"geo|geolocation|latitude|longitude|lat|lon|lng|comment|comments|note|notes|other|specify|free_?text|"
    r"deviceid|imei|simserial|subscriberid|phonenumber|username|submitted_by|uuid|instanceid|audit|signature|"
    r"photo|image)($|_)|submitter|username$|^name$|fullname", re.IGNORECASE)
_META_IDS = ("_uuid", "instanceID", "_id", "KEY", "meta-instanceID")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z",
                 "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%d.%m.%Y")
_MAX_CATEGORIES = 20
_MAX_SCALE = 10


@dataclass(frozen=True)
class Roles:
    """Design columns recognised by name and content; ``None`` when not found."""

    unit: str | None = None
    time: str | None = None
    treatment: str | None = None
    cluster: str | None = None
    group: str | None = None
    participant: str | None = None
    time_values: tuple[str, ...] = ()
    #: Item families: common prefix -> columns (Likert items on a 1..k scale; 0/1 knowledge items).
    likert: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    binary_items: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    likert_scale: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def _rank(role: str, name: str) -> int | None:
    """Position of the first of the role's patterns the name matches; None when none does."""
    return next((i for i, pattern in enumerate(_ROLE_PATTERNS[role]) if re.fullmatch(pattern, name.lower())), None)


def _integer_values(column: pd.Series) -> np.ndarray | None:
    """The distinct non-missing values as integers when the column is numeric and whole-valued, else None."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return None
    values = pd.to_numeric(column, errors="coerce").dropna().unique()
    if len(values) == 0 or not np.all(np.mod(values, 1) == 0):
        return None
    return np.sort(values.astype(np.int64))


def guess_roles(frame: pd.DataFrame) -> Roles:
    """Recognise the design columns and item families of a survey export (used by ``oca init --from-data`` and
    the contract draft). Names decide first; content confirms (a wave has 2-6 values, an arm two)."""
    found: dict[str, Any] = {}
    for role in ("unit", "time", "treatment", "cluster", "group", "participant"):
        candidates = []
        for name in map(str, frame.columns):
            rank = _rank(role, name)
            if rank is None or name in found.values():
                continue
            distinct = frame[name].dropna().nunique()
            if (role == "time" and not 2 <= distinct <= 6) or (role in {"treatment", "participant"}
                                                                  and distinct != 2):
                continue
            candidates.append((rank, name))
        if candidates:
            found[role] = min(candidates, key=lambda c: c[0])[1]
    if "time" in found:
        found["time_values"] = tuple(sorted(map(str, frame[found["time"]].dropna().unique())))
    families: dict[str, list[str]] = {}
    for name in map(str, frame.columns):
        match = re.fullmatch(r"(.+?)_?(\d{1,2})", name)
        if match and name not in found.values():
            families.setdefault(match.group(1), []).append(name)
    likert: dict[str, tuple[str, ...]] = {}
    scales: dict[str, tuple[int, int]] = {}
    binary: dict[str, tuple[str, ...]] = {}
    for prefix, columns in families.items():
        if len(columns) < 2:
            continue
        values = [_integer_values(frame[c]) for c in columns]
        if any(v is None for v in values):
            continue
        low, high = min(int(v.min()) for v in values), max(int(v.max()) for v in values)
        if (low, high) == (0, 1):
            binary[prefix] = tuple(columns)
        elif low >= 0 and high <= _MAX_SCALE and high - low >= 2:
            likert[prefix] = tuple(columns)
            scales[prefix] = (low, high)
    return Roles(**found, likert=likert, likert_scale=scales, binary_items=binary)


def sensitive_guess(frame: pd.DataFrame, roles: Roles | None = None) -> list[str]:
    """Columns to treat as sensitive: the unit ID, names/phones/locations/device IDs by name, and free text."""
    roles = roles or guess_roles(frame)
    sensitive = []
    for name in map(str, frame.columns):
        if name == roles.unit or name in _META_IDS or _SENSITIVE_NAME.search(name.replace("/", "_")):
            sensitive.append(name)
        elif _is_free_text(frame[name]):
            sensitive.append(name)
    return sensitive


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or column.dtype == object


def _is_free_text(column: pd.Series) -> bool:
    if not _is_text(column):
        return False
    present = column.dropna().astype(str)
    if present.empty or _date_format(present) is not None:
        return False
    return present.nunique() > _MAX_CATEGORIES and present.str.len().mean() > 12


def _date_format(present: pd.Series) -> str | None:
    sample = present.astype(str).str.strip()
    for fmt in _DATE_FORMATS:
        try:
            for value in sample:
                dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return fmt
    return None


def _expectation(kind: str, source: str, note: str | None = None, **kwargs: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"drafted_from": source}
    if note:
        meta["note"] = note
    return {"type": kind, "kwargs": kwargs, "meta": meta, "severity": "critical"}


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _column_expectations(name: str, column: pd.Series, *, sensitive: bool, roles: Roles) -> list[dict[str, Any]]:
    present = column.dropna()
    if present.empty:
        return []
    if pd.api.types.is_datetime64_any_dtype(column):
        return []  # a parsed date column (reader date_columns): its parse is already the check
    integers = _integer_values(column)
    prefix = next((p for p, cols in roles.likert.items() if name in cols), None)
    if prefix is not None:
        low, high = roles.likert_scale[prefix]
        return [_expectation("expect_column_values_to_be_in_set", "data", f"Likert scale {low}-{high} as seen; "
                             "widen it if the form's scale is longer", column=name,
                             value_set=list(range(low, high + 1)))]
    if sensitive:
        return []  # never write a sensitive column's values, ranges or formats into a committed file
    if integers is not None and len(integers) <= _MAX_CATEGORIES and len(integers) <= max(2, len(present) // 2):
        return [_expectation("expect_column_values_to_be_in_set", "data", "values seen in the file", column=name,
                             value_set=[int(v) for v in integers])]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return [_expectation("expect_column_values_to_be_between", "data", "range seen in the file", column=name,
                             min_value=_plain(present.min()), max_value=_plain(present.max()))]
    if pd.api.types.is_bool_dtype(column):
        return [_expectation("expect_column_values_to_be_in_set", "data", column=name, value_set=[False, True])]
    text = present.astype(str)
    fmt = _date_format(text)
    if fmt is not None:
        return [_expectation("expect_column_values_to_match_strftime_format", "data", column=name,
                             strftime_format=fmt)]
    distinct = sorted(text.unique())
    if len(distinct) <= _MAX_CATEGORIES and len(distinct) <= max(2, len(text) // 2):
        return [_expectation("expect_column_values_to_be_in_set", "data", "categories seen in the file",
                             column=name, value_set=distinct)]
    return []


def _typed_choices(names: Sequence[str], column: pd.Series) -> list[Any]:
    """Choice names as the reader typed the column: numbers when the column is numeric and every name is one."""
    if pd.api.types.is_numeric_dtype(column):
        try:
            numbers = [float(n) for n in names]
        except ValueError:
            return list(names)
        return [int(n) if n.is_integer() else n for n in numbers]
    return list(names)


def _form_expectations(form: XLSForm, columns: Sequence[str],
                       frame: pd.DataFrame) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    by_column: dict[str, list[dict[str, Any]]] = {}
    for question in form.questions:
        choices = form.choice_names(question.name)
        if question.name in columns and choices:
            if question.type == "select_one":
                by_column[question.name] = [_expectation(
                    "expect_column_values_to_be_in_set", "form", f"choice list '{question.list_name}'",
                    column=question.name, value_set=_typed_choices(choices, frame[question.name]))]
            elif question.type == "select_multiple":
                alternatives = "|".join(re.escape(c) for c in choices)
                by_column[question.name] = [_expectation(
                    "expect_column_values_to_match_regex", "form",
                    f"space-separated names from choice list '{question.list_name}'", column=question.name,
                    regex=f"^(?:{alternatives})(?: (?:{alternatives}))*$")]
        if question.type == "select_multiple":
            for choice in choices:
                split = f"{question.name}/{choice}"
                if split in columns:
                    by_column[split] = [_expectation("expect_column_values_to_be_in_set", "form",
                                                     f"one column per choice of '{question.name}'", column=split,
                                                     value_set=[0, 1])]
    labels = {q.name: q.label for q in form.questions if q.label and q.name in columns}
    choice_labels = {q.name: form.choice_labels(q.name) for q in form.questions
                     if q.name in columns and form.choice_labels(q.name)}
    missing = [q.name for q in form.questions if q.type not in {"calculate", "start", "end", "today", "deviceid"}
               and q.name not in columns]
    return by_column, {"labels": labels, "choice_labels": choice_labels, "form": form.file,
                       "form_questions_not_in_file": missing}


def draft_suite(frame: pd.DataFrame, *, source: str, file_name: str, form: XLSForm | None = None,
                sensitive: Sequence[str] | None = None) -> dict[str, Any]:
    """A GX 1.x suite (as a JSON-ready dict) drafted from ``frame`` (as ``read_table`` returns it)."""
    roles = guess_roles(frame)
    columns = list(map(str, frame.columns))
    sensitive_columns = list(sensitive) if sensitive is not None else sensitive_guess(frame, roles)
    expectations = [
        _expectation("expect_table_columns_to_match_set", "data", "extra columns are allowed", column_set=columns,
                     exact_match=False),
        _expectation("expect_table_row_count_to_be_between", "data", min_value=1),
    ]
    keys = [c for c in (roles.unit, roles.time, roles.treatment, roles.cluster, roles.group) if c]
    keys += [c for c in _META_IDS if c in columns]
    for name in dict.fromkeys(keys):
        if frame[name].notna().all():
            expectations.append(_expectation("expect_column_values_to_not_be_null", "data", column=name))
    if roles.unit and roles.time and not frame.duplicated([roles.unit, roles.time]).any():
        expectations.append(_expectation("expect_compound_columns_to_be_unique", "data", "one row per unit and wave",
                                         column_list=[roles.unit, roles.time]))
    elif roles.unit and not roles.time and not frame[roles.unit].duplicated().any():
        expectations.append(_expectation("expect_column_values_to_be_unique", "data", column=roles.unit))
    for meta_id in ("_uuid", "instanceID", "KEY"):
        if meta_id in columns and not frame[meta_id].dropna().duplicated().any():
            expectations.append(_expectation("expect_column_values_to_be_unique", "data", "one row per submission",
                                             column=meta_id))
            break
    from_form, form_meta = _form_expectations(form, columns, frame) if form is not None else ({}, {})
    for name in columns:
        drafted = from_form.get(name)
        if drafted is None:
            drafted = _column_expectations(name, frame[name], sensitive=name in sensitive_columns, roles=roles)
        expectations.extend(drafted)
    oca_meta: dict[str, Any] = {
        "source": source,
        "sensitive_columns": sensitive_columns,
        "description": f"Drafted by `oca contract draft` from {file_name} ({len(frame)} rows, {len(columns)} "
                       "columns): review every expectation marked drafted_from 'data' before committing.",
        "roles": {k: v for k, v in {"unit": roles.unit, "time": roles.time, "treatment": roles.treatment,
                                    "cluster": roles.cluster, "group": roles.group}.items() if v},
        **form_meta,
    }
    return {"name": source, "id": None, "expectations": expectations,
            "meta": {"oca": oca_meta, "great_expectations_version": _gx_version()}, "notes": None}


def _gx_version() -> str | None:
    try:
        return metadata.version("great-expectations")
    except metadata.PackageNotFoundError:
        return None
