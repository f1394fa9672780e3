"""Pre-analysis-plan sections of a hypothesis spec beyond what the estimators read.

The fields follow the AEA RCT Registry, the EGAP pre-analysis-plan guidance and OSF Prereg: identity, the claim in
words, waves and their windows, power, data rules and additional analyses. All are optional with defaults, so a
short spec stays short; ``oca prereg export`` turns them into registry text and the lock binds them by hash.

Data rules are registered *text*: oca records, hashes and exports them, and estimators that implement a rule read
it from here; a rule no estimator implements yet is still binding on the analyst, which is why it is locked.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class _PlanSection(BaseModel):
    # Same strictness as the other spec models (spec/_models.py): frozen, unknown keys refused.
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class Wave(_PlanSection):
    """One survey wave or observation period: its label in the time column and its fieldwork window."""

    label: str = Field(description="value of the design's time column for this wave, e.g. baseline")
    start: date | None = Field(default=None, description="first day of fieldwork (YYYY-MM-DD)")
    end: date | None = Field(default=None, description="last day of fieldwork (YYYY-MM-DD)")
    description: str | None = None

    @field_validator("label", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, (int, float)) else value

    @model_validator(mode="after")
    def _window_in_order(self) -> Wave:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"wave '{self.label}' ends ({self.end}) before it starts ({self.start})")
        return self


class Power(_PlanSection):
    """The registered power calculation (outcome units; clusters are the units of assignment)."""

    mde: float | None = Field(default=None, gt=0, description="minimum detectable effect, outcome units")
    power: float = Field(default=0.8, gt=0, lt=1, description="power at the MDE")
    icc: float | None = Field(default=None, ge=0, lt=1, description="intra-cluster correlation assumed")
    planned_clusters: int | None = Field(default=None, ge=2, description="clusters (units of assignment), all arms")
    planned_respondents: int | None = Field(default=None, ge=1, description="units of analysis, all arms and waves")
    method: str | None = Field(default=None, description="how the MDE was computed, e.g. analytic or simulation")


class Exclusions(_PlanSection):
    """Which observations are dropped before analysis, and how they are found."""

    duplicates: str | None = None
    speeders: str | None = None
    attention_checks: str | None = None
    other: tuple[str, ...] = ()


class DataRules(_PlanSection):
    exclusions: Exclusions = Exclusions()
    attrition: str | None = Field(default=None, description="attrition plan: tests, bounds, what triggers them")
    missing_outcome: str | None = Field(default=None, description="handling of missing outcomes")
    outliers: str | None = Field(default=None, description="outlier rule, or that none is applied")
    stopping: str | None = Field(default=None, description="stopping rule for data collection")


class Subgroup(_PlanSection):
    """A registered heterogeneity analysis. It has its own multiple-testing family, never the main one."""

    name: str = Field(pattern=_ID_PATTERN)
    column: str = Field(description="column that defines the subgroups")
    levels: tuple[str, ...] = Field(default=(), description="levels compared; empty means all")
    family: str = Field(min_length=1, description="multiple-testing family of this subgroup analysis")
    description: str | None = None

    @field_validator("levels", mode="before")
    @classmethod
    def _levels_as_text(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value)
        return value


class RobustnessCheck(_PlanSection):
    name: str = Field(pattern=_ID_PATTERN)
    description: str = Field(min_length=1)


Status = Literal["draft", "registered", "amended", "withdrawn"]
