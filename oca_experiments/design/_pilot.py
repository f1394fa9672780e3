"""Design parameters estimated from pilot or baseline data (``--data NAME=PATH``).

The outcome is built exactly as the spec registers it (construction, subset), then:

- clusters, respondents: counted at the registered pre wave;
- outcome mean and SD, and the ICC (one-way ANOVA estimator, truncated at 0), at the pre wave;
- attrition: share of pre-wave respondents with no answered outcome at the post wave (when the data hold it);
- individual and cluster autocorrelation: from a one-way ANOVA of the respondents' changes between the waves
  (centred within arm, so that the effect does not count as noise), split into its between- and within-cluster
  parts; these are the variances a panel DiD's precision rests on;
- the share of clusters treated.

The effect is never estimated from pilot data: a pilot's effect estimate is too noisy to power a study on; the
diagnosis uses the registered MDE or SESOI, or ``--effect``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..outcomes import build_outcome, numeric_column
from ..plan import Plan, Task

#: Below this between-cluster variance share, the cluster autocorrelation is not identifiable.
MIN_ICC_FOR_CAC = 0.005


@dataclass(frozen=True)
class PilotEstimates:
    source: str
    file: str
    values: Mapping[str, Any] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)


def estimate_from_data(plan: Plan, task: Task, data: Mapping[str, str | Path | pd.DataFrame]) -> PilotEstimates:
    # The pipeline's own loading, preflight, subset and function import: the same errors as `oca run`.
    from ..runner import import_analysis_function, load_source, subset_rows, task_columns_present

    source = load_source(plan, task.source, data)
    task_columns_present(task, source, skip=("covariates",))  # the diagnosis does not adjust for covariates
    display = source.display
    frame = subset_rows(source.frame, task).reset_index(drop=True)
    spec, design = task.spec, task.spec.design
    function = import_analysis_function(task.analysis_function) if task.analysis_function else None
    # Built exactly as the runner builds it (a z-score index standardises against the comparison arm at baseline).
    y = build_outcome(frame, spec.outcome.construction, file=display, function=function, design=design,
                      reliability_seed=spec.inference.bootstrap.seed).values.to_numpy()
    wave = frame[design.time].astype("string").to_numpy(dtype=object)
    pre = (wave == design.pre) & np.isfinite(y)
    post = (wave == design.post) & np.isfinite(y)
    if pre.sum() < 4:
        raise DataError(f"fewer than 4 answered outcomes at the pre wave '{design.pre}'", file=display,
                        column=design.time, fix="give pilot or baseline data holding the registered pre wave")
    units = frame[design.unit].astype("string").to_numpy(dtype=object)
    clusters = (frame[design.cluster].astype("string").to_numpy(dtype=object) if design.cluster
                else units)
    treated = numeric_column(frame, design.treatment, file=display).to_numpy()

    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    base = pd.DataFrame({"y": y[pre], "cluster": clusters[pre], "unit": units[pre], "treated": treated[pre]})
    values["respondents"] = int(base["unit"].nunique())
    values["outcome_mean"] = float(base["y"].mean())
    values["outcome_sd"] = float(base["y"].std(ddof=1))
    if design.cluster:
        values["clusters"] = int(base["cluster"].nunique())
        values["icc"] = _anova_icc(base["y"].to_numpy(), base["cluster"].to_numpy())
        arm = base.groupby("cluster")["treated"].first()
        if arm.notna().all() and arm.isin([0.0, 1.0]).all() and 0 < arm.mean() < 1:
            values["treated_share"] = float(arm.mean())
    _likert_noise(frame.loc[pre], spec, values, notes)

    if post.any():
        end = pd.DataFrame({"y": y[post], "cluster": clusters[post], "unit": units[post],
                            "treated": treated[post]})
        stayers = set(base["unit"]) & set(end["unit"])
        values["attrition"] = 1.0 - len(stayers) / values["respondents"]
        _autocorrelations(base, end, stayers, values, notes, clustered=bool(design.cluster))
    else:
        notes["attrition"] = f"no rows at the post wave '{design.post}': attrition not estimated"
    return PilotEstimates(source=task.source, file=display, values=values, notes=notes)


def _anova_icc(y: np.ndarray, groups: np.ndarray) -> float:
    between, within = _anova_components(y, groups)
    return between / (between + within) if between + within > 0 else 0.0


def _autocorrelations(base: pd.DataFrame, end: pd.DataFrame, stayers: set, values: dict[str, Any],
                      notes: dict[str, str], *, clustered: bool) -> None:
    """Both autocorrelations from a one-way ANOVA of respondents' changes, which is what the DiD's precision rests
    on: var(change) = 2 (1 - CAC) ICC sd^2 between clusters + 2 (1 - IAC) (1 - ICC) sd^2 within."""
    if len(stayers) < 10:
        notes["individual_autocorrelation"] = "fewer than 10 respondents in both waves: not estimated"
        return
    b = base[base["unit"].isin(stayers)].drop_duplicates("unit").set_index("unit")
    e = end[end["unit"].isin(stayers)].drop_duplicates("unit").set_index("unit").loc[b.index]
    change = pd.DataFrame({"d": e["y"].to_numpy() - b["y"].to_numpy(), "cluster": b["cluster"].to_numpy(),
                           "arm": b["treated"].to_numpy()})
    # Centre within arm: removes the average effect and the common trend, which are not noise.
    change["d"] -= change.groupby("arm")["d"].transform("mean")
    icc, var = values.get("icc", 0.0), values["outcome_sd"] ** 2
    between, within = _anova_components(change["d"].to_numpy(), change["cluster"].to_numpy(),
                                        n_arms=int(change["arm"].nunique()))
    values["individual_autocorrelation"] = float(np.clip(1 - within / (2 * (1 - icc) * var), 0.0, 1.0))
    if not clustered:
        return
    if icc < MIN_ICC_FOR_CAC:
        notes["cluster_autocorrelation"] = "between-cluster variance is about 0 in the data: not identifiable"
        return
    cac = 1 - between / (2 * icc * var)
    if cac < 0:
        notes["cluster_autocorrelation"] = ("clusters' changes vary more than their levels; the model's cluster "
                                            "autocorrelation is truncated at 0")
    values["cluster_autocorrelation"] = float(np.clip(cac, 0.0, 1.0))


def _anova_components(y: np.ndarray, groups: np.ndarray, *, n_arms: int = 1) -> tuple[float, float]:
    """Between-group variance (truncated at 0) and within-group mean square; ``n_arms`` means were removed."""
    frame = pd.DataFrame({"y": y, "g": groups})
    stats = frame.groupby("g")["y"].agg(["count", "mean"])
    n, k = len(frame), len(stats)
    within = frame["y"] - frame.groupby("g")["y"].transform("mean")
    ms_within = float((within**2).sum() / max(n - k, 1))
    if k <= n_arms:
        return 0.0, ms_within
    ms_between = float((stats["count"] * (stats["mean"] - frame["y"].mean()) ** 2).sum() / (k - n_arms))
    n0 = (n - float((stats["count"] ** 2).sum()) / n) / (k - 1)
    return max(0.0, (ms_between - ms_within) / n0), ms_within


def _likert_noise(baseline: pd.DataFrame, spec: Any, values: dict[str, Any], notes: dict[str, str]) -> None:
    """Item noise for the optional Likert model: within-respondent spread of the items around their mean."""
    construction = spec.outcome.construction
    if construction.method != "mean" or construction.scale is None or len(construction.items) < 2:
        return  # the Likert model averages whole answers: only a mean index on a scale is built that way
    items = baseline[list(construction.items)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, copy=True)
    low, high = construction.scale
    for position, name in enumerate(construction.items):
        if name in construction.reverse:
            items[:, position] = low + high - items[:, position]
    spread = np.nanvar(items, axis=1, ddof=1)
    spread = spread[np.isfinite(spread)]
    if spread.size:
        # Rounding to whole answers adds about 1/12 of a scale point squared.
        values["likert_item_noise_sd"] = float(np.sqrt(max(spread.mean() - 1 / 12, 0.0)))
