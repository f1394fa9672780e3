"""Trainer pages read against the demo's numbers: the exposure-response slope (h11), the spillover contrast (h12) and
the engagement/community series (h8, h9), in en/ru/ky; privacy for survey answers exactly as strict as before; and
the summaries read the estimate's typed parts by attribute, never ``extras`` by key.

Each record below carries the numbers of the demo's results.json (build/demo) for that hypothesis. Every test here
failed on the code before this change: h11 read "Horizontal trust ... hardly changed" and "6 communities" for six
CSOs, h12 "rose: a very small change", h8/h9 "The answer is hidden to protect privacy: too few people took part".
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from oca_experiments.report import plain_pages
from oca_experiments.results import Part
from oca_experiments.summarize import trainer_summary

REPO = Path(__file__).resolve().parents[3]
PLAIN_SOURCE = REPO / "oca_experiments" / "summarize" / "_plain.py"
DEMO_RESULTS = REPO / "tests" / "unit" / "fixtures" / "results" / "demo_results.json"

ZSCORE = {"method": "zscore", "items": ["h_trust_1", "h_trust_2", "h_trust_3", "h_trust_4"], "scale": [1, 5]}
SURVEY_DESIGN = {"unit": "respondent_id", "cluster": "community_id"}
SPECS = {
    "h11_trust_exposure_response": {
        "outcome": {"construction": ZSCORE}, "design": SURVEY_DESIGN,
        "estimator": {"name": "exposure_response", "options": {"unit": "community_id", "cluster": "cso_id"}}},
    "h12_spillover_near_far": {
        "outcome": {"construction": ZSCORE}, "design": SURVEY_DESIGN,
        "estimator": {"name": "spillover", "options": {"near": {"by": "district"}}}},
    "h8_engagement_synthetic": {
        "design": {"unit": "page_id"}, "estimator": {"name": "synthetic_did", "options": {"period": "month"}}},
    "h9_community_monthly": {
        "design": {"unit": "community_id", "cluster": "community_id"},
        "estimator": {"name": "its", "options": {"period": "month"}}},
    "h1_horizontal_trust": {"outcome": {"construction": {"method": "mean", "scale": [1, 5]}},
                            "design": SURVEY_DESIGN, "estimator": {"name": "survey_did"}},
}


def _record(hid: str, **fields) -> dict:
    record = {"id": hid, "status": "estimated", "type": "exploratory", "direction": "increase", "tails": "two",
              "verdict": "inconclusive", "sesoi": 0.1, "extras": {}}
    record.update(fields)
    return record


# the demo's numbers (build/demo/results.json)
H11 = _record("h11_trust_exposure_response", estimator="exposure_response", source="survey",
              outcome="horizontal_trust_index", estimate=0.007601171034589625, ci_low=-0.12133035531726485,
              ci_high=0.1365326973864441, n=24, n_clusters=6, se_type="CR2",
              counts={"units": 24, "units_treated": 12, "units_comparison": 12},
              extras={"exposure_response": {
                  "measure": "interactions on the CSO's campaign page per follower, between the waves",
                  "unit": "community_id", "scale": 1.0, "curve": "linear", "mean_dose": 3.0196354144262165,
                  "dose_range": [0.6002165415368349, 5.331440043721106], "treated_units": 12}})
H12 = _record("h12_spillover_near_far", estimator="spillover", source="survey", outcome="horizontal_trust_index",
              estimate=0.06379791713430065, ci_low=-0.06459751169527714, ci_high=0.1974886008105451, n=24,
              n_clusters=24, se_type="wild_webb", counts={"units": 24, "units_treated": 12, "units_near": 7,
                                                          "units_far": 5},
              extras={"spillover": {"rule": "same district as a treated unit", "unit": "community_id",
                                    "near_units": 7, "far_units": 5, "treated_units": 12}})
H8 = _record("h8_engagement_synthetic", estimator="synthetic_did", source="engagement", outcome="engagement_per_post",
             verdict="supported", sesoi=0.5, estimate=5.633983919588552, ci_low=3.31809841490793,
             ci_high=7.949869424269174, n=42, n_clusters=7, se_type="placebo",
             counts={"units": 7, "treated_units": 1, "comparison_units": 6, "periods": 6, "unit_periods": 42})
H9 = _record("h9_community_monthly", estimator="its", source="community", outcome="posts", verdict="supported",
             sesoi=10.0, estimate=29.796432560176076, ci_low=23.84261019074752, ci_high=35.75025492960463, n=144,
             n_clusters=3, se_type="state-space forecast variance",
             counts={"units": 8, "periods": 48, "campaigns": 3}, extras={"period": "month"})


def _run(tmp_path: Path, *records: dict) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"study": "Demo", "hypotheses": list(records)}), encoding="utf-8")
    manifest = {"schema_version": 1, "study": {"path": str(REPO)}, "specs": SPECS}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


def _pages(tmp_path: Path, lang: str, *records: dict) -> dict:
    return {page.hypothesis_id: page for page in plain_pages(_run(tmp_path, *records), lang=lang)[0]}


def _text(page_html: str) -> str:
    body = re.sub(r"<img[^>]*>", " ", page_html[page_html.index("<body"):])
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).replace("&#x27;", "'").replace("&#39;", "'")


# --- 1. exposure-response: a slope per unit of exposure; clusters are CSOs ------------------------------------------

SLOPE = {
    "en": ["Did trust between neighbours rise more where more of the campaign reached people?",
           "In these data, each extra unit of exposure (one interaction per follower on the CSO's campaign page "
           "between the survey waves) went with about 0.0076 index points more on trust between neighbours.",
           "Most likely the amount per extra unit of exposure lies between -0.12 and +0.14 (index points).",
           "Among the places with the campaign, exposure ranged from 0.6 to 5.3 (on average 3.0).",
           "The study has only 6 CSOs.", "Data: 24 communities and 6 CSOs."],
    "ru": ["с каждой дополнительной единицей охвата (одно взаимодействие на подписчика на странице кампании НКО "
           "между волнами опроса) показатель «доверие между соседями» был примерно на 0,0076 пункта индекса выше.",
           "от -0,12 до +0,14 (пункты индекса)", "от 0,6 до 5,3 (в среднем 3,0)",
           "В исследовании всего 6 организаций гражданского общества.",
           "Данные: 24 сообщества и 6 организаций гражданского общества."],
    "ky": ["«кошуналар ортосундагы ишеним» көрсөткүчүнүн болжол менен индекс боюнча 0,0076 упай жогору болушу",
           "-0,12 менен +0,14 ортосунда", "0,6 – 5,3 аралыгында болгон (орточо 3,0)",
           "Изилдөөдө болгону 6 жарандык коом уюму бар.", "Маалыматтар: 24 жамаат жана 6 жарандык коом уюму."],
}


@pytest.mark.parametrize("lang", sorted(SLOPE))
def test_exposure_response_reads_as_a_slope_per_unit_of_exposure(tmp_path: Path, lang: str) -> None:
    page = _pages(tmp_path, lang, H11)["h11_trust_exposure_response"]
    text = _text(page.html)
    for sentence in SLOPE[lang]:
        assert sentence in text, (sentence, text)
    assert "hardly changed" not in text and "6 communities" not in text and "6 сообществ" not in text
    assert "6 жамаат" not in text and "24 people" not in text
    if lang == "en":
        assert page.title == "Trust between neighbours: by how much of the campaign reached people"
        picture = trainer_summary([H11], lang="en", specs=SPECS).pages[0].picture
        assert picture.axis_label == "amount per extra unit of exposure (index points)"


def test_a_negative_slope_reads_as_less(tmp_path: Path) -> None:
    record = {**H11, "estimate": -0.0412, "ci_low": -0.2, "ci_high": 0.1}
    headline = _pages(tmp_path, "en", record)["h11_trust_exposure_response"].headline
    assert ("went with about 0.041 index points less on trust between neighbours." in headline), headline


def test_a_slope_registered_per_several_exposure_units_says_so(tmp_path: Path) -> None:
    """The estimator's ``scale`` option reports the slope per that many exposure units: the page must not call it
    'each extra unit'."""
    part = {**H11["extras"]["exposure_response"], "scale": 10.0}
    record = {**H11, "estimate": 0.076, "ci_low": -1.2, "ci_high": 1.4, "extras": {"exposure_response": part}}
    page = _pages(tmp_path, "en", record)["h11_trust_exposure_response"]
    assert ("each extra 10 units of exposure (one unit: one interaction per follower on the CSO's campaign page "
            "between the survey waves) went with about 0.076 index points more on trust between neighbours."
            ) in page.headline
    assert "each extra unit" not in page.headline
    assert "Most likely the amount per 10 extra units of exposure lies between -1.20 and +1.40 (index points)." in \
        page.details


# --- 1. spillover: near minus far comparison places -------------------------------------------------------------

SPILL = {
    "en": ["Did the campaign also raise trust between neighbours in nearby places without it?",
           "In these data, trust between neighbours changed by about 0.064 index points more in places without the "
           "campaign near campaign places than in those far from them.",
           "Most likely the difference between near and far places lies between -0.06 and +0.20 (index points).",
           "Compared: 7 communities without the campaign near campaign places and 5 communities far from them.",
           "Data: 24 communities."],
    "ru": ["показатель «доверие между соседями» изменился примерно на 0,064 пункта индекса больше, чем в местах "
           "вдали от них.", "от -0,06 до +0,20 (пункты индекса)",
           "Сравниваются: 7 сообществ без кампании рядом с местами кампании и 5 сообществ вдали от них."],
    "ky": ["болжол менен индекс боюнча 0,064 упай көбүрөөк өзгөргөн.", "-0,06 менен +0,20 ортосунда",
           "кампания өтпөгөн 7 жамаат жана алардан алыс жайгашкан 5 жамаат."],
}


@pytest.mark.parametrize("lang", sorted(SPILL))
def test_spillover_reads_as_near_against_far_comparison_places(tmp_path: Path, lang: str) -> None:
    page = _pages(tmp_path, lang, H12)["h12_spillover_near_far"]
    text = _text(page.html)
    for sentence in SPILL[lang]:
        assert sentence in text, (sentence, text)
    assert "a very small change" not in text and "24 people" not in text and "24 человек" not in text
    if lang == "en":  # told apart from the campaign's effect on the same outcome in the index
        assert page.title == "Trust between neighbours: places without the campaign near it and far from it"


# --- 2. series hypotheses: pages and communities are not people ----------------------------------------------------

SERIES = {
    "en": {"h8_engagement_synthetic": [
        "rose by about 5.6 (reactions, comments and shares per post).",
        "Most likely the change lies between +3.3 and +7.9 (reactions, comments and shares per post).",
        "This answer rests on 7 pages (1 with the campaign), each observed over 6 months.",
        "Only 1 page had the campaign.", "Data: 7 pages."],
        "h9_community_monthly": [
        "rose by about 30 (posts per month).",
        "This answer rests on 8 communities (3 with the campaign), each observed over 48 months.",
        "Only 3 communities had the campaign.", "Data: 8 communities.",
        # communities of practice are not pages: the ITS comparison sentence names neither
        "Each campaign is compared with what its own earlier trend and the comparison series predicted for the "
        "time after it started."]},
    "ru": {"h8_engagement_synthetic": ["Этот ответ основан на данных: 7 страниц (с кампанией: 1); срок наблюдения: "
                                       "6 месяцев.", "С кампанией — всего 1 страница."],
           "h9_community_monthly": ["Этот ответ основан на данных: 8 сообществ (с кампанией: 3); срок наблюдения: "
                                    "48 месяцев."]},
    "ky": {"h8_engagement_synthetic": ["7 баракча (кампания менен: 1); байкоо мөөнөтү: 6 ай."],
           "h9_community_monthly": ["8 жамаат (кампания менен: 3); байкоо мөөнөтү: 48 ай."]},
}


@pytest.mark.parametrize("lang", sorted(SERIES))
def test_series_answers_are_shown_with_what_they_rest_on(tmp_path: Path, lang: str) -> None:
    pages = _pages(tmp_path, lang, H8, H9)
    for hid, sentences in SERIES[lang].items():
        text = _text(pages[hid].html)
        assert "hidden" not in text and "people" not in text and "скрыт" not in text and "человек" not in text
        assert pages[hid].has_picture
        for sentence in sentences:
            assert sentence in text, (sentence, text)


@pytest.mark.parametrize("record", [
    _record("h1_horizontal_trust", estimator="survey_did", source="survey", estimate=0.31, ci_low=0.19,
            ci_high=0.43, n=14, n_clusters=24, counts={"units": 7}),
    _record("h1_horizontal_trust", estimator="exposure_response", source="survey", estimate=0.01, ci_low=-0.1,
            ci_high=0.1, n_clusters=6, counts={"units": 7}),
    _record("h1_horizontal_trust", estimator="not_a_registered_estimator", source="engagement", estimate=0.31,
            ci_low=0.19, ci_high=0.43, counts={"units": 4}),
], ids=["survey_did", "exposure_response", "unknown_estimator_fails_closed"])
def test_a_small_survey_cell_is_still_hidden(tmp_path: Path, record: dict) -> None:
    page = _pages(tmp_path, "en", record)["h1_horizontal_trust"]
    text = _text(page.html)
    assert page.headline == "The answer is hidden to protect privacy: too few people took part."
    assert "fewer than 10 people" in text and "0.3" not in text and " 7 " not in text and " 4 " not in text
    assert not page.has_picture


# --- 3. typed parts by attribute, never extras by key --------------------------------------------------------------

def test_summaries_never_read_extras_by_key() -> None:
    tree = ast.parse(PLAIN_SOURCE.read_text(encoding="utf-8"))
    found = [f"line {node.lineno}" for node in ast.walk(tree)
             if (isinstance(node, ast.Attribute) and node.attr == "extras")
             or (isinstance(node, ast.Name) and node.id == "extras")
             or (isinstance(node, ast.Constant) and node.value == "extras")]
    assert not found, f"summarize/_plain.py touches the untyped extras: {found}"


@pytest.fixture
def no_part_key_reads(monkeypatch):
    """Fail when summarize/_plain.py reads a part through its dict interface (``part["x"]``, ``part.get``...)."""
    def guarded(name):
        original = getattr(dict, name)

        def read(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            assert not caller.endswith(str(Path("summarize", "_plain.py"))), (
                f"summarize/_plain.py reads {type(self).__name__} by key {args[:1]}: read it by attribute")
            return original(self, *args, **kwargs)
        return read

    for name in ("__getitem__", "get", "__contains__", "keys", "items", "values"):
        monkeypatch.setattr(Part, name, guarded(name))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_demo_page_is_built_reading_parts_by_attribute(no_part_key_reads, lang: str) -> None:
    records = json.loads(DEMO_RESULTS.read_text(encoding="utf-8"))["hypotheses"]
    summary = trainer_summary(records, lang=lang, specs=SPECS)
    pages = {page.hypothesis_id: page for page in summary.pages}
    assert set(pages) == {r["id"] for r in records}
    bayes = pages["h7a_horizontal_trust_bayes"].headline  # the decision rule and posterior, read by attribute
    assert ("sure" in bayes) if lang == "en" else ("уверены" in bayes)


def test_the_built_in_series_estimators_are_the_registrys() -> None:
    """The report kernel names series estimators without importing the registry; the names must be the registry's."""
    from oca_experiments.estimators import REGISTRY
    from oca_experiments.report._trainer_pages import BUILT_IN_SERIES_ESTIMATORS

    assert BUILT_IN_SERIES_ESTIMATORS == {n for n, r in REGISTRY.items() if r.data_kind != "survey"}


def test_the_report_sections_load_no_estimator(tmp_path) -> None:
    """A fresh process that shows every section of the demo's report imports no fitter, numba or scipy.stats."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    runs = [Path(__file__).resolve().parents[1] / "fixtures" / "report"]
    probe = ("import sys, json, matplotlib; matplotlib.use('Agg')\n"
             "import IPython.display as d; d.display = lambda *a, **k: None\n"
             "from oca_experiments.report import load_report, render_section, SECTIONS\n"
             f"r = load_report({str(runs[0])!r})\n"
             "for name in SECTIONS:\n"
             "    try:\n        render_section(r, name)\n    except Exception:\n        pass\n"
             "print(json.dumps([m for m in ('oca_experiments.estimators', 'numba', 'scipy.stats') if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
