"""Registered options of the few-treated-units estimators ``synthetic_did`` and ``synthetic_control``. Pydantic only,
no numerics, so that the plan stage validates a spec in milliseconds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Variance methods of Arkhangelsky et al. (2021), Section 5, as ``inference.se`` values.
SYNTHETIC_SE_TYPES = ("placebo", "jackknife", "bootstrap")


class SyntheticOptions(BaseModel):
    """Settings of the weights' optimisation and of the inference (defaults: the paper's and the R package's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period: Literal["day", "week", "month", "quarter", "year", "integer"] = Field(
        default="day", description="the period the panel is built in (as the other panel estimators): rows finer "
        "than it are averaged into it per unit; 'year' also reads whole-number years, 'integer' periods 1, 2, 3 ...")
    incomplete_units: Literal["refuse", "drop"] = Field(
        default="refuse", description="the estimators need every unit in every period: refuse (not testable, with "
        "the counts) or drop the units with a missing period (counted in the result)")
    replications: int = Field(default=200, ge=20, le=20_000, description="placebo or bootstrap replications "
                              "(inference.se: placebo | bootstrap); the paper uses 200")
    placebo_assignments: Literal["all_if_fewer", "random"] = Field(
        default="all_if_fewer", description="all_if_fewer: when the comparison units split into placebo-treated "
        "sets in no more ways than 'replications' (with one treated unit: one per comparison unit), use each once, "
        "the limit of the random draws without Monte Carlo error; random: the paper's random permutations (seeded)")
    seed: int = Field(default=20260307, ge=0, description="seed of the placebo permutations / bootstrap draws")
    eta_omega: float | None = Field(
        default=None, gt=0, description="unit-weight ridge: zeta_omega = eta_omega x sigma (sigma: SD of the "
        "controls' first differences before treatment); default (N_treated x T_post)^(1/4) for synthetic_did and "
        "1e-6 for synthetic_control, as in the paper")
    eta_lambda: float = Field(default=1e-6, gt=0, description="time-weight ridge (synthetic_did), zeta = eta x sigma")
    max_iter: int = Field(default=10_000, ge=100, le=1_000_000, description="Frank-Wolfe iterations at most")
    sparsify: bool = Field(default=True, description="second Frank-Wolfe round from the weights with those at or "
                           "below max/4 set to zero (the R package's default)")
    compare: bool = Field(default=True, description="also report the other two of synthetic DiD, synthetic "
                          "control and DiD with the same inference (the paper's Table 1 layout)")
