"""Issue 19, acceptance 2: field exports as the servers write them load and pass their contracts.

Fixtures are built here: a Kobo XLSX with group prefixes and a label row, its XLSForm, an ODK Central CSV with
groups, and a Parquet file with typed datetime columns, each with the servers' meta columns. A value outside the
form's choice list fails the contract; the time-zone rule, the cp1251 warning and "did you mean" are checked too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from oca_experiments.contracts import run_contract
from oca_experiments.contracts._draft import draft_suite, guess_roles
from oca_experiments.errors import DataError
from oca_experiments.io import ReaderOptions, read_table, read_xlsform
from oca_experiments.io._dates import parse_date_column, period_codes, read_time
from oca_experiments.io._groups import detect_group_style, missing_column_error, strip_group_prefixes

LIKERT_LABELS = ["Совсем не согласен", "Не согласен", "Затрудняюсь ответить", "Согласен", "Полностью согласен"]
SOURCES = ("tv", "radio", "facebook")


def _survey_rows(n_per_wave: int = 24, seed: int = 3) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for wave_index, wave in enumerate(("baseline", "endline")):
        for person in range(n_per_wave):
            picked = [s for s in SOURCES if rng.random() < 0.5] or ["tv"]
            hour = 8 + person % 10
            rows.append({
                "respondent_id": f"R{person:05d}", "wave": wave, "community_id": f"C{person % 6:02d}",
                "treated": person % 2,
                **{f"h_trust_{i}": int(rng.integers(1, 6)) for i in range(1, 5)},
                "sources": " ".join(picked), **{f"sources/{s}": int(s in picked) for s in SOURCES},
                "comment": f"свободный ответ номер {person} о доверии",
                "start": f"2026-{2 + 8 * wave_index:02d}-{1 + person % 27:02d}T{hour:02d}:03:11.000+06:00",
                "end": f"2026-{2 + 8 * wave_index:02d}-{1 + person % 27:02d}T{hour:02d}:41:52.000+06:00",
                "_submission_time": f"2026-{2 + 8 * wave_index:02d}-{1 + person % 27:02d}T{hour - 6:02d}:50:00",
                "uuid": f"{wave_index:04x}{person:04x}-7c1e-4b7a-9f0e-{person:012x}",
            })
    return rows


GROUPS = {"respondent_id": "respondent", "wave": "respondent", "community_id": "respondent",
          "treated": "respondent", **{f"h_trust_{i}": "trust" for i in range(1, 5)},
          "sources": "media", **{f"sources/{s}": "media" for s in SOURCES}}


def write_kobo_xlsx(path: Path, rows: list[dict]) -> list[str]:
    """Kobo's default XLSX: group/question headers, a label row, its meta columns; returns the header."""
    header = ["start", "end", "deviceid"]
    header += [f"{GROUPS[c]}/{c}" for c in GROUPS] + ["comment"]
    header += ["_id", "_uuid", "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
               "__version__", "_tags", "_index"]
    labels = {"respondent/h_trust_1".split("/")[1]: "Большинству людей можно доверять"}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    sheet.append([labels.get(h.split("/")[-1], h.split("/")[-1].replace("_", " ").capitalize()) for h in header])
    for index, row in enumerate(rows, start=1):
        values = {"deviceid": f"ee.kobotoolbox.org:{index:08d}", "comment": row["comment"], "_id": 41000 + index,
                  "_uuid": row["uuid"], "_submission_time": row["_submission_time"], "_validation_status": None,
                  "_notes": None, "_status": "submitted_via_web", "_submitted_by": None,
                  "__version__": "vGZ2wmWQ7nPDqHZ9", "_tags": None, "_index": index,
                  "start": row["start"], "end": row["end"]}
        values.update({f"{GROUPS[c]}/{c}": row[c] for c in GROUPS})
        sheet.append([values[h] for h in header])
    book.save(path)
    return header


