"""The XLSForm behind a Kobo/ODK survey: item labels, choice lists and select_multiple questions.

An XLSForm is a workbook with a ``survey`` sheet (``type``, ``name``, ``label`` or ``label::Language (xx)``) and a
``choices`` sheet (``list_name``, ``name``, ``label``). ``read_xlsform`` keeps what an analysis needs:

- every question's name, type, choice list, label (in the first language found, or the one asked for) and group;
- the choices of each list, in form order (their ``name`` is what the data hold);
- which questions are select_multiple (the data hold space-separated choice names, and Kobo adds one 0/1 column
  per choice, ``question/choice``).

``oca contract draft --form`` turns it into expectations: a select_one column only takes its list's names, a
select_multiple column only space-separated names from its list; a value outside the list fails the contract.
Errors name the form file, the sheet and the row (1-based, as a spreadsheet shows it), never a cell of the data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from oca_experiments.errors import DataError

__all__ = ["FormQuestion", "XLSForm", "read_xlsform"]

_SELECT = re.compile(r"^(select_one|select_multiple)\s+(\S+)(?:\s+or_other)?$")
_GROUP_START = {"begin group", "begin_group", "begin repeat", "begin_repeat"}
_GROUP_END = {"end group", "end_group", "end repeat", "end_repeat"}
#: Question types without a data column.
_NO_COLUMN = {"note", "begin group", "begin_group", "end group", "end_group", "begin repeat", "begin_repeat",
              "end repeat", "end_repeat"}


@dataclass(frozen=True)
class FormQuestion:
    name: str
    type: str  # select_one, select_multiple, integer, decimal, text, date, calculate, start, ...
    label: str | None
    list_name: str | None = None
    group: tuple[str, ...] = ()


@dataclass(frozen=True)
class XLSForm:
    file: str
    questions: tuple[FormQuestion, ...]
    choices: Mapping[str, tuple[tuple[str, str | None], ...]] = field(default_factory=dict)

    def question(self, name: str) -> FormQuestion | None:
        return next((q for q in self.questions if q.name == name), None)

    @property
    def labels(self) -> dict[str, str]:
        """Question name -> label, for the questions that have one."""
        return {q.name: q.label for q in self.questions if q.label}

    @property
    def select_multiple(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.questions if q.type == "select_multiple")

    def choice_names(self, question: str) -> tuple[str, ...]:
        """The values a select question's column may hold ('' when the question is not a select)."""
        found = self.question(question)
        if found is None or found.list_name is None:
            return ()
        return tuple(name for name, _ in self.choices.get(found.list_name, ()))

    def choice_labels(self, question: str) -> dict[str, str]:
        found = self.question(question)
        if found is None or found.list_name is None:
            return {}
        return {name: label for name, label in self.choices.get(found.list_name, ()) if label}


def read_xlsform(path: str | Path, *, language: str | None = None) -> XLSForm:
    """Read an XLSForm workbook (.xlsx). ``language`` picks ``label::<language>`` columns by a case-insensitive
    substring (e.g. ``ru`` or ``English``); by default the plain ``label`` column, else the first labelled one."""
    path = Path(path)
    if not path.is_file():
        raise DataError("the XLSForm file does not exist", file=path.name, fix="check the path given with --form")
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, engine="openpyxl")
    except Exception as err:  # openpyxl raises many unrelated types for a file that is not a workbook
        raise DataError("the XLSForm is not a readable XLSX workbook", file=path.name,
                        fix="download the form again as XLSForm (.xlsx)") from err
    lowered = {name.strip().lower(): frame for name, frame in sheets.items()}
    if "survey" not in lowered:
        raise DataError("the XLSForm has no 'survey' sheet", file=path.name,
                        fix=f"pass the form itself (sheets survey and choices), not a data export; sheets seen: "
                            f"{', '.join(map(str, sheets))}")
    survey = _normalised(lowered["survey"])
    for required in ("type", "name"):
        if required not in survey.columns:
            raise DataError(f"the survey sheet has no '{required}' column", file=path.name,
                            fix="the first row of the survey sheet must name the columns type, name and label")
    choices = _read_choices(lowered.get("choices"), path.name, language)
    questions = _read_questions(survey, path.name, language)
    missing = sorted({q.list_name for q in questions if q.list_name and q.list_name not in choices})
    if missing:
        raise DataError(f"the choice list '{missing[0]}' is used in the survey sheet but not defined in the choices "
                        "sheet", file=path.name, fix="add its choices, or download the complete form again")
    return XLSForm(file=path.name, questions=tuple(questions), choices=choices)


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.rename(columns={c: c.lower() for c in frame.columns if c.lower() in {"type", "name", "list_name",
                                                                                      "list name", "label"}})


def _label_column(columns: list[str], language: str | None) -> str | None:
    labels = [c for c in columns if c.lower() == "label" or c.lower().startswith("label::")]
    if language:
        chosen = [c for c in labels if language.lower() in c.lower()]
        if chosen:
            return chosen[0]
    return "label" if "label" in labels else (labels[0] if labels else None)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _read_questions(survey: pd.DataFrame, file_name: str, language: str | None) -> list[FormQuestion]:
    label_column = _label_column(list(survey.columns), language)
    groups: list[str] = []
    questions: list[FormQuestion] = []
    for position, row in enumerate(survey.to_dict("records"), start=2):
        kind = _text(row.get("type"))
        name = _text(row.get("name"))
        if kind is None:
            continue
        kind = " ".join(kind.split())
        if kind.lower() in _GROUP_START:
            groups.append(name or f"group_row_{position}")
            continue
        if kind.lower() in _GROUP_END:
            if groups:
                groups.pop()
            continue
        if kind.lower() in _NO_COLUMN or name is None:
            continue
        select = _SELECT.match(kind)
        questions.append(FormQuestion(
            name=name, type=select.group(1) if select else kind.split()[0],
            label=_text(row.get(label_column)) if label_column else None,
            list_name=select.group(2) if select else None, group=tuple(groups)))
    seen: set[str] = set()
    for question in questions:
        if question.name in seen:
            raise DataError("a question name appears twice in the survey sheet", file=file_name,
                            column=question.name, fix="XLSForm names must be unique; fix the form")
        seen.add(question.name)
    return questions


def _read_choices(frame: pd.DataFrame | None, file_name: str,
                  language: str | None) -> dict[str, tuple[tuple[str, str | None], ...]]:
    if frame is None:
        return {}
    frame = _normalised(frame).rename(columns={"list name": "list_name"})
    if "list_name" not in frame.columns or "name" not in frame.columns:
        raise DataError("the choices sheet needs the columns list_name and name", file=file_name,
                        fix="download the complete form again as XLSForm")
    label_column = _label_column(list(frame.columns), language)
    lists: dict[str, list[tuple[str, str | None]]] = {}
    for row in frame.to_dict("records"):
        list_name, name = _text(row.get("list_name")), _text(row.get("name"))
        if list_name is None or name is None:
            continue
        lists.setdefault(list_name, []).append((name, _text(row.get(label_column)) if label_column else None))
    return {key: tuple(values) for key, values in lists.items()}
