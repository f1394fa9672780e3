"""The estimator registry: one record per estimator, the only place that knows estimators by name.

A record says what a spec may register for the estimator (its options model, SE types, the design fields it needs,
the columns its options name) and what the estimator can do beyond the point estimate (capabilities), next to the
function that fits it. The plan resolves names here, the runner calls ``record.fitter`` and (per subgroup, for attrition) asks
``record.disaggregation`` and ``record.attrition``, design diagnosis asks ``record.simulation``, the report and the
gate ask ``record.bayesian``. Nothing else keeps a list of estimator names.

Adding an estimator: write its module (a function with the ``Fitter`` signature and, in ``_catalog.py`` or the
module itself, a frozen pydantic options model), add one ``EstimatorRecord`` to ``RECORDS`` below, and tests.
``tests/unit/test_registry.py`` checks that every record resolves and that each claimed capability is exercised;
``docs/architecture.md`` walks through a complete example.

A planned estimator is a record with ``fitter=None``: specs naming it plan fine, and its hypotheses get the status
``not_yet_estimable``, never a made-up number.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

import pandas as pd
from pydantic import BaseModel

from ..bayes import DID_PRIORS, ITS_PRIORS, ORDINAL_PRIORS
from ..results import EstimateResult
from ..spec import HypothesisSpec
from ._ancova import fit_ancova
from ._bayes import fit_bayes_did, fit_bayes_its, fit_ordinal_did
from ._catalog import (
    BAYES_SE_TYPES,
    GAIN_SE_TYPES,
    SE_TYPES,
    SURVEY_SE_TYPES,
    AncovaOptions,
    BayesDiDOptions,
    BayesITSOptions,
    KnowledgeGainOptions,
    OrdinalDiDOptions,
    ShareOptions,
    SurveyDiDOptions,
)
from ._engagement import fit_its, fit_staggered_did
from ._exposure_options import ExposureResponseOptions, SpilloverOptions
from ._exposure_response import check_exposure_link, exposure_window, fit_exposure_response
from ._spillover import fit_spillover
from ._engagement_options import ItsOptions, StaggeredDiDOptions, SunAbrahamOptions, TwfeOptions
from ._gain import fit_knowledge_gain, fit_share
from ._survey_did import check_cluster_design, fit_survey_did
from ._synthetic import check_synthetic_design, fit_synthetic_control, fit_synthetic_did
from ._synthetic_options import SYNTHETIC_SE_TYPES, SyntheticOptions
from ._sun_abraham import check_sun_abraham_design, fit_sun_abraham
from ._twfe import fit_twfe
from ._weights import weights_design_check

__all__ = ["CAPABILITIES", "RECORDS", "REGISTRY", "EstimatorRecord", "Fitter", "SourceLink", "get_record", "register",
           "unregister"]


class Fitter(Protocol):
    """What the runner calls: the (subset) source frame, the constructed outcome (same index), the spec, its
    validated options, and the file name for messages. Raises ``NotTestable`` when the data cannot answer the
    hypothesis, ``EstimationError`` when the model cannot be fitted, ``DataError`` for bad data."""

    def __call__(self, frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec, options: Any, /, *,
                 file: str) -> EstimateResult: ...


OptionColumns = Callable[[Any], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class SourceLink:
    """A source an estimator reads beside the outcome's: its name, the spec field naming it, and the columns it
    reads there as (column, spec field)."""

    source: str
    field: str
    columns: tuple[tuple[str, str], ...]


#: f(options) -> the sources (and their columns) the estimator reads beside the outcome's source.
LinkedColumns = Callable[[Any], tuple[SourceLink, ...]]
#: f(rows after design.subset, {source: LinkedFrame}, spec, options) -> why the sources cannot be linked, or None.
LinkCheck = Callable[[pd.DataFrame, Mapping[str, Any], HypothesisSpec, Any], "str | None"]
#: f(spec, options) -> (field, what is wrong, fix) for what the plan can refuse without data, or None.
SpecCheck = Callable[[HypothesisSpec, Any], "tuple[str, str, str] | None"]
OptionsPredicate = Callable[[Any], bool]
AttritionOutcome = Callable[[HypothesisSpec, Any], "str | None"]
#: f(rows after design.subset, spec, options) -> why the data's structure cannot be estimated, or None.
DesignCheck = Callable[[pd.DataFrame, HypothesisSpec, Any], "str | None"]

#: Capability names, in the order docs and errors list them.
CAPABILITIES = ("fixed_effects", "disaggregation", "attrition", "simulation", "bayesian", "survey_weights")


def no_option_columns(options: Any) -> tuple[tuple[str, str], ...]:
    return ()


@dataclass(frozen=True)
class EstimatorRecord:
    """One estimator: what a spec may register for it, what it can do, and its fitter.

    Capabilities (``None`` = not offered; the plan refuses a spec that asks for one):

    - ``fixed_effects(options) -> bool``: absorbs the spec's ``fixed_effects`` columns with these options;
    - ``disaggregation(options) -> bool``: re-estimates per level of each ``disaggregate`` column; returns whether
      the estimation sample is the units observed at both waves (True) or every answered row (False);
    - ``attrition(spec, options) -> str | None``: the outcome Lee bounds are on ("change" or "post"), or None when
      attrition by arm does not bound this estimate (the attrition section is then left out);
    - ``simulation``: design diagnosis (``oca design diagnose``) has a data-generating model for it;
    - ``priors``: Bayesian: the model's registered priors (name -> (default scale, meaning)); the verdict comes
      from the posterior decision rule, and ``bayes.priors`` may only name these;
    - ``survey_weights``: uses the spec's ``weights`` (raking to population margins, linearized variance with the
      raking adjustment: ``_weights.py``); the plan refuses ``weights`` for an estimator without it.
    """

    name: str
    summary: str
    data_kind: Literal["survey", "engagement"]
    options_model: type[BaseModel]
    fitter: Callable[..., EstimateResult] | None  # a Fitter (the Protocol is for type checkers, not pydantic)
    se_types: tuple[str, ...] = SE_TYPES
    design_fields: tuple[str, ...] = ("pre", "post")
    option_columns: OptionColumns = no_option_columns
    fixed_effects: OptionsPredicate | None = None
    disaggregation: OptionsPredicate | None = None
    attrition: AttritionOutcome | None = None
    simulation: bool = False
    priors: Mapping[str, tuple[float, str]] | None = None
    #: the registered testability requirement ``balanced_panel`` applies (contracts/_testability.py)
    needs_balanced_panel: bool = False
    #: the time period a series/panel estimator without a ``period`` option works in: the data's spacing is checked
    #: against it (and against every ``period`` option) at validate time (contracts/_testability.py)
    period: str | None = None
    #: False: the estimator does not use ``covariates``; the plan refuses a spec that registers them
    covariates: bool = True
    #: estimator-specific design requirements, checked on the data's structure before estimation (validate and run)
    design_check: DesignCheck | None = None
    survey_weights: bool = False
    #: columns read from other sources (e.g. exposure from the engagement source); the fitter then gets
    #: ``linked={source: LinkedFrame}``, and the run needs those sources' data and passed contracts
    linked_columns: LinkedColumns | None = None
    #: the sources link (shared key, rows in the window), checked at validate and run time
    link_check: LinkCheck | None = None
    #: what the plan refuses from the spec alone (no data read)
    spec_check: SpecCheck | None = None

    def links(self, options: Any) -> tuple[SourceLink, ...]:
        return self.linked_columns(options) if self.linked_columns is not None else ()

    def linked_sources(self, options: Any) -> tuple[str, ...]:
        return tuple(dict.fromkeys(link.source for link in self.links(options)))

    @property
    def available(self) -> bool:
        return self.fitter is not None

    @property
    def bayesian(self) -> bool:
        """Verdict from the registered posterior decision rule, not from a test."""
        return self.priors is not None

    @property
    def capabilities(self) -> tuple[str, ...]:
        claimed = {"fixed_effects": self.fixed_effects is not None, "disaggregation": self.disaggregation is not None,
                   "attrition": self.attrition is not None, "simulation": self.simulation, "bayesian": self.bayesian,
                   "survey_weights": self.survey_weights}
        return tuple(name for name in CAPABILITIES if claimed[name])


# --------------------------------------------------------------------------- capability rules, per estimator


def _contrast_column(options: Any) -> tuple[tuple[str, str], ...]:
    return ((options.by.column, "estimator.options.by.column"),) if options.by is not None else ()


def _denominator_column(options: Any) -> tuple[tuple[str, str], ...]:
    return ((options.denominator, "estimator.options.denominator"),)


def _cluster_and_weights_check(frame: pd.DataFrame, spec: HypothesisSpec, options: Any) -> str | None:
    return check_cluster_design(frame, spec, options) or weights_design_check(frame, spec, options)


def _staggered_spec_check(spec: HypothesisSpec, options: Any) -> tuple[str, str, str] | None:
    # att_gt refuses covariates in the repeated cross-section mode (run time, on an unbalanced panel); registering
    # the two together can only work on a balanced panel, where allow_unbalanced changes nothing: refuse the spec.
    if options.unbalanced_panel == "allow_unbalanced" and spec.covariates:
        return ("estimator.options.unbalanced_panel", "unbalanced_panel: allow_unbalanced is implemented without "
                "covariates only (every observation as repeated cross-sections, unconditional)",
                "register unbalanced_panel: pairwise or balance, or drop the covariates")
    return None


def _exposure_columns(options: Any) -> tuple[tuple[str, str], ...]:
    pairs = [(options.exposure.key.survey, "estimator.options.exposure.key.survey")]
    if options.unit:
        pairs.append((options.unit, "estimator.options.unit"))
    if options.cluster:
        pairs.append((options.cluster, "estimator.options.cluster"))
    return tuple(pairs)


def _exposure_linked(options: Any) -> tuple[SourceLink, ...]:
    measure = options.exposure
    field = "estimator.options.exposure"
    columns = [(measure.key.exposure, f"{field}.key.exposure"), (measure.date, f"{field}.date")]
    columns += [(column, f"{field}.columns") for column in measure.columns]
    if measure.per:
        columns.append((measure.per, f"{field}.per"))
    columns += [(column, f"{field}.subset") for column in measure.subset]
    return (SourceLink(measure.source, f"{field}.source", tuple(columns)),)


def _no_randomization(spec: HypothesisSpec, name: str, why: str) -> tuple[str, str, str] | None:
    if spec.inference.randomization is None:
        return None
    return ("inference.randomization", f"estimator {name} offers no randomization inference: {why}",
            "remove inference.randomization (the registered few-cluster rule still applies)")


def _spillover_spec_check(spec: HypothesisSpec, options: Any) -> tuple[str, str, str] | None:
    return _no_randomization(spec, "spillover", "nearness to treated communities is not what the lottery assigned")


def _exposure_spec_check(spec: HypothesisSpec, options: Any) -> tuple[str, str, str] | None:
    refused = _no_randomization(spec, "exposure_response", "the dose is observed, not assigned")
    if refused is not None:
        return refused
    try:
        exposure_window(spec, options)
    except ValueError as exc:
        return ("estimator.options.exposure.window", str(exc),
                "add start and end dates to the pre and post waves in design.waves, or register window: {start: "
                "YYYY-MM-DD, end: YYYY-MM-DD}")
    return None


def _spillover_columns(options: Any) -> tuple[tuple[str, str], ...]:
    near = options.near
    pairs = [(near.by, "estimator.options.near.by")] if near.by else [(near.column, "estimator.options.near.column")]
    if options.unit:
        pairs.append((options.unit, "estimator.options.unit"))
    return tuple(pairs)


def _survey_did_attrition(spec: HypothesisSpec, options: Any) -> str | None:
    if spec.design.pre is None or spec.design.post is None:
        return None
    return "change" if options.panel and options.by is None else None


def _ancova_attrition(spec: HypothesisSpec, options: Any) -> str | None:
    if spec.design.pre is None or spec.design.post is None:
        return None
    return "change" if options.model == "change_score" else "post"


RECORDS: tuple[EstimatorRecord, ...] = (
    EstimatorRecord(
        "survey_did", "2x2 difference-in-differences on survey waves (panel or repeated cross-sections), "
        "cluster-robust inference", "survey", SurveyDiDOptions, fit_survey_did, se_types=SURVEY_SE_TYPES,
        option_columns=_contrast_column, fixed_effects=lambda options: options.panel,
        disaggregation=lambda options: options.panel, attrition=_survey_did_attrition, simulation=True,
        design_check=_cluster_and_weights_check, survey_weights=True),
    EstimatorRecord(
        "knowledge_gain", "relative pre/post change in mean knowledge score, delta-method and bootstrap CIs",
        "survey", KnowledgeGainOptions, fit_knowledge_gain, se_types=GAIN_SE_TYPES,
        disaggregation=lambda options: options.paired, survey_weights=True, design_check=weights_design_check),
    EstimatorRecord(
        "ancova", "endline on baseline plus treatment (or change scores)", "survey", AncovaOptions, fit_ancova,
        se_types=SURVEY_SE_TYPES, disaggregation=lambda options: True, attrition=_ancova_attrition,
        design_check=_cluster_and_weights_check, survey_weights=True),
    EstimatorRecord(
        "share", "share of respondents reporting an outcome (0/1), Wilson CI", "survey", ShareOptions, fit_share,
        se_types=("CR1", "CR2", "iid"), design_fields=(), disaggregation=lambda options: False,
        survey_weights=True, design_check=weights_design_check),
    # Series and panels: adoption dates (design.adoption) or a 0/1 treated-and-post column, so no design field is
    # required; the period is an option (day ... year, integer), checked against the data at validate time.
    EstimatorRecord(
        "staggered_did", "Callaway-Sant'Anna staggered-adoption DiD on a unit x period panel (any period)",
        "engagement", StaggeredDiDOptions, fit_staggered_did, se_types=("CR1",), design_fields=(),
        spec_check=_staggered_spec_check),
    EstimatorRecord(
        "its", "structural time series per treated unit (any period): counterfactual forecast or intervention "
        "terms, seasonal components, registered regressors", "engagement", ItsOptions, fit_its,
        se_types=("model",), design_fields=()),
    EstimatorRecord(
        "twfe", "two-way fixed-effects DiD or event study (leads/lags) on a unit x period panel, any registered "
        "fixed effects, CR1/CR2/wild with fixest's small-sample conventions", "engagement", TwfeOptions, fit_twfe,
        se_types=("CR1", "CR2", "HC1", "iid", "wild"), design_fields=(), fixed_effects=lambda options: True),
    EstimatorRecord(
        "sun_abraham", "Sun-Abraham interaction-weighted event study on a balanced unit x period panel (any "
        "period): leads/lags, cohort shares, aggregated ATT, CR1 by the unit or a coarser cluster", "engagement",
        SunAbrahamOptions, fit_sun_abraham, se_types=("CR1",), design_fields=(), covariates=False,
        design_check=check_sun_abraham_design),
    EstimatorRecord(
        "bayes_did", "hierarchical Bayesian DiD across CSOs", "survey", BayesDiDOptions, fit_bayes_did,
        se_types=BAYES_SE_TYPES, priors=DID_PRIORS),
    EstimatorRecord(
        "ordinal_did", "Bayesian cumulative-logit DiD for one Likert item", "survey", OrdinalDiDOptions,
        fit_ordinal_did, se_types=BAYES_SE_TYPES, priors=ORDINAL_PRIORS),
    EstimatorRecord(
        "bayes_its", "Bayesian structural time series", "engagement", BayesITSOptions, fit_bayes_its,
        se_types=BAYES_SE_TYPES, design_fields=("adoption",), option_columns=_denominator_column,
        priors=ITS_PRIORS, period="day"),
    EstimatorRecord(
        "synthetic_did", "synthetic difference-in-differences (Arkhangelsky et al. 2021) for one or a few treated "
        "units with a common start: unit and time weights, placebo / jackknife / bootstrap SE", "engagement",
        SyntheticOptions, fit_synthetic_did, se_types=SYNTHETIC_SE_TYPES, design_fields=(), covariates=False,
        design_check=check_synthetic_design),
    EstimatorRecord(
        "exposure_response", "exposure-response (dose-response): each community's change regressed on its campaign "
        "exposure from another source (engagement) within the treated arm, the comparison arm's change the "
        "untreated baseline; linear or spline ATT(d), ACRT target (Callaway, Goodman-Bacon and Sant'Anna 2024)",
        "survey", ExposureResponseOptions, fit_exposure_response, se_types=SURVEY_SE_TYPES,
        option_columns=_exposure_columns, covariates=False, linked_columns=_exposure_linked,
        link_check=check_exposure_link, spec_check=_exposure_spec_check),
    EstimatorRecord(
        "spillover", "spillover contrast: comparison communities near treated ones (same district, registered "
        "adjacency or audience overlap) against far ones, as a community-level DiD; treated-minus-far beside it",
        "survey", SpilloverOptions, fit_spillover, se_types=SURVEY_SE_TYPES,
        option_columns=_spillover_columns, covariates=False, spec_check=_spillover_spec_check),
    EstimatorRecord(
        "synthetic_control", "synthetic control (Abadie et al.; unit weights without intercept, as the synthdid "
        "package's sc_estimate) for one or a few treated units with a common start", "engagement",
        SyntheticOptions, fit_synthetic_control, se_types=SYNTHETIC_SE_TYPES, design_fields=(), covariates=False,
        design_check=check_synthetic_design),
)

_REGISTRY: dict[str, EstimatorRecord] = {record.name: record for record in RECORDS}
#: name -> record, read-only. ``register`` adds to it (tests, plug-ins); the plan, runner and summaries read it.
REGISTRY: Mapping[str, EstimatorRecord] = MappingProxyType(_REGISTRY)


def register(record: EstimatorRecord, *, replace: bool = False) -> EstimatorRecord:
    """Add an estimator (e.g. one defined outside the package). Refuses to shadow a name unless ``replace``."""
    if record.name in _REGISTRY and not replace:
        raise ValueError(f"estimator {record.name!r} is already registered")
    _REGISTRY[record.name] = record
    return record


def unregister(name: str) -> None:
    """Remove an estimator added with ``register`` (tests)."""
    _REGISTRY.pop(name, None)


def get_record(name: str) -> EstimatorRecord | None:
    return _REGISTRY.get(name)
