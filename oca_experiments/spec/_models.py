"""Frozen pydantic models for the study config (``study.yaml``) and hypothesis specs (``hypotheses/*.yaml``).

Specs name columns; nothing here knows the demo's column names. Unknown keys are rejected everywhere
(``extra="forbid"``) so that a typo in a preregistered plan can never be silently ignored.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- hypothesis spec


class Construction(_Frozen):
    """How the outcome is built from the source's columns.

    - ``mean``: mean of the answered ``items`` after reverse-coding ``reverse`` on ``scale``; a respondent with fewer
      than ``min_items`` answered items gets a missing outcome.
    - ``column``: the outcome is one column as it is.
    - ``function``: ``module:function`` in the study's ``analysis/`` folder, called as ``f(df) -> Series``.
    """

    method: Literal["mean", "column", "function"]
    items: tuple[str, ...] = ()
    reverse: tuple[str, ...] = ()
    scale: tuple[float, float] | None = None
    min_items: int | None = Field(default=None, ge=1)
    column: str | None = None
    function: str | None = None
    inputs: tuple[str, ...] = Field(default=(), description="columns the analysis function reads")

    @model_validator(mode="after")
    def _check_method_fields(self) -> Construction:
        if self.method == "mean":
            if not self.items:
                raise ValueError("method 'mean' needs a non-empty 'items' list")
            if len(set(self.items)) != len(self.items):
                raise ValueError("'items' lists a column twice")
            stray = [c for c in self.reverse if c not in self.items]
            if stray:
                raise ValueError(f"'reverse' names {stray} which are not in 'items'")
            if self.reverse and self.scale is None:
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
        if self.method == "mean":
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
        return self

    def columns(self) -> tuple[str, ...]:
        cols = [self.unit, self.time, self.treatment]
        cols += [c for c in (self.cluster, self.group, self.adoption) if c]
        cols += list(self.subset)
        return tuple(dict.fromkeys(cols))


class EstimatorSpec(_Frozen):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class Inference(_Frozen):
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    tails: Literal["one", "two"] = "two"
    se: str = Field(default="CR1", description="standard-error type, e.g. CR1 (cluster-robust) or HC1")
    sesoi: float | None = Field(default=None, ge=0, description="smallest effect size of interest, outcome scale")
    family: str | None = Field(default=None, description="multiple-testing family")
    ci_level: float = Field(default=0.95, gt=0, lt=1)


class HypothesisSpec(_Frozen):
    id: str = Field(pattern=_ID_PATTERN)
    title: str = Field(min_length=1)
    hypothesis: str = Field(min_length=1, description="the hypothesis in words")
    type: Literal["confirmatory", "exploratory"]
    direction: Literal["increase", "decrease", "any"]
    outcome: Outcome
    design: Design
    estimator: EstimatorSpec
    covariates: tuple[str, ...] = ()
    inference: Inference = Inference()

    @model_validator(mode="after")
    def _check_direction_and_tails(self) -> HypothesisSpec:
        if self.inference.tails == "one" and self.direction == "any":
            raise ValueError("a one-tailed test needs direction 'increase' or 'decrease'")
        return self

    def columns(self) -> tuple[str, ...]:
        """Every column of the outcome's source that this hypothesis reads."""
        cols = list(self.outcome.construction.columns()) + list(self.design.columns()) + list(self.covariates)
        return tuple(dict.fromkeys(cols))


# --------------------------------------------------------------------------- study config


class SourceConfig(_Frozen):
    contract: str = Field(description="path of the Great Expectations suite, relative to the study folder")
    description: str | None = None
    default_file: str | None = Field(default=None, description="file name used by `oca demo` for this source")
    reader: dict[str, Any] = Field(default_factory=dict, description="reader pins: encoding, delimiter, …")


class StudyConfig(_Frozen):
    name: str
    description: str | None = None
    sources: dict[str, SourceConfig]
    suppression_threshold: int = Field(default=10, ge=1)
    report: str = Field(default="reports/report.ipynb", description="report notebook, relative to the study")

    @field_validator("sources")
    @classmethod
    def _need_sources(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        if not value:
            raise ValueError("declare at least one data source")
        return value
