"""Typed, frozen parts of an estimate: what estimators hand to the summaries, the plots and the report.

Each part is a frozen dataclass read by attribute (``result.inference.rule.fired``,
``result.posterior.p_gt_0``, ``result.attrition.differential_test.p_value``). ``to_dict()`` gives the JSON record
results.json has always carried under the part's key in ``extras``; ``from_dict()`` reads it back, and
``from_dict(d).to_dict() == d`` for every record (tests/unit/test_result_parts.py): keys keep their order, a key
that was absent stays absent, and keys a part does not model are kept in ``other`` and written back last, so a
producer adding a key never loses it (the test on the demo checks that ``other`` stays empty there).

Parts built in code (not read from a dict) write every field that is not None, in field order.

A part is also a read-only ``dict`` holding its record (``part["p_gt_0"] == part.to_dict()["p_gt_0"]``), so
older notebooks, ``json`` and pandas that read ``extras`` records as dicts keep working (backward compatibility
only); the package's report, summaries and plots read attributes (tests/unit/report/test_sections.py guards the
report). A
record key that is not a valid attribute name (``items`` shadows ``dict.items``) is a field with ``metadata={"key":
...}``.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

__all__ = [
    "EXTRAS_TYPES", "PART_TYPES", "Attrition", "AttritionArm", "AttritionTest", "BalanceCell", "BalanceRow",
    "Diagnostics", "DiagnosticsRow", "DiagnosticsThresholds", "DisaggregationCell", "DisaggregationTable",
    "DosePoint", "EffectInterval", "EventStudy", "ExposureResponse", "FewClusterRule", "GroupEffect",
    "IndexConstruction", "InferenceAlternative", "InferenceRecord", "InvarianceFit", "LeeBounds",
    "MeasurementInvariance", "Part", "PosteriorSummary", "ReliabilityRecord", "Spillover", "SurveyWeightsRecord",
    "UnitChange", "UnitEffect", "WeightMargin", "WeightTrimBounds", "WeightWave", "lift_parts",
    # estimator-specific parts
    "NOT_IN_DEMO", "SCALAR_EXTRAS", "ATTgt", "AggregateEffect", "Aggregations", "ArtifactPaths", "BaconComparison",
    "BaconDecomposition", "BaconKind", "CampaignEffect", "CohortCell", "CohortEffect", "CohortShare",
    "CounterfactualPath", "CumulativeEffect", "DecisionRule", "HonestRestriction", "HonestSensitivity",
    "FewTreatedRule", "ItsByCampaign", "MultiplierBootstrap", "NegativeWeights", "PlaceboInTime", "PointwiseEffects",
    "PretrendTest", "PriorPredictiveCheck", "PriorRecord", "PriorSensitivityRow", "RawMeans", "Regularisation",
    "RawMeansCell", "Resampling", "SamplerSettings", "SensitivityRow", "SkippedUnit", "StaggeredCheck",
    "Standardisation", "SyntheticComparisonEstimate", "SyntheticTrajectory", "TwfeComparison", "Weight",
]

_P = TypeVar("_P", bound="Part")
_READING = threading.local()  # the record from_dict is reading, for the part's __post_init__


def _read_only(self: Any, *args: Any, **kwargs: Any) -> Any:
    raise TypeError(f"{type(self).__name__} is read-only (a frozen result part)")


def _rebuild(cls: type[_P], record: dict[str, Any]) -> _P:
    return cls.from_dict(record)


@dataclass(frozen=True)
class Part(dict):  # type: ignore[type-arg]
    """Base of every part: exact dict round trip, and a read-only dict of the record (module docstring)."""

    #: The ``extras`` key the part lives under in results.json (top-level parts only).
    KEY: ClassVar[str | None] = None

    other: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    key_order: tuple[str, ...] | None = field(default=None, kw_only=True, repr=False, compare=False)

    def __post_init__(self) -> None:
        record = getattr(_READING, "record", None)
        _READING.record = None
        # Read from a record: that record is the dict (equal to to_dict() by construction, and cheaper).
        dict.update(self, record if record is not None else self.to_dict())

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy through the record (dict's own way would write)
        return (_rebuild, (type(self), dict(self)))

    @classmethod
    def from_dict(cls: type[_P], data: Mapping[str, Any]) -> _P:
        fields_by_key = _fields_by_key(cls)
        hints = _hints(cls)
        values: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for key, value in dict.items(data) if isinstance(data, dict) else data.items():
            name = fields_by_key.get(key)
            if name is not None:
                values[name] = _load(hints[name], value)
            else:
                other[key] = value
        _READING.record = data
        try:
            return cls(**values, other=other, key_order=tuple(data))
        finally:
            _READING.record = None

    def to_dict(self) -> dict[str, Any]:
        keys = _keys_by_field(type(self))
        if self.key_order is not None:
            by_key = {key: name for name, key in keys.items()}
            order = [k for k in self.key_order if k in by_key or k in self.other]
            order += [k for k in self.other if k not in order]
        else:
            by_key = {key: name for name, key in keys.items()}
            order = [keys[n] for n in keys if getattr(self, n) is not None] + list(self.other)
        return {key: _dump(getattr(self, by_key[key]) if key in by_key else self.other[key]) for key in order}


@functools.cache
def _keys_by_field(cls: type) -> dict[str, str]:
    """field name -> record key, in field order."""
    return {f.name: f.metadata.get("key", f.name) for f in dataclasses.fields(cls)
            if f.name not in ("other", "key_order")}


@functools.cache
def _fields_by_key(cls: type) -> dict[str, str]:
    return {key: name for name, key in _keys_by_field(cls).items()}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {name: hints[name] for name in _keys_by_field(cls)}


def _part_type(annotation: Any) -> type[Part] | None:
    """The Part class in ``X``, ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, Part):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _part_type(arg)
            if found is not None:
                return found
    return None


