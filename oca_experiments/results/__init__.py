"""Read-only results objects. They are return values: nothing here prints, writes files or mutates inputs.

- ``EstimateResult``: what an estimator returns for one hypothesis (labelled numbers, counts, extras). Every part
  of ``extras`` is typed (``parts.py``, ``EXTRAS_TYPES``) and read by attribute: the cross-cutting ``inference``,
  ``attrition``, ``event_study``, ``posterior``, ``diagnostics`` and the estimator-specific ones (``att_gt``,
  ``aggregations``, ``bacon``, ``sensitivity``, ``by_campaign``, ``unit_weights``, ``sampler``, ...); scalar extras
  (``model``, ``statement``, ``target``, ...) read by attribute too (``SCALAR_EXTRAS``). ``extras`` stays a
  read-only mapping of those parts (each also a read-only dict of its record) for older readers only.
- ``HypothesisResult``: the estimate plus the hypothesis' identity, status, verdict and reason.
- ``RunResult``: every hypothesis of a study run, the contract results and the data fingerprints.
- ``ValidationResult``: contracts, preflight and per-hypothesis testability only, no estimates.

``tidy()`` returns a new DataFrame; ``to_dict()`` returns JSON-ready data (NaN becomes ``None``). Every result
pickles (joblib, multiprocessing, ``copy``) and comes back with the same ``to_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from .parts import (
    PART_TYPES,
    SCALAR_EXTRAS,
    Aggregations,
    ArtifactPaths,
    Attrition,
    ATTgt,
    BaconDecomposition,
    CampaignEffect,
    CohortCell,
    CohortShare,
    CumulativeEffect,
    DecisionRule,
    Diagnostics,
    DisaggregationTable,
    EventStudy,
    ExposureResponse,
    FewTreatedRule,
    GroupEffect,
    HonestSensitivity,
    IndexConstruction,
    InferenceRecord,
    ItsByCampaign,
    MeasurementInvariance,
    MultiplierBootstrap,
    NegativeWeights,
    Part,
    PointwiseEffects,
    PosteriorSummary,
    PretrendTest,
    PriorPredictiveCheck,
    PriorRecord,
    PriorSensitivityRow,
    RawMeans,
    Regularisation,
    ReliabilityRecord,
    Resampling,
    SamplerSettings,
    Spillover,
    StaggeredCheck,
    Standardisation,
    SurveyWeightsRecord,
    SyntheticComparisonEstimate,
    SyntheticTrajectory,
    TwfeComparison,
    UnitEffect,
    Weight,
    lift_parts,
)

__all__ = ["PART_TYPES", "RESULTS_SCHEMA_VERSION", "STABLE_KEYS", "STATUSES", "Attrition", "Diagnostics",
           "EstimateResult", "EventStudy", "HypothesisResult", "InferenceRecord", "Part", "PosteriorSummary",
           "RunResult", "ValidationResult", "multiple_testing_families"]

#: The keys of results.json that are kept forever (a public interface).
STABLE_KEYS = ("id", "status", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n", "n_clusters",
               "estimator", "verdict")

#: Hypothesis statuses.
STATUSES = ("estimated", "not_yet_estimable", "contract_failed", "not_testable", "estimation_failed")

RESULTS_SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-ready copy: NaN/inf become None, tuples become lists, mappings become dicts."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Part):
        return _clean(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _clean(value.item())
    return value


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _thaw(value: Any) -> Any:
    """A frozen mapping (or a tuple of them) as the plain dicts it was made from, for pickling."""
    if isinstance(value, MappingProxyType):
        return dict(value)
    if isinstance(value, tuple) and any(isinstance(item, MappingProxyType) for item in value):
        return tuple(_thaw(item) for item in value)
    return value


def _construct(kind: type, fields: dict[str, Any]) -> Any:
    return kind(**fields)


class _Picklable:
    """Pickle (joblib, multiprocessing, copy) a frozen result through its constructor: its read-only mappings
    (``MappingProxyType``, which does not pickle) travel as dicts and are frozen again, typed parts travel as their
    records (``Part.__reduce__``), and ``__post_init__`` restores what it guarantees (read-only draws)."""

    def __reduce__(self) -> tuple[Any, ...]:
        import dataclasses

        return (_construct, (type(self), {f.name: _thaw(getattr(self, f.name))
                                          for f in dataclasses.fields(self)  # type: ignore[arg-type]
                                          if f.init}))


@dataclass(frozen=True)
class EstimateResult(_Picklable):
    """One estimator's answer for one hypothesis. ``estimate`` is on the outcome's registered scale."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float
    p_value_two_sided: float
    df: float | None
    n: int
    n_clusters: int | None
    se_type: str
    counts: Mapping[str, int] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    #: Files for the run directory, relative path -> bytes (e.g. a posterior's NetCDF); not part of to_dict().
    artifacts: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    #: (observed t, bootstrap t-statistics under the null) for Romano-Wolf across a family; not part of to_dict().
    null_draws: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", _freeze(self.counts))
        # The known parts are read into their types here, whoever built the record (estimators, results.json).
        object.__setattr__(self, "extras", _freeze(lift_parts(self.extras)))
        object.__setattr__(self, "artifacts", _freeze(self.artifacts))
        for item in (self.null_draws if isinstance(self.null_draws, tuple) else (self.null_draws,)):
            if hasattr(item, "setflags"):
                item.setflags(write=False)

    def _part(self, kind: type[Part]) -> Any:
        value = self.extras.get(kind.KEY or "")
        return value if isinstance(value, kind) else None

    def _typed(self, key: str) -> Any:
        """``extras[key]`` when it holds its typed value (a part, or a tuple/mapping of parts), else None."""
        value = self.extras.get(key)
        if isinstance(value, (Part, tuple)) or (isinstance(value, Mapping) and all(
                isinstance(v, (Part, tuple)) for v in value.values())):
            return value
        return None

    @property
    def inference(self) -> InferenceRecord | None:
        """The primary inference, the few-cluster rule's record and every alternative (survey estimators)."""
        return self._part(InferenceRecord)

    @property
    def attrition(self) -> Attrition | None:
        return self._part(Attrition)

    @property
    def event_study(self) -> EventStudy | None:
        return self._part(EventStudy)

    @property
    def posterior(self) -> PosteriorSummary | None:
        """Bayesian estimators: the registered target's posterior summary."""
        return self._part(PosteriorSummary)

    @property
    def diagnostics(self) -> Diagnostics | None:
        """Bayesian estimators: the sampler diagnostics gate."""
        return self._part(Diagnostics)

    @property
    def index(self) -> IndexConstruction | None:
        """How a z-score or ICW index outcome was built."""
        return self._typed("index")

    @property
    def reliability(self) -> tuple[ReliabilityRecord, ...] | None:
        """Internal consistency of a multi-item outcome, one record per wave."""
        return self._typed("reliability")

    @property
    def survey_weights(self) -> SurveyWeightsRecord | None:
        """Survey-weighted estimators: the registered weights as applied (effective n, margins)."""
        return self._part(SurveyWeightsRecord)

    @property
    def invariance(self) -> MeasurementInvariance | None:
        """Measurement invariance of the index outcome across arms and waves (multi-group CFA)."""
        return self._typed("invariance")

    @property
    def disaggregation(self) -> tuple[DisaggregationTable, ...] | None:
        """The registered estimator per level of each registered column."""
        return self._typed("disaggregation")

    @property
    def exposure_response(self) -> ExposureResponse | None:
        """Exposure-response: the dose-response (continuous-treatment DiD) estimate and its assumptions."""
        return self._typed("exposure_response")

    @property
    def spillover(self) -> Spillover | None:
        """Spillover: the near- vs far-comparison contrast and the spillover-robust effect."""
        return self._typed("spillover")

    @property
    def by_group(self) -> DisaggregationTable | None:
        """The registered estimator per level of ``design.group`` (per-CSO estimates for pooling)."""
        return self._typed("by_group")

    @property
    def effect_by_group(self) -> Mapping[str, GroupEffect] | None:
        """A ``by`` contrast's effect in each group."""
        return self._typed("effect_by_group")

    @property
    def raw_means(self) -> RawMeans | None:
        """Survey DiD: mean outcome per arm and wave."""
        return self._typed("raw_means")

    @property
    def group_effects(self) -> Mapping[str, UnitEffect] | None:
        """Bayesian: each group's posterior."""
        return self._typed("group_effects")

    @property
    def unit_effects(self) -> Mapping[str, UnitEffect] | None:
        """Bayesian ITS: each unit's posterior."""
        return self._typed("unit_effects")

    @property
    def portfolio_effect(self) -> PosteriorSummary | None:
        """Bayesian DiD: the treated-weighted mean of the groups' effects."""
        return self._typed("portfolio_effect")

    @property
    def population_effect(self) -> PosteriorSummary | None:
        """Bayesian DiD: the population-level mean effect."""
        return self._typed("population_effect")

    @property
    def att_gt(self) -> ATTgt | None:
        """Staggered DiD: every group-time ATT(g, t) cell."""
        return self._typed("att_gt")

    @property
    def aggregations(self) -> Aggregations | None:
        """Staggered DiD: simple, dynamic, group and calendar aggregations."""
        return self._typed("aggregations")

    @property
    def pretrend_test(self) -> PretrendTest | None:
        """Event studies: the joint pre-trend test."""
        return self._typed("pretrend_test")

    @property
    def twfe(self) -> TwfeComparison | None:
        """Staggered DiD: the static TWFE coefficient beside the headline."""
        return self._typed("twfe")

    @property
    def bootstrap(self) -> MultiplierBootstrap | None:
        """Staggered DiD: the multiplier bootstrap's settings."""
        return self._typed("bootstrap")

    @property
    def sensitivity(self) -> HonestSensitivity | None:
        """Staggered DiD: HonestDiD sensitivity to parallel-trend violations."""
        return self._typed("sensitivity")

    @property
    def its_by_campaign(self) -> ItsByCampaign | None:
        """Staggered DiD: the per-campaign ITS robustness check."""
        return self._typed("its_by_campaign")

    @property
    def inference_rule(self) -> FewTreatedRule | None:
        """Staggered DiD: the few-treated-units rule (permutation of adoption dates or influence function)."""
        return self._typed("inference_rule")

    @property
    def bacon(self) -> BaconDecomposition | None:
        """Static TWFE: the Goodman-Bacon decomposition."""
        return self._typed("bacon")

    @property
    def negative_weights(self) -> NegativeWeights | None:
        """Static TWFE: the implicit weights on treated cells."""
        return self._typed("negative_weights")

    @property
    def cohort_shares(self) -> tuple[CohortShare, ...] | None:
        """Sun-Abraham: each cohort's share of the treated units."""
        return self._typed("cohort_shares")

    @property
    def iw_weights(self) -> tuple[CohortCell, ...] | None:
        """Sun-Abraham: the interaction-weighting weights per cohort and event time."""
        return self._typed("iw_weights")

    @property
    def cohort_effects(self) -> tuple[CohortCell, ...] | None:
        """Sun-Abraham: each cohort x event-time effect."""
        return self._typed("cohort_effects")

    @property
    def by_campaign(self) -> tuple[CampaignEffect, ...] | None:
        """Engagement: each campaign's (ITS unit's or staggered cohort's) effect."""
        return self._typed("by_campaign")

    @property
    def staggered_did(self) -> StaggeredCheck | None:
        """ITS: the Callaway-Sant'Anna estimate beside the headline."""
        return self._typed("staggered_did")

    @property
    def unit_weights(self) -> tuple[Weight, ...] | None:
        """Synthetic DiD / SC: the comparison units' weights."""
        return self._typed("unit_weights")

    @property
    def time_weights(self) -> tuple[Weight, ...] | None:
        """Synthetic DiD: the pre-periods' weights."""
        return self._typed("time_weights")

    @property
    def trajectory(self) -> SyntheticTrajectory | None:
        """Synthetic DiD / SC: treated and synthetic paths."""
        return self._typed("trajectory")

    @property
    def comparison(self) -> Mapping[str, SyntheticComparisonEstimate] | None:
        """Synthetic DiD / SC: SDID, SC and DiD side by side."""
        return self._typed("comparison")

    @property
    def regularisation(self) -> Regularisation | None:
        """Synthetic DiD: the weights' regularisation."""
        return self._typed("regularisation")

    @property
    def resampling(self) -> Resampling | None:
        """Synthetic DiD / SC: the placebo or bootstrap settings."""
        return self._typed("resampling")

    @property
    def decision_rule(self) -> DecisionRule | None:
        """Bayesian: the registered posterior-probability rule."""
        return self._typed("decision_rule")

    @property
    def priors(self) -> tuple[PriorRecord, ...] | None:
        """Bayesian: every prior and its registered scale."""
        return self._typed("priors")

    @property
    def sampler(self) -> SamplerSettings | None:
        """Bayesian: the sampler settings (seeded)."""
        return self._typed("sampler")

    @property
    def standardisation(self) -> Standardisation | None:
        """Bayesian DiD: the scale priors are on."""
        return self._typed("standardisation")

    @property
    def prior_predictive(self) -> PriorPredictiveCheck | None:
        """Bayesian: the prior predictive check."""
        return self._typed("prior_predictive")

    @property
    def prior_sensitivity(self) -> tuple[PriorSensitivityRow, ...] | None:
        """Bayesian: the target's posterior under scaled priors."""
        return self._typed("prior_sensitivity")

    @property
    def cumulative_effect(self) -> CumulativeEffect | None:
        """Bayesian ITS: the summed effect over the campaign periods."""
        return self._typed("cumulative_effect")

    @property
    def pointwise_effect_by_day(self) -> PointwiseEffects | None:
        """Bayesian ITS: the effect per date."""
        return self._typed("pointwise_effect_by_day")

    @property
    def latent_effect_logit(self) -> PosteriorSummary | None:
        """Ordinal DiD: the effect on the latent logit scale."""
        return self._typed("latent_effect_logit")

    @property
    def latent_effect_sd(self) -> PosteriorSummary | None:
        """Ordinal DiD: the effect in latent SDs."""
        return self._typed("latent_effect_sd")

    @property
    def top_change(self) -> PosteriorSummary | None:
        """Ordinal DiD: the change in the share of top answers."""
        return self._typed("top_change")

    @property
    def category_probability_change(self) -> Mapping[str, PosteriorSummary] | None:
        """Ordinal DiD: the change in each answer's share."""
        return self._typed("category_probability_change")

    @property
    def inference_description(self) -> str | None:
        """Estimators whose inference is one sentence (staggered DiD, synthetic DiD) rather than a record."""
        value = self.extras.get("inference")
        return value if isinstance(value, str) else None

    @property
    def artifact_paths(self) -> ArtifactPaths | None:
        """Run-directory paths of the files this estimate wrote (``extras.artifacts``: posterior, plots)."""
        return self._typed("artifacts")

    def __getattr__(self, name: str) -> Any:
        # Scalar extras (model description, statement, target, ...) read by attribute, typed by SCALAR_EXTRAS.
        if name in SCALAR_EXTRAS:
            value = self.__dict__.get("extras", {}).get(name)
            return value if value is None or isinstance(value, SCALAR_EXTRAS[name]) else None
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def params(self) -> pd.Series:
        return pd.Series({"effect": self.estimate}, name="estimate")

    @property
    def std_errors(self) -> pd.Series:
        return pd.Series({"effect": self.std_error}, name="std_error")

    def conf_int(self) -> pd.DataFrame:
        return pd.DataFrame({"lower": [self.ci_low], "upper": [self.ci_high]}, index=["effect"])

    def summary(self) -> pd.DataFrame:
        """One row: estimate, its SE and what kind it is, interval, p-value (one format) and the inference."""
        from .._display import estimate_row, frame

        return frame([estimate_row(self)])

    def _repr_html_(self) -> str:
        from .._display import html_table

        return html_table(self.summary(), "Estimate")

    def plot(self):
        """The estimate and its interval; returns the matplotlib Figure."""
        from .._display import interval_figure

        return interval_figure([("estimate", self.estimate, self.ci_low, self.ci_high, None)])

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "estimate": self.estimate, "std_error": self.std_error, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "ci_level": self.ci_level, "p_value": self.p_value, "p_value_two_sided": self.p_value_two_sided,
            "df": self.df, "n": self.n, "n_clusters": self.n_clusters, "se_type": self.se_type,
            "counts": dict(self.counts), "extras": dict(self.extras),
        })


