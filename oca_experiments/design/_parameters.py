"""Design parameters of the data-generating model, and where each value came from.

Precedence, highest first: an explicit option (CLI or API) > an estimate from pilot/baseline data (``--data``) >
the spec's ``power:`` section > a value derived from the spec (the effect defaults to the SESOI) > a documented
default. Every value carries its source, so the saved diagnosis says which numbers were assumed and which measured.

Variance model (Hooper et al. 2016, "cluster cohort" designs): the outcome's variance at one wave is
``outcome_sd**2``; a share ``icc`` of it lies between clusters. Of the between-cluster part, a share
``cluster_autocorrelation`` persists across waves (the rest is a cluster x wave shock); of the within-cluster part,
a share ``individual_autocorrelation`` is a stable respondent effect (the rest is respondent x wave noise). In a
panel DiD the stable parts cancel, so these two autocorrelations drive power as much as the ICC does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from ..errors import DesignInputError  # noqa: F401  (re-exported: design.DesignInputError)

#: Values used when neither an option, data nor the spec gives one. Typical of attitude panels (Hooper et al. 2016).
DEFAULTS: Mapping[str, float] = MappingProxyType({
    "icc": 0.05,
    "attrition": 0.0,
    "outcome_sd": 1.0,
    "outcome_mean": 0.0,
    "individual_autocorrelation": 0.5,
    "cluster_autocorrelation": 0.8,
    "treated_share": 0.5,
    "target_power": 0.8,
})

#: Parameter names, in the order they are shown.
PARAMETER_NAMES: tuple[str, ...] = (
    "clusters", "respondents", "icc", "effect", "attrition", "outcome_sd", "outcome_mean",
    "individual_autocorrelation", "cluster_autocorrelation", "treated_share", "target_power", "likert",
)

#: The CLI option that sets each parameter, for error messages.
OPTION_NAMES: Mapping[str, str] = MappingProxyType({
    "clusters": "--clusters", "respondents": "--n", "icc": "--icc", "effect": "--effect",
    "attrition": "--attrition", "outcome_sd": "--sd", "outcome_mean": "outcome_mean",
    "individual_autocorrelation": "--iac", "cluster_autocorrelation": "--cac", "treated_share": "--treated-share",
    "target_power": "--power", "likert": "--likert",
})


@dataclass(frozen=True)
class LikertScale:
    """Discretise each simulated respondent-wave score into ``items`` answers on ``low..high`` and average them."""

    items: int
    low: float
    high: float
    item_noise_sd: float


@dataclass(frozen=True)
class DesignParameters:
    """One design to simulate. ``clusters`` is None for an individually randomised design (no cluster column)."""

    clusters: int | None
    respondents: int
    icc: float
    effect: float
    attrition: float
    outcome_sd: float
    outcome_mean: float
    individual_autocorrelation: float
    cluster_autocorrelation: float
    treated_share: float
    target_power: float
    likert: LikertScale | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", MappingProxyType(dict(self.sources)))
        _validate(self)

    def __reduce__(self) -> tuple[Any, tuple[dict[str, Any]]]:
        # A mappingproxy cannot be pickled; parameters travel to worker processes and Dask workers.
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["sources"] = dict(self.sources)
        return _restore_parameters, (state,)

    @property
    def respondents_per_cluster(self) -> float:
        return self.respondents / (self.clusters or self.respondents)

    def with_effect(self, effect: float) -> DesignParameters:
        return replace(self, effect=float(effect))

    def to_dict(self) -> dict[str, Any]:
        record = {name: getattr(self, name) for name in PARAMETER_NAMES}
        record["likert"] = asdict(self.likert) if self.likert else None
        record["sources"] = dict(self.sources)
        return record


def _restore_parameters(state: dict[str, Any]) -> DesignParameters:
    return DesignParameters(**state)


def _validate(p: DesignParameters) -> None:
    def _fail(name: str, message: str, fix: str) -> None:
        # Name the option and where the value came from (option, data, spec), so the user knows what to change.
        source = p.sources.get(name, "the caller")
        raise DesignInputError(message, option=f"{OPTION_NAMES[name]} ({name}, from {source})", fix=fix)

    for name in ("icc", "effect", "attrition", "outcome_sd", "outcome_mean", "individual_autocorrelation",
                 "cluster_autocorrelation", "treated_share", "target_power"):
        value = getattr(p, name)
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            _fail(name, f"must be a finite number, got {value!r}", "give a number")
    if p.clusters is not None:
        if p.clusters < 4:
            _fail("clusters", f"needs at least 4 clusters (2 per arm), got {p.clusters}",
                  "plan more clusters; cluster-robust inference needs at least 2 per arm")
        if p.respondents < 2 * p.clusters:
            _fail("respondents", f"{p.respondents} respondents cannot fill {p.clusters} clusters with 2 each",
                  "give the total number of respondents at baseline, at least 2 per cluster")
        treated = round(p.treated_share * p.clusters)
        if treated < 2 or p.clusters - treated < 2:
            _fail("treated_share", f"{p.treated_share:g} of {p.clusters} clusters leaves an arm with fewer than 2",
                  "use a share nearer 0.5 or more clusters")
    else:
        if p.respondents < 8:
            _fail("respondents", f"needs at least 8 respondents, got {p.respondents}", "plan more respondents")
        if p.icc != 0:
            _fail("icc", f"the spec names no cluster column, so the ICC must be 0, got {p.icc:g}",
                  "drop --icc, or register design.cluster in the spec")
        treated = round(p.treated_share * p.respondents)
        if treated < 2 or p.respondents - treated < 2:
            _fail("treated_share", f"{p.treated_share:g} of {p.respondents} respondents leaves an arm with "
                  "fewer than 2", "use a share nearer 0.5")
    if not 0 <= p.icc < 1:
        _fail("icc", f"must be in [0, 1), got {p.icc:g}", "give the intra-cluster correlation, e.g. --icc 0.05")
    if not 0 <= p.attrition < 0.95:
        _fail("attrition", f"must be in [0, 0.95), got {p.attrition:g}",
              "give the share of baseline respondents lost by endline, e.g. --attrition 0.12")
    if p.outcome_sd <= 0:
        _fail("outcome_sd", f"must be positive, got {p.outcome_sd:g}", "give the outcome's standard deviation")
    for name in ("individual_autocorrelation", "cluster_autocorrelation"):
        if not 0 <= getattr(p, name) <= 1:
            _fail(name, f"must be in [0, 1], got {getattr(p, name):g}", "give a correlation between 0 and 1")
    if not 0 < p.treated_share < 1:
        _fail("treated_share", f"must be in (0, 1), got {p.treated_share:g}", "e.g. 0.5")
    if not 0.05 <= p.target_power < 1:
        _fail("target_power", f"must be in [0.05, 1), got {p.target_power:g}", "e.g. 0.8")
    if p.likert is not None:
        if p.likert.items < 1 or not p.likert.low < p.likert.high or p.likert.item_noise_sd < 0:
            _fail("likert", "needs >= 1 item, a scale low < high and a non-negative item noise",
                  "register outcome.construction.items and scale in the spec")
