"""The trainer summaries' gettext catalogs: complete, in sync with the code, correct plural forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from oca_experiments.summarize import _plain

REPO = Path(__file__).resolve().parents[3]
PACKAGE_LOCALE = REPO / "oca_experiments" / "locale"
STUDY_LOCALE = REPO / "locale"
TRANSLATED = ("ru", "ky")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _key(message) -> tuple:
    return message.context, message.id


CATALOGS = [(PACKAGE_LOCALE / "oca.pot", PACKAGE_LOCALE / lang / "LC_MESSAGES" / "oca.po", lang)
            for lang in TRANSLATED] + [
           (STUDY_LOCALE / "study.pot", STUDY_LOCALE / lang / "LC_MESSAGES" / "study.po", lang)
           for lang in TRANSLATED]


@pytest.mark.parametrize(("template", "catalog", "lang"), CATALOGS,
                         ids=[f"{c.parent.parent.parent.parent.name}-{c.stem}-{lang}" for _, c, lang in CATALOGS])
def test_catalog_is_complete_and_matches_its_template(template: Path, catalog: Path, lang: str) -> None:
    source = {_key(m): m for m in _read(template) if m.id}
    translated = _read(catalog, lang)
    messages = {_key(m): m for m in translated if m.id}
    assert set(messages) == set(source), "catalog and template differ; run pybabel update (see babel.cfg)"
    for key, message in messages.items():
        assert not message.fuzzy, f"{catalog.name}: fuzzy (unreviewed) translation for {key}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"{catalog.name}: untranslated {key}"
        if isinstance(message.id, tuple):
            assert len(strings) == translated.num_plurals, f"{catalog.name}: wrong number of plural forms for {key}"
        wanted = set(PLACEHOLDER.findall(message.id[0] if isinstance(message.id, tuple) else message.id))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, f"{catalog.name}: placeholders differ in {key}"
    assert not list(translated.check()), "babel's checkers found problems"


def test_package_template_is_in_sync_with_the_code() -> None:
    extracted = {(context, msgid) for _, msgid, _, context in
                 extract_from_file("python", REPO / "oca_experiments" / "summarize" / "_plain.py")}
    template = {_key(m) for m in _read(PACKAGE_LOCALE / "oca.pot") if m.id}
    assert extracted == template, "oca.pot is out of date; run the pybabel extract command in babel.cfg"


def test_plural_rules_in_the_headers() -> None:
    assert _read(PACKAGE_LOCALE / "ru" / "LC_MESSAGES" / "oca.po", "ru").num_plurals == 3
    assert _read(PACKAGE_LOCALE / "ky" / "LC_MESSAGES" / "oca.po", "ky").num_plurals == 2


@pytest.mark.parametrize(("n", "people", "groups", "fewer"), [
    (1, "1 человек", "1 группа", "менее 1 человека"),
    (2, "2 человека", "2 группы", "менее 2 человек"),
    (5, "5 человек", "5 групп", "менее 5 человек"),
    (21, "21 человек", "21 группа", "менее 21 человека"),
    (12, "12 человек", "12 групп", "менее 12 человек"),
])
def test_russian_plural_forms(n: int, people: str, groups: str, fewer: str) -> None:
    t = _plain.load_translations("ru")
    assert t.ngettext("{n} person", "{n} people", n).format(n=n) == people
    assert t.ngettext("{n} group", "{n} groups", n).format(n=n) == groups
    assert t.ngettext("fewer than {n} person", "fewer than {n} people", n).format(n=n) == fewer


@pytest.mark.parametrize(("n", "points"), [(1, "1 балл"), (2, "2 балла"), (5, "5 баллов")])
def test_russian_plural_forms_of_amounts_and_study_words(n: int, points: str) -> None:
    t = _plain.load_translations("ru")
    text = t.npgettext("whole amount", "{amount} point on a {low}–{high} scale",
                       "{amount} points on a {low}–{high} scale", n).format(amount=n, low=1, high=5)
    assert text == f"{points} по шкале от 1 до 5"
    words = _plain._StudyWords.load(REPO, "ru")
    assert words.count("cluster:community_id", n, str(n)) == {1: "1 сообщество", 2: "2 сообщества",
                                                              5: "5 сообществ"}[n]


def test_english_needs_no_catalog_and_unknown_languages_are_refused() -> None:
    assert _plain.load_translations("en").ngettext("{n} person", "{n} people", 2) == "{n} people"
    with pytest.raises(Exception, match="no summaries in language 'de'"):
        _plain.load_translations("de")