def _holds_parts(annotation: Any) -> bool:
    """Whether values of this type are (or contain, through mappings) parts: ``X``, ``Mapping[str, X]``, ..."""
    if _part_type(annotation) is not None:
        return True
    args = typing.get_args(annotation)
    return typing.get_origin(annotation) in (Mapping, dict) and len(args) == 2 and _holds_parts(args[1])


def _load(annotation: Any, value: Any) -> Any:
    return _loader(annotation)(value)


def _keep(value: Any) -> Any:
    return value


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


@functools.cache
def _loader(annotation: Any) -> Callable[[Any], Any]:
    """How a record value of this field type is read (worked out once per type: runs build many results)."""
    part = _part_type(annotation)
    if part is not None:
        def read_part(value: Any) -> Any:
            return part.from_dict(value) if isinstance(value, Mapping) and not isinstance(value, Part) else value
        return read_part
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):  # e.g. Mapping[...] | None, tuple[...] | None
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) != 1:
            return _keep
        read_inner = _loader(inner[0])
        if read_inner is _keep:
            return _keep
        return lambda value: read_inner(value) if value is not None else value
    args = typing.get_args(annotation)
    if origin in (Mapping, dict) and len(args) == 2 and _holds_parts(args[1]):
        read_item = _loader(args[1])
        return lambda value: ({k: read_item(v) for k, v in value.items()}
                              if isinstance(value, Mapping) and not isinstance(value, Part) else value)
    if origin is tuple and args and _part_type(args[0]):
        read_item = _loader(args[0])
        return lambda value: tuple(read_item(v) for v in value) if isinstance(value, (list, tuple)) else value
    if origin is tuple:
        return _as_tuple
    return _keep


def _dump(value: Any) -> Any:
    if isinstance(value, Part):
        return dict(value)
    if isinstance(value, Mapping):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    return value


# --------------------------------------------------------------------------- inference (survey estimators)


@dataclass(frozen=True)
class FewClusterRule(Part):
    """The few-cluster rule's record: whether it replaced the registered SE type, and why."""

    name: str | None = None
    threshold: int | None = None
    method: str | None = None
    n_clusters: int | None = None
    registered_se: str | None = None
    fired: bool | None = None
    #: False when the rule refuses the design (e.g. too few clusters in an arm); then ``method`` is "refuse"
    valid: bool | None = None
    arm_below: int | None = None
    clusters_treated: int | None = None
    clusters_comparison: int | None = None
    satterthwaite_df: float | None = None
    conservative: bool | None = None
    tier: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class InferenceAlternative(Part):
    """One inference computed beside the primary one (analytic SE types, wild bootstrap, randomization, ...)."""

    std_error: float | None = None
    df: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    p_value: float | None = None
    p_value_two_sided: float | None = None
    error: str | None = None
    # resampling (wild bootstrap, randomization inference, percentile bootstrap)
    draws: int | None = None
    weights: str | None = None
    seed: int | None = None
    enumerated: bool | None = None
    t_stat: float | None = None
    type: str | None = None
    blocks: str | None = None
    possible_assignments: int | None = None
    statistic: str | None = None
    resampled: str | None = None
    usable_draws: int | None = None
    assignments: int | None = None
    smallest_possible_p: float | None = None
    interval: str | None = None
    note: str | None = None
    sesoi_interval: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class InferenceRecord(Part):
    """``extras.inference``: the primary inference, the rule that chose it, every alternative."""

    KEY: ClassVar[str | None] = "inference"

    primary: str | None = None
    registered_se: str | None = None
    rule: FewClusterRule | None = None
    df: float | None = None
    alternatives: Mapping[str, InferenceAlternative] | None = None
    estimate: float | None = None
    delta_method: str | None = None
    design_effect: float | None = None
    effective_n: float | None = None
    null_share: float | None = None
    #: the 1 - 2 alpha interval of the primary inference, for the equivalence reading
    sesoi_interval: tuple[float | None, ...] | None = None
    #: the null the p-value tests when it is not zero (shares: the registered null share)
    null: float | None = None
    std_error_note: str | None = None
    statement: str | None = None
    wave: str | None = None

    @property
    def primary_interval(self) -> tuple[float, float] | None:
        interval = self.sesoi_interval
        if not interval or any(v is None for v in interval):
            return None
        return (float(interval[0]), float(interval[1]))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- attrition


@dataclass(frozen=True)
class AttritionArm(Part):
    baseline_n: int | None = None
    stayers: int | None = None
    leavers: int | None = None
    rate: float | None = None
    display: str | None = None  # set when suppressed


@dataclass(frozen=True)
class AttritionTest(Part):
    what: str | None = None
    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    inference: str | None = None
    rule_fired: bool | None = None
    error: str | None = None
    note: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class BalanceCell(Part):
    n: int | None = None
    mean: float | None = None
    display: str | None = None


@dataclass(frozen=True)
class BalanceRow(Part):
    variable: str | None = None
    cells: Mapping[str, BalanceCell] | None = None
    selective_attrition_p_value: float | None = None
    selective_attrition_error: str | None = None


