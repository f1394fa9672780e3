"""Small simulated series and panels at any frequency, with known effects, for the period tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from oca_experiments.spec import HypothesisSpec


def spec(estimator: str, options: dict[str, Any] | None = None, *, adoption: str | None = "start",
         covariates: tuple[str, ...] = (), cluster: str | None = None, se: str = "model",
         fixed_effects: tuple[str, ...] = (), treatment: str = "treated", time: str = "date",
         inference: dict[str, Any] | None = None) -> HypothesisSpec:
    design: dict[str, Any] = {"unit": "unit", "time": time, "treatment": treatment}
    if adoption:
        design["adoption"] = adoption
    if cluster:
        design["cluster"] = cluster
    return HypothesisSpec.model_validate({
        "id": "h", "title": "t", "hypothesis": "x", "type": "confirmatory", "direction": "increase",
        "outcome": {"source": "s", "name": "y", "construction": {"method": "column", "column": "y"}},
        "design": design, "estimator": {"name": estimator, "options": options or {}},
        "inference": {"se": se, **(inference or {})}, "covariates": list(covariates), "fixed_effects": list(fixed_effects)})


def monthly_series(seed: int = 1, *, n: int = 120, start: int = 90, effect: float = 3.0,
                   beta: float = 2.0) -> pd.DataFrame:
    """One treated unit and three comparison units, monthly from 2010-01, with a month-of-year pattern, a
    time-varying regressor x (coefficient ``beta``) and ``effect`` added from month ``start`` on."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2010-01-01", periods=n, freq="MS")
    season = np.array([0, -1, 1, 2, 3, 1, -2, -3, -1, 0, 1, -1], dtype=float) * 1.5
    common = np.cumsum(rng.normal(0, 0.3, n))
    rows = []
    for u in range(4):
        x = rng.normal(0, 1, n)
        y = 20 + common + season[months.month - 1] + beta * x + rng.normal(0, 0.5, n)
        treated = u == 0
        if treated:
            y[start:] += effect
        rows.append(pd.DataFrame({"unit": f"U{u}", "date": months.strftime("%Y-%m-%d"), "y": y, "x": x,
                                  "treated": int(treated),
                                  "start": months[start].strftime("%Y-%m-%d") if treated else None}))
    return pd.concat(rows, ignore_index=True)


def quarterly_panel(seed: int = 2, *, units: int = 24, quarters: int = 20, effect: float = 1.0) -> pd.DataFrame:
    """A balanced district-by-quarter panel with staggered adoption in three cohorts and never-treated units;
    ``treated`` is the 0/1 treated-and-post indicator, ``start`` the adoption quarter's first day, ``t`` the
    quarter as an integer 1..quarters and ``start_t`` the adoption as an integer."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2015-01-01", periods=quarters, freq="QS")
    cohorts = [8, 12, 16, None]
    rows = []
    for u in range(units):
        cohort = cohorts[u % 4]
        alpha = rng.normal(0, 1)
        for q in range(quarters):
            on = cohort is not None and q >= cohort
            y = alpha + 0.1 * q + effect * on + rng.normal(0, 0.5)
            rows.append({"unit": f"D{u:02d}", "date": dates[q].strftime("%Y-%m-%d"), "t": q + 1, "y": y,
                         "treated": int(on), "ever": int(cohort is not None),
                         "start": dates[cohort].strftime("%Y-%m-%d") if cohort is not None else None,
                         "start_t": cohort + 1 if cohort is not None else None,
                         "region": f"R{u % 6}", "grp": "abc"[int(rng.integers(0, 3))],
                         "x": rng.normal(0, 1)})
    return pd.DataFrame(rows)
