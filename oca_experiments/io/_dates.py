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

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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


# --------------------------------------------------------------------------------------------------- periods
# The time axis of the series and panel estimators. A period is a registered choice (``period: month``); the data's
# own spacing is checked against it, so that monthly values are never laid on a daily grid (issue 22).

PERIODS = ("day", "week", "month", "quarter", "year", "integer")
#: Calendar periods from finest to coarsest ("integer" stands apart: whole-number time, e.g. 1, 2, 3 or 2001).
CALENDAR = ("day", "week", "month", "quarter", "year")
SPACING_WORD = {"day": "daily", "week": "weekly", "month": "monthly", "quarter": "quarterly", "year": "yearly",
                "integer": "integer"}
_EPOCH_MONDAY = pd.Timestamp("1970-01-05")


def holds_whole_numbers(values: pd.Series) -> bool:
    """True when every present value is a whole number (``3``, ``2001``, ``"12"``), i.e. an integer time column."""
    present = values.dropna()
    if present.empty or pd.api.types.is_datetime64_any_dtype(values):
        return False
    present = pd.Series(present.unique())  # a panel repeats each period once per unit: test each value once
    numbers = pd.to_numeric(present.astype("string").str.strip(), errors="coerce")
    return bool(numbers.notna().all() and (numbers == numbers.round()).all())


def read_time(values: pd.Series, period: str, *, file: str, column: str, allow_missing: bool) -> pd.Series:
    """A time column as datetimes (calendar periods) or as integers (``integer``; ``year`` also takes whole-number
    years such as 2001). Errors name the column and the fix, never the values."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    numeric = holds_whole_numbers(values)
    if period == "integer" or (period == "year" and numeric):
        if not numeric and text.notna().any():
            raise DataError("values are not whole numbers but period is integer", file=file, column=column,
                            fix="write the period as 1, 2, 3 ... (or register a calendar period such as month)")
        out = pd.to_numeric(text, errors="coerce").astype("Int64")
        if period == "year":
            out = pd.to_datetime(out.astype("string") + "-01-01", format="%Y-%m-%d", errors="coerce")
    else:
        if numeric:
            raise DataError(f"values are whole numbers, not dates, but the period is {period}", file=file,
                            column=column, fix="register period: integer (or period: year for years such as 2001)")
        out = _utc_wall_clock(values, text)
        bad = int((out.isna() & text.notna()).sum())
        if bad:
            raise DataError(f"{bad} value{'s' if bad != 1 else ''} not readable as dates", file=file, column=column,
                            fix="write dates as YYYY-MM-DD (or register period: integer for whole-number periods)")
    if not allow_missing and out.isna().any():
        raise DataError(f"{int(out.isna().sum())} missing values", file=file, column=column,
                        fix="every row needs a period")
    return out


def _utc_wall_clock(values: pd.Series, text: pd.Series) -> pd.Series:
    """The module's time-zone rule with the default zone (UTC): a value with an offset (Kobo's ``start``
    10:03+06:00) or a time-zone-aware cell is converted to UTC; a naive value (a date, the servers' UTC
    ``_submission_time``) stands as written. A column mixing both is read value by value, not refused.
    (Before, an offset was dropped, keeping the phone's local time, and a mixed column raised.)"""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    # Each distinct text parsed once (a panel repeats every date once per unit), then laid back on the rows;
    # "mixed" reads every value on its own, so this is the same as parsing the rows.
    codes, distinct = pd.factorize(text)
    parsed = pd.to_datetime(pd.Series(distinct, dtype="string"), errors="coerce", format="mixed",
                            utc=True).dt.tz_localize(None)
    out = pd.Series(parsed.to_numpy()[codes], index=text.index, dtype=parsed.dtype)
    out[codes < 0] = pd.NaT
    return out


def period_codes(times: pd.Series, period: str) -> NDArray[np.int64]:
    """Consecutive integer codes of each value's period (missing -> a large negative sentinel is never produced:
    callers pass present values only). Day: days since 1970; week: Monday weeks; month: 12 * year + month; etc."""
    if period == "integer":
        return times.astype("int64").to_numpy()
    stamps = pd.DatetimeIndex(times)
    if period == "day":
        return ((stamps.normalize() - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)).to_numpy(np.int64)
    if period == "week":
        return ((stamps.normalize() - _EPOCH_MONDAY) // pd.Timedelta(days=7)).to_numpy(np.int64)
    if period == "month":
        return (stamps.year * 12 + stamps.month - 1).to_numpy(np.int64)
    if period == "quarter":
        return (stamps.year * 4 + (stamps.month - 1) // 3).to_numpy(np.int64)
    if period == "year":
        return stamps.year.to_numpy(np.int64)
    raise ValueError(f"unknown period {period!r}")


def period_label(code: int, period: str) -> str:
    """How a period is shown: 2026-03-02 (day; week by its Monday), 2026-03, 2026Q1, 2026, or the integer."""
    code = int(code)
    if period == "day":
        return str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=code)).date())
    if period == "week":
        return str((_EPOCH_MONDAY + pd.Timedelta(days=7 * code)).date())
    if period == "month":
        return f"{code // 12:04d}-{code % 12 + 1:02d}"
    if period == "quarter":
        return f"{code // 4:04d}Q{code % 4 + 1}"
    return str(code)