@dataclass(frozen=True)
class LeeBounds(Part):
    outcome: str | None = None
    lower: float | None = None
    upper: float | None = None
    trim_share: float | None = None
    trimmed_arm: str | None = None
    se_lower: float | None = None
    se_upper: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    interval: str | None = None
    draws: int | None = None
    seed: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Attrition(Part):
    """``extras.attrition``: leavers by arm, the differential-attrition test, stayer/leaver balance, Lee bounds."""

    KEY: ClassVar[str | None] = "attrition"

    unit_of_count: str | None = None
    no_attrition: bool | None = None
    by_arm: Mapping[str, AttritionArm] | None = None
    leaver_definition: str | None = None
    note: str | None = None
    differential_test: AttritionTest | None = None
    balance: tuple[BalanceRow, ...] | None = None
    lee_bounds: LeeBounds | None = None
    suppressed: str | None = None
    error: str | None = None


# --------------------------------------------------------------------------- event study (staggered adoption)


@dataclass(frozen=True)
class EventStudy(Part):
    """``extras.event_study``: effects by event time with pointwise CIs and a uniform (sup-t) band."""

    KEY: ClassVar[str | None] = "event_study"

    event_time: tuple[int, ...] | None = None
    estimate: tuple[float | None, ...] | None = None
    std_error: tuple[float | None, ...] | None = None
    ci_low: tuple[float | None, ...] | None = None
    ci_high: tuple[float | None, ...] | None = None
    band_low: tuple[float | None, ...] | None = None
    band_high: tuple[float | None, ...] | None = None
    uniform_critical_value: float | None = None
    period: str | None = None
    #: TWFE and Sun-Abraham event studies: the omitted event time, the SE type of the table, how the band was got
    reference: int | None = None
    se_type: str | None = None
    band: str | None = None

    @property
    def has_band(self) -> bool:
        """Whether a uniform band was computed (Sun-Abraham's interaction-weighted event study has none)."""
        return bool(self.band_low) and bool(self.band_high)


# --------------------------------------------------------------------------- Bayesian


@dataclass(frozen=True)
class PosteriorSummary(Part):
    """``extras.posterior``: the registered target's posterior and the probabilities the decision rule reads."""

    KEY: ClassVar[str | None] = "posterior"

    mean: float | None = None
    median: float | None = None
    sd: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    interval: str | None = None
    mcse_mean: float | None = None
    p_gt_0: float | None = None
    p_lt_0: float | None = None
    n_draws: int | None = None
    sesoi: float | None = None
    p_gt_sesoi: float | None = None
    p_lt_minus_sesoi: float | None = None
    rope: tuple[float | None, ...] | None = None
    p_in_rope: float | None = None
    rope_decision: str | None = None


@dataclass(frozen=True)
class DiagnosticsRow(Part):
    parameter: str | None = None
    size: int | None = None
    mean: float | None = None
    sd: float | None = None
    max_rhat: float | None = None
    min_ess_bulk: float | None = None
    min_ess_tail: float | None = None


@dataclass(frozen=True)
class DiagnosticsThresholds(Part):
    max_rhat: float | None = None
    min_ess_bulk: float | None = None
    min_ess_tail: float | None = None
    max_divergences: int | None = None
    min_bfmi: float | None = None
    max_treedepth_hits: int | None = None


@dataclass(frozen=True)
class Diagnostics(Part):
    """``extras.diagnostics``: the sampler gate (R-hat, ESS, divergences, BFMI) the Bayesian verdict obeys."""

    KEY: ClassVar[str | None] = "diagnostics"

    passed: bool | None = None
    failures: tuple[str, ...] | None = None
    table: tuple[DiagnosticsRow, ...] | None = None
    divergences: int | None = None
    chains: int | None = None
    draws_per_chain: int | None = None
    bfmi: tuple[float | None, ...] | None = None
    thresholds: DiagnosticsThresholds | None = None
    notes: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- outcome, subgroups, per-unit effects


@dataclass(frozen=True)
class ReliabilityRecord(Part):
    """One wave's internal consistency of a multi-item outcome (``extras.reliability``, one per wave)."""

    wave: str | None = None
    n: int | None = None
    n_items: int | None = field(default=None, metadata={"key": "items"})
    alpha: float | None = None
    alpha_ci: tuple[float | None, ...] | None = None
    omega: float | None = None
    omega_ci: tuple[float | None, ...] | None = None
    loadings: tuple[float | None, ...] | None = None
    ci_level: float | None = None
    method: str | None = None
    draws: int | None = None
    seed: int | None = None
    threshold: float | None = None
    below_threshold: bool | None = None
    note: str | None = None


@dataclass(frozen=True)
class InvarianceFit(Part):
    """One level (configural, metric, scalar) of a multi-group CFA: fit, change from the level below, decision."""

    level: str | None = None
    chisq: float | None = None
    df: int | None = None
    p_value: float | None = None
    cfi: float | None = None
    tli: float | None = None
    rmsea: float | None = None
    rmsea_ci: tuple[float | None, ...] | None = None  # 90% CI
    srmr: float | None = None
    delta_chisq: float | None = None
    delta_df: int | None = None
    delta_p_value: float | None = None
    delta_cfi: float | None = None
    delta_rmsea: float | None = None
    delta_srmr: float | None = None
    #: configural: fit acceptable; metric/scalar: the change criteria do not reject it (and the level below holds)
    holds: bool | None = None
    converged: bool | None = None
    loadings: Mapping[str, tuple[float | None, ...]] | None = None  # group -> loadings (marker item 1 = 1)
    intercepts: Mapping[str, tuple[float | None, ...]] | None = None
    factor_means: Mapping[str, float | None] | None = None
    #: partial scalar level only: the item whose intercepts are free across groups
    free_intercept: str | None = None


