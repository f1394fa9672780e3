"""Read one data file into a DataFrame, detecting encoding, delimiter, decimal comma and date formats.

Type conventions (the same for every format):

- Numeric columns come back numeric. An integer column with no missing cells is ``int64``; an integer column with
  missing cells (e.g. a Likert item someone skipped) is ``float64`` with ``NaN``. Nullable extension dtypes such as
  ``Int64`` (e.g. from Parquet) are normalised to the same two cases, so downstream code sees one convention.
- Text columns use pandas' default string dtype.
- Columns named in ``ReaderOptions.date_columns`` are parsed to ``datetime64`` (ISO, ``DD.MM.YYYY`` and other
  common formats; see ``_dates``). Every other date stays text; XLSX date cells and Parquet date/timestamp columns
  become ISO text (``2026-02-25``, ``2026-02-25 10:03:11``), so a date reads the same from a CSV, a workbook and a
  Parquet file.
- One time-zone rule (``_dates``): every timestamp is naive wall-clock time in ``time_zone`` (default UTC). Values
  with an offset (Kobo's ``start``/``end``: ``...+06:00``) and typed time-zone-aware cells are converted to it;
  Kobo's ``_submission_time`` and ODK Central's ``SubmissionDate``, which the servers write in UTC without an
  offset, are converted from UTC; every other naive value is taken as already being in ``time_zone``.
- Group prefixes of Kobo (``trust/h_trust_1``) and ODK Central (``trust-h_trust_1``) headers are stripped
  (``group_prefixes``, detected by default; see ``_groups``).

Every option can be pinned (in ``study.yaml``: ``sources.<name>.reader``); what is not pinned is detected.
Row numbers in errors count data rows from 0 (the first row under the header and label row, as in contract
failures); "line" numbers are lines of a text file, from 1.

Errors are :class:`~oca_experiments.errors.DataError` with the file *name* (never the full path, never a cell value).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, field_validator

from oca_experiments.errors import DataError, SpecError
from oca_experiments.io._dates import check_time_zone, parse_date_column, to_zone
from oca_experiments.io._groups import GroupStyle, strip_group_prefixes
from oca_experiments.io._text import (
    check_header_split,
    check_row_lengths,
    decode,
    detect_decimal,
    detect_delimiter,
)

__all__ = ["ReaderOptions", "read_table", "reader_options", "file_sha256"]

DELIMITED_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx"})
PARQUET_SUFFIXES = frozenset({".parquet"})
SUPPORTED_SUFFIXES = DELIMITED_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES

_HASH_CHUNK_BYTES = 1024 * 1024

# Limits of what a reader takes (docs/data.md): past them a file is refused with a clear error instead of being
# parsed for minutes (a 10^6-column CSV, a zip-bomb workbook). Fields up to MAX_FIELD_CHARS are read, far beyond
# the csv module's default 131,072 that refused a valid 30 MB free-text answer as "unbalanced quotes".
MAX_COLUMNS = 16_384  # a spreadsheet's own column limit
MAX_FIELD_CHARS = 64 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 256 * 1024 * 1024
csv.field_size_limit(MAX_FIELD_CHARS)


class ReaderOptions(BaseModel):
    """Optional pins for :func:`read_table`; anything left unset is detected.

    ``encoding``, ``delimiter`` and ``decimal`` apply to delimited text only; ``sheet`` to XLSX only.
    ``skip_rows`` drops that many lines above the header. ``label_row`` drops the one row right under the header
    that Kobo/ODK exports fill with question labels, so that the columns below it can be numeric; an undeclared
    label row is refused (it would turn numeric columns into text), and so is a declared one that holds data.
    ``date_format`` (strftime, e.g. ``%d.%m.%Y``) pins the format of every column in ``date_columns``.
    ``time_zone`` (IANA name, e.g. ``Asia/Bishkek``) is the zone every timestamp is expressed in (see above).
    ``group_prefixes``: ``auto`` (default), ``kobo``, ``odk_central`` or ``keep`` (see ``_groups``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    decimal: str | None = Field(default=None, pattern=r"^[.,]$")
    sheet: str | NonNegativeInt | None = None
    label_row: bool = False
    date_columns: tuple[str, ...] = ()
    date_format: str | None = Field(default=None, pattern=r"%")
    skip_rows: NonNegativeInt = 0
    time_zone: str = "UTC"
    group_prefixes: GroupStyle = "auto"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_time_zone(value)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError as err:
                raise ValueError("unknown encoding name; use e.g. 'utf-8', 'utf-16' or 'cp1251'") from err
        return value


def reader_options(pins: Mapping[str, Any] | None, *, file: str = "study.yaml", field: str = "reader") -> ReaderOptions:
    """Reader pins as written in a config file, turned into ``ReaderOptions`` or a one-line ``SpecError``.

    ``field`` is where the pins live (e.g. ``sources.survey.reader``); the error names the bad key under it.
    """
    try:
        return ReaderOptions.model_validate(dict(pins or {}))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        key = ".".join(str(part) for part in first.get("loc", ()))
        where = f"{field}.{key}" if key else field
        if first.get("type") == "extra_forbidden":
            raise SpecError("unknown reader option", file=file, field=where,
                            fix=f"use one of: {', '.join(ReaderOptions.model_fields)}") from None
        raise SpecError(str(first.get("msg", "invalid value")), file=file, field=where,
                        fix="see the reader options in docs/data.md") from None


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks so large files do not sit in memory."""
    path = Path(path)
    _require_file(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_table(path: str | Path, options: ReaderOptions | None = None, *, as_text: bool = False) -> pd.DataFrame:
    """Read a .csv/.tsv/.txt, .xlsx or .parquet file into a new DataFrame with a RangeIndex.

    With ``as_text`` every cell comes back as text exactly as the file holds it (missing cells missing, no numeric
    or date conversion): for tools that rewrite a file, such as ``oca data pseudonymize``.

    Raises DataError for a missing, empty, header-only, binary, truncated or unparseable file, an unsupported
    suffix, mixed encodings, a wrong delimiter, rows with the wrong number of fields, duplicated column names, an
    undeclared label row, or a ``date_columns`` entry that is absent or does not parse.
    """
    path = Path(path)
    options = options or ReaderOptions()
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"unsupported file type '{suffix or '(none)'}'",
            file=path.name,
            fix=f"save the data as one of {', '.join(sorted(SUPPORTED_SUFFIXES))}",
        )
    _require_file(path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty", file=path.name, fix="export the data again; the file has no bytes")

    if suffix in DELIMITED_SUFFIXES:
        frame, decimal = _read_delimited(path, options, as_text=as_text)
    elif suffix in EXCEL_SUFFIXES:
        frame, decimal = _read_xlsx(path, options, as_text=as_text), "."
    else:
        frame, decimal = _read_parquet(path, options, as_text=as_text), "."
    frame.columns = strip_group_prefixes(list(frame.columns), options.group_prefixes, file_name=path.name)
    if len(frame) == 0:
        raise DataError(
            "the file has a header but no data rows",
            file=path.name,
            fix="export the data again with its rows, or check 'skip_rows'/'label_row'",
        )
    if not options.label_row and suffix not in PARQUET_SUFFIXES:
        _refuse_undeclared_label_row(frame, decimal, path.name)
    if as_text:
        return frame.reset_index(drop=True)
    frame = _normalise_numeric(frame)
    frame = _parse_dates(frame, options, path.name)
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- shared helpers


def _require_file(path: Path) -> None:
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"the data file {what}", file=path.name, fix="check the file path and name")


def _clean_header(names: list[Any], file_name: str) -> list[str]:
    """Strip whitespace and stray BOMs from column names and refuse duplicates (pandas would rename them)."""
    cleaned = ["" if _is_missing(name) else str(name).replace("\ufeff", "").strip() for name in names]
    seen: set[str] = set()
    for name in cleaned:
        if name and name in seen:
            raise DataError(
                "the column name appears more than once in the header",
                file=file_name,
                column=name,
                fix="rename or remove the duplicated column so every column name is unique",
            )
        seen.add(name)
    return cleaned


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _drop_unnamed_empty_columns(frame: pd.DataFrame, file_name: str) -> pd.DataFrame:
    """Spreadsheets often leave blank trailing columns; drop those, but refuse a blank name over real data."""
    keep = []
    for position, name in enumerate(frame.columns):
        if name:
            keep.append(position)
        elif frame.iloc[:, position].notna().any():
            raise DataError(
                f"column {position + 1} has data but no name in the header",
                file=file_name,
                fix="give every column a name in the header row",
            )
    return frame.iloc[:, keep]


def _normalise_numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Map nullable numeric dtypes to the module's convention: int64 when complete, float64 with NaN otherwise."""
    converted = {}
    for name in frame.columns:
        dtype = frame[name].dtype
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype) \
                and not pd.api.types.is_bool_dtype(dtype):
            column = frame[name]
            if pd.api.types.is_integer_dtype(dtype) and not column.isna().any():
                converted[name] = column.astype("int64")
            else:
                converted[name] = column.astype("float64")
    return frame.assign(**converted) if converted else frame


