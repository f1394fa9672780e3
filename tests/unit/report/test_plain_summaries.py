"""Trainer summaries: plain words, the certainty rule, locale formatting, caveats and privacy."""

from __future__ import annotations

import copy
import html
import json
import re
from pathlib import Path

import pytest

from oca_experiments.summarize import _plain
from oca_experiments.summarize._plain import plain_pages, write_summaries

REPO = Path(__file__).resolve().parents[3]
FIXTURE_RESULTS = REPO / "tests" / "unit" / "fixtures" / "report" / "results.json"
JARGON = re.compile(r"p-value|p\s*[=<>]|significan|confidence interval|standard error|estimator|regression|"
                    r"coefficient|alpha|sesoi|\bci\b|p-знач|значим|доверительн", re.IGNORECASE)
ACRONYMS = re.compile(r"\b(?:DiD|ITS|ATT|ICC|SE)\b")  # case-sensitive: "Did the campaign…" is fine
MANIFEST_SPECS = {
    "h1_horizontal_trust": {"outcome": {"construction": {"method": "mean", "scale": [1, 5]}},
                            "design": {"unit": "respondent_id", "cluster": "community_id"}},
    "h2_vertical_trust": {"outcome": {"construction": {"method": "mean", "scale": [1, 5]}},
                          "design": {"unit": "respondent_id", "cluster": "community_id"}},
    "h3_knowledge_gain": {"outcome": {"construction": {"method": "mean", "scale": [0, 1]}},
                          "design": {"unit": "respondent_id", "cluster": "community_id"}},
    "h6_horizontal_trust_by_sex": {
        "outcome": {"construction": {"method": "mean", "scale": [1, 5]}},
        "design": {"unit": "respondent_id", "cluster": "community_id"},
        "estimator": {"name": "survey_did",
                      "options": {"by": {"column": "sex", "level": "female", "reference": "male"}}}},
}


def _hypothesis(hid: str, **changes) -> dict:
    record = {"id": hid, "status": "estimated", "type": "confirmatory", "direction": "increase",
              "estimate": 0.3075, "std_error": 0.0589, "ci_low": 0.1857, "ci_high": 0.4293, "p_value": 2.7e-05,
              "p_value_two_sided": 2.7e-05, "df": 23.0, "tails": "two", "n": 2100, "n_clusters": 24,
              "sesoi": 0.1, "counts": {"units": 1050}, "extras": {}, "outcome": hid}
    record.update(changes)
    return record


def _run(tmp_path: Path, *hypotheses: dict, specs: dict | None = None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"study": "Demo", "hypotheses": list(hypotheses)}),
                                      encoding="utf-8")
    manifest = {"schema_version": 1, "study": {"path": str(REPO)}, "specs": specs or MANIFEST_SPECS}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


def _text(page_html: str) -> str:
    body = re.sub(r"<img[^>]*>", " ", page_html[page_html.index("<body"):])
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def test_the_issue_example_in_three_languages(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", estimate=0.21, ci_low=0.02, ci_high=0.40,
                                     p_value_two_sided=0.06))
    en = plain_pages(run, lang="en")[0][0]
    assert en.headline == ("Trust between neighbours rose by about 0.2 points on a 1–5 scale. "
                           "We are about 97% sure it rose.")
    ru = plain_pages(run, lang="ru")[0][0]
    assert ru.headline == ("Показатель «доверие между соседями» вырос примерно на 0,2 балла по шкале от 1 до 5. "
                           "Мы примерно на 97\xa0% уверены, что он вырос.")
    ky = plain_pages(run, lang="ky")[0][0]
    assert ky.headline == ("«Кошуналар ортосундагы ишеним» көрсөткүчү 1–5 шкаласы боюнча болжол менен 0,2 баллга "
                           "өстү. Анын өскөнүнө болжол менен 97% ишенебиз.")


@pytest.mark.parametrize(("p_two", "estimate", "phrase"), [
    (0.001, 0.3, "We are more than 99% sure it rose."),
    (0.10, 0.3, "We are about 95% sure it rose."),
    (0.40, -0.3, "It probably fell, but we are only about 80% sure."),
    (0.80, 0.3, "We cannot tell whether it really rose or fell"),
])
def test_certainty_wording_rule(tmp_path: Path, p_two: float, estimate: float, phrase: str) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", estimate=estimate, p_value_two_sided=p_two))
    assert phrase in plain_pages(run, lang="en")[0][0].headline


def test_bayesian_certainty_comes_from_the_posterior(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", p_value_two_sided=None, p_value=None,
                                     extras={"prob_positive": 0.91}))
    assert "We are about 91% sure it rose." in plain_pages(run, lang="en")[0][0].headline


def test_pages_have_no_p_values_and_no_jargon(tmp_path: Path) -> None:
    results = json.loads(FIXTURE_RESULTS.read_text(encoding="utf-8"))
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    for lang in _plain.LANGUAGES:
        pages, index = plain_pages(run, lang=lang, study_dir=REPO)
        assert len(pages) == len(results["hypotheses"])
        for page in pages:
            text = _text(page.html)
            assert not JARGON.search(text), (lang, page.hypothesis_id, JARGON.search(text))
            assert not ACRONYMS.search(text), (lang, page.hypothesis_id, ACRONYMS.search(text))
            assert f'<html lang="{lang}">' in page.html
        assert not JARGON.search(_text(index))