@dataclass(frozen=True)
class MeasurementInvariance(Part):
    """``extras.invariance``: is the index comparable across arms and waves (multi-group CFA, beside reliability)?"""

    groups: tuple[str, ...] | None = None
    group_n: tuple[int, ...] | None = None
    item_names: tuple[str, ...] | None = None
    levels: tuple[InvarianceFit, ...] | None = None
    #: "comparable" (scalar), "only metric" (compare associations, not means), "not comparable"; None: not tested
    verdict: str | None = None
    comparable_means: bool | None = None
    warning: str | None = None
    #: when scalar fails: the scalar model with the best single item's intercepts freed, against metric
    partial_scalar: InvarianceFit | None = None
    criterion: str | None = None
    #: the change cut-offs applied: delta CFI, delta RMSEA, delta SRMR (metric), delta SRMR (scalar)
    cutoffs: tuple[float, ...] | None = None
    method: str | None = None
    note: str | None = None

    def level(self, name: str) -> InvarianceFit | None:
        return next((fit for fit in self.levels or () if fit.level == name), None)


@dataclass(frozen=True)
class IndexConstruction(Part):
    """``extras.index``: how a z-score or ICW index was built (reference group, item moments, weights)."""

    method: str | None = None
    min_items: int | None = None
    reference_group: str | None = None
    item_means: Mapping[str, float | None] | None = None
    item_sds: Mapping[str, float | None] | None = None
    index_mean: float | None = None
    index_sd: float | None = None
    weights: Mapping[str, float | None] | None = None


@dataclass(frozen=True)
class DisaggregationCell(Part):
    """One level of a disaggregation table; suppressed cells carry None numbers and a ``display`` text."""

    level: str | None = None
    n: int | None = None
    status: str | None = None
    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    inference: str | None = None
    n_clusters: int | None = None
    reason: str | None = None
    display: str | None = None


@dataclass(frozen=True)
class DisaggregationTable(Part):
    """``extras.disaggregation``: the registered estimator per level of one column, small cells suppressed."""

    dimension: str | None = None
    unit: str | None = None
    threshold: int | None = None
    rows: tuple[DisaggregationCell, ...] | None = None
    total: DisaggregationCell | None = None
    suppressed: int | None = None
    note: str | None = None  # ``by_group``: what the per-group table is for


@dataclass(frozen=True)
class GroupEffect(Part):
    """A ``by`` contrast's effect in one group (``extras.effect_by_group``); hidden when a group is small."""

    estimate: float | None = None
    std_error: float | None = None
    n: int | None = None
    suppressed: bool | None = None
    display: str | None = None


@dataclass(frozen=True)
class UnitEffect(PosteriorSummary):
    """A Bayesian model's posterior for one group (CSO) or unit (page): ``extras.group_effects``/``unit_effects``."""

    weight: float | None = None  # the group's weight in the portfolio target
    group: str | None = None  # the unit's group
    start: str | None = None  # the unit's campaign start


# --------------------------------------------------------------------------- survey weights


@dataclass(frozen=True)
class WeightTrimBounds(Part):
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class WeightWave(Part):
    """One wave's raked weights: Kish effective n and design effect, spread, sweeps, trimming, margin error."""

    wave: str | None = None
    n: int | None = None
    effective_n: float | None = None
    design_effect: float | None = None
    weight_ratio_min: float | None = None
    weight_ratio_max: float | None = None
    weight_cv: float | None = None
    sweeps: int | None = None
    trimmed: int | None = None
    max_margin_error: float | None = None


@dataclass(frozen=True)
class WeightMargin(Part):
    """One margin category in one wave: registered population share, the sample's and the weighted share;
    a category below the suppression threshold carries None numbers and a ``display`` text."""

    wave: str | None = None
    column: str | None = None
    category: str | None = None
    population_share: float | None = None
    n: int | None = None
    sample_share: float | None = None
    weighted_share: float | None = None
    suppressed: bool | None = None
    display: str | None = None


@dataclass(frozen=True)
class SurveyWeightsRecord(Part):
    """``extras.survey_weights``: the registered weights as applied (estimators/_weights.py): method, Kish effective
    sample size and design effect over all rows and per wave, weight spread and trimming, the margin table."""

    KEY: ClassVar[str | None] = "survey_weights"

    method: str | None = None
    margins_as: str | None = None
    design_weight: str | None = None
    columns: tuple[str, ...] | None = None
    n: int | None = None
    effective_n: float | None = None
    design_effect: float | None = None
    weight_ratio_min: float | None = None
    weight_ratio_max: float | None = None
    weight_cv: float | None = None
    trim: WeightTrimBounds | None = None
    waves: tuple[WeightWave, ...] | None = None
    margins: tuple[WeightMargin, ...] | None = None
    variance: str | None = None
    suppressed: int | None = None


# --------------------------------------------------------------------------- portfolio: exposure and spillover


@dataclass(frozen=True)
class EffectInterval(Part):
    """A secondary effect of a regression beside the target (e.g. the average ATT), with its interval."""

    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    df: float | None = None
    se_type: str | None = None
    p_value: float | None = None


@dataclass(frozen=True)
class DosePoint(Part):
    """The estimated ATT(d) at one dose, with its pointwise interval."""

    dose: float | None = None
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class UnitChange(Part):
    """One unit (community) of a community-level regression: arm, respondents, dose or group (never its outcome)."""

    unit: str | None = None
    treated: bool | None = None
    n: int | None = None
    dose: float | None = None
    group: str | None = None  # spillover: treated, near or far


