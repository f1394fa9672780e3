"""The safe writer: every CSV/XLSX oca writes escapes spreadsheet formulas, keeps numbers and phones, and is atomic."""

from __future__ import annotations

import csv
import io

import openpyxl
import pandas as pd
import pytest

from oca_experiments.errors import DataError
from oca_experiments.io import escape_formula, read_table, safe_csv_text, write_table

PAYLOADS = ["=cmd|' /C calc'!A0", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1", "=HYPERLINK(\"http://x\",\"y\")"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formulas_get_a_leading_apostrophe(payload):
    assert escape_formula(payload) == "'" + payload


@pytest.mark.parametrize("value", ["+996 700 205 070", "-3.5", "+1", "ordinary text", "a=b", "", None, -3, 2.5])
def test_numbers_phones_and_plain_text_are_kept(value):
    assert escape_formula(value) == value


def test_csv_and_xlsx_outputs_never_hold_a_live_formula(tmp_path):
    frame = pd.DataFrame({"comment": PAYLOADS, "phone": ["+996 700 205 070"] * len(PAYLOADS),
                          "count": [-1, 0, 1, 2, 3, 4, 5], "=header": ["x"] * len(PAYLOADS)})
    records = list(csv.reader(io.StringIO(safe_csv_text(frame))))
    cells = [cell for record in records for cell in record]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                and not cell.startswith(("+996", "-1"))]
    csv_path = write_table(frame, tmp_path / "out.csv")
    back = read_table(csv_path, as_text=True)
    assert back["comment"].tolist() == ["'" + p for p in PAYLOADS]
    assert back["phone"].tolist() == ["+996 700 205 070"] * len(PAYLOADS)
    assert "'=header" in back.columns
    xlsx_path = write_table(frame, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(xlsx_path).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert [cell.value for cell in sheet["A"]][1:] == ["'" + p for p in PAYLOADS]
    assert [cell.value for cell in sheet["C"]][1:] == [-1, 0, 1, 2, 3, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "out.xlsx"], "no temporary files left"


def test_other_suffixes_are_refused(tmp_path):
    with pytest.raises(DataError, match="oca writes .csv or .xlsx"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.json")
