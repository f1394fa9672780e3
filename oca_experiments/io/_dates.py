"""Dates in the formats field teams' files really hold, parsed only for columns the reader options name.

Recognised without a pin: ISO 8601 (``2026-02-25``, ``2026-02-25 14:03``, Kobo/ODK's ``2026-02-25T14:03:11.000+06:00``),
Russian-locale ``25.02.2026`` (with or without a time), ``2026/02/25``, and ``25/02/2026`` or ``02/25/2026`` when the
values tell day and month apart. When both day-first and month-first read every value (all days <= 12), the reader
refuses to guess: pin ``date_format``. Errors give counts and row numbers, never the values.

One time-zone rule: a parsed column is naive wall-clock time in ``time_zone`` (default UTC).

- A value with an offset (``2026-02-25T10:03:11.000+06:00``, Kobo's ``start``/``end``) or a time-zone-aware cell is
  converted to ``time_zone``;
- the servers' UTC stamps without an offset, Kobo's ``_submission_time`` and ODK Central's ``SubmissionDate``
  (``UTC_COLUMNS``), are converted from UTC;
- every other naive value (an interview date typed by hand, a device time without offset) is taken as it stands.

So with the default, ``start`` 10:03+06:00 and ``_submission_time`` 04:10 compare as 04:03 and 04:10 (UTC); a study
pinning ``time_zone: Asia/Bishkek`` sees 10:03 and 10:10, and local calendar dates.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

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
#: Columns the servers fill with UTC time written without an offset.
UTC_COLUMNS = frozenset({"_submission_time", "SubmissionDate"})
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (``UTC``, ``Asia/Bishkek``); else ValueError for the options model."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError("unknown time zone; use an IANA name such as 'UTC' or 'Asia/Bishkek'") from err
    return name


def to_zone(column: pd.Series, *, name: str, time_zone: str = "UTC") -> pd.Series:
    """A typed datetime column as naive wall-clock time in ``time_zone`` (the module's rule)."""
    if getattr(column.dt, "tz", None) is not None:
        return column.dt.tz_convert(time_zone).dt.tz_localize(None)
    if name in UTC_COLUMNS:
        return column.dt.tz_localize("UTC").dt.tz_convert(time_zone).dt.tz_localize(None)
    return column


def parse_date_column(column: pd.Series, *, date_format: str | None, file_name: str, name: str,
                      first_row: int = 0, time_zone: str = "UTC") -> pd.Series:
    """The column as naive ``datetime64`` in ``time_zone``; missing cells stay missing. ``first_row`` numbers the
    rows in errors."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return to_zone(column, name=name, time_zone=time_zone)
    text = column.map(_as_text, na_action="ignore").astype("string").str.strip().replace("", pd.NA)
    present = text.notna()
    values = text[present]
    parsed = _parse_text(text, values, date_format, file_name=file_name, name=name, first_row=first_row)
    # Instants: values with an offset, and the servers' UTC columns, go to time_zone; the rest stand as written.
    instant = values.str.contains(_OFFSET).fillna(False).astype(bool)
    if name in UTC_COLUMNS:
        instant[:] = True
    if instant.any():
        moved = parsed[instant.index[instant]].dt.tz_localize("UTC").dt.tz_convert(time_zone).dt.tz_localize(None)
        parsed = parsed.astype(moved.dtype)
        parsed[moved.index] = moved
    return parsed


def _parse_text(text: pd.Series, values: pd.Series, date_format: str | None, *, file_name: str, name: str,
                first_row: int) -> pd.Series:
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
    """Naive datetimes; a value with an offset becomes its UTC time (``parse_date_column`` moves it to the zone)."""
    try:
        return pd.to_datetime(values, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)
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