@dataclass(frozen=True)
class ExposureResponse(Part):
    """``extras.exposure_response``: the dose-response (continuous-treatment DiD) estimate and its assumptions."""

    KEY: ClassVar[str | None] = "exposure_response"

    measure: str | None = None
    source: str | None = None
    window: tuple[str | None, ...] | None = None
    key: tuple[str | None, ...] | None = None  # (outcome source column, exposure source column)
    unit: str | None = None
    scale: float | None = None
    curve: str | None = None
    knots: tuple[float, ...] | None = None
    estimand: str | None = None
    mean_dose: float | None = None
    dose_range: tuple[float | None, ...] | None = None
    dose_levels: int | None = None
    treated_units: int | None = None
    comparison_units: int | None = None
    #: the ATT averaged over the treated units (the binary DiD of the unit changes), whatever the curve's shape
    average_att: EffectInterval | None = None
    points: tuple[DosePoint, ...] | None = None
    units: tuple[UnitChange, ...] | None = None
    assumptions: tuple[str, ...] | None = None
    notes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Spillover(Part):
    """``extras.spillover``: near- vs far-comparison contrast, the spillover-robust effect, and whether the data can
    rule spillover out."""

    KEY: ClassVar[str | None] = "spillover"

    rule: str | None = None
    unit: str | None = None
    near_units: int | None = None
    far_units: int | None = None
    treated_units: int | None = None
    treated_vs_far: EffectInterval | None = None
    treated_vs_all_comparison: EffectInterval | None = None
    ruled_out: bool | None = None
    note: str | None = None
    units: tuple[UnitChange, ...] | None = None
    assumptions: tuple[str, ...] | None = None


# --------------------------------------------------------------------------- staggered adoption (Callaway-Sant'Anna)


@dataclass(frozen=True)
class ATTgt(Part):
    """``extras.att_gt``: every group-time ATT(g, t) cell, one entry per cell in each column."""

    cohort: tuple[str, ...] | None = None
    period: tuple[str, ...] | None = None
    event_time: tuple[int, ...] | None = None
    att: tuple[float | None, ...] | None = None
    std_error: tuple[float | None, ...] | None = None
    n_treated: tuple[int, ...] | None = None
    n_comparison: tuple[int, ...] | None = None


@dataclass(frozen=True)
class AggregateEffect(Part):
    """One aggregation of the ATT(g, t) cells into a single number."""

    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class Aggregations(Part):
    """``extras.aggregations``: the simple, dynamic (event-time), group and calendar aggregations."""

    simple: AggregateEffect | None = None
    event_time: AggregateEffect | None = None
    group: AggregateEffect | None = None
    calendar: AggregateEffect | None = None


@dataclass(frozen=True)
class PretrendTest(Part):
    """``extras.pretrend_test``: joint tests that every pre-period event-time effect is zero."""

    n_estimates: int | None = None
    wald_stat: float | None = None
    wald_df: float | None = None
    wald_p_value: float | None = None
    sup_t_stat: float | None = None
    sup_t_p_value: float | None = None
    wald_note: str | None = None
    # the TWFE event study's test: F (Wald / q) with (q, df) degrees of freedom, or chi-squared with q
    available: bool | None = None
    reason: str | None = None
    statistic: float | None = None
    df: Any = None
    p_value: float | None = None
    test: str | None = None


@dataclass(frozen=True)
class TwfeComparison(Part):
    """``extras.twfe`` of the staggered estimators: the static TWFE coefficient beside the headline, with its share
    of negatively weighted cells (de Chaisemartin-D'Haultfoeuille)."""

    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    n_clusters: int | None = None
    negative_weights: int | None = None
    negative_weight_sum: float | None = None
    note: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class MultiplierBootstrap(Part):
    """``extras.bootstrap``: the multiplier bootstrap behind the uniform band and the sup-t pre-trend test."""

    draws: int | None = None
    seed: int | None = None
    weights: str | None = None
    clusters: int | None = None


@dataclass(frozen=True)
class CohortEffect(Part):
    """A staggered cohort's effect (``by_campaign`` of the staggered DiD; ``by_cohort`` of the PPML count model)."""

    cohort: str | None = None
    units: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class SensitivityRow(Part):
    """One value of the HonestDiD restriction's bound M: the identified set and the robust confidence set."""

    m: float | None = None
    id_low: float | None = None
    id_high: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    open_at_grid_end: bool | None = None
    note: str | None = None
    # older results.json (before the Rambachan-Roth confidence sets): a bias-widened interval per Mbar
    mbar: float | None = None
    bound_low: float | None = None
    bound_high: float | None = None
    excludes_zero: bool | None = None


@dataclass(frozen=True)
class HonestRestriction(Part):
    """One restriction's HonestDiD result (Delta^RM relative magnitudes or Delta^SD smoothness)."""

    available: bool | None = None
    reason: str | None = None
    restriction: str | None = None
    method: str | None = None
    target: str | None = None
    estimate: float | None = None
    std_error: float | None = None
    original_ci: tuple[float | None, ...] | None = None
    rows: tuple[SensitivityRow, ...] | None = None
    breakdown_value: float | None = None
    alpha: float | None = None
    notes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class HonestSensitivity(Part):
    """``extras.sensitivity``: HonestDiD (Rambachan and Roth 2023) bounds on the post-period effect when parallel
    trends fail by at most M times the pre-period violation (relative magnitudes) or bends by at most M
    (smoothness). ``bounds`` repeats the first restriction's rows."""

    available: bool | None = None
    reason: str | None = None
    event_times: tuple[int, ...] | None = None
    target: str | None = None
    base_period: str | None = None
    covariance: str | None = None
    relative_magnitudes: HonestRestriction | None = None
    smoothness: HonestRestriction | None = None
    bounds: tuple[SensitivityRow, ...] | None = None
    # older results.json (before the Rambachan-Roth confidence sets)
    estimate: float | None = None
    max_pre_period_change: float | None = None
    mean_horizon: float | None = None
    breakdown_mbar: float | None = None
    method: str | None = None
    seed: int | None = None


