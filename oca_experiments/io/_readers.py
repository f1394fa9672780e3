"""Read one data file into a DataFrame, detecting encoding, delimiter and decimal comma.

Type conventions (the same for every format):

- Numeric columns come back numeric. An integer column with no missing cells is ``int64``; an integer column with
  missing cells (e.g. a Likert item someone skipped) is ``float64`` with ``NaN``. Nullable extension dtypes such as
  ``Int64`` (e.g. from Parquet) are normalised to the same two cases, so downstream code sees one convention.
- Text columns use pandas' default string dtype.
- Columns named in ``ReaderOptions.date_columns`` are parsed to ``datetime64``; every other date stays text.

Errors are :class:`~oca_experiments.errors.DataError` with the file *name* (never the full path, never a cell value).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, field_validator

from oca_experiments.errors import DataError

__all__ = ["ReaderOptions", "read_table", "file_sha256"]

DELIMITED_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
EXCEL_SUFFIXES = frozenset({".xlsx"})
PARQUET_SUFFIXES = frozenset({".parquet"})
SUPPORTED_SUFFIXES = DELIMITED_SUFFIXES | EXCEL_SUFFIXES | PARQUET_SUFFIXES

_CANDIDATE_DELIMITERS = (",", ";", "\t")
_SNIFF_SAMPLE_CHARS = 64 * 1024
_HASH_CHUNK_BYTES = 1024 * 1024
# A decoded text with more control characters than this share is treated as binary, not as a mis-encoded table.
_MAX_CONTROL_CHAR_SHARE = 0.01
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DECIMAL_COMMA_FIELD = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class ReaderOptions(BaseModel):
    """Optional pins for :func:`read_table`; anything left unset is detected.

    ``encoding``, ``delimiter`` and ``decimal`` apply to delimited text only; ``sheet`` to XLSX only.
    ``skip_rows`` drops that many lines above the header. ``label_row`` drops the one row right under the header
    that Kobo/ODK exports fill with question labels, so that the columns below it can be numeric.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    encoding: str | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    decimal: str | None = Field(default=None, pattern=r"^[.,]$")
    sheet: str | NonNegativeInt | None = None
    label_row: bool = False
    date_columns: tuple[str, ...] = ()
    skip_rows: NonNegativeInt = 0

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError as err:
                raise ValueError("unknown encoding name; use e.g. 'utf-8', 'utf-16' or 'cp1251'") from err
        return value


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks so large files do not sit in memory."""
    path = Path(path)
    _require_file(path)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_table(path: str | Path, options: ReaderOptions | None = None) -> pd.DataFrame:
    """Read a .csv/.tsv/.txt, .xlsx or .parquet file into a new DataFrame with a RangeIndex.

    Raises DataError for a missing, empty, header-only, binary or unparseable file, an unsupported suffix,
    duplicated column names, or a ``date_columns`` entry that is absent or does not parse.
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
        frame = _read_delimited(path, options)
    elif suffix in EXCEL_SUFFIXES:
        frame = _read_xlsx(path, options)
    else:
        frame = _read_parquet(path)

    frame = _normalise_numeric(frame)
    frame = _parse_dates(frame, options.date_columns, path.name)
    if len(frame) == 0:
        raise DataError(
            "the file has a header but no data rows",
            file=path.name,
            fix="export the data again with its rows, or check 'skip_rows'/'label_row'",
        )
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
    return value is None or (isinstance(value, float) and np.isnan(value))


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


def _parse_dates(frame: pd.DataFrame, date_columns: tuple[str, ...], file_name: str) -> pd.DataFrame:
    parsed = {}
    for name in date_columns:
        if name not in frame.columns:
            raise DataError("a pinned date column is missing", file=file_name, column=name,
                            fix="fix the name in the reader's 'date_columns' or add the column")
        try:
            parsed[name] = pd.to_datetime(frame[name], format="ISO8601")
        except (ValueError, TypeError) as err:
            raise DataError("the column has values that are not ISO dates (YYYY-MM-DD)", file=file_name,
                            column=name, fix="write dates as YYYY-MM-DD or remove the column from 'date_columns'",
                            ) from err
    return frame.assign(**parsed) if parsed else frame


# --------------------------------------------------------------------------- delimited text


