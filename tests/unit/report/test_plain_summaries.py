"""Trainer summaries: plain words, the certainty rule, locale formatting, caveats and privacy."""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from pathlib import Path

import pytest

from oca_experiments.summarize import _plain
from oca_experiments.report import plain_pages, write_summaries

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


def test_the_answer_comes_first_in_three_languages(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h2_vertical_trust", estimate=0.21, ci_low=0.02, ci_high=0.40,
                                     p_value_two_sided=0.03, verdict="supported"))
    en = plain_pages(run, lang="en")[0][0]
    assert en.headline == ("Yes: the campaign raised trust in public institutions. Trust in public institutions rose "
                           "by about 0.2 points on a 1–5 scale.")
    assert en.details[0] == "Most likely the change lies between +0.02 and +0.40 (points on a 1–5 scale)."
    ru = plain_pages(run, lang="ru")[0][0]
    assert ru.headline == ("Да: кампания повысила показатель «доверие к государственным институтам». Показатель "
                           "«доверие к государственным институтам» вырос примерно на 0,2 балла по шкале от 1 до 5.")
    ky = plain_pages(run, lang="ky")[0][0]
    assert ky.headline.startswith("Ооба: кампания «мамлекеттик институттарга ишеним» көрсөткүчүн жогорулатты.")


# --- issue 17: statements that were wrong (each of these failed on the old wording) --------------------------------

def _gain(**changes) -> dict:
    return _hypothesis("h3_knowledge_gain", estimator="knowledge_gain", estimate=0.4424, ci_low=0.4002,
                       ci_high=0.4845, p_value=1e-4, p_value_two_sided=1e-4, tails="one", verdict="supported",
                       n_clusters=13, counts={"units": 170},
                       extras={"mean_pre": 0.4747, "mean_post": 0.6847, "ratio": 1.4424}, **changes)


def test_knowledge_gain_is_a_relative_rise_not_percentage_points(tmp_path: Path) -> None:
    run = _run(tmp_path, _gain())
    en = plain_pages(run, lang="en")[0][0]
    assert "44 percentage points" not in en.headline
    assert ("rose by about 44% compared with before (on average from 47% to 68%, a rise of about 21 percentage "
            "points)") in en.headline
    assert en.details[0] == "Most likely the change lies between +40% and +48% (percent of the level before)."
    ru = plain_pages(run, lang="ru")[0][0]
    assert "44 процентных" not in ru.headline and "44\xa0%" in ru.headline and "21 процентный пункт" in ru.headline
    ky = plain_pages(run, lang="ky")[0][0]
    assert "44 пайыздык" not in ky.headline and "44%" in ky.headline and "21 пайыздык пунктка" in ky.headline


@pytest.mark.parametrize("lang", _plain.LANGUAGES)
def test_frequentist_answers_never_claim_certainty(tmp_path: Path, lang: str) -> None:
    """h4: p = 0.054, interval -0.1 to +11.9: once "We are about 97% sure it rose" (1 - p/2)."""
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", estimate=5.88, ci_low=-0.12, ci_high=11.88,
                                     p_value=0.054, p_value_two_sided=0.054, verdict="inconclusive"))
    page = plain_pages(run, lang=lang)[0][0]
    text = _text(page.html)
    assert not re.search(r"sure|уверен|ишенебиз|97", text), text
    lead = {"en": "Not clear: the data cannot tell whether the campaign raised",
            "ru": "Неясно: по этим данным нельзя сказать, повысила ли кампания",
            "ky": "Белгисиз: бул маалыматтар боюнча кампания"}[lang]
    assert page.headline.startswith(lead)
    assert any(("-0" in d or "−0" in d) and "11" in d for d in page.details)  # the interval follows the verdict


def test_pre_post_design_is_not_compared_with_other_places(tmp_path: Path) -> None:
    run = _run(tmp_path, _gain())
    pages, index = plain_pages(run, lang="en")
    for text in (_text(pages[0].html), _text(index)):
        assert "similar places without" not in text and "places without the campaign" not in text
    assert any("There was no comparison group" in d for d in pages[0].details)


