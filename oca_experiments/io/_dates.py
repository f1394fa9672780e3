"""Dates in the formats field teams' files really hold, parsed only for columns the reader options name.

Recognised without a pin: ISO 8601 (``2026-02-25``, ``2026-02-25 14:03``, Kobo/ODK's ``2026-02-25T14:03:11.000+06:00``),
Russian-locale ``25.02.2026`` (with or without a time), ``2026/02/25``, and ``25/02/2026`` or ``02/25/2026`` when the
values tell day and month apart. When both day-first and month-first read every value (all days <= 12), the reader
refuses to guess: pin ``date_format``. Errors give counts and row numbers, never the values.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from oca_experiments.errors import DataError

ISO = "ISO8601"
# Tried in this order; the first format that reads every value wins (day-first before month-first on purpose:
# the Kyrgyz and Russian locales write day first). The ambiguous pair is checked separately.
DATE_FORMATS = (
    ISO,
    "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%y",
    "%Y/%m/%d", "%Y.%m.%d",
    "%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S",
    "%d-%m-%Y",
)
_AMBIGUOUS = {("%d/%m/%Y", "%m/%d/%Y"), ("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"),
              ("%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S")}
_MAX_ROWS_SHOWN = 5


def parse_date_column(column: pd.Series, *, date_format: str | None, file_name: str, name: str,
                      first_row: int = 0) -> pd.Series:
    """The column as ``datetime64``; missing cells stay missing. ``first_row`` numbers the rows in errors."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    text = column.map(_as_text, na_action="ignore").astype("string").str.strip().replace("", pd.NA)
    present = text.notna()
    values = text[present]
    if date_format is not None:
        return _parse_or_fail(text, values, date_format, file_name=file_name, name=name, first_row=first_row)
    readable = [fmt for fmt in DATE_FORMATS if _reads_all(values, fmt)]
    for day_first, month_first in _AMBIGUOUS:
        if day_first in readable and month_first in readable and ISO not in readable:
            raise DataError(f"the dates could be day/month or month/day ({len(values)} values, every day <= 12)",
                            file=file_name, column=name,
                            fix=f"pin date_format: '{day_first}' (or '{month_first}') in the reader options")
    if not readable:
        best = max(DATE_FORMATS, key=lambda fmt: int(_to_datetime(values, fmt).notna().sum()))
        return _parse_or_fail(text, values, best, file_name=file_name, name=name, first_row=first_row,
                              known_formats=True)
    return _parse_or_fail(text, values, readable[0], file_name=file_name, name=name, first_row=first_row)


def _as_text(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError, OverflowError):  # e.g. mixed time zones
        return pd.Series(pd.NaT, index=values.index)


def _reads_all(values: pd.Series, fmt: str) -> bool:
    return bool(_to_datetime(values, fmt).notna().all()) if len(values) else fmt == ISO


def _parse_or_fail(text: pd.Series, values: pd.Series, fmt: str, *, file_name: str, name: str, first_row: int,
                   known_formats: bool = False) -> pd.Series:
    parsed = _to_datetime(values, fmt)
    bad = parsed.isna()
    if bad.any():
        positions = [first_row + int(text.index.get_loc(i)) for i in bad[bad].index[:_MAX_ROWS_SHOWN]]
        rows = ", ".join(map(str, positions))
        what = ("are not dates in a recognised format" if known_formats
                else f"do not match the date format '{fmt}'")
        raise DataError(f"{int(bad.sum())} of {len(values)} values {what} (e.g. rows {rows})", file=file_name,
                        column=name,
                        fix="write dates as YYYY-MM-DD or DD.MM.YYYY, pin 'date_format', or remove the column "
                            "from 'date_columns'")
    result = pd.Series(pd.NaT, index=text.index, dtype=parsed.dtype)
    result[values.index] = parsed
    return result
