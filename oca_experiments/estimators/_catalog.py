"""What estimators exist, what options each takes and whether it is available yet.

The plan stage reads only this catalogue (no numerical code), so that an unknown estimator or a bad option fails in
milliseconds, before any data is read. An estimator that is planned but not implemented yet is a known name: its
hypotheses get the explicit status "not_yet_estimable", never a made-up number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._engagement_options import ItsOptions, StaggeredDiDOptions
from ._synthetic_options import SYNTHETIC_SE_TYPES, SyntheticOptions


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


class AncovaOptions(_Options):
    model: Literal["ancova", "change_score"] = Field(
        default="ancova", description="ancova: endline outcome on baseline outcome and treatment (McKenzie 2012); "
        "change_score: endline minus baseline on treatment")


class KnowledgeGainOptions(_Options):
    paired: bool = Field(default=True, description="true: units answering at both waves; false: every answer of "
                         "each wave (different people allowed)")


class ShareOptions(_Options):
    null_share: float = Field(gt=0, lt=1, description="share under the null hypothesis, e.g. 0.5")
    wave: str | None = Field(default=None, description="wave label to use (default: design.post)")


class BayesDiDOptions(_Options):
    target: Literal["portfolio", "population", "weakest_group"] = Field(
        default="portfolio", description="portfolio: treated-weighted mean of the groups' (CSOs') effects; "
        "population: mean of the population of groups; weakest_group: the smallest group effect")
    parameterization: Literal["noncentered", "centered"] = Field(
        default="noncentered", description="of the group effects; 'centered' is for demonstrating the gate")


class OrdinalDiDOptions(_Options):
    target: Literal["top_categories", "latent"] = Field(
        default="top_categories", description="top_categories: change in P(answer >= top_from) for the treated "
        "at endline (probability units); latent: treatment x period effect in logits")
    top_from: int | None = Field(default=None, description="first answer counted as 'top' (default: the "
                                 "second-highest category, e.g. 4 = agree or strongly agree on 1-5)")


class BayesITSOptions(_Options):
    denominator: str = Field(description="column with each day's number of trials (the outcome is a share of it)")
    level_step_days: int = Field(default=7, ge=1, le=60, description="days per step of the local level")
    regressor: Literal["comparison_mean", "none"] = Field(
        default="comparison_mean", description="regress on the comparison units' daily share")


SE_TYPES = ("CR1", "HC1", "iid")
#: Regression-based survey estimators (survey_did, ancova): wild = wild cluster bootstrap as registered primary.
SURVEY_SE_TYPES = ("CR1", "CR2", "HC1", "HC3", "iid", "wild")
#: Knowledge gain and shares: delta method / Wilson with cluster-robust (CR1, CR2) or independent (iid) variance.
GAIN_SE_TYPES = ("CR1", "CR2", "iid", "wild")
#: Bayesian estimators report the posterior SD as std_error; specs say `se: posterior`.
BAYES_SE_TYPES = ("posterior",)


@dataclass(frozen=True)
class EstimatorInfo:
    name: str
    summary: str
    data_kind: Literal["survey", "engagement"]
    available: bool
    options_model: type[_Options]
    se_types: tuple[str, ...] = SE_TYPES
    design_fields: tuple[str, ...] = ("pre", "post")
    bayesian: bool = False  # verdict from the registered posterior decision rule, not from a test
    covariates: bool = True  # False: registered covariates are refused at plan time (they would be ignored)


CATALOG: dict[str, EstimatorInfo] = {
    info.name: info
    for info in (
        EstimatorInfo("survey_did", "2x2 difference-in-differences on survey waves (panel or repeated "
                      "cross-sections), cluster-robust inference", "survey", True, SurveyDiDOptions,
                      se_types=SURVEY_SE_TYPES),
        EstimatorInfo("knowledge_gain", "relative pre/post change in mean knowledge score, delta-method and "
                      "bootstrap CIs", "survey", True, KnowledgeGainOptions, se_types=GAIN_SE_TYPES),
        EstimatorInfo("ancova", "endline on baseline plus treatment (or change scores)", "survey", True,
                      AncovaOptions, se_types=SURVEY_SE_TYPES),
        EstimatorInfo("share", "share of respondents reporting an outcome (0/1), Wilson CI", "survey", True,
                      ShareOptions, se_types=("CR1", "CR2", "iid"), design_fields=()),
        EstimatorInfo("staggered_did", "Callaway-Sant'Anna staggered-adoption DiD on a page-day panel",
                      "engagement", True, StaggeredDiDOptions, se_types=("CR1",), design_fields=("adoption",)),
        EstimatorInfo("its", "counterfactual interrupted time series (structural time-series model)",
                      "engagement", True, ItsOptions, se_types=("model",), design_fields=("adoption",)),
        EstimatorInfo("bayes_did", "hierarchical Bayesian DiD across CSOs", "survey", True, BayesDiDOptions,
                      se_types=BAYES_SE_TYPES, bayesian=True),
        EstimatorInfo("ordinal_did", "Bayesian cumulative-logit DiD for one Likert item", "survey", True,
                      OrdinalDiDOptions, se_types=BAYES_SE_TYPES, bayesian=True),
        EstimatorInfo("bayes_its", "Bayesian structural time series", "engagement", True, BayesITSOptions,
                      se_types=BAYES_SE_TYPES, design_fields=("adoption",), bayesian=True),
        EstimatorInfo("synthetic_did", "synthetic difference-in-differences (Arkhangelsky et al. 2021) for one or "
                      "a few treated units with a common start: unit and time weights, placebo / jackknife / "
                      "bootstrap SE", "engagement", True, SyntheticOptions, se_types=SYNTHETIC_SE_TYPES,
                      design_fields=(), covariates=False),
        EstimatorInfo("synthetic_control", "synthetic control (Abadie et al.; unit weights without intercept, as "
                      "the synthdid package's sc_estimate) for one or a few treated units with a common start",
                      "engagement", True, SyntheticOptions, se_types=SYNTHETIC_SE_TYPES, design_fields=(),
                      covariates=False),
    )
}
