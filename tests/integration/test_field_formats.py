"""Issue 4, acceptance 2 and 4, through the CLI: files as field teams export them give the clean CSV's results, and a
CSO whose endline survey is missing makes exactly the hypotheses that register the CSO as their group not testable.

The runs use copies of the demo study without the hypotheses these checks do not need (and without the registry
lock, which would run them anyway in their registered versions), to keep the suite fast: Bayesian ones (minutes of
sampling) and, for acceptance 2, those whose registered inference bootstraps 9,999 times.
The reading itself is compared on every column, so every hypothesis would get the same data.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.demo import simulate_demo
from oca_experiments.demo._generator import to_csv_text
from oca_experiments.io import ReaderOptions, read_table

REPO = Path(__file__).resolve().parents[2]
STUDY_PARTS = ("study.yaml", "hypotheses", "data_contracts", "analysis", "reports")
RESULT_KEYS = ("estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters", "verdict")
KOBO_LABELS = {"respondent_id": "ID респондента", "wave": "Этап опроса", "treated": "Группа",
               "h_trust_1": "Большинству людей можно доверять", "comment": "Комментарий"}


def study_copy(target: Path, *, keep: tuple[str, ...] | None = None, drop_prefix: tuple[str, ...] = (),
               reader: str | None = None) -> Path:
    for part in STUDY_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / part)
    for spec in (target / "hypotheses").glob("*.yaml"):
        if (keep is not None and spec.stem not in keep) or spec.stem.startswith(drop_prefix):
            spec.unlink()
    # the registry lock would run the removed specs in their registered versions
    (target / "hypotheses" / "registry.lock.json").unlink(missing_ok=True)
    if reader is not None:
        config = target / "study.yaml"
        text = config.read_text(encoding="utf-8")
        assert text.count("    reader: {}") == 1
        config.write_text(text.replace("    reader: {}", f"    reader: {reader}"), encoding="utf-8")
    return target


def oca_run(study: Path, out: Path, **data: Path) -> dict:
    args = ["run", str(study), "--out", str(out), "--no-report"]
    for name, path in data.items():
        args += ["--data", f"{name}={path}"]
    result = CliRunner().invoke(app, args, env={"OCA_DEBUG": None})
    assert result.exit_code == 0, result.stderr
    return {h["id"]: h for h in json.loads((out / "results.json").read_text(encoding="utf-8"))["hypotheses"]}


@pytest.fixture(scope="module")
def demo():
    return simulate_demo()


@pytest.fixture(scope="module")
def field_files(demo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo survey as a clean CSV, as Russian-locale Excel saves it, and as a Kobo XLSX export."""
    folder = tmp_path_factory.mktemp("field_files")
    rng = np.random.default_rng(1)
    survey = demo.survey.assign(weight=np.round(rng.uniform(0.5, 2.0, len(demo.survey)), 3))
    clean = folder / "survey.csv"
    clean.write_text(to_csv_text(survey), encoding="utf-8")
    # Excel in a Russian locale: semicolons, decimal commas, cp1251 (Kyrgyz letters it lacks become '?').
    excel = folder / "survey_excel_ru.csv"
    excel.write_bytes(survey.to_csv(index=False, sep=";", decimal=",", lineterminator="\r\n")
                      .encode("cp1251", errors="replace"))
    # Kobo: question labels under the header, its meta columns, a submission timestamp stored as a date cell.
    kobo = folder / "survey_kobo.xlsx"
    exported = survey.assign(_id=np.arange(len(survey)), _uuid=[f"uuid-{i:05d}" for i in range(len(survey))],
                             _submission_time=pd.Timestamp("2026-03-01 09:30") + pd.to_timedelta(
                                 np.arange(len(survey)), unit="min"))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(exported.columns))
    sheet.append([KOBO_LABELS.get(name, name.replace("_", " ").capitalize()) for name in exported.columns])
    for row in exported.itertuples(index=False, name=None):
        sheet.append([None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA else
                      v.to_pydatetime() if isinstance(v, pd.Timestamp) else v.item() if hasattr(v, "item") else v
                      for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    kobo.write_bytes(buffer.getvalue())
    return {"clean": clean, "excel": excel, "kobo": kobo}


def test_field_exports_read_exactly_like_the_clean_csv(field_files) -> None:
    clean = read_table(field_files["clean"])
    excel = read_table(field_files["excel"])
    kobo = read_table(field_files["kobo"], ReaderOptions(label_row=True))
    assert excel["weight"].dtype == np.float64 and excel["weight"].tolist() == clean["weight"].tolist()
    assert kobo["_submission_time"].iloc[0] == "2026-03-01 09:30:00"  # a date cell reads as ISO text
    russian = clean["comment"].str.contains("Всё хорошо", na=False)
    assert russian.any() and excel.loc[russian, "comment"].tolist() == clean.loc[russian, "comment"].tolist()
    same = [c for c in clean.columns if c != "comment"]
    pd.testing.assert_frame_equal(excel[same], clean[same], check_dtype=False)
    pd.testing.assert_frame_equal(kobo[list(clean.columns)], clean, check_dtype=False)


def test_field_exports_give_the_clean_csv_results(field_files, tmp_path: Path) -> None:
    """Acceptance 2: same estimates (to 1e-12), intervals, p-values, n and verdicts through `oca run`."""
    keep = ("h3_knowledge_gain", "h6_horizontal_trust_by_sex")
    plain = study_copy(tmp_path / "study", keep=keep)
    kobo_study = study_copy(tmp_path / "study_kobo", keep=keep, reader="{label_row: true, sheet: 0}")
    reference = oca_run(plain, tmp_path / "clean", survey=field_files["clean"])
    assert {h["status"] for h in reference.values()} == {"estimated"}
    for name, study, path in (("excel", plain, field_files["excel"]), ("kobo", kobo_study, field_files["kobo"])):
        mine = oca_run(study, tmp_path / name, survey=path)
        for hid, expected in reference.items():
            for key in RESULT_KEYS:
                if isinstance(expected[key], float):
                    assert mine[hid][key] == pytest.approx(expected[key], abs=1e-12, rel=0), (name, hid, key)
                else:
                    assert mine[hid][key] == expected[key], (name, hid, key)


def test_a_cso_without_endline_makes_its_hypotheses_not_testable(demo, tmp_path: Path) -> None:
    """Acceptance 4: drop every endline row of one CSO. The hypotheses that register the CSO as their implementing
    group (design.group, with complete_groups in study.yaml) are not testable, with the reason; the engagement
    hypotheses still run."""
    survey = demo.survey
    cut = survey.loc[~((survey["cso_id"] == "CSO3") & (survey["wave"] == "endline"))]
    survey_path, engagement_path = tmp_path / "survey_no_cso3_endline.csv", tmp_path / "engagement.csv"
    survey_path.write_text(to_csv_text(cut), encoding="utf-8")
    engagement_path.write_text(to_csv_text(demo.engagement), encoding="utf-8")
    community_path = tmp_path / "community.csv"
    community_path.write_text(to_csv_text(demo.community), encoding="utf-8")
    study = study_copy(tmp_path / "study", drop_prefix=("h7",))
    results = oca_run(study, tmp_path / "out", survey=survey_path, engagement=engagement_path,
                      community=community_path)
    survey_ids = {"h1_horizontal_trust", "h2_vertical_trust", "h3_knowledge_gain", "h6_horizontal_trust_by_sex",
                  "h10_horizontal_trust_weighted", "h11_trust_exposure_response", "h12_spillover_near_far"}
    for hid in survey_ids:
        h = results[hid]
        assert h["status"] == "not_testable", (hid, h["status"], h["reason"])
        assert "1 of 6 implementing groups ('cso_id') are not observed" in h["reason"]
        assert "testability.complete_groups" in h["reason"]
        assert h["estimate"] is None and h["counts"]["rows_in_source"] == len(cut)
        assert "CSO3" not in h["reason"], "group labels are data values: shown only with --show-values"
    for hid in set(results) - survey_ids:
        assert results[hid]["status"] == "estimated", (hid, results[hid]["reason"])
        assert results[hid]["testability"]["testable"] is True
