"""Readers: encodings, delimiters, decimal comma, XLSX label rows, Parquet, and one-line errors without values."""

from __future__ import annotations

import codecs
import hashlib

import numpy as np
import pandas as pd
import pydantic
import pytest

from oca_experiments.errors import DataError
from oca_experiments.io import ReaderOptions, file_sha256, read_table

CYRILLIC = "Айгуль Бакытова"
SECRET = "R99999"  # a planted value that must never appear in an error message


def write_text(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def assert_clean_error(err: DataError, file_name: str, tmp_path) -> None:
    text = str(err)
    assert file_name in text
    assert str(tmp_path) not in text, "only the file name, never the full path"
    assert SECRET not in text
    assert "\n" not in text
    assert err.file == file_name


# --------------------------------------------------------------------------- encodings and delimiters


def test_utf8_csv_keeps_cyrillic_and_types(tmp_path):
    path = write_text(tmp_path / "survey.csv",
                      f"respondent_id,name,h_trust_1,h_trust_2\n{SECRET},{CYRILLIC},3,4\nR00002,Бакыт,,5\n")
    df = read_table(path)
    assert df["name"].tolist() == [CYRILLIC, "Бакыт"]
    # Documented convention: complete integer column -> int64, integer column with gaps -> float64 with NaN.
    assert df["h_trust_2"].dtype == np.int64
    assert df["h_trust_1"].dtype == np.float64
    assert np.isnan(df["h_trust_1"].iloc[1])
    assert isinstance(df.index, pd.RangeIndex)


def test_utf8_bom_and_header_whitespace_are_stripped(tmp_path):
    path = write_text(tmp_path / "bom.csv", " respondent_id , wave \nR00001,baseline\n", encoding="utf-8-sig")
    assert list(read_table(path).columns) == ["respondent_id", "wave"]


def test_utf16_with_bom_tab_separated(tmp_path):
    path = write_text(tmp_path / "export.txt", f"id\tname\tscore\n1\t{CYRILLIC}\t2.5\n", encoding="utf-16")
    df = read_table(path)
    assert df.columns.tolist() == ["id", "name", "score"]
    assert df.loc[0, "name"] == CYRILLIC
    assert df.loc[0, "score"] == 2.5


def test_cp1251_semicolon_and_decimal_comma(tmp_path):
    path = write_text(tmp_path / "cp.csv", f"id;имя;score\n1;{CYRILLIC};1,5\n2;Бакыт;2,25\n", encoding="cp1251")
    df = read_table(path)
    assert df.columns.tolist() == ["id", "имя", "score"]
    assert df["имя"].tolist() == [CYRILLIC, "Бакыт"]
    assert df["score"].tolist() == [1.5, 2.25]
    assert df["id"].dtype == np.int64


def test_semicolon_without_decimal_comma_keeps_point(tmp_path):
    path = write_text(tmp_path / "semi.csv", "a;b\n1.5;x\n2.5;y\n")
    assert read_table(path)["a"].tolist() == [1.5, 2.5]


def test_tsv_suffix_and_pins(tmp_path):
    path = write_text(tmp_path / "pinned.tsv", "a\tb\n1,5\tx\n")
    df = read_table(path, ReaderOptions(decimal=","))
    assert df["a"].tolist() == [1.5]
    pinned = write_text(tmp_path / "pinned.csv", "a|b\n1|2\n")
    assert read_table(pinned, ReaderOptions(delimiter="|")).columns.tolist() == ["a", "b"]
    latin = write_text(tmp_path / "latin.csv", "name\nJosé\n", encoding="latin-1")
    assert read_table(latin, ReaderOptions(encoding="latin-1"))["name"].tolist() == ["José"]


def test_label_row_and_skip_rows_in_csv(tmp_path):
    text = "exported by Kobo\nq1,q2\nHow much do you trust?,Sex\n3,female\n5,male\n"
    df = read_table(write_text(tmp_path / "kobo.csv", text), ReaderOptions(skip_rows=1, label_row=True))
    assert df.columns.tolist() == ["q1", "q2"]
    assert df["q1"].dtype == np.int64
    assert df["q1"].tolist() == [3, 5]


def test_date_columns_are_parsed_and_bad_dates_are_named(tmp_path):
    path = write_text(tmp_path / "dates.csv", "date,n\n2024-01-02,1\n2024-01-03,2\n")
    df = read_table(path, ReaderOptions(date_columns=["date"]))
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    bad = write_text(tmp_path / "bad_dates.csv", f"date,n\n{SECRET},1\n")
    with pytest.raises(DataError) as info:
        read_table(bad, ReaderOptions(date_columns=["date"]))
    assert info.value.column == "date"
    assert_clean_error(info.value, "bad_dates.csv", tmp_path)


def test_reader_does_not_share_index_and_returns_new_frame(tmp_path):
    path = write_text(tmp_path / "a.csv", "a,b\n1,2\n3,4\n")
    first, second = read_table(path), read_table(path)
    first.loc[0, "a"] = 100
    assert second.loc[0, "a"] == 1
    assert isinstance(first.index, pd.RangeIndex)


# --------------------------------------------------------------------------- XLSX and Parquet


def test_xlsx_without_label_row(tmp_path):
    path = tmp_path / "survey.xlsx"
    pd.DataFrame({" h_trust_1 ": [1, 2, None], "name": [CYRILLIC, "b", "c"]}).to_excel(path, index=False)
    df = read_table(path)
    assert df.columns.tolist() == ["h_trust_1", "name"]
    assert df["h_trust_1"].dtype == np.float64
    assert df.loc[0, "name"] == CYRILLIC


def test_xlsx_with_label_row_gives_numeric_columns(tmp_path):
    path = tmp_path / "kobo.xlsx"
    frame = pd.DataFrame({"q1": ["How much do you trust your neighbours?", 3, 4], "q2": ["Sex", "female", "male"]})
    frame.to_excel(path, index=False, sheet_name="data")
    df = read_table(path, ReaderOptions(label_row=True, sheet="data"))
    assert df["q1"].dtype == np.int64
    assert df["q1"].tolist() == [3, 4]
    assert df["q2"].tolist() == ["female", "male"]


def test_xlsx_missing_sheet_and_duplicate_header(tmp_path):
    path = tmp_path / "two.xlsx"
    pd.DataFrame([[1, 2]], columns=["a", "a "]).to_excel(path, index=False)
    with pytest.raises(DataError) as info:
        read_table(path)
    assert info.value.column == "a"
    with pytest.raises(DataError, match="no sheet named"):
        read_table(path, ReaderOptions(sheet="nope"))


def test_parquet_nullable_integers_follow_the_convention(tmp_path):
    path = tmp_path / "eng.parquet"
    pd.DataFrame({
        "gaps": pd.array([1, None], dtype="Int64"),
        "full": pd.array([1, 2], dtype="Int64"),
        "page_id": ["P01", "P02"],
    }).to_parquet(path)
    df = read_table(path)
    assert df["gaps"].dtype == np.float64
    assert df["full"].dtype == np.int64
    assert df["page_id"].tolist() == ["P01", "P02"]


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist") as info:
        read_table(tmp_path / "nowhere.csv")
    assert_clean_error(info.value, "nowhere.csv", tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty") as info:
        read_table(path)
    assert_clean_error(info.value, "empty.csv", tmp_path)


@pytest.mark.parametrize("text", ["respondent_id,wave\n", "respondent_id,wave\n\n\n", "   \n"])
def test_header_only_or_blank_file(tmp_path, text):
    path = write_text(tmp_path / "header.csv", text)
    with pytest.raises(DataError) as info:
        read_table(path)
    assert_clean_error(info.value, "header.csv", tmp_path)


def test_header_only_after_label_row(tmp_path):
    path = write_text(tmp_path / "labels.csv", f"q1,q2\n{SECRET},Sex\n")
    with pytest.raises(DataError, match="no data rows") as info:
        read_table(path, ReaderOptions(label_row=True))
    assert_clean_error(info.value, "labels.csv", tmp_path)


def test_binary_file(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(bytes(range(256)) * 8 + SECRET.encode())
    with pytest.raises(DataError, match="binary") as info:
        read_table(path)
    assert_clean_error(info.value, "photo.csv", tmp_path)


def test_pinned_encoding_that_does_not_fit(tmp_path):
    path = write_text(tmp_path / "cp.csv", f"name\n{CYRILLIC}\n", encoding="cp1251")
    with pytest.raises(DataError, match="utf-8") as info:
        read_table(path, ReaderOptions(encoding="utf-8"))
    assert_clean_error(info.value, "cp.csv", tmp_path)


def test_duplicate_column_names_are_named(tmp_path):
    path = write_text(tmp_path / "dups.csv", f"respondent_id,wave, wave\n{SECRET},a,b\n")
    with pytest.raises(DataError, match="more than once") as info:
        read_table(path)
    assert info.value.column == "wave"
    assert_clean_error(info.value, "dups.csv", tmp_path)


def test_ragged_rows(tmp_path):
    path = write_text(tmp_path / "ragged.csv", f"a,b\n1,2\n{SECRET},2,3,4\n")
    with pytest.raises(DataError) as info:
        read_table(path)
    assert_clean_error(info.value, "ragged.csv", tmp_path)


def test_unsupported_suffix(tmp_path):
    path = write_text(tmp_path / "survey.sav", "a,b\n1,2\n")
    with pytest.raises(DataError, match="unsupported") as info:
        read_table(path)
    assert_clean_error(info.value, "survey.sav", tmp_path)


@pytest.mark.parametrize("name", ["broken.xlsx", "broken.parquet"])
def test_unparseable_workbook_or_parquet(tmp_path, name):
    path = write_text(tmp_path / name, f"not a workbook {SECRET}")
    with pytest.raises(DataError, match="not a readable") as info:
        read_table(path)
    assert_clean_error(info.value, name, tmp_path)


def test_reader_options_are_frozen_and_strict():
    options = ReaderOptions(delimiter=";")
    with pytest.raises(pydantic.ValidationError):
        options.delimiter = ","  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        ReaderOptions(delimeter=";")  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        ReaderOptions(encoding="no-such-codec")


def test_file_sha256_streams_the_bytes(tmp_path):
    payload = codecs.BOM_UTF8 + "a,b\n1,2\n".encode() * 10_000
    path = tmp_path / "big.csv"
    path.write_bytes(payload)
    assert file_sha256(path) == hashlib.sha256(payload).hexdigest()
    with pytest.raises(DataError):
        file_sha256(tmp_path / "missing.csv")


def test_header_only_xlsx(tmp_path):
    path = tmp_path / "header_only.xlsx"
    pd.DataFrame(columns=["respondent_id", "wave"]).to_excel(path, index=False)
    with pytest.raises(DataError, match="no data rows") as info:
        read_table(path)
    assert_clean_error(info.value, "header_only.xlsx", tmp_path)


# --------------------------------------------------------------------------- detection added for field exports


def test_utf16_without_bom_is_detected(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(f"id,name\n1,{CYRILLIC}\n".encode("utf-16-le"))
    assert read_table(path)["name"].tolist() == [CYRILLIC]


def test_mixed_encodings_are_refused_with_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(f"id,name\n1,{CYRILLIC}\n".encode() + f"2,{SECRET} Бакыт\n".encode("cp1251"))
    with pytest.raises(DataError, match="mixes two text encodings.*line 3") as info:
        read_table(path)
    assert_clean_error(info.value, "mixed.csv", tmp_path)


def test_an_unguessed_delimiter_is_named(tmp_path):
    path = write_text(tmp_path / "pipe.csv", f"id|name|score\n{SECRET}|a|1\n")
    with pytest.raises(DataError, match="'\\|' splits it into 3 columns") as info:
        read_table(path)
    assert_clean_error(info.value, "pipe.csv", tmp_path)


def test_a_wrong_delimiter_pin_is_named(tmp_path):
    path = write_text(tmp_path / "comma.csv", "id,name,score\n1,a,2\n")
    with pytest.raises(DataError, match="pinned delimiter ';'"):
        read_table(path, ReaderOptions(delimiter=";"))


def test_truncated_and_short_rows_are_refused(tmp_path):
    truncated = write_text(tmp_path / "cut.csv", f"a,b,c\n1,2,3\n{SECRET},5")
    with pytest.raises(DataError, match="truncated") as info:
        read_table(truncated)
    assert_clean_error(info.value, "cut.csv", tmp_path)
    short = write_text(tmp_path / "short.csv", "a,b,c\n1,2\n4,5,6\n")
    with pytest.raises(DataError, match="line 2 has 2 fields but the header has 3"):
        read_table(short)


def test_an_undeclared_label_row_is_refused_and_a_declared_one_checked(tmp_path):
    text = "q1,q2,q3\nHow much do you trust?,Sex,Age\n3,female,4\n5,male,6\n"
    with pytest.raises(DataError, match="second header") as info:
        read_table(write_text(tmp_path / "kobo.csv", text))
    assert "label_row: true" in str(info.value)
    no_labels = write_text(tmp_path / "plain.csv", "q1,q2,q3\n3,female,4\n5,male,6\n7,male,8\n")
    with pytest.raises(DataError, match="label_row is declared"):
        read_table(no_labels, ReaderOptions(label_row=True))
    # One stray word over one numeric column is a data error for the contract, not a label row.
    stray = read_table(write_text(tmp_path / "stray.csv", "q1,q2,q3\nagree,female,4\n5,male,6\n7,male,8\n"))
    assert stray["q1"].tolist() == ["agree", "5", "7"]


def test_an_undeclared_label_row_in_xlsx_is_refused(tmp_path):
    path = tmp_path / "kobo.xlsx"
    pd.DataFrame({"q1": ["Trust?", 3, 4], "q2": ["Age", 30, 40], "q3": ["Sex", "f", "m"]}).to_excel(path, index=False)
    with pytest.raises(DataError, match="second header"):
        read_table(path)


@pytest.mark.parametrize(("values", "expected"), [
    (["2026-02-25", "2026-03-01"], ["2026-02-25", "2026-03-01"]),
    (["25.02.2026", "01.03.2026"], ["2026-02-25", "2026-03-01"]),              # Russian-locale Excel
    (["25/02/2026", "01/03/2026"], ["2026-02-25", "2026-03-01"]),              # day first: 25 cannot be a month
    (["02/25/2026", "03/01/2026"], ["2026-02-25", "2026-03-01"]),              # month first: 25 cannot be a month
    (["2026-02-25T10:15:32.000+06:00", "2026-03-01T09:00:00.000+06:00"], ["2026-02-25", "2026-03-01"]),  # Kobo
])
def test_dates_in_common_formats(tmp_path, values, expected):
    path = write_text(tmp_path / "dates.csv", "d,n\n" + "".join(f"{v},{i}\n" for i, v in enumerate(values)))
    parsed = read_table(path, ReaderOptions(date_columns=["d"]))["d"]
    assert pd.api.types.is_datetime64_any_dtype(parsed)
    assert parsed.dt.strftime("%Y-%m-%d").tolist() == expected


def test_ambiguous_dates_need_a_pinned_format(tmp_path):
    path = write_text(tmp_path / "dates.csv", "d,n\n01/02/2026,1\n03/04/2026,2\n")
    with pytest.raises(DataError, match="day/month or month/day") as info:
        read_table(path, ReaderOptions(date_columns=["d"]))
    assert info.value.column == "d"
    pinned = read_table(path, ReaderOptions(date_columns=["d"], date_format="%m/%d/%Y"))["d"]
    assert pinned.dt.strftime("%Y-%m-%d").tolist() == ["2026-01-02", "2026-03-04"]


def test_unparseable_dates_give_counts_and_rows(tmp_path):
    path = write_text(tmp_path / "dates.csv", f"d,n\n2026-02-25,1\n{SECRET},2\n2026-02-31,3\n")
    with pytest.raises(DataError, match="2 of 3 values are not dates.*rows 1, 2") as info:
        read_table(path, ReaderOptions(date_columns=["d"]))
    assert_clean_error(info.value, "dates.csv", tmp_path)


def test_xlsx_date_cells_read_as_iso_text_like_a_csv(tmp_path):
    import datetime as dt

    path = tmp_path / "dates.xlsx"
    pd.DataFrame({"interview_date": [dt.datetime(2026, 2, 25), dt.datetime(2026, 3, 1)],
                  "n": [1, 2]}).to_excel(path, index=False)
    assert read_table(path)["interview_date"].tolist() == ["2026-02-25", "2026-03-01"]
    parsed = read_table(path, ReaderOptions(date_columns=["interview_date"]))["interview_date"]
    assert pd.api.types.is_datetime64_any_dtype(parsed)


def test_as_text_keeps_cells_exactly(tmp_path):
    path = write_text(tmp_path / "ids.csv", "id,score,note\n007,1.50,NA\n008,,x\n")
    frame = read_table(path, as_text=True)
    assert frame["id"].tolist() == ["007", "008"]
    assert frame["score"].iloc[0] == "1.50" and pd.isna(frame["score"].iloc[1])
    assert frame["note"].tolist() == ["NA", "x"]


def test_reader_pins_from_a_config_give_one_line_spec_errors():
    from oca_experiments.errors import SpecError
    from oca_experiments.io import reader_options

    assert reader_options({"encoding": "cp1251", "label_row": True}).label_row is True
    with pytest.raises(SpecError) as info:
        reader_options({"encodng": "cp1251"}, field="sources.survey.reader")
    assert str(info.value).startswith("study.yaml: sources.survey.reader.encodng: unknown reader option")
    with pytest.raises(SpecError, match="sources.survey.reader.delimiter"):
        reader_options({"delimiter": ";;"}, field="sources.survey.reader")


# ---- issue 18 item 10: bounded reads (documented limits, clear errors) and large valid fields


def test_a_csv_with_more_columns_than_the_limit_is_refused_before_parsing(tmp_path):
    from oca_experiments.io import _readers

    n = _readers.MAX_COLUMNS + 1
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(n)) + "\n" + ",".join("1" for _ in range(n)) + "\n")
    with pytest.raises(DataError, match=f"the header has {n:,} columns, more than the 16,384 oca reads") as err:
        read_table(path)
    assert err.value.file == "wide.csv" and "Fix:" in str(err.value)


def test_a_valid_long_text_field_is_read(tmp_path):
    """A 1 MB free-text answer (the csv module's default limit is 131,072 characters) was 'unbalanced quotes'."""
    long_text = "слово " * 200_000
    path = tmp_path / "long.csv"
    path.write_text(f'id,comment,score\n1,"{long_text}",3\n2,short,4\n', encoding="utf-8")
    frame = read_table(path)
    assert frame["comment"][0] == long_text.strip() or frame["comment"][0] == long_text
    assert list(frame["score"]) == [3, 4]


def test_a_field_past_the_limit_is_refused_as_such(tmp_path, monkeypatch):
    import csv

    previous = csv.field_size_limit(1000)
    try:
        path = tmp_path / "runaway.csv"
        path.write_text('id,comment\n1,"' + "x" * 5000 + '"\n', encoding="utf-8")
        with pytest.raises(DataError, match="a field near line 2 is longer than the 1,000 characters"):
            read_table(path)
    finally:
        csv.field_size_limit(previous)


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    import zipfile

    from oca_experiments.io import _readers

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<c/>" * 2_000_000)  # 8 MB of XML in a few kB
    assert path.stat().st_size < 100_000
    monkeypatch.setattr(_readers, "MAX_XLSX_UNPACKED_BYTES", 4 * 1024 * 1024)
    with pytest.raises(DataError, match="the workbook unpacks to 8 MB, more than the 4 MB oca reads") as err:
        read_table(path)
    assert err.value.file == "bomb.xlsx"