def test_decrease_hypothesis_states_the_registered_claim(tmp_path: Path) -> None:
    """h7d: the verdict rests on P(effect < -0.02) = 0.934, not on P(effect < 0) = 0.998."""
    record = _hypothesis("h5_hostile_share", estimator="bayes_its", direction="decrease", estimate=-0.0388,
                         ci_low=-0.065, ci_high=-0.0123, p_value=None, p_value_two_sided=None, sesoi=0.02,
                         se_type="posterior_sd", verdict="inconclusive", n_clusters=6,
                         extras={"bayesian": True, "decision_rule": {"probability": 0.95, "against": "sesoi"},
                                 "posterior": {"p_gt_0": 0.002, "p_lt_0": 0.998, "p_gt_sesoi": 0.0,
                                               "p_lt_minus_sesoi": 0.934}})
    page = plain_pages(_run(tmp_path, record), lang="en")[0][0]
    assert page.headline.startswith("Not clear: the data cannot tell whether the campaign lowered the share of "
                                    "hostile comments.")
    assert ("We are about 93% sure that it fell by more than 2 (percentage points), the smallest change the team "
            "decided would matter (the team asked for 95% before calling it an answer).") in page.headline
    assert "99%" not in page.headline


def test_a_posterior_is_worded_as_certainty(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", p_value_two_sided=None, p_value=None, sesoi=None,
                                     verdict="inconclusive", extras={"posterior": {"p_gt_0": 0.91}}))
    headline = plain_pages(run, lang="en")[0][0].headline
    assert "We are about 91% sure that it rose (the team asked for 95% before calling it an answer)." in headline


def test_same_outcome_with_different_numbers_is_explained(tmp_path: Path) -> None:
    bayes = _hypothesis("h7a_horizontal_trust_bayes", estimator="bayes_did", estimate=0.30, p_value=None,
                        se_type="posterior_sd", outcome="horizontal_trust_index", source="survey",
                        extras={"bayesian": True, "posterior": {"p_gt_sesoi": 0.999, "p_lt_minus_sesoi": 0.0}})
    h1 = _hypothesis("h1_horizontal_trust", outcome="horizontal_trust_index", source="survey")
    h6 = _by_sex(female={"estimate": 0.39, "std_error": 0.09}, male={"estimate": 0.22, "std_error": 0.08})
    h6.update(outcome="horizontal_trust_index", source="survey")
    pages = plain_pages(_run(tmp_path, h1, h6, bayes), lang="en")[0]
    first = pages[0]
    assert first.details[-1] == ("Other pages answer a related question about the same outcome, so their numbers "
                                 "differ: how the effect differed among women and among men and a model that pools "
                                 "the organisations and says how sure we can be.")
    assert 'href="h6_horizontal_trust_by_sex.html"' in first.html
    assert "places with and without the campaign" in pages[2].details[-1]
    ru = plain_pages(tmp_path / "run", lang="ru")[0][0]
    assert "среди женщин и среди мужчин" in ru.details[-1]


def _with_lock(run: Path, locked_at: str, spec: dict) -> None:
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    manifest["specs"] = {"h1_horizontal_trust": spec}
    manifest["preregistration"] = {"lock": {"specs": [{"spec": "h1_horizontal_trust", "locked_at": locked_at}]}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_registration_wording_says_only_what_the_lock_establishes(tmp_path: Path) -> None:
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust"))
    spec = {**MANIFEST_SPECS["h1_horizontal_trust"], "registration_date": "2026-01-20",
            "design": {"unit": "respondent_id", "cluster": "community_id", "post": "endline",
                       "waves": [{"label": "baseline", "start": "2026-02-01"},
                                 {"label": "endline", "start": "2026-10-01"}]}}
    _with_lock(run, "2026-11-24T18:35:50Z", spec)
    text = _text(plain_pages(run, lang="en")[0][0].html)
    assert "fixed before the data were collected" not in text
    assert ("Main question, registered on January 20, 2026 (as the team declares), locked in the study's registry "
            "on November 24, 2026, after the outcome data began to be collected (October 1, 2026).") in text
    _with_lock(run, "2026-01-21T09:00:00Z", spec)
    early = _text(plain_pages(run, lang="en")[0][0].html)
    assert "locked in the study's registry on January 21, 2026." in early and "after the outcome" not in early
    assert "закреплён в реестре исследования 24 ноября 2026" not in _text(plain_pages(run, lang="ru")[0][0].html)


def test_pages_are_counted_once_and_units_are_named(tmp_path: Path) -> None:
    """h4: once "Data: 12 pages and 12 pages." and "rose by about 5.9." without a unit."""
    specs = {"h4_engagement_per_post": {"design": {"unit": "page_id", "cluster": "page_id"}}}
    run = _run(tmp_path, _hypothesis("h4_engagement_per_post", estimator="staggered_did", estimate=5.88,
                                     ci_low=-0.12, ci_high=11.88, verdict="inconclusive", n_clusters=12,
                                     counts={"units": 12}), specs=specs)
    page = plain_pages(run, lang="en")[0][0]
    text = _text(page.html)
    assert "Data: 12 pages." in text and "12 pages and 12 pages" not in text
    assert "rose by about 5.9 (reactions, comments and shares per post)." in page.headline
    assert page.details[0] == ("Most likely the change lies between -0.1 and +11.9 (reactions, comments and shares "
                               "per post).")
    assert "Маалыматтар: 12 баракча." in _text(plain_pages(run, lang="ky")[0][0].html)  # Facebook pages (баракча)


def test_plots_are_sharp_and_alt_text_states_the_finding(tmp_path: Path) -> None:
    page = plain_pages(_run(tmp_path, _hypothesis("h2_vertical_trust", estimate=0.21, ci_low=0.02, ci_high=0.40)),
                       lang="en")[0][0]
    assert 'alt="Picture: the best guess of the change (+0.21) and its most likely range (+0.02 to +0.4)' in page.html
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page.html).group(1))
    width = int.from_bytes(png[16:20], "big")
    assert width >= 5.2 * 150 * 0.8  # 150 dpi (bbox_inches="tight" trims a little)


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
    # dates: the declared registration date (no estimator records a dated "period" extra: it is a period name)
    specs = {**MANIFEST_SPECS, "h3_knowledge_gain": {**MANIFEST_SPECS["h3_knowledge_gain"],
                                                     "registration_date": "2026-03-01"}}
    run = _run(tmp_path, _hypothesis("h3_knowledge_gain", estimate=0.1234, ci_low=0.05, ci_high=0.2,
                                     counts={"units": 1250}), specs=specs)
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
                       ci_low=-0.06, ci_high=0.41, p_value_two_sided=0.143, verdict="inconclusive",
                       extras={"effect_by_group": groups})