_ESTIMATE_FLOATS = ("estimate", "std_error", "ci_low", "ci_high", "ci_level", "p_value", "p_value_two_sided")


def _pick(kind: type, record: Mapping[str, Any]) -> dict[str, Any]:
    import dataclasses

    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in record.items() if k in names}


def _as_float(value: Any) -> float:
    return float("nan") if value is None else value


def _fill_required(kind: type, fields: dict[str, Any]) -> dict[str, Any]:
    import dataclasses

    for f in dataclasses.fields(kind):  # keys an older results.json lacks
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            fields.setdefault(f.name, None)
    return fields


@dataclass(frozen=True)
class HypothesisResult(_Picklable):
    id: str
    title: str
    type: str
    direction: str
    estimator: str
    outcome: str
    source: str
    spec_file: str
    status: str
    verdict: str | None
    reason: str | None = None
    verdict_reason: str | None = None
    result: EstimateResult | None = None
    alpha: float | None = None
    tails: str | None = None
    sesoi: float | None = None
    family: str | None = None
    # Preregistration (oca_experiments/prereg): ``type`` above is the effective type the lock allows; these say why.
    spec_id: str | None = None  # the spec's id; differs from ``id`` for an amended variant (``<id>__amended``)
    declared_type: str | None = None  # what the YAML says
    registered_type: str | None = None  # what the registry lock says (None: not locked)
    confirmatory: bool | None = None  # enters a confirmatory multiple-testing family (None: not evaluated)
    lock_status: str | None = None  # locked_unchanged, changed_with_deviation, unregistered, ... (prereg/_status.py)
    variant: str | None = None  # registered | amended | unregistered
    changes: tuple[Mapping[str, Any], ...] = ()  # fields changed since the lock: {field, before, after}
    equivalence: str | None = None  # ROPE reading against the registered SESOI (summarize/_verdict.py)
    equivalence_reason: str | None = None
    # Registered requirements checked before estimation, with the rows each rule excluded (contracts/_testability.py)
    testability: Mapping[str, Any] | None = None
    # An unexpected error inside an estimator: its class only (the message could quote data). The run isolates it.
    error_class: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def _number(self, name: str) -> Any:
        return getattr(self.result, name) if self.result is not None else None

    def summary(self) -> pd.DataFrame:
        """One row: identity, verdict, and the estimate with the inference that produced its numbers."""
        from .._display import frame, hypothesis_row

        return frame([hypothesis_row(self)])

    def _repr_html_(self) -> str:
        from .._display import html_table

        return html_table(self.summary(), f"{self.title} ({self.id})")

    def plot(self):
        """The event study, the counterfactual paths or the interval, whichever this result has; a Figure."""
        from .._display import hypothesis_figure

        return hypothesis_figure(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> HypothesisResult:
        """One results.json hypothesis record, read back with its estimate's parts typed (the inverse of
        ``to_dict``; keys an older results.json lacks read as None, extra keys are ignored)."""
        fields = _pick(HypothesisResult, record)
        fields.pop("result", None)
        result = None
        if record.get("status") == "estimated":
            numbers = _pick(EstimateResult, record)
            numbers.update({k: _as_float(numbers.get(k)) for k in _ESTIMATE_FLOATS})
            numbers.setdefault("counts", {})
            numbers.setdefault("extras", {})
            result = EstimateResult(**_fill_required(EstimateResult, numbers))
        return cls(**_fill_required(HypothesisResult, fields), result=result)

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        record: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "estimate": self._number("estimate"),
            "std_error": self._number("std_error"),
            "ci_low": self._number("ci_low"),
            "ci_high": self._number("ci_high"),
            "p_value": self._number("p_value"),
            "n": self._number("n"),
            "n_clusters": self._number("n_clusters"),
            "estimator": self.estimator,
            "verdict": self.verdict,
            "title": self.title,
            "type": self.type,
            "direction": self.direction,
            "outcome": self.outcome,
            "source": self.source,
            "spec_file": self.spec_file,
            "reason": self.reason,
            "verdict_reason": self.verdict_reason,
            "alpha": self.alpha,
            "tails": self.tails,
            "sesoi": self.sesoi,
            "family": self.family,
            "spec_id": self.spec_id,
            "declared_type": self.declared_type,
            "registered_type": self.registered_type,
            "confirmatory": self.confirmatory,
            "lock_status": self.lock_status,
            "variant": self.variant,
            "changes": [dict(c) for c in self.changes],
            "equivalence": self.equivalence,
            "equivalence_reason": self.equivalence_reason,
            "ci_level": r.ci_level if r else None,
            "p_value_two_sided": r.p_value_two_sided if r else None,
            "df": r.df if r else None,
            "se_type": r.se_type if r else None,
            "counts": dict(r.counts) if r else dict((self.testability or {}).get("counts") or {}),
            "extras": dict(r.extras) if r else {},
            "testability": self.testability,
        }
        if self.error_class is not None:  # only on failed hypotheses, so healthy runs' results.json is unchanged
            record["error_class"] = self.error_class
        return _clean(record)


