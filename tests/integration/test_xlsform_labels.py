"""Issue 19: the XLSForm's labels in the report.

A new study (``oca init``, a synthetic survey with sex coded 1/2) registers its XLSForm in study.yaml
(``sources.survey.xlsform``). The run records the labels of the columns its hypotheses read, in every language the
form has, in manifest.json; the report reads them from there (never from the form) and shows them beside the
column names: index items (methods, raw means, reliability), disaggregation levels (sex 1 -> "Female") and
contract failures, in the report's language. Free-text questions and columns the study does not read are not
recorded. Without a form nothing changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from oca_experiments.cli import app
from oca_experiments.io import FormLabels, read_form_labels
from oca_experiments.report import SECTIONS
from oca_experiments.report._sections import load_report, render_section

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _synthetic_survey import synthetic_survey  # noqa: E402

TRUST = {1: ("People here can be trusted", "Здесь людям можно доверять", "Бул жерде адамдарга ишенсе болот"),
         2: ("Neighbours help each other", "Соседи помогают друг другу", "Кошуналар бири-бирине жардам берет"),
         3: ("I trust the village council", "Я доверяю айыльному кенешу", "Мен айыл кеңешине ишенем"),
         4: ("Disputes are settled fairly", "Споры решаются справедливо", "Талаштар адилеттүү чечилет")}


def oca(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def write_form(path: Path) -> None:
    """A Kobo-style XLSForm: English, Russian and Kyrgyz labels, groups, a sex choice list coded 1/2."""
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::English (en)", "label::Russian (ru)", "label::Kyrgyz (ky)"])
    survey.append(["start", "start", None, None, None])
    survey.append(["text", "respondent_id", "Respondent ID", "ID респондента", "Респонденттин ID"])
    survey.append(["text", "respondent_name", "Respondent's name", "Имя респондента", "Аты"])
    survey.append(["select_one sex", "sex", "Sex of the respondent", "Пол респондента", "Респонденттин жынысы"])
    survey.append(["begin_group", "trust", "Trust", "Доверие", "Ишеним"])
    for item, labels in TRUST.items():
        survey.append(["select_one likert5", f"h_trust_{item}", *labels])
    survey.append(["end_group", None, None, None, None])
    survey.append(["text", "comment", "Anything else?", "Что-нибудь ещё?", "Дагы эмне?"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label::English (en)", "label::Russian (ru)", "label::Kyrgyz (ky)"])
    choices.append(["sex", 1, "Female", "Женщина", "Аял"])
    choices.append(["sex", 2, "Male", "Мужчина", "Эркек"])
    for value in range(1, 6):
        choices.append(["likert5", value, f"agree {value}", f"согласие {value}", f"макул {value}"])
    book.save(path)


@pytest.fixture(scope="module")
def study_run(tmp_path_factory) -> tuple[Path, Path]:
    """(study, run folder): a new study with its XLSForm, run without the HTML report."""
    study = tmp_path_factory.mktemp("labelled") / "study"
    study.mkdir()
    code, out = oca("init", str(study))
    assert code == 0, out
    frame = synthetic_survey()
    frame["sex"] = frame["sex"].map({"female": 1, "male": 2})
    frame.to_csv(study / "survey.csv", index=False)
    (study / "forms").mkdir()
    write_form(study / "forms" / "survey.xlsx")
    yaml_text = (study / "study.yaml").read_text(encoding="utf-8")
    yaml_text = yaml_text.replace("    default_file: survey.csv\n",
                                  "    default_file: survey.csv\n    xlsform: forms/survey.xlsx\n", 1)
    assert "xlsform: forms/survey.xlsx" in yaml_text
    (study / "study.yaml").write_text(yaml_text, encoding="utf-8")
    spec = study / "hypotheses" / "h1_index_did.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "disaggregate: [sex]\n", encoding="utf-8")
    code, out = oca("contract", "draft", "--data", f"survey={study / 'survey.csv'}", "--study", str(study))
    if code != 0:  # older signature: run from the study folder
        pytest.fail(out)
    code, out = oca("prereg", "lock", str(study))
    assert code == 0, out
    run = study / "build" / "run"
    code, out = oca("run", str(study), "--data", f"survey={study / 'survey.csv'}", "--out", str(run), "--no-report")
    assert code == 0, out
    return study, run


def _html(report, name: str) -> str:
    parts = []
    for item in render_section(report, name):
        data = getattr(item, "data", item)
        parts.append(data if isinstance(data, str) else str(data))
    return "\n".join(parts)


def test_the_run_records_the_forms_labels_in_every_language(study_run):
    study, run = study_run
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    labels = FormLabels.from_json(manifest["labels"]["survey"])
    assert labels is not None and labels.form == "survey.xlsx"
    assert labels.item("h_trust_1", "en") == TRUST[1][0]
    assert labels.item("h_trust_1", "ru") == TRUST[1][1]
    assert labels.item("h_trust_1", "ky") == TRUST[1][2]
    assert labels.choice("sex", 1, "en") == "Female" and labels.choice("sex", "2", "ky") == "Эркек"
    # Only the columns the hypotheses read, never free text or a name question
    assert not {"respondent_id", "respondent_name", "comment", "start"} & set(labels.items)
    assert manifest["study"]["xlsforms"]["survey"]["file"] == "forms/survey.xlsx"


def test_the_report_shows_the_labels_in_its_language(study_run):
    _, run = study_run
    english = load_report(run)
    methods = _html(english, "methods")
    assert "People here can be trusted (h\\_trust\\_1)" in methods
    disaggregation = _html(english, "disaggregation")
    assert "Female (1)" in disaggregation and "Male (2)" in disaggregation
    assert "Sex of the respondent (sex)" in disaggregation
    assert "Neighbours help each other" in _html(english, "raw_means")
    russian = _html(load_report(run, language="ru"), "disaggregation")
    assert "Женщина (1)" in russian and "Female" not in russian
    kyrgyz = _html(load_report(run, language="ky"), "methods")
    assert TRUST[3][2] in kyrgyz
    # A language the form lacks falls back to the form's first label column
    assert "Female (1)" in _html(load_report(run, language="de"), "disaggregation")


def test_the_report_reads_labels_from_the_run_not_the_form(study_run):
    study, run = study_run
    form = study / "forms" / "survey.xlsx"
    moved = form.with_suffix(".bak")
    form.rename(moved)
    try:
        assert "Female (1)" in _html(load_report(run), "disaggregation")
    finally:
        moved.rename(form)


def test_without_labels_the_sections_show_the_columns_as_before(study_run):
    _, run = study_run
    report = load_report(run)
    bare = type(report)(run_dir=report.run_dir, run=report.run, payload=report.payload,
                        manifest={k: v for k, v in report.manifest.items() if k != "labels"})
    for name in SECTIONS:
        text = _html(bare, name) if name not in {"raw_means", "estimates_at_a_glance"} else ""
        assert "People here can be trusted" not in text and "Female" not in text
    assert "h\\_trust\\_1" in _html(bare, "methods")


def test_read_form_labels_keeps_the_default_label_and_skips_free_text(tmp_path):
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["select_one yn", "consent", "Do you agree?"])
    survey.append(["text", "phone", "Phone number"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    choices.append(["yn", "1", "Yes"])
    book.save(tmp_path / "form.xlsx")
    labels = read_form_labels(tmp_path / "form.xlsx")
    assert labels.item("consent", "ru") == "Do you agree?" and labels.choice("consent", 1.0) == "Yes"
    assert "phone" not in labels.items
    assert FormLabels.from_json(labels.to_json()) == labels


def test_a_missing_form_is_refused_before_any_run(tmp_path):
    code, out = oca("init", str(tmp_path))
    assert code == 0, out
    yaml_path = tmp_path / "study.yaml"
    yaml_path.write_text(yaml_path.read_text(encoding="utf-8").replace(
        "    default_file: survey.csv\n", "    default_file: survey.csv\n    xlsform: forms/missing.xlsx\n", 1),
        encoding="utf-8")
    code, out = oca("validate", str(tmp_path))
    assert code == 2, out
    assert "sources.survey.xlsform" in out and "Traceback" not in out


@pytest.mark.slow
def test_the_built_html_report_shows_the_labels(study_run):
    study, _ = study_run
    out = study / "build" / "report"
    code, text = oca("report", "build", str(study), "--data", f"survey={study / 'survey.csv'}", "--out", str(out))
    assert code == 0, text
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Female (1)" in html and "Male (2)" in html
    assert TRUST[1][0] in html and "Sex of the respondent (sex)" in html
    assert "Respondent&#x27;s name" not in html and "Respondent's name" not in html


def test_trainer_summaries_name_subgroups_by_the_forms_choice_labels(tmp_path):
    """Without study.po words for sex, the summary names the subgroups with the form's labels in its language."""
    from oca_experiments.report import plain_pages

    run = tmp_path / "run"
    run.mkdir()
    record = {"id": "h6_by_sex", "status": "estimated", "type": "exploratory", "direction": "any",
              "estimate": 0.17, "std_error": 0.12, "ci_low": -0.06, "ci_high": 0.41, "p_value": 0.143,
              "p_value_two_sided": 0.143, "df": 23.0, "tails": "two", "n": 2100, "n_clusters": 24, "sesoi": 0.1,
              "counts": {"units": 1050}, "verdict": "inconclusive", "outcome": "h6_by_sex",
              "extras": {"effect_by_group": {"1": {"estimate": 0.39, "std_error": 0.09},
                                             "2": {"estimate": 0.22, "std_error": 0.08}}}}
    specs = {"h6_by_sex": {"outcome": {"construction": {"method": "mean", "scale": [1, 5]}},
                           "design": {"unit": "respondent_id", "cluster": "community_id"},
                           "estimator": {"name": "survey_did",
                                         "options": {"by": {"column": "sex", "level": 1, "reference": 2}}}}}
    labels = FormLabels(form="survey.xlsx", items={"sex": {"en": "Sex", "ru": "Пол"}},
                        choices={"sex": {"1": {"en": "women", "ru": "женщины", "ky": "аялдар"},
                                         "2": {"en": "men", "ru": "мужчины", "ky": "эркектер"}}})
    (run / "results.json").write_text(json.dumps({"study": "S", "hypotheses": [record]}), encoding="utf-8")
    manifest = {"schema_version": 1, "study": {"path": str(tmp_path / "absent")}, "specs": specs,
                "labels": {"survey": labels.to_json()}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    english = plain_pages(run, lang="en")[0][0]
    assert "among women" in english.headline and "among men" in english.headline
    russian = plain_pages(run, lang="ru")[0][0]
    assert "женщины" in russian.headline and "мужчины" in russian.headline
    del manifest["labels"]
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert "among 1" in plain_pages(run, lang="en")[0][0].headline  # no form: the value, as before