# --------------------------------------------------------------------------- TWFE: Bacon decomposition, Sun-Abraham


@dataclass(frozen=True)
class BaconComparison(Part):
    """One 2x2 comparison of the Goodman-Bacon (2021) decomposition: its DiD estimate and its weight in TWFE."""

    kind: str | None = None
    treated_cohort: Any = None
    control_cohort: Any = None
    estimate: float | None = None
    weight: float | None = None
    units: int | None = None
    periods: int | None = None


@dataclass(frozen=True)
class BaconKind(Part):
    """Total weight and weighted mean estimate of one kind of 2x2 comparison."""

    weight: float | None = None
    estimate: float | None = None


@dataclass(frozen=True)
class BaconDecomposition(Part):
    """``extras.bacon`` (static TWFE): the coefficient as a weighted mean of 2x2 DiDs, or why it does not apply."""

    available: bool | None = None
    reason: str | None = None
    staggered: bool | None = None
    twfe: float | None = None
    table: tuple[BaconComparison, ...] | None = None
    by_kind: Mapping[str, BaconKind] | None = None
    note: str | None = None


@dataclass(frozen=True)
class NegativeWeights(Part):
    """``extras.negative_weights`` (static TWFE): the implicit weights on treated cells, negative ones counted."""

    available: bool | None = None
    treated_cells: int | None = None
    negative: int | None = None
    negative_sum: float | None = None


@dataclass(frozen=True)
class CohortShare(Part):
    """Sun-Abraham: a treated cohort's size and its share of the treated units."""

    cohort: Any = None
    units: int | None = None
    share: float | None = None


@dataclass(frozen=True)
class CohortCell(Part):
    """Sun-Abraham: a cohort x event-time cell's interaction-weighting weight (``weight``) or its own estimate
    (``estimate``)."""

    cohort: Any = None
    event_time: int | None = None
    weight: float | None = None
    estimate: float | None = None


# --------------------------------------------------------------------------- interrupted time series


@dataclass(frozen=True)
class PlaceboInTime(Part):
    """A placebo campaign start inside the pre-period, where the true effect is zero."""

    available: bool | None = None
    reason: str | None = None
    estimate: float | None = None
    std_error: float | None = None
    p_value: float | None = None
    n_placebo_days: int | None = None
    n_placebo_periods: int | None = None
    placebo_start: str | None = None
    scale: str | None = None
    rejects_at_alpha: bool | None = None


@dataclass(frozen=True)
class CounterfactualPath(Part):
    """Observed and counterfactual series of one campaign, with the counterfactual band and pointwise effects."""

    dates: tuple[str, ...] | None = None
    observed: tuple[float | None, ...] | None = None
    counterfactual: tuple[float | None, ...] | None = None
    start_index: int | None = None
    lower: tuple[float | None, ...] | None = None
    upper: tuple[float | None, ...] | None = None
    bounds: tuple[float | None, ...] | None = None
    scale: str | None = None
    pointwise_effect: tuple[float | None, ...] | None = None
    pointwise_low: tuple[float | None, ...] | None = None
    pointwise_high: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class CampaignEffect(Part):
    """``extras.by_campaign``: one campaign's effect. ITS campaigns carry the unit, the counterfactual path and a
    placebo in time; staggered DiD campaigns are cohorts (``cohort``, ``units``, ``groups``)."""

    cohort: str | None = None
    units: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    unit: str | None = None
    group: str | None = None
    start: str | None = None
    band_note: str | None = None
    n_pre: int | None = None
    n_post: int | None = None
    estimate: float | None = None
    average_effect: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    cumulative_effect: float | None = None
    cumulative_ci_low: float | None = None
    cumulative_ci_high: float | None = None
    relative_effect: float | None = None
    relative_ci_low: float | None = None
    relative_ci_high: float | None = None
    relative_note: str | None = None
    placebo_in_time: PlaceboInTime | None = None
    params: Mapping[str, float | None] | None = None
    variances: Mapping[str, float | None] | None = None
    converged: bool | None = None
    components: Mapping[str, Any] | None = None
    path: CounterfactualPath | None = None


@dataclass(frozen=True)
class SkippedUnit(Part):
    unit: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ItsByCampaign(Part):
    """``extras.its_by_campaign`` (staggered DiD): the per-campaign ITS beside the headline, as a robustness check."""

    model: str | None = None
    campaigns: tuple[CampaignEffect, ...] | None = None
    skipped: tuple[SkippedUnit, ...] | None = None
    comparison_days_imputed: int | None = None
    comparison_periods_imputed: int | None = None
    regressors: tuple[str, ...] | None = None
    period: str | None = None
    seasonal: tuple[int, ...] | None = None
    intervention: str | None = None
    scale: str | None = None
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class FewTreatedRule(Part):
    """``extras.inference_rule`` (staggered DiD): with few treated units the p-value and interval come from a
    permutation of adoption dates over units rather than the influence function; ``permutation`` is its record."""

    treated_units: int | None = None
    comparison_units: int | None = None
    option: str | None = None
    permutation_below: int | None = None
    rule: str | None = None
    permutation: Mapping[str, Any] | None = None
    reason: str | None = None


@dataclass(frozen=True)
class StaggeredCheck(Part):
    """``extras.staggered_did`` (ITS): the Callaway-Sant'Anna estimate beside the ITS headline, as a robustness
    check, with its own cells, aggregations, cohorts, event study and pre-trend test."""

    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    model: str | None = None
    att_gt: ATTgt | None = None
    aggregations: Aggregations | None = None
    by_campaign: tuple[CohortEffect, ...] | None = None
    event_study: EventStudy | None = None
    pretrend_test: PretrendTest | None = None
    twfe: TwfeComparison | None = None
    bootstrap: MultiplierBootstrap | None = None
    pooled_variance_cohorts: tuple[str, ...] | None = None
    inference: str | None = None
    pooled_variance_note: str | None = None
    inference_rule: FewTreatedRule | None = None
    error: str | None = None
    reason: str | None = None


