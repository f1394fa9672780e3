"""Plain-language summaries for trainers: what each page says, per hypothesis, in English, Russian or Kyrgyz.

``trainer_summary(records, lang=...)`` turns a run's hypotheses (``ResultRecord``: typed, read by attribute) into a
frozen ``TrainerSummary``: per hypothesis the title, the question, the answer first, details, caveats, the footer,
the verdict and the numbers of its picture, every sentence already in the language. It reads no file of the run
and writes no HTML: ``report.write_summaries`` (``oca summary``) reads the run folder and renders the pages.

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

**The answer first.** Each page leads with the registered verdict in plain words ("Yes: the campaign raised …",
"No: …", "Not clear: the data cannot tell whether …"), then the change in the outcome's own units, the range it most
likely lies in, and what it was compared with (a comparison group, the same people before and after, or each page's
own earlier trend: never a blanket claim).

**Certainty wording rule.** "We are N% sure" is said only of a posterior: a p-value is not the probability of an
effect. It states the posterior probability of the registered claim, in the registered direction and against the
bar the decision rule uses: P(effect > SESOI) for an increase, P(effect < -SESOI) for a decrease (zero instead of the
SESOI when the rule is registered ``against: zero``), next to the probability the team asked for. ">= 99.5%" reads
"more than 99%". Frequentist answers carry the verdict and the interval, never a certainty.

**Amounts.** Rounded for reading ("about"): one decimal from 0.1 up, two significant digits below, whole numbers from
10 up; shares (outcomes on a 0-1 scale) in percentage points; a relative change (knowledge gain) as a percent of
the level before, with the two means and the difference in points beside it; a standardised (SD-unit) index as a
very small / small / moderate / large change against the study's thresholds (``#. sizes:`` in study.pot, else the
rule of thumb 0.2 / 0.5 / 0.8, said to be that); an outcome in its own units with the unit the study names
(``units:<id>``). A change under 0.05 points on a rating scale, or under half a percentage point, reads "hardly
changed". When other results of the run measure the same outcome, the page says what sets each apart (subgroup,
model, estimand), so that different numbers for one question are explained.

**Registration.** "Main question" comes with only what the spec and the lock establish: the declared registration
date, the date the study's registry lock recorded the spec, and whether that was after the outcome data began to be
collected (the post wave's start).

**Privacy.** Counts of people below the study's ``suppression_threshold`` are never shown ("fewer than 10
people"); a subgroup whose result is suppressed in results.json stays hidden, and so does the difference between
subgroups, because the hidden number could be worked out from it. The threshold counts survey respondents: it applies
to every estimator except those the caller names as series estimators (``series_estimators``: the registry's
engagement estimators, whose units are Facebook pages or communities of practice). A series answer is shown with
what it rests on ("7 pages (1 with the campaign), each observed over 6 months").

**Slopes and contrasts.** An exposure-response estimate is a slope: "each extra unit of exposure (<what one unit
is>, ``exposure:<id>`` in study.po) went with about X more/less on <outcome>", never "hardly changed" (its size
depends on the exposure's unit), with the range of exposure the campaign places got. A spillover estimate compares
comparison places near campaign places with far ones. Both count the estimator's own units and clusters (communities
clustered by CSO), not the survey design's.
"""

from __future__ import annotations

import gettext
import io
import math
from collections.abc import Callable, Mapping, Sequence
import dataclasses
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
from oca_experiments.results import EstimateResult, RunResult
from oca_experiments.results.parts import (DecisionRule, Diagnostics, ExposureResponse, GroupEffect,
                                           MeasurementInvariance, PosteriorSummary, Spillover, SurveyWeightsRecord)

__all__ = ["LANGUAGES", "ResultRecord", "SummaryPage", "SummaryPicture", "TrainerSummary", "load_translations",
           "study_words", "trainer_summary"]

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
    sizes: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # id -> small, moderate, large

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
        sizes = {}
        for m in template:
            for comment in m.auto_comments:
                if comment.lower().startswith("sizes:"):
                    try:
                        values = tuple(float(v) for v in comment.partition(":")[2].replace(",", " ").split())
                    except ValueError:
                        continue
                    if len(values) == 3 and 0 < values[0] < values[1] < values[2]:
                        sizes[m.context] = values
        po = study_dir / "locale" / lang / "LC_MESSAGES" / f"{STUDY_DOMAIN}.po"
        translations = _compile(_read_catalog(po, lang)) if po.is_file() else gettext.NullTranslations()
        return cls(source, translations, scales, sizes)

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
class ResultRecord:
    """One hypothesis of a run as the summaries read it: typed and frozen, built once from its results.json record
    (``from_record``), so that every sentence below reads attributes. ``result`` is the record's ``EstimateResult``
    (read through ``RunResult.from_dict``): its parts (posterior, diagnostics, per-group effects, exposure-response,
    spillover, decision rule) and scalar extras (``target``, ``bayesian``, ``mean_pre``, ...) are read by attribute,
    never by key. Values are kept as recorded (None when absent)."""

    id: str
    status: Any = None
    type: Any = None
    direction: Any = None
    estimator: Any = None
    outcome: Any = None
    source: Any = None
    verdict: Any = None
    variant: Any = None
    spec_id: Any = None
    se_type: Any = None
    estimate: Any = None
    ci_low: Any = None
    ci_high: Any = None
    sesoi: Any = None
    n_clusters: Any = None
    units: Any = None  # the count of units (counts.units), else n
    treated_units: Any = None  # counts.treated_units (series: campaign pages or communities)
    periods: Any = None  # counts.periods (series: the periods every unit is observed in)
    result: EstimateResult | None = None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ResultRecord:
        names = [f.name for f in dataclasses.fields(cls)
                 if f.name not in ("id", "units", "treated_units", "periods", "result")]
        counts = record.get("counts") if isinstance(record.get("counts"), Mapping) else {}
        result = (RunResult.from_dict({"hypotheses": [dict(record)]}).hypotheses[0].result
                  if record.get("status") == "estimated" else None)
        return cls(id=str(record.get("id")), **{name: record.get(name) for name in names},
                   units=counts.get("units", record.get("n")),
                   treated_units=next((counts[key] for key in ("treated_units", "units_treated", "campaigns")
                                       if _is_number(counts.get(key))), None),
                   periods=counts.get("periods"), result=result)

    @property
    def posterior(self) -> PosteriorSummary:
        found = self.result.posterior if self.result is not None else None
        return found if isinstance(found, PosteriorSummary) else PosteriorSummary()

    def _part(self, name: str, kind: type) -> Any:
        """The estimate's typed part ``name`` when it is a ``kind``, else None (no estimate, or an old record)."""
        found = getattr(self.result, name) if self.result is not None else None
        return found if isinstance(found, kind) else None

    @property
    def diagnostics(self) -> Diagnostics | None:
        return self._part("diagnostics", Diagnostics)

    @property
    def effect_by_group(self) -> Mapping[str, GroupEffect]:
        groups = self.result.effect_by_group if self.result is not None else None
        return groups if isinstance(groups, Mapping) else {}

    @property
    def decision_rule(self) -> DecisionRule | None:
        return self._part("decision_rule", DecisionRule)

    @property
    def exposure_response(self) -> ExposureResponse | None:
        return self._part("exposure_response", ExposureResponse)

    @property
    def spillover(self) -> Spillover | None:
        return self._part("spillover", Spillover)

    @property
    def survey_weights(self) -> SurveyWeightsRecord | None:
        return self._part("survey_weights", SurveyWeightsRecord)

    @property
    def invariance(self) -> MeasurementInvariance | None:
        return self._part("invariance", MeasurementInvariance)

    def scalar(self, name: str) -> Any:
        """A scalar extra of the estimate (``SCALAR_EXTRAS``: typed there, None when absent or mistyped)."""
        return getattr(self.result, name) if self.result is not None else None


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


