"""Plain-language summaries for trainers: one short page per hypothesis in English, Russian or Kyrgyz.

``write_summaries(run_dir, lang=..., out_dir=...)`` reads a finished run (``results.json``, and ``manifest.json``
for the specs and the study folder) and writes ``index.html`` plus ``<hypothesis id>.html``: self-contained pages
with no p-values and no jargon, a small picture and the caveats that matter.

Words live in gettext catalogs, not in code:

- the package's sentences: ``oca_experiments/locale/<lang>/LC_MESSAGES/oca.po`` (template ``locale/oca.pot``,
  extracted from this file with Babel: ``pybabel extract -F oca_experiments/locale/babel.cfg --add-comments
  TRANSLATORS: -o oca_experiments/locale/oca.pot .`` then ``pybabel update -i oca_experiments/locale/oca.pot -d
  oca_experiments/locale -D oca``);
- the study's own words (what each outcome is called, the cluster and unit nouns, subgroup names):
  ``STUDY/locale/study.pot`` holds the English text, keyed by context, e.g. ``msgctxt "h1_horizontal_trust"``
  ``msgid "trust between neighbours"``; ``STUDY/locale/<lang>/LC_MESSAGES/study.po`` translates it. Contexts:
  ``<hypothesis id>`` (the outcome, as a noun phrase), ``cluster:<column>`` and ``unit:<column>`` (plural nouns
  with ``{n}``), ``level:<column>=<value>`` (a subgroup's name), ``study:name``. An extracted comment
  ``#. scale: share`` (or ``#. scale: 1-5``, ``#. scale: sd``, ``#. scale: plain``) on a hypothesis' entry says how
  its amounts read, when the spec's outcome construction does not (a mean index on a registered scale reads as
  points, a z-score or ICW index as "of the usual spread between people").

Catalogs are compiled in memory when loaded (Babel ``write_mo``), so no compiled ``.mo`` file can go stale.
Numbers and percentages are formatted for the locale with ``babel.numbers``; dates with ``babel.dates``.

**Certainty wording rule.** "We are N% sure it rose" states the probability that the effect has the sign of the
estimate. Bayesian results give it directly (the posterior probability). For frequentist results it is one minus
the one-sided p-value in the direction of the estimate (``1 - p_two_sided / 2``), which equals the posterior
probability of that sign under a flat prior and the same t/normal approximation the test used. Then:

- ``>= 99.5%``: "more than 99% sure";
- ``90% - 99.5%``: "about N% sure";
- ``75% - 90%``: "it probably rose, but we are only about N% sure";
- ``< 75%``: "we cannot tell whether it really rose or fell".

The amount is the estimate rounded for reading ("about"): one decimal from 0.1 up, two significant digits below,
whole numbers from 10 up; shares (outcomes on a 0-1 scale) are shown in percentage points. A change under 0.05
points on a rating scale, or under half a percentage point, reads "hardly changed".

**Privacy.** Counts of people below the study's ``suppression_threshold`` are never shown ("fewer than 10
people"); a subgroup whose result is suppressed in results.json stays hidden, and so does the difference between
subgroups, because the hidden number could be worked out from it.
"""

from __future__ import annotations

import base64
import gettext
import html
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from oca_experiments._layout import DEFAULT_SUPPRESSION_THRESHOLD
from oca_experiments.errors import ReportError

__all__ = ["LANGUAGES", "PlainPage", "load_translations", "plain_pages", "write_summaries"]

LANGUAGES = ("en", "ru", "ky")
DOMAIN = "oca"
STUDY_DOMAIN = "study"
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
FEW_CLUSTERS = 30  # below this, cluster-robust uncertainty is itself uncertain: say so


# --- catalogs ----------------------------------------------------------------------------------------------------