# --------------------------------------------------------------------------- synthetic DiD / synthetic control


@dataclass(frozen=True)
class Weight(Part):
    """One comparison unit's (or pre-period's) weight in the synthetic comparison."""

    label: str | None = None
    weight: float | None = None


@dataclass(frozen=True)
class SyntheticTrajectory(Part):
    """``extras.trajectory``: treated mean and its synthetic comparison per period, and the effect after the start."""

    periods: tuple[str, ...] | None = None
    treated: tuple[float | None, ...] | None = None
    synthetic: tuple[float | None, ...] | None = None
    start_index: int | None = None
    effect: tuple[float | None, ...] | None = None


@dataclass(frozen=True)
class SyntheticComparisonEstimate(Part):
    """``extras.comparison``: one of the three estimators of Arkhangelsky et al. (2021), Table 1."""

    estimator: str | None = None
    estimate: float | None = None
    std_error: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


@dataclass(frozen=True)
class Regularisation(Part):
    zeta_omega: float | None = None
    zeta_lambda: float | None = None
    noise_level: float | None = None
    omega_intercept: bool | None = None


@dataclass(frozen=True)
class Resampling(Part):
    replications: int | None = None
    seed: int | None = None
    assignments: str | None = None


# --------------------------------------------------------------------------- Bayesian settings and checks


@dataclass(frozen=True)
class PriorRecord(Part):
    """``extras.priors``: one prior, its registered scale and the default it replaced."""

    name: str | None = None
    scale: float | None = None
    default: float | None = None
    prior: str | None = None


@dataclass(frozen=True)
class SamplerSettings(Part):
    """``extras.sampler``: how the posterior was drawn (seeded), and the draws cache key."""

    seed: int | None = None
    chains: int | None = None
    draws: int | None = None
    tune: int | None = None
    target_accept: float | None = None
    backend: str | None = None
    draws_key: str | None = None
    draws_cache: str | None = None
    sampler: str | None = None


@dataclass(frozen=True)
class PriorPredictiveCheck(Part):
    """``extras.prior_predictive``: the share of prior predictive draws on the outcome's scale, and the verdict."""

    quantity: str | None = None
    scale: tuple[float | None, ...] | None = None
    share_on_scale: float | None = None
    passed: bool | None = None
    required: float | None = None
    quantiles: Mapping[str, float | None] | None = None
    note: str | None = None
    implied_share_q05_q95: tuple[float | None, ...] | None = None
    implied_category_share_q05_q95: Mapping[str, tuple[float | None, ...]] | None = None


@dataclass(frozen=True)
class PriorSensitivityRow(PosteriorSummary):
    """``extras.prior_sensitivity``: the target's posterior with every prior scale multiplied by the factor."""

    prior_scale_factor: float | None = None


@dataclass(frozen=True)
class CumulativeEffect(PosteriorSummary):
    """``extras.cumulative_effect`` (Bayesian ITS): the summed effect over the campaign periods, in ``units``."""

    units: str | None = None


@dataclass(frozen=True)
class DecisionRule(Part):
    """``extras.decision_rule``: the registered posterior-probability rule."""

    probability: float | None = None
    against: str | None = None


@dataclass(frozen=True)
class Standardisation(Part):
    baseline_sd: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class PointwiseEffects(Part):
    """``extras.pointwise_effect_by_day`` (Bayesian ITS): the effect per date, posterior median and interval."""

    dates: tuple[str, ...] | None = None
    low: tuple[float | None, ...] | None = None
    median: tuple[float | None, ...] | None = None
    high: tuple[float | None, ...] | None = None
    note: str | None = None


@dataclass(frozen=True)
class ArtifactPaths(Part):
    """``extras.artifacts``: run-directory paths of the files an estimate wrote (posterior, plots)."""

    inference_data: str | None = None
    ppc_plot: str | None = None
    prior_predictive_plot: str | None = None
    fit_plot: str | None = None


@dataclass(frozen=True)
class RawMeansCell(Part):
    """One arm x wave cell of the raw means: the mean and the units behind it (None when hidden)."""

    mean: float | None = None
    n: int | None = None
    suppressed: bool | None = None


@dataclass(frozen=True)
class RawMeans(Part):
    """``extras.raw_means`` (survey DiD): mean outcome and units per arm and wave (``arms[arm][wave]``); all four
    cells hidden (``suppressed``) when one is small."""

    waves: tuple[str, ...] | None = None
    arms: Mapping[str, Mapping[str, RawMeansCell]] | None = None
    suppressed: bool | None = None
    weighted: bool | None = None  # survey-weighted means (registered weights)

    def cell(self, arm: str, wave: str) -> RawMeansCell:
        """The arm's cell at the wave ("pre" or "post"); an empty cell when absent."""
        return ((self.arms or {}).get(arm) or {}).get(wave) or RawMeansCell()


#: extras key -> the part type its record is read into (the top-level parts).
PART_TYPES: Mapping[str, type[Part]] = types.MappingProxyType(
    {part.KEY: part for part in (InferenceRecord, Attrition, EventStudy, PosteriorSummary, Diagnostics,
                                  SurveyWeightsRecord)
     if part.KEY is not None})