def test_subgroups_are_named_in_the_language(tmp_path: Path) -> None:
    run = _run(tmp_path, _by_sex(female={"estimate": 0.39, "std_error": 0.09},
                                 male={"estimate": 0.22, "std_error": 0.08}))
    page = plain_pages(run, lang="en")[0][0]
    assert page.headline == ("Not clear: the data cannot tell whether the campaign worked differently among women and "
                             "among men. In these data the campaign's effect on trust between neighbours was bigger "
                             "among women than among men, by about 0.2 points on a 1–5 scale.")
    assert "sure" not in page.headline  # a frequentist answer: no certainty
    assert page.details[0] == "Among women: trust between neighbours rose by about 0.4 points on a 1–5 scale."
    ru = plain_pages(run, lang="ru")[0][0]
    assert "сильнее среди женщин, чем среди мужчин" in ru.headline and "«женщины»" not in ru.headline
    assert ru.details[0].startswith("Среди женщин: показатель")
    assert "аялдардын арасында" in plain_pages(run, lang="ky")[0][0].headline


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


def test_standardised_indices_read_as_small_moderate_large(tmp_path: Path) -> None:
    specs = {"h1_horizontal_trust": {"outcome": {"construction": {"method": "zscore", "scale": [1, 5]}},
                                     "design": {"unit": "respondent_id", "cluster": "community_id"}}}
    run = _run(tmp_path, _hypothesis("h1_horizontal_trust", estimate=0.3265, verdict="supported"), specs=specs)
    page = plain_pages(run, lang="en")[0][0]
    assert page.headline == ("Yes: the campaign raised trust between neighbours. Trust between neighbours rose: a small "
                             "change (+0.33 index points).")
    assert "usual spread" not in _text(page.html)
    assert ("On this index a change of 0.2 counts as small, 0.5 as moderate and 0.8 as large (the usual rule of "
            "thumb for such indices).") in page.details
    ru = plain_pages(run, lang="ru")[0][0]
    assert "вырос: это небольшое изменение (+0,33 пункта индекса)" in ru.headline
    assert "разброс" not in _text(ru.html)


def test_study_declared_size_thresholds(tmp_path: Path) -> None:
    words = _plain._StudyWords(sizes={"h1_horizontal_trust": (0.1, 0.3, 0.6)})
    writer = _plain._Writer("en", words, threshold=10)
    page = _plain._page(writer, _hypothesis("h1_horizontal_trust", estimate=0.33, verdict="supported"),
                        {"outcome": {"construction": {"method": "zscore"}}}, study="S")
    assert "a moderate change" in page.headline
    assert "On this index the study counts a change of 0.1 as small, 0.3 as moderate and 0.6 as large." in page.details