def _read_delimited(path: Path, options: ReaderOptions) -> pd.DataFrame:
    text = _decode(path.read_bytes(), options.encoding, path.name)
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
        delimiter = _detect_delimiter(body)
    header = _clean_header(next(csv.reader(io.StringIO(body), delimiter=delimiter)), path.name)
    decimal = options.decimal or _detect_decimal(body, delimiter)

    try:
        frame = pd.read_csv(
            io.StringIO(body),
            sep=delimiter,
            decimal=decimal,
            header=0,
            skiprows=[1] if options.label_row else None,
            index_col=False,
            skipinitialspace=True,
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
    return _drop_unnamed_empty_columns(frame, path.name)


def _decode(raw: bytes, pinned_encoding: str | None, file_name: str) -> str:
    """Decode with the pinned encoding, else by BOM, else UTF-8, else cp1251 (common for Russian-language Excel)."""
    if pinned_encoding:
        try:
            text = raw.decode(pinned_encoding)
        except UnicodeDecodeError as err:
            raise DataError(f"the file is not valid {pinned_encoding} text", file=file_name,
                            fix="remove the 'encoding' pin to detect it, or pin the file's real encoding") from err
        return text.lstrip("\ufeff")

    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith(_UTF16_BOMS):
        encoding = "utf-16"
    else:
        if b"\x00" in raw:
            raise _binary_error(file_name)
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise _binary_error(file_name) from None
        try:
            text = raw.decode("cp1251")
        except UnicodeDecodeError:
            raise _binary_error(file_name) from None
    if len(_CONTROL_CHARS.findall(text)) > _MAX_CONTROL_CHAR_SHARE * max(len(text), 1):
        raise _binary_error(file_name)
    return text.lstrip("\ufeff")


def _binary_error(file_name: str) -> DataError:
    return DataError(
        "the file is binary or in an unknown text encoding",
        file=file_name,
        fix="save it as CSV in UTF-8, or pin 'encoding' in the reader options",
    )


def _detect_delimiter(body: str) -> str:
    sample = body[:_SNIFF_SAMPLE_CHARS]
    if len(body) > _SNIFF_SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut line would look like a different field count
    header_line = sample.splitlines()[0] if sample else ""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(_CANDIDATE_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in _CANDIDATE_DELIMITERS and _count_fields(header_line, sniffed) > 1:
        return sniffed
    # Fallback: the candidate that splits the header into the most fields; a one-column file is plain CSV.
    counts = {candidate: _count_fields(header_line, candidate) for candidate in _CANDIDATE_DELIMITERS}
    best = max(_CANDIDATE_DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] > 1 else ","


def _count_fields(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter), []))


def _detect_decimal(body: str, delimiter: str) -> str:
    """Semicolon files from locales that write 1,5 for one and a half use the decimal comma."""
    if delimiter != ";":
        return "."
    rows = csv.reader(io.StringIO(body[:_SNIFF_SAMPLE_CHARS]), delimiter=delimiter)
    next(rows, None)
    for row in rows:
        if any(_DECIMAL_COMMA_FIELD.match(field) for field in row):
            return ","
    return "."


# --------------------------------------------------------------------------- XLSX and Parquet


def _read_xlsx(path: Path, options: ReaderOptions) -> pd.DataFrame:
    sheet = options.sheet if options.sheet is not None else 0
    try:
        workbook = pd.ExcelFile(path, engine="openpyxl")
    except Exception as err:  # zipfile/openpyxl raise many unrelated types for a file that is not a workbook
        raise DataError("the file is not a readable XLSX workbook", file=path.name,
                        fix="open it in a spreadsheet program and save it again as .xlsx") from err
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
            header_row = pd.read_excel(workbook, sheet_name=sheet, header=None, nrows=1, skiprows=skip_above)
            if header_row.empty:
                raise DataError("the sheet has no header row", file=path.name,
                                fix="put the column names in the first row, or lower 'skip_rows'")
            header = _clean_header(list(header_row.iloc[0]), path.name)
            label_row = [options.skip_rows + 1] if options.label_row else []
            frame = pd.read_excel(workbook, sheet_name=sheet, header=0, skiprows=skip_above + label_row)
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
    return frame.dropna(how="all")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises its own error types for corrupt files
        raise DataError("the file is not a readable Parquet file", file=path.name,
                        fix="write it again with pandas/pyarrow, or export it as CSV") from err
    header = _clean_header(list(frame.columns), path.name)
    frame = frame.reset_index(drop=True)
    frame.columns = header
    return frame