#: Every typed key of ``extras`` and its type: the parts above, and the lists and per-group maps of parts.
EXTRAS_TYPES: Mapping[str, Any] = types.MappingProxyType({
    **PART_TYPES,
    "index": IndexConstruction,
    "invariance": MeasurementInvariance,
    "reliability": tuple[ReliabilityRecord, ...],
    "disaggregation": tuple[DisaggregationTable, ...],
    "by_group": DisaggregationTable,  # the registered estimator per level of design.group (per-CSO pooling)
    "effect_by_group": Mapping[str, GroupEffect],
    # Bayesian per-group and per-unit posteriors, and the estimands beside the registered target
    "group_effects": Mapping[str, UnitEffect],
    "unit_effects": Mapping[str, UnitEffect],
    "portfolio_effect": PosteriorSummary,
    "population_effect": PosteriorSummary,
    "exposure_response": ExposureResponse,
    "spillover": Spillover,
    # staggered adoption (Callaway-Sant'Anna), TWFE, Sun-Abraham, HonestDiD
    "att_gt": ATTgt,
    "aggregations": Aggregations,
    "pretrend_test": PretrendTest,
    "twfe": TwfeComparison,
    "bootstrap": MultiplierBootstrap,
    "sensitivity": HonestSensitivity,
    "its_by_campaign": ItsByCampaign,
    "inference_rule": FewTreatedRule,
    "bacon": BaconDecomposition,
    "negative_weights": NegativeWeights,
    "cohort_shares": tuple[CohortShare, ...],
    "iw_weights": tuple[CohortCell, ...],
    "cohort_effects": tuple[CohortCell, ...],
    # engagement: per-campaign effects (ITS units or staggered cohorts), the staggered check beside ITS
    "by_campaign": tuple[CampaignEffect, ...],
    "staggered_did": StaggeredCheck,
    # synthetic DiD / synthetic control
    "unit_weights": tuple[Weight, ...],
    "time_weights": tuple[Weight, ...],
    "trajectory": SyntheticTrajectory,
    "comparison": Mapping[str, SyntheticComparisonEstimate],
    "regularisation": Regularisation,
    "resampling": Resampling,
    # Bayesian settings, checks and secondary estimands
    "decision_rule": DecisionRule,
    "priors": tuple[PriorRecord, ...],
    "sampler": SamplerSettings,
    "standardisation": Standardisation,
    "prior_predictive": PriorPredictiveCheck,
    "prior_sensitivity": tuple[PriorSensitivityRow, ...],
    "cumulative_effect": CumulativeEffect,
    "pointwise_effect_by_day": PointwiseEffects,
    "latent_effect_logit": PosteriorSummary,
    "latent_effect_sd": PosteriorSummary,
    "top_change": PosteriorSummary,
    "category_probability_change": Mapping[str, PosteriorSummary],
    "artifacts": ArtifactPaths,
    "raw_means": RawMeans,
})

#: Typed keys the demo's results.json does not carry (TWFE and Sun-Abraham are not demo estimators); their records
#: are tested on small fitted examples in tests/unit/engagement/test_estimator_parts.py.
NOT_IN_DEMO: frozenset[str] = frozenset({"bacon", "negative_weights", "cohort_shares", "iw_weights", "cohort_effects"}) - frozenset({
    # the demo's synthetic DiD (h8) and the survey DiDs' raw means
    "unit_weights", "time_weights", "trajectory", "comparison", "regularisation", "resampling", "raw_means"})


_TEXT = (str,)
_NUMBER = (int, float)
_LIST = (list, tuple)

#: Scalar (and plain-list) extras an estimate may carry, read by attribute on ``EstimateResult``
#: (``result.model``, ``result.statement``); the value's accepted types (anything else reads as None).
SCALAR_EXTRAS: Mapping[str, tuple[type, ...]] = types.MappingProxyType({
    # every estimator
    "model": _TEXT, "statement": _TEXT, "headline": _TEXT, "period": _TEXT, "scale": _TEXT, "method": _TEXT,
    "count_model": _TEXT, "first_period": _TEXT, "cluster_column": _TEXT, "clusters": _NUMBER,
    "fixed_effects": _LIST, "coefficients": (Mapping,), "ssc": (Mapping,),
    # survey
    "mean_pre": _NUMBER, "mean_post": _NUMBER, "ratio": _NUMBER, "paired": (bool,),
    # engagement (staggered, ITS)
    "pooled_variance_cohorts": _LIST, "pooled_variance_note": _TEXT, "pooling": _TEXT, "skipped": _LIST,
    "placebo_rejections": _NUMBER, "placebo_tests": _NUMBER, "comparison_days_imputed": _NUMBER,
    # synthetic DiD / SC
    "se_method": _TEXT, "treated_units": _LIST, "treatment_start": _TEXT, "n_treated": _NUMBER,
    "n_comparison": _NUMBER, "n_pre_periods": _NUMBER, "n_post_periods": _NUMBER, "effective_controls": _NUMBER,
    "pre_period_rmse": _NUMBER, "dropped_incomplete_units": _LIST, "warnings": _LIST,
    "placebo_rank_p_value": _NUMBER,
    # Bayesian
    "bayesian": (bool,), "target": _TEXT, "target_description": _TEXT, "group_column": _TEXT, "top_from": _NUMBER,
    "p_cumulative_effect_gt_0": _NUMBER, "p_cumulative_effect_lt_0": _NUMBER,
})


def lift_parts(extras: Mapping[str, Any]) -> dict[str, Any]:
    """``extras`` with each typed key's record read into its part (records already typed are kept)."""
    lifted = dict(extras)
    for key, annotation in EXTRAS_TYPES.items():
        if key in lifted:
            lifted[key] = _load(annotation, lifted[key])
    return lifted