def multiple_testing_families(hypotheses: Iterable[Any]) -> dict[str, dict[str, list[str]]]:
    """Result ids per multiple-testing family, confirmatory and exploratory apart (the preregistration firewall).

    Only results the registry lock makes confirmatory (``confirmatory is True``) enter a confirmatory family;
    everything else (unregistered, amended, registered as exploratory) is grouped under "exploratory" and must
    never be adjusted together with confirmatory results. A result without a family is a family of one (its id).
    Accepts ``HypothesisResult`` objects or results.json records.
    """
    families: dict[str, dict[str, list[str]]] = {"confirmatory": {}, "exploratory": {}}
    for record in hypotheses:
        get = record.get if isinstance(record, Mapping) else lambda key, r=record: getattr(r, key, None)
        side = "confirmatory" if get("confirmatory") is True else "exploratory"
        families[side].setdefault(get("family") or get("id"), []).append(get("id"))
    return families


def _tidy_rows(hypotheses: tuple[HypothesisResult, ...]) -> pd.DataFrame:
    """``se_type`` is the kind of the ``std_error`` beside it; ``inference`` the method that produced the interval
    and the p-value (they differ when the few-cluster rule makes the wild bootstrap primary: CR1 SE, wild CI)."""
    from .._display import inference_method, std_error_type

    columns = ["id", "title", "type", "status", "estimate", "std_error", "ci_low", "ci_high", "p_value", "n",
               "n_clusters", "estimator", "se_type", "inference", "verdict", "reason"]
    rows = []
    for h in hypotheses:
        record = h.to_dict()
        extras = h.result.extras if h.result is not None else {}
        record["inference"] = inference_method(record.get("se_type"), extras) if h.result is not None else None
        record["se_type"] = std_error_type(record.get("se_type"), extras) if h.result is not None else None
        rows.append({k: record.get(k) for k in columns})
    frame = pd.DataFrame(rows, columns=columns)
    for col in ("estimate", "std_error", "ci_low", "ci_high", "p_value"):
        frame[col] = pd.to_numeric(frame[col]).astype("float64")
    for col in ("n", "n_clusters"):
        frame[col] = pd.array(frame[col], dtype="Int64")
    return frame


