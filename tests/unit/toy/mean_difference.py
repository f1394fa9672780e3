"""A toy estimator, written as docs/architecture.md says a new estimator is written: one module with its options
model and its fitter (the Fitter protocol), using only public names of the package. Registered by
tests/unit/test_toy_estimator.py, which takes it through plan, run, summary and report.

Estimate: the post-wave difference in mean outcome between the arms, with a Welch t interval. (A real survey
estimator would cluster its standard errors; this one exists to keep the walk-through honest.)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from oca_experiments.errors import DataError
from oca_experiments.estimators import NotTestable
from oca_experiments.results import EstimateResult, InferenceRecord
from oca_experiments.spec import HypothesisSpec


class MeanDifferenceOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    wave: str | None = Field(default=None, description="wave label to compare the arms in (default: design.post)")


def fit_mean_difference(frame: pd.DataFrame, outcome: pd.Series, spec: HypothesisSpec,
                        options: MeanDifferenceOptions, *, file: str) -> EstimateResult:
    design = spec.design
    wave = options.wave or design.post
    at_wave = (frame[design.time].astype("string") == wave).fillna(False).to_numpy(dtype=bool)
    treated = pd.to_numeric(frame[design.treatment], errors="coerce")
    if treated.loc[at_wave].isna().any():
        raise DataError("treatment is not 0/1", file=file, column=design.treatment, fix="code treatment as 0 or 1")
    y = outcome.loc[at_wave].astype("float64")
    arms = {arm: y[(treated.loc[at_wave] == arm).to_numpy()].dropna() for arm in (1.0, 0.0)}
    if min(len(values) for values in arms.values()) < 2:
        raise NotTestable(f"fewer than 2 answered outcomes in an arm at {design.time} = '{wave}'")
    means = {arm: float(values.mean()) for arm, values in arms.items()}
    variances = {arm: float(values.var(ddof=1)) / len(values) for arm, values in arms.items()}
    estimate = means[1.0] - means[0.0]
    std_error = math.sqrt(sum(variances.values()))
    df = std_error**4 / sum(v**2 / (len(arms[arm]) - 1) for arm, v in variances.items())
    dist = stats.t(df)
    level, alpha = spec.inference.ci_level, spec.inference.alpha
    half, sesoi_half = dist.ppf(1 - (1 - level) / 2) * std_error, dist.ppf(1 - alpha) * std_error
    p_two = float(2 * dist.sf(abs(estimate / std_error)))
    if spec.inference.tails == "one" and spec.direction in ("increase", "decrease"):
        p = float(dist.sf(estimate / std_error) if spec.direction == "increase" else dist.cdf(estimate / std_error))
    else:
        p = p_two
    n = int(sum(len(values) for values in arms.values()))
    inference = InferenceRecord(primary="welch", registered_se=spec.inference.se, estimate=estimate,
                                sesoi_interval=(estimate - sesoi_half, estimate + sesoi_half))
    extras: dict[str, Any] = {"model": f"mean(y | treated) - mean(y | comparison) at {wave}",
                              "means": {"treated": means[1.0], "comparison": means[0.0]}, "inference": inference}
    return EstimateResult(estimate=estimate, std_error=std_error, ci_low=estimate - half, ci_high=estimate + half,
                          ci_level=level, p_value=p, p_value_two_sided=p_two, df=df, n=n, n_clusters=None,
                          se_type="welch", counts={"rows_in_source": len(frame), "observations": n},
                          extras=extras)