def test_locale_formats_numbers_and_dates(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h3_knowledge_gain", estimate=0.1234, ci_low=0.05, ci_high=0.2,
                                     counts={"units": 1250}, extras={"period": {"start": "2026-03-01",
                                                                                 "end": "2026-10-15"}}))
    en = plain_pages(run, lang="en")[0][0]
    ru = plain_pages(run, lang="ru")[0][0]
    assert "by about 12 percentage points" in en.headline
    assert "примерно на 12 процентных пунктов" in ru.headline
    assert "1,250 people" in _text(en.html) and "March 1, 2026" in _text(en.html)
    assert "1 250 человек" in _text(ru.html) and "1 марта 2026" in _text(ru.html)
    assert "от +5 до +20 " in _text(ru.html)


def test_caveats_that_matter(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h2_vertical_trust", type="exploratory", estimator="bayes_did",
                                     extras={"diagnostics": {"passed": False}}))
    page = plain_pages(run, lang="en")[0][0]
    assert len(page.caveats) == 3
    assert "24 communities" in page.caveats[1]
    assert "did not settle" in page.caveats[2]
    ru = plain_pages(run, lang="ru")[0][0]
    assert "24 сообщества" in ru.caveats[1]


def test_small_effect_and_not_estimated(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", estimate=0.01, ci_low=-0.05, ci_high=0.07,
                                     p_value_two_sided=0.7),
               _hypothesis("h3_knowledge_gain", status="not_yet_estimable", estimate=None))
    small, missing = plain_pages(run, lang="en")[0]
    assert small.headline.startswith("Trust between neighbours hardly changed.")
    assert any("smallest change the team decided in advance" in d for d in small.details)
    assert missing.headline == "The method for this question is not ready yet, so there is no answer yet."
    assert not missing.has_picture and small.has_picture


def _by_sex(**groups) -> dict:
    return _hypothesis("h6_horizontal_trust_by_sex", type="exploratory", direction="any", estimate=0.17,
                       ci_low=-0.06, ci_high=0.41, p_value_two_sided=0.143,
                       extras={"effect_by_group": groups})


def test_subgroups_are_named_in_the_language(tmp_path: Path) -> None:
    run = _run(tmp_path, _by_sex(female={"estimate": 0.39, "std_error": 0.09},
                                 male={"estimate": 0.22, "std_error": 0.08}))
    page = plain_pages(run, lang="en")[0][0]
    assert page.headline.startswith("The campaign's effect on trust between neighbours was bigger among women than "
                                    "among men, by about 0.2 points")
    assert "We are about 93% sure the effect was bigger among women." in page.headline
    assert page.details[0] == "Among women: trust between neighbours rose by about 0.4 points on a 1–5 scale."
    assert "«женщины»" in plain_pages(run, lang="ru")[0][0].headline


def test_suppressed_cells_stay_suppressed(tmp_path: Path) -> None:
    run = _run(tmp_path, _by_sex(female={"estimate": None, "suppressed": True},
                                 male={"estimate": 0.22, "std_error": 0.08}))
    page = plain_pages(run, lang="en")[0][0]
    text = _text(page.html)
    assert "hidden to protect privacy" in page.details[0]
    assert page.headline == "The comparison between the groups is hidden to protect privacy."
    assert "0.2 points" not in page.headline and not page.has_picture  # the difference would reveal the hidden group
    assert "0.17" not in text and "0.2 points on a 1–5 scale. We" not in text


def test_small_counts_are_hidden(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", n=14, counts={"units": 7}))
    page = plain_pages(run, lang="en")[0][0]
    text = _text(page.html)
    assert page.headline == "The answer is hidden to protect privacy: too few people took part."
    assert "fewer than 10 people" in text and " 7 " not in text and "0.3" not in text


def test_group_suppressed_by_count_alone(tmp_path: Path) -> None:
    run = _run(tmp_path, _by_sex(female={"estimate": 0.39, "std_error": 0.09, "n": 6},
                                 male={"estimate": 0.22, "std_error": 0.08, "n": 400}))
    page = plain_pages(run, lang="en")[0][0]
    assert "0.4" not in _text(page.html) and "hidden" in page.headline


def test_rounding_for_reading() -> None:
    assert [_plain._about(v) for v in (0.3075, 0.161, 0.027, 0.0043, 12.6, 1.26, 0.0)] == [
        0.3, 0.2, 0.027, 0.0043, 13.0, 1.3, 0.0]


def test_write_summaries_replaces_the_folder_atomically(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust"))
    out = tmp_path / "summary"
    out.mkdir()
    (out / "stale.html").write_text("old", encoding="utf-8")
    written = write_summaries(run, lang="ky", out_dir=out)
    assert sorted(p.name for p in out.iterdir()) == ["h1_horizontal_trust.html", "index.html"]
    assert [p.name for p in written] == ["index.html", "h1_horizontal_trust.html"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Тренерлер үчүн" in index and 'href="h1_horizontal_trust.html"' in index


def test_missing_results_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="results.json not found.*Fix: pass the run folder"):
        plain_pages(tmp_path, lang="en")


def test_without_study_words_the_spec_label_is_used(tmp_path: Path) -> None:
    record = copy.deepcopy(_hypothesis("h9_new", outcome="social_cohesion_index"))
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"study": "S", "hypotheses": [record]}), encoding="utf-8")
    page = plain_pages(run, lang="en")[0][0]
    assert page.title == "Social cohesion index" and "by about 0.3." in page.headline


def test_standardised_indices_read_as_the_usual_spread(tmp_path: Path) -> None:
    specs = {"h1_horizontal_trust": {"outcome": {"construction": {"method": "zscore", "scale": [1, 5]}},
                                     "design": {"unit": "respondent_id", "cluster": "community_id"}}}
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust"), specs=specs)
    assert plain_pages(run, lang="en")[0][0].headline.startswith(
        "Trust between neighbours rose by about 0.3 of the usual spread between people.")
    assert "примерно на 0,3 обычного разброса между людьми" in plain_pages(run, lang="ru")[0][0].headline