def write_xlsform(path: Path) -> None:
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Русский (ru)", "label::English (en)", "required"])
    survey.append(["start", "start", None, None, None])
    survey.append(["end", "end", None, None, None])
    survey.append(["deviceid", "deviceid", None, None, None])
    survey.append(["begin_group", "respondent", "Респондент", "Respondent", None])
    survey.append(["text", "respondent_id", "ID респондента", "Respondent ID", "yes"])
    survey.append(["select_one wave", "wave", "Этап опроса", "Survey wave", "yes"])
    survey.append(["text", "community_id", "Сообщество", "Community", "yes"])
    survey.append(["select_one arm", "treated", "Группа", "Arm", "yes"])
    survey.append(["end_group", None, None, None, None])
    survey.append(["begin group", "trust", "Доверие", "Trust", None])
    for i in range(1, 5):
        survey.append(["select_one likert5", f"h_trust_{i}", f"Доверие {i}", f"Trust item {i}", None])
    survey.append(["end group", None, None, None, None])
    survey.append(["begin_group", "media", None, "Media", None])
    survey.append(["select_multiple sources", "sources", "Источники", "Where do you get news?", None])
    survey.append(["end_group", None, None, None, None])
    survey.append(["text", "comment", "Комментарий", "Comment", None])
    survey.append(["note", "thanks", "Спасибо", "Thank you", None])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::Русский (ru)", "label::English (en)"])
    choices.append(["wave", "baseline", "Базовый", "Baseline"])
    choices.append(["wave", "endline", "Итоговый", "Endline"])
    choices.append(["arm", 0, "Сравнение", "Comparison"])
    choices.append(["arm", 1, "Программа", "Programme"])
    for value, label in enumerate(LIKERT_LABELS, start=1):
        choices.append(["likert5", value, label, f"level {value}"])
    for source in SOURCES:
        choices.append(["sources", source, source.upper(), source.capitalize()])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version"])
    settings.append(["Trust survey", "trust_survey", "2026020101"])
    book.save(path)


def write_odk_central_csv(path: Path, rows: list[dict]) -> None:
    """ODK Central's CSV export: group-question headers, SubmissionDate first, meta-instanceID, KEY and review
    columns last."""
    records = []
    for index, row in enumerate(rows, start=1):
        record = {"SubmissionDate": row["_submission_time"] + ".000Z", "start": row["start"], "end": row["end"],
                  "deviceid": f"collect:{index:016x}"}
        record.update({f"{GROUPS[c]}-{c}": row[c] for c in GROUPS if "/" not in c})
        record["comment"] = row["comment"]
        record.update({"meta-instanceID": f"uuid:{row['uuid']}", "KEY": f"uuid:{row['uuid']}", "SubmitterID": 7,
                       "SubmitterName": "enumerator_7", "AttachmentsPresent": 0, "AttachmentsExpected": 0,
                       "Status": None, "ReviewState": "approved", "DeviceID": f"collect:{index:016x}", "Edits": 0,
                       "FormVersion": "2026020101"})
        records.append(record)
    pd.DataFrame(records).to_csv(path, index=False)


def passes(frame: pd.DataFrame, tmp_path: Path, *, form=None, name: str = "suite.json"):
    suite = draft_suite(frame, source="survey", file_name="export", form=form)
    path = tmp_path / name
    path.write_text(json.dumps(suite, ensure_ascii=False), encoding="utf-8")
    return suite, path, run_contract(path, frame, source="survey")


# --------------------------------------------------------------------------- the four exports


def test_kobo_xlsx_with_groups_and_label_row_and_its_form_pass_their_contract(tmp_path):
    rows = _survey_rows()
    write_kobo_xlsx(tmp_path / "kobo.xlsx", rows)
    write_xlsform(tmp_path / "form.xlsx")
    frame = read_table(tmp_path / "kobo.xlsx", ReaderOptions(label_row=True))
    assert {"respondent_id", "wave", "h_trust_1", "sources", "sources/tv", "_uuid", "_submission_time",
            "__version__", "_index", "start", "end"} <= set(frame.columns)
    assert not any(c.startswith(("respondent/", "trust/", "media/")) for c in frame.columns)
    assert pd.api.types.is_integer_dtype(frame["h_trust_1"])  # the label row did not make the items text
    form = read_xlsform(tmp_path / "form.xlsx")
    suite, _, result = passes(frame, tmp_path, form=form)
    assert result.passed, result.failures
    by_column = {(e["kwargs"].get("column"), e["type"]): e for e in suite["expectations"]}
    assert by_column[("h_trust_1", "expect_column_values_to_be_in_set")]["kwargs"]["value_set"] == [1, 2, 3, 4, 5]
    assert by_column[("h_trust_1", "expect_column_values_to_be_in_set")]["meta"]["drafted_from"] == "form"
    assert ("sources", "expect_column_values_to_match_regex") in by_column
    assert {"respondent_id", "comment", "_uuid", "deviceid"} <= set(suite["meta"]["oca"]["sensitive_columns"])
    assert suite["meta"]["oca"]["labels"]["h_trust_1"] == "Доверие 1"
    assert suite["meta"]["oca"]["choice_labels"]["h_trust_1"]["1"] == LIKERT_LABELS[0]
    # no sensitive value is written into the committed suite
    text = json.dumps(suite, ensure_ascii=False)
    assert "R00001" not in text and "свободный" not in text and rows[0]["uuid"] not in text


