"""The one way oca writes CSV and XLSX: atomically, with spreadsheet formula injection escaped.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (``=cmd|' /C calc'!A0`` starts a program through DDE). Such cells get a leading
apostrophe, which spreadsheets show as "this is text" (OWASP's advice). Two exceptions keep real data intact:
numeric columns are never touched (``-3`` is a number, not a formula), and a text cell that is only a signed number
or a phone number (``+996 700 205 070``, ``-3.5``) is left alone: it holds no function call, reference or DDE link.
XLSX cells are also stored with the string type, so that no cell can become a formula whatever its text.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from oca_experiments._atomic import atomic_write_bytes, atomic_write_text
from oca_experiments.errors import DataError

__all__ = ["FORMULA_PREFIXES", "escape_formula", "escape_formulas", "safe_csv_text", "write_table"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A signed number or phone number: digits, spaces, dots, commas and brackets only, after one leading sign.
_PLAIN_SIGNED_NUMBER = re.compile(r"^[+-]?\d[\d .,()]*$")
WRITABLE_SUFFIXES = (".csv", ".xlsx")


def escape_formula(value: Any) -> Any:
    """``value`` with a leading apostrophe when a spreadsheet would run it as a formula; other values unchanged."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if value[0] in "+-" and _PLAIN_SIGNED_NUMBER.match(value):
        return value
    return "'" + value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names a spreadsheet cannot run (see the module docstring)."""
    return _escaped(frame)


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
            continue
        columns[name] = column.map(escape_formula, na_action="ignore")
    escaped = frame.assign(**columns) if columns else frame.copy()
    escaped.columns = [escape_formula(str(name)) for name in frame.columns]
    return escaped


def safe_csv_text(frame: pd.DataFrame) -> str:
    """The frame as CSV text (no index) with formula cells escaped.

    Lines end in CRLF as RFC 4180 says: the csv module then also quotes a cell holding a bare carriage return,
    which with ``\\n`` line ends it would write unquoted and so split the row.
    """
    return _escaped(frame).to_csv(index=False, lineterminator="\r\n")


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "data") -> Path:
    """Write ``frame`` to ``path`` (.csv or .xlsx) atomically with formula injection escaped; return the path."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".csv":
        return atomic_write_text(target, safe_csv_text(frame))
    if suffix == ".xlsx":
        return atomic_write_bytes(target, _xlsx_bytes(_escaped(frame), sheet_name))
    raise DataError(f"oca writes .csv or .xlsx, not '{suffix or '(none)'}'", file=target.name,
                    fix="name the output file *.csv or *.xlsx")


def _xlsx_bytes(frame: pd.DataFrame, sheet_name: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    sheet.append([str(name) for name in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        sheet.append([_xlsx_value(value) for value in row])
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would store a text starting with '=' as a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()  # numpy scalars
    return value