def _parse_dates(frame: pd.DataFrame, options: ReaderOptions, file_name: str) -> pd.DataFrame:
    parsed = {}
    for name in options.date_columns:
        if name not in frame.columns:
            raise DataError("a pinned date column is missing", file=file_name, column=name,
                            fix="fix the name in the reader's 'date_columns' or add the column")
        parsed[name] = parse_date_column(frame[name], date_format=options.date_format, file_name=file_name,
                                         name=name, time_zone=options.time_zone)
    return frame.assign(**parsed) if parsed else frame


def _is_number_text(value: Any, decimal: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        return not _is_missing(value)
    if not isinstance(value, str):
        return False
    text = value.strip()
    if decimal == ",":
        text = text.replace(",", ".")
    try:
        float(text)
    except ValueError:
        return False
    return bool(text)


def _refuse_undeclared_label_row(frame: pd.DataFrame, decimal: str, file_name: str) -> None:
    """Kobo/ODK exports can carry question labels in the row under the header. Read as data, that row turns every
    numeric column into text; refuse it when it is text over columns that are numbers everywhere below it.

    Two or more such columns, making up at least half of the numeric columns, are needed: one stray word in one
    column is a data error for the contract to report, not a label row.
    """
    if len(frame) < 2:
        return
    label_like = numeric = 0
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numeric += 1
            continue
        first, below = column.iloc[0], column.iloc[1:].dropna()
        if below.empty or _is_missing(first) or not str(first).strip() or _is_number_text(first, decimal):
            continue
        if all(_is_number_text(value, decimal) for value in below):
            label_like += 1
    if label_like >= 2 and 2 * label_like >= label_like + numeric:
        raise DataError(f"the row under the header looks like a second header (text over {label_like} columns "
                        "that hold numbers below it, as in Kobo/ODK exports with question labels)", file=file_name,
                        fix="declare it with label_row: true in the reader options of this source in study.yaml, "
                            "or delete that row")


def _refuse_data_as_label_row(labels: list[Any], frame: pd.DataFrame, file_name: str) -> None:
    """A declared label row must not be data: over numeric columns it should hold text (or nothing)."""
    numeric = [i for i, name in enumerate(frame.columns)
               if pd.api.types.is_numeric_dtype(frame[name]) and not pd.api.types.is_bool_dtype(frame[name])]
    if not numeric:
        return
    numbers = sum(1 for i in numeric if i < len(labels) and _is_number_text(labels[i], "."))
    if numbers and 2 * numbers >= len(numeric):
        raise DataError(f"label_row is declared but the row under the header holds numbers in {numbers} of "
                        f"{len(numeric)} numeric columns: it looks like data, which would be dropped", file=file_name,
                        fix="remove label_row: true from the reader options if this file has no label row")


# --------------------------------------------------------------------------- delimited text


def _read_delimited(path: Path, options: ReaderOptions, *, as_text: bool) -> tuple[pd.DataFrame, str]:
    text = decode(path.read_bytes(), options.encoding, path.name)
    lines = io.StringIO(text)
    for _ in range(options.skip_rows):
        lines.readline()
    body = lines.read()
    if not body.strip():
        raise DataError("the file has no header row", file=path.name,
                        fix="export the data again, or lower 'skip_rows'")

    if options.delimiter:
        delimiter = options.delimiter
    elif path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        delimiter = detect_delimiter(body)
    check_header_split(body.splitlines()[0], delimiter, pinned=bool(options.delimiter), file_name=path.name)
    header = _clean_header(next(csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True)),
                           path.name)
    _refuse_too_many_columns(len(header), path.name)
    check_row_lengths(body, delimiter, len(header), first_line=options.skip_rows + 1, file_name=path.name)
    decimal = options.decimal or detect_decimal(body, delimiter)
    text_options: dict[str, Any] = {"dtype": "str", "keep_default_na": False, "na_values": [""]} \
        if as_text else {"decimal": decimal}

    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=delimiter,
            header=0,
            skiprows=[1] if options.label_row else None,
            index_col=False,
            skipinitialspace=True,
            **text_options,
        )
    except pd.errors.EmptyDataError as err:
        raise DataError("the file has no header row", file=path.name, fix="export the data again") from err
    except (pd.errors.ParserError, ValueError) as err:
        # The parser's own message may quote the offending line, so only its line number is kept.
        line = re.search(r"line (\d+)", str(err))
        where = f" near line {line.group(1)}" if line else ""
        raise DataError(
            f"the rows do not split into the header's {len(header)} columns{where}",
            file=path.name,
            fix="check for stray delimiters or unbalanced quotes, or pin 'delimiter' in the reader options",
        ) from err
    if len(frame.columns) != len(header):
        raise DataError(
            f"the rows have {len(frame.columns)} fields but the header has {len(header)}",
            file=path.name,
            fix="check for stray delimiters, or pin 'delimiter' in the reader options",
        )
    frame.columns = header
    frame = _drop_unnamed_empty_columns(frame, path.name)
    if options.label_row and len(frame):
        records = csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True)
        next(records, None)
        label_cells = next(records, [])
        _refuse_data_as_label_row(label_cells, frame, path.name)
    return frame, decimal