# --- reading a result: small accessors over the typed parts ------------------------------------------------------

def _index_comparability(h: ResultRecord) -> str | None:
    """The measurement-invariance verdict of the hypothesis' index (its ``invariance`` part), when it was tested."""
    invariance = h.invariance
    return invariance.verdict if invariance is not None else None


def _is_bayesian(h: ResultRecord) -> bool:
    """A posterior answer: the only kind that may be worded as how sure we are."""
    return bool(h.scalar("bayesian")) or bool(h.posterior) or h.se_type == "posterior_sd"


def _decision_probability(h: ResultRecord) -> tuple[float, bool]:
    """(registered posterior probability, whether the bar is the SESOI rather than zero)."""
    rule = h.decision_rule
    probability = float(rule.probability) if rule is not None and _is_number(rule.probability) else 0.95
    against = rule.against if rule is not None and rule.against is not None else "sesoi"
    return probability, against == "sesoi"


def _gain_means(h: ResultRecord) -> tuple[float, float] | None:
    """(mean before, mean after) of a relative pre/post change (knowledge_gain), else None."""
    before, after = h.scalar("mean_pre"), h.scalar("mean_post")
    if h.estimator != "knowledge_gain" or not (_is_number(before) and _is_number(after)):
        return None
    return float(before), float(after)


def _posterior_certainty(h: ResultRecord) -> tuple[float, bool] | None:
    """(posterior probability of the registered claim, whether the claim is 'beyond the SESOI').

    The claim follows the registered direction (increase: effect > bar; decrease: effect < -bar; any: the more
    probable side), with the bar the decision rule uses: the SESOI when registered and ``against: sesoi``, else 0.
    """
    posterior = h.posterior
    estimate = h.estimate
    sesoi = h.sesoi
    _, against_sesoi = _decision_probability(h)
    use_sesoi = against_sesoi and _is_number(sesoi) and sesoi > 0
    up, down = ((posterior.p_gt_sesoi, posterior.p_lt_minus_sesoi) if use_sesoi else
                (posterior.p_gt_0, posterior.p_lt_0))
    if not _is_number(up):  # a posterior without the SESOI probabilities: only P(effect > 0)
        if not _is_number(posterior.p_gt_0):
            return None
        up, use_sesoi = float(posterior.p_gt_0), False
        down = posterior.p_lt_0 if _is_number(posterior.p_lt_0) else 1.0 - up
    down = float(down) if _is_number(down) else None
    direction = h.direction
    if direction == "increase":
        return float(up), use_sesoi
    if direction == "decrease":
        return (down, use_sesoi) if down is not None else None
    if down is None:
        return (float(up), use_sesoi) if _is_number(estimate) and estimate >= 0 else None
    return (max(float(up), down), use_sesoi)


def _diagnostics_failed(h: ResultRecord) -> bool:
    return (h.diagnostics is not None and h.diagnostics.passed is False) or str(h.verdict or "").startswith(
        "unreliable")


#: How each estimator's number is obtained, for "compared with what" and for "why the numbers differ".
_COMPARISON_GROUP = {"survey_did", "ancova", "bayes_did", "ordinal_did"}
_BEFORE_AFTER = {"knowledge_gain"}
_OWN_TREND = {"its", "bayes_its"}
_STAGGERED = {"staggered_did"}
_DOSE = {"exposure_response"}  # a slope across exposure levels, not the campaign's effect
_SPILLOVER = {"spillover"}  # comparison places near campaign places against far ones
_SYNTHETIC = {"synthetic_did", "synthetic_control"}  # one campaign unit against a weighted mix of comparison units


DEFAULT_SIZES = (0.2, 0.5, 0.8)  # small / moderate / large for SD-unit indices unless the study declares others


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