SUMMARY_KINDS = {
    "supported": _hypothesis("h1_horizontal_trust", verdict="supported"),
    "not_supported": _hypothesis("h1_horizontal_trust", estimate=0.01, ci_low=-0.03, ci_high=0.05,
                                 verdict="not supported"),
    "inconclusive_decrease": _hypothesis("h5_hostile_share", direction="decrease", estimate=-0.01, ci_low=-0.04,
                                         ci_high=0.02, verdict="inconclusive"),
    "relative_gain": _gain(),
    "posterior": _hypothesis("h7a_horizontal_trust_bayes", p_value=None, se_type="posterior_sd",
                             verdict="supported", extras={"bayesian": True,
                                                          "posterior": {"p_gt_sesoi": 0.999, "p_gt_0": 1.0}}),
    "unreliable": _hypothesis("h7a_horizontal_trust_bayes", verdict="unreliable: diagnostics failed (R-hat)",
                              extras={"bayesian": True, "diagnostics": {"passed": False}}),
    "subgroup": None,  # filled below (needs _by_sex)
    "exploratory_any": _hypothesis("h2_vertical_trust", type="exploratory", direction="any", verdict="supported"),
    "hardly_changed": _hypothesis("h2_vertical_trust", estimate=0.001, ci_low=-0.05, ci_high=0.05,
                                  verdict="not supported"),
    "not_estimated": _hypothesis("h2_vertical_trust", status="not_testable", estimate=None),
    "hidden": _hypothesis("h2_vertical_trust", counts={"units": 4}),
}


@pytest.mark.parametrize("lang", _plain.LANGUAGES)
@pytest.mark.parametrize("kind", sorted(SUMMARY_KINDS))
def test_every_summary_kind_renders_in_every_language(tmp_path: Path, kind: str, lang: str) -> None:
    record = SUMMARY_KINDS[kind] or _by_sex(female={"estimate": 0.39, "std_error": 0.09},
                                            male={"estimate": 0.22, "std_error": 0.08})
    specs = {**MANIFEST_SPECS, "h5_hostile_share": {"design": {"unit": "page_id", "cluster": "page_id"}},
             "h7a_horizontal_trust_bayes": MANIFEST_SPECS["h1_horizontal_trust"]}
    pages, index = plain_pages(_run(tmp_path, copy.deepcopy(record), specs=specs), lang=lang)
    page = pages[0]
    text = _text(page.html)
    assert page.headline and "{" not in text and "}" not in text, text
    assert not JARGON.search(text) and not ACRONYMS.search(text), text
    if lang != "en":  # every sentence is translated: no English sentence left on the page
        assert not re.search(r"\b(?:the|campaign|change|rose|fell|sure)\b", text), text
        assert re.search(r"[а-яөүң]", page.headline)
    if record.get("status") == "estimated" and record.get("type") != "exploratory" and kind != "hidden":
        assert page.headline.split(":")[0] in {"Yes", "No", "Not clear", "Да", "Нет", "Неясно", "Ооба", "Жок",
                                               "Белгисиз", "No answer yet", "Ответа пока нет", "Азырынча жооп жок"}


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_dose_response_and_spillover_pages_say_what_their_number_is(tmp_path: Path, lang: str) -> None:
    """Issue 20: a dose-response slope is not the campaign's effect, and a spillover contrast compares comparison
    places; the pages (and the notes on related pages about the same outcome) say so in every language."""
    common = {"outcome": "horizontal_trust_index", "source": "survey", "type": "exploratory"}
    h1 = _hypothesis("h1_horizontal_trust", estimator="survey_did", **{**common, "type": "confirmatory"})
    run = _run(tmp_path, h1,
               _hypothesis("h11_trust_exposure_response", estimator="exposure_response", estimate=0.01,
                           ci_low=-0.12, ci_high=0.14, **common),
               _hypothesis("h12_spillover_near_far", estimator="spillover", estimate=0.06, ci_low=-0.06,
                           ci_high=0.2, **common))
    pages = {page.hypothesis_id: page for page in plain_pages(run, lang=lang)[0]}
    t = _plain.load_translations(lang)
    dose_caveat = t.gettext("This number is not the campaign's effect: it says how much larger the change was for "
                            "each extra unit of campaign exposure a place received. Places that got more exposure "
                            "may differ in other ways too, so it does not prove that more exposure causes more "
                            "change.")
    assert dose_caveat in pages["h11_trust_exposure_response"].caveats
    assert dose_caveat not in pages["h1_horizontal_trust"].caveats
    assert any(t.gettext("how the effect grew with the campaign's reach") in d
               for d in pages["h1_horizontal_trust"].details)
    assert any(t.gettext("places without the campaign near it and far from it") in d
               for d in pages["h1_horizontal_trust"].details)
    spill = pages["h12_spillover_near_far"]
    assert any("A difference would suggest" in c or c == t.gettext(
        "This number compares places without the campaign near campaign places with those far away. A difference "
        "would suggest that the campaign also reached its neighbours.") for c in spill.caveats)