def period_start(code: int, period: str) -> pd.Timestamp:
    """First day of a calendar period (for 'day of the period' comparisons)."""
    if period == "day":
        return pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(code))
    if period == "week":
        return _EPOCH_MONDAY + pd.Timedelta(days=7 * int(code))
    if period == "month":
        return pd.Timestamp(year=int(code) // 12, month=int(code) % 12 + 1, day=1)
    if period == "quarter":
        return pd.Timestamp(year=int(code) // 4, month=3 * (int(code) % 4) + 1, day=1)
    return pd.Timestamp(year=int(code), month=1, day=1)


def native_spacing(values: pd.Series) -> str | None:
    """The data's own spacing: ``integer`` for whole numbers, else the coarsest calendar period (climbing from day)
    in which no two distinct values fall into the same period. ``None`` with fewer than two distinct values."""
    present = values.dropna()
    if not pd.api.types.is_datetime64_any_dtype(present):
        present = pd.Series(present.unique())  # only the distinct values matter below
    if holds_whole_numbers(present):
        return "integer"
    stamps = pd.to_datetime(present.astype("string").str.strip(), errors="coerce", format="mixed") \
        if not pd.api.types.is_datetime64_any_dtype(present) else present
    stamps = stamps.dropna()
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    distinct = pd.Series(pd.DatetimeIndex(stamps.unique()).normalize().unique())
    if len(distinct) < 2:
        return None
    spacing = "day"
    for period in CALENDAR[1:]:
        codes = period_codes(distinct, period)
        if np.unique(codes).size < len(distinct):
            break
        spacing = period
    return spacing


def spacing_problem(values: pd.Series, period: str, *, column: str) -> str | None:
    """Why data with these time values cannot be analysed in ``period`` (None when it can). Data finer than the
    period is averaged into it; data coarser than the period would be laid on a grid with empty periods between
    the observations (counted in the wrong unit: 120 months as 3,622 days), so it is refused."""
    spacing = native_spacing(values)
    if spacing is None:
        return None
    if spacing == "integer":
        if period in ("integer", "year"):
            return None
        return (f"column '{column}' holds whole numbers, not dates; this estimator's period is {period}: register "
                "period: integer (or period: year for years such as 2001)")
    if period == "integer":
        return (f"column '{column}' holds dates ({SPACING_WORD[spacing]}), not whole numbers; register period: "
                f"{spacing}")
    if CALENDAR.index(spacing) > CALENDAR.index(period):
        return (f"column '{column}' is {SPACING_WORD[spacing]}; this estimator's period is {period}: register "
                f"period: {spacing}")
    return None