class _Writer:
    """Builds the sentences for one language; every user-visible string goes through the catalogs."""

    def __init__(self, lang: str, words: _StudyWords, *, threshold: int,
                 level_labels: Callable[[str, str], str | None] | None = None,
                 series_estimators: frozenset[str] = frozenset()) -> None:
        self.lang = lang
        self.level_labels = level_labels
        self.locale = Locale.parse(lang)
        self.t = load_translations(lang)
        self.words = words
        self.threshold = threshold
        self.series_estimators = series_estimators

    def rests_on_people(self, estimator: str) -> bool:
        """Whether the estimate is built from survey respondents, so that the suppression threshold (a count of
        people) applies. Series estimators (engagement pages, communities of practice: ``series_estimators``, from
        the estimator registry's data kind) count pages, communities and periods, not people. Any other estimator,
        known or not, is treated as survey data: privacy fails closed."""
        return estimator not in self.series_estimators

    # numbers --------------------------------------------------------------------------------------------------
    def number(self, value: float, decimals: int) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def signed(self, value: float, decimals: int) -> str:
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(value, format=f"+{pattern};-{pattern}", locale=self.locale)

    def percent(self, share: float) -> str:
        return format_percent(round(share, 2), locale=self.locale)  # the locale's pattern: "97%", "97 %"

    def signed_percent(self, share: float) -> str:
        return format_percent(round(share, 2), format="+#,##0%;-#,##0%", locale=self.locale)

    def count(self, n: int) -> str:
        return format_decimal(n, format="#,##0", locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    # phrases ---------------------------------------------------------------------------------------------------
    def amount(self, magnitude: float, scale: _Scale, hid: str = "") -> str:
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
            # TRANSLATORS: a change of a standardised index, used after "by about": "rose by about 0.3 on the index".
            return self.t.pgettext("index amount", "{amount} on the index").format(amount=shown)
        units = self.words.text(f"units:{hid}") if hid else None
        if units:
            # TRANSLATORS: a change in the outcome's own units, named by the study: "rose by about 5.9 (reactions,
            # comments and shares per post)". Used after "by about".
            return self.t.pgettext("named amount", "{amount} ({units})").format(amount=shown, units=units)
        # TRANSLATORS: a change without a unit (the outcome's own units), used after "by about".
        return self.t.pgettext("unitless amount", "{amount}").format(amount=shown)

    def unit_label(self, scale: _Scale, hid: str) -> str | None:
        """What the numbers of an interval are counted in, as a label in brackets."""
        if scale.kind == "points":
            low, high = self.number(scale.low, _decimals(scale.low)), self.number(scale.high, _decimals(scale.high))
            # TRANSLATORS: the unit of a range of changes, shown in brackets after it.
            return self.t.pgettext("unit", "points on a {low}–{high} scale").format(low=low, high=high)
        if scale.kind == "percentage_points":
            return self.t.pgettext("unit", "percentage points")
        if scale.kind == "sd":
            return self.t.pgettext("unit", "index points")
        if scale.kind == "relative":
            return self.t.pgettext("unit", "percent of the level before")
        return self.words.text(f"units:{hid}") if hid else None

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
        return self.unit_count(column, n)

    def clusters(self, column: str | None, n: int) -> str:
        found = self.words.count(f"cluster:{column}", n, self.count(n)) if column else None
        if found:
            return found
        # TRANSLATORS: the fallback noun for the independent groups (e.g. communities) a result rests on.
        return self.t.ngettext("{n} group", "{n} groups", n).format(n=self.count(n))

    def subject(self, h: ResultRecord, spec: Mapping[str, Any] | None) -> str:
        found = self.words.text(h.id)
        if found:
            return found
        label = ((spec or {}).get("outcome") or {}).get("label") or h.outcome or h.id
        return str(label).replace("_", " ")

    def level(self, column: str, value: str) -> str:
        # The study's own word first, then the XLSForm's choice label the run recorded (sex 1 -> "Женщина")
        return (self.words.text(f"level:{column}={value}")
                or (self.level_labels(column, value) if self.level_labels is not None else None) or value)

    def among(self, column: str, value: str) -> str:
        """'among women': the study's own phrase (``among:<column>=<value>``), else the catalog's pattern."""
        found = self.words.text(f"among:{column}={value}")
        if found:
            return found
        # TRANSLATORS: "among" + a subgroup's name as the study gives it (nominative); studies can give the whole
        # phrase instead (context among:<column>=<value> in study.po), which reads better in ru and ky.
        return self.t.gettext("among {group}").format(group=self.level(column, value))

    # sentences -------------------------------------------------------------------------------------------------
    def question(self, direction: str, subject: str, by: tuple[str, str] | None) -> str:
        if by is not None:
            return self.t.gettext("Did the campaign change {subject} differently {level} and {reference}?"
                                  ).format(subject=subject, level=by[0], reference=by[1])
        if direction == "increase":
            return self.t.gettext("Did the campaign raise {subject}?").format(subject=subject)
        if direction == "decrease":
            return self.t.gettext("Did the campaign lower {subject}?").format(subject=subject)
        return self.t.gettext("Did the campaign change {subject}?").format(subject=subject)

    def verdict(self, verdict: str | None, direction: str, subject: str, *, has_sesoi: bool) -> str | None:
        """The answer first, in plain words, from the registered verdict."""
        verdict = str(verdict or "")
        if verdict.startswith("unreliable"):
            return self.t.gettext("No answer yet: the computer model behind it did not settle properly.")
        if verdict == "supported":
            return {"increase": self.t.gettext("Yes: the campaign raised {subject}."),
                    "decrease": self.t.gettext("Yes: the campaign lowered {subject}.")}.get(
                direction, self.t.gettext("Yes: the campaign changed {subject}.")).format(subject=subject)
        if verdict == "not supported":
            if has_sesoi:
                return {"increase": self.t.gettext("No: the campaign did not raise {subject} by as much as would "
                                                   "matter."),
                        "decrease": self.t.gettext("No: the campaign did not lower {subject} by as much as would "
                                                   "matter.")}.get(
                    direction, self.t.gettext("No: any change in {subject} was too small to matter.")
                ).format(subject=subject)
            return {"increase": self.t.gettext("No: the campaign did not raise {subject}."),
                    "decrease": self.t.gettext("No: the campaign did not lower {subject}.")}.get(
                direction, self.t.gettext("No: the campaign did not change {subject}.")).format(subject=subject)
        if verdict == "inconclusive":
            return {"increase": self.t.gettext("Not clear: the data cannot tell whether the campaign raised "
                                               "{subject}."),
                    "decrease": self.t.gettext("Not clear: the data cannot tell whether the campaign lowered "
                                               "{subject}.")}.get(
                direction, self.t.gettext("Not clear: the data cannot tell whether the campaign changed {subject}.")
            ).format(subject=subject)
        return None

    def group_verdict(self, verdict: str | None, by: tuple[str, str]) -> str | None:
        verdict = str(verdict or "")
        if verdict == "supported":
            return self.t.gettext("Yes: the campaign worked differently {level} and {reference}.").format(
                level=by[0], reference=by[1])
        if verdict == "not supported":
            return self.t.gettext("No: the campaign worked about equally {level} and {reference}.").format(
                level=by[0], reference=by[1])
        if verdict == "inconclusive":
            return self.t.gettext("Not clear: the data cannot tell whether the campaign worked differently {level} "
                                  "and {reference}.").format(level=by[0], reference=by[1])
        return None

    def size(self, magnitude: float, sizes: tuple[float, float, float]) -> str:
        magnitude = abs(magnitude)
        if magnitude >= sizes[2]:
            return self.t.pgettext("size", "a large change")
        if magnitude >= sizes[1]:
            return self.t.pgettext("size", "a moderate change")
        if magnitude >= sizes[0]:
            return self.t.pgettext("size", "a small change")
        return self.t.pgettext("size", "a very small change")

    def change(self, estimate: float, scale: _Scale, subject: str, hid: str = "",
               sizes: tuple[float, float, float] | None = None) -> str:
        if _negligible(estimate, scale):
            return self.t.gettext("{subject} hardly changed.").format(subject=subject)
        if scale.kind == "sd" and sizes is not None:
            value = round(estimate, 2) if abs(estimate) >= 0.01 else _about(estimate)
            shown = self.signed(value, max(_decimals(value), 2))
            text = (self.t.gettext("{subject} rose: {size} ({amount} index points).") if estimate > 0
                    else self.t.gettext("{subject} fell: {size} ({amount} index points)."))
            return text.format(subject=subject, size=self.size(estimate, sizes), amount=shown)
        amount = self.amount(estimate, scale, hid)
        if estimate > 0:
            return self.t.gettext("{subject} rose by about {amount}.").format(subject=subject, amount=amount)
        return self.t.gettext("{subject} fell by about {amount}.").format(subject=subject, amount=amount)

    def sizes_explained(self, sizes: tuple[float, float, float], declared: bool) -> str:
        values = {name: self.number(v, _decimals(v)) for name, v in zip(("small", "moderate", "large"), sizes)}
        if declared:
            return self.t.gettext("On this index the study counts a change of {small} as small, {moderate} as "
                                  "moderate and {large} as large.").format(**values)
        return self.t.gettext("On this index a change of {small} counts as small, {moderate} as moderate and "
                              "{large} as large (the usual rule of thumb for such indices).").format(**values)

    def relative_change(self, estimate: float, means: tuple[float, float], scale: _Scale, subject: str) -> str:
        """A relative rise: '44% higher than before (on average from 0.47 to 0.68, about 21 percentage points)'."""
        before, after = means
        difference = after - before
        factor = scale.factor
        decimals = 0 if scale.kind == "percentage_points" else 2
        if scale.kind == "percentage_points":
            shown_before, shown_after = self.percent(before), self.percent(after)
        else:
            shown_before, shown_after = self.number(before, decimals), self.number(after, decimals)
        points = self.amount(difference, scale if scale.kind != "sd" else _Scale("plain"))
        del factor
        text = (self.t.gettext("{subject} rose by about {percent} compared with before (on average from {before} "
                               "to {after}, a rise of about {points}).") if estimate > 0 else
                self.t.gettext("{subject} fell by about {percent} compared with before (on average from {before} "
                               "to {after}, a fall of about {points})."))
        return text.format(subject=subject, percent=self.percent(abs(estimate)), before=shown_before,
                           after=shown_after, points=points)

    def certainty(self, probability: float, estimate: float, direction: str, beyond: str | None,
                  required: float) -> str:
        """How sure the posterior is of the registered claim; only ever used for posterior answers."""
        shown = (self.t.gettext("more than {percent}").format(percent=self.percent(0.99)) if probability >= 0.995
                 else self.t.gettext("about {percent}").format(percent=self.percent(min(round(probability, 2), 0.99))))
        rose = direction == "increase" or (direction == "any" and estimate >= 0)
        if beyond:
            text = (self.t.gettext("We are {sure} sure that it rose by more than {amount}, the smallest change the "
                                   "team decided would matter") if rose else
                    self.t.gettext("We are {sure} sure that it fell by more than {amount}, the smallest change the "
                                   "team decided would matter"))
            text = text.format(sure=shown, amount=beyond)
        else:
            text = (self.t.gettext("We are {sure} sure that it rose") if rose else
                    self.t.gettext("We are {sure} sure that it fell")).format(sure=shown)
        return text + " " + self.t.gettext("(the team asked for {percent} before calling it an answer).").format(
            percent=self.percent(required))

    def interval(self, low: float, high: float, scale: _Scale, estimate: float, hid: str = "",
                 what: str = "change", step: float | None = None) -> str:
        if scale.kind == "relative":
            low_text, high_text = self.signed_percent(low), self.signed_percent(high)
        else:
            # As many decimals as the rounded estimate shows, one more when a bound would otherwise read as zero.
            decimals = _decimals(_about(estimate * scale.factor))
            bounds = [v * scale.factor for v in (low, high)]
            if what != "change":  # a slope or contrast near zero: the bounds' size sets the decimals, not the estimate's
                decimals = _decimals(_about(max(abs(v) for v in bounds))) + 1
            if scale.kind == "sd":
                decimals = max(decimals, 2)
            while decimals < 3 and any(v != 0 and round(v, decimals) == 0 for v in bounds):
                decimals += 1
            low_text, high_text = (self.signed(round(v, decimals), decimals) for v in bounds)
        unit = self.unit_label(scale, hid)
        if unit and what == "slope" and _is_number(step) and step != 1:
            return self.t.gettext("Most likely the amount per {step} extra units of exposure lies between {low} and "
                                  "{high} ({unit}).").format(step=self.number(step, _decimals(step)), low=low_text,
                                                             high=high_text, unit=unit)
        if unit and what == "slope":
            return self.t.gettext("Most likely the amount per extra unit of exposure lies between {low} and {high} "
                                  "({unit}).").format(low=low_text, high=high_text, unit=unit)
        if unit and what == "difference":
            return self.t.gettext("Most likely the difference between near and far places lies between {low} and "
                                  "{high} ({unit}).").format(low=low_text, high=high_text, unit=unit)
        if unit:
            return self.t.gettext("Most likely the change lies between {low} and {high} ({unit})."
                                  ).format(low=low_text, high=high_text, unit=unit)
        return self.t.gettext("Most likely the change lies between {low} and {high} (on the outcome's own scale)."
                              ).format(low=low_text, high=high_text)

    def small_effect(self, sesoi: float, scale: _Scale, hid: str = "") -> str:
        return self.t.gettext("Any change was smaller than the smallest change the team decided in advance would "
                              "matter ({amount}).").format(amount=self.threshold_amount(sesoi, scale, hid))

    def threshold_amount(self, sesoi: float, scale: _Scale, hid: str = "") -> str:
        value = _about(sesoi * scale.factor)
        shown = self.number(value, _decimals(value))
        unit = self.unit_label(scale, hid)
        return f"{shown} ({unit})" if unit else shown

    # exposure-response (a slope) and spillover (near minus far) --------------------------------------------------
    def slope_amount(self, magnitude: float, scale: _Scale, hid: str = "") -> str:
        """'0.0076 index points', '0.3 points on a 1–5 scale': an amount per unit of exposure, with its unit."""
        if scale.kind == "sd":
            value = _about(magnitude)
            # TRANSLATORS: an amount on a standardised index: "0.0076 index points".
            return self.t.pgettext("slope amount", "{amount} index points").format(
                amount=self.number(value, _decimals(value)))
        return self.amount(magnitude, scale, hid)

    def exposure_unit(self, h: ResultRecord) -> str:
        """What one unit of exposure is, in the study's words (``exposure:<id>`` in study.po), else as recorded."""
        found = self.words.text(f"exposure:{h.id}")
        if found:
            return found
        part = h.exposure_response
        return str(part.measure) if part is not None and part.measure else self.t.gettext("exposure to the campaign")

    def dose_question(self, direction: str, subject: str) -> str:
        if direction == "increase":
            return self.t.gettext("Did {subject} rise more where more of the campaign reached people?").format(
                subject=subject)
        if direction == "decrease":
            return self.t.gettext("Did {subject} fall more where more of the campaign reached people?").format(
                subject=subject)
        return self.t.gettext("Did the change in {subject} depend on how much of the campaign reached people?"
                              ).format(subject=subject)

    def dose_verdict(self, verdict: str | None, direction: str, subject: str, *, has_sesoi: bool) -> str | None:
        verdict = str(verdict or "")
        if verdict.startswith("unreliable"):
            return self.t.gettext("No answer yet: the computer model behind it did not settle properly.")
        if verdict == "supported":
            return {"increase": self.t.gettext("Yes: the more of the campaign reached people, the more {subject} "
                                               "rose."),
                    "decrease": self.t.gettext("Yes: the more of the campaign reached people, the more {subject} "
                                               "fell.")}.get(
                direction, self.t.gettext("Yes: the change in {subject} depended on how much of the campaign "
                                          "reached people.")).format(subject=subject)
        if verdict == "not supported":
            if has_sesoi:
                return self.t.gettext("No: how much of the campaign reached people made no difference to {subject} "
                                      "as large as would matter.").format(subject=subject)
            return self.t.gettext("No: the change in {subject} did not depend on how much of the campaign reached "
                                  "people.").format(subject=subject)
        if verdict == "inconclusive":
            return {"increase": self.t.gettext("Not clear: the data cannot tell whether {subject} rose more where more "
                                               "of the campaign reached people."),
                    "decrease": self.t.gettext("Not clear: the data cannot tell whether {subject} fell more where more "
                                               "of the campaign reached people.")}.get(
                direction, self.t.gettext("Not clear: the data cannot tell whether the change in {subject} depended "
                                          "on how much of the campaign reached people.")).format(subject=subject)
        return None

    def dose_change(self, slope: float, scale: _Scale, subject: str, exposure: str, hid: str = "",
                    step: float | None = None) -> str:
        """'Each extra unit of exposure (interactions ... per follower) went with about 0.0076 index points more on
        trust between neighbours.' A slope, never 'hardly changed': its size depends on the exposure's unit.
        ``step``: the registered ``scale`` option, when the slope is reported per that many exposure units."""
        amount = self.slope_amount(abs(slope), scale, hid)
        if _is_number(step) and step != 1:
            shown = self.number(step, _decimals(step))
            text = (self.t.gettext("In these data, each extra {step} units of exposure (one unit: {exposure}) went "
                                   "with about {amount} more on {subject}.") if slope >= 0 else
                    self.t.gettext("In these data, each extra {step} units of exposure (one unit: {exposure}) went "
                                   "with about {amount} less on {subject}."))
            return text.format(step=shown, exposure=exposure, amount=amount, subject=subject)
        if slope >= 0:
            # TRANSLATORS: a dose-response slope. {exposure} says what one unit of exposure is.
            text = self.t.gettext("In these data, each extra unit of exposure ({exposure}) went with about {amount} "
                                  "more on {subject}.")
        else:
            text = self.t.gettext("In these data, each extra unit of exposure ({exposure}) went with about {amount} "
                                  "less on {subject}.")
        return text.format(exposure=exposure, amount=amount, subject=subject)

    def dose_range(self, part: Any) -> str | None:
        """How much exposure the places with the campaign got, so that 'per extra unit' can be read."""
        doses = part.dose_range if part is not None else None
        if not doses or len(doses) != 2 or not all(_is_number(v) for v in doses) or not _is_number(part.mean_dose):
            return None
        values = [_about(v) for v in (doses[0], doses[1], part.mean_dose)]
        decimals = max(_decimals(v) for v in values)
        shown = [self.number(v, decimals) for v in values]
        return self.t.gettext("Among the places with the campaign, exposure ranged from {low} to {high} (on average "
                              "{mean}).").format(low=shown[0], high=shown[1], mean=shown[2])

    def spillover_question(self, direction: str, subject: str) -> str:
        if direction == "increase":
            return self.t.gettext("Did the campaign also raise {subject} in nearby places without it?").format(
                subject=subject)
        if direction == "decrease":
            return self.t.gettext("Did the campaign also lower {subject} in nearby places without it?").format(
                subject=subject)
        return self.t.gettext("Did the campaign also change {subject} in nearby places without it?").format(
            subject=subject)

    def spillover_verdict(self, verdict: str | None, direction: str, subject: str, *,
                          has_sesoi: bool) -> str | None:
        verdict = str(verdict or "")
        if verdict.startswith("unreliable"):
            return self.t.gettext("No answer yet: the computer model behind it did not settle properly.")
        if verdict == "supported":
            return self.t.gettext("Yes: {subject} changed differently in places without the campaign near campaign "
                                  "places than in those far from them, so the campaign seems to have reached its "
                                  "neighbours.").format(subject=subject)
        if verdict == "not supported":
            if has_sesoi:
                return self.t.gettext("No: places without the campaign near campaign places did not differ from "
                                      "those far from them in {subject} by as much as would matter.").format(
                    subject=subject)
            return self.t.gettext("No: places without the campaign near campaign places did not differ from those "
                                  "far from them in {subject}.").format(subject=subject)
        if verdict == "inconclusive":
            return {"increase": self.t.gettext("Not clear: the data cannot tell whether the campaign also raised "
                                               "{subject} in nearby places without it."),
                    "decrease": self.t.gettext("Not clear: the data cannot tell whether the campaign also lowered "
                                               "{subject} in nearby places without it.")}.get(
                direction, self.t.gettext("Not clear: the data cannot tell whether the campaign also changed "
                                          "{subject} in nearby places without it.")).format(subject=subject)
        return None

    def spillover_change(self, difference: float, scale: _Scale, subject: str, hid: str = "") -> str:
        """'In places without the campaign near campaign places, trust between neighbours changed by about 0.064
        index points more than in those far from them.'"""
        amount = self.slope_amount(abs(difference), scale, hid)
        if difference >= 0:
            text = self.t.gettext("In these data, {subject} changed by about {amount} more in places without the "
                                  "campaign near campaign places than in those far from them.")
        else:
            text = self.t.gettext("In these data, {subject} changed by about {amount} less in places without the "
                                  "campaign near campaign places than in those far from them.")
        return text.format(subject=subject, amount=amount)

    def spillover_counts(self, part: Any, column: str | None) -> str | None:
        near, far = (part.near_units, part.far_units) if part is not None else (None, None)
        if not (_is_number(near) and _is_number(far)):
            return None
        return self.t.gettext("Compared: {near} without the campaign near campaign places and {far} far from them."
                              ).format(near=self.unit_count(column, int(near)), far=self.unit_count(column, int(far)))

    # series: pages and communities, not people ---------------------------------------------------------------------
    def unit_count(self, column: str | None, n: int) -> str:
        """'7 pages', '8 communities': a count of units that are not people (no privacy threshold applies)."""
        found = self.words.count(f"unit:{column}", n, self.count(n)) if column else None
        return found or self.clusters(column, n)

    def periods(self, period: str | None, n: int) -> str:
        shown = self.count(n)
        if period == "day":
            return self.t.ngettext("{n} day", "{n} days", n).format(n=shown)
        if period == "week":
            return self.t.ngettext("{n} week", "{n} weeks", n).format(n=shown)
        if period == "month":
            return self.t.ngettext("{n} month", "{n} months", n).format(n=shown)
        if period == "quarter":
            return self.t.ngettext("{n} quarter", "{n} quarters", n).format(n=shown)
        if period == "year":
            return self.t.ngettext("{n} year", "{n} years", n).format(n=shown)
        # TRANSLATORS: a count of time periods (days, weeks or months) a series is observed in.
        return self.t.ngettext("{n} period", "{n} periods", n).format(n=shown)

    def series_basis(self, units: str, treated: str | None, periods: str | None) -> str:
        """What a series answer rests on: its units, how many had the campaign, and how long they were observed."""
        if treated and periods:
            return self.t.gettext("This answer rests on {units} ({treated} with the campaign), each observed over "
                                  "{periods}.").format(units=units, treated=treated, periods=periods)
        if treated:
            return self.t.gettext("This answer rests on {units} ({treated} with the campaign).").format(
                units=units, treated=treated)
        if periods:
            return self.t.gettext("This answer rests on {units}, each observed over {periods}.").format(
                units=units, periods=periods)
        return self.t.gettext("This answer rests on {units}.").format(units=units)

    def comparison(self, estimator: str, *, by: bool) -> str | None:
        """What the change is measured against: the design, never a blanket claim."""
        if estimator in _BEFORE_AFTER:
            return self.t.gettext("This compares the same people before and after. There was no comparison group, "
                                  "so part of the change may have other causes than the campaign.")
        if estimator in _OWN_TREND:
            # neutral about the unit: ITS series are campaign pages (h5) or communities of practice (h9)
            return self.t.gettext("Each campaign is compared with what its own earlier trend and the comparison "
                                  "series predicted for the time after it started.")
        if estimator in _STAGGERED:
            return self.t.gettext("Pages are compared before and after their campaign started, against comparison "
                                  "pages without a campaign.")
        if estimator in _SYNTHETIC:
            return self.t.gettext("The campaign page is compared with a weighted mix of comparison pages that "
                                  "followed it closely before the campaign started.")
        if estimator in _DOSE:
            return self.t.gettext("Places with the campaign are compared with each other by how much of the "
                                  "campaign reached them; places without it show the change that would have "
                                  "happened anyway.")
        if estimator in _SPILLOVER:
            return self.t.gettext("Places without the campaign that are near campaign places are compared with "
                                  "places without the campaign that are far from them.")
        if estimator in _COMPARISON_GROUP:
            if by:
                return self.t.gettext("In each group, the change in places with the campaign is compared with the "
                                      "change in similar places without it.")
            return self.t.gettext("The change in places with the campaign is compared with the change in similar "
                                  "places without it.")
        return None

    def method_note(self, h: ResultRecord, spec: Mapping[str, Any] | None) -> str:
        """What sets this answer apart from others about the same outcome (estimand, subgroup or model)."""
        by = _by_option(spec)
        if by is not None:
            return self.t.gettext("how the effect differed {level} and {reference}").format(
                level=self.among(by["column"], str(by.get("level"))),
                reference=self.among(by["column"], str(by.get("reference"))))
        target = h.scalar("target")
        if target == "weakest_group":
            return self.t.gettext("the organisation whose campaign worked least")
        estimator = str(h.estimator or "")
        if estimator == "ordinal_did":
            return self.t.gettext("one survey question instead of the whole index")
        if _is_bayesian(h):
            return self.t.gettext("a model that pools the organisations and says how sure we can be")
        if estimator in _DOSE:
            return self.t.gettext("how the effect grew with the campaign's reach")
        if estimator in _SPILLOVER:
            return self.t.gettext("places without the campaign near it and far from it")
        if estimator in _OWN_TREND:
            return self.t.gettext("each page against its own earlier trend")
        if estimator in _STAGGERED:
            return self.t.gettext("pages before and after their campaign started")
        return self.t.gettext("places with and without the campaign")

    def related(self, notes: Sequence[str]) -> str:
        return self.t.gettext("Other pages answer a related question about the same outcome, so their numbers "
                              "differ: {pages}.").format(pages=format_list(list(notes), locale=self.locale))

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

    def kind_label(self, h: ResultRecord, spec: Mapping[str, Any] | None, locked_at: str | None) -> str:
        """Main or extra question, and only what the registration fields and the lock establish."""
        if h.type != "confirmatory":
            variant = h.variant
            if variant == "amended":
                return self.t.gettext("Extra question: it was changed after it was registered, so it counts as "
                                      "explored, not as a main question")
            if variant == "unregistered":
                return self.t.gettext("Extra question: it is not in the study's registry, so it counts as explored")
            return self.t.gettext("Extra question, explored to find ideas")
        parts = [self.t.gettext("Main question")]
        declared = _as_date((spec or {}).get("registration_date"))
        if declared is not None:
            parts.append(self.t.gettext("registered on {date} (as the team declares)").format(date=self.day(declared)))
        locked = _as_date(locked_at)
        if locked is not None:
            parts.append(self.t.gettext("locked in the study's registry on {date}").format(date=self.day(locked)))
            collected = _outcome_data_start(spec)
            if collected is not None and locked >= collected:
                parts.append(self.t.gettext("after the outcome data began to be collected ({date})").format(
                    date=self.day(collected)))
        return ", ".join(parts)


def _as_date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _outcome_data_start(spec: Mapping[str, Any] | None) -> date | None:
    """When the outcome data began to be collected, as the spec declares it (the post wave's start)."""
    design = (spec or {}).get("design") or {}
    post = design.get("post")
    for wave in design.get("waves") or []:
        if isinstance(wave, Mapping) and post is not None and str(wave.get("label")) == str(post):
            return _as_date(wave.get("start"))
    return None


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


def _analysis_unit(h: ResultRecord, options: Mapping[str, Any], design: Mapping[str, Any]) -> str | None:
    """The column whose units the estimate counts: exposure-response and spillover compare communities (their part
    records it), an estimator option may set it, else the design's unit."""
    for part in (h.exposure_response, h.spillover):
        if part is not None and part.unit:
            return str(part.unit)
    return options.get("unit") or design.get("unit")


def _period_name(h: ResultRecord, options: Mapping[str, Any]) -> str | None:
    """The series' period (day, week, month, ...): the estimate records it, else the registered option."""
    period = h.scalar("period")
    return str(period) if period else (str(options["period"]) if options.get("period") else None)


def _by_option(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    options = ((spec or {}).get("estimator") or {}).get("options") or {}
    by = options.get("by")
    return by if isinstance(by, Mapping) and by.get("column") else None


def _group_hidden(entry: Any, threshold: int) -> bool:
    if not isinstance(entry, GroupEffect):
        return True
    if entry.suppressed or not _is_number(entry.estimate):
        return True
    n = entry.n if entry.n is not None else entry.other.get("n_units")  # older records counted units as n_units
    return _is_number(n) and n < threshold


@dataclass(frozen=True)
class SummaryPicture:
    """What the page's small picture shows: the best guess, its likely range and the line of no change, on the
    scale the page speaks in, with its labels and alt text in the language (the report draws it)."""

    estimate: float
    low: float
    high: float
    range_label: str
    estimate_label: str
    no_change_label: str
    axis_label: str
    alt: str


def _picture(writer: _Writer, estimate: float, low: float, high: float, scale: _Scale, *, estimator: str = "",
             hid: str = "") -> SummaryPicture:
    """The picture of the best guess, its likely range and the zero line, labelled in the language; the alt text
    states the finding with the three numbers as shown."""
    t = writer.t
    factor = 100.0 if scale.kind == "relative" else scale.factor
    values = [v * factor for v in (estimate, low, high)]
    unit = writer.unit_label(scale, hid)
    if estimator in _BEFORE_AFTER:
        label = t.gettext("change before → after")
    elif estimator in _DOSE:
        label = t.gettext("amount per extra unit of exposure")
    elif estimator in _SPILLOVER:
        label = t.gettext("difference, near minus far places without the campaign")
    else:
        label = t.gettext("change compared with no campaign")
    shown = {key: format_decimal(round(v, 2), format="+#,##0.##;-#,##0.##", locale=writer.locale)
             for key, v in zip(("estimate", "low", "high"), values)}
    alt = t.gettext("Picture: the best guess of the change ({estimate}) and its most likely range ({low} to "
                    "{high}), with the line of no change.").format(**shown)
    return SummaryPicture(estimate=values[0], low=values[1], high=values[2],
                          range_label=t.gettext("most likely range"), estimate_label=t.gettext("best guess"),
                          no_change_label=t.gettext("no change"), axis_label=f"{label} ({unit})" if unit else label,
                          alt=alt)


@dataclass(frozen=True)
class SummaryPage:
    """One hypothesis in plain words, every sentence in the summary's language: what its page says, in order.

    ``details`` end with the related-results sentence when ``related`` is not empty (its list of notes,
    ``related_list``, is what the page links to the other pages); ``verdict`` and ``status`` are as registered."""

    hypothesis_id: str
    title: str
    kind: str
    question: str
    headline: str
    details: tuple[str, ...]
    related: tuple[tuple[str, str], ...]
    related_list: str
    picture: SummaryPicture | None
    caveats: tuple[str, ...]
    footer: tuple[str, ...]
    status: Any = None
    verdict: Any = None
    estimate: Any = None
    ci_low: Any = None
    ci_high: Any = None

    @property
    def has_picture(self) -> bool:
        return self.picture is not None


@dataclass(frozen=True)
class TrainerSummary:
    """The trainer summary of a run in one language: the index page's words and one ``SummaryPage`` each."""

    lang: str
    study: str
    title: str
    heading: str
    how_to_read_heading: str
    how_to_read: str
    back_link: str
    caveats_heading: str
    pages: tuple[SummaryPage, ...]


def _page(writer: _Writer, h: ResultRecord | Mapping[str, Any], spec: Mapping[str, Any] | None, *, study: str,
          locked_at: str | None = None, related: Sequence[tuple[str, str]] = ()) -> SummaryPage:
    """One page. ``related``: (hypothesis id, what sets it apart) for other results about the same outcome."""
    if not isinstance(h, ResultRecord):
        h = ResultRecord.from_record(h)
    t = writer.t
    hid = h.id
    subject = writer.subject(h, spec)
    by = _by_option(spec)
    by_names = (writer.among(by["column"], str(by.get("level"))), writer.among(by["column"], str(by.get("reference")))
                ) if by else None
    direction = str(h.direction or "any")
    estimator_name = str(h.estimator or ((spec or {}).get("estimator") or {}).get("name") or "")
    if estimator_name in _DOSE and by_names is None:
        question = writer.dose_question(direction, subject)
    elif estimator_name in _SPILLOVER and by_names is None:
        question = writer.spillover_question(direction, subject)
    else:
        question = writer.question(direction, subject, by_names)
    scale = _scale_of(spec, writer.words.scales.get(hid))
    sizes = writer.words.sizes.get(hid)
    sizes_declared = sizes is not None
    sizes = sizes or DEFAULT_SIZES
    design = (spec or {}).get("design") or {}
    options = ((spec or {}).get("estimator") or {}).get("options") or {}
    estimator = estimator_name
    on_people = writer.rests_on_people(estimator)
    # the columns the estimate counts: the estimator's own unit and cluster when it sets them (exposure-response
    # compares communities clustered by CSO), else the design's
    unit_column = _analysis_unit(h, options, design)
    cluster_column = options.get("cluster") or design.get("cluster")
    details: list[str] = []
    caveats: list[str] = []
    picture = None
    estimate = h.estimate
    estimated = h.status == "estimated" and _is_number(estimate)
    units_n = h.units
    # the suppression threshold counts survey respondents; pages and communities of practice are not people
    hidden_for_privacy = estimated and on_people and _is_number(units_n) and units_n < writer.threshold
    sesoi = h.sesoi
    has_sesoi = _is_number(sesoi) and sesoi > 0
    low, high = h.ci_low, h.ci_high
    has_interval = _is_number(low) and _is_number(high)
    means = _gain_means(h)
    answer_scale = _Scale("relative") if means is not None else scale

    if not estimated:
        headline = writer.no_result(str(h.status))
    elif hidden_for_privacy:
        headline = t.gettext("The answer is hidden to protect privacy: too few people took part.")
    elif by is not None:
        groups = h.effect_by_group
        level_key, reference_key = str(by.get("level")), str(by.get("reference"))
        hidden = [key for key in (level_key, reference_key) if _group_hidden(groups.get(key), writer.threshold)]
        for key, name in ((level_key, by_names[0]), (reference_key, by_names[1])):
            if key in hidden:
                details.append(t.gettext("{group}: hidden to protect privacy (too few people).").format(
                    group=_capitalize(name)))
            else:
                details.append(t.gettext("{group}: {change}").format(
                    group=_capitalize(name),
                    change=_lower_first(writer.change(groups[key].estimate, scale, subject, hid,
                                                      sizes if scale.kind == "sd" else None))))
        if hidden:  # the difference would reveal the hidden group's number
            headline = t.gettext("The comparison between the groups is hidden to protect privacy.")
        else:
            bigger = by_names[0] if estimate >= 0 else by_names[1]
            smaller = by_names[1] if estimate >= 0 else by_names[0]
            if _negligible(estimate, scale):
                effect = t.gettext("The campaign affected {subject} about equally {level} and {reference}.").format(
                    subject=subject, level=by_names[0], reference=by_names[1])
            else:
                effect = t.gettext("In these data the campaign's effect on {subject} was bigger {bigger} than "
                                   "{smaller}, by about {amount}.").format(
                    subject=subject, bigger=bigger, smaller=smaller, amount=writer.amount(estimate, scale, hid))
            verdict = writer.group_verdict(h.verdict, by_names)
            headline = " ".join(_capitalize(part) for part in (verdict, effect) if part)
            if has_interval:
                details.append(writer.interval(low, high, scale, estimate, hid))
                picture = _picture(writer, estimate, low, high, scale, estimator=estimator, hid=hid)
    else:
        what = "slope" if estimator in _DOSE else "difference" if estimator in _SPILLOVER else "change"
        if what == "slope":
            step = h.exposure_response.scale if h.exposure_response is not None else None
            effect = writer.dose_change(estimate, scale, subject, writer.exposure_unit(h), hid, step=step)
            verdict = writer.dose_verdict(h.verdict, direction, subject, has_sesoi=has_sesoi)
        elif what == "difference":
            effect = writer.spillover_change(estimate, scale, subject, hid)
            verdict = writer.spillover_verdict(h.verdict, direction, subject, has_sesoi=has_sesoi)
        elif means is not None:
            effect = writer.relative_change(estimate, means, scale, subject)
            verdict = writer.verdict(h.verdict, direction, subject, has_sesoi=has_sesoi)
        else:
            effect = writer.change(estimate, scale, subject, hid, sizes if scale.kind == "sd" else None)
            verdict = writer.verdict(h.verdict, direction, subject, has_sesoi=has_sesoi)
        headline = " ".join(_capitalize(part) for part in (verdict, effect) if part)
        if _is_bayesian(h) and not _diagnostics_failed(h):  # only a posterior may be worded as certainty
            certainty = _posterior_certainty(h)
            if certainty is not None:
                probability, beyond_sesoi = certainty
                required, _ = _decision_probability(h)
                beyond = writer.threshold_amount(sesoi, scale, hid) if beyond_sesoi else None
                headline = f"{headline} {writer.certainty(probability, estimate, direction, beyond, required)}"
        if has_interval:
            details.append(writer.interval(low, high, answer_scale, estimate, hid, what=what,
                                           step=h.exposure_response.scale if h.exposure_response else None))
            picture = _picture(writer, estimate, low, high, answer_scale, estimator=estimator, hid=hid)
            if has_sesoi and means is None and what == "change" and -sesoi < low and high < sesoi:
                details.append(writer.small_effect(sesoi, scale, hid))
        if what == "slope":
            details.append(writer.dose_range(h.exposure_response))
        if what == "difference":
            details.append(writer.spillover_counts(h.spillover, unit_column))
        if scale.kind == "sd" and means is None and what == "change" and not _negligible(estimate, scale):
            details.append(writer.sizes_explained(sizes, sizes_declared))
        details = [d for d in details if d]

    if estimated and not hidden_for_privacy:
        compared = writer.comparison(estimator, by=by is not None)
        if compared:
            details.append(compared)
    weights = h.survey_weights
    if estimated and weights is not None and _is_number(weights.effective_n):
        details.append(t.gettext("The answers were weighted so that the people interviewed match the whole "
                                 "population in {columns}. Weighted, the {n} answers count like {effective} "
                                 "answers.").format(
            columns=format_list([str(c) for c in weights.columns or ()], locale=writer.locale),
            n=writer.count(int(weights.n or 0)), effective=writer.count(int(round(weights.effective_n)))))
    if related:
        details.append(writer.related([note for _, note in related]))

    if estimated and estimator in _DOSE:
        caveats.append(t.gettext("This number is not the campaign's effect: it says how much larger the change was "
                                 "for each extra unit of campaign exposure a place received. Places that got more "
                                 "exposure may differ in other ways too, so it does not prove that more exposure "
                                 "causes more change."))
    if estimated and estimator in _SPILLOVER:
        caveats.append(t.gettext("This number compares places without the campaign near campaign places with "
                                 "those far away. A difference would suggest that the campaign also reached its "
                                 "neighbours."))
    if h.type == "exploratory":
        caveats.append(t.gettext("This was an extra question the team explored. It was not one of the main "
                                 "questions fixed in advance, so treat the answer as an idea to test again."))
    if by is not None:
        caveats.append(t.gettext("This answer is about groups of people within the study, which are smaller than "
                                 "the whole study, so it is less certain."))
    n_clusters = h.n_clusters
    treated_n = h.treated_units
    if estimated and not on_people:
        # a series answer rests on its campaign units (pages, communities): say how few, in their own noun
        if _is_number(treated_n) and treated_n < FEW_CLUSTERS:
            caveats.append(t.gettext("Only {count} had the campaign. With so few, a bigger study could give a "
                                     "different answer.").format(count=writer.unit_count(unit_column,
                                                                                         int(treated_n))))
    elif estimated and _is_number(n_clusters) and n_clusters < FEW_CLUSTERS:
        caveats.append(t.gettext("The study has only {count}. With so few, a bigger study could give a different "
                                 "answer.").format(count=writer.clusters(cluster_column, int(n_clusters))))
    if estimated and _diagnostics_failed(h):
        caveats.append(t.gettext("The computer model behind this answer did not settle properly. Do not rely on "
                                 "it until the team has rerun it."))
    comparability = _index_comparability(h)
    if estimated and comparability == "only metric":
        caveats.append(t.gettext("The questions behind this measure may not work quite the same way in every group "
                                 "and survey round, so part of the change in its average may come from how people "
                                 "read the questions rather than a real change. Treat the size of the change with "
                                 "caution."))
    elif estimated and comparability == "not comparable":
        caveats.append(t.gettext("The questions behind this measure did not work the same way in every group and "
                                 "survey round, so its averages cannot be compared fairly. Do not rely on this "
                                 "answer until the team has checked the questions."))

    parts = []
    if estimated and not on_people and _is_number(units_n):
        # pages and communities are not respondents: their count is shown whatever it is, with what it rests on
        units_text = writer.unit_count(unit_column, int(units_n))
        details.append(writer.series_basis(
            units_text,
            writer.count(int(treated_n)) if _is_number(treated_n) else None,
            writer.periods(_period_name(h, options), int(h.periods)) if _is_number(h.periods) else None))
        parts.append(units_text)
    elif estimated:
        unit_text = writer.units(unit_column, units_n)
        if unit_text:
            parts.append(unit_text)
        # a cluster count only when clusters differ from units (pages clustered by page are one count, not two)
        if _is_number(n_clusters) and cluster_column and cluster_column != unit_column:
            parts.append(writer.clusters(cluster_column, int(n_clusters)))
    footer = []
    if parts:
        footer.append(t.gettext("Data: {parts}.").format(parts=format_list(parts, locale=writer.locale)))
    footer.append(t.gettext("Study: {study}. Question code: {code}.").format(study=study, code=hid))

    headline = _capitalize(headline)
    title = _capitalize(subject)
    if by_names is not None:
        title = t.gettext("{subject}: {level} and {reference}").format(subject=title, level=by_names[0],
                                                                       reference=by_names[1])
    elif estimator in _DOSE:  # the index lists it beside the campaign's effect on the same outcome: tell them apart
        title = t.gettext("{subject}: by how much of the campaign reached people").format(subject=title)
    elif estimator in _SPILLOVER:
        title = t.gettext("{subject}: places without the campaign near it and far from it").format(subject=title)
    shown_details = [_capitalize(d) for d in details]
    return SummaryPage(
        hypothesis_id=hid, title=title, kind=f"{_capitalize(writer.kind_label(h, spec, locked_at)).rstrip('.')}.",
        question=_capitalize(question), headline=headline, details=tuple(shown_details), related=tuple(related),
        related_list=format_list([note for _, note in related], locale=writer.locale) if related else "",
        picture=picture, caveats=tuple(caveats), footer=tuple(footer), status=h.status, verdict=h.verdict,
        estimate=h.estimate, ci_low=h.ci_low, ci_high=h.ci_high)


def study_words(study_dir: str | Path | None, lang: str) -> _StudyWords:
    """The study's own words (``STUDY/locale``) for ``lang``; none without a study folder."""
    return _StudyWords.load(Path(study_dir) if study_dir is not None else None, lang)


def trainer_summary(records: Sequence[ResultRecord | Mapping[str, Any]], *, lang: str, study: str = "",
                    specs: Mapping[str, Mapping[str, Any]] | None = None,
                    threshold: int = DEFAULT_SUPPRESSION_THRESHOLD, words: _StudyWords | None = None,
                    locks: Mapping[str, str] | None = None,
                    level_labels: Callable[[str, str], str | None] | None = None,
                    series_estimators: frozenset[str] | set[str] = frozenset()) -> TrainerSummary:
    """The summary of a run's hypotheses in ``lang``. ``specs``: the registered specs by id (as JSON); ``locks``:
    when the registry lock recorded each spec; ``threshold``: the study's suppression threshold; ``level_labels``:
    (column, value) -> a subgroup's name in ``lang`` (the XLSForm's choice labels), used when study.po has none;
    ``series_estimators``: the estimators whose data are series of pages or communities, not survey respondents
    (the registry's ``data_kind``): the person-count privacy rule does not apply to them, every other is survey."""
    writer = _Writer(lang, words or _StudyWords(), threshold=threshold, level_labels=level_labels,
                     series_estimators=frozenset(series_estimators))
    t = writer.t
    specs = specs or {}
    locks = locks or {}
    study = writer.words.text("study:name") or study
    typed = [r if isinstance(r, ResultRecord) else ResultRecord.from_record(r) for r in records]
    pages = []
    for h in typed:
        spec = specs.get(h.id)
        related = [(o.id, writer.method_note(o, specs.get(o.id))) for o in typed
                   if o is not h and _same_outcome(o, h) and o.status == "estimated"]
        pages.append(_page(writer, h, spec, study=study, related=related,
                           locked_at=locks.get(str(h.spec_id or h.id))))
    return TrainerSummary(
        lang=lang, study=study, title=t.gettext("Summary for trainers"),
        heading=t.gettext("What the campaigns changed"), how_to_read_heading=t.gettext("How to read these pages"),
        how_to_read=t.gettext(
            "Each page answers one question that the team wrote down in advance. It first gives the answer "
            "(yes, no or not clear), then how big the change was and the range it most likely lies in, and "
            "what it was compared with. Only answers from models that give a probability say how sure we "
            "are. Numbers are rounded."),
        back_link=t.gettext("Back to all questions"), caveats_heading=t.gettext("Keep in mind"), pages=tuple(pages))


def _same_outcome(a: ResultRecord, b: ResultRecord) -> bool:
    return bool(a.outcome) and (a.source, a.outcome) == (b.source, b.outcome)