@dataclass(frozen=True)
class ValidationResult(_Picklable):
    """Contracts and preflight checks of a study's data; nothing estimated."""

    study: str
    contracts: tuple[Mapping[str, Any], ...]
    data: Mapping[str, Mapping[str, Any]]
    problems: tuple[str, ...] = ()
    testability: tuple[Mapping[str, Any], ...] = ()  # one record per hypothesis whose data was checked

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _freeze(self.data))

    @property
    def ok(self) -> bool:
        return (not self.problems and all(c.get("passed") for c in self.contracts)
                and all(t.get("testable") for t in self.testability))

    def tidy(self) -> pd.DataFrame:
        rows = [{"source": c.get("source"), "suite": c.get("suite"), "passed": c.get("passed"),
                 "n_expectations": c.get("n_expectations"), "n_evaluated": c.get("n_evaluated"),
                 "n_failures": len(c.get("failures", ()))} for c in self.contracts]
        return pd.DataFrame(rows, columns=["source", "suite", "passed", "n_expectations", "n_evaluated",
                                           "n_failures"])

    def to_dict(self) -> dict[str, Any]:
        return _clean({"study": self.study, "ok": self.ok, "problems": list(self.problems),
                       "contracts": [dict(c) for c in self.contracts], "data": dict(self.data),
                       "testability": [dict(t) for t in self.testability]})