def test_values_outside_the_forms_choice_lists_fail_the_contract(tmp_path):
    rows = _survey_rows()
    write_kobo_xlsx(tmp_path / "kobo.xlsx", rows)
    write_xlsform(tmp_path / "form.xlsx")
    frame = read_table(tmp_path / "kobo.xlsx", ReaderOptions(label_row=True))
    suite = draft_suite(frame, source="survey", file_name="kobo.xlsx", form=read_xlsform(tmp_path / "form.xlsx"))
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(suite), encoding="utf-8")
    bad = frame.copy()
    bad.loc[3, "h_trust_2"] = 7          # not on the 1-5 list
    bad.loc[5, "sources"] = "tv tiktok"  # not in the sources list
    result = run_contract(path, bad, source="survey")
    assert not result.passed
    assert {f.column for f in result.failures} == {"h_trust_2", "sources"}


def test_the_xlsform_gives_labels_lists_groups_and_select_multiple(tmp_path):
    write_xlsform(tmp_path / "form.xlsx")
    form = read_xlsform(tmp_path / "form.xlsx", language="English")
    assert form.select_multiple == ("sources",)
    assert form.choice_names("h_trust_3") == ("1", "2", "3", "4", "5")
    assert form.question("h_trust_3").group == ("trust",)
    assert form.labels["sources"] == "Where do you get news?"
    assert "thanks" not in {q.name for q in form.questions}  # notes have no column
    assert read_xlsform(tmp_path / "form.xlsx").labels["wave"] == "Этап опроса"  # first language by default


def test_an_xlsform_without_its_choice_list_is_refused(tmp_path):
    write_xlsform(tmp_path / "form.xlsx")
    book = openpyxl.load_workbook(tmp_path / "form.xlsx")
    sheet = book["choices"]
    for row in list(sheet.iter_rows(min_row=2)):
        if row[0].value == "sources":
            row[0].value = "media_sources"
    book.save(tmp_path / "form.xlsx")
    with pytest.raises(DataError, match="choice list 'sources'"):
        read_xlsform(tmp_path / "form.xlsx")


def test_odk_central_csv_with_groups_passes_its_contract(tmp_path):
    rows = _survey_rows()
    write_odk_central_csv(tmp_path / "central.csv", rows)
    write_xlsform(tmp_path / "form.xlsx")
    frame = read_table(tmp_path / "central.csv")
    assert {"respondent_id", "wave", "h_trust_4", "sources", "instanceID", "KEY", "SubmissionDate"} <= set(frame)
    assert not any(c.startswith(("respondent-", "trust-", "media-")) for c in frame.columns)
    suite, _, result = passes(frame, tmp_path, form=read_xlsform(tmp_path / "form.xlsx"))
    assert result.passed, result.failures
    assert {"SubmitterName", "instanceID", "KEY", "respondent_id"} <= set(suite["meta"]["oca"]["sensitive_columns"])
    roles = guess_roles(frame)
    assert (roles.unit, roles.time, roles.treatment, roles.cluster) == ("respondent_id", "wave", "treated",
                                                                         "community_id")


def test_parquet_with_datetime_columns_passes_its_contract(tmp_path):
    rows = _survey_rows()
    frame = pd.DataFrame(rows).drop(columns=[f"sources/{s}" for s in SOURCES])
    frame["interview_date"] = pd.to_datetime(frame["start"].str[:10])
    frame["start"] = pd.to_datetime(frame["start"], format="ISO8601")          # tz-aware, +06:00
    frame["_submission_time"] = pd.to_datetime(frame["_submission_time"])     # naive, UTC (Kobo)
    for i in range(1, 5):
        frame[f"h_trust_{i}"] = frame[f"h_trust_{i}"].astype("Int64")
    frame.loc[2, "h_trust_1"] = pd.NA
    frame.to_parquet(tmp_path / "survey.parquet")
    read = read_table(tmp_path / "survey.parquet")
    assert read.loc[0, "interview_date"] == "2026-02-01"
    # one rule: the +06:00 start and the UTC submission time are both UTC wall-clock text
    assert read.loc[0, "start"] == "2026-02-01 02:03:11"
    assert read.loc[0, "_submission_time"] == "2026-02-01 02:50:00"
    _, _, result = passes(read, tmp_path)
    assert result.passed, result.failures