def _read_catalog(path: Path, lang: str | None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def _compile(catalog: Catalog) -> Translations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out: an unreviewed translation falls back to English
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def load_translations(lang: str, *, locale_dir: Path = LOCALE_DIR, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The compiled catalog for ``lang`` (English needs none: the msgids are English)."""
    if lang not in LANGUAGES:
        raise ReportError(f"no summaries in language '{lang}'", fix=f"use one of: {', '.join(LANGUAGES)}")
    path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"
    if lang == "en" and not path.is_file():
        return gettext.NullTranslations()
    if not path.is_file():
        raise ReportError(f"the {lang} catalog is missing", path=str(path),
                          fix=f"restore {domain}.po from the repository or run pybabel init")
    return _compile(_read_catalog(path, lang))


@dataclass
class _StudyWords:
    """The study's own words: English from ``locale/study.pot``, translations from ``<lang>/.../study.po``."""

    source: dict[str, Any] = field(default_factory=dict)  # context -> msgid (str, or (singular, plural))
    translations: gettext.NullTranslations = field(default_factory=gettext.NullTranslations)
    scales: dict[str, str] = field(default_factory=dict)  # hypothesis id -> "share" | "plain" | "<low>-<high>"

    @classmethod
    def load(cls, study_dir: Path | None, lang: str) -> _StudyWords:
        if study_dir is None:
            return cls()
        pot = study_dir / "locale" / f"{STUDY_DOMAIN}.pot"
        if not pot.is_file():
            return cls()
        template = [m for m in _read_catalog(pot, None) if m.id and m.context]
        source = {m.context: m.id for m in template}
        scales = {m.context: comment.partition(":")[2].strip() for m in template for comment in m.auto_comments
                  if comment.lower().startswith("scale:")}
        po = study_dir / "locale" / lang / "LC_MESSAGES" / f"{STUDY_DOMAIN}.po"
        translations = _compile(_read_catalog(po, lang)) if po.is_file() else gettext.NullTranslations()
        return cls(source, translations, scales)

    def text(self, context: str) -> str | None:
        msgid = self.source.get(context)
        if msgid is None or isinstance(msgid, tuple):
            return None
        return self.translations.pgettext(context, msgid)

    def count(self, context: str, n: int, number: str) -> str | None:
        msgid = self.source.get(context)
        if not isinstance(msgid, tuple):
            return None
        return self.translations.npgettext(context, msgid[0], msgid[1], n).format(n=number)


# --- reading the run ---------------------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class _Scale:
    """How an outcome's amounts read: 'points on a 1-5 scale', 'percentage points' or plain numbers."""

    kind: str  # "points" | "percentage_points" | "sd" | "plain"
    low: float | None = None
    high: float | None = None

    @property
    def factor(self) -> float:
        return 100.0 if self.kind == "percentage_points" else 1.0


def _scale_of(spec: Mapping[str, Any] | None, declared: str | None = None) -> _Scale:
    """The study's ``#. scale:`` note in study.pot wins; else a mean index's registered scale; else plain."""
    if declared:
        if declared == "share":
            return _Scale("percentage_points")
        if declared == "sd":
            return _Scale("sd")
        low, sep, high = declared.partition("-")
        try:
            return _Scale("points", float(low), float(high)) if sep else _Scale("plain")
        except ValueError:
            return _Scale("plain")
    construction = ((spec or {}).get("outcome") or {}).get("construction") or {}
    scale = construction.get("scale")
    if construction.get("method") in {"zscore", "icw"}:  # standardised indices: units of the usual spread
        return _Scale("sd")
    if construction.get("method") != "mean":  # a single column's scale need not be the estimate's (ordinal models)
        return _Scale("plain")
    if isinstance(scale, (list, tuple)) and len(scale) == 2 and all(_is_number(v) for v in scale):
        low, high = float(scale[0]), float(scale[1])
        if (low, high) == (0.0, 1.0):
            return _Scale("percentage_points")
        return _Scale("points", low, high)
    return _Scale("plain")


def _certainty(h: Mapping[str, Any]) -> float | None:
    """Probability that the effect has the estimate's sign (see the module docstring)."""
    extras = h.get("extras") or {}
    estimate = h.get("estimate")
    if not _is_number(estimate):
        return None
    posterior = extras.get("posterior") if isinstance(extras.get("posterior"), Mapping) else {}
    for source, key in ((posterior, "p_gt_0"), (extras, "prob_positive"), (extras, "p_gt_0")):
        if _is_number(source.get(key)):  # Bayesian: the posterior says it directly
            positive = float(source[key])
            return positive if estimate >= 0 else 1.0 - positive
    p_two = h.get("p_value_two_sided")
    if not _is_number(p_two):
        if h.get("tails") == "two" and _is_number(h.get("p_value")):
            p_two = h["p_value"]
        elif _is_number(h.get("std_error")) and h["std_error"] > 0:
            from scipy import stats

            z = abs(estimate) / h["std_error"]
            df = h.get("df")
            return float(stats.t(df).cdf(z) if _is_number(df) else stats.norm.cdf(z))
        else:
            return None
    return 1.0 - float(p_two) / 2.0


def _diagnostics_failed(h: Mapping[str, Any]) -> bool:
    diagnostics = (h.get("extras") or {}).get("diagnostics")
    return isinstance(diagnostics, Mapping) and diagnostics.get("passed") is False


def _about(value: float) -> float:
    """Round a magnitude for reading: whole from 10, one decimal from 0.1, else two significant digits."""
    value = abs(value)
    if value >= 10:
        return float(round(value))
    if value >= 0.1 or value == 0:
        return round(value, 1)
    digits = 1 - int(math.floor(math.log10(value)))
    return round(value, digits)


def _negligible(estimate: float, scale: _Scale) -> bool:
    """'Hardly changed': under 0.05 points on a rating scale, or half a percentage point of a share."""
    if scale.kind == "points":
        return abs(estimate) < 0.05
    if scale.kind == "percentage_points":
        return abs(estimate) * 100 < 0.5
    if scale.kind == "sd":
        return abs(estimate) < 0.02
    return estimate == 0


def _decimals(value: float) -> int:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return len(text.partition(".")[2])


# --- the page ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlainPage:
    """One hypothesis in plain language; ``html`` is a whole self-contained page."""

    hypothesis_id: str
    title: str
    question: str
    headline: str
    details: tuple[str, ...]
    caveats: tuple[str, ...]
    html: str
    has_picture: bool


class _Writer:
    """Builds the sentences for one language; every user-visible string goes through the catalogs."""

    def __init__(self, lang: str, words: _StudyWords, *, threshold: int) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        self.t = load_translations(lang)
        self.words = words
        self.threshold = threshold

    # numbers --------------------------------------------------------------------------------------------------
    def number(self, value: float, decimals: int) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def signed(self, value: float, decimals: int) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=f"+{pattern};-{pattern}", locale=self.locale)

    def percent(self, share: float) -> str:
        return format_percent(round(share, 2), locale=self.locale)  # the locale's pattern: "97%", "97 %"

    def count(self, n: int) -> str:
        return format_decimal(n, format="#,##0", locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    # phrases ---------------------------------------------------------------------------------------------------
    def amount(self, magnitude: float, scale: _Scale) -> str:
        """'0.3 points on a 1-5 scale' for an absolute change, already rounded with ``_about``."""
        value = _about(magnitude * scale.factor)
        decimals = _decimals(value)
        shown = self.number(value, decimals)
        whole = decimals == 0
        if scale.kind == "points":
            low, high = self.number(scale.low, _decimals(scale.low)), self.number(scale.high, _decimals(scale.high))
            if whole:
                # TRANSLATORS: a change by a whole number of points, used after "by about" ("rose by about 1 point").
                # The phrase may carry the word "about" itself where the language puts it elsewhere (ky).
                text = self.t.npgettext("whole amount", "{amount} point on a {low}–{high} scale",
                                        "{amount} points on a {low}–{high} scale", int(value))
            else:
                # TRANSLATORS: a change by a decimal number of points (e.g. 0.3), used after "by about".
                text = self.t.pgettext("decimal amount", "{amount} points on a {low}–{high} scale")
            return text.format(amount=shown, low=low, high=high)
        if scale.kind == "percentage_points":
            if whole:
                # TRANSLATORS: a change of a share, in whole percentage points, used after "by about".
                text = self.t.npgettext("whole amount", "{amount} percentage point", "{amount} percentage points",
                                        int(value))
            else:
                text = self.t.pgettext("decimal amount", "{amount} percentage points")
            return text.format(amount=shown)
        if scale.kind == "sd":
            # TRANSLATORS: a change of a standardised index, in standard deviations said plainly: "rose by about
            # 0.3 of the usual spread between people".
            return self.t.pgettext("spread amount", "{amount} of the usual spread between people").format(
                amount=shown)
        # TRANSLATORS: a change without a unit (the outcome's own units), used after "by about".
        return self.t.pgettext("unitless amount", "{amount}").format(amount=shown)

    def people(self, n: Any) -> str | None:
        if not _is_number(n):
            return None
        n = int(n)
        if n < self.threshold:
            # TRANSLATORS: a count of people hidden for privacy, e.g. "fewer than 10 people".
            return self.t.ngettext("fewer than {n} person", "fewer than {n} people",
                                   self.threshold).format(n=self.count(self.threshold))
        return self.t.ngettext("{n} person", "{n} people", n).format(n=self.count(n))

    def units(self, column: str | None, n: Any) -> str | None:
        if not column or not _is_number(n):
            return None
        n = int(n)
        if n < self.threshold:
            return self.people(n)  # small counts are hidden whatever the unit is
        return self.words.count(f"unit:{column}", n, self.count(n))

    def clusters(self, column: str | None, n: int) -> str:
        found = self.words.count(f"cluster:{column}", n, self.count(n)) if column else None
        if found:
            return found
        # TRANSLATORS: the fallback noun for the independent groups (e.g. communities) a result rests on.
        return self.t.ngettext("{n} group", "{n} groups", n).format(n=self.count(n))

    def subject(self, h: Mapping[str, Any], spec: Mapping[str, Any] | None) -> str:
        found = self.words.text(str(h.get("id")))
        if found:
            return found
        label = ((spec or {}).get("outcome") or {}).get("label") or h.get("outcome") or h.get("id")
        return str(label).replace("_", " ")

    def level(self, column: str, value: str) -> str:
        return self.words.text(f"level:{column}={value}") or value

    # sentences -------------------------------------------------------------------------------------------------
    def question(self, direction: str, subject: str, by: tuple[str, str] | None) -> str:
        if by is not None:
            return self.t.gettext("Did the campaign change {subject} differently for {level} and {reference}?"
                                  ).format(subject=subject, level=by[0], reference=by[1])
        if direction == "increase":
            return self.t.gettext("Did the campaign raise {subject}?").format(subject=subject)
        if direction == "decrease":
            return self.t.gettext("Did the campaign lower {subject}?").format(subject=subject)
        return self.t.gettext("Did the campaign change {subject}?").format(subject=subject)

    def change(self, estimate: float, scale: _Scale, subject: str) -> str:
        if _negligible(estimate, scale):
            return self.t.gettext("{subject} hardly changed.").format(subject=subject)
        amount = self.amount(estimate, scale)
        if estimate > 0:
            return self.t.gettext("{subject} rose by about {amount}.").format(subject=subject, amount=amount)
        return self.t.gettext("{subject} fell by about {amount}.").format(subject=subject, amount=amount)

    def sureness(self, certainty: float | None, estimate: float) -> str | None:
        if certainty is None:
            return None
        rose = estimate > 0
        shown = self.percent(min(round(certainty, 2), 0.99))
        if certainty >= 0.995:
            text = (self.t.gettext("We are more than {percent} sure it rose.") if rose
                    else self.t.gettext("We are more than {percent} sure it fell."))
            return text.format(percent=self.percent(0.99))
        if certainty >= 0.90:
            text = (self.t.gettext("We are about {percent} sure it rose.") if rose
                    else self.t.gettext("We are about {percent} sure it fell."))
            return text.format(percent=shown)
        if certainty >= 0.75:
            text = (self.t.gettext("It probably rose, but we are only about {percent} sure.") if rose
                    else self.t.gettext("It probably fell, but we are only about {percent} sure."))
            return text.format(percent=shown)
        return self.t.gettext("We cannot tell whether it really rose or fell: the data fit both.")

    def group_sureness(self, certainty: float | None, bigger: str) -> str | None:
        if certainty is None:
            return None
        if certainty >= 0.995:
            return self.t.gettext("We are more than {percent} sure the effect was bigger among {group}."
                                  ).format(percent=self.percent(0.99), group=bigger)
        if certainty >= 0.90:
            return self.t.gettext("We are about {percent} sure the effect was bigger among {group}."
                                  ).format(percent=self.percent(min(round(certainty, 2), 0.99)), group=bigger)
        if certainty >= 0.75:
            return self.t.gettext("The effect was probably bigger among {group}, but we are only about {percent} "
                                  "sure.").format(percent=self.percent(round(certainty, 2)), group=bigger)
        return self.t.gettext("We cannot tell which group the campaign affected more.")

    def interval(self, low: float, high: float, scale: _Scale, estimate: float) -> str:
        # As many decimals as the rounded estimate shows, one more when a bound would otherwise read as zero.
        decimals = _decimals(_about(estimate * scale.factor))
        bounds = [v * scale.factor for v in (low, high)]
        while decimals < 3 and any(v != 0 and round(v, decimals) == 0 for v in bounds):
            decimals += 1
        values = [round(v, decimals) for v in bounds]
        return self.t.gettext("Most likely the change lies between {low} and {high} (on the same scale)."
                              ).format(low=self.signed(values[0], decimals), high=self.signed(values[1], decimals))

    def small_effect(self, sesoi: float, scale: _Scale) -> str:
        value = _about(sesoi * scale.factor)
        return self.t.gettext("Any change was smaller than the smallest change the team decided in advance would "
                              "matter ({amount}).").format(amount=self.number(value, _decimals(value)))

    def no_result(self, status: str) -> str:
        messages = {
            "not_yet_estimable": self.t.gettext("The method for this question is not ready yet, so there is no "
                                                "answer yet."),
            "contract_failed": self.t.gettext("The data did not pass the quality checks, so no answer is shown."),
            "not_testable": self.t.gettext("These data cannot answer this question (for example, a group is too "
                                           "small)."),
            "estimation_failed": self.t.gettext("The calculation did not work for these data, so there is no "
                                                "answer."),
        }
        return messages.get(status, messages["estimation_failed"])

    def kind_label(self, kind: str) -> str:
        if kind == "confirmatory":
            return self.t.gettext("Main question, fixed before the data were collected")
        return self.t.gettext("Extra question, explored to find ideas")


def _capitalize(text: str) -> str:
    """Upper-case the first letter (which may follow an opening quote)."""
    for position, char in enumerate(text):
        if char.isalpha():
            return text[:position] + char.upper() + text[position + 1:]
    return text


def _lower_first(text: str) -> str:
    """Lower-case the first letter: a sentence continued after a colon."""
    for position, char in enumerate(text):
        if char.isalpha():
            return text[:position] + char.lower() + text[position + 1:]
    return text


def _by_option(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    options = ((spec or {}).get("estimator") or {}).get("options") or {}
    by = options.get("by")
    return by if isinstance(by, Mapping) and by.get("column") else None


def _group_hidden(entry: Any, threshold: int) -> bool:
    if not isinstance(entry, Mapping):
        return True
    if entry.get("suppressed") or not _is_number(entry.get("estimate")):
        return True
    n = entry.get("n", entry.get("n_units"))
    return _is_number(n) and n < threshold


def _picture(writer: _Writer, estimate: float, low: float, high: float, scale: _Scale) -> str:
    """A small PNG (data URI): the best guess, its likely range and the zero line, labelled in the language."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = writer.t
    values = [v * scale.factor for v in (estimate, low, high)]
    span = max(abs(values[1]), abs(values[2]), 1e-9)
    fig, ax = plt.subplots(figsize=(5.2, 1.6), dpi=100)
    ax.plot([values[1], values[2]], [0, 0], color="#1f4e79", linewidth=6, solid_capstyle="round", alpha=0.35,
            label=t.gettext("most likely range"))
    ax.plot([values[0]], [0], "o", color="#1f4e79", markersize=10, label=t.gettext("best guess"))
    ax.axvline(0, color="#555555", linestyle="--", linewidth=1)
    ax.annotate(t.gettext("no change"), xy=(0, 0.8), xycoords=("data", "axes fraction"), ha="center",
                fontsize=8, color="#555555", backgroundcolor="white")
    ax.set_xlim(-1.25 * span, 1.25 * span)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.set_xlabel(t.gettext("change compared with places without the campaign"), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda x, _pos: format_decimal(x, format="#,##0.##", locale=writer.locale)))
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper center", fontsize=7, frameon=False, ncol=2, bbox_to_anchor=(0.5, -0.62))
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})  # no library build
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_STYLE = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:42rem;
margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}h1{font-size:1.6rem;margin-bottom:.2rem}
.kind{color:#555;font-size:.9rem;margin-top:0}.question{font-style:italic}.headline{font-size:1.2rem;
font-weight:600}img{max-width:100%;height:auto}.caveats{background:#fff6e0;border-left:4px solid #d08c00;
padding:.5rem 1rem}.footer{color:#555;font-size:.85rem;border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem}
a{color:#1f4e79}"""


def _html_page(lang: str, title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
            f"<body>\n{body}\n</body>\n</html>\n")


def _page(writer: _Writer, h: Mapping[str, Any], spec: Mapping[str, Any] | None, *, study: str) -> PlainPage:
    t = writer.t
    hid = str(h.get("id"))
    subject = writer.subject(h, spec)
    by = _by_option(spec)
    by_names = (writer.level(by["column"], str(by.get("level"))), writer.level(by["column"], str(by.get("reference")))
                ) if by else None
    question = writer.question(str(h.get("direction") or "any"), subject, by_names)
    scale = _scale_of(spec, writer.words.scales.get(hid))
    design = (spec or {}).get("design") or {}
    details: list[str] = []
    caveats: list[str] = []
    picture = None
    estimate = h.get("estimate")
    estimated = h.get("status") == "estimated" and _is_number(estimate)
    units_n = (h.get("counts") or {}).get("units", h.get("n"))
    hidden_for_privacy = estimated and _is_number(units_n) and units_n < writer.threshold

    if not estimated:
        headline = writer.no_result(str(h.get("status")))
    elif hidden_for_privacy:
        headline = t.gettext("The answer is hidden to protect privacy: too few people took part.")
    elif by is not None:
        groups = (h.get("extras") or {}).get("effect_by_group") or {}
        level_key, reference_key = str(by.get("level")), str(by.get("reference"))
        hidden = [key for key in (level_key, reference_key) if _group_hidden(groups.get(key), writer.threshold)]
        for key, name in ((level_key, by_names[0]), (reference_key, by_names[1])):
            if key in hidden:
                details.append(t.gettext("Among {group}: hidden to protect privacy (too few people).").format(
                    group=name))
            else:
                details.append(t.gettext("Among {group}: {change}").format(
                    group=name, change=_lower_first(writer.change(groups[key]["estimate"], scale, subject))))
        if hidden:  # the difference would reveal the hidden group's number
            headline = t.gettext("The comparison between the groups is hidden to protect privacy.")
        else:
            bigger = by_names[0] if estimate >= 0 else by_names[1]
            smaller = by_names[1] if estimate >= 0 else by_names[0]
            if _negligible(estimate, scale):
                headline = t.gettext("The campaign affected {subject} about equally among {level} and "
                                     "{reference}.").format(subject=subject, level=by_names[0],
                                                            reference=by_names[1])
            else:
                headline = t.gettext("The campaign's effect on {subject} was bigger among {bigger} than among "
                                     "{smaller}, by about {amount}.").format(
                    subject=subject, bigger=bigger, smaller=smaller, amount=writer.amount(estimate, scale))
            sure = writer.group_sureness(_certainty(h), bigger)
            if sure:
                headline = f"{headline} {sure}"
    else:
        headline = writer.change(estimate, scale, subject)
        sure = writer.sureness(_certainty(h), estimate)
        if sure:
            headline = f"{headline} {sure}"
        low, high, sesoi = h.get("ci_low"), h.get("ci_high"), h.get("sesoi")
        if _is_number(low) and _is_number(high):
            details.append(writer.interval(low, high, scale, estimate))
            picture = _picture(writer, estimate, low, high, scale)
            if _is_number(sesoi) and sesoi > 0 and -sesoi < low and high < sesoi:
                details.append(writer.small_effect(sesoi, scale))

    if estimated and by is not None and not hidden_for_privacy:
        low, high = h.get("ci_low"), h.get("ci_high")
        if _is_number(low) and _is_number(high) and not any(
                _group_hidden(((h.get("extras") or {}).get("effect_by_group") or {}).get(str(by.get(k))),
                              writer.threshold) for k in ("level", "reference")):
            picture = _picture(writer, estimate, low, high, scale)

    if h.get("type") == "exploratory":
        caveats.append(t.gettext("This was an extra question the team explored. It was not one of the main "
                                 "questions fixed in advance, so treat the answer as an idea to test again."))
    n_clusters = h.get("n_clusters")
    if estimated and _is_number(n_clusters) and n_clusters < FEW_CLUSTERS:
        caveats.append(t.gettext("The study has only {count}. With so few, a bigger study could give a different "
                                 "answer.").format(count=writer.clusters(design.get("cluster"), int(n_clusters))))
    if estimated and _diagnostics_failed(h):
        caveats.append(t.gettext("The computer model behind this answer did not settle properly. Do not rely on "
                                 "it until the team has rerun it."))

    parts = [p for p in (writer.units(design.get("unit"), units_n) if estimated else None,
                         writer.clusters(design.get("cluster"), int(n_clusters))
                         if estimated and _is_number(n_clusters) else None) if p]
    period = (h.get("extras") or {}).get("period")
    footer = []
    if parts:
        footer.append(t.gettext("Data: {parts}.").format(parts=format_list(parts, locale=writer.locale)))
    if isinstance(period, Mapping) and period.get("start") and period.get("end"):
        try:
            start, end = date.fromisoformat(str(period["start"])), date.fromisoformat(str(period["end"]))
        except ValueError:
            pass
        else:
            footer.append(t.gettext("Period: {start} to {end}").format(start=writer.day(start),
                                                                         end=writer.day(end)))
    footer.append(t.gettext("Study: {study}. Question code: {code}.").format(study=study, code=hid))

    headline = _capitalize(headline)
    title = _capitalize(subject)
    body = [f"<p><a href=\"index.html\">{html.escape(t.gettext('Back to all questions'))}</a></p>",
            f"<h1>{html.escape(title)}</h1>",
            f"<p class=\"kind\">{html.escape(writer.kind_label(str(h.get('type'))))}</p>",
            f"<p class=\"question\">{html.escape(_capitalize(question))}</p>",
            f"<p class=\"headline\">{html.escape(headline)}</p>"]
    body += [f"<p>{html.escape(_capitalize(d))}</p>" for d in details]
    if picture:
        alt = t.gettext("Picture: the best guess of the change and its most likely range, with the line of no "
                        "change.")
        body.append(f'<p><img src="{picture}" alt="{html.escape(alt)}" style="width: 34rem"></p>')
    if caveats:
        body.append(f"<div class=\"caveats\"><h2>{html.escape(t.gettext('Keep in mind'))}</h2><ul>"
                    + "".join(f"<li>{html.escape(c)}</li>" for c in caveats) + "</ul></div>")
    body.append("<div class=\"footer\">" + "".join(f"<p>{html.escape(f)}</p>" for f in footer) + "</div>")
    return PlainPage(hypothesis_id=hid, title=title, question=_capitalize(question), headline=headline,
                     details=tuple(_capitalize(d) for d in details), caveats=tuple(caveats),
                     html=_html_page(writer.lang, title, "\n".join(body)), has_picture=picture is not None)


def _index(writer: _Writer, pages: Sequence[PlainPage], *, study: str) -> str:
    t = writer.t
    example = writer.percent(0.9)
    body = [f"<h1>{html.escape(t.gettext('What the campaigns changed'))}</h1>",
            f"<p class=\"kind\">{html.escape(study)}</p>",
            f"<h2>{html.escape(t.gettext('How to read these pages'))}</h2>",
            "<p>" + html.escape(t.gettext(
                "Each page answers one question that the team wrote down before looking at the data. Changes are "
                "always compared with similar places without a campaign. “We are {percent} sure” means: given the "
                "data, there is about a {percent} chance that the change really went that way. Numbers are "
                "rounded.").format(percent=example)) + "</p>",
            "<ul>"]
    for page in pages:
        body.append(f"<li><p><a href=\"{html.escape(page.hypothesis_id)}.html\"><strong>{html.escape(page.title)}"
                    f"</strong></a><br>{html.escape(page.headline)}</p></li>")
    body.append("</ul>")
    return _html_page(writer.lang, t.gettext("Summary for trainers"), "\n".join(body))


def _load_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise ReportError("results.json not found; summaries are written from a finished run",
                          path=str(results_path), fix="pass the run folder, e.g. build/demo")
    try:
        results = json.loads(results_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReportError("results.json is not valid UTF-8 JSON", path=str(results_path),
                          fix="re-run the analysis to rewrite results.json") from None
    manifest = None
    manifest_path = run_dir / "manifest.json"
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            manifest = None
    return results, manifest if isinstance(manifest, dict) else None


def _study_context(study_dir: Path | None, manifest: Mapping[str, Any] | None) -> tuple[Path | None, dict, int]:
    """(study folder, specs by id, suppression threshold): from the manifest, the study folder, or defaults."""
    specs = dict((manifest or {}).get("specs") or {})
    if study_dir is None and manifest:
        recorded = (manifest.get("study") or {}).get("path")
        study_dir = Path(recorded) if recorded and Path(recorded, "study.yaml").is_file() else None
    threshold = DEFAULT_SUPPRESSION_THRESHOLD
    if study_dir is not None:
        from oca_experiments.spec import load_hypotheses, load_study_config

        config = load_study_config(study_dir)
        threshold = config.suppression_threshold
        if not specs:
            specs = {s.spec.id: s.spec.model_dump(mode="json") for s in load_hypotheses(study_dir)}
    return study_dir, specs, threshold


def plain_pages(run_dir: str | Path, *, lang: str, study_dir: str | Path | None = None) -> tuple[list[PlainPage], str]:
    """The pages for every hypothesis of the run, and the index page (HTML). Writes nothing."""
    run_dir = Path(run_dir)
    results, manifest = _load_run(run_dir)
    study_path, specs, threshold = _study_context(Path(study_dir) if study_dir else None, manifest)
    writer = _Writer(lang, _StudyWords.load(study_path, lang), threshold=threshold)
    study = writer.words.text("study:name") or str(results.get("study") or "")
    pages = [_page(writer, h, specs.get(str(h.get("id"))), study=study)
             for h in results.get("hypotheses") or [] if isinstance(h, Mapping)]
    return pages, _index(writer, pages, study=study)


def write_summaries(run_dir: str | Path, *, lang: str, out_dir: str | Path,
                    study_dir: str | Path | None = None) -> list[Path]:
    """Write ``out_dir/index.html`` and one page per hypothesis; ``out_dir`` is replaced only on success."""
    from oca_experiments._atomic import staged_directory

    pages, index = plain_pages(run_dir, lang=lang, study_dir=study_dir)
    with staged_directory(out_dir) as stage:
        (stage / "index.html").write_text(index, encoding="utf-8")
        for page in pages:
            (stage / f"{page.hypothesis_id}.html").write_text(page.html, encoding="utf-8")
    out = Path(out_dir)
    return [out / "index.html", *(out / f"{p.hypothesis_id}.html" for p in pages)]