@dataclass(frozen=True)
class RunResult(_Picklable):
    """Every hypothesis of one study run. Index it by hypothesis id: ``run["h1_horizontal_trust"]``."""

    study: str
    oca_version: str
    hypotheses: tuple[HypothesisResult, ...]
    contracts: tuple[Mapping[str, Any], ...]
    data: Mapping[str, Mapping[str, Any]]
    #: One record per multiple-testing family: raw, Holm, BH and Romano-Wolf p-values (summarize/_multiple.py).
    multiple_testing: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", _freeze(self.data))
        object.__setattr__(self, "multiple_testing", tuple(_freeze(f) for f in self.multiple_testing))

    def __getitem__(self, hypothesis_id: str) -> HypothesisResult:
        for h in self.hypotheses:
            if h.id == hypothesis_id:
                return h
        raise KeyError(f"no hypothesis '{hypothesis_id}'; known: {', '.join(h.id for h in self.hypotheses)}")

    def __iter__(self) -> Iterator[HypothesisResult]:
        return iter(self.hypotheses)

    def __len__(self) -> int:
        return len(self.hypotheses)

    def tidy(self) -> pd.DataFrame:
        return _tidy_rows(self.hypotheses)

    def summary(self) -> pd.DataFrame:
        """One row per hypothesis: verdict, estimate, interval, p-value in one format, and the inference."""
        from .._display import frame, hypothesis_row

        return frame([hypothesis_row(h) for h in self.hypotheses])

    def _repr_html_(self) -> str:
        from .._display import html_table

        return html_table(self.summary(), f"{self.study}: {len(self.hypotheses)} hypotheses")

    def plot(self):
        """Every estimate with its interval, one small panel each on its own scale; returns the Figure."""
        from .._display import interval_figure

        return interval_figure([(h.title, h.result.estimate, h.result.ci_low, h.result.ci_high, h.sesoi)
                                for h in self.hypotheses if h.result is not None])

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> RunResult:
        """Rebuild a read-only ``RunResult`` from results.json (the inverse of ``to_dict``; the estimator parts in
        each ``extras`` are read into their types)."""
        return cls(study=payload.get("study") or "", oca_version=payload.get("oca_version") or "",
                   hypotheses=tuple(HypothesisResult.from_dict(record) for record in payload.get("hypotheses") or []),
                   contracts=tuple(payload.get("contracts") or ()), data=payload.get("data") or {},
                   multiple_testing=tuple(payload.get("multiple_testing") or ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "study": self.study,
            "oca_version": self.oca_version,
            "hypotheses": [h.to_dict() for h in self.hypotheses],
            "contracts": _clean([dict(c) for c in self.contracts]),
            "data": _clean(dict(self.data)),
            "families": multiple_testing_families(self.hypotheses),
            "multiple_testing": _clean([dict(f) for f in self.multiple_testing]),
        }
