"""The options models of the survey and Bayesian estimators, and the SE types they offer.

Pydantic only, no numerics: the plan validates a spec's options against these in milliseconds, before any data is
read. Which estimator uses which model is said once, in ``registry.py``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ._engagement_options import ItsOptions, StaggeredDiDOptions


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
