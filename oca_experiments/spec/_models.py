"""Frozen pydantic models for the study config (``study.yaml``) and hypothesis specs (``hypotheses/*.yaml``).

Specs name columns; nothing here knows the demo's column names. Unknown keys are rejected everywhere
(``extra="forbid"``) so that a typo in a preregistered plan can never be silently ignored.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .._layout import DEFAULT_SUPPRESSION_THRESHOLD
from ._pap import DataRules, Power, RobustnessCheck, Status, Subgroup, Wave
from ._weights import SurveyWeights

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- hypothesis spec


#: Construction methods that build an index from Likert-type items.
INDEX_METHODS = ("mean", "zscore", "icw")


class Construction(_Frozen):
    """How the outcome is built from the source's columns.

    - ``mean``: mean of the answered ``items`` after reverse-coding ``reverse`` on ``scale``; a respondent with fewer
      than ``min_items`` answered items gets a missing outcome.
    - ``zscore``: Kling-Liebman-Katz index: each item as a z-score against the comparison arm at the pre wave, the
      mean of a respondent's answered z-scores, re-standardized against the same reference group (SD units).
    - ``icw``: Anderson (2008) inverse-covariance-weighted index of the same z-scores, re-standardized likewise.
    - ``column``: the outcome is one column as it is.
    - ``function``: ``module:function`` in the study's ``analysis/`` folder, called as ``f(df) -> Series``.

    For the index methods (mean, zscore, icw), Cronbach's alpha and McDonald's omega are reported per wave; the report
    warns when either is below ``reliability_threshold``. zscore and icw reverse-code by sign, so need no scale.
    """

    method: Literal["mean", "zscore", "icw", "column", "function"]
    items: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    scale: tuple[float, float] | None = None
    min_items: int | None = Field(default=None, ge=1)
    column: str | None = None
    function: str | None = None
    inputs: tuple[str, ...] = Field(default=(), description="columns the analysis function reads")
    reliability_threshold: float = Field(default=0.7, gt=0, lt=1, description="warn when alpha or omega is below")

    @model_validator(mode="after")
    def _check_method_fields(self) -> Construction:
        if self.method in INDEX_METHODS:
            if not self.items:
                raise ValueError(f"method '{self.method}' needs a non-empty 'items' list")
            if len(set(self.items)) != len(self.items):
                raise ValueError("'items' lists a column twice")
            stray = [c for c in self.reverse if c not in self.items]
            if stray:
                raise ValueError(f"'reverse' names {stray} which are not in 'items'")
            if self.reverse and self.scale is None and self.method == "mean":
                raise ValueError("reverse-coding needs 'scale: [low, high]'")
            if self.scale is not None and not self.scale[0] < self.scale[1]:
                raise ValueError("'scale' must be [low, high] with low < high")
            if self.min_items is not None and self.min_items > len(self.items):
                raise ValueError(f"'min_items' ({self.min_items}) exceeds the number of items ({len(self.items)})")
        elif self.method == "column":
            if not self.column:
                raise ValueError("method 'column' needs 'column'")
        elif self.method == "function":
            if not self.function or ":" not in self.function:
                raise ValueError("method 'function' needs 'function: module:function' (a file in analysis/)")
        return self

    def columns(self) -> tuple[str, ...]:
        if self.method in INDEX_METHODS:
            return self.items
        if self.method == "column":
            return (self.column,)  # type: ignore[return-value]
        return self.inputs


class Outcome(_Frozen):
    source: str = Field(description="name of a data source declared in study.yaml")
    name: str = Field(pattern=_ID_PATTERN)
    label: str | None = None
    construction: Construction


class Design(_Frozen):
    unit: str = Field(description="column identifying the unit of analysis (e.g. the respondent)")
    time: str = Field(description="column holding the wave or period label")
    pre: str | None = Field(default=None, description="label of the pre-treatment wave in the time column")
    post: str | None = Field(default=None, description="label of the post-treatment wave in the time column")
    treatment: str = Field(description="column with the 0/1 treatment assignment")
    adoption: str | None = Field(default=None, description="column with each unit's treatment start date "
                                 "(staggered designs); empty for never-treated units")
    cluster: str | None = Field(default=None, description="column of the unit of assignment (clusters)")
    group: str | None = Field(default=None, description="column of the implementing group, e.g. the CSO")
    subset: dict[str, tuple[Any, ...]] = Field(
        default_factory=dict, description="keep only rows whose column value is one of the listed values"
    )
    waves: tuple[Wave, ...] = Field(default=(), description="the waves (periods) and their fieldwork windows")
    interview_date: str | None = Field(default=None, description="column with each row's fieldwork (interview) "
                                       "date, checked against its wave's window in 'waves'")
    treatment_definition: str | None = Field(default=None, description="what being treated means, in words")

    @field_validator("pre", "post", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _check_waves(self) -> Design:
        if (self.pre is None) != (self.post is None):
            raise ValueError("give both 'pre' and 'post' wave labels, or neither")
        if self.pre is not None and self.pre == self.post:
            raise ValueError("'pre' and 'post' must be different wave labels")
        labels = [w.label for w in self.waves]
        if len(set(labels)) != len(labels):
            raise ValueError("'waves' lists a label twice")
        missing = [w for w in (self.pre, self.post) if labels and w is not None and w not in labels]
        if missing:
            raise ValueError(f"wave label(s) {missing} named by pre/post are not in 'waves' ({labels})")
        return self

    def columns(self) -> tuple[str, ...]:
        cols = [self.unit, self.time, self.treatment]
        cols += [c for c in (self.cluster, self.group, self.adoption, self.interview_date) if c]
        cols += list(self.subset)
        return tuple(dict.fromkeys(cols))


class EstimatorSpec(_Frozen):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class FewClusters(_Frozen):
    """Below ``threshold`` clusters the primary inference switches to a few-cluster method (0 turns it off)."""

    threshold: int = Field(default=30, ge=0)
    method: Literal["wild_webb", "cr2"] = Field(default="wild_webb", description="wild cluster bootstrap with Webb "
                                                "weights, or CR2 with Satterthwaite degrees of freedom")
    cr2_below: int = Field(default=10, ge=0, description="below this many clusters ``wild_webb`` gives way to CR2 "
                           "with Satterthwaite degrees of freedom, which keeps its coverage there (0: never)")
    arm_below: int = Field(default=4, ge=0, description="with fewer clusters than this in the treated or the "
                           "comparison arm, randomization inference over the cluster assignment is primary (one "
                           "cluster in an arm and no randomization test: the hypothesis is refused as untestable)")


class Bootstrap(_Frozen):
    """Resampling settings. The seed is part of the registration: same seed and data, same p-values."""

    draws: int = Field(default=9999, ge=99, le=1_000_000)
    weights: Literal["webb", "rademacher"] = "webb"
    seed: int = Field(default=20260307, ge=0, description="registered seed; a spec without one gets a seed derived "
                      "from its id (seed_source: derived), never a shared default")
    seed_source: Literal["registered", "derived"] = Field(
        default="registered", description="'derived' when the spec registered no seed and oca derived it")


def derived_seed(spec_id: str) -> int:
    """The bootstrap seed of a spec that registers none: from the SHA-256 of its id, so it is stable when other
    fields are amended, differs between hypotheses, and is the same on every machine (issue 18 item 9: such specs
    silently shared the demo's seed)."""
    digest = hashlib.sha256(f"oca bootstrap seed: {spec_id}".encode()).hexdigest()
    return int(digest[:8], 16) % (2**31 - 1)


class Randomization(_Frozen):
    """Randomization inference: re-draw the clusters' assignment (within ``blocks`` when given)."""

    draws: int = Field(default=9999, ge=99, le=1_000_000)
    blocks: str | None = Field(default=None, description="column of the randomization blocks (strata)")


class Inference(_Frozen):
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    tails: Literal["one", "two"] = "two"
    se: str = Field(default="CR1", description="standard-error type, e.g. CR1 (cluster-robust) or HC1")
    sesoi: float | None = Field(default=None, ge=0, description="smallest effect size of interest, outcome scale")
    family: str | None = Field(default=None, description="multiple-testing family")
    ci_level: float = Field(default=0.95, gt=0, lt=1)
    few_clusters: FewClusters = Field(default_factory=lambda: FewClusters(), description="the few-cluster rule")
    bootstrap: Bootstrap = Field(default_factory=lambda: Bootstrap(), description="wild bootstrap and resampling")
    randomization: Randomization | None = Field(default=None, description="randomization inference (optional)")
    adjustment: Literal["holm", "bh", "romano_wolf"] = Field(
        default="holm", description="the family's registered multiple-testing adjustment (all three are reported)")


class BayesDiagnostics(_Frozen):
    """The diagnostics gate: a fit that misses any threshold gets the verdict "unreliable: diagnostics failed"."""

    max_rhat: float = Field(default=1.01, ge=1.0, description="largest rank-normalised split R-hat allowed")
    min_ess_bulk: float = Field(default=400, ge=0, description="smallest bulk effective sample size allowed")
    min_ess_tail: float = Field(default=400, ge=0, description="smallest tail effective sample size allowed")
    max_divergences: int = Field(default=0, ge=0, description="divergent transitions allowed after warm-up")
    min_bfmi: float = Field(default=0.3, ge=0, description="smallest E-BFMI allowed in any chain (below 0.3 the "
                            "momentum resampling cannot move through the energy levels: tails are explored poorly)")
    max_treedepth_hits: int = Field(default=0, ge=0, description="post-warm-up transitions allowed to stop at the "
                                    "maximum tree depth (each one is a trajectory cut short, not a full NUTS step)")


class BayesSampler(_Frozen):
    """NUTS settings (nutpie). The seed is part of the preregistration: same seed and data, same draws."""

    seed: int = Field(default=20260307, ge=0)
    chains: int = Field(default=4, ge=1, le=16)
    draws: int = Field(default=1000, ge=10)
    tune: int = Field(default=1000, ge=10)
    target_accept: float = Field(default=0.95, gt=0.5, lt=1, description="NUTS step-size adaptation target "
                                 "(0.95: smaller steps, fewer divergences in hierarchical models)")
    backend: Literal["kernel", "pymc"] = Field(
        default="kernel", description="how nutpie evaluates the model's log density: 'kernel' = oca's numba "
        "kernels, compiled once per installation and cached on disk (tested equal to the PyMC model's log density); "
        "'pymc' = the PyMC model in oca_experiments/bayes/_models.py compiled by nutpie in every new process "
        "(15-55 s per model): same posterior, different draws")


class BayesDecision(_Frozen):
    """The registered decision rule for Bayesian estimators (see oca_experiments/summarize/_bayes_verdict.py)."""

    probability: float = Field(default=0.95, gt=0.5, lt=1, description="posterior probability needed")
    against: Literal["sesoi", "zero"] = Field(
        default="sesoi", description="supported when P(effect beyond the SESOI (or zero) in the registered "
        "direction) >= probability; not supported when P(effect short of it) >= probability")


class Bayes(_Frozen):
    """Bayesian settings of a hypothesis. Priors are scales on the standardised scale; each estimator documents
    its names and weakly informative defaults (oca_experiments/bayes/_priors.py)."""

    priors: dict[str, float] = Field(default_factory=dict)
    interval: Literal["hdi", "eti"] = "hdi"
    decision: BayesDecision = BayesDecision()
    diagnostics: BayesDiagnostics = BayesDiagnostics()
    sampler: BayesSampler = BayesSampler()
    prior_sensitivity: tuple[float, ...] = Field(
        default=(), description="robustness reruns with every prior scale multiplied by each factor, e.g. [0.5, 2]")

    @field_validator("priors")
    @classmethod
    def _positive_scales(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not v > 0]
        if bad:
            raise ValueError(f"prior scales must be > 0: {bad}")
        return value

    @field_validator("prior_sensitivity")
    @classmethod
    def _positive_factors(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not f > 0 for f in value):
            raise ValueError("prior_sensitivity factors must be > 0")
        return value


class Testability(_Frozen):
    """Registered requirements the data must meet before a hypothesis is estimated; a miss makes it "not testable".

    Every field may be left unset: a spec's value wins over its source's (``study.yaml``
    ``sources.<name>.testability``), which wins over the study's (``study.yaml`` ``testability``), which wins over
    oca's default (see ``oca_experiments/contracts/_testability.py``).
    """

    __test__ = False  # not a pytest test class, despite its name

    min_units_per_arm_wave: int | None = Field(default=None, ge=1, description="units (respondents, pages) per "
                                               "arm in each registered wave")
    min_clusters_per_arm: int | None = Field(default=None, ge=1, description="clusters per arm in each wave")
    max_attrition: float | None = Field(default=None, ge=0, le=1, description="share of pre-wave units missing "
                                        "at the post wave (panels)")
    max_differential_attrition: float | None = Field(default=None, ge=0, le=1, description="largest difference "
                                                     "in attrition between the arms")
    min_pre_period_days: int | None = Field(default=None, ge=0, description="days observed before each unit's "
                                            "adoption date (time series)")
    no_treatment_reversal: bool | None = Field(default=None, description="treatment and adoption date constant "
                                               "within each unit and cluster")
    balanced_panel: bool | None = Field(default=None, description="every unit in every period; unset: when the "
                                        "estimator needs one")
    complete_groups: bool | None = Field(default=None, description="every implementing group (design.group) "
                                         "observed in every arm and wave: the registered sample frame")
    fieldwork_windows: Literal["refuse", "note"] | None = Field(
        default=None, description="rows dated (design.interview_date) outside their wave's fieldwork window: "
        "'refuse' makes the hypothesis not testable, 'note' (default) records them in the validation and results")
    arms: Literal["both", "pooled"] | None = Field(default=None, description="both: every requirement holds in "
                                                   "each arm; pooled: arms together (pre/post designs without a "
                                                   "comparison, e.g. a knowledge gain among participants)")


class HypothesisSpec(_Frozen):
    @model_validator(mode="before")
    @classmethod
    def _derive_a_missing_seed(cls, raw: Any) -> Any:
        """No registered bootstrap seed: derive one from the id and record that it was derived (said in the
        manifest's seeds and on `oca run`'s output)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return raw
        inference = raw.get("inference") if raw.get("inference") is not None else {}
        if not isinstance(inference, dict):
            return raw
        bootstrap = inference.get("bootstrap") if inference.get("bootstrap") is not None else {}
        if not isinstance(bootstrap, dict) or bootstrap.get("seed") is not None:
            return raw
        bootstrap = {**bootstrap, "seed": derived_seed(raw["id"]), "seed_source": "derived"}
        return {**raw, "inference": {**inference, "bootstrap": bootstrap}}

    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    hypothesis: str = Field(min_length=1, description="the hypothesis in words")
    type: Literal["confirmatory", "exploratory"]
    direction: Literal["increase", "decrease", "any"]
    outcome: Outcome
    design: Design
    estimator: EstimatorSpec
    covariates: tuple[str, ...] = ()
    disaggregate: tuple[str, ...] = Field(default=(), description="columns to report the effect by (e.g. sex, "
                                          "role, district), with small-cell suppression")
    inference: Inference = Inference()
    bayes: Bayes | None = Field(default=None, description="Bayesian estimators only")
    testability: Testability | None = Field(default=None, description="requirements the data must meet")
    weights: SurveyWeights | None = Field(default=None, description="survey weights: design weights raked to "
                                          "registered population margins (survey estimators; spec/_weights.py)")
    # Pre-analysis-plan fields (spec/_pap.py). Identity: the YAML's own claims; the registry lock decides what
    # counts as registered (oca_experiments/prereg).
    version: int = Field(default=1, ge=1, description="version of this spec, raised with each amendment")
    status: Status = Field(default="draft", description="the authors' statement; the lock decides")
    registration_date: date | None = Field(default=None, description="date registered (e.g. with AEA or OSF)")
    estimand: str | None = Field(default=None, description="the causal quantity, e.g. ATT on the index")
    target_population: str | None = None
    unit_of_analysis: str | None = Field(default=None, description="in words; design.unit names its column")
    unit_of_assignment: str | None = Field(default=None, description="in words; design.cluster names its column")
    fixed_effects: tuple[str, ...] = Field(default=(), description="columns absorbed as fixed effects beyond "
                                           "those the estimator's design implies")
    power: Power | None = None
    data_rules: DataRules = DataRules()
    subgroups: tuple[Subgroup, ...] = Field(default=(), description="heterogeneity analyses, each in its own "
                                            "multiple-testing family")
    robustness: tuple[RobustnessCheck, ...] = Field(default=(), description="planned robustness checks")

    @model_validator(mode="after")
    def _check_direction_and_tails(self) -> HypothesisSpec:
        if self.inference.tails == "one" and self.direction == "any":
            raise ValueError("a one-tailed test needs direction 'increase' or 'decrease'")
        return self

    @model_validator(mode="after")
    def _check_additional_analyses(self) -> HypothesisSpec:
        names = [s.name for s in self.subgroups] + [r.name for r in self.robustness]
        if len(set(names)) != len(names):
            raise ValueError("subgroup and robustness names must be unique within a spec")
        shared = [s.name for s in self.subgroups if self.inference.family and s.family == self.inference.family]
        if shared:
            raise ValueError(f"subgroup(s) {shared} use the main family '{self.inference.family}'; "
                             "give each subgroup analysis its own family")
        return self

    def columns(self) -> tuple[str, ...]:
        """Every column of the outcome's source that this hypothesis reads."""
        cols = list(self.outcome.construction.columns()) + list(self.design.columns()) + list(self.covariates)
        cols += list(self.disaggregate)
        if self.weights is not None:
            cols += list(self.weights.columns())
        if self.inference.randomization is not None and self.inference.randomization.blocks:
            cols.append(self.inference.randomization.blocks)
        return tuple(dict.fromkeys(cols))


# --------------------------------------------------------------------------- study config


class SourceConfig(_Frozen):
    contract: str = Field(description="path of the Great Expectations suite, relative to the study folder")
    description: str | None = None
    default_file: str | None = Field(default=None, description="file name used by `oca demo` for this source")
    reader: dict[str, Any] = Field(default_factory=dict, description="reader pins: encoding, delimiter, …")
    post_treatment: tuple[str, ...] = Field(default=(), description="columns measured after treatment began; "
                                            "never accepted as covariates")
    testability: Testability | None = Field(default=None, description="defaults for this source's specs")
    xlsform: str | None = Field(default=None, description="the survey's XLSForm (.xlsx), relative to the study "
                                "folder: its item and choice labels are shown in the report")


class StudyConfig(_Frozen):
    name: str
    description: str | None = None
    sources: dict[str, SourceConfig]
    suppression_threshold: int = Field(default=DEFAULT_SUPPRESSION_THRESHOLD, ge=1)
    report: str | None = Field(default=None, description="report notebook, relative to the study (default: "
                               "reports/report.ipynb when the study has one, else the built-in report)")
    testability: Testability | None = Field(default=None, description="defaults for every spec")

    @field_validator("sources")
    @classmethod
    def _need_sources(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        if not value:
            raise ValueError("declare at least one data source")
        return value
