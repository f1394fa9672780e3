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
