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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from oca_experiments.errors import DataError

__all__ = ["FormLabels", "FormQuestion", "XLSForm", "read_form_labels", "read_xlsform"]

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
    survey, choice_sheet = _form_sheets(path)
    choices = _read_choices(choice_sheet, path.name, language)
    questions = _read_questions(survey, path.name, language)
    _refuse_undefined_lists(questions, choices, path.name)
    return XLSForm(file=path.name, questions=tuple(questions), choices=choices)


def _form_sheets(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The survey sheet (normalised, with type and name) and the choices sheet (None when absent)."""
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
    return survey, lowered.get("choices")


def _refuse_undefined_lists(questions: list[FormQuestion], choices: Mapping[str, Any], file_name: str) -> None:
    missing = sorted({q.list_name for q in questions if q.list_name and q.list_name not in choices})
    if missing:
        raise DataError(f"the choice list '{missing[0]}' is used in the survey sheet but not defined in the choices "
                        "sheet", file=file_name, fix="add its choices, or download the complete form again")


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.rename(columns={c: c.lower() for c in frame.columns if c.lower() in {"type", "name", "list_name",
                                                                                      "list name", "label"}})


def _label_column(columns: list[str], language: str | None) -> str | None:
    labels = [c for c in columns if c.lower() == "label" or c.lower().startswith("label::")]
    exact = [c for c in labels if language and c.lower() == language.lower()]
    if exact:  # a column name itself (read_form_labels reads each label column in turn)
        return exact[0]
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


# --------------------------------------------------------------------------- labels for the report

#: The key of the plain ``label`` column (a form's default language) in ``FormLabels``.
DEFAULT_LANGUAGE = "default"
_LANGUAGE_CODE = re.compile(r"\(([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\)\s*$")
#: Question types whose answers may identify a respondent or hold free text: their labels are not recorded
#: (the report lists only the items an analysis uses, and those are never free text).
_NOT_LABELLED = {"text", "note", "audio", "image", "video", "file", "barcode", "geopoint", "geotrace", "geoshape"}


@dataclass(frozen=True)
class FormLabels:
    """One source's labels from its XLSForm, in every language the form has, for the columns the study reads.

    ``items``: column -> language -> question label; ``choices``: column -> stored value -> language -> choice
    label. Languages are the code in ``label::English (en)`` (``en``), else the lowercased language name, and
    ``default`` for a plain ``label`` column. Recorded in manifest.json at run time (``to_json``), read back by the
    report (``from_json``): the report never opens the form.
    """

    form: str
    items: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    choices: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)

    def item(self, column: str, language: str = "en") -> str | None:
        return _in_language(self.items.get(column) or {}, language)

    def choice(self, column: str, value: Any, language: str = "en") -> str | None:
        by_value = self.choices.get(column) or {}
        key = _choice_key(value)
        return _in_language(by_value.get(key) or {}, language) if key is not None else None

    def to_json(self) -> dict[str, Any]:
        return {"form": self.form, "items": {k: dict(v) for k, v in self.items.items()},
                "choices": {k: {value: dict(lang) for value, lang in v.items()} for k, v in self.choices.items()}}

    @classmethod
    def from_json(cls, value: Any) -> FormLabels | None:
        """The labels recorded in a manifest, or None when the record is absent or not the shape written."""
        if not isinstance(value, Mapping) or not isinstance(value.get("form"), str):
            return None
        items = {str(k): {str(lang): str(text) for lang, text in v.items()}
                 for k, v in (value.get("items") or {}).items() if isinstance(v, Mapping)}
        choices = {str(k): {str(c): {str(lang): str(text) for lang, text in by_lang.items()}
                            for c, by_lang in v.items() if isinstance(by_lang, Mapping)}
                   for k, v in (value.get("choices") or {}).items() if isinstance(v, Mapping)}
        return cls(form=value["form"], items=items, choices=choices)


def _in_language(labels: Mapping[str, str], language: str) -> str | None:
    """The label in ``language`` (a code such as ``ru``), else the form's default, else its first language."""
    if not labels:
        return None
    return labels.get(language.lower()) or labels.get(DEFAULT_LANGUAGE) or next(iter(labels.values()))


def _choice_key(value: Any) -> str | None:
    """A level as the data hold it (1, 1.0 or '1') -> the choice name in the form ('1')."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].lstrip("-").isdigit() else text


def _language_of(column: str) -> str:
    if column.lower() == "label":
        return DEFAULT_LANGUAGE
    name = column.split("::", 1)[1].strip()
    code = _LANGUAGE_CODE.search(name)
    return (code.group(1) if code else name).lower()


def read_form_labels(path: str | Path, columns: Sequence[str] | None = None) -> FormLabels:
    """Every language's labels of the questions (and their choices) among ``columns`` (all when None).
    Free-text and media questions are left out: their labels are never needed to describe an analysis."""
    path = Path(path)
    survey, choice_sheet = _form_sheets(path)
    label_columns = [c for c in survey.columns if c.lower() == "label" or c.lower().startswith("label::")]
    wanted = set(columns) if columns is not None else None
    items: dict[str, dict[str, str]] = {}
    choices: dict[str, dict[str, dict[str, str]]] = {}
    for column in label_columns or [None]:
        language = _language_of(column) if column else DEFAULT_LANGUAGE
        questions = _read_questions(survey, path.name, column)
        lists = _read_choices(choice_sheet, path.name, column)
        _refuse_undefined_lists(questions, lists, path.name)
        for q in questions:
            if (wanted is not None and q.name not in wanted) or q.type.lower() in _NOT_LABELLED:
                continue
            if q.label:
                items.setdefault(q.name, {})[language] = q.label
            for value, text in lists.get(q.list_name or "", ()) if q.list_name else ():
                if text:
                    choices.setdefault(q.name, {}).setdefault(value, {})[language] = text
    return FormLabels(form=path.name, items=items, choices=choices)
