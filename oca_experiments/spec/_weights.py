"""Survey weights a hypothesis registers: design weights, and raking / post-stratification to population margins.

Declared in the hypothesis spec (not study.yaml) because the weights are part of what a preregistered estimate is:
the lock covers the margins, the method and any trimming bounds, and two hypotheses of one study may weight
differently (e.g. one to the adult population of the districts, one unweighted as registered before). A study with
one population copies the same ``weights`` block into each spec.

```yaml
weights:
  design_weight: base_weight        # optional column of design (inverse-inclusion-probability) weights; default 1
  method: rake                      # rake (raking calibration; exact post-stratification with one margin)
  margins:                          # population shares (each margin sums to 1) or totals (each sums to N)
    sex: {female: 0.52, male: 0.48}
    age_band: {"18-29": 0.30, "30-44": 0.32, "45-59": 0.23, "60+": 0.15}
  trim: {lower: 0.3, upper: 3.0}    # optional bounds on weight / mean weight, applied after raking
```

What the data must match (checked before any estimation, ``oca validate`` included): every margin column exists,
its categories in the data are exactly the margin's categories (a misspelt category gets a did-you-mean), and no
row of the registered waves misses a margin value. What is checked here, without data: every margin sums to 1 or
all margins sum to the same population total.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Shares must sum to 1 and totals must agree within this relative tolerance.
MARGIN_SUM_TOLERANCE = 1e-6


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class WeightTrim(_Frozen):
    """Bounds on each final weight relative to the mean weight of its wave (e.g. 0.3 and 3), applied after
    raking; the margins then hold only approximately, and the diagnostics report how far they moved."""

    lower: float | None = Field(default=None, gt=0, lt=1, description="smallest weight / mean weight allowed")
    upper: float | None = Field(default=None, gt=1, description="largest weight / mean weight allowed")

    @model_validator(mode="after")
    def _one_bound(self) -> WeightTrim:
        if self.lower is None and self.upper is None:
            raise ValueError("trim needs 'lower', 'upper' or both (bounds on weight / mean weight)")
        return self


class SurveyWeights(_Frozen):
    """Registered survey weights (module docstring). The estimation sample of each wave is raked to the margins
    (so item nonresponse and panel attrition are corrected on the margin variables too), and every survey
    estimator's variance is the Taylor-linearized one with the raking adjustment, clustered by design.cluster."""

    design_weight: str | None = Field(default=None, description="column of design weights (default: all 1)")
    method: Literal["rake", "poststratify"] = Field(
        default="rake", description="rake: raking calibration to every margin (iterative proportional fitting); "
        "poststratify: exact post-stratification to the cells of one margin column")
    margins: dict[str, dict[str, float]] = Field(description="column -> category -> population share or total")
    trim: WeightTrim | None = None
    max_iterations: int = Field(default=1000, ge=1, le=100_000, description="raking sweeps allowed")
    tolerance: float = Field(default=1e-10, gt=0, lt=1e-3, description="largest relative margin error accepted")

    @field_validator("margins", mode="before")
    @classmethod
    def _categories_as_text(cls, value: Any) -> Any:
        """YAML reads ``1: 0.4`` with an integer key; categories are compared with the data's as text."""
        if not isinstance(value, dict):
            return value
        return {str(column): ({str(k): v for k, v in cats.items()} if isinstance(cats, dict) else cats)
                for column, cats in value.items()}

    @field_validator("margins", mode="after")
    @classmethod
    def _check_sums(cls, margins: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        if not margins:
            raise ValueError("weights.margins needs at least one column with its population shares")
        sums = {}
        for column, categories in margins.items():
            if len(categories) < 2:
                raise ValueError(f"margin '{column}' needs at least two categories (one category constrains "
                                 "nothing)")
            bad = [c for c, v in categories.items() if not v > 0]
            if bad:
                raise ValueError(f"margin '{column}': category {bad[0]!r} has share/total {categories[bad[0]]}; "
                                 "every population share or total must be > 0 (drop empty categories)")
            sums[column] = math.fsum(categories.values())
        shares = {c: s for c, s in sums.items() if abs(s - 1.0) <= MARGIN_SUM_TOLERANCE}
        if len(shares) == len(sums):
            return margins
        for column, total in sums.items():
            if column not in shares and total < 2:  # no population of fewer than 2 people: shares mis-typed
                raise ValueError(f"margin '{column}' sums to {total:g}: population shares must sum to 1 (check "
                                 "each category's share), and population totals are head counts")
        totals = {c: s for c, s in sums.items() if c not in shares}
        first_column, first = next(iter(sums.items()))
        if shares:
            column = next(iter(totals))
            raise ValueError(f"margin '{column}' sums to {totals[column]:g} while '{next(iter(shares))}' sums to "
                             "1: give every margin as shares (summing to 1) or every margin as population totals "
                             "(each summing to the same N)")
        for column, total in sums.items():
            if abs(total - first) > MARGIN_SUM_TOLERANCE * max(1.0, abs(first)):
                raise ValueError(f"margin '{column}' sums to {total:g} but '{first_column}' sums to {first:g}: "
                                 "population totals of every margin must add up to the same N (or give shares "
                                 "summing to 1)")
        return margins

    @model_validator(mode="after")
    def _check_method(self) -> SurveyWeights:
        if self.method == "poststratify" and len(self.margins) != 1:
            raise ValueError(f"method 'poststratify' takes one margin column (the cells), got {len(self.margins)}; "
                             "use method 'rake' for several margins or one column of cross-classified cells")
        if self.design_weight is not None and self.design_weight in self.margins:
            raise ValueError(f"'{self.design_weight}' is both the design weight and a margin column")
        return self

    @property
    def kind(self) -> Literal["shares", "totals"]:
        first = math.fsum(next(iter(self.margins.values())).values())
        return "shares" if abs(first - 1.0) <= MARGIN_SUM_TOLERANCE else "totals"

    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*([self.design_weight] if self.design_weight else []), *self.margins]))