def test_the_demo_contract_passes_on_parquet_with_a_datetime_date_column(tmp_path):
    """Before: expect_column_values_to_match_strftime_format raised inside Great Expectations on datetime64."""
    from oca_experiments.demo import generate_demo

    files = generate_demo(tmp_path / "data")
    frame = read_table(files.survey)
    frame["interview_date"] = pd.to_datetime(frame["interview_date"])
    frame.to_parquet(tmp_path / "survey.parquet")
    repo = Path(__file__).resolve().parents[2]
    result = run_contract(repo / "data_contracts" / "survey.json", read_table(tmp_path / "survey.parquet"),
                          source="survey")
    assert result.passed, result.failures


# --------------------------------------------------------------------------- groups, time zones, encodings


def test_group_prefix_detection_and_pins():
    kobo = ["start", "trust/h_trust_1", "trust/h_trust_2", "_uuid"]
    assert detect_group_style(kobo) == "kobo"
    assert detect_group_style(["date/time", "x"]) == "keep"  # one slash, no Kobo meta: not a group path
    odk = ["SubmissionDate", "trust-h_trust_1", "meta-instanceID", "KEY"]
    assert strip_group_prefixes(odk, "auto", file_name="f.csv") == ["SubmissionDate", "h_trust_1", "instanceID",
                                                                     "KEY"]
    assert strip_group_prefixes(["age-band", "x"], "auto", file_name="f.csv") == ["age-band", "x"]
    assert strip_group_prefixes(kobo, "keep", file_name="f.csv") == kobo
    nested = ["a/b/q", "a/b/q/red", "a/b/q/blue", "_uuid"]
    assert strip_group_prefixes(nested, "kobo", file_name="f.csv") == ["q", "q/red", "q/blue", "_uuid"]


def test_two_groups_with_one_question_name_are_refused_naming_both():
    with pytest.raises(DataError, match="'baseline/age' and 'endline/age' would both become 'age'") as info:
        strip_group_prefixes(["baseline/age", "endline/age", "_uuid"], "auto", file_name="kobo.csv")
    assert info.value.fix and "group_prefixes: keep" in info.value.fix


def test_group_prefixes_pinned_in_study_yaml_reader_options(tmp_path):
    path = tmp_path / "odk.csv"
    path.write_text("id,trust-h_trust_1\n1,3\n2,4\n", encoding="utf-8")
    assert list(read_table(path).columns) == ["id", "trust-h_trust_1"]  # no ODK Central meta: not detected
    assert list(read_table(path, ReaderOptions(group_prefixes="odk_central")).columns) == ["id", "h_trust_1"]


def test_a_missing_column_says_did_you_mean_with_the_prefixed_name():
    present = ["start", *[f"col_{i}" for i in range(60)], "trust/h_trust_1"]
    error = missing_column_error("h_trust_1", present, file="kobo.xlsx", needed_by="h1.yaml needs it (items)")
    assert "did you mean 'trust/h_trust_1'?" in str(error)
    assert "group_prefixes" in (error.fix or "")
    near = missing_column_error("respondant_id", ["respondent_id", "wave"], file="s.csv", needed_by="x")
    assert "did you mean 'respondent_id'?" in str(near)
    # the list is never cut: every column stands in it, in file order (a cut list hid prefixed names)
    assert "col_59, trust/h_trust_1" in str(error) and "more)" not in str(error)


def test_one_time_zone_rule_for_kobo_start_and_submission_time():
    start = pd.Series(["2026-02-25T10:03:11.000+06:00", "2026-02-26T00:30:00.000+06:00"])
    submitted = pd.Series(["2026-02-25T04:10:00", "2026-02-25T18:35:00"])
    utc_start = parse_date_column(start, date_format=None, file_name="k.csv", name="start")
    utc_sub = parse_date_column(submitted, date_format=None, file_name="k.csv", name="_submission_time")
    assert utc_start.dt.tz is None and utc_sub.dt.tz is None
    assert utc_start.tolist() == [pd.Timestamp("2026-02-25 04:03:11"), pd.Timestamp("2026-02-25 18:30:00")]
    assert (utc_sub - utc_start).dt.total_seconds().tolist() == [409.0, 300.0]  # submitted after the start
    local_start = parse_date_column(start, date_format=None, file_name="k.csv", name="start",
                                    time_zone="Asia/Bishkek")
    local_sub = parse_date_column(submitted, date_format=None, file_name="k.csv", name="_submission_time",
                                  time_zone="Asia/Bishkek")
    assert local_start[1] == pd.Timestamp("2026-02-26 00:30:00")  # local calendar date kept
    assert local_sub[0] == pd.Timestamp("2026-02-25 10:10:00")
    typed = parse_date_column(pd.Series(pd.to_datetime(["2026-02-25T10:03:11+06:00"])), date_format=None,
                              file_name="k.parquet", name="start")
    assert typed[0] == pd.Timestamp("2026-02-25 04:03:11")


