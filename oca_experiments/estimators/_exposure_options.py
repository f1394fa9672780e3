"""Options of the portfolio estimators on community changes: exposure-response and the spillover contrast.

Pydantic only, no numerics: the plan validates a spec's options against these before any data is read.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LinkKey(_Options):
    """The column that links the outcome source's rows to the exposure source's rows (same values in both)."""

    survey: str = Field(description="column of the outcome (survey) source, e.g. community_id or cso_id")
    exposure: str = Field(description="column of the exposure source holding the same ids, e.g. community_id, "
                          "cso_id or page_id mapped to it")


class ExposureWindow(_Options):
    start: dt.date = Field(description="first day counted (inclusive)")
    end: dt.date = Field(description="last day counted (inclusive)")

    @model_validator(mode="after")
    def _ordered(self) -> ExposureWindow:
        if self.end < self.start:
            raise ValueError("the window ends before it starts")
        return self


class ExposureMeasure(_Options):
    """Which exposure, from which source, over which days, per what."""

    source: str = Field(description="name of the data source (study.yaml) holding the exposure, e.g. engagement")
    columns: tuple[str, ...] = Field(min_length=1, description="numeric columns summed on each row (e.g. reactions, "
                                     "comments, shares; or reach)")
    date: str = Field(description="date column of the exposure source")
    key: LinkKey
    window: Literal["between_waves"] | ExposureWindow = Field(
        default="between_waves", description="between_waves: from the day after the pre wave's fieldwork ends to "
        "the day before the post wave's starts (design.waves); or explicit start/end dates")
    subset: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="keep only exposure rows whose column value is one of the listed values "
        "(e.g. page_type: [cso])")
    aggregate: Literal["sum", "mean"] = Field(default="sum", description="sum or daily mean over the window")
    per: str | None = Field(default=None, description="denominator column (e.g. followers, population), averaged "
                            "over the window: the exposure is per capita")
    scale: float = Field(default=1.0, gt=0, description="the slope is reported per this many exposure units")
    label: str | None = Field(default=None, description="what the exposure is, in words, for the report")


class ExposureResponseOptions(_Options):
    exposure: ExposureMeasure
    unit: str | None = Field(default=None, description="survey column of the unit whose change is regressed on "
                             "exposure (default: design.cluster, e.g. community_id)")
    cluster: str | None = Field(default=None, description="survey column the inference clusters by (default: "
                                "design.cluster); name a coarser one when the dose is set at a coarser level, e.g. "
                                "cso_id when each CSO's page is the exposure")
    panel: bool = Field(default=True, description="true: a unit's change is the mean within-respondent change of "
                        "respondents seen at both waves; false: difference of the wave means (repeated "
                        "cross-sections)")
    weights: Literal["equal", "respondents"] = Field(
        default="equal", description="weight each unit equally or by its respondents")
    curve: Literal["linear", "spline"] = Field(
        default="linear", description="linear: one slope (ACRT under linearity); spline: a linear spline in the "
        "dose with knots at quantiles of the treated doses; the target is then the average derivative (ACRT)")
    knots: int = Field(default=1, ge=1, le=3, description="interior knots of the spline (quantiles of the dose)")


class NearRule(_Options):
    """Which comparison units count as near a treated one: sharing a column's value with a treated unit (e.g. the
    same district), or a registered 0/1 column (adjacency, audience overlap)."""

    by: str | None = Field(default=None, description="a comparison unit is near when a treated unit has the same "
                           "value of this column (e.g. district)")
    column: str | None = Field(default=None, description="0/1 column on the survey rows: 1 = near (registered "
                               "adjacency or audience overlap)")

    @model_validator(mode="after")
    def _one_rule(self) -> NearRule:
        if (self.by is None) == (self.column is None):
            raise ValueError("give exactly one of 'by' (a column shared with treated units) or 'column' (a 0/1 "
                             "column)")
        return self


class SpilloverOptions(_Options):
    near: NearRule
    unit: str | None = Field(default=None, description="survey column of the unit (default: design.cluster)")
    panel: bool = True
    weights: Literal["equal", "respondents"] = "equal"
    min_far: int = Field(default=3, ge=2, description="far comparison units needed before spillover can be ruled "
                         "out")


__all__ = ["ExposureMeasure", "ExposureResponseOptions", "ExposureWindow", "LinkKey", "NearRule",
           "SpilloverOptions"]
