"""Bytes to text for delimited files: encoding, delimiter and decimal-mark detection.

Detection order for the encoding (unless pinned): a BOM (UTF-8, UTF-16), UTF-16 without a BOM (every other byte
NUL), UTF-8, then cp1251, the code page Excel uses for Russian-language CSV. A file whose lines are partly UTF-8
and partly something else is refused rather than decoded into mojibake. Errors never quote the file's content.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re

from oca_experiments.errors import DataError

CANDIDATE_DELIMITERS = (",", ";", "\t")
# Delimiters seen in exports that oca does not guess (a pin is needed), named in the error so the fix is obvious.
_OTHER_DELIMITERS = ("|", ":", "^", "~")
SNIFF_SAMPLE_CHARS = 64 * 1024
# A decoded text with more control characters than this share is treated as binary, not as a mis-encoded table.
_MAX_CONTROL_CHAR_SHARE = 0.01
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_DECIMAL_COMMA_FIELD = re.compile(r"^\s*[+-]?\d+,\d+\s*$")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF16_PROBE_BYTES = 4096
# ASCII text in UTF-16 has a NUL in (nearly) every other byte; binary files have NULs scattered anywhere.
_UTF16_NUL_SHARE = 0.4
# cp1251 has no Kyrgyz letters ү ө ң (Ү Ө Ң): Excel writes '?' in their place when saving "CSV" in that code page,
# and UTF-8 bytes of those letters read as cp1251 come out as these pairs (mojibake).
_CYRILLIC = "А-Яа-яЁё"
# '?' inside a word or starting one (a '?' ending a word is usually a question mark and is not counted).
_LOST_KYRGYZ_LETTER = re.compile(rf"[{_CYRILLIC}]\?[{_CYRILLIC}]|(?<![^\s,;\"'(])\?[{_CYRILLIC}]")
_KYRGYZ_MOJIBAKE = re.compile("|".join(re.escape(letter.encode("utf-8").decode("cp1251")) for letter in "үҮөӨңҢ"))
_CP1251_NAMES = frozenset({"cp1251", "windows-1251", "1251"})

log = logging.getLogger("oca_experiments")


def decode(raw: bytes, pinned_encoding: str | None, file_name: str) -> str:
    """Decode a delimited file; a BOM is dropped. Raises DataError for binary, unknown or mixed encodings."""
    if pinned_encoding:
        try:
            text = raw.decode(pinned_encoding)
        except UnicodeDecodeError as err:
            raise DataError(f"the file is not valid {pinned_encoding} text", file=file_name,
                            fix="remove the 'encoding' pin to detect it, or pin the file's real encoding") from err
        if codecs.lookup(pinned_encoding).name in {codecs.lookup(n).name for n in _CP1251_NAMES}:
            warn_lost_kyrgyz_letters(text, file_name)
        return _refuse_binary(text, file_name).lstrip("\ufeff")

    if raw.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif raw.startswith(_UTF16_BOMS):
        encoding = "utf-16"
    elif b"\x00" in raw:
        encoding = _utf16_without_bom(raw)
        if encoding is None:
            raise binary_error(file_name)
    else:
        encoding = "utf-8"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise binary_error(file_name) from None
        _refuse_mixed_utf8(raw, file_name)
        try:
            text = raw.decode("cp1251")
        except UnicodeDecodeError:
            raise binary_error(file_name) from None
        warn_lost_kyrgyz_letters(text, file_name)
    return _refuse_binary(text, file_name).lstrip("\ufeff")


def warn_lost_kyrgyz_letters(text: str, file_name: str) -> int:
    """Warn when a cp1251 text shows Kyrgyz letters lost on the way ('?' inside Cyrillic words, or the cp1251
    reading of UTF-8 ү/ө/ң); return the number of lines affected. Only counts are logged, never the text."""
    lines = sum(1 for line in text.splitlines() if _LOST_KYRGYZ_LETTER.search(line) or _KYRGYZ_MOJIBAKE.search(line))
    if lines:
        log.warning("%s: read as cp1251, which cannot hold the Kyrgyz letters ү, ө, ң; %d line(s) show '?' or "
                    "garbled pairs where such letters were (see docs/data.md). Export the file again as UTF-8 "
                    "(Excel: 'CSV UTF-8'); the lost letters cannot be recovered from this file.", file_name, lines)
    return lines


def _utf16_without_bom(raw: bytes) -> str | None:
    probe = raw[:_UTF16_PROBE_BYTES]
    even, odd = probe[0::2], probe[1::2]
    if odd and odd.count(0) >= _UTF16_NUL_SHARE * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even and even.count(0) >= _UTF16_NUL_SHARE * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _refuse_mixed_utf8(raw: bytes, file_name: str) -> None:
    """Lines with non-ASCII text that are valid UTF-8 next to lines that are not: two encodings in one file.

    A cp1251 line is practically never valid UTF-8 (Cyrillic letters are bytes >= 0xC0 followed by more of them,
    never by the 0x80-0xBF continuation bytes UTF-8 needs), so one valid non-ASCII UTF-8 line is a strong signal.
    """
    first_bad = None
    utf8_lines = 0
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            first_bad = first_bad or number
        else:
            utf8_lines += 1
        if first_bad and utf8_lines:
            raise DataError(f"the file mixes two text encodings: some lines are UTF-8, line {first_bad} is not",
                            file=file_name,
                            fix="open every part in a spreadsheet program and save the whole file again as "
                                "UTF-8 CSV (or pin 'encoding' if one encoding is meant)")


def _refuse_binary(text: str, file_name: str) -> str:
    if len(_CONTROL_CHARS.findall(text)) > _MAX_CONTROL_CHAR_SHARE * max(len(text), 1):
        raise binary_error(file_name)
    return text


def binary_error(file_name: str) -> DataError:
    return DataError(
        "the file is binary or in an unknown text encoding",
        file=file_name,
        fix="save it as CSV in UTF-8, or pin 'encoding' in the reader options",
    )


def count_fields(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), []))


def detect_delimiter(body: str) -> str:
    sample = body[:SNIFF_SAMPLE_CHARS]
    if len(body) > SNIFF_SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut line would look like a different field count
    header_line = sample.splitlines()[0] if sample else ""
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(CANDIDATE_DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    if sniffed in CANDIDATE_DELIMITERS and count_fields(header_line, sniffed) > 1:
        return sniffed
    # Fallback: the candidate that splits the header into the most fields; a one-column file is plain CSV.
    counts = {candidate: count_fields(header_line, candidate) for candidate in CANDIDATE_DELIMITERS}
    best = max(CANDIDATE_DELIMITERS, key=lambda candidate: counts[candidate])
    return best if counts[best] > 1 else ","


def check_header_split(header_line: str, delimiter: str, *, pinned: bool, file_name: str) -> None:
    """A header that stays one column while another delimiter splits it means the delimiter is wrong."""
    if count_fields(header_line, delimiter) > 1:
        return
    others = [d for d in (*CANDIDATE_DELIMITERS, *_OTHER_DELIMITERS) if d != delimiter]
    splits = {d: count_fields(header_line, d) for d in others}
    best = max(others, key=lambda d: splits[d])
    if splits[best] <= 1:
        return
    shown = {"\t": "tab"}.get(best, best)
    mine = {"\t": "tab"}.get(delimiter, delimiter)
    if pinned:
        message = (f"the pinned delimiter '{mine}' leaves the header as one column, but '{shown}' splits it into "
                   f"{splits[best]} columns")
        fix = f"correct the 'delimiter' pin (to '{shown}'?) in the reader options"
    else:
        message = (f"the header is one column with ',', ';' and tab, but '{shown}' splits it into "
                   f"{splits[best]} columns: the file uses a delimiter oca does not guess")
        fix = f"pin delimiter: '{shown}' in the reader options of this source in study.yaml, or export it as CSV"
    raise DataError(message, file=file_name, fix=fix)


def detect_decimal(body: str, delimiter: str) -> str:
    """Semicolon files from locales that write 1,5 for one and a half use the decimal comma."""
    if delimiter != ";":
        return "."
    rows = csv.reader(io.StringIO(body[:SNIFF_SAMPLE_CHARS]), delimiter=delimiter)
    next(rows, None)
    for row in rows:
        if any(_DECIMAL_COMMA_FIELD.match(field) for field in row):
            return ","
    return "."


def check_row_lengths(body: str, delimiter: str, n_header: int, *, first_line: int, file_name: str) -> None:
    """Every record has the header's number of fields; pandas would pad short rows with missing values silently.

    ``first_line`` is the file line number of the header, so that errors point at lines a person can find.
    """
    reader = csv.reader(io.StringIO(body), delimiter=delimiter, skipinitialspace=True)
    ends_with_newline = body.endswith(("\n", "\r"))
    try:
        next(reader, None)
        for record in reader:
            n_fields = len(record)
            if not record or n_fields == n_header:
                continue  # blank lines are skipped, as pandas does
            line = first_line + reader.line_num - 1
            is_last = next(reader, None) is None
            if n_fields < n_header and is_last and not ends_with_newline:
                raise DataError(f"the file ends in the middle of a row: line {line} has {n_fields} of "
                                f"{n_header} fields and no line end; the file looks truncated", file=file_name,
                                fix="export or copy the file again; the last rows are missing")
            raise DataError(f"line {line} has {n_fields} fields but the header has {n_header}", file=file_name,
                            fix="check that line for a stray delimiter or an unbalanced quote, or pin 'delimiter' "
                                "in the reader options")
    except csv.Error as err:  # e.g. a NUL byte or a field larger than the csv module's limit
        if "field larger than field limit" in str(err):
            limit = csv.field_size_limit()
            raise DataError(f"a field near line {first_line + reader.line_num - 1} is longer than the {limit:,} "
                            "characters oca reads in one cell", file=file_name,
                            fix="check for an unbalanced quote that swallows the rows after it; a real text this "
                                "long belongs in a separate file") from err
        raise DataError(f"the rows cannot be split into fields (near line {first_line + reader.line_num - 1})",
                        file=file_name, fix="check for unbalanced quotes or stray control characters") from err