def test_an_unknown_time_zone_pin_is_refused():
    from oca_experiments.errors import SpecError
    from oca_experiments.io import reader_options

    with pytest.raises(SpecError, match="time zone"):
        reader_options({"time_zone": "Bishkek"})


def test_cp1251_with_lost_kyrgyz_letters_warns(tmp_path, caplog):
    lost = "id,answer\n1,Кыргызстанда ?мүр\n2,к?пт?р\n".replace("мүр", "м?р").encode("cp1251")
    (tmp_path / "lost.csv").write_bytes(lost)
    with caplog.at_level(logging.WARNING, logger="oca_experiments"):
        read_table(tmp_path / "lost.csv")  # detected as cp1251 (not UTF-8)
    assert "cannot hold the Kyrgyz letters" in caplog.text and "2 line(s)" in caplog.text
    assert "к?пт?р" not in caplog.text  # counts only, never the text
    caplog.clear()
    mojibake = "id,answer\n1,күн\n2,өкмөт\n".encode("utf-8").decode("cp1251").encode("cp1251")
    (tmp_path / "mojibake.csv").write_bytes(mojibake)
    with caplog.at_level(logging.WARNING, logger="oca_experiments"):
        read_table(tmp_path / "mojibake.csv", ReaderOptions(encoding="cp1251"))
    assert "cannot hold the Kyrgyz letters" in caplog.text
    caplog.clear()
    (tmp_path / "russian.csv").write_bytes("id,answer\n1,Как дела?\n2,Хорошо\n".encode("cp1251"))
    with caplog.at_level(logging.WARNING, logger="oca_experiments"):
        read_table(tmp_path / "russian.csv")
    assert "Kyrgyz" not in caplog.text  # a question mark ending a Russian sentence is not a lost letter


def test_read_time_follows_the_one_time_zone_rule_for_offsets_and_naive_utc_stamps():
    """A series design's time column read by period: Kobo's ``start`` (+06:00) is converted to UTC, as
    docs/data.md states, instead of keeping the phone's local clock; a naive ``_submission_time`` (UTC) stands."""
    start = pd.Series(["2026-02-25T10:03:11.000+06:00", "2026-02-26T00:30:00.000+06:00"])
    times = read_time(start, "day", file="k.csv", column="start", allow_missing=False)
    assert times.dt.tz is None
    assert times.tolist() == [pd.Timestamp("2026-02-25 04:03:11"), pd.Timestamp("2026-02-25 18:30:00")]
    assert len(set(period_codes(times, "day"))) == 1  # 00:30 in Bishkek is the 25th in UTC
    submitted = pd.Series(["2026-02-25T04:10:00", "2026-02-25T18:35:00"])
    assert read_time(submitted, "day", file="k.csv", column="_submission_time", allow_missing=False).tolist() == [
        pd.Timestamp("2026-02-25 04:10:00"), pd.Timestamp("2026-02-25 18:35:00")]


def test_read_time_reads_a_column_mixing_offsets_and_naive_utc_and_typed_aware_cells():
    mixed = pd.Series(["2026-02-25T10:03:11.000+06:00", "2026-02-25T04:10:00", "2026-02-25"])
    assert read_time(mixed, "day", file="k.csv", column="when", allow_missing=False).tolist() == [
        pd.Timestamp("2026-02-25 04:03:11"), pd.Timestamp("2026-02-25 04:10:00"), pd.Timestamp("2026-02-25")]
    aware = pd.Series(pd.to_datetime(["2026-02-26 00:30"]).tz_localize("Asia/Bishkek"))
    assert read_time(aware, "day", file="k.parquet", column="start", allow_missing=False).tolist() == [
        pd.Timestamp("2026-02-25 18:30:00")]
