"""Regenerate the data files of the bad-input corpus (``tests/bad_inputs/files/``) from the demo generator.

    .venv/bin/python tests/bad_inputs/make_corpus.py

Every file is a small, real slice of the demo data (so the privacy scanner's search for the demo's respondent IDs,
phone numbers and comments covers the corpus too) with exactly one defect. The two base files pass the demo study's
contracts and testability requirements; ``cases.yaml`` says which file shows which defect and what error it gives.
The output is deterministic (seeded demo, fixed choices), so rerunning it changes nothing unless the generator did.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
CSOS = ("CSO1", "CSO2")
RESPONDENTS_PER_COMMUNITY = 3
ENGAGEMENT_PAGES = ("P01", "P02", "P07", "P08")
ENGAGEMENT_DAYS = ("2026-04-01", "2026-06-10")
FORMULA = "=cmd|' /C calc'!A0"  # the classic DDE payload: starts a program when a spreadsheet opens the cell


def survey_base(survey: pd.DataFrame) -> pd.DataFrame:
    """Three respondents per community of two CSOs, each seen in both waves; participants and comments first."""
    both = survey.groupby("respondent_id")["wave"].transform("nunique") == 2
    people = survey.loc[both & survey["cso_id"].isin(CSOS) & (survey["wave"] == "baseline")]
    people = people.assign(has_comment=people["comment"].notna())
    chosen = (people.sort_values(["community_id", "participant", "has_comment", "respondent_id"],
                                 ascending=[True, False, False, True])
              .groupby("community_id").head(RESPONDENTS_PER_COMMUNITY)["respondent_id"])
    rows = survey.loc[survey["respondent_id"].isin(set(chosen))]
    return rows.sort_values(["wave", "respondent_id"]).reset_index(drop=True)


def engagement_base(engagement: pd.DataFrame) -> pd.DataFrame:
    first, last = ENGAGEMENT_DAYS
    keep = engagement["page_id"].isin(ENGAGEMENT_PAGES) & engagement["date"].between(first, last)
    return engagement.loc[keep].reset_index(drop=True)


def monthly_slice(engagement: pd.DataFrame) -> pd.DataFrame:
    """Each page's days summed by calendar month, dated on the first of the month (a page-insights monthly
    export). Every contract check on the counts still holds."""
    month = pd.to_datetime(engagement["date"]).dt.to_period("M").dt.to_timestamp().dt.strftime("%Y-%m-%d")
    keys = ["page_id", "cso_id", "page_type", "treated", "campaign_start"]
    counts = ["posts", "reactions", "comments", "shares", "hostile_comments"]
    frame = engagement.assign(date=month, campaign_start=engagement["campaign_start"].astype(object))
    summed = frame.groupby([*keys, "date"], dropna=False)[counts].sum().reset_index()
    followers = frame.groupby(["page_id", "date"])["followers"].last().reset_index()
    out = summed.merge(followers, on=["page_id", "date"])
    return out[list(engagement.columns)].sort_values(["page_id", "date"]).reset_index(drop=True)


def yearly_slice(monthly: pd.DataFrame) -> pd.DataFrame:
    """The monthly slice relabelled as consecutive years (month k of the window -> year 2021 + k): yearly
    spacing with the same rows."""
    months = sorted(monthly["date"].unique())
    year_of = {m: f"{2021 + k}-01-01" for k, m in enumerate(months)}

    def to_year(day: object) -> object:
        if not isinstance(day, str):
            return day
        month = f"{day[:7]}-01"
        return year_of.get(month, day)

    return monthly.assign(date=monthly["date"].map(year_of), campaign_start=monthly["campaign_start"].map(to_year))


def csv_text(frame: pd.DataFrame, **kwargs: object) -> str:
    return frame.to_csv(index=False, lineterminator="\n", **kwargs)


def xlsx_bytes(frame: pd.DataFrame, *, label_row: list[str] | None = None) -> bytes:
    buffer = io.BytesIO()
    if label_row is not None:
        frame = pd.concat([pd.DataFrame([label_row], columns=frame.columns), frame.astype(object)],
                          ignore_index=True)
    frame.to_excel(buffer, index=False, sheet_name="data")
    return buffer.getvalue()


def build(out: Path = FILES) -> dict[str, bytes]:
    from oca_experiments.demo import simulate_demo

    demo = simulate_demo()
    survey, engagement = survey_base(demo.survey), engagement_base(demo.engagement)
    files: dict[str, bytes] = {}

    def text(name: str, content: str, encoding: str = "utf-8") -> None:
        files[name] = content.encode(encoding)

    def survey_with(name: str, column: str, row: int, value: object) -> None:
        frame = survey.copy()
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        text(name, csv_text(frame))

    base = csv_text(survey)
    text("survey_base.csv", base)
    text("engagement_base.csv", csv_text(engagement))

    # ---- files that cannot be read
    files["survey_empty.csv"] = b""
    text("survey_header_only.csv", base.split("\n", 1)[0] + "\n")
    text("survey_blank_lines.csv", "\n \n\n")
    text("survey_truncated.csv", base[: int(len(base) * 0.6)].rstrip("\n").rsplit(",", 3)[0])
    files["survey_binary.csv"] = b"\x89PNG\r\n\x1a\n" + np.random.default_rng(4).bytes(2048)
    text("survey_pipe_delimited.csv", csv_text(survey, sep="|"))
    lines = base.splitlines(keepends=True)
    half = len(lines) // 2
    files["survey_mixed_encoding.csv"] = ("".join(lines[:half]).encode("utf-8")
                                          + "".join(lines[half:]).encode("cp1251", errors="replace"))
    header, rest = base.split("\n", 1)
    text("survey_duplicate_column.csv", header.replace("h_trust_4", "h_trust_1") + "\n" + rest)
    text("survey_missing_column.csv", csv_text(survey.drop(columns=["h_trust_2"])))
    extra = base.splitlines(keepends=True)
    extra[7] = extra[7].rstrip("\n") + ",surplus\n"
    text("survey_extra_field.csv", "".join(extra))
    text("survey_unnamed_column.csv", csv_text(survey.assign(**{"": "stray note"})))
    labels = [f"Question {i + 1}: {name}" for i, name in enumerate(survey.columns)]
    files["survey_two_header_rows.xlsx"] = xlsx_bytes(survey, label_row=labels)
    text("survey_not_a_workbook.xlsx", base)
    whole = xlsx_bytes(survey)
    files["survey_truncated.xlsx"] = whole[: len(whole) // 2]
    files["survey_header_only.xlsx"] = xlsx_bytes(survey.iloc[:0])
    parquet = io.BytesIO()
    survey.to_parquet(parquet, index=False)
    files["survey_truncated.parquet"] = parquet.getvalue()[: len(parquet.getvalue()) // 2]
    text("survey.sav", base)
    files["survey_cp1251.csv"] = csv_text(survey, sep=";").encode("cp1251", errors="replace")
    text("survey_kobo_label_row.csv", csv_text(survey))  # read with label_row pinned: the first respondent would go

    # ---- files that read but break the survey contract or the testability requirements
    survey_with("survey_likert_zero.csv", "h_trust_2", 5, 0)
    survey_with("survey_likert_six.csv", "v_trust_police", 11, 6)
    survey_with("survey_likert_agree.csv", "h_trust_3", 9, "agree")
    duplicate = survey.copy()
    duplicate.loc[4, "respondent_id"] = duplicate.loc[3, "respondent_id"]
    text("survey_duplicate_respondent.csv", csv_text(duplicate))
    survey_with("survey_unknown_wave.csv", "wave", 2, "midline")
    survey_with("survey_missing_wave.csv", "wave", 2, None)
    survey_with("survey_treated_two.csv", "treated", 6, 2)
    flipped = survey.copy()
    person = flipped.loc[0, "respondent_id"]
    endline_row = flipped.index[(flipped["respondent_id"] == person) & (flipped["wave"] == "endline")][0]
    flipped.loc[endline_row, "treated"] = 1 - int(flipped.loc[endline_row, "treated"])
    text("survey_treatment_changes.csv", csv_text(flipped))
    survey_with("survey_formula_site.csv", "site", 4, FORMULA)
    survey_with("survey_formula_phone.csv", "phone", 8, "+cmd|' /C calc'!A0")
    survey_with("survey_bad_date.csv", "interview_date", 10, "31/02/2026")
    survey_with("survey_bad_respondent_id.csv", "respondent_id", 12, "X-17")
    cut = survey.loc[~((survey["cso_id"] == "CSO2") & (survey["wave"] == "endline"))]
    text("survey_no_cso2_endline.csv", csv_text(cut))
    survey_with("survey_treated_text.csv", "treated", 6, "x")  # one text cell in a numeric value set (issue 18/7)
    blank = survey.copy()  # an index item nobody answered in the reference group (comparison arm, baseline)
    blank.loc[(blank["treated"] == 0) & (blank["wave"] == "baseline"), "h_trust_2"] = np.nan
    text("survey_item_empty_in_reference.csv", csv_text(blank))
    late = survey.copy()  # a baseline interview a fortnight after the registered fieldwork window (issue 18/8)
    late.loc[late.index[(late["wave"] == "baseline")][3], "interview_date"] = "2026-03-15"
    text("survey_date_outside_window.csv", csv_text(late))

    # ---- engagement
    def engagement_with(name: str, column: str, row: int, value: object) -> None:
        frame = engagement.copy()
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        text(name, csv_text(frame))

    engagement_with("engagement_negative_posts.csv", "posts", 20, -3)
    doubled = pd.concat([engagement, engagement.iloc[[30]]], ignore_index=True)
    text("engagement_duplicate_page_day.csv", csv_text(doubled))
    engagement_with("engagement_bad_date.csv", "date", 40, "2026-13-45")
    engagement_with("engagement_hostile_exceeds_comments.csv", "hostile_comments", 50,
                    int(engagement.loc[50, "comments"]) + 5)
    text("engagement_missing_date.csv", csv_text(engagement.drop(columns=["date"])))
    late = engagement.copy()
    late.loc[late["page_id"] == "P02", "campaign_start"] = "2026-04-10"
    text("engagement_short_pre_period.csv", csv_text(late))
    # Monthly and yearly exports (issue 22): the demo's daily estimators must refuse them at validate time.
    monthly = monthly_slice(engagement)
    text("engagement_monthly.csv", csv_text(monthly))
    text("engagement_yearly.csv", csv_text(yearly_slice(monthly)))

    # ---- a key file inside the repository (refused by `oca data pseudonymize`); a dummy, not a secret
    text("key_inside_repository.txt", "0" * 64 + "\n")

    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_bytes(content)
    return files


if __name__ == "__main__":
    written = build(Path(sys.argv[1]) if len(sys.argv) > 1 else FILES)
    print(f"wrote {len(written)} files")  # noqa: T201 - a script, not the library
