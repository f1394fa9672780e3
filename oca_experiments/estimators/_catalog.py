"""What estimators exist, what options each takes and whether it is available yet.

The plan stage reads only this catalogue (no numerical code), so that an unknown estimator or a bad option fails in
milliseconds, before any data is read. An estimator that is planned but not implemented yet is a known name: its
hypotheses get the explicit status "not_yet_estimable", never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Contrast(_Options):
    """Difference in the treatment effect between one level of a column and a reference level."""

    column: str
    level: str
    reference: str


class SurveyDiDOptions(_Options):
    panel: bool = Field(
        default=True,
        description="true: panel with unit fixed effects, units observed in both waves; "
        "false: repeated cross-sections (treated, post and their interaction)",
    )
    by: Contrast | None = Field(default=None, description="report the effect difference between two subgroups")


class NoOptions(_Options):
    pass


SE_TYPES = ("CR1", "HC1", "iid")


@dataclass(frozen=True)
class EstimatorInfo:
    name: str
    summary: str
    data_kind: Literal["survey", "engagement"]
    available: bool
    options_model: type[_Options]
    se_types: tuple[str, ...] = SE_TYPES
    design_fields: tuple[str, ...] = ("pre", "post")


CATALOG: dict[str, EstimatorInfo] = {
    info.name: info
    for info in (
        EstimatorInfo("survey_did", "2x2 difference-in-differences on survey waves (panel or repeated "
                      "cross-sections), cluster-robust inference", "survey", True, SurveyDiDOptions),
        EstimatorInfo("knowledge_gain", "relative pre/post change in mean knowledge score with delta-method CI",
                      "survey", False, NoOptions),
        EstimatorInfo("ancova", "endline on baseline plus treatment", "survey", False, NoOptions),
        EstimatorInfo("staggered_did", "Callaway-Sant'Anna staggered-adoption DiD on a page-day panel",
                      "engagement", False, NoOptions, design_fields=("adoption",)),
        EstimatorInfo("its", "counterfactual interrupted time series (structural time-series model)",
                      "engagement", False, NoOptions, design_fields=("adoption",)),
        EstimatorInfo("bayes_did", "hierarchical Bayesian DiD across CSOs", "survey", False, NoOptions),
        EstimatorInfo("ordinal_did", "Bayesian cumulative-logit DiD for one Likert item", "survey", False,
                      NoOptions),
        EstimatorInfo("bayes_its", "Bayesian structural time series", "engagement", False, NoOptions, design_fields=("adoption",)),
    )
}