# --------------------------------------------------------------------------- XLSX and Parquet


def _refuse_too_many_columns(n_columns: int, file_name: str) -> None:
    if n_columns > MAX_COLUMNS:
        raise DataError(f"the header has {n_columns:,} columns, more than the {MAX_COLUMNS:,} oca reads",
                        file=file_name, fix="check the delimiter and the export (one column per variable), or keep "
                                            "only the columns the study uses")


def _refuse_oversized_workbook(path: Path) -> None:
    """A workbook is a zip archive: its unpacked size is known before anything is parsed (a zip bomb of 400 MB of
    sheet XML in a small file was parsed for a minute)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip at all: the workbook reader reports it as unreadable
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise DataError(f"the workbook unpacks to {unpacked / 1024**2:,.0f} MB, more than the "
                        f"{MAX_XLSX_UNPACKED_BYTES / 1024**2:,.0f} MB oca reads from an XLSX file", file=path.name,
                        fix="export the data as CSV or Parquet, or remove sheets and formatting the study does not "
                            "use")


def _read_xlsx(path: Path, options: ReaderOptions, *, as_text: bool) -> pd.DataFrame:
    sheet = options.sheet if options.sheet is not None else 0
    _refuse_oversized_workbook(path)
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
    except Exception as err:  # zipfile/openpyxl raise many unrelated types for a file that is not a workbook
        raise DataError("the file is not a readable XLSX workbook (damaged, truncated or another format)",
                        file=path.name, fix="open it in a spreadsheet program and save it again as .xlsx") from err
    with workbook:
        if isinstance(sheet, str) and sheet not in workbook.sheet_names:
            raise DataError(f"the workbook has no sheet named '{sheet}'", file=path.name,
                            fix=f"pin 'sheet' to one of: {', '.join(map(str, workbook.sheet_names))}")
        if isinstance(sheet, int) and sheet >= len(workbook.sheet_names):
            raise DataError(f"the workbook has {len(workbook.sheet_names)} sheet(s), not a sheet number {sheet}",
                            file=path.name, fix="pin 'sheet' to an existing sheet name or 0-based number")
        # Read the header row on its own first: pandas would silently rename duplicated names.
        skip_above = list(range(options.skip_rows))
        try:
            top = pd.read_excel(workbook, sheet_name=sheet, header=None, nrows=2, skiprows=skip_above)
            if top.empty:
                raise DataError("the sheet has no header row", file=path.name,
                                fix="put the column names in the first row, or lower 'skip_rows'")
            header = _clean_header(list(top.iloc[0]), path.name)
            _refuse_too_many_columns(len(header), path.name)
            label_row = [options.skip_rows + 1] if options.label_row else []
            frame = pd.read_excel(workbook, sheet_name=sheet, header=0, skiprows=skip_above + label_row,
                                  dtype=object if as_text else None)
        except DataError:
            raise
        except Exception as err:  # openpyxl raises many unrelated types for a damaged workbook
            raise DataError("the workbook could not be parsed", file=path.name,
                            fix="open it in a spreadsheet program and save it again as .xlsx") from err
    # Data cells right of the header get a blank name, so that they are either dropped (empty) or refused.
    header = header + [""] * (len(frame.columns) - len(header))
    frame.columns = header[: len(frame.columns)]
    frame = _drop_unnamed_empty_columns(frame, path.name)
    # Formatted but empty spreadsheet rows come back as all-missing rows.
    frame = frame.dropna(how="all")
    frame = _cells_as_text(frame) if as_text else _dates_as_iso_text(frame, keep=options.date_columns,
                                                                      time_zone=options.time_zone)
    if options.label_row and len(frame) and len(top) > 1:
        _refuse_data_as_label_row(list(top.iloc[1]), frame, path.name)
    return frame


def _iso(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _dates_as_iso_text(frame: pd.DataFrame, *, keep: tuple[str, ...], time_zone: str = "UTC") -> pd.DataFrame:
    """Typed date cells (workbook, Parquet) as ISO text; columns in ``date_columns`` are parsed later and keep their
    type. Time-zone-aware cells are first expressed in ``time_zone`` (the module's one rule)."""
    converted = {}
    for name in frame.columns:
        if name in keep:
            continue
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column):
            column = to_zone(column, name=str(name), time_zone=time_zone)
            converted[name] = column.map(_iso, na_action="ignore").astype("str")
        elif column.dtype == object and column.map(lambda v: isinstance(v, (dt.date, dt.datetime))).any():
            converted[name] = column.map(_iso, na_action="ignore")
    return frame.assign(**converted) if converted else frame


def _cell_text(value: Any) -> Any:
    if _is_missing(value):
        return pd.NA
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(_iso(value))


def _cells_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda column: column.map(_cell_text).astype("str"))


def _read_parquet(path: Path, options: ReaderOptions, *, as_text: bool) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises its own error types for corrupt files
        raise DataError("the file is not a readable Parquet file (damaged, truncated or another format)",
                        file=path.name, fix="write it again with pandas/pyarrow, or export it as CSV") from err
    header = _clean_header(list(frame.columns), path.name)
    _refuse_too_many_columns(len(header), path.name)
    frame = frame.reset_index(drop=True)
    frame.columns = header
    # Typed dates/timestamps as ISO text, as from a workbook: one contract (e.g. a strftime format) fits both.
    frame = _dates_as_iso_text(frame, keep=options.date_columns, time_zone=options.time_zone)
    return frame
