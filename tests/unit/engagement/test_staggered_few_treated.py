"""Few treated units in the staggered DiD: one treated unit (issue 22 item 4) and 2-6 treated pages (issue 15
item 5) use a permutation test over units, or are refused when it cannot reach the registered level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from oca_experiments.estimators import fit_staggered_did
from oca_experiments.estimators._engagement_options import StaggeredDiDOptions
from oca_experiments.estimators._staggered import NEVER, StaggeredPanel, aggregate, att_gt
from oca_experiments.estimators._staggered_permutation import (aggregation_weights, assignment_count,
                                                               permutation_inference)
from oca_experiments.estimators._survey_frame import NotTestable
from oca_experiments.spec import HypothesisSpec


def _spec(ci_level: float = 0.95) -> HypothesisSpec:
    return HypothesisSpec.model_validate({
        "id": "h_pages", "title": "t", "hypothesis": "t", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "engagement", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": {"unit": "page", "time": "date", "adoption": "start", "treatment": "treated", "cluster": "page"},
        "estimator": {"name": "staggered_did"},
        "inference": {"alpha": 1 - ci_level, "ci_level": ci_level, "tails": "two", "se": "CR1"},
    })


def _frame(treated_starts: list[int], comparison: int, *, days: int = 30, effect: float = 2.0,
           seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp("2026-03-01")
    rows = []
    starts = treated_starts + [None] * comparison
    for i, start in enumerate(starts):
        level = rng.normal(0, 1)
        for d in range(days):
            on = start is not None and d >= start
            rows.append({"page": f"p{i:02d}", "date": str((origin + pd.Timedelta(days=d)).date()),
                         "start": "" if start is None else str((origin + pd.Timedelta(days=start)).date()),
                         "treated": int(start is not None), "y": level + 0.05 * d + effect * on + rng.normal(0, 1)})
    return pd.DataFrame(rows)


def _fit(frame: pd.DataFrame, **options) -> object:
    return fit_staggered_did(frame, frame["y"], _spec(), StaggeredDiDOptions(**options), file="engagement.csv")


def test_one_treated_unit_with_seven_comparison_units_is_refused_with_the_reason() -> None:
    """Old code: a cluster-robust interval on 7 df. A permutation over 8 units cannot reach p < 0.05."""
    frame = _frame([15], comparison=7)
    with pytest.raises(NotTestable, match=r"smallest attainable p-value is 1/8"):
        _fit(frame)
    with pytest.raises(NotTestable, match="one treated unit"):
        _fit(frame, few_treated_inference="influence_function")


def test_one_treated_unit_uses_the_exact_placebo_permutation() -> None:
    frame = _frame([15], comparison=24)
    result = _fit(frame)
    rule = result.extras["inference_rule"]
    assert rule["rule"] == "permutation" and rule["treated_units"] == 1
    perm = rule["permutation"]
    assert perm["enumerated"] and perm["draws"] == 24
    # Exact p-value convention (1 + #)/(B + 1) with B = 24 placebo units.
    assert result.p_value_two_sided * 25 == pytest.approx(round(result.p_value_two_sided * 25))
    assert result.ci_low < result.estimate < result.ci_high
    assert result.df is None and "permutation" in result.se_type


def test_many_treated_units_keep_the_influence_function() -> None:
    frame = _frame([10] * 6 + [18] * 6, comparison=12)
    result = _fit(frame)
    assert result.extras["inference_rule"]["rule"] == "influence_function"
    assert result.df == 23


def _toy(treated: tuple[int, ...], cohorts: tuple[int, ...], comparison: int, seed: int,
         effect: float = 1.0) -> StaggeredPanel:
    rng = np.random.default_rng(seed)
    cohort = np.concatenate([np.full(n, g) for n, g in zip(treated, cohorts, strict=True)]
                            + [np.full(comparison, NEVER)]).astype(np.intp)
    n, t = cohort.size, np.arange(8)
    on = (cohort[:, None] != NEVER) & (t[None, :] >= cohort[:, None])
    y = rng.normal(0, 1, (n, 1)) + 0.1 * t + effect * on + rng.normal(0, 1, (n, t.size))
    return StaggeredPanel(y=y, cohort=cohort, cluster=np.arange(n, dtype=np.intp), covariates=np.empty((n, 0)),
                          unit_labels=tuple(map(str, range(n))), period_labels=tuple(map(str, t)))


@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize("kind", ["simple", "event_time", "group"])
def test_aggregation_weights_reproduce_aggregate(kind: str, base_period: str) -> None:
    cells = att_gt(_toy((3, 3), (3, 5), 20, seed=1), base_period=base_period, control_group="not_yet_treated")
    assert aggregation_weights(cells, kind) @ cells.att == pytest.approx(aggregate(cells, kind).overall, abs=1e-12)


def test_interval_is_the_set_of_effects_the_test_does_not_reject() -> None:
    """Inversion: shifting the treated units' post-period outcomes by the interval's end leaves p at the edge."""
    panel = _toy((3, 3), (3, 5), 20, seed=3)
    cells = att_gt(panel)
    kw = dict(control_group="never_treated", method="dr", anticipation=0, event_window=None, ci_level=0.9,
              draws=499, seed=7)
    res = permutation_inference(panel, cells, "simple", **kw)
    on = (panel.cohort[:, None] != NEVER) & (np.arange(8)[None, :] >= panel.cohort[:, None])
    for end, step in ((res.ci_low, 1e-7), (res.ci_high, -1e-7)):
        for shift, accepted in ((end + step, True), (end - step, False)):
            moved = StaggeredPanel(y=panel.y - shift * on, cohort=panel.cohort, cluster=panel.cluster,
                                   covariates=panel.covariates, unit_labels=panel.unit_labels,
                                   period_labels=panel.period_labels)
            p = permutation_inference(moved, att_gt(moved), "simple", **kw).p_value_two_sided
            assert (p > 0.1) is accepted, (end, shift, p)


def test_assignment_count_is_the_multinomial_coefficient() -> None:
    cohort = np.array([3, 3, 5, NEVER, NEVER, NEVER])
    assert assignment_count(cohort) == 6 * 5 // 2 * 4 * 1  # C(6,2) for cohort 3 (15) times C(4,1) for cohort 5


@pytest.mark.parametrize("unbalanced", ["pairwise", "balance", "allow_unbalanced"])
def test_permutation_statistic_is_the_estimate_on_unbalanced_panels(unbalanced: str) -> None:
    from oca_experiments.estimators._staggered import balanced_panel

    panel = _toy((3, 3), (3, 5), 20, seed=5)
    y = panel.y.copy()
    y[np.random.default_rng(1).random(y.shape) < 0.15] = np.nan
    panel = StaggeredPanel(y=y, cohort=panel.cohort, cluster=panel.cluster, covariates=panel.covariates,
                           unit_labels=panel.unit_labels, period_labels=panel.period_labels)
    if unbalanced == "balance":
        panel = balanced_panel(panel)
    cells = att_gt(panel, unbalanced=unbalanced)
    res = permutation_inference(panel, cells, "simple", control_group="never_treated", method="dr", anticipation=0,
                                event_window=None, ci_level=0.95, draws=199, seed=3, unbalanced=unbalanced)
    assert res.estimate == pytest.approx(aggregate(cells, "simple").overall, abs=1e-12)


def test_permutation_with_covariates_re_estimates_each_assignment() -> None:
    from dataclasses import replace

    panel = _toy((2, 2), (3, 5), 14, seed=8)
    x = np.random.default_rng(2).normal(size=(panel.n_units, 1))
    panel = replace(panel, covariates=x)
    cells = att_gt(panel, method="or")
    res = permutation_inference(panel, cells, "simple", control_group="never_treated", method="or", anticipation=0,
                                event_window=None, ci_level=0.9, draws=99, seed=3)
    assert res.estimate == pytest.approx(aggregate(cells, "simple").overall, abs=1e-12)
    assert res.ci_low < res.estimate < res.ci_high and res.failed_draws == 0
